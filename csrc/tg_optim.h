/* tg_optim.h -- fused optimizer updates over many tensors (csrc/optim.c). Included by tg_kernels.h. */
#ifndef TG_OPTIM_H
#define TG_OPTIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* TG_OPTIM_H */
