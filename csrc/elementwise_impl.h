/*
 * elementwise_impl.h -- body of the element-wise kernels, included once per
 * ISA by elementwise.c with
 *
 *     TG_SUFFIX   name suffix of this variant (generic, avx2, avx512)
 *     TG_USE_FMA  1 when a hardware fused multiply-add may be used
 *
 * Everything here is branch-free per element so that `omp simd` turns every
 * loop into straight vector code under each ISA. No -ffast-math: the code is
 * written to be right for NaN, +-inf, +-0 and subnormals under strict IEEE
 * semantics (only -fno-math-errno/-fno-trapping-math are assumed).
 * Floating-point contraction is off for this file (see elementwise.c); fused
 * operations appear only where written as TG_FMA/TG_FMAF.
 */
#ifndef TG_SUFFIX
#error "define TG_SUFFIX before including elementwise_impl.h"
#endif

#define TGN(name) TG_CAT(name, TG_SUFFIX)

#undef TG_FMAF
#undef TG_FMA
#if TG_USE_FMA
#define TG_FMAF(a, b, c) __builtin_fmaf((a), (b), (c))
#define TG_FMA(a, b, c) __builtin_fma((a), (b), (c))
#else
#define TG_FMAF(a, b, c) ((a) * (b) + (c))
#define TG_FMA(a, b, c) ((a) * (b) + (c))
#endif

#include "tg_math_impl.h"

/* ======================================================================== */
/* Loops                                                                    */
/* ======================================================================== */
/* Below the threshold (or with one thread) the loop runs on the calling
 * thread without touching the OpenMP runtime; above it, one
 * `parallel for simd` region with a static schedule whose chunks are whole
 * vectors. No `restrict`: in-place calls (y == x) are allowed, and `omp simd`
 * already tells the compiler that iterations are independent. */

#define TG_UNARY_LOOP(FNAME, T, THRESH, EXPR)                                                                 \
    static void TGN(FNAME)(const T *x, T *y, int64_t n)                                                      \
    {                                                                                                          \
        TG_PAR_LOOP(n, THRESH, const T v = x[i]; y[i] = (EXPR));                                               \
    }

#define TG_BINARY_LOOP(FNAME, T, THRESH, EXPR)                                                                \
    static void TGN(FNAME)(const T *ya, const T *ga, T *out, int64_t n)                                      \
    {                                                                                                          \
        TG_PAR_LOOP(n, THRESH, const T y = ya[i]; const T g = ga[i]; out[i] = (EXPR));                         \
    }

#ifdef TG_V512
#define TG_V512_UNARY(FNAME, THRESH, F)                                                                       \
    TG_V512_DEF_MAP(TGN(FNAME##_range), F)                                                                     \
    static void TGN(FNAME)(const float *x, float *y, int64_t n)                                               \
    {                                                                                                          \
        TG_V512_RUN(TGN(FNAME##_range), x, y, n, THRESH);                                                      \
    }
TG_V512_UNARY(exp_f32, TG_PAR_MIN_EXP, tg_v512_expf)
TG_V512_UNARY(sigmoid_f32, TG_PAR_MIN_EXP, tg_v512_sigmoidf)
TG_V512_UNARY(relu_f32, TG_PAR_MIN_MEMBOUND, tg_v512_reluf)
#undef TG_V512_UNARY
#else
TG_UNARY_LOOP(exp_f32, float, TG_PAR_MIN_EXP, TGN(tg_expf1)(v))
TG_UNARY_LOOP(sigmoid_f32, float, TG_PAR_MIN_EXP, TGN(tg_sigmoidf1)(v))
TG_UNARY_LOOP(relu_f32, float, TG_PAR_MIN_MEMBOUND, v < 0.0f ? 0.0f : v)
#endif
TG_UNARY_LOOP(tanh_f32, float, TG_PAR_MIN_EXP, TGN(tg_tanhf1)(v))
TG_UNARY_LOOP(exp_f64, double, TG_PAR_MIN_EXP, TGN(tg_exp1)(v))
TG_UNARY_LOOP(sigmoid_f64, double, TG_PAR_MIN_EXP, TGN(tg_sigmoid1)(v))
TG_UNARY_LOOP(tanh_f64, double, TG_PAR_MIN_EXP, TGN(tg_tanh1)(v))
TG_UNARY_LOOP(relu_f64, double, TG_PAR_MIN_MEMBOUND, v < 0.0 ? 0.0 : v)

TG_BINARY_LOOP(relu_backward_f32, float, TG_PAR_MIN_MEMBOUND, y <= 0.0f ? 0.0f : g)
TG_BINARY_LOOP(sigmoid_backward_f32, float, TG_PAR_MIN_MEMBOUND, g * (1.0f - y) * y)
TG_BINARY_LOOP(tanh_backward_f32, float, TG_PAR_MIN_MEMBOUND, g * (1.0f - y * y))
TG_BINARY_LOOP(relu_backward_f64, double, TG_PAR_MIN_MEMBOUND, y <= 0.0 ? 0.0 : g)
TG_BINARY_LOOP(sigmoid_backward_f64, double, TG_PAR_MIN_MEMBOUND, g * (1.0 - y) * y)
TG_BINARY_LOOP(tanh_backward_f64, double, TG_PAR_MIN_MEMBOUND, g * (1.0 - y * y))

#undef TG_UNARY_LOOP
#undef TG_BINARY_LOOP

static const tg_ew_table TGN(tg_ew_table) = {
    TGN(exp_f32),
    TGN(exp_f64),
    TGN(sigmoid_f32),
    TGN(sigmoid_f64),
    TGN(tanh_f32),
    TGN(tanh_f64),
    TGN(relu_f32),
    TGN(relu_f64),
    TGN(relu_backward_f32),
    TGN(relu_backward_f64),
    TGN(sigmoid_backward_f32),
    TGN(sigmoid_backward_f64),
    TGN(tanh_backward_f32),
    TGN(tanh_backward_f64),
};

#undef TGN
#undef TG_SUFFIX
#undef TG_USE_FMA
