# fused optimizer updates over many tensors (csrc/optim.c): Cython bindings, included by _kernels.pyx.
#
#   sgd_step, adam_step, rmsprop_step, adagrad_step, adadelta_step,
#   adamax_step, nadam_step
#
# Same signatures, checks, errors and results (bit for bit) as the NumPy
# reference in ref_optim.py, whose docstrings describe the arguments. Each
# call checks every array (float32/float64, one dtype per call, shapes equal
# to the params', C-contiguous, aligned, native byte order, writeable where
# updated), builds arrays of data pointers and sizes, and makes one C call
# for the whole list (GIL released from NOGIL_MIN elements in total).

from cpython.mem cimport PyMem_Malloc, PyMem_Free

from tinygrad_cn._C import ref_optim as _ro

cdef extern from "tg_kernels.h" nogil:
    int64_t TG_OPTIM_PAR_MIN
    ctypedef struct tg_sgd_opts:
        double lr, momentum, dampening, weight_decay
        int nesterov, maximize, first_step
    ctypedef struct tg_adam_opts:
        double lr, beta1, beta2, eps, weight_decay
        int amsgrad, maximize, decoupled_weight_decay
    ctypedef struct tg_rmsprop_opts:
        double lr, alpha, eps, weight_decay, momentum
        int centered, maximize
    ctypedef struct tg_adagrad_opts:
        double lr, lr_decay, weight_decay, eps
        int maximize
    ctypedef struct tg_adadelta_opts:
        double lr, rho, eps, weight_decay
        int maximize
    ctypedef struct tg_adamax_opts:
        double lr, beta1, beta2, eps, weight_decay
        int maximize
    ctypedef struct tg_nadam_opts:
        double lr, beta1, beta2, eps, weight_decay
        int maximize, decoupled_weight_decay

    void tg_sgd_step_f32(int64_t nt, const int64_t *sizes, float **p, const float **g, float **b,
                         const tg_sgd_opts *o)
    void tg_sgd_step_f64(int64_t nt, const int64_t *sizes, double **p, const double **g, double **b,
                         const tg_sgd_opts *o)
    void tg_adam_step_f32(int64_t nt, const int64_t *sizes, float **p, const float **g, float **m, float **v,
                          float **vmax, const int64_t *steps, const tg_adam_opts *o)
    void tg_adam_step_f64(int64_t nt, const int64_t *sizes, double **p, const double **g, double **m, double **v,
                          double **vmax, const int64_t *steps, const tg_adam_opts *o)
    void tg_rmsprop_step_f32(int64_t nt, const int64_t *sizes, float **p, const float **g, float **sq, float **ga,
                             float **b, const tg_rmsprop_opts *o)
    void tg_rmsprop_step_f64(int64_t nt, const int64_t *sizes, double **p, const double **g, double **sq,
                             double **ga, double **b, const tg_rmsprop_opts *o)
    void tg_adagrad_step_f32(int64_t nt, const int64_t *sizes, float **p, const float **g, float **s,
                             const int64_t *steps, const tg_adagrad_opts *o)
    void tg_adagrad_step_f64(int64_t nt, const int64_t *sizes, double **p, const double **g, double **s,
                             const int64_t *steps, const tg_adagrad_opts *o)
    void tg_adadelta_step_f32(int64_t nt, const int64_t *sizes, float **p, const float **g, float **sa,
                              float **ad, const tg_adadelta_opts *o)
    void tg_adadelta_step_f64(int64_t nt, const int64_t *sizes, double **p, const double **g, double **sa,
                              double **ad, const tg_adadelta_opts *o)
    void tg_adamax_step_f32(int64_t nt, const int64_t *sizes, float **p, const float **g, float **m, float **u,
                            const int64_t *steps, const tg_adamax_opts *o)
    void tg_adamax_step_f64(int64_t nt, const int64_t *sizes, double **p, const double **g, double **m,
                            double **u, const int64_t *steps, const tg_adamax_opts *o)
    void tg_nadam_step_f32(int64_t nt, const int64_t *sizes, float **p, const float **g, float **m, float **v,
                           const double *coefs, const tg_nadam_opts *o)
    void tg_nadam_step_f64(int64_t nt, const int64_t *sizes, double **p, const double **g, double **m,
                           double **v, const double *coefs, const tg_nadam_opts *o)
    int tg_optim_set_serial_parts(int parts)

#: Total elements of one call from which the optimizer kernels use a second thread.
optim_parallel_min_elements = TG_OPTIM_PAR_MIN


def optim_set_serial_parts(int parts):
    """Testing hook: cut single-thread optimizer calls into `parts` pieces
    as the threads would (1 restores the default). Returns the previous value."""
    return tg_optim_set_serial_parts(parts)


cdef class _OptArgs:
    """Checked arguments of one call: `k` pointer lists (params, grads, then
    the state lists; a list not required stays NULL) of n arrays each, their
    sizes, the common dtype and the total element count. Owns the C memory
    and references to every array until the call is over."""
    cdef void **ptrs
    cdef int64_t *sizes
    cdef int64_t *steps
    cdef double *coefs
    cdef Py_ssize_t n
    cdef int k
    cdef int t
    cdef int64_t total
    cdef list keep

    def __cinit__(self):
        self.ptrs = NULL
        self.sizes = NULL
        self.steps = NULL
        self.coefs = NULL
        self.t = -1
        self.total = 0

    def __dealloc__(self):
        PyMem_Free(self.ptrs)
        PyMem_Free(self.sizes)
        PyMem_Free(self.steps)
        PyMem_Free(self.coefs)

    cdef void **col(self, int j) noexcept nogil:
        return self.ptrs + j * self.n


cdef list _opt_list(object x, str name):
    if isinstance(x, (list, tuple)):
        return list(x)  # a private copy: the arrays stay referenced while the GIL is released
    raise TypeError("%s must be a list of numpy arrays, got %s" % (name, type(x).__name__))


cdef int _opt_fill(_OptArgs a, int j, list arrs, str name, list params, bint writeable) except -1:
    cdef Py_ssize_t i, n = a.n
    cdef cnp.ndarray x
    cdef int xt
    cdef void **out = a.col(j)
    if len(arrs) != n:
        raise ValueError("%s has %d arrays but params has %d" % (name, len(arrs), n))
    for i in range(n):
        obj = arrs[i]
        if not cnp.PyArray_Check(obj):
            raise TypeError("%s[%d] must be a numpy.ndarray, got %s" % (name, i, type(obj).__name__))
        x = <cnp.ndarray>obj
        xt = cnp.PyArray_TYPE(x)
        if xt != cnp.NPY_FLOAT32 and xt != cnp.NPY_FLOAT64:
            raise TypeError("%s[%d] has dtype %s; the optimizer kernels take float32 or float64" % (name, i, x.dtype))
        if a.t < 0:
            a.t = xt
        elif xt != a.t:
            raise TypeError("%s[%d] has dtype %s but the call's dtype is %s (all arrays of one call share one dtype)"
                            % (name, i, x.dtype, _NATIVE[a.t]))
        if j == 0:
            a.sizes[i] = cnp.PyArray_SIZE(x)
            a.total += a.sizes[i]
        elif not cnp.PyArray_SAMESHAPE(x, <cnp.ndarray>params[i]):
            raise ValueError("%s[%d] has shape %s but params[%d] has shape %s"
                             % (name, i, np.shape(x), i, np.shape(params[i])))
        if not cnp.PyArray_ISCARRAY_RO(x):
            raise ValueError("%s[%d] must be a C-contiguous, aligned array in native byte order" % (name, i))
        if writeable and not cnp.PyArray_ISWRITEABLE(x):
            raise ValueError("%s[%d] is read-only; it is updated in place" % (name, i))
        out[i] = cnp.PyArray_DATA(x)
    return 0


cdef _OptArgs _opt_args(object params, object grads, tuple states):
    """states: ((name, list or None, required), ...) in the C argument order."""
    cdef _OptArgs a = _OptArgs()
    cdef list ps = _opt_list(params, "params")
    cdef int j, k = 2 + len(states)
    a.n = len(ps)
    a.k = k
    a.keep = [ps]
    a.ptrs = <void **>PyMem_Malloc(sizeof(void *) * (k * a.n + 1))
    a.sizes = <int64_t *>PyMem_Malloc(sizeof(int64_t) * (a.n + 1))
    if a.ptrs == NULL or a.sizes == NULL:
        raise MemoryError()
    for j in range(k * a.n):
        a.ptrs[j] = NULL
    _opt_fill(a, 0, ps, "params", ps, True)
    gs = _opt_list(grads, "grads")
    a.keep.append(gs)
    _opt_fill(a, 1, gs, "grads", ps, False)
    for j in range(2, k):
        name, arrs, required = states[j - 2]
        if not required:
            continue
        if arrs is None:
            raise ValueError("%s is required with these options" % name)
        lst = _opt_list(arrs, name)
        a.keep.append(lst)
        _opt_fill(a, j, lst, name, ps, True)
    return a


cdef list _opt_steps(_OptArgs a, object steps):
    cdef list st = _ro._steps(steps, a.n)
    cdef Py_ssize_t i
    a.steps = <int64_t *>PyMem_Malloc(sizeof(int64_t) * (a.n + 1))
    if a.steps == NULL:
        raise MemoryError()
    for i in range(a.n):
        a.steps[i] = st[i]
    return st


cdef enum:
    OPT_SGD = 0
    OPT_ADAM = 1
    OPT_RMSPROP = 2
    OPT_ADAGRAD = 3
    OPT_ADADELTA = 4
    OPT_ADAMAX = 5
    OPT_NADAM = 6


cdef void _opt_call(int kind, _OptArgs a, const void *o) noexcept nogil:
    cdef bint f32 = a.t == cnp.NPY_FLOAT32
    if kind == OPT_SGD:
        if f32:
            tg_sgd_step_f32(a.n, a.sizes, <float **>a.col(0), <const float **>a.col(1), <float **>a.col(2),
                            <const tg_sgd_opts *>o)
        else:
            tg_sgd_step_f64(a.n, a.sizes, <double **>a.col(0), <const double **>a.col(1), <double **>a.col(2),
                            <const tg_sgd_opts *>o)
    elif kind == OPT_ADAM:
        if f32:
            tg_adam_step_f32(a.n, a.sizes, <float **>a.col(0), <const float **>a.col(1), <float **>a.col(2),
                             <float **>a.col(3), <float **>a.col(4), a.steps, <const tg_adam_opts *>o)
        else:
            tg_adam_step_f64(a.n, a.sizes, <double **>a.col(0), <const double **>a.col(1), <double **>a.col(2),
                             <double **>a.col(3), <double **>a.col(4), a.steps, <const tg_adam_opts *>o)
    elif kind == OPT_RMSPROP:
        if f32:
            tg_rmsprop_step_f32(a.n, a.sizes, <float **>a.col(0), <const float **>a.col(1), <float **>a.col(2),
                                <float **>a.col(3), <float **>a.col(4), <const tg_rmsprop_opts *>o)
        else:
            tg_rmsprop_step_f64(a.n, a.sizes, <double **>a.col(0), <const double **>a.col(1), <double **>a.col(2),
                                <double **>a.col(3), <double **>a.col(4), <const tg_rmsprop_opts *>o)
    elif kind == OPT_ADAGRAD:
        if f32:
            tg_adagrad_step_f32(a.n, a.sizes, <float **>a.col(0), <const float **>a.col(1), <float **>a.col(2),
                                a.steps, <const tg_adagrad_opts *>o)
        else:
            tg_adagrad_step_f64(a.n, a.sizes, <double **>a.col(0), <const double **>a.col(1), <double **>a.col(2),
                                a.steps, <const tg_adagrad_opts *>o)
    elif kind == OPT_ADADELTA:
        if f32:
            tg_adadelta_step_f32(a.n, a.sizes, <float **>a.col(0), <const float **>a.col(1), <float **>a.col(2),
                                 <float **>a.col(3), <const tg_adadelta_opts *>o)
        else:
            tg_adadelta_step_f64(a.n, a.sizes, <double **>a.col(0), <const double **>a.col(1), <double **>a.col(2),
                                 <double **>a.col(3), <const tg_adadelta_opts *>o)
    elif kind == OPT_ADAMAX:
        if f32:
            tg_adamax_step_f32(a.n, a.sizes, <float **>a.col(0), <const float **>a.col(1), <float **>a.col(2),
                               <float **>a.col(3), a.steps, <const tg_adamax_opts *>o)
        else:
            tg_adamax_step_f64(a.n, a.sizes, <double **>a.col(0), <const double **>a.col(1), <double **>a.col(2),
                               <double **>a.col(3), a.steps, <const tg_adamax_opts *>o)
    elif kind == OPT_NADAM:
        if f32:
            tg_nadam_step_f32(a.n, a.sizes, <float **>a.col(0), <const float **>a.col(1), <float **>a.col(2),
                              <float **>a.col(3), a.coefs, <const tg_nadam_opts *>o)
        else:
            tg_nadam_step_f64(a.n, a.sizes, <double **>a.col(0), <const double **>a.col(1), <double **>a.col(2),
                              <double **>a.col(3), a.coefs, <const tg_nadam_opts *>o)


cdef inline void _opt_run(int kind, _OptArgs a, const void *o):
    if a.total >= NOGIL_MIN:
        with nogil:
            _opt_call(kind, a, o)
    else:
        _opt_call(kind, a, o)


def sgd_step(params, grads, momentum_buffers, *, lr, momentum=0.0, dampening=0.0, nesterov=False,
             weight_decay=0.0, maximize=False, first_step=False):
    """torch.optim.SGD's update over a list of params, in place (see ref_optim.sgd_step)."""
    cdef tg_sgd_opts o
    o.lr, o.momentum, o.dampening, o.weight_decay = lr, momentum, dampening, weight_decay
    o.nesterov, o.maximize, o.first_step = bool(nesterov), bool(maximize), bool(first_step)
    cdef _OptArgs a = _opt_args(params, grads, (("momentum_buffers", momentum_buffers, o.momentum != 0),))
    if a.n == 0:
        return None
    _opt_run(OPT_SGD, a, &o)
    return None


def adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, *, lr, beta1, beta2, eps,
              weight_decay=0.0, amsgrad=False, maximize=False, decoupled_weight_decay=False):
    """torch.optim.Adam's update (AdamW with decoupled_weight_decay=True) over
    a list of params, in place (see ref_optim.adam_step)."""
    cdef tg_adam_opts o
    o.lr, o.beta1, o.beta2, o.eps, o.weight_decay = lr, beta1, beta2, eps, weight_decay
    o.amsgrad, o.maximize, o.decoupled_weight_decay = bool(amsgrad), bool(maximize), bool(decoupled_weight_decay)
    cdef _OptArgs a = _opt_args(params, grads, (("exp_avgs", exp_avgs, True), ("exp_avg_sqs", exp_avg_sqs, True),
                                                ("max_exp_avg_sqs", max_exp_avg_sqs, o.amsgrad != 0)))
    _opt_steps(a, steps)
    if a.n == 0:
        return None
    _opt_run(OPT_ADAM, a, &o)
    return None


def rmsprop_step(params, grads, square_avgs, grad_avgs, momentum_buffers, *, lr, alpha, eps, weight_decay=0.0,
                 momentum=0.0, centered=False, maximize=False):
    """torch.optim.RMSprop's update over a list of params, in place (see ref_optim.rmsprop_step)."""
    cdef tg_rmsprop_opts o
    o.lr, o.alpha, o.eps, o.weight_decay, o.momentum = lr, alpha, eps, weight_decay, momentum
    o.centered, o.maximize = bool(centered), bool(maximize)
    cdef _OptArgs a = _opt_args(params, grads, (("square_avgs", square_avgs, True),
                                                ("grad_avgs", grad_avgs, o.centered != 0),
                                                ("momentum_buffers", momentum_buffers, o.momentum > 0)))
    if a.n == 0:
        return None
    _opt_run(OPT_RMSPROP, a, &o)
    return None


def adagrad_step(params, grads, state_sums, steps, *, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10,
                 maximize=False):
    """torch.optim.Adagrad's update over a list of params, in place (see ref_optim.adagrad_step)."""
    cdef tg_adagrad_opts o
    o.lr, o.lr_decay, o.weight_decay, o.eps = lr, lr_decay, weight_decay, eps
    o.maximize = bool(maximize)
    cdef _OptArgs a = _opt_args(params, grads, (("state_sums", state_sums, True),))
    _opt_steps(a, steps)
    if a.n == 0:
        return None
    _opt_run(OPT_ADAGRAD, a, &o)
    return None


def adadelta_step(params, grads, square_avgs, acc_deltas, *, lr, rho, eps, weight_decay=0.0, maximize=False):
    """torch.optim.Adadelta's update over a list of params, in place (see ref_optim.adadelta_step)."""
    cdef tg_adadelta_opts o
    o.lr, o.rho, o.eps, o.weight_decay = lr, rho, eps, weight_decay
    o.maximize = bool(maximize)
    cdef _OptArgs a = _opt_args(params, grads, (("square_avgs", square_avgs, True),
                                                ("acc_deltas", acc_deltas, True)))
    if a.n == 0:
        return None
    _opt_run(OPT_ADADELTA, a, &o)
    return None


def adamax_step(params, grads, exp_avgs, exp_infs, steps, *, lr, beta1, beta2, eps, weight_decay=0.0,
                maximize=False):
    """torch.optim.Adamax's update over a list of params, in place (see ref_optim.adamax_step)."""
    cdef tg_adamax_opts o
    o.lr, o.beta1, o.beta2, o.eps, o.weight_decay = lr, beta1, beta2, eps, weight_decay
    o.maximize = bool(maximize)
    cdef _OptArgs a = _opt_args(params, grads, (("exp_avgs", exp_avgs, True), ("exp_infs", exp_infs, True)))
    _opt_steps(a, steps)
    if a.n == 0:
        return None
    _opt_run(OPT_ADAMAX, a, &o)
    return None


def nadam_step(params, grads, exp_avgs, exp_avg_sqs, mu_products, steps, *, lr, beta1, beta2, eps,
               weight_decay=0.0, momentum_decay=0.004, maximize=False, decoupled_weight_decay=False):
    """torch.optim.NAdam's update over a list of params, in place;
    mu_products (a list, one number per param) is updated in place (see
    ref_optim.nadam_step)."""
    cdef tg_nadam_opts o
    cdef Py_ssize_t i
    o.lr, o.beta1, o.beta2, o.eps, o.weight_decay = lr, beta1, beta2, eps, weight_decay
    o.maximize, o.decoupled_weight_decay = bool(maximize), bool(decoupled_weight_decay)
    cdef _OptArgs a = _opt_args(params, grads, (("exp_avgs", exp_avgs, True), ("exp_avg_sqs", exp_avg_sqs, True)))
    cdef list st = _opt_steps(a, steps)
    mu_products = _ro._mu_list(mu_products, a.n)
    if a.n == 0:
        return None
    coefs = _ro._nadam_coefs(mu_products, st, o.lr, o.beta1, o.beta2, float(momentum_decay))
    a.coefs = <double *>PyMem_Malloc(sizeof(double) * (3 * a.n + 1))
    if a.coefs == NULL:
        raise MemoryError()
    for i in range(3 * a.n):
        a.coefs[i] = coefs[i]
    _opt_run(OPT_NADAM, a, &o)
    return None
