# 2-D convolution and max-pooling bindings (csrc/im2col.c), included by _kernels.pyx.
#
# Same signatures and semantics as tinygrad_cn/_C/ref_conv.py, whose
# _conv_geometry / _pool_check validate the arguments for both backends.
# The input x may have any strides (passed to C in elements, like the GEMM's
# operands); weight, grad_output and indices are made C-contiguous. Outputs
# are new C-contiguous arrays. Anything but float32/float64 arrays of one
# dtype goes to the reference.

from tinygrad_cn._C import ref_conv as _ref_conv

cdef extern from "tg_conv.h" nogil:
    ctypedef struct tg_conv2d_geom:
        int64_t n
        int64_t c
        int64_t h
        int64_t w
        int64_t o
        int64_t kh
        int64_t kw
        int64_t sh
        int64_t sw
        int64_t pt
        int64_t pl
        int64_t dh
        int64_t dw
        int64_t oh
        int64_t ow
        int64_t groups
    int tg_conv2d_forward_f32(const float *x, const int64_t *xs, const float *w, const float *bias,
                              const tg_conv2d_geom *g, float *y)
    int tg_conv2d_forward_f64(const double *x, const int64_t *xs, const double *w, const double *bias,
                              const tg_conv2d_geom *g, double *y)
    int tg_conv2d_backward_input_f32(const float *gy, const float *w, const tg_conv2d_geom *g, float *gx)
    int tg_conv2d_backward_input_f64(const double *gy, const double *w, const tg_conv2d_geom *g, double *gx)
    int tg_conv2d_backward_weight_f32(const float *x, const int64_t *xs, const float *gy, const tg_conv2d_geom *g,
                                      float *gw)
    int tg_conv2d_backward_weight_f64(const double *x, const int64_t *xs, const double *gy,
                                      const tg_conv2d_geom *g, double *gw)
    void tg_conv2d_backward_bias_f32(const float *gy, int64_t n, int64_t o, int64_t l, float *gb)
    void tg_conv2d_backward_bias_f64(const double *gy, int64_t n, int64_t o, int64_t l, double *gb)
    void tg_max_pool2d_f32(const float *x, const int64_t *xs, const tg_conv2d_geom *g, float *y, int64_t *idx)
    void tg_max_pool2d_f64(const double *x, const int64_t *xs, const tg_conv2d_geom *g, double *y, int64_t *idx)
    int tg_max_pool2d_backward_f32(const float *gy, const int64_t *idx, int64_t planes, int64_t hw_in,
                                   int64_t hw_out, float *gx)
    int tg_max_pool2d_backward_f64(const double *gy, const int64_t *idx, int64_t planes, int64_t hw_in,
                                   int64_t hw_out, double *gx)


cdef inline bint _same_float(int t, object a):
    return _float_type(a) == t and cnp.PyArray_NDIM(<cnp.ndarray>a) == 4


cdef void _strides4(cnp.ndarray x, int64_t *xs):
    """Strides of a 4-D array in elements (0 for an axis of length 1)."""
    cdef int i
    for i in range(4):
        xs[i] = _est(x, i)


cdef void _conv_geom(tg_conv2d_geom *g, tuple xshape, tuple wshape, tuple stride, tuple pads, tuple dil,
                     int64_t groups, tuple ohw):
    g.n, g.c, g.h, g.w = xshape
    g.o, g.kh, g.kw = wshape[0], wshape[2], wshape[3]
    g.sh, g.sw = stride
    g.pt, g.pl = pads[0][0], pads[1][0]
    g.dh, g.dw = dil
    g.oh, g.ow = ohw
    g.groups = groups


cdef inline void _check_status(int rc):
    if rc != 0:
        raise MemoryError("conv2d kernel: could not allocate its columns buffer")


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups):
    """y (N, O, OH, OW) = conv(x, weight) (+ bias); padding ((top, bottom), (left, right))."""
    cdef int t = _float_type(x)
    cdef tg_conv2d_geom g
    cdef int64_t xs[4]
    cdef cnp.ndarray a, w, b, y
    cdef void *pb = NULL
    cdef int rc
    if t < 0 or not _same_float(t, x) or not _same_float(t, weight) or (bias is not None and _float_type(bias) != t):
        return _ref_conv.conv2d_forward(x, weight, bias, stride, padding, dilation, groups)
    st, pads, dil, grp, ohw = _ref_conv._conv_geometry(np.shape(x), np.shape(weight), stride, padding, dilation,
                                                      groups)
    if bias is not None and np.shape(bias) != (np.shape(weight)[0],):
        raise RuntimeError("conv2d_forward: bias of shape %s does not fit weight %s"
                           % (list(np.shape(bias)), list(np.shape(weight))))
    a = _gemm_operand(<cnp.ndarray>x, t)
    w = _as_c(<cnp.ndarray>weight, t)
    if bias is not None:
        b = _as_c(<cnp.ndarray>bias, t)
        pb = cnp.PyArray_DATA(b)
    _conv_geom(&g, np.shape(a), np.shape(w), st, pads, dil, grp, ohw)
    _strides4(a, xs)
    y = np.empty((g.n, g.o, g.oh, g.ow), dtype=_NATIVE[t])
    with nogil:
        if t == cnp.NPY_FLOAT32:
            rc = tg_conv2d_forward_f32(<const float *>cnp.PyArray_DATA(a), xs, <const float *>cnp.PyArray_DATA(w),
                                       <const float *>pb, &g, <float *>cnp.PyArray_DATA(y))
        else:
            rc = tg_conv2d_forward_f64(<const double *>cnp.PyArray_DATA(a), xs,
                                       <const double *>cnp.PyArray_DATA(w), <const double *>pb, &g,
                                       <double *>cnp.PyArray_DATA(y))
    _check_status(rc)
    return y


def conv2d_backward_input(grad_output, weight, input_size, stride, padding, dilation, groups):
    """grad_input (N, C, H, W) of a convolution of an input of ``input_size``."""
    cdef int t = _float_type(grad_output)
    cdef tg_conv2d_geom g
    cdef cnp.ndarray gy, w, gx
    cdef int rc
    if t < 0 or not _same_float(t, grad_output) or not _same_float(t, weight):
        return _ref_conv.conv2d_backward_input(grad_output, weight, input_size, stride, padding, dilation, groups)
    xshape = tuple(int(e) for e in input_size)
    st, pads, dil, grp, ohw = _ref_conv._conv_geometry(xshape, np.shape(weight), stride, padding, dilation,
                                                      groups)
    if np.shape(grad_output) != (xshape[0], np.shape(weight)[0]) + ohw:
        raise RuntimeError("conv2d_backward_input: grad_output %s does not match the output %s"
                           % (list(np.shape(grad_output)), [xshape[0], np.shape(weight)[0], *ohw]))
    gy = _as_c(<cnp.ndarray>grad_output, t)
    w = _as_c(<cnp.ndarray>weight, t)
    _conv_geom(&g, xshape, np.shape(w), st, pads, dil, grp, ohw)
    gx = np.empty(xshape, dtype=_NATIVE[t])
    with nogil:
        if t == cnp.NPY_FLOAT32:
            rc = tg_conv2d_backward_input_f32(<const float *>cnp.PyArray_DATA(gy),
                                              <const float *>cnp.PyArray_DATA(w), &g, <float *>cnp.PyArray_DATA(gx))
        else:
            rc = tg_conv2d_backward_input_f64(<const double *>cnp.PyArray_DATA(gy),
                                              <const double *>cnp.PyArray_DATA(w), &g,
                                              <double *>cnp.PyArray_DATA(gx))
    _check_status(rc)
    return gx


def conv2d_backward_weight(x, grad_output, weight_size, stride, padding, dilation, groups):
    """grad_weight of ``weight_size`` (O, C/groups, kh, kw), summed over the batch."""
    cdef int t = _float_type(x)
    cdef tg_conv2d_geom g
    cdef int64_t xs[4]
    cdef cnp.ndarray a, gy, gw
    cdef int rc
    if t < 0 or not _same_float(t, x) or not _same_float(t, grad_output):
        return _ref_conv.conv2d_backward_weight(x, grad_output, weight_size, stride, padding, dilation, groups)
    wshape = tuple(int(e) for e in weight_size)
    st, pads, dil, grp, ohw = _ref_conv._conv_geometry(np.shape(x), wshape, stride, padding, dilation, groups)
    if np.shape(grad_output) != (np.shape(x)[0], wshape[0]) + ohw:
        raise RuntimeError("conv2d_backward_weight: grad_output %s does not match the output %s"
                           % (list(np.shape(grad_output)), [np.shape(x)[0], wshape[0], *ohw]))
    a = _gemm_operand(<cnp.ndarray>x, t)
    gy = _as_c(<cnp.ndarray>grad_output, t)
    _conv_geom(&g, np.shape(a), wshape, st, pads, dil, grp, ohw)
    _strides4(a, xs)
    gw = np.empty(wshape, dtype=_NATIVE[t])
    with nogil:
        if t == cnp.NPY_FLOAT32:
            rc = tg_conv2d_backward_weight_f32(<const float *>cnp.PyArray_DATA(a), xs,
                                               <const float *>cnp.PyArray_DATA(gy), &g,
                                               <float *>cnp.PyArray_DATA(gw))
        else:
            rc = tg_conv2d_backward_weight_f64(<const double *>cnp.PyArray_DATA(a), xs,
                                               <const double *>cnp.PyArray_DATA(gy), &g,
                                               <double *>cnp.PyArray_DATA(gw))
    _check_status(rc)
    return gw


def conv2d_backward_bias(grad_output):
    """grad_bias (O,): grad_output (N, O, ...) summed over all but dim 1."""
    cdef int t = _float_type(grad_output)
    cdef cnp.ndarray gy, gb
    cdef int64_t n, o, l
    if t < 0 or cnp.PyArray_NDIM(<cnp.ndarray>grad_output) < 2:
        return _ref_conv.conv2d_backward_bias(grad_output)
    gy = _as_c(<cnp.ndarray>grad_output, t)
    n, o = cnp.PyArray_DIM(gy, 0), cnp.PyArray_DIM(gy, 1)
    l = cnp.PyArray_SIZE(gy) // (n * o) if n * o else 0
    gb = np.empty(o, dtype=_NATIVE[t])
    with nogil:
        if t == cnp.NPY_FLOAT32:
            tg_conv2d_backward_bias_f32(<const float *>cnp.PyArray_DATA(gy), n, o, l, <float *>cnp.PyArray_DATA(gb))
        else:
            tg_conv2d_backward_bias_f64(<const double *>cnp.PyArray_DATA(gy), n, o, l,
                                        <double *>cnp.PyArray_DATA(gb))
    return gb


def max_pool2d(x, kernel_size, stride, padding, dilation, output_size):
    """(y, indices int64): window maxima and their flat positions in each input plane."""
    cdef int t = _float_type(x)
    cdef tg_conv2d_geom g
    cdef int64_t xs[4]
    cdef cnp.ndarray a, y, idx
    if t < 0 or not _same_float(t, x):
        return _ref_conv.max_pool2d(x, kernel_size, stride, padding, dilation, output_size)
    k, s, p, d, ohw = _ref_conv._pool_check(x, kernel_size, stride, padding, dilation, output_size)
    a = _gemm_operand(<cnp.ndarray>x, t)
    g.n, g.c, g.h, g.w = np.shape(a)
    g.o, g.groups = 0, 1
    g.kh, g.kw = k
    g.sh, g.sw = s
    g.pt, g.pl = p
    g.dh, g.dw = d
    g.oh, g.ow = ohw
    _strides4(a, xs)
    y = np.empty((g.n, g.c, g.oh, g.ow), dtype=_NATIVE[t])
    idx = np.empty((g.n, g.c, g.oh, g.ow), dtype=np.int64)
    with nogil:
        if t == cnp.NPY_FLOAT32:
            tg_max_pool2d_f32(<const float *>cnp.PyArray_DATA(a), xs, &g, <float *>cnp.PyArray_DATA(y),
                              <int64_t *>cnp.PyArray_DATA(idx))
        else:
            tg_max_pool2d_f64(<const double *>cnp.PyArray_DATA(a), xs, &g, <double *>cnp.PyArray_DATA(y),
                              <int64_t *>cnp.PyArray_DATA(idx))
    return y, idx


def max_pool2d_backward(grad_output, indices, input_size):
    """grad_input (N, C, H, W): grad_output added at ``indices`` of each plane.
    Indices are checked to lie in their plane (RuntimeError otherwise)."""
    cdef int t = _float_type(grad_output)
    cdef cnp.ndarray gy, idx, gx
    cdef int64_t planes, hw_in, hw_out
    cdef int rc
    if (t < 0 or not _same_float(t, grad_output) or not cnp.PyArray_Check(indices)
            or (<cnp.ndarray>indices).dtype != np.int64):
        return _ref_conv.max_pool2d_backward(grad_output, indices, input_size)
    n, c, h, w = (int(e) for e in input_size)
    if np.shape(grad_output) != np.shape(indices) or np.shape(grad_output)[:2] != (n, c):
        raise RuntimeError("max_pool2d_backward: grad_output %s and indices %s do not fit input %s"
                           % (list(np.shape(grad_output)), list(np.shape(indices)), [n, c, h, w]))
    gy = _as_c(<cnp.ndarray>grad_output, t)
    idx = np.ascontiguousarray(indices)
    planes, hw_in = n * c, h * w
    hw_out = cnp.PyArray_DIM(gy, 2) * cnp.PyArray_DIM(gy, 3)
    gx = np.empty((n, c, h, w), dtype=_NATIVE[t])
    with nogil:  # the kernel checks every index (a bad one would write outside)
        if t == cnp.NPY_FLOAT32:
            rc = tg_max_pool2d_backward_f32(<const float *>cnp.PyArray_DATA(gy),
                                            <const int64_t *>cnp.PyArray_DATA(idx), planes, hw_in, hw_out,
                                            <float *>cnp.PyArray_DATA(gx))
        else:
            rc = tg_max_pool2d_backward_f64(<const double *>cnp.PyArray_DATA(gy),
                                            <const int64_t *>cnp.PyArray_DATA(idx), planes, hw_in, hw_out,
                                            <double *>cnp.PyArray_DATA(gx))
    if rc != 0:
        raise RuntimeError("max_pool2d_backward: an index is outside the input plane of %d elements" % hw_in)
    return gx
