/* tg_rowwise.h -- row-wise softmax / log_softmax / cross-entropy (csrc/rowwise.c). Included by tg_kernels.h. */
#ifndef TG_ROWWISE_H
#define TG_ROWWISE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* TG_ROWWISE_H */
