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

/* ======================================================================== */
/* float32                                                                  */
/* ======================================================================== */

/* e^x, float32, ~1 ulp.
 *  1. clamp x to [-104, 89] with NaN passing through (comparisons are false);
 *     beyond those bounds the result is already 0 / inf.
 *  2. n = round(x / ln2) by adding and subtracting 1.5*2^23 (magic number);
 *     the integer n is read from the low bits of the sum.
 *  3. r = x - n*ln2 with ln2 split in hi + lo (Cody-Waite; hi has trailing
 *     zero bits so n*hi is exact without FMA), |r| <= ln2/2.
 *  4. e^r by the Cephes expf polynomial (degree 7 overall).
 *  5. scale by 2^n as 2^(n/2) * 2^(n - n/2): each factor is a normal float
 *     even for n = -150, so the final product rounds once, correctly, into
 *     the subnormal range, and overflows to inf for x > 88.72283. */
TG_INLINE float TGN(tg_expf1)(float x)
{
    union {
        float f;
        uint32_t u;
    } t, s1, s2;
    float n, r, r2, p;
    int32_t ni, n1, n2;

    x = x > 89.0f ? 89.0f : x;
    x = x < -104.0f ? -104.0f : x;

    t.f = TG_FMAF(x, 1.44269504088896341f, 12582912.0f);
    n = t.f - 12582912.0f;
    ni = (int32_t)(t.u - 0x4B400000u);

    r = TG_FMAF(n, -0.693359375f, x);
    r = TG_FMAF(n, 2.12194440e-4f, r);

    r2 = r * r;
    p = 1.9875691500e-4f;
    p = TG_FMAF(p, r, 1.3981999507e-3f);
    p = TG_FMAF(p, r, 8.3334519073e-3f);
    p = TG_FMAF(p, r, 4.1665795894e-2f);
    p = TG_FMAF(p, r, 1.6666665459e-1f);
    p = TG_FMAF(p, r, 5.0000001201e-1f);
    p = TG_FMAF(p, r2, r);
    p = p + 1.0f;

    n1 = ni >> 1; /* arithmetic shift (GCC/Clang) = floor(n/2) */
    n2 = ni - n1;
    s1.u = (uint32_t)(n1 + 127) << 23;
    s2.u = (uint32_t)(n2 + 127) << 23;
    return (p * s1.f) * s2.f;
}

/* e^x for x <= 0 (or NaN), float32: tg_expf1 without the upper clamp.
 * Subnormal results are still rounded correctly (sigmoid needs them). */
TG_INLINE float TGN(tg_expf1_neg)(float x)
{
    union {
        float f;
        uint32_t u;
    } t, s1, s2;
    float n, r, r2, p;
    int32_t ni, n1, n2;

    x = x < -104.0f ? -104.0f : x;
    t.f = TG_FMAF(x, 1.44269504088896341f, 12582912.0f);
    n = t.f - 12582912.0f;
    ni = (int32_t)(t.u - 0x4B400000u);
    r = TG_FMAF(n, -0.693359375f, x);
    r = TG_FMAF(n, 2.12194440e-4f, r);
    r2 = r * r;
    p = 1.9875691500e-4f;
    p = TG_FMAF(p, r, 1.3981999507e-3f);
    p = TG_FMAF(p, r, 8.3334519073e-3f);
    p = TG_FMAF(p, r, 4.1665795894e-2f);
    p = TG_FMAF(p, r, 1.6666665459e-1f);
    p = TG_FMAF(p, r, 5.0000001201e-1f);
    p = TG_FMAF(p, r2, r);
    p = p + 1.0f;
    n1 = ni >> 1;
    n2 = ni - n1;
    s1.u = (uint32_t)(n1 + 127) << 23;
    s2.u = (uint32_t)(n2 + 127) << 23;
    return (p * s1.f) * s2.f;
}

/* Shared first half of expm1/exp for x <= 0 (or NaN), float32:
 * n = round(x/ln2), r = x - n*ln2, q = expm1(r) by its Taylor series to r^7
 * (truncation < 0.15 ulp on |r| <= ln2/2), *s = 2^n. Then
 *   expm1(x) = fma(2^n, q, 2^n - 1)   (exact 2^n - 1 for the n that matter,
 *                                      and q itself for n = 0: full relative
 *                                      accuracy near 0)
 *   exp(x)   = fma(2^n, q, 2^n)       (normal results only)
 * x is clamped at -80, where expm1 is -1 and exp is negligible next to 1. */
TG_INLINE float TGN(tg_expm1f_parts)(float x, float *s_out)
{
    union {
        float f;
        uint32_t u;
    } t, s;
    float n, r, p;
    int32_t ni;

    x = x < -80.0f ? -80.0f : x;
    t.f = TG_FMAF(x, 1.44269504088896341f, 12582912.0f);
    n = t.f - 12582912.0f;
    ni = (int32_t)(t.u - 0x4B400000u);
    r = TG_FMAF(n, -0.693359375f, x);
    r = TG_FMAF(n, 2.12194440e-4f, r);
    p = 1.0f / 5040.0f;
    p = TG_FMAF(p, r, 1.0f / 720.0f);
    p = TG_FMAF(p, r, 1.0f / 120.0f);
    p = TG_FMAF(p, r, 1.0f / 24.0f);
    p = TG_FMAF(p, r, 1.0f / 6.0f);
    p = TG_FMAF(p, r, 0.5f);
    s.u = (uint32_t)(ni + 127) << 23; /* 2^n, n in [-116, 0] */
    *s_out = s.f;
    return TG_FMAF(p, r * r, r);
}

/* 1/(1+e^-x) without overflow: with e = e^-|x| in (0, 1],
 * sigmoid = 1/(1+e) for x >= 0 and e/(1+e) for x < 0 (one division, one
 * rounding of the quotient). */
TG_INLINE float TGN(tg_sigmoidf1)(float x)
{
    const float e = TGN(tg_expf1_neg)(-__builtin_fabsf(x));
    const float num = x >= 0.0f ? 1.0f : e;
    return num / (1.0f + e);
}

/* tanh, float32, with a = |x|, q and s from tg_expm1f_parts(-2a):
 *   a <  0.625: u = expm1(-2a) in (-0.72, 0], tanh a = -u / (2 + u)
 *               (no cancellation; exact for tiny a, where u = -2a)
 *   a >= 0.625: e = e^(-2a) in (0, 0.29],   tanh a = (1 - e) / (1 + e)
 *               (e has full relative accuracy, so the result near 1 does)
 * one division for both. The sign is put back with copysign (keeps -0,
 * works for +-inf; NaN stays NaN). */
TG_INLINE float TGN(tg_tanhf1)(float x)
{
    const float a = __builtin_fabsf(x);
    float s;
    const float q = TGN(tg_expm1f_parts)(-2.0f * a, &s);
    const float u = TG_FMAF(s, q, s - 1.0f);
    const float e = TG_FMAF(s, q, s);
    const int small = a < 0.625f;
    const float num = small ? -u : 1.0f - e;
    const float den = small ? 2.0f + u : 1.0f + e;
    return __builtin_copysignf(num / den, x);
}

/* ======================================================================== */
/* float64                                                                  */
/* ======================================================================== */

/* e^x, float64, ~1 ulp. Same scheme as tg_expf1:
 * clamp to [-746, 710]; magic 1.5*2^52; Cephes C1/C2 split of ln2;
 * Taylor polynomial of degree 13 on |r| <= ln2/2 (truncation < 1e-17);
 * scale by 2^(n/2) * 2^(n - n/2). */
TG_INLINE double TGN(tg_exp1)(double x)
{
    union {
        double f;
        uint64_t u;
    } t, s1, s2;
    double n, r, p;
    int64_t ni, n1, n2;

    x = x > 710.0 ? 710.0 : x;
    x = x < -746.0 ? -746.0 : x;

    t.f = TG_FMA(x, 1.4426950408889634074, 6755399441055744.0);
    n = t.f - 6755399441055744.0;
    ni = (int64_t)(t.u - 0x4338000000000000ull);

    r = TG_FMA(n, -6.93145751953125e-1, x);
    r = TG_FMA(n, -1.42860682030941723212e-6, r);

    p = 1.0 / 6227020800.0; /* 1/13! */
    p = TG_FMA(p, r, 1.0 / 479001600.0);
    p = TG_FMA(p, r, 1.0 / 39916800.0);
    p = TG_FMA(p, r, 1.0 / 3628800.0);
    p = TG_FMA(p, r, 1.0 / 362880.0);
    p = TG_FMA(p, r, 1.0 / 40320.0);
    p = TG_FMA(p, r, 1.0 / 5040.0);
    p = TG_FMA(p, r, 1.0 / 720.0);
    p = TG_FMA(p, r, 1.0 / 120.0);
    p = TG_FMA(p, r, 1.0 / 24.0);
    p = TG_FMA(p, r, 1.0 / 6.0);
    p = TG_FMA(p, r, 0.5);
    p = TG_FMA(p, r * r, r);
    p = p + 1.0;

    n1 = ni >> 1;
    n2 = ni - n1;
    s1.u = (uint64_t)(n1 + 1023) << 52;
    s2.u = (uint64_t)(n2 + 1023) << 52;
    return (p * s1.f) * s2.f;
}

/* float64 version of tg_expm1f_parts: Taylor series to r^13, clamp at -40. */
TG_INLINE double TGN(tg_expm1_parts)(double x, double *s_out)
{
    union {
        double f;
        uint64_t u;
    } t, s;
    double n, r, p;
    int64_t ni;

    x = x < -40.0 ? -40.0 : x;
    t.f = TG_FMA(x, 1.4426950408889634074, 6755399441055744.0);
    n = t.f - 6755399441055744.0;
    ni = (int64_t)(t.u - 0x4338000000000000ull);
    r = TG_FMA(n, -6.93145751953125e-1, x);
    r = TG_FMA(n, -1.42860682030941723212e-6, r);
    p = 1.0 / 6227020800.0;
    p = TG_FMA(p, r, 1.0 / 479001600.0);
    p = TG_FMA(p, r, 1.0 / 39916800.0);
    p = TG_FMA(p, r, 1.0 / 3628800.0);
    p = TG_FMA(p, r, 1.0 / 362880.0);
    p = TG_FMA(p, r, 1.0 / 40320.0);
    p = TG_FMA(p, r, 1.0 / 5040.0);
    p = TG_FMA(p, r, 1.0 / 720.0);
    p = TG_FMA(p, r, 1.0 / 120.0);
    p = TG_FMA(p, r, 1.0 / 24.0);
    p = TG_FMA(p, r, 1.0 / 6.0);
    p = TG_FMA(p, r, 0.5);
    s.u = (uint64_t)(ni + 1023) << 52; /* 2^n, n in [-58, 0] */
    *s_out = s.f;
    return TG_FMA(p, r * r, r);
}

TG_INLINE double TGN(tg_sigmoid1)(double x)
{
    const double e = TGN(tg_exp1)(-__builtin_fabs(x));
    const double num = x >= 0.0 ? 1.0 : e;
    return num / (1.0 + e);
}

/* tanh, float64: as tg_tanhf1. */
TG_INLINE double TGN(tg_tanh1)(double x)
{
    const double a = __builtin_fabs(x);
    double s;
    const double q = TGN(tg_expm1_parts)(-2.0 * a, &s);
    const double u = TG_FMA(s, q, s - 1.0);
    const double e = TG_FMA(s, q, s);
    const int small = a < 0.625;
    const double num = small ? -u : 1.0 - e;
    const double den = small ? 2.0 + u : 1.0 + e;
    return __builtin_copysign(num / den, x);
}

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
        const int nt = tg_get_num_threads();                                                                   \
        int64_t i;                                                                                             \
        if (n >= (THRESH) && nt > 1) {                                                                         \
            TG_OMP(parallel for simd schedule(simd : static) num_threads(nt) if (parallel : n >= (THRESH)))   \
            for (i = 0; i < n; ++i) {                                                                          \
                const T v = x[i];                                                                              \
                y[i] = (EXPR);                                                                                 \
            }                                                                                                  \
        } else {                                                                                               \
            TG_OMP(simd)                                                                                       \
            for (i = 0; i < n; ++i) {                                                                          \
                const T v = x[i];                                                                              \
                y[i] = (EXPR);                                                                                 \
            }                                                                                                  \
        }                                                                                                      \
    }

#define TG_BINARY_LOOP(FNAME, T, THRESH, EXPR)                                                                \
    static void TGN(FNAME)(const T *ya, const T *ga, T *out, int64_t n)                                      \
    {                                                                                                          \
        const int nt = tg_get_num_threads();                                                                   \
        int64_t i;                                                                                             \
        if (n >= (THRESH) && nt > 1) {                                                                         \
            TG_OMP(parallel for simd schedule(simd : static) num_threads(nt) if (parallel : n >= (THRESH)))   \
            for (i = 0; i < n; ++i) {                                                                          \
                const T y = ya[i];                                                                             \
                const T g = ga[i];                                                                             \
                out[i] = (EXPR);                                                                               \
            }                                                                                                  \
        } else {                                                                                               \
            TG_OMP(simd)                                                                                       \
            for (i = 0; i < n; ++i) {                                                                          \
                const T y = ya[i];                                                                             \
                const T g = ga[i];                                                                             \
                out[i] = (EXPR);                                                                               \
            }                                                                                                  \
        }                                                                                                      \
    }

TG_UNARY_LOOP(exp_f32, float, TG_PAR_MIN_EXP, TGN(tg_expf1)(v))
TG_UNARY_LOOP(sigmoid_f32, float, TG_PAR_MIN_EXP, TGN(tg_sigmoidf1)(v))
TG_UNARY_LOOP(tanh_f32, float, TG_PAR_MIN_EXP, TGN(tg_tanhf1)(v))
TG_UNARY_LOOP(relu_f32, float, TG_PAR_MIN_MEMBOUND, v < 0.0f ? 0.0f : v)
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
