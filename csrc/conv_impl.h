/*
 * conv_impl.h -- body of csrc/im2col.c, included once per element type with
 * TG_T (float/double), TG_I (the signed integer of its width), TG_SFX (f32/f64), TG_GEMM (tg_sgemm/tg_dgemm) and
 * TG_WHICH (0/1, the GEMM's small-path limit to query) defined. Semantics:
 * tg_conv.h.
 */
#define TG_FN(name) TG_CAT(tg_##name, TG_SFX)

/* The padded plane of one sample: rows [0, Hp) x columns [0, Wp), input
 * element (h, w) at (h + PT, w + PL), zeros elsewhere. */
static void TG_FN(pad_sample)(const TG_T *x, int64_t sc, int64_t sh, int64_t sw, const tg_conv2d_geom *g,
                              TG_T *xp)
{
    const int64_t Hp = tg_conv_hp(g), Wp = tg_conv_wp(g);
    int64_t c, r, q;
    for (c = 0; c < g->c; ++c)
        for (r = 0; r < Hp; ++r) {
            TG_T *row = xp + (c * Hp + r) * Wp;
            const int64_t ih = r - g->pt;
            if (ih < 0 || ih >= g->h) {
                memset(row, 0, (size_t)Wp * sizeof(TG_T));
                continue;
            }
            for (q = 0; q < g->pl; ++q)
                row[q] = (TG_T)0;
            if (sw == 1) {
                memcpy(row + g->pl, x + c * sc + ih * sh, (size_t)g->w * sizeof(TG_T));
            } else {
                const TG_T *xr = x + c * sc + ih * sh;
                for (q = 0; q < g->w; ++q)
                    row[g->pl + q] = xr[q * sw];
            }
            for (q = g->pl + g->w; q < Wp; ++q)
                row[q] = (TG_T)0;
        }
}

/* cols from a padded plane xp with row stride wp and channel stride cs:
 * every row of cols is OH runs of OW elements, no bounds to check. */
static void TG_FN(unfold)(const TG_T *xp, int64_t cs, int64_t wp, const tg_conv2d_geom *g, TG_T *cols)
{
    const int64_t OH = g->oh, OW = g->ow, L = OH * OW, SW = g->sw;
    int64_t c, i, j, oh, ow;
    for (c = 0; c < g->c; ++c)
        for (i = 0; i < g->kh; ++i)
            for (j = 0; j < g->kw; ++j) {
                TG_T *row = cols + ((c * g->kh + i) * g->kw + j) * L;
                const TG_T *src = xp + c * cs + i * g->dh * wp + j * g->dw;
                for (oh = 0; oh < OH; ++oh) {
                    const TG_T *s = src + oh * g->sh * wp;
                    TG_T *d = row + oh * OW;
                    if (SW == 1) {
                        TG_OMP(simd)
                        for (ow = 0; ow < OW; ++ow)
                            d[ow] = s[ow];
                    } else {
                        for (ow = 0; ow < OW; ++ow)
                            d[ow] = s[ow * SW];
                    }
                }
            }
}

/* No copy needed: no top/left padding, every window inside the input, and
 * a plane of contiguous rows. */
static int TG_FN(in_place)(const tg_conv2d_geom *g, int64_t sw)
{
    return g->pt == 0 && g->pl == 0 && sw == 1 && tg_conv_hp(g) <= g->h && tg_conv_wp(g) <= g->w;
}

void TG_FN(im2col)(const TG_T *x, int64_t sc, int64_t sh, int64_t sw, const tg_conv2d_geom *g, TG_T *cols,
                   TG_T *work)
{
    const int64_t Hp = tg_conv_hp(g), Wp = tg_conv_wp(g);
    if (TG_FN(in_place)(g, sw)) {
        TG_FN(unfold)(x, sc, sh, g, cols);
        return;
    }
    TG_FN(pad_sample)(x, sc, sh, sw, g, work);
    TG_FN(unfold)(work, Hp * Wp, Wp, g, cols);
}

/* x (C, H, W) = (accumulate ? x : 0) + the adjoint of im2col applied to cols. */
static void TG_FN(col2im_impl)(const TG_T *cols, const tg_conv2d_geom *g, TG_T *x, TG_T *work, int accumulate)
{
    const int64_t OH = g->oh, OW = g->ow, L = OH * OW, SW = g->sw, H = g->h, W = g->w;
    const int direct = !accumulate && g->pt == 0 && g->pl == 0 && tg_conv_hp(g) == H && tg_conv_wp(g) == W;
    const int64_t Hp = direct ? H : tg_conv_hp(g), Wp = direct ? W : tg_conv_wp(g);
    TG_T *xp = direct ? x : work;
    int64_t c, i, j, oh, ow, r;
    memset(xp, 0, (size_t)(g->c * Hp * Wp) * sizeof(TG_T));
    for (c = 0; c < g->c; ++c)
        for (i = 0; i < g->kh; ++i)
            for (j = 0; j < g->kw; ++j) {
                const TG_T *row = cols + ((c * g->kh + i) * g->kw + j) * L;
                TG_T *dst = xp + c * Hp * Wp + i * g->dh * Wp + j * g->dw;
                for (oh = 0; oh < OH; ++oh) {
                    TG_T *d = dst + oh * g->sh * Wp;
                    const TG_T *s = row + oh * OW;
                    if (SW == 1) {
                        TG_OMP(simd)
                        for (ow = 0; ow < OW; ++ow)
                            d[ow] += s[ow];
                    } else {
                        for (ow = 0; ow < OW; ++ow)
                            d[ow * SW] += s[ow];
                    }
                }
            }
    if (direct)
        return;
    for (c = 0; c < g->c; ++c)
        for (r = 0; r < H; ++r) {
            const TG_T *s = xp + (c * Hp + r + g->pt) * Wp + g->pl;
            TG_T *d = x + (c * H + r) * W;
            if (accumulate) {
                TG_OMP(simd)
                for (ow = 0; ow < W; ++ow)
                    d[ow] += s[ow];
            } else {
                memcpy(d, s, (size_t)W * sizeof(TG_T));
            }
        }
}

void TG_FN(col2im)(const TG_T *cols, const tg_conv2d_geom *g, TG_T *x, TG_T *work)
{
    TG_FN(col2im_impl)(cols, g, x, work, 1);
}

/* -- the wide layout (unit stride) -------------------------------------------------- *
 *
 * With unit stride, row (c, i, j) of the columns is, in the padded plane,
 * OH rows of OW elements that are Wp apart: one contiguous run of OH*Wp
 * elements if each row keeps Wp - OW junk elements at its end. The columns
 * are then K long copies instead of K*OH short ones, and the GEMMs run on
 * OH*Wp columns (Wp/OW more work: 16/14 for a 3x3 "same" convolution of
 * 14x14); the junk columns of the output are dropped, those of a gradient
 * are zero. The last run reads up to Wp - OW elements past the plane: the
 * scratch keeps Wp elements of zeroed slack there. */

/* cols (K, OH*Wp) from the padded plane xp (C, Hp, Wp) + slack. */
static void TG_FN(unfold_wide)(const TG_T *xp, const tg_conv2d_geom *g, TG_T *cols)
{
    const int64_t Hp = tg_conv_hp(g), Wp = tg_conv_wp(g), Lw = g->oh * Wp;
    int64_t c, i, j;
    for (c = 0; c < g->c; ++c)
        for (i = 0; i < g->kh; ++i)
            for (j = 0; j < g->kw; ++j)
                memcpy(cols + ((c * g->kh + i) * g->kw + j) * Lw, xp + (c * Hp + i * g->dh) * Wp + j * g->dw,
                       (size_t)Lw * sizeof(TG_T));
}

/* gw (O, OH*Wp) = gy (O, OH, OW) with zeros in the junk columns */
static void TG_FN(widen)(const TG_T *gy, const tg_conv2d_geom *g, TG_T *gw)
{
    const int64_t Wp = tg_conv_wp(g), OW = g->ow, rows = g->o * g->oh;
    int64_t r, q;
    for (r = 0; r < rows; ++r) {
        memcpy(gw + r * Wp, gy + r * OW, (size_t)OW * sizeof(TG_T));
        for (q = OW; q < Wp; ++q)
            gw[r * Wp + q] = (TG_T)0;
    }
}

/* x (C, H, W) = the adjoint of unfold_wide applied to dcols (K, OH*Wp),
 * whose junk columns are zero; xp is scratch for the plane + slack. */
static void TG_FN(fold_wide)(const TG_T *dcols, const tg_conv2d_geom *g, TG_T *xp, TG_T *x)
{
    const int64_t Hp = tg_conv_hp(g), Wp = tg_conv_wp(g), Lw = g->oh * Wp;
    int64_t c, i, j, p, r;
    memset(xp, 0, (size_t)(g->c * Hp * Wp + Wp) * sizeof(TG_T));
    for (c = 0; c < g->c; ++c)
        for (i = 0; i < g->kh; ++i)
            for (j = 0; j < g->kw; ++j) {
                const TG_T *s = dcols + ((c * g->kh + i) * g->kw + j) * Lw;
                TG_T *d = xp + (c * Hp + i * g->dh) * Wp + j * g->dw;
                TG_OMP(simd)
                for (p = 0; p < Lw; ++p)
                    d[p] += s[p];
            }
    for (c = 0; c < g->c; ++c)
        for (r = 0; r < g->h; ++r)
            memcpy(x + (c * g->h + r) * g->w, xp + (c * Hp + r + g->pt) * Wp + g->pl, (size_t)g->w * sizeof(TG_T));
}

/* The padded plane of a sample, then its wide columns. */
static void TG_FN(im2col_wide)(const TG_T *x, const int64_t xs[4], const tg_conv2d_geom *g, TG_T *xp, TG_T *cols)
{
    const int64_t plane = g->c * tg_conv_hp(g) * tg_conv_wp(g);
    TG_FN(pad_sample)(x, xs[1], xs[2], xs[3], g, xp);
    memset(xp + plane, 0, (size_t)tg_conv_wp(g) * sizeof(TG_T));
    TG_FN(unfold_wide)(xp, g, cols);
}

/* -- convolution: one range of samples on the calling thread ------------------------ */

static int TG_FN(conv_fwd_range)(const TG_T *x, const int64_t xs[4], const TG_T *w, const TG_T *bias,
                                 const tg_conv2d_geom *g, TG_T *y, int64_t n0, int64_t n1)
{
    const int64_t G = g->groups, O = g->o, og = O / G, cg = g->c / G;
    const int64_t kk = cg * g->kh * g->kw, L = g->oh * g->ow;
    const int direct = tg_conv_direct(g, xs[2], xs[3]);
    TG_T *cols = NULL, *work = NULL;
    int64_t n, gi, o, p;
    int status = 0;
    if (!direct) {
        cols = (TG_T *)tg_conv_buffer(tg_conv_scratch(g) * sizeof(TG_T));
        if (cols == NULL)
            return -1;
        work = cols + g->c * g->kh * g->kw * (tg_conv_wide(g, 0) ? g->oh * tg_conv_wp(g) : L);
    }
    if (!direct && tg_conv_wide(g, 0)) {
        const int64_t Wp = tg_conv_wp(g), Lw = g->oh * Wp, OW = g->ow;
        TG_T *yw = work + g->c * tg_conv_hp(g) * Wp + Wp;
        for (n = n0; n < n1; ++n) {
            TG_T *yn = y + n * O * L;
            TG_FN(im2col_wide)(x + n * xs[0], xs, g, work, cols);
            for (gi = 0; gi < G; ++gi)
                if (TG_GEMM(og, Lw, kk, (TG_T)1, w + gi * og * kk, kk, 1, cols + gi * kk * Lw, Lw, 1, (TG_T)0,
                            yw + gi * og * Lw, Lw, 1))
                    status = -1;
            for (o = 0; o < O; ++o) {
                const TG_T bo = bias != NULL ? bias[o] : (TG_T)0;
                int64_t oh;
                for (oh = 0; oh < g->oh; ++oh) {
                    const TG_T *s = yw + o * Lw + oh * Wp;
                    TG_T *d = yn + o * L + oh * OW;
                    TG_OMP(simd)
                    for (p = 0; p < OW; ++p)
                        d[p] = s[p] + bo;
                }
            }
        }
        return status;
    }
    for (n = n0; n < n1; ++n) {
        const TG_T *xn = x + n * xs[0];
        TG_T *yn = y + n * O * L;
        if (!direct)
            TG_FN(im2col)(xn, xs[1], xs[2], xs[3], g, cols, work);
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
    TG_T *cols = NULL, *work = NULL;
    int64_t n, gi;
    int status = 0;
    if (!direct) {
        cols = (TG_T *)tg_conv_buffer(tg_conv_scratch(g) * sizeof(TG_T));
        if (cols == NULL)
            return -1;
        work = cols + g->c * g->kh * g->kw * (tg_conv_wide(g, 1) ? g->oh * tg_conv_wp(g) : L);
    }
    if (!direct && tg_conv_wide(g, 1)) {
        const int64_t Wp = tg_conv_wp(g), Lw = g->oh * Wp;
        TG_T *gyw = work + g->c * tg_conv_hp(g) * Wp + Wp;
        for (n = n0; n < n1; ++n) {
            TG_FN(widen)(gy + n * O * L, g, gyw);
            for (gi = 0; gi < G; ++gi)
                if (TG_GEMM(kk, Lw, og, (TG_T)1, w + gi * og * kk, 1, kk, gyw + gi * og * Lw, Lw, 1, (TG_T)0,
                            cols + gi * kk * Lw, Lw, 1))
                    status = -1;
            TG_FN(fold_wide)(cols, g, work, gx + n * CHW);
        }
        return status;
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
        if (!direct)
            TG_FN(col2im_impl)(cols, g, gxn, work, 0);
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
    TG_T *cols = NULL, *work = NULL;
    int64_t n, gi;
    int status = 0;
    if (n0 >= n1) {
        memset(acc, 0, (size_t)(O * kk) * sizeof(TG_T));
        return 0;
    }
    if (!direct) {
        cols = (TG_T *)tg_conv_buffer(tg_conv_scratch(g) * sizeof(TG_T));
        if (cols == NULL)
            return -1;
        work = cols + g->c * g->kh * g->kw * (tg_conv_wide(g, 1) ? g->oh * tg_conv_wp(g) : L);
    }
    if (!direct && tg_conv_wide(g, 1)) {
        const int64_t Wp = tg_conv_wp(g), Lw = g->oh * Wp;
        TG_T *gyw = work + g->c * tg_conv_hp(g) * Wp + Wp;
        for (n = n0; n < n1; ++n) {
            const TG_T beta = n == n0 ? (TG_T)0 : (TG_T)1;
            TG_FN(im2col_wide)(x + n * xs[0], xs, g, work, cols);
            TG_FN(widen)(gy + n * O * L, g, gyw);
            for (gi = 0; gi < G; ++gi)
                if (TG_GEMM(kk, og, Lw, (TG_T)1, cols + gi * kk * Lw, Lw, 1, gyw + gi * og * Lw, 1, Lw, beta,
                            acc + gi * og * kk, 1, kk))
                    status = -1;
        }
        return status;
    }
    for (n = n0; n < n1; ++n) {
        const TG_T *xn = x + n * xs[0];
        const TG_T *gyn = gy + n * O * L;
        const TG_T beta = n == n0 ? (TG_T)0 : (TG_T)1;
        if (!direct)
            TG_FN(im2col)(xn, xs[1], xs[2], xs[3], g, cols, work);
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
    int64_t nblk, q;
    if (g->n <= 0 || g->o <= 0 || g->oh <= 0 || g->ow <= 0)
        return 0;
    nth = tg_conv_threads(g->n, TG_FN(conv_gemm_flops)(g), TG_WHICH);
    if (nth <= 1)
        return TG_FN(conv_fwd_range)(x, xs, w, bias, g, y, 0, g->n);
    nblk = g->n < (int64_t)nth * TG_CONV_BLOCKS_PER_THREAD ? g->n : (int64_t)nth * TG_CONV_BLOCKS_PER_THREAD;
    TG_OMP(parallel for num_threads(nth) schedule(dynamic, 1))
    for (q = 0; q < nblk; ++q) {
        int rc = TG_FN(conv_fwd_range)(x, xs, w, bias, g, y, g->n * q / nblk, g->n * (q + 1) / nblk);
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
    int64_t nblk, q;
    if (g->n <= 0 || g->c <= 0 || g->h <= 0 || g->w <= 0)
        return 0;
    if (g->o <= 0 || g->oh <= 0 || g->ow <= 0) {
        memset(gx, 0, (size_t)(g->n * g->c * g->h * g->w) * sizeof(TG_T));
        return 0;
    }
    nth = tg_conv_threads(g->n, TG_FN(conv_gemm_flops)(g), TG_WHICH);
    if (nth <= 1)
        return TG_FN(conv_bin_range)(gy, w, g, gx, 0, g->n);
    nblk = g->n < (int64_t)nth * TG_CONV_BLOCKS_PER_THREAD ? g->n : (int64_t)nth * TG_CONV_BLOCKS_PER_THREAD;
    TG_OMP(parallel for num_threads(nth) schedule(dynamic, 1))
    for (q = 0; q < nblk; ++q) {
        int rc = TG_FN(conv_bin_range)(gy, w, g, gx, g->n * q / nblk, g->n * (q + 1) / nblk);
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
    int64_t nblk, q, e;
    if (size <= 0)
        return 0;
    if (g->n <= 0 || g->oh <= 0 || g->ow <= 0) {
        memset(gw, 0, (size_t)size * sizeof(TG_T));
        return 0;
    }
    if (!tg_conv_splittable(g->n, TG_FN(conv_gemm_flops)(g), TG_WHICH))
        return TG_FN(conv_bw_range)(x, xs, gy, g, gw, 0, g->n);
    nth = tg_conv_threads(g->n, TG_FN(conv_gemm_flops)(g), TG_WHICH);
    nblk = g->n < TG_CONV_WEIGHT_BLOCKS ? g->n : TG_CONV_WEIGHT_BLOCKS;
    /* block 0 sums into gw, block q into part[q-1]; then added in order */
    part = (TG_T *)malloc((size_t)(nblk - 1) * (size_t)size * sizeof(TG_T));
    if (part == NULL)
        return TG_FN(conv_bw_range)(x, xs, gy, g, gw, 0, g->n);
    if (nth <= 1) {
        for (q = 0; q < nblk; ++q)
            if (TG_FN(conv_bw_range)(x, xs, gy, g, q == 0 ? gw : part + (q - 1) * size, g->n * q / nblk,
                                     g->n * (q + 1) / nblk))
                status = -1;
    } else {
        TG_OMP(parallel for num_threads(nth) schedule(dynamic, 1))
        for (q = 0; q < nblk; ++q) {
            int rc = TG_FN(conv_bw_range)(x, xs, gy, g, q == 0 ? gw : part + (q - 1) * size, g->n * q / nblk,
                                          g->n * (q + 1) / nblk);
            if (rc != 0) {
                TG_OMP(atomic write)
                status = rc;
            }
        }
    }
    for (q = 0; q < nblk - 1; ++q) {
        const TG_T *pq = part + q * size;
        TG_OMP(simd)
        for (e = 0; e < size; ++e)
            gw[e] += pq[e];
    }
    free(part);
    return status;
}

static TG_T TG_FN(channel_sum)(const TG_T *gy, int64_t n, int64_t o, int64_t l, int64_t c)
{
    double acc = 0.0;
    int64_t s, p;
    for (s = 0; s < n; ++s) {
        const TG_T *row = gy + (s * o + c) * l;
        TG_OMP(simd reduction(+ : acc))
        for (p = 0; p < l; ++p)
            acc += (double)row[p];
    }
    return (TG_T)acc;
}

/* gb[o] = the sum of gy[:, o] (a double accumulator per channel) */
void TG_FN(conv2d_backward_bias)(const TG_T *gy, int64_t n, int64_t o, int64_t l, TG_T *gb)
{
    const int nth = tg_get_num_threads();
    int64_t c;
    if (o <= 0)
        return;
    if (nth > 1 && o > 1 && n * o * l >= TG_PAR_MIN_MEMBOUND) {
        TG_OMP(parallel for num_threads(nth) schedule(static))
        for (c = 0; c < o; ++c)
            gb[c] = TG_FN(channel_sum)(gy, n, o, l, c);
    } else {
        for (c = 0; c < o; ++c)
            gb[c] = TG_FN(channel_sum)(gy, n, o, l, c);
    }
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
            /* selects, not branches (on real data the comparisons are coin
             * flips): the window's winner as a code 0..3 in the element
             * width, so that the loop vectorises */
            if (sw == 1) {
                TG_OMP(simd)
                for (ow = 0; ow < OW; ++ow) {
                    const TG_T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
                    TG_T best = a;
                    TG_I at = 0, take;
                    take = (b > best) | (b != b);
                    best = take ? b : best;
                    at = take ? 1 : at;
                    take = (c > best) | (c != c);
                    best = take ? c : best;
                    at = take ? 2 : at;
                    take = (d > best) | (d != d);
                    best = take ? d : best;
                    at = take ? 3 : at;
                    yr[ow] = best;
                    ir[ow] = 2 * oh * W + 2 * ow + (at & 1) + (at >> 1) * W;
                }
                continue;
            }
            for (ow = 0; ow < OW; ++ow) {
                const TG_T a = r0[2 * ow * sw], b = r0[(2 * ow + 1) * sw];
                const TG_T c = r1[2 * ow * sw], d = r1[(2 * ow + 1) * sw];
                TG_T best = a;
                int64_t at = 0;
                if (b > best || b != b) {
                    best = b;
                    at = 1;
                }
                if (c > best || c != c) {
                    best = c;
                    at = W;
                }
                if (d > best || d != d) {
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

/* 0, or -1 when an index lies outside the plane (nothing is written there) */
static int TG_FN(max_pool_bw_plane)(const TG_T *gy, const int64_t *idx, int64_t hw_in, int64_t hw_out, TG_T *gx)
{
    int64_t i;
    int bad = 0;
    memset(gx, 0, (size_t)hw_in * sizeof(TG_T));
    for (i = 0; i < hw_out; ++i) {
        const uint64_t at = (uint64_t)idx[i];
        if (at >= (uint64_t)hw_in) {
            bad = 1;
            continue;
        }
        gx[at] += gy[i];
    }
    return bad ? -1 : 0;
}

int TG_FN(max_pool2d_backward)(const TG_T *gy, const int64_t *idx, int64_t planes, int64_t hw_in, int64_t hw_out,
                               TG_T *gx)
{
    const int nth = tg_get_num_threads();
    int64_t p;
    int status = 0;
    if (planes <= 0 || hw_in <= 0)
        return 0;
    if (nth > 1 && planes > 1 && planes * hw_in >= TG_PAR_MIN_MEMBOUND) {
        TG_OMP(parallel for num_threads(nth) schedule(static) reduction(| : status))
        for (p = 0; p < planes; ++p)
            status |= TG_FN(max_pool_bw_plane)(gy + p * hw_out, idx + p * hw_out, hw_in, hw_out, gx + p * hw_in);
    } else {
        for (p = 0; p < planes; ++p)
            status |= TG_FN(max_pool_bw_plane)(gy + p * hw_out, idx + p * hw_out, hw_in, hw_out, gx + p * hw_in);
    }
    return status ? -1 : 0;
}

#undef TG_FN
#undef TG_T
#undef TG_I
#undef TG_SFX
#undef TG_GEMM
#undef TG_WHICH
