/*
 * tg_vec512.h -- AVX-512 intrinsic forms of the float32 loops that decide
 * the element-wise and row-wise speed: exp, sigmoid, relu, and the rows of
 * softmax / log_softmax. Included only inside the TG_BEGIN_AVX512 region of
 * elementwise.c and rowwise.c; the generic and AVX2 variants keep the scalar
 * code of tg_math_impl.h under `omp simd`.
 *
 * Why intrinsics here and nowhere else: from the scalar code GCC makes 33
 * instructions per 16 floats for exp. Its NaN-preserving clamps become four
 * mask operations and two blends, and the scaling by 2^n six integer
 * operations and two multiplies. Here each clamp is one vminps/vmaxps with
 * the operand order that lets NaN through, and 2^n is one vscalefps (a single
 * rounding, so subnormal results and overflow to inf come out right, as in
 * the two-factor scaling of tg_expf1), and a 16-entry table shortens the
 * polynomial (see tg_v512_expf_neg). exp went from 0.35 to 0.15 ns per
 * element in L1 on one Zen 4 core. The code is Zen 4's bottleneck: about one
 * 512-bit floating-point operation per cycle, so every operation counts.
 * (A reciprocal estimate plus Newton steps instead of sigmoid's vdivps was
 * slower: four more operations on the same pipes.)
 *
 * Streaming stores: with outputs of TG_STREAM_MIN_BYTES or more the result
 * cannot stay in cache for the next operation anyway, and a normal store
 * first reads each output line (read for ownership): 3 passes over memory
 * where 2 are needed. Non-temporal stores skip that read. Measured at 4M
 * floats on 2 threads: relu 0.61 -> 0.51 ms, exp 0.60 -> 0.53 ms.
 */
#ifndef TG_VEC512_H
#define TG_VEC512_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#ifdef TG_HAVE_OPENMP
#include <omp.h>
#endif

/* Outputs at least this large are written with streaming stores: a quarter
 * of this machine's 32 MiB L3, above which input and output together crowd
 * out what the next operation needs. */
#define TG_STREAM_MIN_BYTES ((int64_t)8 << 20)

#define TG_V512_ALWAYS static inline __attribute__((always_inline))

TG_V512_ALWAYS __m512 tg_v512_set(float v) { return _mm512_set1_ps(v); }

/* e^x for x <= 0 (or NaN), ~1.1 ulp. A 16-entry table instead of tg_expf1's
 * degree-7 polynomial, which saves four of sixteen vector operations:
 *   n = round(16 x / ln2), m = n / 16 (both exact, from one magic-number sum),
 *   r = x - m ln2 (Cody-Waite, |r| <= ln2/32),
 *   e^x = 2^floor(m) * T[n mod 16] * (1 + r + r^2/2 + r^3/6)
 * T[j] = 2^(j/16) rounded to float (0.5 ulp), picked by vpermps from the low
 * four bits of the sum; the truncated series is 0.08 ulp off; 2^floor(m) is
 * one vscalefps, a single rounding (subnormal results right, overflow to
 * inf). Measured: at most 1.06 ulp over [-104, 89] (tg_expf1: 1.01). */
TG_V512_ALWAYS __m512 tg_v512_expf_neg(__m512 x)
{
    const __m512 magic = tg_v512_set(12582912.0f); /* 1.5 * 2^23 */
    const __m512 pow2_16ths = _mm512_setr_ps(
        1.000000000e+00f, 1.044273734e+00f, 1.090507746e+00f, 1.138788581e+00f, 1.189207077e+00f, 1.241857767e+00f,
        1.296839595e+00f, 1.354255557e+00f, 1.414213538e+00f, 1.476826191e+00f, 1.542210817e+00f, 1.610490322e+00f,
        1.681792855e+00f, 1.756252170e+00f, 1.834008098e+00f, 1.915206552e+00f);
    __m512 t, m, r, q, T;
    x = _mm512_max_ps(tg_v512_set(-104.0f), x); /* NaN passes: vmaxps returns its 2nd operand */
    t = _mm512_fmadd_ps(x, tg_v512_set(23.0831206542234f), magic); /* 16 / ln2 */
    m = _mm512_fmadd_ps(t, tg_v512_set(0.0625f), tg_v512_set(-786432.0f)); /* (t - magic) / 16 */
    r = _mm512_fmadd_ps(m, tg_v512_set(-0.693359375f), x);
    r = _mm512_fmadd_ps(m, tg_v512_set(2.12194440e-4f), r);
    T = _mm512_permutexvar_ps(_mm512_castps_si512(t), pow2_16ths);
    q = _mm512_fmadd_ps(r, tg_v512_set(1.0f / 6.0f), tg_v512_set(0.5f));
    q = _mm512_fmadd_ps(_mm512_mul_ps(r, r), q, r);
    return _mm512_scalef_ps(_mm512_fmadd_ps(T, q, T), m);
}

/* e^x: the upper clamp keeps 16 x / ln2 finite for x = +inf (scalef then
 * overflows to inf from x = 89 as tg_expf1 does). */
TG_V512_ALWAYS __m512 tg_v512_expf(__m512 x)
{
    return tg_v512_expf_neg(_mm512_min_ps(tg_v512_set(89.0f), x));
}

/* 1/(1+e) for x >= 0 and e/(1+e) for x < 0, e = e^-|x| (tg_sigmoidf1). */
TG_V512_ALWAYS __m512 tg_v512_sigmoidf(__m512 x)
{
    const __m512 minus_abs = _mm512_or_ps(x, tg_v512_set(-0.0f));
    const __m512 e = tg_v512_expf_neg(minus_abs);
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 num = _mm512_mask_blend_ps(neg, tg_v512_set(1.0f), e);
    return _mm512_div_ps(num, _mm512_add_ps(e, tg_v512_set(1.0f)));
}

/* max(x, 0) with NaN kept and -0 for -0 (as `v < 0 ? 0 : v`). */
TG_V512_ALWAYS __m512 tg_v512_reluf(__m512 x)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), x, _mm512_setzero_ps());
}

TG_V512_ALWAYS __mmask16 tg_v512_mask(int64_t k) { return (__mmask16)((1u << k) - 1u); }

/* Elements of y before the next 64-byte boundary (streaming stores need it),
 * at most `left`. y is float-aligned (the bindings check). */
TG_V512_ALWAYS int64_t tg_v512_head(const float *y, int64_t left)
{
    const int64_t h = (int64_t)((64u - ((uintptr_t)y & 63u)) & 63u) / 4;
    return h < left ? h : left;
}

/* y[i] = F(x[i]) for i in [lo, hi), F a function or macro of one vector:
 * full vectors, masked head and tail, streaming stores when `stream`. */
#define TG_V512_MAP_LOOP(x, y, lo, hi, stream, F)                                                             \
    do {                                                                                                       \
        int64_t i_ = (lo);                                                                                     \
        if (stream) {                                                                                          \
            const int64_t h_ = tg_v512_head((y) + i_, (hi) - i_);                                              \
            if (h_ > 0) {                                                                                      \
                const __mmask16 m_ = tg_v512_mask(h_);                                                         \
                _mm512_mask_storeu_ps((y) + i_, m_, F(_mm512_maskz_loadu_ps(m_, (x) + i_)));                   \
                i_ += h_;                                                                                      \
            }                                                                                                  \
            for (; i_ + 16 <= (hi); i_ += 16)                                                                  \
                _mm512_stream_ps((y) + i_, F(_mm512_loadu_ps((x) + i_)));                                      \
            _mm_sfence(); /* streaming stores are weakly ordered */                                           \
        } else {                                                                                               \
            for (; i_ + 16 <= (hi); i_ += 16)                                                                  \
                _mm512_storeu_ps((y) + i_, F(_mm512_loadu_ps((x) + i_)));                                      \
        }                                                                                                      \
        if (i_ < (hi)) {                                                                                       \
            const __mmask16 m_ = tg_v512_mask((hi) - i_);                                                      \
            _mm512_mask_storeu_ps((y) + i_, m_, F(_mm512_maskz_loadu_ps(m_, (x) + i_)));                       \
        }                                                                                                      \
    } while (0)

/* A range function for TG_V512_RUN: y[i] = F(x[i]) over [lo, hi). */
#define TG_V512_DEF_MAP(NAME, F)                                                                              \
    static void NAME(const float *x, float *y, int64_t lo, int64_t hi, int stream)                             \
    {                                                                                                          \
        TG_V512_MAP_LOOP(x, y, lo, hi, stream, F);                                                             \
    }

/* The [lo, hi) share of thread `t` of `nt` in whole 16-float vectors. */
TG_V512_ALWAYS void tg_v512_share(int64_t n, int t, int nt, int64_t *lo, int64_t *hi)
{
    const int64_t nv = (n + 15) / 16;
    *lo = nv * t / nt * 16;
    *hi = nv * (t + 1) / nt * 16;
    if (*hi > n)
        *hi = n;
}

/* A whole unary kernel from a range function made by TG_V512_DEF_MAP: on
 * the calling thread below THRESH (as TG_PAR_LOOP), else one parallel
 * region with a contiguous share per thread. */
#ifdef TG_HAVE_OPENMP
#define TG_V512_RUN(RANGE, x, y, n, THRESH)                                                                   \
    do {                                                                                                       \
        const int nt_ = tg_get_num_threads();                                                                  \
        const int stream_ = (n) * (int64_t)sizeof(float) >= TG_STREAM_MIN_BYTES;                               \
        if ((n) >= (THRESH) && nt_ > 1) {                                                                      \
            _Pragma("omp parallel num_threads(nt_)")                                                           \
            {                                                                                                  \
                int64_t lo_, hi_;                                                                              \
                tg_v512_share((n), omp_get_thread_num(), omp_get_num_threads(), &lo_, &hi_);                   \
                RANGE((x), (y), lo_, hi_, stream_);                                                            \
            }                                                                                                  \
        } else {                                                                                               \
            RANGE((x), (y), 0, (n), stream_);                                                                  \
        }                                                                                                      \
    } while (0)
#else
#define TG_V512_RUN(RANGE, x, y, n, THRESH)                                                                   \
    RANGE((x), (y), 0, (n), (n) * (int64_t)sizeof(float) >= TG_STREAM_MIN_BYTES)
#endif

/* ------------------------------------------------------------------------ */
/* Rows of softmax / log_softmax (float32), as rw_softmax_row and           */
/* rw_log_softmax_row in rowwise_impl.h                                     */
/* ------------------------------------------------------------------------ */

/* Largest element, -inf for an empty row. As rw_rowmax, NaN is not taken
 * (vmaxps returns its 2nd operand, the accumulator); it turns the row into
 * NaN later through x - m. */
TG_V512_ALWAYS float tg_v512_rowmax(const float *x, int64_t c)
{
    __m512 a0 = tg_v512_set(-INFINITY), a1 = a0; /* two chains: max has latency */
    int64_t j = 0;
    for (; j + 32 <= c; j += 32) {
        a0 = _mm512_max_ps(_mm512_loadu_ps(x + j), a0);
        a1 = _mm512_max_ps(_mm512_loadu_ps(x + j + 16), a1);
    }
    for (; j + 16 <= c; j += 16)
        a0 = _mm512_max_ps(_mm512_loadu_ps(x + j), a0);
    if (j < c) {
        const __mmask16 m = tg_v512_mask(c - j);
        a1 = _mm512_mask_max_ps(a1, m, _mm512_maskz_loadu_ps(m, x + j), a1);
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
}

/* sum_j e^(x_j - m); e^(x_j - m) also goes to e_out unless it is NULL. */
TG_V512_ALWAYS float tg_v512_sumexp(const float *x, float *e_out, int64_t c, float m)
{
    const __m512 mv = tg_v512_set(m);
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    int64_t j = 0;
    for (; j + 32 <= c; j += 32) {
        const __m512 e0 = tg_v512_expf_neg(_mm512_sub_ps(_mm512_loadu_ps(x + j), mv));
        const __m512 e1 = tg_v512_expf_neg(_mm512_sub_ps(_mm512_loadu_ps(x + j + 16), mv));
        if (e_out != NULL) {
            _mm512_storeu_ps(e_out + j, e0);
            _mm512_storeu_ps(e_out + j + 16, e1);
        }
        s0 = _mm512_add_ps(s0, e0);
        s1 = _mm512_add_ps(s1, e1);
    }
    for (; j < c; j += 16) {
        const __mmask16 k = c - j >= 16 ? (__mmask16)0xFFFF : tg_v512_mask(c - j);
        const __m512 e = tg_v512_expf_neg(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), mv));
        if (e_out != NULL)
            _mm512_mask_storeu_ps(e_out + j, k, e);
        s0 = _mm512_mask_add_ps(s0, k, s0, e);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/* Rows up to this long keep their exponentials in an L1 buffer while the
 * sum is formed, so that y is written once, with streaming stores. */
#define TG_V512_ROW_BUF 4096

TG_V512_ALWAYS void tg_v512_softmax_row(const float *x, float *y, int64_t c, int stream)
{
    float buf[TG_V512_ROW_BUF] __attribute__((aligned(64)));
    const int buffered = stream && c <= TG_V512_ROW_BUF;
    float *e = buffered ? buf : y;
    const __m512 r = tg_v512_set(1.0f / tg_v512_sumexp(x, e, c, tg_v512_rowmax(x, c)));
#define TG_V512_SCALE_(v) _mm512_mul_ps((v), r)
    TG_V512_MAP_LOOP(e, y, 0, c, buffered, TG_V512_SCALE_);
#undef TG_V512_SCALE_
}

TG_V512_ALWAYS void tg_v512_log_softmax_row(const float *x, float *y, int64_t c, int stream)
{
    const float m = tg_v512_rowmax(x, c);
    const __m512 mv = tg_v512_set(m), ls = tg_v512_set(logf(tg_v512_sumexp(x, NULL, c, m)));
#define TG_V512_SHIFT_(v) _mm512_sub_ps(_mm512_sub_ps((v), mv), ls)
    TG_V512_MAP_LOOP(x, y, 0, c, stream, TG_V512_SHIFT_);
#undef TG_V512_SHIFT_
}

#endif /* TG_VEC512_H */
