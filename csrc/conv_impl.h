/*
 * conv_impl.h -- body of csrc/im2col.c, included once per element type with
 * TG_T (float/double), TG_SFX (f32/f64), TG_GEMM (tg_sgemm/tg_dgemm) and
 * TG_WHICH (0/1, the GEMM's small-path limit to query) defined. Semantics:
 * tg_conv.h.
 */
#define TG_FN(name) TG_CAT(tg_##name, TG_SFX)

void TG_FN(im2col)(const TG_T *x, int64_t sc, int64_t sh, int64_t sw, const tg_conv2d_geom *g, TG_T *cols)
{
    const int64_t OH = g->oh, OW = g->ow, L = OH * OW;
    int64_t c, i, j, oh, ow, lo, hi;
    for (c = 0; c < g->c; ++c)
        for (i = 0; i < g->kh; ++i)
            for (j = 0; j < g->kw; ++j) {
                TG_T *row = cols + ((c * g->kh + i) * g->kw + j) * L;
                const int64_t offw = j * g->dw - g->pl;
                tg_conv_range(offw, g->sw, g->w, OW, &lo, &hi);
                for (oh = 0; oh < OH; ++oh) {
                    TG_T *r = row + oh * OW;
                    const int64_t ih = oh * g->sh - g->pt + i * g->dh;
                    if (ih < 0 || ih >= g->h) {
                        memset(r, 0, (size_t)OW * sizeof(TG_T));
                        continue;
                    }
                    for (ow = 0; ow < lo; ++ow)
                        r[ow] = (TG_T)0;
                    if (g->sw == 1 && sw == 1) {
                        if (hi > lo)
                            memcpy(r + lo, x + c * sc + ih * sh + (lo + offw), (size_t)(hi - lo) * sizeof(TG_T));
                    } else {
                        const TG_T *xr = x + c * sc + ih * sh;
                        for (ow = lo; ow < hi; ++ow)
                            r[ow] = xr[(ow * g->sw + offw) * sw];
                    }
                    for (ow = hi; ow < OW; ++ow)
                        r[ow] = (TG_T)0;
                }
            }
}

void TG_FN(col2im)(const TG_T *cols, const tg_conv2d_geom *g, TG_T *x)
{
    const int64_t OH = g->oh, OW = g->ow, L = OH * OW, H = g->h, W = g->w;
    int64_t c, i, j, oh, ow, lo, hi;
    for (c = 0; c < g->c; ++c)
        for (i = 0; i < g->kh; ++i)
            for (j = 0; j < g->kw; ++j) {
                const TG_T *row = cols + ((c * g->kh + i) * g->kw + j) * L;
                const int64_t offw = j * g->dw - g->pl;
                tg_conv_range(offw, g->sw, W, OW, &lo, &hi);
                for (oh = 0; oh < OH; ++oh) {
                    const int64_t ih = oh * g->sh - g->pt + i * g->dh;
                    const TG_T *r = row + oh * OW;
                    TG_T *xr;
                    if (ih < 0 || ih >= H)
                        continue;
                    xr = x + (c * H + ih) * W;
                    if (g->sw == 1) {
                        TG_OMP(simd)
                        for (ow = lo; ow < hi; ++ow)
                            xr[ow + offw] += r[ow];
                    } else {
                        for (ow = lo; ow < hi; ++ow)
                            xr[ow * g->sw + offw] += r[ow];
                    }
                }
            }
}

/* -- convolution: one range of samples on the calling thread ------------------------ */

static int TG_FN(conv_fwd_range)(const TG_T *x, const int64_t xs[4], const TG_T *w, const TG_T *bias,
                                 const tg_conv2d_geom *g, TG_T *y, int64_t n0, int64_t n1)
{
    const int64_t G = g->groups, O = g->o, og = O / G, cg = g->c / G;
    const int64_t kk = cg * g->kh * g->kw, L = g->oh * g->ow;
    const int direct = tg_conv_direct(g, xs[2], xs[3]);
    TG_T *cols = NULL;
    int64_t n, gi, o, p;
    int status = 0;
    if (!direct) {
        cols = (TG_T *)tg_conv_buffer((size_t)(g->c * g->kh * g->kw) * (size_t)L * sizeof(TG_T));
        if (cols == NULL)
            return -1;
    }
    for (n = n0; n < n1; ++n) {
        const TG_T *xn = x + n * xs[0];
        TG_T *yn = y + n * O * L;
        if (!direct)
            TG_FN(im2col)(xn, xs[1], xs[2], xs[3], g, cols);
        for (gi = 0; gi < G; ++gi) {
            const TG_T *b = direct ? xn + gi * cg * xs[1] : cols + gi * kk * L;
            const int64_t rsb = direct ? xs[1] : L;
            if (TG_GEMM(og, L, kk, (TG_T)1, w + gi * og * kk, kk, 1, b, rsb, 1, (TG_T)0, yn + gi * og * L, L, 1))
                status = -1;
        }
        if (bias != NULL)
            for (o = 0; o < O; ++o) {
                const TG_T bo = bias[o];
                TG_T *r = yn + o * L;
                TG_OMP(simd)
                for (p = 0; p < L; ++p)
                    r[p] += bo;
            }
    }
    return status;
}

static int TG_FN(conv_bin_range)(const TG_T *gy, const TG_T *w, const tg_conv2d_geom *g, TG_T *gx, int64_t n0,
                                 int64_t n1)
{
    const int64_t G = g->groups, O = g->o, og = O / G, cg = g->c / G;
    const int64_t kk = cg * g->kh * g->kw, L = g->oh * g->ow, CHW = g->c * g->h * g->w;
    const int direct = tg_conv_direct(g, g->w, 1);
    TG_T *cols = NULL;
    int64_t n, gi;
    int status = 0;
    if (!direct) {
        cols = (TG_T *)tg_conv_buffer((size_t)(g->c * g->kh * g->kw) * (size_t)L * sizeof(TG_T));
        if (cols == NULL)
            return -1;
    }
    for (n = n0; n < n1; ++n) {
        const TG_T *gyn = gy + n * O * L;
        TG_T *gxn = gx + n * CHW;
        for (gi = 0; gi < G; ++gi) {
            /* columns of group gi = W_g^T (kk, og) @ gy_g (og, L) */
            TG_T *c = direct ? gxn + gi * cg * L : cols + gi * kk * L;
            if (TG_GEMM(kk, L, og, (TG_T)1, w + gi * og * kk, 1, kk, gyn + gi * og * L, L, 1, (TG_T)0, c, L, 1))
                status = -1;
        }
        if (!direct) {
            memset(gxn, 0, (size_t)CHW * sizeof(TG_T));
            TG_FN(col2im)(cols, g, gxn);
        }
    }
    return status;
}

/* acc (O, kk) = sum over samples [n0, n1) of gy_n (O, L) @ columns_n^T, as
 * acc^T = columns (kk, L) @ gy^T: rows of both operands are contiguous, the
 * GEMM's dot-product shape for a narrow O. */
static int TG_FN(conv_bw_range)(const TG_T *x, const int64_t xs[4], const TG_T *gy, const tg_conv2d_geom *g,
                                TG_T *acc, int64_t n0, int64_t n1)
{
    const int64_t G = g->groups, O = g->o, og = O / G, cg = g->c / G;
    const int64_t kk = cg * g->kh * g->kw, L = g->oh * g->ow;
    const int direct = tg_conv_direct(g, xs[2], xs[3]);
    TG_T *cols = NULL;
    int64_t n, gi;
    int status = 0;
    if (n0 >= n1) {
        memset(acc, 0, (size_t)(O * kk) * sizeof(TG_T));
        return 0;
    }
    if (!direct) {
        cols = (TG_T *)tg_conv_buffer((size_t)(g->c * g->kh * g->kw) * (size_t)L * sizeof(TG_T));
        if (cols == NULL)
            return -1;
    }
    for (n = n0; n < n1; ++n) {
        const TG_T *xn = x + n * xs[0];
        const TG_T *gyn = gy + n * O * L;
        const TG_T beta = n == n0 ? (TG_T)0 : (TG_T)1;
        if (!direct)
            TG_FN(im2col)(xn, xs[1], xs[2], xs[3], g, cols);
        for (gi = 0; gi < G; ++gi) {
            const TG_T *a = direct ? xn + gi * cg * xs[1] : cols + gi * kk * L;
            const int64_t rsa = direct ? xs[1] : L;
            if (TG_GEMM(kk, og, L, (TG_T)1, a, rsa, 1, gyn + gi * og * L, 1, L, beta, acc + gi * og * kk, 1, kk))
                status = -1;
        }
    }
    return status;
}

/* -- convolution: public entry points ------------------------------------------------ */

static int64_t TG_FN(conv_gemm_flops)(const tg_conv2d_geom *g)
{
    return (g->o / g->groups) * (g->c / g->groups) * g->kh * g->kw * g->oh * g->ow;
}

int TG_FN(conv2d_forward)(const TG_T *x, const int64_t xs[4], const TG_T *w, const TG_T *bias,
                          const tg_conv2d_geom *g, TG_T *y)
{
    int nth, status = 0;
    if (g->n <= 0 || g->o <= 0 || g->oh <= 0 || g->ow <= 0)
        return 0;
    nth = tg_conv_threads(g->n, TG_FN(conv_gemm_flops)(g), TG_WHICH);
    if (nth <= 1)
        return TG_FN(conv_fwd_range)(x, xs, w, bias, g, y, 0, g->n);
    TG_OMP(parallel num_threads(nth))
    {
        const int64_t t = TG_CONV_THREAD_NUM(), nt = TG_CONV_TEAM_SIZE();
        int rc = TG_FN(conv_fwd_range)(x, xs, w, bias, g, y, g->n * t / nt, g->n * (t + 1) / nt);
        if (rc != 0) {
            TG_OMP(atomic write)
            status = rc;
        }
    }
    return status;
}

int TG_FN(conv2d_backward_input)(const TG_T *gy, const TG_T *w, const tg_conv2d_geom *g, TG_T *gx)
{
    int nth, status = 0;
    if (g->n <= 0 || g->c <= 0 || g->h <= 0 || g->w <= 0)
        return 0;
    if (g->o <= 0 || g->oh <= 0 || g->ow <= 0) {
        memset(gx, 0, (size_t)(g->n * g->c * g->h * g->w) * sizeof(TG_T));
        return 0;
    }
    nth = tg_conv_threads(g->n, TG_FN(conv_gemm_flops)(g), TG_WHICH);
    if (nth <= 1)
        return TG_FN(conv_bin_range)(gy, w, g, gx, 0, g->n);
    TG_OMP(parallel num_threads(nth))
    {
        const int64_t t = TG_CONV_THREAD_NUM(), nt = TG_CONV_TEAM_SIZE();
        int rc = TG_FN(conv_bin_range)(gy, w, g, gx, g->n * t / nt, g->n * (t + 1) / nt);
        if (rc != 0) {
            TG_OMP(atomic write)
            status = rc;
        }
    }
    return status;
}

int TG_FN(conv2d_backward_weight)(const TG_T *x, const int64_t xs[4], const TG_T *gy, const tg_conv2d_geom *g,
                                  TG_T *gw)
{
    const int64_t size = g->o * (g->c / g->groups) * g->kh * g->kw;
    TG_T *part;
    int nth, status = 0;
    int64_t t, e;
    if (size <= 0)
        return 0;
    if (g->n <= 0 || g->oh <= 0 || g->ow <= 0) {
        memset(gw, 0, (size_t)size * sizeof(TG_T));
        return 0;
    }
    nth = tg_conv_threads(g->n, TG_FN(conv_gemm_flops)(g), TG_WHICH);
    if (nth <= 1)
        return TG_FN(conv_bw_range)(x, xs, gy, g, gw, 0, g->n);
    /* thread 0 sums into gw, thread t into part[t-1]; then added in order */
    part = (TG_T *)malloc((size_t)(nth - 1) * (size_t)size * sizeof(TG_T));
    if (part == NULL)
        return TG_FN(conv_bw_range)(x, xs, gy, g, gw, 0, g->n);
    TG_OMP(parallel num_threads(nth))
    {
        const int64_t tt = TG_CONV_THREAD_NUM(), nt = TG_CONV_TEAM_SIZE();
        TG_T *acc = tt == 0 ? gw : part + (tt - 1) * size;
        int rc = TG_FN(conv_bw_range)(x, xs, gy, g, acc, g->n * tt / nt, g->n * (tt + 1) / nt);
        if (rc != 0) {
            TG_OMP(atomic write)
            status = rc;
        }
        if (nt < nth && tt == 0) /* a smaller team than asked: the missing partial sums are zero */
            memset(part + (nt - 1) * size, 0, (size_t)((nth - nt) * size) * sizeof(TG_T));
    }
    for (t = 0; t < nth - 1; ++t) {
        const TG_T *pt = part + t * size;
        TG_OMP(simd)
        for (e = 0; e < size; ++e)
            gw[e] += pt[e];
    }
    free(part);
    return status;
}

/* -- max pooling --------------------------------------------------------------------- */

/* One plane; see tg_conv.h for the rules on NaN, ties and -inf. */
static void TG_FN(max_pool_plane)(const TG_T *xp, int64_t sh, int64_t sw, const tg_conv2d_geom *g, TG_T *yp,
                                  int64_t *ip)
{
    const int64_t W = g->w, OH = g->oh, OW = g->ow;
    int64_t oh, ow, i, j;
    if (g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->pt == 0 && g->pl == 0 && g->dh == 1 &&
        g->dw == 1 && 2 * OH <= g->h && 2 * OW <= W) {
        /* the common case: 2x2 windows tiling the plane */
        for (oh = 0; oh < OH; ++oh) {
            const TG_T *r0 = xp + 2 * oh * sh, *r1 = r0 + sh;
            TG_T *yr = yp + oh * OW;
            int64_t *ir = ip + oh * OW;
            for (ow = 0; ow < OW; ++ow) {
                const TG_T a = r0[2 * ow * sw], b = r0[(2 * ow + 1) * sw];
                const TG_T c = r1[2 * ow * sw], d = r1[(2 * ow + 1) * sw];
                TG_T best = a;
                int64_t at = 0;
                if (b > best || isnan(b)) {
                    best = b;
                    at = 1;
                }
                if (c > best || isnan(c)) {
                    best = c;
                    at = W;
                }
                if (d > best || isnan(d)) {
                    best = d;
                    at = W + 1;
                }
                yr[ow] = best;
                ir[ow] = 2 * oh * W + 2 * ow + at;
            }
        }
        return;
    }
    for (oh = 0; oh < OH; ++oh) {
        const int64_t h0 = oh * g->sh - g->pt;
        int64_t ilo, ihi;
        tg_conv_range(h0, g->dh, g->h, g->kh, &ilo, &ihi);
        for (ow = 0; ow < OW; ++ow) {
            const int64_t w0 = ow * g->sw - g->pl;
            int64_t jlo, jhi, at;
            TG_T best = (TG_T)-INFINITY;
            tg_conv_range(w0, g->dw, W, g->kw, &jlo, &jhi);
            at = (h0 + ilo * g->dh) * W + w0 + jlo * g->dw; /* the first real element */
            for (i = ilo; i < ihi; ++i) {
                const int64_t ih = h0 + i * g->dh;
                for (j = jlo; j < jhi; ++j) {
                    const int64_t iw = w0 + j * g->dw;
                    const TG_T v = xp[ih * sh + iw * sw];
                    if (v > best || isnan(v)) {
                        best = v;
                        at = ih * W + iw;
                    }
                }
            }
            yp[oh * OW + ow] = best;
            ip[oh * OW + ow] = at;
        }
    }
}

void TG_FN(max_pool2d)(const TG_T *x, const int64_t xs[4], const tg_conv2d_geom *g, TG_T *y, int64_t *idx)
{
    const int64_t planes = g->n * g->c, L = g->oh * g->ow;
    const int nth = tg_get_num_threads();
    int64_t p;
    if (planes <= 0 || L <= 0)
        return;
    if (nth > 1 && planes > 1 && planes * g->h * g->w >= TG_PAR_MIN_MEMBOUND) {
        TG_OMP(parallel for num_threads(nth) schedule(static))
        for (p = 0; p < planes; ++p)
            TG_FN(max_pool_plane)(x + (p / g->c) * xs[0] + (p % g->c) * xs[1], xs[2], xs[3], g, y + p * L,
                                  idx + p * L);
    } else {
        for (p = 0; p < planes; ++p)
            TG_FN(max_pool_plane)(x + (p / g->c) * xs[0] + (p % g->c) * xs[1], xs[2], xs[3], g, y + p * L,
                                  idx + p * L);
    }
}

static void TG_FN(max_pool_bw_plane)(const TG_T *gy, const int64_t *idx, int64_t hw_in, int64_t hw_out, TG_T *gx)
{
    int64_t i;
    memset(gx, 0, (size_t)hw_in * sizeof(TG_T));
    for (i = 0; i < hw_out; ++i)
        gx[idx[i]] += gy[i];
}

void TG_FN(max_pool2d_backward)(const TG_T *gy, const int64_t *idx, int64_t planes, int64_t hw_in, int64_t hw_out,
                                TG_T *gx)
{
    const int nth = tg_get_num_threads();
    int64_t p;
    if (planes <= 0 || hw_in <= 0)
        return;
    if (nth > 1 && planes > 1 && planes * hw_in >= TG_PAR_MIN_MEMBOUND) {
        TG_OMP(parallel for num_threads(nth) schedule(static))
        for (p = 0; p < planes; ++p)
            TG_FN(max_pool_bw_plane)(gy + p * hw_out, idx + p * hw_out, hw_in, hw_out, gx + p * hw_in);
    } else {
        for (p = 0; p < planes; ++p)
            TG_FN(max_pool_bw_plane)(gy + p * hw_out, idx + p * hw_out, hw_in, hw_out, gx + p * hw_in);
    }
}

#undef TG_FN
#undef TG_T
#undef TG_SFX
#undef TG_GEMM
#undef TG_WHICH
