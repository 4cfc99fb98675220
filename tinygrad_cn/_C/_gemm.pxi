# GEMM bindings, included by _kernels.pyx (shares its cimports and helpers).
#
#   gemm(a, b, out=None, alpha=1.0, beta=0.0, bias=None, activation=None)
#                                                      2-D  act(a @ b + bias)
#   gemm_batched(a, b, out=None, alpha=1.0, beta=0.0)  3-D  batched a @ b
#
# Operands may have any strides (transposed, sliced, negative-stride views):
# they are passed to C as strides in elements, without a copy. Only arrays
# whose strides are not a multiple of the item size, misaligned or
# byte-swapped arrays are copied first. Non-float dtypes (integers, float16,
# ...) go to the NumPy reference, which has the same signatures.

cdef extern from "tg_kernels.h" nogil:
    int64_t TG_GEMM_PAR_MIN_FLOPS
    int64_t TG_GEMM_SMALL_MAX_FLOPS_F32
    int64_t TG_GEMM_SMALL_MAX_FLOPS_F64
    int64_t tg_gemm_set_small_max(int which, int64_t flops)
    int tg_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa,
                 const float *b, int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc)
    int tg_dgemm(int64_t m, int64_t n, int64_t k, double alpha, const double *a, int64_t rsa, int64_t csa,
                 const double *b, int64_t rsb, int64_t csb, double beta, double *c, int64_t rsc, int64_t csc)
    int TG_ACT_NONE
    int TG_ACT_RELU
    int tg_sgemm_epi(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa,
                     const float *b, int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc,
                     const float *bias, int64_t bias_stride, int act)
    int tg_dgemm_epi(int64_t m, int64_t n, int64_t k, double alpha, const double *a, int64_t rsa, int64_t csa,
                     const double *b, int64_t rsb, int64_t csb, double beta, double *c, int64_t rsc, int64_t csc,
                     const double *bias, int64_t bias_stride, int act)
    int tg_sgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k, float alpha,
                         const float *a, int64_t bsa, int64_t rsa, int64_t csa,
                         const float *b, int64_t bsb, int64_t rsb, int64_t csb, float beta,
                         float *c, int64_t bsc, int64_t rsc, int64_t csc)
    int tg_dgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k, double alpha,
                         const double *a, int64_t bsa, int64_t rsa, int64_t csa,
                         const double *b, int64_t bsb, int64_t rsb, int64_t csb, double beta,
                         double *c, int64_t bsc, int64_t rsc, int64_t csc)

# Below this many multiply-adds the GIL is kept.
cdef int64_t GEMM_NOGIL_MIN = 32768
gemm_nogil_min_flops = GEMM_NOGIL_MIN
gemm_parallel_min_flops = TG_GEMM_PAR_MIN_FLOPS
# (float32, float64) defaults
gemm_small_max_flops = (TG_GEMM_SMALL_MAX_FLOPS_F32, TG_GEMM_SMALL_MAX_FLOPS_F64)


def set_gemm_small_max(flops):
    """Set the largest m*n*k that takes the unpacked small path (tests and
    benchmarks): an int sets both dtypes, a pair (float32, float64) each; a
    negative value only queries. Returns the previous (float32, float64)."""
    if isinstance(flops, tuple):
        f32, f64 = flops
    else:
        f32 = f64 = flops
    return (tg_gemm_set_small_max(0, f32), tg_gemm_set_small_max(1, f64))


cdef inline cnp.ndarray _gemm_operand(cnp.ndarray x, int t):
    """x itself when C can read it through strides in elements, else an
    aligned native copy."""
    cdef int i
    cdef int nd = cnp.PyArray_NDIM(x)
    cdef cnp.npy_intp isz = cnp.PyArray_ITEMSIZE(x)
    cdef cnp.npy_intp *st = cnp.PyArray_STRIDES(x)
    if cnp.PyArray_ISALIGNED(x) and cnp.PyArray_ISNOTSWAPPED(x):
        for i in range(nd):
            if st[i] % isz != 0:
                break
        else:
            return x
    return np.require(x, dtype=_NATIVE[t], requirements=["C", "A"])


cdef inline int64_t _est(cnp.ndarray x, int i):
    """Stride of axis i in elements (0 for an axis of length 1)."""
    if cnp.PyArray_DIMS(x)[i] == 1:
        return 0
    return cnp.PyArray_STRIDES(x)[i] // cnp.PyArray_ITEMSIZE(x)


cdef int _gemm_types(object a, object b, str fn) except -2:
    """NPY_FLOAT32/64 when both are such arrays of one dtype; -1 when the
    NumPy reference should handle them; raises on a float32/float64 mix."""
    cdef int ta = _float_type(a)
    cdef int tb = _float_type(b)
    if ta >= 0 and ta == tb:
        return ta
    if ta >= 0 and tb >= 0:
        raise RuntimeError("expected m1 and m2 to have the same dtype, but got: %s != %s"
                           % (_ref._torch_dtype_name(a.dtype), _ref._torch_dtype_name(b.dtype)))
    return -1


cdef cnp.ndarray _gemm_out(object out, int t, int nd, cnp.npy_intp *shape):
    cdef cnp.ndarray o
    cdef int i
    if out is None:
        return <cnp.ndarray>cnp.PyArray_EMPTY(nd, shape, t, 0)
    if not cnp.PyArray_Check(out):
        raise TypeError("out must be a numpy.ndarray")
    o = <cnp.ndarray>out
    if cnp.PyArray_TYPE(o) != t:
        raise TypeError("out has dtype %s, expected %s" % (o.dtype, _NATIVE[t]))
    if cnp.PyArray_NDIM(o) != nd or any(cnp.PyArray_DIMS(o)[i] != shape[i] for i in range(nd)):
        raise ValueError("out has shape %s, expected %s" % (np.shape(o), tuple(shape[i] for i in range(nd))))
    if not cnp.PyArray_ISWRITEABLE(o) or not cnp.PyArray_ISALIGNED(o) or not cnp.PyArray_ISNOTSWAPPED(o):
        raise ValueError("out must be a writeable, aligned array in native byte order")
    for i in range(nd):
        if shape[i] > 1 and cnp.PyArray_STRIDES(o)[i] % cnp.PyArray_ITEMSIZE(o) != 0:
            raise ValueError("out strides must be multiples of its item size")
    return o


cdef inline void _extent(cnp.ndarray x, char **lo, char **hi):
    """Byte range [lo, hi) that x can touch (bounds only, as
    np.may_share_memory does by default); lo == hi when x is empty."""
    cdef int i
    cdef cnp.npy_intp d, st
    cdef char *base = <char *>cnp.PyArray_DATA(x)
    lo[0] = base
    hi[0] = base + cnp.PyArray_ITEMSIZE(x)
    for i in range(cnp.PyArray_NDIM(x)):
        d = cnp.PyArray_DIMS(x)[i]
        if d == 0:
            hi[0] = lo[0]
            return
        st = cnp.PyArray_STRIDES(x)[i]
        if st > 0:
            hi[0] += st * (d - 1)
        else:
            lo[0] += st * (d - 1)


cdef inline bint _may_overlap(cnp.ndarray x, cnp.ndarray y):
    cdef char *xl
    cdef char *xh
    cdef char *yl
    cdef char *yh
    _extent(x, &xl, &xh)
    _extent(y, &yl, &yh)
    return xl < xh and yl < yh and xl < yh and yl < xh


cdef inline int _gemm_call(int t, int64_t m, int64_t n, int64_t k, double al, void *pa, int64_t rsa,
                           int64_t csa, void *pb, int64_t rsb, int64_t csb, double be, void *pc, int64_t rsc,
                           int64_t csc, void *pv, int64_t vs, int act) noexcept nogil:
    if t == cnp.NPY_FLOAT32:
        return tg_sgemm_epi(m, n, k, <float>al, <const float *>pa, rsa, csa, <const float *>pb, rsb, csb,
                            <float>be, <float *>pc, rsc, csc, <const float *>pv, vs, act)
    return tg_dgemm_epi(m, n, k, al, <const double *>pa, rsa, csa, <const double *>pb, rsb, csb,
                        be, <double *>pc, rsc, csc, <const double *>pv, vs, act)


cdef int _activation_code(object activation) except -1:
    if activation is None:
        return TG_ACT_NONE
    if activation == "relu":
        return TG_ACT_RELU
    raise ValueError("activation must be None or 'relu', got %r" % (activation,))


cdef cnp.ndarray _gemm_bias(object bias, int t, int64_t n):
    """bias as a 1-D array of n elements of C's dtype (any stride)."""
    cdef cnp.ndarray v
    if not cnp.PyArray_Check(bias):
        raise TypeError("bias must be a numpy.ndarray")
    v = <cnp.ndarray>bias
    if cnp.PyArray_TYPE(v) != t:
        raise RuntimeError("expected bias to have dtype %s, but got %s" % (_NATIVE[t], v.dtype))
    if cnp.PyArray_NDIM(v) != 1 or cnp.PyArray_DIMS(v)[0] != n:
        raise RuntimeError("bias of shape %s cannot be added to %d output columns" % (np.shape(v), n))
    return _gemm_operand(v, t)


def gemm(a, b, out=None, alpha=1.0, beta=0.0, bias=None, activation=None):
    """activation(alpha * a @ b + beta * out + bias) for 2-D float32/float64
    arrays of any strides, written into ``out`` (any strides; beta == 0
    never reads it) or into a new C-contiguous array (beta ignored). ``bias``
    is a 1-D array of n elements added to every row; ``activation`` None or
    "relu". Both are applied to each tile of C as it is written, in the same
    pass. Returns the result. Raises RuntimeError for mismatched inner
    dimensions or dtypes."""
    cdef int t = _gemm_types(a, b, "gemm")
    cdef cnp.ndarray A, B, C, target
    cdef cnp.ndarray V = None
    cdef cnp.npy_intp shape[2]
    cdef int64_t m, n, k, rsa, csa, rsb, csb, rsc, csc
    cdef int64_t vs = 0
    cdef void *pa
    cdef void *pb
    cdef void *pc
    cdef void *pv = NULL
    cdef double al = alpha
    cdef double be = beta
    cdef int rc = 0
    cdef int act = _activation_code(activation)
    if t < 0:
        return _ref.gemm(a, b, out=out, alpha=alpha, beta=beta, bias=bias, activation=activation)
    A = <cnp.ndarray>a
    B = <cnp.ndarray>b
    if cnp.PyArray_NDIM(A) != 2 or cnp.PyArray_NDIM(B) != 2:
        raise RuntimeError("gemm expects 2-D arrays, got %d-D and %d-D" % (A.ndim, B.ndim))
    m = cnp.PyArray_DIMS(A)[0]
    k = cnp.PyArray_DIMS(A)[1]
    n = cnp.PyArray_DIMS(B)[1]
    if cnp.PyArray_DIMS(B)[0] != k:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)"
                           % (m, k, cnp.PyArray_DIMS(B)[0], n))
    A = _gemm_operand(A, t)
    B = _gemm_operand(B, t)
    if bias is not None:
        V = _gemm_bias(bias, t, n)
        pv = cnp.PyArray_DATA(V)
        vs = _est(V, 0)
    shape[0] = m
    shape[1] = n
    C = _gemm_out(out, t, 2, shape)
    if out is None:
        be = 0.0
    target = C
    if out is not None and (_may_overlap(C, A) or _may_overlap(C, B) or (V is not None and _may_overlap(C, V))):
        C = np.array(C, order="C") if be != 0.0 else <cnp.ndarray>cnp.PyArray_EMPTY(2, shape, t, 0)
    rsa = _est(A, 0); csa = _est(A, 1)
    rsb = _est(B, 0); csb = _est(B, 1)
    rsc = _est(C, 0); csc = _est(C, 1)
    pa = cnp.PyArray_DATA(A)
    pb = cnp.PyArray_DATA(B)
    pc = cnp.PyArray_DATA(C)
    if m * n * k < GEMM_NOGIL_MIN:
        rc = _gemm_call(t, m, n, k, al, pa, rsa, csa, pb, rsb, csb, be, pc, rsc, csc, pv, vs, act)
    else:
        with nogil:
            rc = _gemm_call(t, m, n, k, al, pa, rsa, csa, pb, rsb, csb, be, pc, rsc, csc, pv, vs, act)
    if rc != 0:
        raise MemoryError("gemm: cannot allocate packing buffers")
    if C is not target:
        target[...] = C
    return target


def gemm_batched(a, b, out=None, alpha=1.0, beta=0.0):
    """Batched gemm of 3-D arrays a (Ba, m, k) and b (Bb, k, n) in one call;
    the batch sizes must match or one be 1 (broadcast). The result has shape
    (max(Ba, Bb), m, n); ``out``, alpha, beta as in gemm."""
    cdef int t = _gemm_types(a, b, "gemm_batched")
    cdef cnp.ndarray A, B, C, target
    cdef cnp.npy_intp shape[3]
    cdef int64_t nb, ba, bb, m, n, k, bsa, rsa, csa, bsb, rsb, csb, bsc, rsc, csc
    cdef void *pa
    cdef void *pb
    cdef void *pc
    cdef double al = alpha
    cdef double be = beta
    cdef int rc = 0
    if t < 0:
        return _ref.gemm_batched(a, b, out=out, alpha=alpha, beta=beta)
    A = <cnp.ndarray>a
    B = <cnp.ndarray>b
    if cnp.PyArray_NDIM(A) != 3 or cnp.PyArray_NDIM(B) != 3:
        raise RuntimeError("gemm_batched expects 3-D arrays, got %d-D and %d-D" % (A.ndim, B.ndim))
    ba = cnp.PyArray_DIMS(A)[0]
    bb = cnp.PyArray_DIMS(B)[0]
    m = cnp.PyArray_DIMS(A)[1]
    k = cnp.PyArray_DIMS(A)[2]
    n = cnp.PyArray_DIMS(B)[2]
    if cnp.PyArray_DIMS(B)[1] != k:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)"
                           % (m, k, cnp.PyArray_DIMS(B)[1], n))
    if ba != bb and ba != 1 and bb != 1:
        raise RuntimeError("batch dimensions cannot be broadcast (%d and %d)" % (ba, bb))
    nb = ba if bb == 1 else bb
    A = _gemm_operand(A, t)
    B = _gemm_operand(B, t)
    shape[0] = nb
    shape[1] = m
    shape[2] = n
    C = _gemm_out(out, t, 3, shape)
    if out is None:
        be = 0.0
    target = C
    if out is not None and (_may_overlap(C, A) or _may_overlap(C, B)
                            or (nb > 1 and m * n > 0 and cnp.PyArray_STRIDES(C)[0] == 0)):
        C = np.array(C, order="C") if be != 0.0 else <cnp.ndarray>cnp.PyArray_EMPTY(3, shape, t, 0)
    bsa = _est(A, 0); rsa = _est(A, 1); csa = _est(A, 2)
    bsb = _est(B, 0); rsb = _est(B, 1); csb = _est(B, 2)
    bsc = _est(C, 0); rsc = _est(C, 1); csc = _est(C, 2)
    pa = cnp.PyArray_DATA(A)
    pb = cnp.PyArray_DATA(B)
    pc = cnp.PyArray_DATA(C)
    if nb * m * n * k < GEMM_NOGIL_MIN:
        if t == cnp.NPY_FLOAT32:
            rc = tg_sgemm_batched(nb, m, n, k, <float>al, <const float *>pa, bsa, rsa, csa,
                                  <const float *>pb, bsb, rsb, csb, <float>be, <float *>pc, bsc, rsc, csc)
        else:
            rc = tg_dgemm_batched(nb, m, n, k, al, <const double *>pa, bsa, rsa, csa,
                                  <const double *>pb, bsb, rsb, csb, be, <double *>pc, bsc, rsc, csc)
    else:
        with nogil:
            if t == cnp.NPY_FLOAT32:
                rc = tg_sgemm_batched(nb, m, n, k, <float>al, <const float *>pa, bsa, rsa, csa,
                                      <const float *>pb, bsb, rsb, csb, <float>be, <float *>pc, bsc, rsc, csc)
            else:
                rc = tg_dgemm_batched(nb, m, n, k, al, <const double *>pa, bsa, rsa, csa,
                                      <const double *>pb, bsb, rsb, csb, be, <double *>pc, bsc, rsc, csc)
    if rc != 0:
        raise MemoryError("gemm_batched: cannot allocate packing buffers")
    if C is not target:
        target[...] = C
    return target
