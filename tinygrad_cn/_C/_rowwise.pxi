# row-wise softmax / log_softmax / cross-entropy (csrc/rowwise.c): Cython bindings, included by _kernels.pyx.
#
#   softmax(x, out=None), log_softmax(x, out=None)          over the last dim
#   softmax_backward(y, gout, out=None)                     y = softmax output
#   log_softmax_backward(y, gout, out=None)                 y = log_softmax output
#   cross_entropy(logits, target, weight=None, ignore_index=-100,
#                 label_smoothing=0.0, reduction="mean") -> (loss, lse)
#   cross_entropy_backward(logits, target, lse, grad_loss, weight=None,
#                 ignore_index=-100, label_smoothing=0.0, reduction="mean") -> grad_logits
#
# float32/float64 go to C (non-contiguous inputs are copied first); anything
# else goes to the NumPy reference in ref_rowwise.py (same signatures).

from tinygrad_cn._C import ref_rowwise as _rr

cdef extern from "tg_kernels.h" nogil:
    int TG_REDUCTION_NONE
    int TG_REDUCTION_MEAN
    int TG_REDUCTION_SUM
    int64_t TG_ROWWISE_PAR_MIN_EXP
    int64_t TG_ROWWISE_PAR_MIN_MEMBOUND
    void tg_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols)
    void tg_softmax_f64(const double *x, double *y, int64_t rows, int64_t cols)
    void tg_log_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols)
    void tg_log_softmax_f64(const double *x, double *y, int64_t rows, int64_t cols)
    void tg_softmax_backward_f32(const float *y, const float *g, float *o, int64_t rows, int64_t cols)
    void tg_softmax_backward_f64(const double *y, const double *g, double *o, int64_t rows, int64_t cols)
    void tg_log_softmax_backward_f32(const float *y, const float *g, float *o, int64_t rows, int64_t cols)
    void tg_log_softmax_backward_f64(const double *y, const double *g, double *o, int64_t rows, int64_t cols)
    int tg_cross_entropy_f32(const float *logits, const int64_t *target, const float *weight, int64_t n,
                             int64_t c, int64_t ignore_index, double label_smoothing, int reduction,
                             float *loss, double *lse, int64_t *bad_row)
    int tg_cross_entropy_f64(const double *logits, const int64_t *target, const double *weight, int64_t n,
                             int64_t c, int64_t ignore_index, double label_smoothing, int reduction,
                             double *loss, double *lse, int64_t *bad_row)
    int tg_cross_entropy_backward_f32(const float *logits, const int64_t *target, const double *lse,
                                      const float *grad_loss, const float *weight, int64_t n, int64_t c,
                                      int64_t ignore_index, double label_smoothing, int reduction,
                                      float *grad_logits, int64_t *bad_row)
    int tg_cross_entropy_backward_f64(const double *logits, const int64_t *target, const double *lse,
                                      const double *grad_loss, const double *weight, int64_t n, int64_t c,
                                      int64_t ignore_index, double label_smoothing, int reduction,
                                      double *grad_logits, int64_t *bad_row)

ctypedef void (*rw_unary_f32_t)(const float *, float *, int64_t, int64_t) noexcept nogil
ctypedef void (*rw_unary_f64_t)(const double *, double *, int64_t, int64_t) noexcept nogil
ctypedef void (*rw_binary_f32_t)(const float *, const float *, float *, int64_t, int64_t) noexcept nogil
ctypedef void (*rw_binary_f64_t)(const double *, const double *, double *, int64_t, int64_t) noexcept nogil

rowwise_parallel_min_elements = {"exp": TG_ROWWISE_PAR_MIN_EXP, "memory_bound": TG_ROWWISE_PAR_MIN_MEMBOUND}


cdef inline void _rw_dims(cnp.ndarray a, int64_t *rows, int64_t *cols):
    """rows = product of the leading dims, cols = last dim (0-d: 1 x 1)."""
    cdef int nd = cnp.PyArray_NDIM(a)
    cdef int64_t c
    if nd == 0:
        rows[0] = 1
        cols[0] = 1
        return
    c = cnp.PyArray_DIMS(a)[nd - 1]
    cols[0] = c
    rows[0] = cnp.PyArray_SIZE(a) // c if c > 0 else 0


cdef object _rw_unary(object x, object out, rw_unary_f32_t f32, rw_unary_f64_t f64, object ref):
    cdef int t = _float_type(x)
    cdef cnp.ndarray a, o
    cdef int64_t rows, cols
    cdef void *px
    cdef void *po
    if t < 0:
        return ref(x, out=out)
    a = _as_c(<cnp.ndarray>x, t)
    o = _output(a, t, out)
    _rw_dims(a, &rows, &cols)
    px = cnp.PyArray_DATA(a)
    po = cnp.PyArray_DATA(o)
    if rows * cols < NOGIL_MIN:
        if t == cnp.NPY_FLOAT32:
            f32(<const float *>px, <float *>po, rows, cols)
        else:
            f64(<const double *>px, <double *>po, rows, cols)
    else:
        with nogil:
            if t == cnp.NPY_FLOAT32:
                f32(<const float *>px, <float *>po, rows, cols)
            else:
                f64(<const double *>px, <double *>po, rows, cols)
    return o


cdef object _rw_binary(object y, object g, object out, rw_binary_f32_t f32, rw_binary_f64_t f64, object ref):
    cdef int t = _float_type(y)
    cdef cnp.ndarray a, b, o
    cdef int64_t rows, cols
    cdef void *pa
    cdef void *pb
    cdef void *po
    if t < 0 or _float_type(g) != t or not cnp.PyArray_SAMESHAPE(<cnp.ndarray>y, <cnp.ndarray>g):
        return ref(y, g, out=out)
    a = _as_c(<cnp.ndarray>y, t)
    b = _as_c(<cnp.ndarray>g, t)
    o = _output(a, t, out)
    _rw_dims(a, &rows, &cols)
    pa = cnp.PyArray_DATA(a)
    pb = cnp.PyArray_DATA(b)
    po = cnp.PyArray_DATA(o)
    if rows * cols < NOGIL_MIN:
        if t == cnp.NPY_FLOAT32:
            f32(<const float *>pa, <const float *>pb, <float *>po, rows, cols)
        else:
            f64(<const double *>pa, <const double *>pb, <double *>po, rows, cols)
    else:
        with nogil:
            if t == cnp.NPY_FLOAT32:
                f32(<const float *>pa, <const float *>pb, <float *>po, rows, cols)
            else:
                f64(<const double *>pa, <const double *>pb, <double *>po, rows, cols)
    return o


def softmax(x, out=None):
    """softmax over the last dimension: e^(x - max) / sum e^(x - max).
    Rows holding +inf or NaN, or only -inf, give NaN (as torch)."""
    return _rw_unary(x, out, tg_softmax_f32, tg_softmax_f64, _ref.softmax)


def log_softmax(x, out=None):
    """log_softmax over the last dimension: (x - max) - log(sum e^(x - max))."""
    return _rw_unary(x, out, tg_log_softmax_f32, tg_log_softmax_f64, _ref.log_softmax)


def softmax_backward(y, gout, out=None):
    """gin = y * (gout - sum(gout * y)) per row (y is softmax's output)."""
    return _rw_binary(y, gout, out, tg_softmax_backward_f32, tg_softmax_backward_f64, _ref.softmax_backward)


def log_softmax_backward(y, gout, out=None):
    """gin = gout - exp(y) * sum(gout) per row (y is log_softmax's output)."""
    return _rw_binary(y, gout, out, tg_log_softmax_backward_f32, tg_log_softmax_backward_f64,
                      _ref.log_softmax_backward)


cdef int _rw_reduction(object reduction) except -1:
    if reduction == "mean":
        return TG_REDUCTION_MEAN
    if reduction == "sum":
        return TG_REDUCTION_SUM
    if reduction == "none":
        return TG_REDUCTION_NONE
    _rr._check_reduction(reduction)  # raises
    return -1


def cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    """torch.nn.functional.cross_entropy over class indices, fused with the
    log-softmax. logits (N, C), target (N,) integer. Returns (loss, lse):
    loss a 0-d array ("mean", "sum") or (N,) ("none") of logits' dtype, and
    lse (N,) float64 = logsumexp of each row, for cross_entropy_backward."""
    cdef int t = _float_type(logits)
    cdef int red, rc
    cdef cnp.ndarray a, tg, w, loss, lse
    cdef int64_t n, c, ii, bad = -1
    cdef double eps
    cdef void *pw = NULL
    if t < 0 or (weight is not None and _float_type(weight) < 0):
        return _ref.cross_entropy(logits, target, weight, ignore_index, label_smoothing, reduction)
    red = _rw_reduction(reduction)
    eps = _rr._check_label_smoothing(label_smoothing)
    ii = _rr._check_ignore_index(ignore_index)
    a = _as_c(<cnp.ndarray>logits, t)
    tg = _rr._check_target(target, a)
    n = cnp.PyArray_DIMS(a)[0]
    c = cnp.PyArray_DIMS(a)[1]
    if weight is not None:
        w = np.require(_rr._check_weight(weight, c), dtype=_NATIVE[t], requirements=["C", "A"])
        pw = cnp.PyArray_DATA(w)
    lse = <cnp.ndarray>cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(a), cnp.NPY_FLOAT64, 0)
    if red == TG_REDUCTION_NONE:
        loss = <cnp.ndarray>cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(a), t, 0)
    else:
        loss = <cnp.ndarray>cnp.PyArray_EMPTY(0, NULL, t, 0)
    with nogil:
        if t == cnp.NPY_FLOAT32:
            rc = tg_cross_entropy_f32(<const float *>cnp.PyArray_DATA(a), <const int64_t *>cnp.PyArray_DATA(tg),
                                      <const float *>pw, n, c, ii, eps, red, <float *>cnp.PyArray_DATA(loss),
                                      <double *>cnp.PyArray_DATA(lse), &bad)
        else:
            rc = tg_cross_entropy_f64(<const double *>cnp.PyArray_DATA(a), <const int64_t *>cnp.PyArray_DATA(tg),
                                      <const double *>pw, n, c, ii, eps, red, <double *>cnp.PyArray_DATA(loss),
                                      <double *>cnp.PyArray_DATA(lse), &bad)
    if rc == -1:
        raise IndexError("Target %d is out of bounds." % tg[bad])
    if rc != 0:
        raise MemoryError("cross_entropy: out of memory")
    return loss, lse


def cross_entropy_backward(logits, target, lse, grad_loss, weight=None, ignore_index=-100, label_smoothing=0.0,
                           reduction="mean"):
    """Gradient of cross_entropy with respect to the logits, (N, C), from the
    saved lse; grad_loss is 0-d ("mean", "sum") or (N,) ("none")."""
    cdef int t = _float_type(logits)
    cdef int red, rc
    cdef cnp.ndarray a, tg, w, ls, gl, out
    cdef int64_t n, c, ii, bad = -1
    cdef double eps
    cdef void *pw = NULL
    if t < 0 or (weight is not None and _float_type(weight) < 0):
        return _ref.cross_entropy_backward(logits, target, lse, grad_loss, weight, ignore_index, label_smoothing,
                                           reduction)
    red = _rw_reduction(reduction)
    eps = _rr._check_label_smoothing(label_smoothing)
    ii = _rr._check_ignore_index(ignore_index)
    a = _as_c(<cnp.ndarray>logits, t)
    tg = _rr._check_target(target, a)
    n = cnp.PyArray_DIMS(a)[0]
    c = cnp.PyArray_DIMS(a)[1]
    ls = _rr._check_lse(lse, n)
    gl = np.require(_rr._check_grad_loss(grad_loss, n, red == TG_REDUCTION_NONE), dtype=_NATIVE[t],
                    requirements=["C", "A"])
    if weight is not None:
        w = np.require(_rr._check_weight(weight, c), dtype=_NATIVE[t], requirements=["C", "A"])
        pw = cnp.PyArray_DATA(w)
    out = <cnp.ndarray>cnp.PyArray_EMPTY(2, cnp.PyArray_DIMS(a), t, 0)
    with nogil:
        if t == cnp.NPY_FLOAT32:
            rc = tg_cross_entropy_backward_f32(<const float *>cnp.PyArray_DATA(a),
                                               <const int64_t *>cnp.PyArray_DATA(tg),
                                               <const double *>cnp.PyArray_DATA(ls),
                                               <const float *>cnp.PyArray_DATA(gl), <const float *>pw, n, c, ii,
                                               eps, red, <float *>cnp.PyArray_DATA(out), &bad)
        else:
            rc = tg_cross_entropy_backward_f64(<const double *>cnp.PyArray_DATA(a),
                                               <const int64_t *>cnp.PyArray_DATA(tg),
                                               <const double *>cnp.PyArray_DATA(ls),
                                               <const double *>cnp.PyArray_DATA(gl), <const double *>pw, n, c, ii,
                                               eps, red, <double *>cnp.PyArray_DATA(out), &bad)
    if rc == -1:
        raise IndexError("Target %d is out of bounds." % tg[bad])
    if rc != 0:
        raise MemoryError("cross_entropy_backward: out of memory")
    return out
