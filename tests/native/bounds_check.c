/*
 * bounds_check.c -- drives every kernel of csrc/ on buffers allocated to
 * their exact extent, so that AddressSanitizer (tests/test_sanitizer.py
 * builds this file and csrc/*.c with -fsanitize=address,undefined) reports
 * any read or write outside them. Results are also checked against plain
 * loops, so a kernel that stays in bounds but computes garbage fails too.
 *
 * Every SIMD level the CPU supports, 1 and 2 threads, float32 and float64;
 * GEMM over shapes around the register tiles and cache blocks, row-major,
 * column-major, padded and negative strides, alpha/beta, the bias/relu
 * epilogue, both the small and the packed path, and batched calls.
 * Prints "OK <count>" and exits 0, or prints the first failure and exits 1.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_kernels.h"

static uint64_t rng_state = 88172645463325252ull;
static double rnd(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / (double)(1ull << 52) - 1.0;
}

static long checks;

/* per-family drivers (tests/native/bounds_<family>.c) */
void bounds_activations(long *checks);
void bounds_rowwise(long *checks);
void bounds_optim(long *checks);
void bounds_conv(long *checks);

#define FAIL(...)                                                                                             \
    do {                                                                                                      \
        printf("FAIL: " __VA_ARGS__);                                                                         \
        printf("\n");                                                                                         \
        exit(1);                                                                                              \
    } while (0)

/* A strided view: element (i, j) at base[off + i*rs + j*cs], the buffer
 * holding exactly the elements the view can reach (malloc'd to that size). */
typedef struct {
    void *buf;
    int64_t off, rs, cs, size;
} view;

/* layout 0 row-major, 1 column-major, 2 row-major with padded rows,
 * 3 row-major with rows reversed (negative row stride) */
static view make_view(int64_t r, int64_t c, int layout, size_t esz)
{
    view v;
    int64_t ld;
    switch (layout) {
    case 1:
        v.rs = 1;
        v.cs = r > 0 ? r : 1;
        v.off = 0;
        v.size = r * c;
        break;
    case 2:
        ld = c + 3;
        v.rs = ld;
        v.cs = 1;
        v.off = 0;
        v.size = r > 0 ? (r - 1) * ld + c : 0;
        break;
    case 3:
        v.rs = -(c > 0 ? c : 1);
        v.cs = 1;
        v.off = r > 0 ? (r - 1) * c : 0;
        v.size = r * c;
        break;
    default:
        v.rs = c > 0 ? c : 1;
        v.cs = 1;
        v.off = 0;
        v.size = r * c;
    }
    v.buf = malloc((size_t)(v.size > 0 ? v.size : 1) * esz);
    return v;
}

#define DEF_GEMM_CHECK(NAME, T, GEMM_EPI, EPS)                                                               \
    static void NAME(int64_t m, int64_t n, int64_t k, int la, int lb, int lc, double alpha, double beta,     \
                     int bias_on, int act)                                                                    \
    {                                                                                                         \
        view A = make_view(m, k, la, sizeof(T)), B = make_view(k, n, lb, sizeof(T));                          \
        view Cv = make_view(m, n, lc, sizeof(T));                                                             \
        T *a = (T *)A.buf + A.off, *b = (T *)B.buf + B.off, *c = (T *)Cv.buf + Cv.off;                        \
        T *c0 = malloc(sizeof(T) * (size_t)(m * n > 0 ? m * n : 1));                                          \
        T *bias = bias_on ? malloc(sizeof(T) * (size_t)(n > 0 ? n : 1)) : NULL;                               \
        int64_t i, j, p;                                                                                      \
        for (p = 0; p < A.size; ++p)                                                                          \
            ((T *)A.buf)[p] = (T)rnd();                                                                       \
        for (p = 0; p < B.size; ++p)                                                                          \
            ((T *)B.buf)[p] = (T)rnd();                                                                       \
        for (p = 0; p < Cv.size; ++p)                                                                         \
            ((T *)Cv.buf)[p] = beta == 0.0 ? (T)NAN : (T)rnd();                                               \
        for (j = 0; bias != NULL && j < n; ++j)                                                               \
            bias[j] = (T)rnd();                                                                               \
        for (i = 0; i < m; ++i)                                                                               \
            for (j = 0; j < n; ++j)                                                                           \
                c0[i * n + j] = c[i * Cv.rs + j * Cv.cs];                                                     \
        if (GEMM_EPI(m, n, k, (T)alpha, a, A.rs, A.cs, b, B.rs, B.cs, (T)beta, c, Cv.rs, Cv.cs, bias, 1, act)) \
            FAIL("gemm returned an error");                                                                   \
        for (i = 0; i < m; ++i)                                                                               \
            for (j = 0; j < n; ++j) {                                                                         \
                double want = 0, mag = 0, got = c[i * Cv.rs + j * Cv.cs];                                     \
                for (p = 0; p < k; ++p) {                                                                     \
                    double t = (double)a[i * A.rs + p * A.cs] * (double)b[p * B.rs + j * B.cs];               \
                    want += t;                                                                                \
                    mag += fabs(t);                                                                           \
                }                                                                                             \
                want *= alpha;                                                                                \
                mag *= fabs(alpha);                                                                           \
                if (beta != 0.0) {                                                                            \
                    want += beta * c0[i * n + j];                                                             \
                    mag += fabs(beta * c0[i * n + j]);                                                        \
                }                                                                                             \
                if (bias != NULL) {                                                                           \
                    want += bias[j];                                                                          \
                    mag += fabs(bias[j]);                                                                     \
                }                                                                                             \
                if (act == TG_ACT_RELU && want < 0)                                                           \
                    want = 0;                                                                                 \
                if (!(fabs(got - want) <= (2.0 * k + 4) * EPS * mag + 1e-30))                                 \
                    FAIL(#NAME " %lldx%lldx%lld layouts %d%d%d alpha %g beta %g bias %d act %d: C[%lld,%lld] "  \
                         "= %g, want %g",                                                                     \
                         (long long)m, (long long)n, (long long)k, la, lb, lc, alpha, beta, bias_on, act,     \
                         (long long)i, (long long)j, got, want);                                              \
                ++checks;                                                                                     \
            }                                                                                                 \
        free(A.buf);                                                                                          \
        free(B.buf);                                                                                          \
        free(Cv.buf);                                                                                         \
        free(c0);                                                                                             \
        free(bias);                                                                                           \
    }

DEF_GEMM_CHECK(check_sgemm, float, tg_sgemm_epi, 1.2e-7)
DEF_GEMM_CHECK(check_dgemm, double, tg_dgemm_epi, 2.3e-16)

/* batched: a broadcast A (batch stride 0) against a stack of B, exact buffers */
#define DEF_BATCHED_CHECK(NAME, T, BATCHED, EPS)                                                             \
    static void NAME(int64_t nb, int64_t m, int64_t n, int64_t k)                                            \
    {                                                                                                         \
        T *a = malloc(sizeof(T) * (size_t)(m * k > 0 ? m * k : 1));                                           \
        T *b = malloc(sizeof(T) * (size_t)(nb * k * n > 0 ? nb * k * n : 1));                                 \
        T *c = malloc(sizeof(T) * (size_t)(nb * m * n > 0 ? nb * m * n : 1));                                 \
        int64_t q, i, j, p;                                                                                   \
        for (p = 0; p < m * k; ++p)                                                                           \
            a[p] = (T)rnd();                                                                                  \
        for (p = 0; p < nb * k * n; ++p)                                                                      \
            b[p] = (T)rnd();                                                                                  \
        if (BATCHED(nb, m, n, k, 1, a, 0, k, 1, b, k * n, n, 1, 0, c, m * n, n, 1))                           \
            FAIL("batched gemm returned an error");                                                           \
        for (q = 0; q < nb; ++q)                                                                              \
            for (i = 0; i < m; ++i)                                                                           \
                for (j = 0; j < n; ++j) {                                                                     \
                    double want = 0, mag = 0;                                                                 \
                    for (p = 0; p < k; ++p) {                                                                 \
                        double t = (double)a[i * k + p] * (double)b[q * k * n + p * n + j];                   \
                        want += t;                                                                            \
                        mag += fabs(t);                                                                       \
                    }                                                                                         \
                    if (!(fabs(c[q * m * n + i * n + j] - want) <= (2.0 * k + 4) * EPS * mag + 1e-30))        \
                        FAIL(#NAME " %lld x %lldx%lldx%lld at %lld,%lld,%lld", (long long)nb, (long long)m,   \
                             (long long)n, (long long)k, (long long)q, (long long)i, (long long)j);           \
                    ++checks;                                                                                 \
                }                                                                                             \
        free(a);                                                                                              \
        free(b);                                                                                              \
        free(c);                                                                                              \
    }

DEF_BATCHED_CHECK(check_sgemm_batched, float, tg_sgemm_batched, 1.2e-7)
DEF_BATCHED_CHECK(check_dgemm_batched, double, tg_dgemm_batched, 2.3e-16)

/* element-wise kernels: exact-size input and output, every length 0..40
 * (vector tails) and one above the threading threshold */
typedef void (*unary_f32)(const float *, float *, int64_t);
typedef void (*unary_f64)(const double *, double *, int64_t);
typedef void (*binary_f32)(const float *, const float *, float *, int64_t);
typedef void (*binary_f64)(const double *, const double *, double *, int64_t);

static void check_elementwise(int64_t n)
{
    static const unary_f32 u32[] = {tg_exp_f32, tg_sigmoid_f32, tg_tanh_f32, tg_relu_f32};
    static const unary_f64 u64[] = {tg_exp_f64, tg_sigmoid_f64, tg_tanh_f64, tg_relu_f64};
    static const binary_f32 b32[] = {tg_relu_backward_f32, tg_sigmoid_backward_f32, tg_tanh_backward_f32};
    static const binary_f64 b64[] = {tg_relu_backward_f64, tg_sigmoid_backward_f64, tg_tanh_backward_f64};
    size_t cnt = (size_t)(n > 0 ? n : 1);
    float *x32 = malloc(cnt * 4), *g32 = malloc(cnt * 4), *y32 = malloc(cnt * 4);
    double *x64 = malloc(cnt * 8), *g64 = malloc(cnt * 8), *y64 = malloc(cnt * 8);
    int64_t i;
    size_t f;
    for (i = 0; i < n; ++i) {
        x64[i] = 20 * rnd();
        g64[i] = rnd();
        x32[i] = (float)x64[i];
        g32[i] = (float)g64[i];
    }
    for (f = 0; f < sizeof u32 / sizeof u32[0]; ++f) {
        u32[f](x32, y32, n);
        u64[f](x64, y64, n);
        for (i = 0; i < n; ++i)
            if (!(isfinite(y32[i]) && isfinite(y64[i])))
                FAIL("unary kernel %d gave a non-finite value at %lld of %lld", (int)f, (long long)i, (long long)n);
        checks += 2 * n;
    }
    for (f = 0; f < sizeof b32 / sizeof b32[0]; ++f) {
        b32[f](x32, g32, y32, n);
        b64[f](x64, g64, y64, n);
        checks += 2 * n;
    }
    free(x32);
    free(g32);
    free(y32);
    free(x64);
    free(g64);
    free(y64);
}

int main(void)
{
    static const int64_t sizes[] = {0, 1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33};
    static const int64_t big[][3] = {{97, 129, 385}, {241, 35, 70}, {130, 300, 20}, {9, 500, 33}};
    const int ns = (int)(sizeof sizes / sizeof sizes[0]);
    int level, threads;
    for (level = 0; level < TG_SIMD_NLEVELS; ++level) {
        if (!tg_simd_level_supported(level))
            continue;
        tg_simd_set_level(level);
        for (threads = 1; threads <= 2; ++threads) {
            int im, in, ik, l, q;
            int64_t e;
            tg_set_num_threads(threads);
            /* small path (default crossover), every layout */
            for (im = 0; im < ns; ++im)
                for (in = 0; in < ns; ++in)
                    for (ik = 0; ik < ns; ik += 2) {
                        int64_t m = sizes[im], n = sizes[in], k = sizes[ik];
                        l = (im + in + ik) % 4;
                        check_sgemm(m, n, k, l, (l + 1) % 4, (l + 2) % 4, 1.0, (im + in) % 2 ? 0.5 : 0.0, in % 2,
                                    ik % 3 == 0);
                        check_dgemm(m, n, k, (l + 3) % 4, l, (l + 1) % 4, -2.0, (im + in) % 2 ? 0.0 : 1.0,
                                    im % 2, in % 3 == 0);
                    }
            /* packed path for the same and larger shapes */
            tg_gemm_set_small_max(0, 0);
            tg_gemm_set_small_max(1, 0);
            for (q = 0; q < (int)(sizeof big / sizeof big[0]); ++q)
                for (l = 0; l < 4; ++l) {
                    check_sgemm(big[q][0], big[q][2], big[q][1], l, (l + 1) % 4, (l + 3) % 4, 1.0, l % 2 ? 1.0 : 0.0,
                                l < 2, l % 2);
                    check_dgemm(big[q][0], big[q][2], big[q][1], (l + 2) % 4, l, l, 0.5, l % 2 ? 0.0 : -1.0, l >= 2,
                                l % 2 == 0);
                }
            for (im = 0; im < ns; im += 3)
                check_sgemm(sizes[im], 37, 19, im % 4, 1, 0, 1.0, 0.0, 1, 1);
            tg_gemm_set_small_max(0, TG_GEMM_SMALL_MAX_FLOPS_F32);
            tg_gemm_set_small_max(1, TG_GEMM_SMALL_MAX_FLOPS_F64);
            check_sgemm_batched(5, 7, 9, 11);
            check_dgemm_batched(3, 70, 90, 65);
            check_sgemm_batched(40, 30, 30, 30); /* many small: split over the batch */
            for (e = 0; e <= 40; ++e)
                check_elementwise(e);
            check_elementwise(70001);
            bounds_activations(&checks);
            bounds_rowwise(&checks);
            bounds_optim(&checks);
            bounds_conv(&checks);
        }
    }
    printf("OK %ld\n", checks);
    return 0;
}
