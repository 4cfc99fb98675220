/* bounds_activations.c -- element-wise activations and their fused backward (csrc/activations.c) on exact-size buffers, for bounds_check.c */
#include "tg_kernels.h"

void bounds_activations(long *checks);

void bounds_activations(long *checks)
{
    (void)checks;
}
