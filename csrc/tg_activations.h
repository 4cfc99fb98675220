/* tg_activations.h -- element-wise activations and their fused backward (csrc/activations.c). Included by tg_kernels.h. */
#ifndef TG_ACTIVATIONS_H
#define TG_ACTIVATIONS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* TG_ACTIVATIONS_H */
