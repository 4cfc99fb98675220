/*
 * optim_impl.h -- per-segment bodies of the fused optimizer steps, included
 * once per ISA by optim.c with TG_SUFFIX (generic, avx2, avx512) defined.
 * The file includes itself twice more, with TG_OPT_T = float and double, to
 * define the float32 and float64 bodies, then builds the ISA's table.
 *
 * Each segment function updates elements [lo, hi) of tensor i: it computes
 * the tensor's host scalars in double (as torch does on the host), casts
 * them to the element type where torch casts a Scalar argument, and runs one
 * `omp simd` loop. The loops are always_inline functions taking the option
 * flags as arguments; every call passes literal flags, so each combination
 * becomes its own branch-free loop. Each iteration reads all inputs of its
 * element before writing, and no `restrict` is used.
 */
#ifndef TG_OPT_T
/* ======================================================================== */
/* outer level: once per ISA                                                 */
/* ======================================================================== */
#ifndef TG_SUFFIX
#error "define TG_SUFFIX before including optim_impl.h"
#endif

#define TG_OPT_T float
#define TG_OPT_S f32
#define TG_OPT_SQRT __builtin_sqrtf
#define TG_OPT_F32 1
#include "optim_impl.h"
#undef TG_OPT_T
#undef TG_OPT_S
#undef TG_OPT_SQRT
#undef TG_OPT_F32

#define TG_OPT_T double
#define TG_OPT_S f64
#define TG_OPT_SQRT __builtin_sqrt
#define TG_OPT_F32 0
#include "optim_impl.h"
#undef TG_OPT_T
#undef TG_OPT_S
#undef TG_OPT_SQRT
#undef TG_OPT_F32

#define TGO_TAB(name, s) TG_CAT(TG_CAT(name, s), TG_SUFFIX)
static const tg_optim_table TG_CAT(tg_optim_table, TG_SUFFIX) = {
    TGO_TAB(sgd_seg, f32),      TGO_TAB(sgd_seg, f64),      TGO_TAB(adam_seg, f32),
    TGO_TAB(adam_seg, f64),     TGO_TAB(rmsprop_seg, f32),  TGO_TAB(rmsprop_seg, f64),
    TGO_TAB(adagrad_seg, f32),  TGO_TAB(adagrad_seg, f64),  TGO_TAB(adadelta_seg, f32),
    TGO_TAB(adadelta_seg, f64), TGO_TAB(adamax_seg, f32),   TGO_TAB(adamax_seg, f64),
    TGO_TAB(nadam_seg, f32),    TGO_TAB(nadam_seg, f64),
};
#undef TGO_TAB

#undef TG_SUFFIX
#undef TG_USE_FMA

#else /* TG_OPT_T */
/* ======================================================================== */
/* inner level: once per ISA and element type                              */
/* ======================================================================== */
#define T TG_OPT_T
#define SQRT TG_OPT_SQRT
#define TGO(name) TG_CAT(TG_CAT(name, TG_OPT_S), TG_SUFFIX)

/* torch's lerp with a scalar weight w: |w| < 0.5 ? a + w*(b-a)
 * : b - (b-a)*(1-w), written as base + coef*(b-a) with base = a or b and
 * coef = w or -(1-w) (the same roundings: negation is exact). */
typedef struct {
    T coef;
    int small;
} TGO(tg_lerp_w);

static inline TGO(tg_lerp_w) TGO(lerp_weight)(double weight)
{
    TGO(tg_lerp_w) r;
    const T w = (T)weight;
    r.small = (w < 0 ? -w : w) < (T)0.5;
    r.coef = r.small ? w : -((T)1 - w);
    return r;
}

/* x / c for a divisor c that is the same for the whole loop, as DIVC(x, cd)
 * with cd = DIVC_PREP(c). float32: x * (1/c) in double, rounded once to
 * float, which equals the float division x / c for every x (no -ffast-math
 * involved): for floats a, b with 24-bit significands A, B, a/b is never a
 * float rounding midpoint (M odd with 25 bits, M*B has more than 24 bits)
 * and lies at least 1/(M*B) > 2^-49 (relative) from every midpoint, while
 * the double product a*RN(1/b) is within 2^-51.9 of a/b; so both round to
 * the same float, overflow, underflow, inf, NaN and zero included. It moves
 * the work from the divider (shared with sqrt, the bottleneck of Adam) to
 * the multiply and convert pipes. float64: a plain division. */
#if TG_OPT_F32
typedef double TGO(divc_t);
#define DIVC_PREP(c) (1.0 / (double)(c))
#define DIVC(x, cd) ((float)((double)(x) * (cd)))
#else
typedef double TGO(divc_t);
#define DIVC_PREP(c) (c)
#define DIVC(x, cd) ((x) / (cd))
#endif

#define LERP(a, b, lw) (((lw).small ? (a) : (b)) + (lw).coef * ((b) - (a)))
/* torch.maximum: NaN in either argument gives NaN */
#define MAXNAN(a, b) (((a) >= (b) || (a) != (a)) ? (a) : (b))

/* ------------------------------------------------------------------------ */
/* SGD                                                                       */
/* ------------------------------------------------------------------------ */
TG_INLINE void TGO(sgd_loop)(int64_t n, T *p, const T *g, T *buf, T sgn, T wd, T mom, T damp1, T nlr, const int l2,
                             const int use_mom, const int first, const int nesterov)
{
    int64_t j;
    TG_OMP(simd)
    for (j = 0; j < n; ++j) {
        T pj = p[j], gj = g[j] * sgn;
        if (l2)
            gj = gj + wd * pj;
        if (use_mom) {
            T bj;
            if (first)
                bj = gj;
            else {
                bj = buf[j] * mom;
                bj = bj + damp1 * gj;
            }
            buf[j] = bj;
            gj = nesterov ? gj + mom * bj : bj;
        }
        p[j] = pj + nlr * gj;
    }
}

static void TGO(sgd_seg)(const tg_optim_ctx *c, int64_t i, int64_t lo, int64_t hi)
{
    const tg_sgd_opts *o = (const tg_sgd_opts *)c->opts;
    const int64_t n = hi - lo;
    T *p = (T *)c->a[0][i] + lo;
    const T *g = (const T *)c->a[1][i] + lo;
    const T sgn = o->maximize ? (T)-1 : (T)1, wd = (T)o->weight_decay, mom = (T)o->momentum;
    const T damp1 = (T)(1.0 - o->dampening), nlr = (T)(-o->lr);
    const int l2 = o->weight_decay != 0;
    if (o->momentum == 0) {
        if (l2)
            TGO(sgd_loop)(n, p, g, 0, sgn, wd, mom, damp1, nlr, 1, 0, 0, 0);
        else
            TGO(sgd_loop)(n, p, g, 0, sgn, wd, mom, damp1, nlr, 0, 0, 0, 0);
        return;
    }
    {
        T *b = (T *)c->a[2][i] + lo;
#define SGD_CALL(L2, F, N) TGO(sgd_loop)(n, p, g, b, sgn, wd, mom, damp1, nlr, L2, 1, F, N)
        if (o->first_step) {
            if (o->nesterov) {
                if (l2)
                    SGD_CALL(1, 1, 1);
                else
                    SGD_CALL(0, 1, 1);
            } else {
                if (l2)
                    SGD_CALL(1, 1, 0);
                else
                    SGD_CALL(0, 1, 0);
            }
        } else {
            if (o->nesterov) {
                if (l2)
                    SGD_CALL(1, 0, 1);
                else
                    SGD_CALL(0, 0, 1);
            } else {
                if (l2)
                    SGD_CALL(1, 0, 0);
                else
                    SGD_CALL(0, 0, 0);
            }
        }
#undef SGD_CALL
    }
}

/* ------------------------------------------------------------------------ */
/* Adam / AdamW                                                              */
/* ------------------------------------------------------------------------ */
TG_INLINE void TGO(adam_loop)(int64_t n, T *p, const T *g, T *m, T *v, T *vmax, T sgn, T wd, T decay,
                              TGO(tg_lerp_w) lw, T b2, T c2, TGO(divc_t) bc2s, T eps, T nss, const int wdmode,
                              const int ams)
{
    int64_t j;
    TG_OMP(simd)
    for (j = 0; j < n; ++j) {
        T pj = p[j], gj = g[j] * sgn, mj = m[j], vj = v[j], d;
        if (wdmode == 1)
            gj = gj + wd * pj;
        else if (wdmode == 2)
            pj = pj * decay;
        mj = LERP(mj, gj, lw);
        vj = vj * b2;
        vj = vj + (c2 * gj) * gj;
        if (ams) {
            T mx = vmax[j];
            mx = MAXNAN(mx, vj);
            vmax[j] = mx;
            d = DIVC(SQRT(mx), bc2s) + eps;
        } else {
            d = DIVC(SQRT(vj), bc2s) + eps;
        }
        m[j] = mj;
        v[j] = vj;
        p[j] = pj + (nss * mj) / d;
    }
}

static void TGO(adam_seg)(const tg_optim_ctx *c, int64_t i, int64_t lo, int64_t hi)
{
    const tg_adam_opts *o = (const tg_adam_opts *)c->opts;
    const int64_t n = hi - lo;
    T *p = (T *)c->a[0][i] + lo;
    const T *g = (const T *)c->a[1][i] + lo;
    T *m = (T *)c->a[2][i] + lo;
    T *v = (T *)c->a[3][i] + lo;
    T *vmax = o->amsgrad ? (T *)c->a[4][i] + lo : (T *)0;
    const double step = (double)c->steps[i];
    const double bc1 = 1.0 - pow(o->beta1, step), bc2 = 1.0 - pow(o->beta2, step);
    const double step_size = o->lr / bc1, bc2_sqrt = pow(bc2, 0.5);
    const T sgn = o->maximize ? (T)-1 : (T)1, wd = (T)o->weight_decay, decay = (T)(1.0 - o->lr * o->weight_decay);
    const T b2 = (T)o->beta2, c2 = (T)(1.0 - o->beta2), eps = (T)o->eps, nss = (T)(-step_size);
    const TGO(divc_t) bs = DIVC_PREP((T)bc2_sqrt);
    const TGO(tg_lerp_w) lw = TGO(lerp_weight)(1.0 - o->beta1);
    const int wdmode = o->weight_decay == 0 ? 0 : (o->decoupled_weight_decay ? 2 : 1);
#define ADAM_CALL(W, A) TGO(adam_loop)(n, p, g, m, v, vmax, sgn, wd, decay, lw, b2, c2, bs, eps, nss, W, A)
    if (o->amsgrad) {
        if (wdmode == 0)
            ADAM_CALL(0, 1);
        else if (wdmode == 1)
            ADAM_CALL(1, 1);
        else
            ADAM_CALL(2, 1);
    } else {
        if (wdmode == 0)
            ADAM_CALL(0, 0);
        else if (wdmode == 1)
            ADAM_CALL(1, 0);
        else
            ADAM_CALL(2, 0);
    }
#undef ADAM_CALL
}

/* ------------------------------------------------------------------------ */
/* RMSprop                                                                   */
/* ------------------------------------------------------------------------ */
TG_INLINE void TGO(rmsprop_loop)(int64_t n, T *p, const T *g, T *sq, T *ga, T *buf, T sgn, T wd, T alpha, T c1,
                                 TGO(tg_lerp_w) lw, T eps, T mom, T nlr, const int l2, const int centered,
                                 const int use_mom)
{
    int64_t j;
    TG_OMP(simd)
    for (j = 0; j < n; ++j) {
        T pj = p[j], gj = g[j] * sgn, sj = sq[j], avg;
        if (l2)
            gj = gj + wd * pj;
        sj = sj * alpha;
        sj = sj + (c1 * gj) * gj;
        if (centered) {
            T aj = ga[j];
            aj = LERP(aj, gj, lw);
            ga[j] = aj;
            avg = SQRT(sj + ((T)-1 * aj) * aj);
        } else {
            avg = SQRT(sj);
        }
        avg = avg + eps;
        sq[j] = sj;
        if (use_mom) {
            T bj = buf[j] * mom;
            bj = bj + ((T)1 * gj) / avg;
            buf[j] = bj;
            p[j] = pj + nlr * bj;
        } else {
            p[j] = pj + (nlr * gj) / avg;
        }
    }
}

static void TGO(rmsprop_seg)(const tg_optim_ctx *c, int64_t i, int64_t lo, int64_t hi)
{
    const tg_rmsprop_opts *o = (const tg_rmsprop_opts *)c->opts;
    const int64_t n = hi - lo;
    const int l2 = o->weight_decay != 0, centered = o->centered != 0, use_mom = o->momentum > 0;
    T *p = (T *)c->a[0][i] + lo;
    const T *g = (const T *)c->a[1][i] + lo;
    T *sq = (T *)c->a[2][i] + lo;
    T *ga = centered ? (T *)c->a[3][i] + lo : (T *)0;
    T *buf = use_mom ? (T *)c->a[4][i] + lo : (T *)0;
    const T sgn = o->maximize ? (T)-1 : (T)1, wd = (T)o->weight_decay, alpha = (T)o->alpha;
    const T c1 = (T)(1.0 - o->alpha), eps = (T)o->eps, mom = (T)o->momentum, nlr = (T)(-o->lr);
    const TGO(tg_lerp_w) lw = TGO(lerp_weight)(1.0 - o->alpha);
    const int combo = l2 * 4 + centered * 2 + use_mom;
#define RMS_CALL(L, C, M) TGO(rmsprop_loop)(n, p, g, sq, ga, buf, sgn, wd, alpha, c1, lw, eps, mom, nlr, L, C, M)
    switch (combo) {
    case 0: RMS_CALL(0, 0, 0); break;
    case 1: RMS_CALL(0, 0, 1); break;
    case 2: RMS_CALL(0, 1, 0); break;
    case 3: RMS_CALL(0, 1, 1); break;
    case 4: RMS_CALL(1, 0, 0); break;
    case 5: RMS_CALL(1, 0, 1); break;
    case 6: RMS_CALL(1, 1, 0); break;
    default: RMS_CALL(1, 1, 1); break;
    }
#undef RMS_CALL
}

/* ------------------------------------------------------------------------ */
/* Adagrad                                                                   */
/* ------------------------------------------------------------------------ */
TG_INLINE void TGO(adagrad_loop)(int64_t n, T *p, const T *g, T *s, T sgn, T wd, T eps, T nclr, const int l2)
{
    int64_t j;
    TG_OMP(simd)
    for (j = 0; j < n; ++j) {
        T pj = p[j], gj = g[j] * sgn, sj = s[j], std;
        if (l2)
            gj = gj + wd * pj;
        sj = sj + ((T)1 * gj) * gj;
        std = SQRT(sj) + eps;
        s[j] = sj;
        p[j] = pj + (nclr * gj) / std;
    }
}

static void TGO(adagrad_seg)(const tg_optim_ctx *c, int64_t i, int64_t lo, int64_t hi)
{
    const tg_adagrad_opts *o = (const tg_adagrad_opts *)c->opts;
    const int64_t n = hi - lo;
    T *p = (T *)c->a[0][i] + lo;
    const T *g = (const T *)c->a[1][i] + lo;
    T *s = (T *)c->a[2][i] + lo;
    const double step = (double)c->steps[i];
    const double clr = o->lr / (1 + (step - 1) * o->lr_decay);
    const T sgn = o->maximize ? (T)-1 : (T)1, wd = (T)o->weight_decay, eps = (T)o->eps, nclr = (T)(-clr);
    if (o->weight_decay != 0)
        TGO(adagrad_loop)(n, p, g, s, sgn, wd, eps, nclr, 1);
    else
        TGO(adagrad_loop)(n, p, g, s, sgn, wd, eps, nclr, 0);
}

/* ------------------------------------------------------------------------ */
/* Adadelta                                                                  */
/* ------------------------------------------------------------------------ */
TG_INLINE void TGO(adadelta_loop)(int64_t n, T *p, const T *g, T *sa, T *ad, T sgn, T wd, T rho, T c1, T eps, T nlr,
                                  const int l2)
{
    int64_t j;
    TG_OMP(simd)
    for (j = 0; j < n; ++j) {
        T pj = p[j], gj = g[j] * sgn, sj = sa[j], aj = ad[j], std, delta;
        if (l2)
            gj = gj + wd * pj;
        sj = sj * rho;
        sj = sj + (c1 * gj) * gj;
        std = SQRT(sj + eps);
        delta = SQRT(aj + eps);
        delta = delta / std;
        delta = delta * gj;
        aj = aj * rho;
        aj = aj + (c1 * delta) * delta;
        sa[j] = sj;
        ad[j] = aj;
        p[j] = pj + nlr * delta;
    }
}

static void TGO(adadelta_seg)(const tg_optim_ctx *c, int64_t i, int64_t lo, int64_t hi)
{
    const tg_adadelta_opts *o = (const tg_adadelta_opts *)c->opts;
    const int64_t n = hi - lo;
    T *p = (T *)c->a[0][i] + lo;
    const T *g = (const T *)c->a[1][i] + lo;
    T *sa = (T *)c->a[2][i] + lo;
    T *ad = (T *)c->a[3][i] + lo;
    const T sgn = o->maximize ? (T)-1 : (T)1, wd = (T)o->weight_decay, rho = (T)o->rho;
    const T c1 = (T)(1.0 - o->rho), eps = (T)o->eps, nlr = (T)(-o->lr);
    if (o->weight_decay != 0)
        TGO(adadelta_loop)(n, p, g, sa, ad, sgn, wd, rho, c1, eps, nlr, 1);
    else
        TGO(adadelta_loop)(n, p, g, sa, ad, sgn, wd, rho, c1, eps, nlr, 0);
}

/* ------------------------------------------------------------------------ */
/* Adamax                                                                    */
/* ------------------------------------------------------------------------ */
TG_INLINE void TGO(adamax_loop)(int64_t n, T *p, const T *g, T *m, T *u, T sgn, T wd, TGO(tg_lerp_w) lw, T b2, T eps,
                                T nclr, const int l2)
{
    int64_t j;
    TG_OMP(simd)
    for (j = 0; j < n; ++j) {
        T pj = p[j], gj = g[j] * sgn, mj = m[j], uj = u[j], ag;
        if (l2)
            gj = gj + wd * pj;
        mj = LERP(mj, gj, lw);
        uj = uj * b2;
        ag = (gj < 0 ? -gj : gj) + eps;
        uj = MAXNAN(uj, ag);
        m[j] = mj;
        u[j] = uj;
        p[j] = pj + (nclr * mj) / uj;
    }
}

static void TGO(adamax_seg)(const tg_optim_ctx *c, int64_t i, int64_t lo, int64_t hi)
{
    const tg_adamax_opts *o = (const tg_adamax_opts *)c->opts;
    const int64_t n = hi - lo;
    T *p = (T *)c->a[0][i] + lo;
    const T *g = (const T *)c->a[1][i] + lo;
    T *m = (T *)c->a[2][i] + lo;
    T *u = (T *)c->a[3][i] + lo;
    const double step = (double)c->steps[i];
    const double clr = o->lr / (1.0 - pow(o->beta1, step));
    const T sgn = o->maximize ? (T)-1 : (T)1, wd = (T)o->weight_decay, b2 = (T)o->beta2, eps = (T)o->eps;
    const T nclr = (T)(-clr);
    const TGO(tg_lerp_w) lw = TGO(lerp_weight)(1.0 - o->beta1);
    if (o->weight_decay != 0)
        TGO(adamax_loop)(n, p, g, m, u, sgn, wd, lw, b2, eps, nclr, 1);
    else
        TGO(adamax_loop)(n, p, g, m, u, sgn, wd, lw, b2, eps, nclr, 0);
}

/* ------------------------------------------------------------------------ */
/* NAdam                                                                     */
/* ------------------------------------------------------------------------ */
TG_INLINE void TGO(nadam_loop)(int64_t n, T *p, const T *g, T *m, T *v, T sgn, T wd, T decay, TGO(tg_lerp_w) lw,
                               T b2, T c2, TGO(divc_t) bc2, T eps, T cg, T cm, const int wdmode)
{
    int64_t j;
    TG_OMP(simd)
    for (j = 0; j < n; ++j) {
        T pj = p[j], gj = g[j] * sgn, mj = m[j], vj = v[j], d;
        if (wdmode == 1)
            gj = gj + wd * pj;
        else if (wdmode == 2)
            pj = pj * decay;
        mj = LERP(mj, gj, lw);
        vj = vj * b2;
        vj = vj + (c2 * gj) * gj;
        d = SQRT(DIVC(vj, bc2)) + eps;
        pj = pj + (cg * gj) / d;
        m[j] = mj;
        v[j] = vj;
        p[j] = pj + (cm * mj) / d;
    }
}

static void TGO(nadam_seg)(const tg_optim_ctx *c, int64_t i, int64_t lo, int64_t hi)
{
    const tg_nadam_opts *o = (const tg_nadam_opts *)c->opts;
    const int64_t n = hi - lo;
    T *p = (T *)c->a[0][i] + lo;
    const T *g = (const T *)c->a[1][i] + lo;
    T *m = (T *)c->a[2][i] + lo;
    T *v = (T *)c->a[3][i] + lo;
    const double *k = c->coefs + 3 * i;
    const T sgn = o->maximize ? (T)-1 : (T)1, wd = (T)o->weight_decay, decay = (T)(1.0 - o->lr * o->weight_decay);
    const T b2 = (T)o->beta2, c2 = (T)(1.0 - o->beta2), eps = (T)o->eps;
    const T cg = (T)k[1], cm = (T)k[2];
    const TGO(divc_t) bc2 = DIVC_PREP((T)k[0]);
    const TGO(tg_lerp_w) lw = TGO(lerp_weight)(1.0 - o->beta1);
    const int wdmode = o->weight_decay == 0 ? 0 : (o->decoupled_weight_decay ? 2 : 1);
    if (wdmode == 0)
        TGO(nadam_loop)(n, p, g, m, v, sgn, wd, decay, lw, b2, c2, bc2, eps, cg, cm, 0);
    else if (wdmode == 1)
        TGO(nadam_loop)(n, p, g, m, v, sgn, wd, decay, lw, b2, c2, bc2, eps, cg, cm, 1);
    else
        TGO(nadam_loop)(n, p, g, m, v, sgn, wd, decay, lw, b2, c2, bc2, eps, cg, cm, 2);
}

#undef DIVC
#undef DIVC_PREP
#undef LERP
#undef MAXNAN
#undef TGO
#undef SQRT
#undef T
#endif /* TG_OPT_T */
