/*
 * activations_impl.h -- body of the activation kernels, included once per ISA
 * by activations.c with
 *
 *     TG_SUFFIX   name suffix of this variant (generic, avx2, avx512)
 *     TG_USE_FMA  1 when a hardware fused multiply-add may be used
 *
 * Branch-free per element (selects only), so that `omp simd` vectorises every
 * loop under each ISA; strict IEEE semantics (no -ffast-math). The math
 * (exp, expm1, log, log1p, erf, sigmoid) comes from tg_math_impl.h.
 * Every kernel has the same internal signature, with two parameters a and b
 * (unused ones are 0):
 *     unary   (x, y, n, a, b)         y = f(x; a, b)
 *     binary  (x, g, out, n, a, b)    out = g * f'(x; a, b)   (from the input x)
 */
#ifndef TG_SUFFIX
#error "define TG_SUFFIX before including activations_impl.h"
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
/* per-element functions                                                    */
/* ======================================================================== */

/* sigmoid(v) and 1 - sigmoid(v) = sigmoid(-v), both with full relative
 * accuracy: e = e^-|v|, r = 1/(1+e). */
TG_INLINE float TGN(tga_sig2f)(float v, float *sm)
{
    const float e = TGN(tg_expf1_neg)(-__builtin_fabsf(v));
    const float r = 1.0f / (1.0f + e);
    const float er = e * r;
    *sm = v >= 0.0f ? er : r;
    return v >= 0.0f ? r : er;
}

TG_INLINE double TGN(tga_sig2)(double v, double *sm)
{
    const double e = TGN(tg_exp1)(-__builtin_fabs(v));
    const double r = 1.0 / (1.0 + e);
    const double er = e * r;
    *sm = v >= 0.0 ? er : r;
    return v >= 0.0 ? r : er;
}

/* torch's tanh-GELU constants, rounded to the element type as torch does */
#define TGA_BETA_F ((float)(0.7978845608028654))
#define TGA_KAPPA_F 0.044715f
#define TGA_BETA 0.7978845608028654
#define TGA_KAPPA 0.044715

/* x * (1 + tanh(u))/2 = x * sigmoid(2u), u = beta*(x + kappa*x^3) */
TG_INLINE float TGN(tga_gelu_tanhf)(float x)
{
    const float inner = TGA_BETA_F * (x + TGA_KAPPA_F * (x * x * x));
    return x * TGN(tg_sigmoidf1)(2.0f * inner);
}

/* torch: dy * (s + (x/2) * (1 - tanh^2) * beta*(1 + 3 kappa x^2)) with
 * 1 + tanh = 2s, 1 - tanh^2 = 4 s (1-s). */
TG_INLINE float TGN(tga_gelu_tanh_bwdf)(float x, float g)
{
    const float x2 = x * x;
    const float inner = TGA_BETA_F * (x + TGA_KAPPA_F * (x2 * x));
    float sm;
    const float s = TGN(tga_sig2f)(2.0f * inner, &sm);
    const float dinner = TGA_BETA_F * (1.0f + 3.0f * TGA_KAPPA_F * x2);
    return g * (s + ((2.0f * x) * (s * sm)) * dinner);
}

TG_INLINE double TGN(tga_gelu_tanh)(double x)
{
    const double inner = TGA_BETA * (x + TGA_KAPPA * (x * x * x));
    return x * TGN(tg_sigmoid1)(2.0 * inner);
}

TG_INLINE double TGN(tga_gelu_tanh_bwd)(double x, double g)
{
    const double x2 = x * x;
    const double inner = TGA_BETA * (x + TGA_KAPPA * (x2 * x));
    double sm;
    const double s = TGN(tga_sig2)(2.0 * inner, &sm);
    const double dinner = TGA_BETA * (1.0 + 3.0 * TGA_KAPPA * x2);
    return g * (s + ((2.0 * x) * (s * sm)) * dinner);
}

TG_INLINE float TGN(tga_gelu_bwdf)(float x, float g)
{
    float pdf;
    const float cdf = TGN(tg_normcdff)(x, &pdf);
    return g * (cdf + x * pdf);
}

TG_INLINE double TGN(tga_gelu_bwd)(double x, double g)
{
    double pdf;
    const double cdf = TGN(tg_normcdf)(x, &pdf);
    return g * (cdf + x * pdf);
}

TG_INLINE float TGN(tga_silu_bwdf)(float x, float g)
{
    float sm;
    const float s = TGN(tga_sig2f)(x, &sm);
    return (g * s) * (1.0f + x * sm);
}

TG_INLINE double TGN(tga_silu_bwd)(double x, double g)
{
    double sm;
    const double s = TGN(tga_sig2)(x, &sm);
    return (g * s) * (1.0 + x * sm);
}

/* softplus(z) = max(z, 0) + log1p(e^-|z|); NaN passes through log1p. */
TG_INLINE float TGN(tga_softplusf)(float z)
{
    const float l = TGN(tg_log1pf_pos)(TGN(tg_expf1_neg)(-__builtin_fabsf(z)));
    return (z > 0.0f ? z : 0.0f) + l;
}

TG_INLINE double TGN(tga_softplus)(double z)
{
    const double l = TGN(tg_log1p_pos)(TGN(tg_exp1)(-__builtin_fabs(z)));
    return (z > 0.0 ? z : 0.0) + l;
}

/* expm1(x) for x <= 0 or NaN, keeping expm1(-0) = -0 */
TG_INLINE float TGN(tga_expm1f_neg)(float x)
{
    float s;
    const float q = TGN(tg_expm1f_parts)(x, &s);
    const float r = TG_FMAF(s, q, s - 1.0f);
    return x == 0.0f ? x : r;
}

TG_INLINE double TGN(tga_expm1_neg)(double x)
{
    double s;
    const double q = TGN(tg_expm1_parts)(x, &s);
    const double r = TG_FMA(s, q, s - 1.0);
    return x == 0.0 ? x : r;
}

/* ======================================================================== */
/* loops                                                                    */
/* ======================================================================== */
/* As elementwise_impl.h: below the threshold (or on one thread) no OpenMP
 * region at all; above it one `parallel for simd` with whole-vector chunks.
 * In-place calls (y == x, out == g or out == x) are allowed. */

#define TGA_UNARY(FNAME, T, THRESH, EXPR)                                                                     \
    static void TGN(FNAME)(const T *xa, T *ya, int64_t n, T pa, T pb)                                         \
    {                                                                                                          \
        (void)pa;                                                                                              \
        (void)pb;                                                                                              \
        TG_PAR_LOOP(n, THRESH, const T x = xa[i]; ya[i] = (EXPR));                                             \
    }

#define TGA_BINARY(FNAME, T, THRESH, EXPR)                                                                    \
    static void TGN(FNAME)(const T *xa, const T *ga, T *oa, int64_t n, T pa, T pb)                            \
    {                                                                                                          \
        (void)pa;                                                                                              \
        (void)pb;                                                                                              \
        TG_PAR_LOOP(n, THRESH, const T x = xa[i]; const T g = ga[i]; oa[i] = (EXPR));                         \
    }

#define EXPT TG_PAR_MIN_EXP
#define MEMB TG_PAR_MIN_MEMBOUND

/* float32 */
TGA_UNARY(log_f32, float, EXPT, TGN(tg_logf1)(x))
TGA_UNARY(erf_f32, float, EXPT, TGN(tg_erff1)(x))
TGA_UNARY(gelu_f32, float, EXPT, x * TGN(tg_normcdff)(x, 0))
TGA_BINARY(gelu_backward_f32, float, EXPT, TGN(tga_gelu_bwdf)(x, g))
TGA_UNARY(gelu_tanh_f32, float, EXPT, TGN(tga_gelu_tanhf)(x))
TGA_BINARY(gelu_tanh_backward_f32, float, EXPT, TGN(tga_gelu_tanh_bwdf)(x, g))
TGA_UNARY(silu_f32, float, EXPT, x * TGN(tg_sigmoidf1)(x))
TGA_BINARY(silu_backward_f32, float, EXPT, TGN(tga_silu_bwdf)(x, g))
/* softplus: pa = beta, pb = threshold */
TGA_UNARY(softplus_f32, float, EXPT, x * pa > pb ? x : TGN(tga_softplusf)(x * pa) / pa)
TGA_BINARY(softplus_backward_f32, float, EXPT, x * pa > pb ? g : g * TGN(tg_sigmoidf1)(x * pa))
TGA_UNARY(logsigmoid_f32, float, EXPT,
          (x < 0.0f ? x : 0.0f) - TGN(tg_log1pf_pos)(TGN(tg_expf1_neg)(-__builtin_fabsf(x))))
TGA_BINARY(logsigmoid_backward_f32, float, EXPT, g * TGN(tg_sigmoidf1)(-x))
/* elu: pa = alpha */
TGA_UNARY(elu_f32, float, EXPT, x > 0.0f ? x : TGN(tga_expm1f_neg)(x > 0.0f ? 0.0f : x) * pa)
/* elu_backward is written g * (x > 0 ? 1 : alpha) * e^min(x, 0) (the same
 * roundings as `x > 0 ? g : g * alpha * e^x`) so that the exp is used in
 * every lane. With the select, GCC took the exp input of the x > 0 lanes,
 * whose result was discarded, as free and merged it with exp's lower clamp:
 * every positive x computed e^-104, a subnormal, and Zen 4's slow path for
 * subnormal results made the kernel 15x slower (32 against 2 ms at 4M). */
TGA_BINARY(elu_backward_f32, float, EXPT, (g * (x > 0.0f ? 1.0f : pa)) * TGN(tg_expf1_neg)(x > 0.0f ? 0.0f : x))
/* leaky_relu: pa = negative_slope */
TGA_UNARY(leaky_relu_f32, float, MEMB, x > 0.0f ? x : x * pa)
TGA_BINARY(leaky_relu_backward_f32, float, MEMB, x > 0.0f ? g : g * pa)
/* hardtanh: pa = min_val, pb = max_val (clamp, NaN passes) */
TGA_UNARY(hardtanh_f32, float, MEMB, (x < pa ? pa : x) > pb ? pb : (x < pa ? pa : x))
TGA_BINARY(hardtanh_backward_f32, float, MEMB, (x > pa) & (x < pb) ? g : 0.0f)

/* float64 */
TGA_UNARY(log_f64, double, EXPT, TGN(tg_log1)(x))
TGA_UNARY(erf_f64, double, EXPT, TGN(tg_erf1)(x))
TGA_UNARY(gelu_f64, double, EXPT, x * TGN(tg_normcdf)(x, 0))
TGA_BINARY(gelu_backward_f64, double, EXPT, TGN(tga_gelu_bwd)(x, g))
TGA_UNARY(gelu_tanh_f64, double, EXPT, TGN(tga_gelu_tanh)(x))
TGA_BINARY(gelu_tanh_backward_f64, double, EXPT, TGN(tga_gelu_tanh_bwd)(x, g))
TGA_UNARY(silu_f64, double, EXPT, x * TGN(tg_sigmoid1)(x))
TGA_BINARY(silu_backward_f64, double, EXPT, TGN(tga_silu_bwd)(x, g))
TGA_UNARY(softplus_f64, double, EXPT, x * pa > pb ? x : TGN(tga_softplus)(x * pa) / pa)
TGA_BINARY(softplus_backward_f64, double, EXPT, x * pa > pb ? g : g * TGN(tg_sigmoid1)(x * pa))
TGA_UNARY(logsigmoid_f64, double, EXPT,
          (x < 0.0 ? x : 0.0) - TGN(tg_log1p_pos)(TGN(tg_exp1)(-__builtin_fabs(x))))
TGA_BINARY(logsigmoid_backward_f64, double, EXPT, g * TGN(tg_sigmoid1)(-x))
TGA_UNARY(elu_f64, double, EXPT, x > 0.0 ? x : TGN(tga_expm1_neg)(x > 0.0 ? 0.0 : x) * pa)
TGA_BINARY(elu_backward_f64, double, EXPT, (g * (x > 0.0 ? 1.0 : pa)) * TGN(tg_exp1)(x > 0.0 ? 0.0 : x))
TGA_UNARY(leaky_relu_f64, double, MEMB, x > 0.0 ? x : x * pa)
TGA_BINARY(leaky_relu_backward_f64, double, MEMB, x > 0.0 ? g : g * pa)
TGA_UNARY(hardtanh_f64, double, MEMB, (x < pa ? pa : x) > pb ? pb : (x < pa ? pa : x))
TGA_BINARY(hardtanh_backward_f64, double, MEMB, (x > pa) & (x < pb) ? g : 0.0)

#undef EXPT
#undef MEMB
#undef TGA_UNARY
#undef TGA_BINARY

static const tga_table TGN(tga_table) = {
#define TGA_ENTRY(name) TGN(name##_f32), TGN(name##_f64),
    TGA_UNARY_LIST(TGA_ENTRY) TGA_BINARY_LIST(TGA_ENTRY)
#undef TGA_ENTRY
};

#undef TGN
#undef TG_SUFFIX
#undef TG_USE_FMA
