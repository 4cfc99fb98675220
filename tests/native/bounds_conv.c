/* bounds_conv.c -- convolution and max pooling (csrc/im2col.c) on
 * exact-size buffers, for bounds_check.c
 *
 * bounds_check.c calls bounds_conv() at every SIMD level with 1 and 2
 * threads. Each geometry (stride, asymmetric padding, dilation, groups, 1x1,
 * enough samples to split over threads) runs on inputs malloc'd to exactly
 * the extent their strides reach (contiguous, column-major planes, padded
 * rows), and every output element is checked against plain double loops, so
 * a kernel that stays in bounds but computes garbage fails too. Prints FAIL
 * and exits 1 on the first mismatch.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_conv.h"
#include "tg_kernels.h"

void bounds_conv(long *checks);

static uint64_t cv_rng = 0x2545F4914F6CDD1Dull;
static double cv_rnd(void) /* uniform in [-1, 1) */
{
    cv_rng ^= cv_rng << 13;
    cv_rng ^= cv_rng >> 7;
    cv_rng ^= cv_rng << 17;
    return (double)(cv_rng >> 11) / (double)(1ull << 52) - 1.0;
}

#define CV_FAIL(...)                                                                                          \
    do {                                                                                                      \
        printf("FAIL: " __VA_ARGS__);                                                                         \
        printf("\n");                                                                                         \
        exit(1);                                                                                              \
    } while (0)

static void *cv_alloc(int64_t n, size_t esz)
{
    void *p = malloc((size_t)(n > 0 ? n : 1) * esz);
    if (p == NULL)
        CV_FAIL("out of memory");
    return p;
}

static void cv_near(double got, double want, double scale, double tol, const char *what, long *checks)
{
    if (!(fabs(got - want) <= tol * (scale > 1.0 ? scale : 1.0)))
        CV_FAIL("%s: got %.17g, want %.17g", what, got, want);
    ++*checks;
}

/* input element (n, c, h, w) of layout l: 0 contiguous, 1 column-major
 * planes, 2 rows padded by 3 */
static void cv_strides(const tg_conv2d_geom *g, int l, int64_t xs[4])
{
    const int64_t wp = l == 2 ? g->w + 3 : g->w;
    xs[3] = l == 1 ? g->h : 1;
    xs[2] = l == 1 ? 1 : wp;
    xs[1] = g->h * wp;
    xs[0] = g->c * xs[1];
}

static int64_t cv_extent(const tg_conv2d_geom *g, const int64_t xs[4])
{
    return (g->n - 1) * xs[0] + (g->c - 1) * xs[1] + (g->h - 1) * xs[2] + (g->w - 1) * xs[3] + 1;
}

#define CV_DEF_CHECK(T, SFX, TOL)                                                                             \
    static void cv_conv_##SFX(const tg_conv2d_geom *g, int l, long *checks)                                   \
    {                                                                                                         \
        int64_t xs[4], n, o, c, i, j, oh, ow, e;                                                              \
        const int64_t G = g->groups, og = g->o / G, cg = g->c / G, L = g->oh * g->ow;                         \
        const int64_t nx = (cv_strides(g, l, xs), cv_extent(g, xs)), nw = g->o * cg * g->kh * g->kw;        \
        const int64_t ny = g->n * g->o * L, nxc = g->n * g->c * g->h * g->w;                                  \
        T *x = cv_alloc(nx, sizeof(T)), *w = cv_alloc(nw, sizeof(T)), *b = cv_alloc(g->o, sizeof(T));         \
        T *y = cv_alloc(ny, sizeof(T)), *gy = cv_alloc(ny, sizeof(T)), *gx = cv_alloc(nxc, sizeof(T));        \
        T *gw = cv_alloc(nw, sizeof(T)), *gb = cv_alloc(g->o, sizeof(T));                                     \
        double *rx = cv_alloc(nxc, sizeof(double)), *rw = cv_alloc(nw, sizeof(double));                      \
        for (e = 0; e < nx; ++e)                                                                              \
            x[e] = (T)cv_rnd();                                                                               \
        for (e = 0; e < nw; ++e)                                                                              \
            w[e] = (T)cv_rnd();                                                                               \
        for (e = 0; e < g->o; ++e)                                                                            \
            b[e] = (T)cv_rnd();                                                                               \
        for (e = 0; e < ny; ++e)                                                                              \
            gy[e] = (T)cv_rnd();                                                                              \
        if (tg_conv2d_forward_##SFX(x, xs, w, b, g, y) != 0 ||                                                \
            tg_conv2d_backward_input_##SFX(gy, w, g, gx) != 0 ||                                              \
            tg_conv2d_backward_weight_##SFX(x, xs, gy, g, gw) != 0)                                           \
            CV_FAIL("conv kernel returned an error");                                                         \
        memset(rx, 0, (size_t)nxc * sizeof(double));                                                          \
        memset(rw, 0, (size_t)nw * sizeof(double));                                                           \
        for (n = 0; n < g->n; ++n)                                                                            \
            for (o = 0; o < g->o; ++o)                                                                        \
                for (oh = 0; oh < g->oh; ++oh)                                                                \
                    for (ow = 0; ow < g->ow; ++ow) {                                                          \
                        double acc = b[o], mag = fabs((double)b[o]);                                          \
                        const double go = gy[(n * g->o + o) * L + oh * g->ow + ow];                           \
                        for (c = 0; c < cg; ++c)                                                              \
                            for (i = 0; i < g->kh; ++i)                                                       \
                                for (j = 0; j < g->kw; ++j) {                                                 \
                                    const int64_t ci = (o / og) * cg + c;                                     \
                                    const int64_t ih = oh * g->sh - g->pt + i * g->dh;                        \
                                    const int64_t iw = ow * g->sw - g->pl + j * g->dw;                        \
                                    const int64_t wi = ((o * cg + c) * g->kh + i) * g->kw + j;                \
                                    double xv;                                                                \
                                    if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)                         \
                                        continue;                                                             \
                                    xv = x[n * xs[0] + ci * xs[1] + ih * xs[2] + iw * xs[3]];                 \
                                    acc += xv * w[wi];                                                        \
                                    mag += fabs(xv * w[wi]);                                                  \
                                    rx[((n * g->c + ci) * g->h + ih) * g->w + iw] += go * w[wi];              \
                                    rw[wi] += go * xv;                                                        \
                                }                                                                             \
                        cv_near(y[(n * g->o + o) * L + oh * g->ow + ow], acc, mag, TOL, "conv2d_forward",    \
                                checks);                                                                      \
                    }                                                                                         \
        for (e = 0; e < nxc; ++e)                                                                             \
            cv_near(gx[e], rx[e], 4.0 * g->o * g->kh * g->kw, TOL, "conv2d_backward_input", checks);          \
        for (e = 0; e < nw; ++e)                                                                              \
            cv_near(gw[e], rw[e], 4.0 * g->n * L, TOL, "conv2d_backward_weight", checks);                     \
        tg_conv2d_backward_bias_##SFX(gy, g->n, g->o, L, gb);                                                 \
        for (o = 0; o < g->o; ++o) {                                                                          \
            double sum = 0.0;                                                                                 \
            for (n = 0; n < g->n; ++n)                                                                        \
                for (e = 0; e < L; ++e)                                                                       \
                    sum += gy[(n * g->o + o) * L + e];                                                        \
            cv_near(gb[o], sum, (double)(g->n * L), TOL, "conv2d_backward_bias", checks);                     \
        }                                                                                                     \
        free(gb);                                                                                             \
        free(x);                                                                                              \
        free(w);                                                                                              \
        free(b);                                                                                              \
        free(y);                                                                                              \
        free(gy);                                                                                             \
        free(gx);                                                                                             \
        free(gw);                                                                                             \
        free(rx);                                                                                             \
        free(rw);                                                                                             \
    }                                                                                                         \
                                                                                                              \
    /* im2col / col2im of one contiguous sample with exact-size work buffers */                               \
    static void cv_cols_##SFX(const tg_conv2d_geom *g, long *checks)                                          \
    {                                                                                                         \
        const int64_t K = g->c * g->kh * g->kw, L = g->oh * g->ow, chw = g->c * g->h * g->w;                \
        const int64_t nwork = tg_conv_work_size(g);                                                           \
        T *x = cv_alloc(chw, sizeof(T)), *cols = cv_alloc(K * L, sizeof(T)), *work = cv_alloc(nwork, sizeof(T)); \
        T *back = cv_alloc(chw, sizeof(T));                                                                   \
        int64_t e, c, i, j, oh, ow;                                                                           \
        for (e = 0; e < chw; ++e) {                                                                           \
            x[e] = (T)cv_rnd();                                                                               \
            back[e] = (T)1;                                                                                   \
        }                                                                                                     \
        tg_im2col_##SFX(x, g->h * g->w, g->w, 1, g, cols, work);                                              \
        for (c = 0; c < g->c; ++c)                                                                            \
            for (i = 0; i < g->kh; ++i)                                                                       \
                for (j = 0; j < g->kw; ++j)                                                                   \
                    for (oh = 0; oh < g->oh; ++oh)                                                            \
                        for (ow = 0; ow < g->ow; ++ow) {                                                      \
                            const int64_t ih = oh * g->sh - g->pt + i * g->dh;                                \
                            const int64_t iw = ow * g->sw - g->pl + j * g->dw;                                \
                            const double want = (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)                \
                                                    ? 0.0                                                     \
                                                    : (double)x[(c * g->h + ih) * g->w + iw];                 \
                            cv_near(cols[((c * g->kh + i) * g->kw + j) * L + oh * g->ow + ow], want, 1.0, 0.0, \
                                    "im2col", checks);                                                        \
                        }                                                                                     \
        /* col2im adds: <im2col(x), cols> = <x, col2im(cols)>, and 1 + ... */                                 \
        {                                                                                                     \
            double lhs = 0.0, rhs = 0.0, mag = 0.0;                                                           \
            for (e = 0; e < K * L; ++e) {                                                                     \
                lhs += (double)cols[e] * (double)cols[e];                                                     \
                mag += (double)cols[e] * (double)cols[e];                                                     \
            }                                                                                                 \
            tg_col2im_##SFX(cols, g, back, work);                                                             \
            for (e = 0; e < chw; ++e)                                                                         \
                rhs += (double)x[e] * ((double)back[e] - 1.0);                                                \
            cv_near(rhs, lhs, mag, 1e-4, "col2im adjoint", checks);                                           \
        }                                                                                                     \
        free(x);                                                                                              \
        free(cols);                                                                                           \
        free(work);                                                                                           \
        free(back);                                                                                           \
    }                                                                                                         \
                                                                                                              \
    static void cv_pool_##SFX(const tg_conv2d_geom *g, int l, long *checks)                                   \
    {                                                                                                         \
        int64_t xs[4], p, oh, ow, i, j, e;                                                                    \
        const int64_t nx = (cv_strides(g, l, xs), cv_extent(g, xs)), L = g->oh * g->ow;                     \
        const int64_t planes = g->n * g->c, hw = g->h * g->w;                                                 \
        T *x = cv_alloc(nx, sizeof(T)), *y = cv_alloc(planes * L, sizeof(T)), *gy = cv_alloc(planes * L, sizeof(T)); \
        T *gx = cv_alloc(planes * hw, sizeof(T));                                                             \
        int64_t *idx = cv_alloc(planes * L, sizeof(int64_t));                                                 \
        double *rx = cv_alloc(planes * hw, sizeof(double));                                                   \
        for (e = 0; e < nx; ++e)                                                                              \
            x[e] = (T)floor(4.0 * cv_rnd()); /* ties */                                                       \
        for (e = 0; e < planes * L; ++e)                                                                      \
            gy[e] = (T)cv_rnd();                                                                              \
        tg_max_pool2d_##SFX(x, xs, g, y, idx);                                                                \
        memset(rx, 0, (size_t)(planes * hw) * sizeof(double));                                                \
        for (p = 0; p < planes; ++p)                                                                          \
            for (oh = 0; oh < g->oh; ++oh)                                                                    \
                for (ow = 0; ow < g->ow; ++ow) {                                                              \
                    double best = -INFINITY;                                                                  \
                    int64_t at = -1;                                                                          \
                    const int64_t o = p * L + oh * g->ow + ow;                                                \
                    for (i = 0; i < g->kh; ++i)                                                               \
                        for (j = 0; j < g->kw; ++j) {                                                         \
                            const int64_t ih = oh * g->sh - g->pt + i * g->dh;                                \
                            const int64_t iw = ow * g->sw - g->pl + j * g->dw;                                \
                            double v;                                                                         \
                            if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)                                 \
                                continue;                                                                     \
                            v = x[(p / g->c) * xs[0] + (p % g->c) * xs[1] + ih * xs[2] + iw * xs[3]];         \
                            if (at < 0 || v > best) {                                                         \
                                best = v;                                                                     \
                                at = ih * g->w + iw;                                                          \
                            }                                                                                 \
                        }                                                                                     \
                    if (idx[o] != at || (double)y[o] != best)                                                 \
                        CV_FAIL("max_pool2d plane %ld (%ld, %ld): got %g at %ld, want %g at %ld", (long)p,    \
                                (long)oh, (long)ow, (double)y[o], (long)idx[o], best, (long)at);              \
                    ++*checks;                                                                                \
                    rx[p * hw + at] += gy[o];                                                                 \
                }                                                                                             \
        if (tg_max_pool2d_backward_##SFX(gy, idx, planes, hw, L, gx) != 0)                                     \
            CV_FAIL("max_pool2d_backward rejected valid indices");                                           \
        for (e = 0; e < planes * hw; ++e)                                                                     \
            cv_near(gx[e], rx[e], 8.0, TOL, "max_pool2d_backward", checks);                                   \
        /* bad indices are refused, not written through */                                                    \
        idx[0] = hw;                                                                                          \
        idx[planes * L - 1] = -1;                                                                             \
        if (tg_max_pool2d_backward_##SFX(gy, idx, planes, hw, L, gx) != -1)                                    \
            CV_FAIL("max_pool2d_backward accepted an index outside the plane");                              \
        ++*checks;                                                                                            \
        free(x);                                                                                              \
        free(y);                                                                                              \
        free(gy);                                                                                             \
        free(gx);                                                                                             \
        free(idx);                                                                                            \
        free(rx);                                                                                             \
    }

CV_DEF_CHECK(float, f32, 1e-5)
CV_DEF_CHECK(double, f64, 1e-12)

void bounds_conv(long *checks)
{
    /* n, c, h, w, o, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, groups; (pb, pr) set oh/ow below */
    static const int64_t conv[][18] = {
        {2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1},
        {1, 4, 9, 8, 6, 3, 2, 2, 1, 0, 2, 2, 1, 0, 0, 2, 1, 0},
        {3, 6, 5, 5, 3, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 3, 0, 0},
        {2, 2, 4, 11, 2, 2, 3, 3, 2, 2, 0, 1, 2, 0, 0, 1, 0, 3},
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0},
        {8, 8, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1}, /* samples split over threads */
    };
    /* n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, ceil */
    static const int64_t pool[][13] = {
        {2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, 0},  {1, 2, 7, 9, 2, 2, 2, 2, 0, 0, 1, 1, 1},
        {2, 2, 6, 7, 3, 3, 2, 1, 1, 1, 1, 1, 0},  {1, 3, 9, 5, 3, 2, 1, 2, 1, 1, 2, 1, 1},
        {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0},  {8, 8, 28, 28, 2, 2, 2, 2, 0, 0, 1, 1, 0},
    };
    int q, l, v;
    for (q = 0; q < (int)(sizeof conv / sizeof conv[0]); ++q) {
        const int64_t *a = conv[q];
        tg_conv2d_geom g;
        g.n = a[0], g.c = a[1], g.h = a[2], g.w = a[3], g.o = a[4], g.kh = a[5], g.kw = a[6];
        g.sh = a[7], g.sw = a[8], g.pt = a[9], g.pl = a[10], g.dh = a[11], g.dw = a[12], g.groups = a[15];
        g.oh = (g.h + g.pt + a[16] - g.dh * (g.kh - 1) - 1) / g.sh + 1;
        g.ow = (g.w + g.pl + a[17] - g.dw * (g.kw - 1) - 1) / g.sw + 1;
        for (l = 0; l < 3; ++l) {
            cv_conv_f32(&g, l, checks);
            cv_conv_f64(&g, l, checks);
        }
        cv_cols_f32(&g, checks);
        cv_cols_f64(&g, checks);
    }
    for (q = 0; q < (int)(sizeof pool / sizeof pool[0]); ++q) {
        const int64_t *a = pool[q];
        tg_conv2d_geom g;
        int64_t *out[2];
        g.n = a[0], g.c = a[1], g.h = a[2], g.w = a[3], g.o = 0, g.kh = a[4], g.kw = a[5], g.sh = a[6];
        g.sw = a[7], g.pt = a[8], g.pl = a[9], g.dh = a[10], g.dw = a[11], g.groups = 1;
        out[0] = &g.oh;
        out[1] = &g.ow;
        for (v = 0; v < 2; ++v) { /* torch's pooling_output_shape */
            const int64_t size = v ? g.w : g.h, k = v ? g.kw : g.kh, s = v ? g.sw : g.sh;
            const int64_t p = v ? g.pl : g.pt, d = v ? g.dw : g.dh;
            int64_t o = (size + 2 * p - d * (k - 1) - 1 + (a[12] ? s - 1 : 0)) / s + 1;
            if (a[12] && (o - 1) * s >= size + p)
                --o;
            *out[v] = o;
        }
        for (l = 0; l < 3; ++l) {
            cv_pool_f32(&g, l, checks);
            cv_pool_f64(&g, l, checks);
        }
    }
}
