/* bounds_rowwise.c -- row-wise softmax / log_softmax / cross-entropy
 * (csrc/rowwise.c) on exact-size buffers, for bounds_check.c
 *
 * bounds_check.c calls bounds_rowwise() at every SIMD level with 1 and 2
 * threads. Every kernel runs over many (rows, cols) -- 0, 1, every length up
 * to past two AVX-512 vectors, and shapes above the parallel thresholds --
 * on buffers malloc'd to exactly rows*cols elements, and each element is
 * checked against a plain double-precision loop (so a kernel that stays in
 * bounds but computes garbage fails too). Prints FAIL and exits 1 on the
 * first mismatch.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tg_kernels.h"

void bounds_rowwise(long *checks);

static uint64_t rw_rng = 0x9E3779B97F4A7C15ull;
static double rw_rnd(void) /* uniform in [-1, 1) */
{
    rw_rng ^= rw_rng << 13;
    rw_rng ^= rw_rng >> 7;
    rw_rng ^= rw_rng << 17;
    return (double)(rw_rng >> 11) / (double)(1ull << 52) - 1.0;
}

#define RW_FAIL(...)                                                                                          \
    do {                                                                                                      \
        printf("FAIL: " __VA_ARGS__);                                                                         \
        printf("\n");                                                                                         \
        exit(1);                                                                                              \
    } while (0)

static void *rw_alloc(int64_t n, size_t esz)
{
    void *p = malloc((size_t)(n > 0 ? n : 1) * esz);
    if (p == NULL)
        RW_FAIL("bounds_rowwise: out of memory");
    return p;
}

/* |got - want| <= tolerance relative to the scale of the terms involved */
static int rw_ok(double got, double want, double scale, double eps)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= 16.0 * eps * (1.0 + fabs(want) + scale);
}

#define DEF_RW_CHECKS(SFX, T, EPS)                                                                            \
    /* softmax, log_softmax and their backward passes, one (rows, cols) */                                    \
    static void rw_check_softmax_##SFX(int64_t rows, int64_t cols, long *checks)                              \
    {                                                                                                         \
        const int64_t n = rows * cols;                                                                        \
        T *x = rw_alloc(n, sizeof(T)), *y = rw_alloc(n, sizeof(T)), *g = rw_alloc(n, sizeof(T));              \
        T *o = rw_alloc(n, sizeof(T));                                                                        \
        int64_t i, j, p;                                                                                      \
        int lg;                                                                                               \
        for (p = 0; p < n; ++p) {                                                                             \
            x[p] = (T)(6.0 * rw_rnd());                                                                       \
            g[p] = (T)rw_rnd();                                                                               \
        }                                                                                                     \
        if (n > 2)                                                                                            \
            x[n / 2] = (T)-INFINITY; /* a -inf entry in a row with a finite maximum */                        \
        for (lg = 0; lg < 2; ++lg) {                                                                          \
            (lg ? tg_log_softmax_##SFX : tg_softmax_##SFX)(x, y, rows, cols);                                 \
            for (i = 0; i < rows; ++i) {                                                                      \
                double m = -INFINITY, s = 0.0;                                                                \
                for (j = 0; j < cols; ++j)                                                                    \
                    m = fmax(m, (double)x[i * cols + j]);                                                     \
                for (j = 0; j < cols; ++j)                                                                    \
                    s += exp((double)x[i * cols + j] - m);                                                    \
                for (j = 0; j < cols; ++j) {                                                                  \
                    double d = (double)x[i * cols + j] - m;                                                   \
                    double want = lg ? d - log(s) : exp(d) / s;                                               \
                    if (!rw_ok((double)y[i * cols + j], want, 0.0, EPS))                                      \
                        RW_FAIL(#SFX " %s %lldx%lld [%lld,%lld] = %g, want %g", lg ? "log_softmax" : "softmax", \
                                (long long)rows, (long long)cols, (long long)i, (long long)j,                 \
                                (double)y[i * cols + j], want);                                               \
                    ++*checks;                                                                                \
                }                                                                                             \
            }                                                                                                 \
            /* backward with y = the forward output */                                                        \
            (lg ? tg_log_softmax_backward_##SFX : tg_softmax_backward_##SFX)(y, g, o, rows, cols);            \
            for (i = 0; i < rows; ++i) {                                                                      \
                double s = 0.0, sa = 0.0;                                                                     \
                for (j = 0; j < cols; ++j) {                                                                  \
                    double gy = (double)g[i * cols + j] * (lg ? 1.0 : (double)y[i * cols + j]);               \
                    s += gy;                                                                                  \
                    sa += fabs(gy);                                                                           \
                }                                                                                             \
                for (j = 0; j < cols; ++j) {                                                                  \
                    double yy = (double)y[i * cols + j], gg = (double)g[i * cols + j];                        \
                    double want = lg ? gg - exp(yy) * s : (gg - s) * yy;                                      \
                    double scale = lg ? exp(yy) * sa : fabs(yy) * sa;                                         \
                    if (!rw_ok((double)o[i * cols + j], want, scale, EPS))                                    \
                        RW_FAIL(#SFX " %s_backward %lldx%lld [%lld,%lld] = %g, want %g",                      \
                                lg ? "log_softmax" : "softmax", (long long)rows, (long long)cols, (long long)i, \
                                (long long)j, (double)o[i * cols + j], want);                                 \
                    ++*checks;                                                                                \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
        /* in place: y = softmax(y) over a copy of x */                                                       \
        for (p = 0; p < n; ++p)                                                                               \
            o[p] = x[p];                                                                                      \
        tg_softmax_##SFX(x, y, rows, cols);                                                                   \
        tg_softmax_##SFX(o, o, rows, cols);                                                                   \
        for (p = 0; p < n; ++p) {                                                                             \
            if (o[p] != y[p] && !(isnan(o[p]) && isnan(y[p])))                                                \
                RW_FAIL(#SFX " softmax in place %lldx%lld differs at %lld", (long long)rows, (long long)cols, \
                        (long long)p);                                                                        \
            ++*checks;                                                                                        \
        }                                                                                                     \
        free(x);                                                                                              \
        free(y);                                                                                              \
        free(g);                                                                                              \
        free(o);                                                                                              \
    }                                                                                                         \
                                                                                                              \
    /* cross-entropy forward + backward, one (n, c) and option set */                                         \
    static void rw_check_ce_##SFX(int64_t n, int64_t c, int weighted, double eps, int red, long *checks)      \
    {                                                                                                         \
        const int64_t ii = c > 2 ? 1 : -100;                                                                  \
        T *x = rw_alloc(n * c, sizeof(T)), *gin = rw_alloc(n * c, sizeof(T));                                 \
        T *w = weighted ? rw_alloc(c, sizeof(T)) : NULL;                                                      \
        T *loss = rw_alloc(red == TG_REDUCTION_NONE ? n : 1, sizeof(T));                                      \
        T *gl = rw_alloc(red == TG_REDUCTION_NONE ? n : 1, sizeof(T));                                        \
        int64_t *t = rw_alloc(n, sizeof(int64_t)), bad = -1;                                                  \
        double *lse = rw_alloc(n, sizeof(double)), *nll = rw_alloc(n, sizeof(double));                        \
        double *sm = rw_alloc(n, sizeof(double)), wtot = 0.0, wsum = 0.0, snll = 0.0, ssm = 0.0;              \
        int64_t i, j;                                                                                         \
        for (i = 0; i < n * c; ++i)                                                                           \
            x[i] = (T)(4.0 * rw_rnd());                                                                       \
        for (j = 0; j < c; ++j) {                                                                             \
            if (w != NULL)                                                                                    \
                w[j] = (T)(1.2 + rw_rnd());                                                                   \
            wsum += w != NULL ? (double)w[j] : 1.0;                                                           \
        }                                                                                                     \
        for (i = 0; i < n; ++i) {                                                                             \
            t[i] = c > 0 ? (int64_t)((rw_rnd() + 1.0) * 0.5 * (double)c) % c : ii;                            \
            if (i % 5 == 3)                                                                                   \
                t[i] = ii;                                                                                    \
        }                                                                                                     \
        for (i = 0; i < (red == TG_REDUCTION_NONE ? n : 1); ++i)                                              \
            gl[i] = (T)(0.5 + rw_rnd());                                                                      \
        if (tg_cross_entropy_##SFX(x, t, w, n, c, ii, eps, red, loss, lse, &bad) != 0)                        \
            RW_FAIL(#SFX " cross_entropy %lldx%lld failed", (long long)n, (long long)c);                      \
        for (i = 0; i < n; ++i) {                                                                             \
            double m = -INFINITY, s = 0.0, ls;                                                                \
            for (j = 0; j < c; ++j)                                                                           \
                m = fmax(m, (double)x[i * c + j]);                                                            \
            for (j = 0; j < c; ++j)                                                                           \
                s += exp((double)x[i * c + j] - m);                                                           \
            ls = log(s);                                                                                      \
            if (!rw_ok(lse[i], m + ls, 0.0, EPS))                                                             \
                RW_FAIL(#SFX " cross_entropy lse %lldx%lld [%lld] = %g, want %g", (long long)n, (long long)c, \
                        (long long)i, lse[i], m + ls);                                                        \
            ++*checks;                                                                                        \
            nll[i] = sm[i] = 0.0;                                                                             \
            if (t[i] != ii) {                                                                                 \
                double wt = w != NULL ? (double)w[t[i]] : 1.0;                                                \
                nll[i] = -wt * ((double)x[i * c + t[i]] - m - ls);                                            \
                for (j = 0; j < c; ++j)                                                                       \
                    sm[i] -= (w != NULL ? (double)w[j] : 1.0) * ((double)x[i * c + j] - m - ls);              \
                wtot += wt;                                                                                   \
            }                                                                                                 \
            snll += nll[i];                                                                                   \
            ssm += sm[i];                                                                                     \
            if (red == TG_REDUCTION_NONE) {                                                                   \
                double want = eps > 0 ? (1 - eps) * nll[i] + sm[i] * eps / (double)c : nll[i];                \
                if (!rw_ok((double)loss[i], want, 0.0, EPS))                                                  \
                    RW_FAIL(#SFX " cross_entropy none %lldx%lld [%lld] = %g, want %g", (long long)n,          \
                            (long long)c, (long long)i, (double)loss[i], want);                               \
                ++*checks;                                                                                    \
            }                                                                                                 \
        }                                                                                                     \
        if (red != TG_REDUCTION_NONE && wtot > 0) {                                                           \
            double dv = red == TG_REDUCTION_MEAN ? wtot : 1.0;                                                \
            double want = eps > 0 ? (1 - eps) * snll / dv + ssm / dv * eps / (double)c : snll / dv;           \
            if (!rw_ok((double)loss[0], want, 0.0, EPS))                                                      \
                RW_FAIL(#SFX " cross_entropy red %d %lldx%lld = %g, want %g", red, (long long)n, (long long)c, \
                        (double)loss[0], want);                                                               \
            ++*checks;                                                                                        \
        }                                                                                                     \
        if (tg_cross_entropy_backward_##SFX(x, t, lse, gl, w, n, c, ii, eps, red, gin, &bad) != 0)            \
            RW_FAIL(#SFX " cross_entropy_backward %lldx%lld failed", (long long)n, (long long)c);             \
        for (i = 0; i < n; ++i) {                                                                             \
            double a = t[i] == ii ? 0.0                                                                       \
                                  : (double)gl[red == TG_REDUCTION_NONE ? i : 0] /                            \
                                        (red == TG_REDUCTION_MEAN ? wtot : 1.0);                              \
            double wt = t[i] != ii && w != NULL ? (double)w[t[i]] : 1.0, sg = 0.0;                            \
            for (j = 0; j < c; ++j)                                                                           \
                sg += -a * (eps / (double)c) * (w != NULL ? (double)w[j] : 1.0);                              \
            if (t[i] != ii)                                                                                   \
                sg -= a * (1 - eps) * wt;                                                                     \
            for (j = 0; j < c; ++j) {                                                                         \
                double gj = -a * (eps / (double)c) * (w != NULL ? (double)w[j] : 1.0);                        \
                double want;                                                                                  \
                if (t[i] != ii && j == t[i])                                                                  \
                    gj -= a * (1 - eps) * wt;                                                                 \
                want = gj - exp((double)x[i * c + j] - lse[i]) * sg;                                          \
                if (!rw_ok((double)gin[i * c + j], want, fabs(a) * (wt + wsum), EPS))                         \
                    RW_FAIL(#SFX " cross_entropy_backward %lldx%lld eps %g red %d w %d [%lld,%lld] = %g, want %g", \
                            (long long)n, (long long)c, eps, red, weighted, (long long)i, (long long)j,       \
                            (double)gin[i * c + j], want);                                                    \
                ++*checks;                                                                                    \
            }                                                                                                 \
        }                                                                                                     \
        /* an out-of-range target is reported, not read */                                                    \
        if (n > 0) {                                                                                          \
            t[n - 1] = c;                                                                                     \
            if (tg_cross_entropy_##SFX(x, t, w, n, c, ii, eps, red, loss, lse, &bad) != -1 || bad != n - 1)   \
                RW_FAIL(#SFX " cross_entropy accepted target %lld of %lld classes", (long long)c, (long long)c); \
            if (tg_cross_entropy_backward_##SFX(x, t, lse, gl, w, n, c, ii, eps, red, gin, &bad) != -1)       \
                RW_FAIL(#SFX " cross_entropy_backward accepted an out-of-range target");                      \
            ++*checks;                                                                                        \
        }                                                                                                     \
        free(x);                                                                                              \
        free(gin);                                                                                            \
        free(w);                                                                                              \
        free(loss);                                                                                           \
        free(gl);                                                                                             \
        free(t);                                                                                              \
        free(lse);                                                                                            \
        free(nll);                                                                                            \
        free(sm);                                                                                             \
    }

DEF_RW_CHECKS(f32, float, 1.2e-7)
DEF_RW_CHECKS(f64, double, 2.3e-16)

void bounds_rowwise(long *checks)
{
    static const int64_t rows[] = {0, 1, 2, 3, 5};
    static const int64_t big[][2] = {{130, 257}, {1100, 17}, {33, 1000}, {2, 9000}};
    int64_t c;
    int r, q, red, k;
    for (r = 0; r < (int)(sizeof rows / sizeof rows[0]); ++r)
        for (c = 0; c <= 35; ++c) {
            rw_check_softmax_f32(rows[r], c, checks);
            rw_check_softmax_f64(rows[r], c, checks);
        }
    for (c = 60; c <= 70; ++c) {
        rw_check_softmax_f32(3, c, checks);
        rw_check_softmax_f64(2, c, checks);
    }
    for (q = 0; q < (int)(sizeof big / sizeof big[0]); ++q) { /* above the parallel thresholds */
        rw_check_softmax_f32(big[q][0], big[q][1], checks);
        rw_check_softmax_f64(big[q][0], big[q][1], checks);
    }
    for (red = 0; red < 3; ++red)
        for (k = 0; k < 4; ++k) {
            const int weighted = k & 1;
            const double eps = k & 2 ? 0.1 : 0.0;
            for (c = 1; c <= 34; c += (c < 18 ? 1 : 5)) {
                rw_check_ce_f32(7, c, weighted, eps, red, checks);
                rw_check_ce_f64(4, c, weighted, eps, red, checks);
            }
            rw_check_ce_f32(0, 5, weighted, eps, red, checks);
            rw_check_ce_f64(1, 1, weighted, eps, red, checks);
            rw_check_ce_f32(300, 129, weighted, eps, red, checks); /* parallel */
            rw_check_ce_f64(40, 1030, weighted, eps, red, checks);
        }
}
