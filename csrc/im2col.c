/*
 * im2col.c -- 2-D convolution (im2col + GEMM per sample) and max pooling.
 * Interface and semantics: tg_conv.h. The body is written once in
 * conv_impl.h and compiled for float and double.
 *
 * No per-ISA variants: im2col/col2im and pooling move memory, and the GEMM
 * they call dispatches on the SIMD level itself.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tg_conv.h"
#include "tg_dispatch.h"
#include "tg_kernels.h"

#if defined(__GNUC__) || defined(__clang__)
#define TG_CONV_TLS __thread
#else
#define TG_CONV_TLS _Thread_local
#endif

/* One columns buffer per thread, kept between calls (a CNN step calls the
 * kernels many times with the same sizes; malloc'ing 100 KB each time costs
 * page faults). Like the GEMM's packing buffers, it lives as long as the
 * thread. NULL when out of memory. */
static TG_CONV_TLS void *tg_conv_buf;
static TG_CONV_TLS size_t tg_conv_buf_size;

static void *tg_conv_buffer(size_t size)
{
    if (size == 0)
        size = 64;
    if (tg_conv_buf_size < size) {
        void *p = NULL;
        size = (size + 4095) & ~(size_t)4095;
        free(tg_conv_buf);
        tg_conv_buf = NULL;
        tg_conv_buf_size = 0;
        if (posix_memalign(&p, 64, size) != 0)
            return NULL;
        tg_conv_buf = p;
        tg_conv_buf_size = size;
    }
    return tg_conv_buf;
}

/* [lo, hi): the outputs o in [0, n_out) whose input o*stride + off lies in
 * [0, size). */
static void tg_conv_range(int64_t off, int64_t stride, int64_t size, int64_t n_out, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t b = size - off <= 0 ? 0 : (size - off + stride - 1) / stride;
    if (a > n_out)
        a = n_out;
    if (b > n_out)
        b = n_out;
    if (b < a)
        b = a;
    *lo = a;
    *hi = b;
}

/* Extent of the padded plane every window fits in. */
static int64_t tg_conv_hp(const tg_conv2d_geom *g)
{
    const int64_t need = (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1;
    return need > g->h + g->pt ? need : g->h + g->pt;
}

static int64_t tg_conv_wp(const tg_conv2d_geom *g)
{
    const int64_t need = (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1;
    return need > g->w + g->pl ? need : g->w + g->pl;
}

/* Use the "wide" layout (see conv_impl.h)? It needs unit stride. Measured
 * on 64 samples, 3x3 "same", 1 thread (narrow -> wide, ms): the forward
 * gains or breaks even at every width (8->16 at 28x28: 1.76 -> 1.61; at
 * 14x14: 0.61 -> 0.44); the backward passes gain on short rows (8->16 at
 * 14x14: input 0.55 -> 0.49, weight 0.89 -> 0.60) but lose on long ones
 * (1->8 at 28x28: input 0.21 -> 0.30), so they take it up to 16 wide. */
static int tg_conv_wide(const tg_conv2d_geom *g, int backward)
{
    return g->sh == 1 && g->sw == 1 && (!backward || g->ow <= 16);
}

/* Elements of scratch a sample needs: its columns, a padded plane, and in
 * the wide layout Wp elements of slack after the plane and an (O, OH*Wp)
 * output or gradient. */
static size_t tg_conv_scratch(const tg_conv2d_geom *g)
{
    const int64_t wp = tg_conv_wp(g), k = g->c * g->kh * g->kw;
    const int64_t plane = g->c * tg_conv_hp(g) * wp;
    if (tg_conv_wide(g, 0))  /* the larger of the two layouts */
        return (size_t)(k * g->oh * wp + plane + wp + g->o * g->oh * wp);
    return (size_t)(k * g->oh * g->ow + plane);
}

/* 1x1 window, unit stride, no padding, and a plane with contiguous rows:
 * the columns of a sample are its input itself. */
static int tg_conv_direct(const tg_conv2d_geom *g, int64_t sh, int64_t sw)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->oh == g->h &&
           g->ow == g->w && sw == 1 && (sh == g->w || g->h == 1);
}

/* May the samples be split over threads? Not when a per-sample GEMM is big
 * enough to take the packed path and split itself (an OpenMP region inside
 * ours would not), nor when there is little work. */
static int tg_conv_splittable(int64_t samples, int64_t gemm_flops, int which)
{
    int64_t small_max = tg_gemm_set_small_max(which, -1);
    if (samples < 2)
        return 0;
    if (gemm_flops > TG_GEMM_PAR_MIN_FLOPS && gemm_flops > small_max)
        return 0;
    return (double)samples * (double)gemm_flops >= (double)TG_GEMM_PAR_MIN_FLOPS;
}

/* Threads over which to split the samples (1: one after the other). */
static int tg_conv_threads(int64_t samples, int64_t gemm_flops, int which)
{
    int nth = tg_get_num_threads();
    if (nth <= 1 || !tg_conv_splittable(samples, gemm_flops, which))
        return 1;
    return (int64_t)nth < samples ? nth : (int)samples;
}

/* Samples go out in blocks, handed to whichever thread is free (dynamic
 * schedule): on a shared machine a thread that the OS has parked does not
 * hold up the others for its static share. Four blocks per thread. The
 * weight gradient sums each of a fixed number of blocks apart and adds the
 * sums in block order, so its result does not depend on the threads. */
#define TG_CONV_BLOCKS_PER_THREAD 4
#define TG_CONV_WEIGHT_BLOCKS 8

#define TG_T float
#define TG_I int32_t
#define TG_SFX f32
#define TG_GEMM tg_sgemm
#define TG_WHICH 0
#include "conv_impl.h"

#define TG_T double
#define TG_I int64_t
#define TG_SFX f64
#define TG_GEMM tg_dgemm
#define TG_WHICH 1
#include "conv_impl.h"

int64_t tg_conv_work_size(const tg_conv2d_geom *g)
{
    return g->c * tg_conv_hp(g) * tg_conv_wp(g);
}
