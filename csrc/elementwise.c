/*
 * elementwise.c -- exp, sigmoid, tanh, relu and the backward kernels of
 * relu/sigmoid/tanh, float32 and float64, one pass over memory.
 *
 * The kernel bodies live in elementwise_impl.h and are compiled three times:
 * generic (compiler baseline), AVX2+FMA and AVX-512 (x86-64 with GCC only).
 * Each public tg_* function picks its variant with tg_simd_level() on every
 * call (one load and an indirect call), so tg_simd_set_level() can force any
 * supported level at run time, which the tests do.
 */

/* No implicit contraction of a*b+c into FMA in this file: results then do not
 * depend on how the compiler splits a loop into vector body and scalar tail
 * (so 1 and 2 threads give identical bits), and the backward kernels round
 * exactly like their NumPy references. Fused operations are written
 * explicitly (TG_FMA) where they help accuracy. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "tg_kernels.h"

#include <stdint.h>

#include "tg_dispatch.h"

typedef void (*tg_unary_f32)(const float *, float *, int64_t);
typedef void (*tg_unary_f64)(const double *, double *, int64_t);
typedef void (*tg_binary_f32)(const float *, const float *, float *, int64_t);
typedef void (*tg_binary_f64)(const double *, const double *, double *, int64_t);

typedef struct {
    tg_unary_f32 exp_f32;
    tg_unary_f64 exp_f64;
    tg_unary_f32 sigmoid_f32;
    tg_unary_f64 sigmoid_f64;
    tg_unary_f32 tanh_f32;
    tg_unary_f64 tanh_f64;
    tg_unary_f32 relu_f32;
    tg_unary_f64 relu_f64;
    tg_binary_f32 relu_backward_f32;
    tg_binary_f64 relu_backward_f64;
    tg_binary_f32 sigmoid_backward_f32;
    tg_binary_f64 sigmoid_backward_f64;
    tg_binary_f32 tanh_backward_f32;
    tg_binary_f64 tanh_backward_f64;
} tg_ew_table;

/* ---- generic ---- */
#define TG_SUFFIX generic
#define TG_USE_FMA TG_GENERIC_HAS_FMA
#include "elementwise_impl.h"

#if TG_X86_DISPATCH
/* ---- AVX2 + FMA ---- */
TG_BEGIN_AVX2
#define TG_SUFFIX avx2
#define TG_USE_FMA 1
#include "elementwise_impl.h"
TG_END_TARGET

/* ---- AVX-512 ---- */
TG_BEGIN_AVX512
#include "tg_vec512.h"
#define TG_SUFFIX avx512
#define TG_USE_FMA 1
#define TG_V512 1 /* exp, sigmoid, relu float32 from tg_vec512.h */
#include "elementwise_impl.h"
#undef TG_V512
TG_END_TARGET

static const tg_ew_table *const tg_ew_tables[TG_SIMD_NLEVELS] = {
    &tg_ew_table_generic,
    &tg_ew_table_avx2,
    &tg_ew_table_avx512,
};
#else
static const tg_ew_table *const tg_ew_tables[TG_SIMD_NLEVELS] = {
    &tg_ew_table_generic,
    &tg_ew_table_generic,
    &tg_ew_table_generic,
};
#endif

#define TG_EW_TABLE() (tg_ew_tables[tg_simd_level()])

#define TG_DEF_UNARY(NAME, T)                                                                                 \
    void tg_##NAME(const T *x, T *y, int64_t n)                                                                \
    {                                                                                                          \
        if (n > 0)                                                                                             \
            TG_EW_TABLE()->NAME(x, y, n);                                                                      \
    }

#define TG_DEF_BINARY(NAME, T)                                                                                \
    void tg_##NAME(const T *y, const T *gout, T *gin, int64_t n)                                              \
    {                                                                                                          \
        if (n > 0)                                                                                             \
            TG_EW_TABLE()->NAME(y, gout, gin, n);                                                              \
    }

TG_DEF_UNARY(exp_f32, float)
TG_DEF_UNARY(exp_f64, double)
TG_DEF_UNARY(sigmoid_f32, float)
TG_DEF_UNARY(sigmoid_f64, double)
TG_DEF_UNARY(tanh_f32, float)
TG_DEF_UNARY(tanh_f64, double)
TG_DEF_UNARY(relu_f32, float)
TG_DEF_UNARY(relu_f64, double)
TG_DEF_BINARY(relu_backward_f32, float)
TG_DEF_BINARY(relu_backward_f64, double)
TG_DEF_BINARY(sigmoid_backward_f32, float)
TG_DEF_BINARY(sigmoid_backward_f64, double)
TG_DEF_BINARY(tanh_backward_f32, float)
TG_DEF_BINARY(tanh_backward_f64, double)
