/*
 * gemm_impl.h -- body of the packed GEMM, included by gemm.c once per
 * (ISA, element type) with
 *
 *     TG_SUFFIX    name suffix of this variant, e.g. avx512_f32
 *     TG_T         element type (float or double)
 *     TG_MR        rows of the register tile (A micro-panel height)
 *     TG_NR        columns of the register tile (B micro-panel width)
 *     TG_VB        vector size in bytes for GCC vector extensions; 0 means
 *                  plain C loops (the portable generic micro-kernel)
 *     TG_KC, TG_MC, TG_NC   cache blocking (TG_MC multiple of TG_MR,
 *                  TG_NC multiple of TG_NR)
 *
 * Defines  static void tg_gemm_<suffix>(const tg_gemm_args *) (the driver
 * for one matrix) and undefines the parameters again.
 *
 * Structure (BLIS): for each NC-wide column block jc of C, for each KC-deep
 * slice pc of k, pack B[pc, jc] into NR-wide micro-panels (shared by all
 * threads), then for each MC-tall row block ic (split over threads) pack
 * A[ic, pc] into MR-tall micro-panels (thread-local) and run the register
 * tile over every (jr, ir) pair. Edge micro-panels are zero-padded, so the
 * micro-kernel always computes a full MR x NR tile; the write-back to C
 * stores only the valid mr x nr part. k is never split between threads, so
 * every element of C sees the same sequence of operations whatever the
 * thread count.
 */
#ifndef TG_SUFFIX
#error "define TG_SUFFIX before including gemm_impl.h"
#endif

#define TGN(name) TG_CAT(name, TG_SUFFIX)

#ifndef TG_GEMM_CMB_MASKS
#define TG_GEMM_CMB_MASKS
/* two-source shuffle masks (generated), used by the transposing B pack and
 * the narrow-n reduction: for VL
 * lanes and chunk width w, LO takes x's even and y's even chunks, HI their
 * odd chunks, so LO + HI halves each of x and y into alternate chunks. */
#define TG_CMB_LO_16_8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define TG_CMB_HI_16_8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define TG_CMB_LO_16_4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define TG_CMB_HI_16_4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define TG_CMB_LO_16_2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define TG_CMB_HI_16_2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define TG_CMB_LO_16_1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define TG_CMB_HI_16_1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
#define TG_CMB_LO_8_4 0, 1, 2, 3, 8, 9, 10, 11
#define TG_CMB_HI_8_4 4, 5, 6, 7, 12, 13, 14, 15
#define TG_CMB_LO_8_2 0, 1, 8, 9, 4, 5, 12, 13
#define TG_CMB_HI_8_2 2, 3, 10, 11, 6, 7, 14, 15
#define TG_CMB_LO_8_1 0, 8, 2, 10, 4, 12, 6, 14
#define TG_CMB_HI_8_1 1, 9, 3, 11, 5, 13, 7, 15
#define TG_CMB_LO_4_2 0, 1, 4, 5
#define TG_CMB_HI_4_2 2, 3, 6, 7
#define TG_CMB_LO_4_1 0, 4, 2, 6
#define TG_CMB_HI_4_1 1, 5, 3, 7
#define TG_CMB(x, y, LO, HI) (__builtin_shufflevector(x, y, LO) + __builtin_shufflevector(x, y, HI))
#endif

/* ---- packing ---------------------------------------------------------- */

/* A[0:mc, 0:kc] (strides rsa, csa) -> MR-tall micro-panels, each stored
 * k-major: panel[p * MR + i]. Rows past mc are zero. */
static void TGN(tg_pack_a)(int64_t mc, int64_t kc, const TG_T *a, int64_t rsa, int64_t csa, TG_T *restrict dst)
{
    int64_t ir, p, i;
    for (ir = 0; ir < mc; ir += TG_MR) {
        int64_t mr = mc - ir < TG_MR ? mc - ir : TG_MR;
        const TG_T *ap = a + ir * rsa;
        if (mr == TG_MR && rsa == 1) {
            for (p = 0; p < kc; ++p) {
                const TG_T *src = ap + p * csa;
                for (i = 0; i < TG_MR; ++i)
                    dst[p * TG_MR + i] = src[i];
            }
        } else if (mr == TG_MR) {
            for (p = 0; p < kc; ++p)
                for (i = 0; i < TG_MR; ++i)
                    dst[p * TG_MR + i] = ap[i * rsa + p * csa];
        } else {
            for (p = 0; p < kc; ++p) {
                for (i = 0; i < mr; ++i)
                    dst[p * TG_MR + i] = ap[i * rsa + p * csa];
                for (; i < TG_MR; ++i)
                    dst[p * TG_MR + i] = (TG_T)0;
            }
        }
        dst += kc * TG_MR;
    }
}

#if TG_VB > 0
#define TG_PVL (TG_VB / (int)sizeof(TG_T))
typedef TG_T TGN(tg_pvec) __attribute__((vector_size(TG_VB)));
typedef TG_T TGN(tg_puvec) __attribute__((vector_size(TG_VB), aligned(sizeof(TG_T)), may_alias));

/* one butterfly stage of a VL x VL register transpose: rows r and r + w
 * (r & w == 0) swap their odd w-chunks with the other's even ones */
#define TG_TSTAGE(v, w, LO, HI)                                                                                \
    for (r = 0; r < TG_PVL; ++r)                                                                              \
        if ((r & (w)) == 0) {                                                                                 \
            TGN(tg_pvec) x_ = v[r], y_ = v[r + (w)];                                                          \
            v[r] = __builtin_shufflevector(x_, y_, LO);                                                       \
            v[r + (w)] = __builtin_shufflevector(x_, y_, HI);                                                 \
        }

/* dst[q * NR + r] = src[r * ld + q] for a VL x VL tile */
static inline __attribute__((always_inline)) void TGN(tg_pack_tile)(const TG_T *src, int64_t ld, TG_T *dst)
{
    TGN(tg_pvec) v[TG_PVL];
    int r;
    for (r = 0; r < TG_PVL; ++r)
        v[r] = *(const TGN(tg_puvec) *)(src + r * ld);
#if TG_VLEN == 16
    TG_TSTAGE(v, 8, TG_CMB_LO_16_8, TG_CMB_HI_16_8)
    TG_TSTAGE(v, 4, TG_CMB_LO_16_4, TG_CMB_HI_16_4)
    TG_TSTAGE(v, 2, TG_CMB_LO_16_2, TG_CMB_HI_16_2)
    TG_TSTAGE(v, 1, TG_CMB_LO_16_1, TG_CMB_HI_16_1)
#elif TG_VLEN == 8
    TG_TSTAGE(v, 4, TG_CMB_LO_8_4, TG_CMB_HI_8_4)
    TG_TSTAGE(v, 2, TG_CMB_LO_8_2, TG_CMB_HI_8_2)
    TG_TSTAGE(v, 1, TG_CMB_LO_8_1, TG_CMB_HI_8_1)
#elif TG_VLEN == 4
    TG_TSTAGE(v, 2, TG_CMB_LO_4_2, TG_CMB_HI_4_2)
    TG_TSTAGE(v, 1, TG_CMB_LO_4_1, TG_CMB_HI_4_1)
#else
#error "transposing pack: unsupported vector length"
#endif
    for (r = 0; r < TG_PVL; ++r)
        *(TGN(tg_puvec) *)(dst + r * TG_NR) = v[r];
}
#undef TG_TSTAGE
#endif

/* B[0:kc, 0:nc] (strides rsb, csb) -> NR-wide micro-panels, each stored
 * k-major: panel[p * NR + j]. Columns past nc are zero. Panels [jr0, jr1)
 * only (the caller splits them over threads). */
static void TGN(tg_pack_b)(int64_t kc, int64_t nc, const TG_T *b, int64_t rsb, int64_t csb, TG_T *restrict dst,
                           int64_t jp0, int64_t jp1)
{
    int64_t jp, p, j;
    for (jp = jp0; jp < jp1; ++jp) {
        int64_t jr = jp * TG_NR;
        int64_t nr = nc - jr < TG_NR ? nc - jr : TG_NR;
        const TG_T *bp = b + jr * csb;
        TG_T *d = dst + jp * kc * TG_NR;
        if (nr == TG_NR && csb == 1) {
            for (p = 0; p < kc; ++p) {
                const TG_T *src = bp + p * rsb;
                for (j = 0; j < TG_NR; ++j)
                    d[p * TG_NR + j] = src[j];
            }
        } else if (nr == TG_NR && rsb == 1) {
            /* B^T stored row-major (x @ W.T): VL x VL tiles read as VL
             * contiguous rows of W and transposed in registers */
            p = 0;
#if TG_VB > 0
            for (; p + TG_PVL <= kc; p += TG_PVL)
                for (j = 0; j < TG_NR; j += TG_PVL)
                    TGN(tg_pack_tile)(bp + j * csb + p, csb, d + p * TG_NR + j);
#endif
            for (; p < kc; ++p)
                for (j = 0; j < TG_NR; ++j)
                    d[p * TG_NR + j] = bp[j * csb + p];
        } else {
            for (p = 0; p < kc; ++p) {
                for (j = 0; j < nr; ++j)
                    d[p * TG_NR + j] = bp[p * rsb + j * csb];
                for (; j < TG_NR; ++j)
                    d[p * TG_NR + j] = (TG_T)0;
            }
        }
    }
}

/* ---- micro-kernel: acc[MR][NR] = sum_p a[p][:] (x) b[p][:] --------------- */

#if TG_VB > 0
#define TG_VL (TG_VB / (int)sizeof(TG_T))
#define TG_NV (TG_NR / TG_VL)
typedef TG_T TGN(tg_vec) __attribute__((vector_size(TG_VB)));

static void TGN(tg_ukernel)(int64_t kc, const TG_T *restrict a, const TG_T *restrict b, TG_T *restrict acc)
{
    TGN(tg_vec) c[TG_MR][TG_NV];
    int64_t p;
    int i, v;
    for (i = 0; i < TG_MR; ++i)
        for (v = 0; v < TG_NV; ++v)
            c[i][v] = (TGN(tg_vec)){0};
    for (p = 0; p < kc; ++p) {
        TGN(tg_vec) bv[TG_NV];
        for (v = 0; v < TG_NV; ++v)
            bv[v] = *(const TGN(tg_vec) *)(b + v * TG_VL);
        for (i = 0; i < TG_MR; ++i) {
            TG_T ai = a[i];
            for (v = 0; v < TG_NV; ++v)
                c[i][v] += ai * bv[v];
        }
        a += TG_MR;
        b += TG_NR;
    }
    for (i = 0; i < TG_MR; ++i)
        for (v = 0; v < TG_NV; ++v)
            *(TGN(tg_vec) *)(acc + i * TG_NR + v * TG_VL) = c[i][v];
}
#undef TG_VL
#undef TG_NV
#else
static void TGN(tg_ukernel)(int64_t kc, const TG_T *restrict a, const TG_T *restrict b, TG_T *restrict acc)
{
    TG_T c[TG_MR][TG_NR];
    int64_t p;
    int i, j;
    for (i = 0; i < TG_MR; ++i)
        for (j = 0; j < TG_NR; ++j)
            c[i][j] = (TG_T)0;
    for (p = 0; p < kc; ++p) {
        for (i = 0; i < TG_MR; ++i) {
            TG_T ai = a[i];
            for (j = 0; j < TG_NR; ++j)
                c[i][j] += ai * b[j];
        }
        a += TG_MR;
        b += TG_NR;
    }
    for (i = 0; i < TG_MR; ++i)
        for (j = 0; j < TG_NR; ++j)
            acc[i * TG_NR + j] = c[i][j];
}
#endif

/* C[0:mr, 0:nr] = alpha * acc + beta * C; beta == 0 never reads C. */
static inline void TGN(tg_store)(int64_t mr, int64_t nr, const TG_T *restrict acc, TG_T alpha, TG_T beta,
                                 TG_T *c, int64_t rsc, int64_t csc)
{
    int64_t i, j;
    if (csc == 1) {
        for (i = 0; i < mr; ++i) {
            TG_T *ci = c + i * rsc;
            const TG_T *ai = acc + i * TG_NR;
            if (beta == (TG_T)0)
                for (j = 0; j < nr; ++j)
                    ci[j] = alpha * ai[j];
            else if (beta == (TG_T)1)
                for (j = 0; j < nr; ++j)
                    ci[j] = alpha * ai[j] + ci[j];
            else
                for (j = 0; j < nr; ++j)
                    ci[j] = alpha * ai[j] + beta * ci[j];
        }
    } else {
        for (i = 0; i < mr; ++i) {
            TG_T *ci = c + i * rsc;
            const TG_T *ai = acc + i * TG_NR;
            if (beta == (TG_T)0)
                for (j = 0; j < nr; ++j)
                    ci[j * csc] = alpha * ai[j];
            else
                for (j = 0; j < nr; ++j)
                    ci[j * csc] = alpha * ai[j] + beta * ci[j * csc];
        }
    }
}

/* C[i0:i0+mr, j0:j0+nc] = act(C + bias) (see tg_gemm_args); a no-op without
 * an epilogue. Runs right after the tile is stored, so it is still in L1. */
static void TGN(tg_epilogue)(const tg_gemm_args *g, int64_t i0, int64_t j0, int64_t mr, int64_t nc)
{
    const TG_T *bias = (const TG_T *)g->bias;
    const int64_t rsc = g->rsc, csc = g->csc, brs = g->brs, bcs = g->bcs;
    TG_T *c = (TG_T *)g->c + i0 * rsc + j0 * csc;
    int64_t i, j;
    if (!TG_HAS_EPILOGUE(g))
        return;
    if (bias != NULL)
        bias += i0 * brs + j0 * bcs;
    for (i = 0; i < mr; ++i) {
        TG_T *ci = c + i * rsc;
        const TG_T *bi = bias != NULL ? bias + i * brs : NULL;
        if (bi != NULL) {
            if (csc == 1 && bcs == 1)
                for (j = 0; j < nc; ++j)
                    ci[j] += bi[j];
            else
                for (j = 0; j < nc; ++j)
                    ci[j * csc] += bi[j * bcs];
        }
        /* v < 0 ? 0 : v keeps NaN, as the relu kernel and torch do */
        if (g->act == TG_ACT_RELU) {
            if (csc == 1)
                for (j = 0; j < nc; ++j)
                    ci[j] = ci[j] < (TG_T)0 ? (TG_T)0 : ci[j];
            else
                for (j = 0; j < nc; ++j)
                    ci[j * csc] = ci[j * csc] < (TG_T)0 ? (TG_T)0 : ci[j * csc];
        }
    }
}

/* ---- small-matrix path: no A packing, no OpenMP region ------------------ */

/* For small m*n*k (gemm.c decides) packing A and entering an OpenMP region
 * cost more than they save. C is computed directly: a register block of
 * SM_MR rows x nv vectors of C (nv <= SM_NV), A read as scalars through its
 * strides and broadcast, B rows read as contiguous (unaligned) vectors. B
 * is used in place when its rows are contiguous (csb == 1); its last
 * n % VL columns are then copied into a zero-padded k x VL strip. Any other
 * B is copied whole into a zero-padded k x roundup(n, VL) buffer. */
#if TG_VB > 0
#define TG_VL (TG_VB / (int)sizeof(TG_T))
typedef TG_T TGN(tg_svec) __attribute__((vector_size(TG_VB)));
typedef TG_T TGN(tg_uvec) __attribute__((vector_size(TG_VB), aligned(sizeof(TG_T)), may_alias));

/* C[0:mr, 0:ncol] = alpha * acc + beta * C, acc an MR x NV block of vectors */
static inline __attribute__((always_inline)) void TGN(tg_small_block)(
    const int mr, const int nv, int64_t k, const TG_T *a, int64_t rsa, int64_t csa, const TG_T *b, int64_t rsb,
    TG_T alpha, TG_T beta, TG_T *c, int64_t rsc, int64_t csc, int64_t ncol)
{
    TGN(tg_svec) acc[TG_SM_MR][TG_SM_NV];
    int64_t p;
    int i, v;
    for (i = 0; i < mr; ++i)
        for (v = 0; v < nv; ++v)
            acc[i][v] = (TGN(tg_svec)){0};
    for (p = 0; p < k; ++p) {
        TGN(tg_svec) bv[TG_SM_NV];
        const TG_T *ap = a + p * csa;
        for (v = 0; v < nv; ++v)
            bv[v] = *(const TGN(tg_uvec) *)(b + p * rsb + v * TG_VL);
        for (i = 0; i < mr; ++i) {
            TG_T ai = ap[i * rsa];
            for (v = 0; v < nv; ++v)
                acc[i][v] += ai * bv[v];
        }
    }
    if (csc == 1 && ncol == (int64_t)nv * TG_VL) {
        for (i = 0; i < mr; ++i)
            for (v = 0; v < nv; ++v) {
                TGN(tg_uvec) *cp = (TGN(tg_uvec) *)(c + i * rsc + v * TG_VL);
                if (beta == (TG_T)0)
                    *cp = alpha * acc[i][v];
                else
                    *cp = alpha * acc[i][v] + beta * *cp;
            }
    } else {
        TG_T tmp[TG_SM_MR * TG_SM_NV * TG_VL] __attribute__((aligned(64)));
        int64_t j;
        for (i = 0; i < mr; ++i)
            for (v = 0; v < nv; ++v)
                *(TGN(tg_svec) *)(tmp + (i * TG_SM_NV + v) * TG_VL) = acc[i][v];
        for (i = 0; i < mr; ++i) {
            const TG_T *t = tmp + i * TG_SM_NV * TG_VL;
            TG_T *ci = c + i * rsc;
            if (beta == (TG_T)0)
                for (j = 0; j < ncol; ++j)
                    ci[j * csc] = alpha * t[j];
            else
                for (j = 0; j < ncol; ++j)
                    ci[j * csc] = alpha * t[j] + beta * ci[j * csc];
        }
    }
}

/* switch to a block with a compile-time vector count (mr constant at every
 * call site), so each block is unrolled into registers */
static inline __attribute__((always_inline)) void TGN(tg_small_nv)(
    const int mr, int nv, int64_t k, const TG_T *a, int64_t rsa, int64_t csa, const TG_T *b, int64_t rsb,
    TG_T alpha, TG_T beta, TG_T *c, int64_t rsc, int64_t csc, int64_t ncol)
{
    switch (nv) {
#if TG_SM_NV >= 4
    case 4:
        TGN(tg_small_block)(mr, 4, k, a, rsa, csa, b, rsb, alpha, beta, c, rsc, csc, ncol);
        break;
#endif
#if TG_SM_NV >= 3
    case 3:
        TGN(tg_small_block)(mr, 3, k, a, rsa, csa, b, rsb, alpha, beta, c, rsc, csc, ncol);
        break;
#endif
#if TG_SM_NV >= 2
    case 2:
        TGN(tg_small_block)(mr, 2, k, a, rsa, csa, b, rsb, alpha, beta, c, rsc, csc, ncol);
        break;
#endif
    default:
        TGN(tg_small_block)(mr, 1, k, a, rsa, csa, b, rsb, alpha, beta, c, rsc, csc, ncol);
        break;
    }
}

/* one full-height row block over columns [0, ncols) of b (width nvec
 * vectors, so ncols <= nvec * VL) */
static void TGN(tg_small_rows)(int mr, int64_t k, const TG_T *a, int64_t rsa, int64_t csa, const TG_T *b,
                               int64_t rsb, int64_t nvec, int64_t ncols, TG_T alpha, TG_T beta, TG_T *c,
                               int64_t rsc, int64_t csc)
{
    int64_t jv;
    for (jv = 0; jv < nvec; jv += TG_SM_NV) {
        int nv = nvec - jv < TG_SM_NV ? (int)(nvec - jv) : TG_SM_NV;
        int64_t j0 = jv * TG_VL;
        int64_t ncol = ncols - j0 < (int64_t)nv * TG_VL ? ncols - j0 : (int64_t)nv * TG_VL;
        const TG_T *bj = b + j0;
        TG_T *cj = c + j0 * csc;
        /* every row count gets its own unrolled block: a 10-row C done as
         * 6 + 1+1+1+1 ran at 40% of 6 + 4 (single rows are latency-bound) */
#define TG_SMALL_MR_CASE(R)                                                                                   \
    case R:                                                                                                    \
        TGN(tg_small_nv)(R, nv, k, a, rsa, csa, bj, rsb, alpha, beta, cj, rsc, csc, ncol);                     \
        break;
        switch (mr) {
#if TG_SM_MR >= 6
            TG_SMALL_MR_CASE(6)
            TG_SMALL_MR_CASE(5)
#endif
#if TG_SM_MR >= 4
            TG_SMALL_MR_CASE(4)
            TG_SMALL_MR_CASE(3)
#endif
#if TG_SM_MR >= 2
            TG_SMALL_MR_CASE(2)
#endif
        default:
            TGN(tg_small_nv)(1, nv, k, a, rsa, csa, bj, rsb, alpha, beta, cj, rsc, csc, ncol);
            break;
        }
#undef TG_SMALL_MR_CASE
    }
}


/* ---- narrow n (n < 2 VL): dot products over k ----------------------------
 * With few columns, vectorising over n wastes lanes (n = 10 fills 10 of 16
 * f32 lanes, or 10 of 16 in two f64 vectors). Instead each C element is a
 * dot product of an A row and a B column, vectorised over k: A's rows are
 * read in place (taken when csa == 1 and k >= VL), B^T is copied into an
 * n x k buffer, and a block of DT_MR rows x nc columns keeps DT_MR * nc
 * vector accumulators, reduced at the end by a shuffle tree that sums VL
 * accumulators at once (per-accumulator horizontal sums cost as much as the
 * FMAs at k = 128); the k % VL tail is a scalar loop. A column-major A
 * (rsa == 1) is handled by the caller as C^T = B^T A^T instead (copying A
 * measured slower than the packed path). n < 2 VL measured better than
 * n < VL at both levels (f32 n = 17: 0.54 -> 0.96x np.matmul; f64 n = 10 on
 * AVX-512 0.63 -> 0.80x). */
#if TG_VB >= 64
#define TG_DT_NC 4 /* 16 accumulators of 32 registers */
#else
#define TG_DT_NC 3 /* 12 accumulators of 16 registers */
#endif
#define TG_DT_MR 4
#define TG_DOT_NMAX (2 * TG_VL)

/* v[0 .. VL) -> one vector whose lane l is the sum of the lanes of
 * v[bitrev(l)] (a tree of two-source shuffles and adds, log2(VL) levels) */
static inline __attribute__((always_inline)) TGN(tg_svec) TGN(tg_reduce_group)(TGN(tg_svec) *v)
{
    _Static_assert(TG_VLEN == TG_VB / sizeof(TG_T), "TG_VLEN must be the lanes per vector");
    int s;
#if TG_VLEN == 16
    for (s = 0; s < 8; ++s)
        v[s] = TG_CMB(v[2 * s], v[2 * s + 1], TG_CMB_LO_16_8, TG_CMB_HI_16_8);
    for (s = 0; s < 4; ++s)
        v[s] = TG_CMB(v[2 * s], v[2 * s + 1], TG_CMB_LO_16_4, TG_CMB_HI_16_4);
    for (s = 0; s < 2; ++s)
        v[s] = TG_CMB(v[2 * s], v[2 * s + 1], TG_CMB_LO_16_2, TG_CMB_HI_16_2);
    return TG_CMB(v[0], v[1], TG_CMB_LO_16_1, TG_CMB_HI_16_1);
#elif TG_VLEN == 8
    for (s = 0; s < 4; ++s)
        v[s] = TG_CMB(v[2 * s], v[2 * s + 1], TG_CMB_LO_8_4, TG_CMB_HI_8_4);
    for (s = 0; s < 2; ++s)
        v[s] = TG_CMB(v[2 * s], v[2 * s + 1], TG_CMB_LO_8_2, TG_CMB_HI_8_2);
    return TG_CMB(v[0], v[1], TG_CMB_LO_8_1, TG_CMB_HI_8_1);
#elif TG_VLEN == 4
    for (s = 0; s < 2; ++s)
        v[s] = TG_CMB(v[2 * s], v[2 * s + 1], TG_CMB_LO_4_2, TG_CMB_HI_4_2);
    return TG_CMB(v[0], v[1], TG_CMB_LO_4_1, TG_CMB_HI_4_1);
#else
#error "narrow-n reduction: unsupported vector length"
#endif
}

static inline __attribute__((always_inline)) int TGN(tg_bitrev)(int l)
{
    int r = 0, b;
    for (b = 1; b < TG_VL; b <<= 1) {
        r = (r << 1) | (l & 1);
        l >>= 1;
    }
    return r;
}

static inline __attribute__((always_inline)) void TGN(tg_dot_block)(
    const int mr, const int nc, int64_t k, const TG_T *a, int64_t rsa, const TG_T *bt, int64_t ldb,
    TG_T alpha, TG_T beta, TG_T *c, int64_t rsc, int64_t csc)
{
    TGN(tg_svec) acc[TG_DT_MR][TG_DT_NC];
    TG_T r[TG_DT_MR][TG_DT_NC];
    const int64_t kv = k / TG_VL * TG_VL;
    int64_t p;
    int i, j;
    for (i = 0; i < mr; ++i)
        for (j = 0; j < nc; ++j)
            acc[i][j] = (TGN(tg_svec)){0};
    for (p = 0; p < kv; p += TG_VL) {
        TGN(tg_svec) bv[TG_DT_NC];
        for (j = 0; j < nc; ++j)
            bv[j] = *(const TGN(tg_uvec) *)(bt + j * ldb + p);
        for (i = 0; i < mr; ++i) {
            TGN(tg_svec) av = *(const TGN(tg_uvec) *)(a + i * rsa + p);
            for (j = 0; j < nc; ++j)
                acc[i][j] += av * bv[j];
        }
    }
    {
        /* accumulators in slots i * nc + j, padded with zeros to whole groups
         * of VL, each group reduced to one vector of VL sums */
        enum { NG = (TG_DT_MR * TG_DT_NC + TG_VL - 1) / TG_VL };
        TGN(tg_svec) slot[NG * TG_VL];
        TG_T sums[TG_VL] __attribute__((aligned(64)));
        const int nacc = mr * nc;
        int gi, l;
        for (i = 0; i < mr; ++i)
            for (j = 0; j < nc; ++j)
                slot[i * nc + j] = acc[i][j];
        for (l = nacc; l < (nacc + TG_VL - 1) / TG_VL * TG_VL; ++l)
            slot[l] = (TGN(tg_svec)){0};
        for (gi = 0; gi * TG_VL < nacc; ++gi) {
            *(TGN(tg_svec) *)sums = TGN(tg_reduce_group)(slot + gi * TG_VL);
            for (l = 0; l < TG_VL && gi * TG_VL + l < nacc; ++l) {
                int sl = gi * TG_VL + l;
                r[sl / nc][sl % nc] = sums[TGN(tg_bitrev)(l)];
            }
        }
    }
    for (p = kv; p < k; ++p)
        for (i = 0; i < mr; ++i) {
            TG_T ai = a[i * rsa + p];
            for (j = 0; j < nc; ++j)
                r[i][j] += ai * bt[j * ldb + p];
        }
    for (i = 0; i < mr; ++i)
        for (j = 0; j < nc; ++j) {
            TG_T *cp = c + i * rsc + j * csc;
            if (beta == (TG_T)0)
                *cp = alpha * r[i][j];
            else
                *cp = alpha * r[i][j] + beta * *cp;
        }
}

static inline __attribute__((always_inline)) void TGN(tg_dot_nc)(
    const int mr, int nc, int64_t k, const TG_T *a, int64_t rsa, const TG_T *bt, int64_t ldb, TG_T alpha,
    TG_T beta, TG_T *c, int64_t rsc, int64_t csc)
{
    switch (nc) {
#if TG_DT_NC >= 4
    case 4:
        TGN(tg_dot_block)(mr, 4, k, a, rsa, bt, ldb, alpha, beta, c, rsc, csc);
        break;
#endif
    case 3:
        TGN(tg_dot_block)(mr, 3, k, a, rsa, bt, ldb, alpha, beta, c, rsc, csc);
        break;
    case 2:
        TGN(tg_dot_block)(mr, 2, k, a, rsa, bt, ldb, alpha, beta, c, rsc, csc);
        break;
    default:
        TGN(tg_dot_block)(mr, 1, k, a, rsa, bt, ldb, alpha, beta, c, rsc, csc);
        break;
    }
}

/* column blocks of at most DT_NC, balanced (n = 10 -> 4, 3, 3 at DT_NC 4) */
static void TGN(tg_dot_rows)(int mr, int64_t n, int64_t k, const TG_T *a, int64_t rsa, const TG_T *bt,
                             int64_t ldb, TG_T alpha, TG_T beta, TG_T *c, int64_t rsc, int64_t csc)
{
    int64_t nblk = (n + TG_DT_NC - 1) / TG_DT_NC, j0 = 0, b;
    for (b = 0; b < nblk; ++b) {
        int nc = (int)((n - j0) / (nblk - b) + ((n - j0) % (nblk - b) != 0));
        if (mr == TG_DT_MR)
            TGN(tg_dot_nc)(TG_DT_MR, nc, k, a, rsa, bt + j0 * ldb, ldb, alpha, beta, c + j0 * csc, rsc, csc);
        else
            TGN(tg_dot_nc)(1, nc, k, a, rsa, bt + j0 * ldb, ldb, alpha, beta, c + j0 * csc, rsc, csc);
        j0 += nc;
    }
}

static int TGN(tg_gemm_dot)(const tg_gemm_args *g)
{
    const int64_t m = g->m, n = g->n, k = g->k;
    const TG_T alpha = (TG_T)g->alpha;
    const TG_T beta = (TG_T)g->beta;
    const TG_T *A = (const TG_T *)g->a;
    const TG_T *B = (const TG_T *)g->b;
    TG_T *C = (TG_T *)g->c;
    const int64_t rsc = g->rsc, csc = g->csc;
    const int64_t ldb = k;
    const TG_T *am = A;
    const int64_t rsa = g->rsa;
    int64_t i, j, p;
    TG_T *bt = (TG_T *)tg_gemm_buffer(1, (size_t)n * (size_t)ldb * sizeof(TG_T));
    if (bt == NULL)
        return -1;
    for (j = 0; j < n; ++j) {
        const TG_T *src = B + j * g->csb;
        TG_T *d = bt + j * ldb;
        for (p = 0; p < k; ++p)
            d[p] = src[p * g->rsb];
    }
    for (i = 0; i + TG_DT_MR <= m; i += TG_DT_MR) {
        TGN(tg_dot_rows)(TG_DT_MR, n, k, am + i * rsa, rsa, bt, ldb, alpha, beta, C + i * rsc, rsc, csc);
        TGN(tg_epilogue)(g, i, 0, TG_DT_MR, n);
    }
    for (; i < m; ++i) {
        TGN(tg_dot_rows)(1, n, k, am + i * rsa, rsa, bt, ldb, alpha, beta, C + i * rsc, rsc, csc);
        TGN(tg_epilogue)(g, i, 0, 1, n);
    }
    return 0;
}
#undef TG_DT_NC
#undef TG_DT_MR

static int TGN(tg_gemm_small)(const tg_gemm_args *g)
{
    const int64_t m = g->m, n = g->n, k = g->k;
    const TG_T alpha = (TG_T)g->alpha;
    const TG_T beta = (TG_T)g->beta;
    const TG_T *A = (const TG_T *)g->a;
    const TG_T *B = (const TG_T *)g->b;
    TG_T *C = (TG_T *)g->c;
    const int64_t rsa = g->rsa, csa = g->csa, rsc = g->rsc, csc = g->csc;
    const TG_T *bm; /* B in place or packed: contiguous rows, row stride rsm */
    int64_t rsm, nmain, i0, p, j;
    const TG_T *bt = NULL; /* zero-padded strip of the last n - nmain columns */

    if (n < TG_DOT_NMAX && k >= TG_VL && g->csa == 1)
        return TGN(tg_gemm_dot)(g);
    if (n < TG_DOT_NMAX && m >= TG_DOT_NMAX && g->rsa == 1 && g->csa != 1) {
        /* narrow n, column-major A: C^T = B^T A^T, where A^T has contiguous
         * rows and n becomes the (unvectorised) row count; m >= NMAX, so the
         * swapped problem never swaps back */
        tg_gemm_args t = *g;
        t.m = n;
        t.n = m;
        t.a = g->b;
        t.rsa = g->csb;
        t.csa = g->rsb;
        t.b = g->a;
        t.rsb = g->csa;
        t.csb = g->rsa;
        t.rsc = g->csc;
        t.csc = g->rsc;
        t.brs = g->bcs;
        t.bcs = g->brs;
        return TGN(tg_gemm_small)(&t);
    }

    if (g->csb == 1) {
        bm = B;
        rsm = g->rsb;
        nmain = n / TG_VL * TG_VL;
        if (nmain < n) {
            int64_t nt = n - nmain;
            TG_T *buf = (TG_T *)tg_gemm_buffer(1, (size_t)k * TG_VL * sizeof(TG_T));
            if (buf == NULL)
                return -1;
            for (p = 0; p < k; ++p) {
                const TG_T *src = B + p * g->rsb + nmain;
                for (j = 0; j < nt; ++j)
                    buf[p * TG_VL + j] = src[j];
                for (; j < TG_VL; ++j)
                    buf[p * TG_VL + j] = (TG_T)0;
            }
            bt = buf;
        }
    } else {
        int64_t npad = (n + TG_VL - 1) / TG_VL * TG_VL;
        TG_T *buf = (TG_T *)tg_gemm_buffer(1, (size_t)k * (size_t)npad * sizeof(TG_T));
        if (buf == NULL)
            return -1;
        for (p = 0; p < k; ++p) {
            const TG_T *src = B + p * g->rsb;
            TG_T *d = buf + p * npad;
            for (j = 0; j < n; ++j)
                d[j] = src[j * g->csb];
            for (; j < npad; ++j)
                d[j] = (TG_T)0;
        }
        bm = buf;
        rsm = npad;
        nmain = n;
    }

    for (i0 = 0; i0 < m; i0 += TG_SM_MR) {
        int mrr = m - i0 < TG_SM_MR ? (int)(m - i0) : TG_SM_MR;
        const TG_T *ai = A + i0 * rsa;
        TG_T *ci = C + i0 * rsc;
        int64_t nvec = (nmain + TG_VL - 1) / TG_VL;
        if (nvec > 0)
            TGN(tg_small_rows)(mrr, k, ai, rsa, csa, bm, rsm, nvec, nmain, alpha, beta, ci, rsc, csc);
        if (bt != NULL)
            TGN(tg_small_rows)(mrr, k, ai, rsa, csa, bt, TG_VL, 1, n - nmain, alpha, beta, ci + nmain * csc, rsc,
                               csc);
        TGN(tg_epilogue)(g, i0, 0, mrr, n);
    }
    return 0;
}
#undef TG_DOT_NMAX
#undef TG_VL
#else
/* generic: plain loops over contiguous C rows (the compiler vectorises the
 * inner j loop for the baseline ISA); B any strides. */
static int TGN(tg_gemm_small)(const tg_gemm_args *g)
{
    const int64_t m = g->m, n = g->n, k = g->k;
    const TG_T alpha = (TG_T)g->alpha;
    const TG_T beta = (TG_T)g->beta;
    const TG_T *A = (const TG_T *)g->a;
    const TG_T *B = (const TG_T *)g->b;
    TG_T *C = (TG_T *)g->c;
    TG_T row[256];
    int64_t i, j, j0, p;
    for (i = 0; i < m; ++i) {
        for (j0 = 0; j0 < n; j0 += 256) {
            int64_t nj = n - j0 < 256 ? n - j0 : 256;
            TG_T *ci = C + i * g->rsc + j0 * g->csc;
            for (j = 0; j < nj; ++j)
                row[j] = (TG_T)0;
            for (p = 0; p < k; ++p) {
                const TG_T aip = A[i * g->rsa + p * g->csa];
                const TG_T *bp = B + p * g->rsb + j0 * g->csb;
                if (g->csb == 1)
                    for (j = 0; j < nj; ++j)
                        row[j] += aip * bp[j];
                else
                    for (j = 0; j < nj; ++j)
                        row[j] += aip * bp[j * g->csb];
            }
            if (beta == (TG_T)0)
                for (j = 0; j < nj; ++j)
                    ci[j * g->csc] = alpha * row[j];
            else
                for (j = 0; j < nj; ++j)
                    ci[j * g->csc] = alpha * row[j] + beta * ci[j * g->csc];
        }
        TGN(tg_epilogue)(g, i, 0, 1, n);
    }
    return 0;
}
#endif

/* ---- driver ------------------------------------------------------------- */

static void TGN(tg_gemm)(const tg_gemm_args *g, int nth)
{
    const int64_t m = g->m, n = g->n, k = g->k;
    const TG_T alpha = (TG_T)g->alpha;
    const TG_T beta = (TG_T)g->beta;
    const TG_T *A = (const TG_T *)g->a;
    const TG_T *B = (const TG_T *)g->b;
    TG_T *C = (TG_T *)g->c;
    const int64_t nc_max = n < TG_NC ? n : TG_NC;
    const int64_t kc_max = k < TG_KC ? k : TG_KC;
    int64_t mc, nblk;
    TG_T *bpack;

#ifdef TG_HAVE_OPENMP
    if (nth > 1 && m <= TG_GEMM_NSPLIT_MAX_M && n >= (int64_t)nth * 2 * TG_NR) {
        /* Few rows (an MLP's batch): split the columns instead, one
         * independent single-threaded product per thread, each packing its
         * own B columns (and all of A, which is small). Splitting 128 rows
         * into 2 x 64 measured 1.12x over one thread at 128x784x256. */
        const int64_t per = ((n + nth - 1) / nth + TG_NR - 1) / TG_NR * TG_NR;
#pragma omp parallel num_threads(nth)
        {
            const int64_t j0 = (int64_t)omp_get_thread_num() * per;
            if (j0 < n) {
                tg_gemm_args sub = *g;
                sub.n = n - j0 < per ? n - j0 : per;
                sub.b = (const TG_T *)g->b + j0 * g->csb;
                sub.c = (TG_T *)g->c + j0 * g->csc;
                if (sub.bias != NULL)
                    sub.bias = (const TG_T *)sub.bias + j0 * sub.bcs;
                TGN(tg_gemm)(&sub, 1);
            }
        }
        return;
    }
#endif
    /* Row blocks: at most MC tall, as many as a multiple of the thread count
     * (so 2 threads get equal shares), each a multiple of MR. */
    nblk = (m + TG_MC - 1) / TG_MC;
    if (nth > 1) {
        nblk = (nblk + nth - 1) / nth * nth;
        if (nblk * TG_MR > m)
            nblk = (m + TG_MR - 1) / TG_MR;
    }
    mc = (m + nblk - 1) / nblk;
    mc = (mc + TG_MR - 1) / TG_MR * TG_MR;
    nblk = (m + mc - 1) / mc;
    if (nblk < nth)
        nth = (int)nblk;
    if (nth < 1)
        nth = 1;

    bpack = (TG_T *)tg_gemm_buffer(1, (size_t)kc_max * (size_t)((nc_max + TG_NR - 1) / TG_NR * TG_NR) * sizeof(TG_T));
    if (bpack == NULL) {
        g->status[0] = -1;
        return;
    }

#ifdef TG_HAVE_OPENMP
#pragma omp parallel num_threads(nth) if (parallel : nth > 1)
#endif
    {
        int64_t jc, pc, ib, jp;
        TG_T acc[TG_MR * TG_NR] __attribute__((aligned(64)));
        TG_T *apack = (TG_T *)tg_gemm_buffer(0, (size_t)kc_max * (size_t)mc * sizeof(TG_T));
        int ok = apack != NULL;
        if (!ok)
            g->status[0] = -1; /* benign race: every writer stores -1 */

        for (jc = 0; jc < n; jc += TG_NC) {
            int64_t nc = n - jc < TG_NC ? n - jc : TG_NC;
            int64_t npan = (nc + TG_NR - 1) / TG_NR;
            for (pc = 0; pc < k; pc += TG_KC) {
                int64_t kc = k - pc < TG_KC ? k - pc : TG_KC;
                TG_T beta_eff = pc == 0 ? beta : (TG_T)1;
#ifdef TG_HAVE_OPENMP
#pragma omp for schedule(static)
#endif
                for (jp = 0; jp < npan; ++jp)
                    TGN(tg_pack_b)(kc, nc, B + pc * g->rsb + jc * g->csb, g->rsb, g->csb, bpack, jp, jp + 1);
                /* implicit barrier: B packed */
#ifdef TG_HAVE_OPENMP
#pragma omp for schedule(static)
#endif
                for (ib = 0; ib < nblk; ++ib) {
                    int64_t ic = ib * mc;
                    int64_t mcc = m - ic < mc ? m - ic : mc;
                    int64_t jr, ir;
                    if (!ok)
                        continue;
                    TGN(tg_pack_a)(mcc, kc, A + ic * g->rsa + pc * g->csa, g->rsa, g->csa, apack);
                    for (jr = 0; jr < nc; jr += TG_NR) {
                        int64_t nr = nc - jr < TG_NR ? nc - jr : TG_NR;
                        const TG_T *bp = bpack + (jr / TG_NR) * kc * TG_NR;
                        for (ir = 0; ir < mcc; ir += TG_MR) {
                            int64_t mr = mcc - ir < TG_MR ? mcc - ir : TG_MR;
                            TGN(tg_ukernel)(kc, apack + (ir / TG_MR) * kc * TG_MR, bp, acc);
                            TGN(tg_store)(mr, nr, acc, alpha, beta_eff, C + (ic + ir) * g->rsc + (jc + jr) * g->csc,
                                          g->rsc, g->csc);
                            if (pc + kc >= k)
                                TGN(tg_epilogue)(g, ic + ir, jc + jr, mr, nr);
                        }
                    }
                }
                /* implicit barrier: nobody still reads bpack */
            }
        }
    }
}

#undef TG_PVL
#undef TGN
#undef TG_SUFFIX
#undef TG_T
#undef TG_MR
#undef TG_NR
#undef TG_VB
#undef TG_KC
#undef TG_MC
#undef TG_NC
#undef TG_SM_MR
#undef TG_SM_NV
#undef TG_VLEN
