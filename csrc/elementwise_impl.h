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

/* 1/(1+e^-x) without overflow: with e = e^-|x| in (0, 1],
 * sigmoid = 1/(1+e) for x >= 0 and e/(1+e) for x < 0. */
TG_INLINE float TGN(tg_sigmoidf1)(float x)
{
    const float e = TGN(tg_expf1)(-__builtin_fabsf(x));
    const float s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : e * s;
}

/* tanh, float32. |x| < 0.625: odd polynomial (Cephes tanhf), exact for
 * tiny/subnormal x; otherwise (1 - e)/(1 + e) with e = e^(-2|x|) in (0, 0.29],
 * so no cancellation and no overflow. The sign is put back with copysign
 * (keeps -0 and works for +-inf). */
TG_INLINE float TGN(tg_tanhf1)(float x)
{
    const float ax = __builtin_fabsf(x);
    const float e = TGN(tg_expf1)(-2.0f * ax);
    const float big = (1.0f - e) / (1.0f + e);
    const float z = ax * ax;
    float p = -5.70498872745e-3f;
    p = TG_FMAF(p, z, 2.06390887954e-2f);
    p = TG_FMAF(p, z, -5.37397155531e-2f);
    p = TG_FMAF(p, z, 1.33314422036e-1f);
    p = TG_FMAF(p, z, -3.33332819422e-1f);
    const float small = TG_FMAF(p * z, ax, ax);
    const float r = ax < 0.625f ? small : big;
    return __builtin_copysignf(r, x);
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

TG_INLINE double TGN(tg_sigmoid1)(double x)
{
    const double e = TGN(tg_exp1)(-__builtin_fabs(x));
    const double s = 1.0 / (1.0 + e);
    return x >= 0.0 ? s : e * s;
}

/* tanh, float64. |x| < 0.625: Cephes rational x + x^3 P(x^2)/Q(x^2);
 * otherwise (1 - e)/(1 + e) with e = e^(-2|x|). */
TG_INLINE double TGN(tg_tanh1)(double x)
{
    const double ax = __builtin_fabs(x);
    const double e = TGN(tg_exp1)(-2.0 * ax);
    const double big = (1.0 - e) / (1.0 + e);
    const double z = ax * ax;
    double p, q;
    p = -9.64399179425052238628e-1;
    p = TG_FMA(p, z, -9.92877231001918586564e1);
    p = TG_FMA(p, z, -1.61468768441708447952e3);
    q = z + 1.12811678491632931402e2;
    q = TG_FMA(q, z, 2.23548839060100448583e3);
    q = TG_FMA(q, z, 4.84406305325125486048e3);
    const double small = TG_FMA(z * (p / q), ax, ax);
    const double r = ax < 0.625 ? small : big;
    return __builtin_copysign(r, x);
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
