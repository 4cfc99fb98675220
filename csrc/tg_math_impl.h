/*
 * tg_math_impl.h -- branch-free scalar math shared by the element-wise kernel
 * files (elementwise_impl.h, activations_impl.h). Included once per ISA
 * inside those files, after TGN(), TG_FMAF and TG_FMA are defined; every
 * function is `static inline` with the ISA suffix in its name, so each
 * variant is compiled with its own target options. No include guard, on
 * purpose.
 *
 * Everything is written for strict IEEE semantics (no -ffast-math; only
 * -fno-math-errno/-fno-trapping-math assumed) with floating-point contraction
 * off: fused operations appear only where written as TG_FMAF/TG_FMA, and the
 * exact-product helpers fall back to Veltkamp/Dekker splitting without FMA.
 *
 * Polynomial coefficients of erf/erfc are least-squares fits on Chebyshev
 * nodes computed with mpmath at 40 digits; tinygrad_cn/_C/ref_activations.py
 * (fit_erf_coefficients) reproduces them and uses the same values.
 */

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
/* shared helpers for the activations (float32)                             */
/* ======================================================================== */

/* a*b = p + *lo exactly (|a|, |b| well inside the normal range: callers clamp). */
TG_INLINE float TGN(tg_two_prodf)(float a, float b, float *lo)
{
    const float p = a * b;
#if TG_USE_FMA
    *lo = __builtin_fmaf(a, b, -p);
#else
    const float ca = a * 4097.0f, cb = b * 4097.0f;
    const float ah = ca - (ca - a), al = a - ah;
    const float bh = cb - (cb - b), bl = b - bh;
    *lo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
#endif
    return p;
}

/* e^(hi + lo), float32, for hi + lo <= ~1 or NaN, |lo| small next to |hi| or
 * next to 1 (a correction term carried separately so that its bits are not
 * lost in hi + lo). Same reduction/polynomial/scaling as tg_expf1; hi is
 * clamped at -110, where the result is 0 whatever lo (lo <= ~0 here). */
TG_INLINE float TGN(tg_expf_hl)(float hi, float lo)
{
    union {
        float f;
        uint32_t u;
    } t, s1, s2;
    float n, r, r2, p;
    int32_t ni, n1, n2;

    hi = hi < -110.0f ? -110.0f : hi;
    t.f = TG_FMAF(hi + lo, 1.44269504088896341f, 12582912.0f);
    n = t.f - 12582912.0f;
    ni = (int32_t)(t.u - 0x4B400000u);
    r = TG_FMAF(n, -0.693359375f, hi);
    r = r + lo;
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

/* log(1 + f) + k*ln2 for f in [sqrt(1/2) - 1, sqrt(2) - 1] and an integer k
 * (|k| < 256): with s = f/(2+f), log(1+f) = 2 atanh(s)
 *   = f - hfsq + s*(hfsq + R),  hfsq = f^2/2,  R = sum_{j>=1} 2 s^(2j)/(2j+1)
 * (from 2s = f - hfsq + s*hfsq); R to s^8 (truncation < 3e-9 relative to
 * s*R), ln2 split as 0.693359375 (k*hi exact) + lo. */
TG_INLINE float TGN(tg_logf_tail)(float f, float k)
{
    const float s = f / (2.0f + f);
    const float z = s * s;
    const float hfsq = 0.5f * f * f;
    float R = 2.0f / 9.0f;
    R = TG_FMAF(R, z, 2.0f / 7.0f);
    R = TG_FMAF(R, z, 2.0f / 5.0f);
    R = TG_FMAF(R, z, 2.0f / 3.0f);
    R = R * z;
    return TG_FMAF(k, 0.693359375f, f - (hfsq - TG_FMAF(s, hfsq + R, k * -2.12194440e-4f)));
}

/* natural log, float32: log(0) = -inf, log(x < 0) = NaN, log(inf) = inf,
 * NaN -> NaN; subnormal inputs are scaled by 2^23 first. x = 2^k * m with
 * m in [sqrt(1/2), sqrt(2)) read from the bits (subtracting the bits of
 * sqrt(1/2) makes the exponent field k directly). */
TG_INLINE float TGN(tg_logf1)(float x)
{
    union {
        float f;
        uint32_t u;
    } v, m;
    const int sub = x < 1.17549435e-38f;
    uint32_t ix;
    int32_t k;
    float r;

    v.f = sub ? x * 8388608.0f : x;
    ix = v.u - 0x3f3504f3u;
    k = ((int32_t)ix >> 23) - (sub ? 23 : 0);
    m.u = (ix & 0x007fffffu) + 0x3f3504f3u;
    r = TGN(tg_logf_tail)(m.f - 1.0f, (float)k);
    r = x < 0.0f ? __builtin_nanf("") : r;
    r = x == 0.0f ? -__builtin_inff() : r;
    return (x == __builtin_inff() || x != x) ? x : r;
}

/* log(1 + u) for 0 <= u <= 1 (or NaN): w = 1 + u rounded, c = u - (w - 1)
 * its rounding error (exact), and log(w + c) = log(w) with c*2^-k added to
 * the reduced argument f (k = 0 or 1 here). Full relative accuracy for tiny u. */
TG_INLINE float TGN(tg_log1pf_pos)(float u)
{
    union {
        float f;
        uint32_t u;
    } v, m;
    const float w = 1.0f + u;
    const float c = u - (w - 1.0f);
    uint32_t ix;
    int32_t k;
    float r;

    v.f = w;
    ix = v.u - 0x3f3504f3u;
    k = (int32_t)ix >> 23;
    m.u = (ix & 0x007fffffu) + 0x3f3504f3u;
    r = TGN(tg_logf_tail)((m.f - 1.0f) + c * (k ? 0.5f : 1.0f), (float)k);
    return u != u ? u : r;
}

/* erf(z) = z * P(z^2) for |z| <= 1 (fit error < 1.3e-9 relative), P = c0 + w*P1(w). */
TG_INLINE float TGN(tg_erff_small)(float z)
{
    const float w = z * z;
    float p;
    p = 7.847259127e-05f;
    p = TG_FMAF(p, w, -8.008189323e-04f);
    p = TG_FMAF(p, w, 5.188098889e-03f);
    p = TG_FMAF(p, w, -2.685369110e-02f);
    p = TG_FMAF(p, w, 1.128358225e-01f);
    p = TG_FMAF(p, w, -3.761262557e-01f);
    /* z*c0 + z*w*P1(w) with c0 in two parts: the leading term rounds once */
    return TG_FMAF(z, 1.128379107e+00f, z * TG_FMAF(w, p, 5.916771784e-08f));
}

/* erfc(a + al) for 0 <= a <= 30 (callers clamp; NaN passes), al a small
 * correction of a (0, or the low part of an exactly split product).
 * erfc(z) = t * exp(-z^2 + Q(t)) with t = 1/(1 + z/2) and Q a polynomial in
 * t - tc fitted on z in [0.5, 10.1] (absolute error ~1e-7 in float32
 * arithmetic); z^2 is split exactly so that e^(-z^2) keeps full relative
 * accuracy up to the underflow of erfc (z ~ 10.05). */
TG_INLINE float TGN(tg_erfcf_big)(float a, float al)
{
    const float t = 1.0f / TG_FMAF(0.5f, a, 1.0f);
    const float u = t - 4.804687500e-01f;
    float q, a2l, a2;
    q = 2.589189956e-01f;
    q = TG_FMAF(q, u, -9.612449568e-02f);
    q = TG_FMAF(q, u, -2.804937283e-01f);
    q = TG_FMAF(q, u, 1.525846117e-01f);
    q = TG_FMAF(q, u, 2.664358869e-01f);
    q = TG_FMAF(q, u, -1.848018815e-01f);
    q = TG_FMAF(q, u, -3.617582725e-01f);
    q = TG_FMAF(q, u, 2.109729924e-01f);
    q = TG_FMAF(q, u, 1.337464592e+00f);
    q = TG_FMAF(q, u, -6.979941980e-01f);
    a2 = TGN(tg_two_prodf)(a, a, &a2l);
    a2l = TG_FMAF(2.0f * a, al, a2l);
    return t * TGN(tg_expf_hl)(-a2, q - a2l);
}

/* erf, float32: z*P(z^2) for |z| < 1, else 1 - erfc(|z|); sign by copysign
 * (erf(-0) = -0; NaN passes; +-inf -> +-1). */
TG_INLINE float TGN(tg_erff1)(float x)
{
    float a = __builtin_fabsf(x);
    float r;
    a = a > 30.0f ? 30.0f : a;
    r = a < 1.0f ? TGN(tg_erff_small)(a) : 1.0f - TGN(tg_erfcf_big)(a, 0.0f);
    return __builtin_copysignf(r, x);
}

/* Phi(x) = P(N(0,1) <= x) = erfc(-x/sqrt2)/2, float32, with full relative
 * accuracy in the lower tail; z = x/sqrt(2) is carried as zh + zl (exact
 * product with a two-part 1/sqrt(2)), x clamped to [-40, 40] first.
 * If pdf is not NULL it receives phi(x) = e^(-x^2/2)/sqrt(2 pi). */
TG_INLINE float TGN(tg_normcdff)(float x, float *pdf)
{
    float xc, zh, zl, a, al, E, C, z2l, z2h;
    xc = x > 40.0f ? 40.0f : x;
    xc = xc < -40.0f ? -40.0f : xc;
    zh = TGN(tg_two_prodf)(xc, 0.707106769f, &zl);
    zl = TG_FMAF(xc, 1.21016175e-08f, zl);
    a = __builtin_fabsf(zh);
    al = zh < 0.0f ? -zl : zl;
    E = TG_FMAF(zl, 1.12837917f, TGN(tg_erff_small)(zh));
    C = TGN(tg_erfcf_big)(a, al);
    if (pdf != 0) {
        z2h = TGN(tg_two_prodf)(zh, zh, &z2l);
        z2l = TG_FMAF(2.0f * zh, zl, z2l);
        *pdf = 0.398942292f * TGN(tg_expf_hl)(-z2h, -z2l);
    }
    return zh <= -0.5f ? 0.5f * C : (zh >= 1.0f ? 1.0f - 0.5f * C : TG_FMAF(0.5f, E, 0.5f));
}

/* ======================================================================== */
/* shared helpers for the activations (float64)                             */
/* ======================================================================== */

TG_INLINE double TGN(tg_two_prod)(double a, double b, double *lo)
{
    const double p = a * b;
#if TG_USE_FMA
    *lo = __builtin_fma(a, b, -p);
#else
    const double ca = a * 134217729.0, cb = b * 134217729.0;
    const double ah = ca - (ca - a), al = a - ah;
    const double bh = cb - (cb - b), bl = b - bh;
    *lo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
#endif
    return p;
}

/* e^(hi + lo), float64, as tg_expf_hl (hi clamped at -760). */
TG_INLINE double TGN(tg_exp_hl)(double hi, double lo)
{
    union {
        double f;
        uint64_t u;
    } t, s1, s2;
    double n, r, p;
    int64_t ni, n1, n2;

    hi = hi < -760.0 ? -760.0 : hi;
    t.f = TG_FMA(hi + lo, 1.4426950408889634074, 6755399441055744.0);
    n = t.f - 6755399441055744.0;
    ni = (int64_t)(t.u - 0x4338000000000000ull);
    r = TG_FMA(n, -6.93145751953125e-1, hi);
    r = r + lo;
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
    p = TG_FMA(p, r * r, r);
    p = p + 1.0;
    n1 = ni >> 1;
    n2 = ni - n1;
    s1.u = (uint64_t)(n1 + 1023) << 52;
    s2.u = (uint64_t)(n2 + 1023) << 52;
    return (p * s1.f) * s2.f;
}

/* float64 version of tg_logf_tail: R to s^22 (truncation < 1e-18), ln2 =
 * 0.6931467056274414 (20 bits, k*hi exact for |k| < 2^12) + lo. */
TG_INLINE double TGN(tg_log_tail)(double f, double k)
{
    const double s = f / (2.0 + f);
    const double z = s * s;
    const double hfsq = 0.5 * f * f;
    double R = 2.0 / 23.0;
    R = TG_FMA(R, z, 2.0 / 21.0);
    R = TG_FMA(R, z, 2.0 / 19.0);
    R = TG_FMA(R, z, 2.0 / 17.0);
    R = TG_FMA(R, z, 2.0 / 15.0);
    R = TG_FMA(R, z, 2.0 / 13.0);
    R = TG_FMA(R, z, 2.0 / 11.0);
    R = TG_FMA(R, z, 2.0 / 9.0);
    R = TG_FMA(R, z, 2.0 / 7.0);
    R = TG_FMA(R, z, 2.0 / 5.0);
    R = TG_FMA(R, z, 2.0 / 3.0);
    R = R * z;
    return TG_FMA(k, 0.6931467056274414, f - (hfsq - TG_FMA(s, hfsq + R, k * 4.7493250390316726e-07)));
}

/* Split a positive finite w into m in [sqrt(1/2), sqrt(2)) and k (as a
 * double) with w = m * 2^k, without 64-bit integer shifts or conversions
 * (which AVX2 lacks): the exponent field is turned into a double with the
 * 2^52 magic number. */
TG_INLINE double TGN(tg_log_split)(double w, double *k)
{
    union {
        double f;
        uint64_t u;
    } v, m, e;
    int big;
    v.f = w;
    e.u = 0x4330000000000000ull | (v.u >> 52);
    m.u = (v.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    big = m.f > 1.4142135623730951;
    *k = (e.f - 4503599627370496.0) - (big ? 1022.0 : 1023.0);
    return big ? 0.5 * m.f : m.f;
}

TG_INLINE double TGN(tg_log1)(double x)
{
    const int sub = x < 2.2250738585072014e-308;
    double k, m, r;
    m = TGN(tg_log_split)(sub ? x * 18014398509481984.0 : x, &k);
    r = TGN(tg_log_tail)(m - 1.0, sub ? k - 54.0 : k);
    r = x < 0.0 ? __builtin_nan("") : r;
    r = x == 0.0 ? -__builtin_inf() : r;
    return (x == __builtin_inf() || x != x) ? x : r;
}

/* log(1 + u) for 0 <= u <= 1 (or NaN), as tg_log1pf_pos. */
TG_INLINE double TGN(tg_log1p_pos)(double u)
{
    const double w = 1.0 + u;
    const double c = u - (w - 1.0);
    double k, m, r;
    m = TGN(tg_log_split)(w, &k);
    r = TGN(tg_log_tail)((m - 1.0) + c * (k > 0.5 ? 0.5 : 1.0), k);
    return u != u ? u : r;
}

TG_INLINE double TGN(tg_erf_small)(double z)
{
    const double w = z * z;
    double p;
    p = 5.94350823398178237e-11;
    p = TG_FMA(p, w, -1.13646075206056011e-09);
    p = TG_FMA(p, w, 1.46576001657785583e-08);
    p = TG_FMA(p, w, -1.63499827418976889e-07);
    p = TG_FMA(p, w, 1.64609687219756015e-06);
    p = TG_FMA(p, w, -1.49255932459235012e-05);
    p = TG_FMA(p, w, 1.20553310257937976e-04);
    p = TG_FMA(p, w, -8.54832697843069386e-04);
    p = TG_FMA(p, w, 5.22397762477531946e-03);
    p = TG_FMA(p, w, -2.68661706450723098e-02);
    p = TG_FMA(p, w, 1.12837916709548541e-01);
    p = TG_FMA(p, w, -3.76126389031837483e-01);
    return TG_FMA(z, 1.12837916709551256e+00, z * TG_FMA(w, p, 1.53354596131658812e-17));
}

/* erfc(a + al) for 0 <= a <= 30, float64: as tg_erfcf_big with Q in two
 * pieces (z < 2.5 and z >= 2.5, degree 16 each, absolute error ~1.5e-16),
 * the coefficients picked per lane. */
TG_INLINE double TGN(tg_erfc_big)(double a, double al)
{
    const double t = 1.0 / TG_FMA(0.5, a, 1.0);
    const int lo = a < 2.5;
    const double u = t - (lo ? 6.25000000000000000e-01 : 2.57812500000000000e-01);
    double q, a2l, a2;
    q = lo ? -1.46841904321595967e-01 : -4.37722897751133821e-01;
    q = TG_FMA(q, u, lo ? 2.35338071389662590e-01 : 1.10577524090963486e+00);
    q = TG_FMA(q, u, lo ? -1.03584199150656697e-02 : 2.68767140392678183e-01);
    q = TG_FMA(q, u, lo ? -2.38027007323215273e-01 : -8.60309495191819429e-01);
    q = TG_FMA(q, u, lo ? 1.82304557851227150e-01 : -1.71198177528901208e-01);
    q = TG_FMA(q, u, lo ? 1.02619670964312348e-01 : 5.58424447963489223e-01);
    q = TG_FMA(q, u, lo ? -2.47324733182446105e-01 : 1.65465644950547441e-01);
    q = TG_FMA(q, u, lo ? 6.15311064587038548e-02 : -3.59137568939932705e-01);
    q = TG_FMA(q, u, lo ? 2.08328315379191553e-01 : -1.93360255109016249e-01);
    q = TG_FMA(q, u, lo ? -1.86936706954886595e-01 : 2.18749826921999152e-01);
    q = TG_FMA(q, u, lo ? -1.18745117933243410e-01 : 2.35190078708759631e-01);
    q = TG_FMA(q, u, lo ? 2.73574240217959119e-01 : -8.98302740884484308e-02);
    q = TG_FMA(q, u, lo ? 2.49568633037730095e-02 : -2.94253947921251535e-01);
    q = TG_FMA(q, u, lo ? -4.08152034903412397e-01 : -1.17283244253683111e-01);
    q = TG_FMA(q, u, lo ? 3.96143073767929177e-02 : 3.76504641299531762e-01);
    q = TG_FMA(q, u, lo ? 1.37416716539009820e+00 : 1.20044077349593992e+00);
    q = TG_FMA(q, u, lo ? -5.01436725921194149e-01 : -9.81911403411666273e-01);
    a2 = TGN(tg_two_prod)(a, a, &a2l);
    a2l = TG_FMA(2.0 * a, al, a2l);
    return t * TGN(tg_exp_hl)(-a2, q - a2l);
}

TG_INLINE double TGN(tg_erf1)(double x)
{
    double a = __builtin_fabs(x);
    double r;
    a = a > 30.0 ? 30.0 : a;
    r = a < 1.0 ? TGN(tg_erf_small)(a) : 1.0 - TGN(tg_erfc_big)(a, 0.0);
    return __builtin_copysign(r, x);
}

TG_INLINE double TGN(tg_normcdf)(double x, double *pdf)
{
    double xc, zh, zl, a, al, E, C, z2l, z2h;
    xc = x > 40.0 ? 40.0 : x;
    xc = xc < -40.0 ? -40.0 : xc;
    zh = TGN(tg_two_prod)(xc, 0.7071067811865476, &zl);
    zl = TG_FMA(xc, -4.833646656726457e-17, zl);
    a = __builtin_fabs(zh);
    al = zh < 0.0 ? -zl : zl;
    E = TG_FMA(zl, 1.1283791670955126, TGN(tg_erf_small)(zh));
    C = TGN(tg_erfc_big)(a, al);
    if (pdf != 0) {
        z2h = TGN(tg_two_prod)(zh, zh, &z2l);
        z2l = TG_FMA(2.0 * zh, zl, z2l);
        *pdf = 0.3989422804014327 * TGN(tg_exp_hl)(-z2h, -z2l);
    }
    return zh <= -0.5 ? 0.5 * C : (zh >= 1.0 ? 1.0 - 0.5 * C : TG_FMA(0.5, E, 0.5));
}
