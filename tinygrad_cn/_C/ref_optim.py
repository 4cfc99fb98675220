"""NumPy reference of the fused optimizer updates over many tensors (csrc/optim.c).

Same names and signatures as the compiled bindings in _optim.pxi, and the
same checks and errors. Each function updates the parameter tensors and the
optimizer state arrays of a whole list of parameters in place and returns
None (``nadam_step`` also updates ``mu_products`` in place).

The formulas are torch 2.x's single-tensor CPU implementations
(``torch.optim.<name>._single_tensor_<name>``), operation by operation in the
same order: host scalars (bias corrections, step sizes) are Python floats
(double), cast to the array dtype where torch casts a Scalar argument, and
every array operation runs in the array dtype and rounds once. The compiled
kernels do exactly the same, so both agree bit for bit (and with torch's
scalar formulas; torch's vectorised lerp/add may use FMA, a <= 1 ulp
difference per step).

Arguments shared by every function:
  params      list of float32 or float64 arrays (one dtype per call), each
              C-contiguous and writeable; updated in place.
  grads       list of arrays of the same dtype and shapes, C-contiguous.
  state lists (exp_avgs, ...) as params: caller-allocated (zeros, or
              initial_accumulator_value for Adagrad), updated in place.
  steps       one int or a list of ints (one per param): the step count
              after the caller's increment (the first step is 1).
All hyper-parameters are keyword-only, with torch's names and defaults.
Errors: TypeError for a non-list, a non-array, a dtype other than
float32/float64 or a dtype mix; ValueError for list lengths, shapes, a
non-C-contiguous, misaligned, byte-swapped or read-only array, a missing
state list, or a step < 1.
"""
import operator

import numpy as np

__all__ = ["sgd_step", "adam_step", "rmsprop_step", "adagrad_step", "adadelta_step", "adamax_step", "nadam_step"]

_FLOATS = (np.float32, np.float64)


# --------------------------------------------------------------------------
# argument checks (mirrored by _optim.pxi)
# --------------------------------------------------------------------------

def _as_list(x, name):
    if isinstance(x, (list, tuple)):
        return list(x)
    raise TypeError("%s must be a list of numpy arrays, got %s" % (name, type(x).__name__))


def _check_list(arrs, name, params, dtype, writeable):
    """Checks one list against params; returns the dtype (set by the first array)."""
    if len(arrs) != len(params):
        raise ValueError("%s has %d arrays but params has %d" % (name, len(arrs), len(params)))
    for i, a in enumerate(arrs):
        if not isinstance(a, np.ndarray):
            raise TypeError("%s[%d] must be a numpy.ndarray, got %s" % (name, i, type(a).__name__))
        if a.dtype.type not in _FLOATS:
            raise TypeError("%s[%d] has dtype %s; the optimizer kernels take float32 or float64" % (name, i, a.dtype))
        if dtype is None:
            dtype = a.dtype
        elif a.dtype.type is not dtype.type:
            raise TypeError("%s[%d] has dtype %s but the call's dtype is %s (all arrays of one call share one dtype)"
                            % (name, i, a.dtype, dtype))
        if arrs is not params and a.shape != params[i].shape:
            raise ValueError("%s[%d] has shape %s but params[%d] has shape %s" % (name, i, a.shape, i, params[i].shape))
        if not (a.flags.c_contiguous and a.flags.aligned and a.dtype.isnative):
            raise ValueError("%s[%d] must be a C-contiguous, aligned array in native byte order" % (name, i))
        if writeable and not a.flags.writeable:
            raise ValueError("%s[%d] is read-only; it is updated in place" % (name, i))
    return dtype


def _check(params, grads, states):
    """states: list of (name, list or None, required). Returns (dtype or None,
    params, grads, [state lists])."""
    params = _as_list(params, "params")
    dtype = _check_list(params, "params", params, None, True)
    grads = _as_list(grads, "grads")
    dtype = _check_list(grads, "grads", params, dtype, False)
    out = []
    for name, arrs, required in states:
        if not required:
            out.append(None)
            continue
        if arrs is None:
            raise ValueError("%s is required with these options" % name)
        arrs = _as_list(arrs, name)
        dtype = _check_list(arrs, name, params, dtype, True)
        out.append(arrs)
    return dtype, params, grads, out


def _steps(steps, n):
    """A list of n ints >= 1 from one int or a list of ints."""
    if isinstance(steps, (list, tuple, np.ndarray)):
        if len(steps) != n:
            raise ValueError("steps has %d entries but params has %d" % (len(steps), n))
        out = [operator.index(s) for s in steps]
    else:
        out = [operator.index(steps)] * n
    for s in out:
        if s < 1:
            raise ValueError("steps must be >= 1 (already incremented, as torch does), got %d" % s)
    return out


def _nadam_coefs(mu_products, steps, lr, beta1, beta2, momentum_decay):
    """torch's NAdam host math for each param: multiplies mu_products[i] by mu
    in place and returns the flat list [bc2, grad coefficient, exp_avg
    coefficient] * n. mu_products[i] keeps its type: np.float32 values are
    rounded to float32 as torch's float32 mu_product tensor (the default
    dtype float32) rounds them; Python floats stay double."""
    coefs = []
    for i, step in enumerate(steps):
        bias_correction2 = 1 - beta2 ** step
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product = mu_products[i] * mu
        mu_products[i] = mu_product
        mu_product = float(mu_product)
        mu_product_next = mu_product * mu_next
        coefs += [bias_correction2, -lr * (1.0 - mu) / (1.0 - mu_product), (-lr * mu_next) / (1.0 - mu_product_next)]
    return coefs


def _mu_list(mu_products, n):
    if isinstance(mu_products, (tuple, str, bytes)) or not hasattr(mu_products, "__setitem__"):
        raise TypeError("mu_products must be a mutable sequence (a list of floats), updated in place")
    if len(mu_products) != n:
        raise ValueError("mu_products has %d entries but params has %d" % (len(mu_products), n))
    return mu_products


def _lerp_(a, b, weight):
    """a = torch.lerp(a, b, weight) in place, with torch's two formulas."""
    dt = a.dtype.type
    w = dt(weight)
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (dt(1) - w)


def _grad(g, p, maximize, weight_decay, dt):
    g = -g if maximize else g
    if weight_decay != 0:
        g = g + dt(weight_decay) * p
    return g


# --------------------------------------------------------------------------
# optimizers
# --------------------------------------------------------------------------

def sgd_step(params, grads, momentum_buffers, *, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
             maximize=False, first_step=False):
    """torch.optim.SGD's update. momentum_buffers: caller-allocated arrays,
    or None when momentum == 0 (ignored then). first_step=True sets each
    buffer to the (decayed, sign-adjusted) gradient, as torch does when the
    buffer does not exist yet; later steps do buf = momentum*buf +
    (1-dampening)*g."""
    lr, momentum, dampening, weight_decay = float(lr), float(momentum), float(dampening), float(weight_decay)
    dtype, params, grads, (bufs,) = _check(params, grads, [("momentum_buffers", momentum_buffers, momentum != 0)])
    if dtype is None:
        return None
    dt = dtype.type
    with np.errstate(all="ignore"):
        for i, p in enumerate(params):
            if p.size == 0:
                continue
            g = _grad(grads[i], p, maximize, weight_decay, dt)
            if momentum != 0:
                buf = bufs[i]
                if first_step:
                    buf[...] = g
                else:
                    buf *= dt(momentum)
                    buf += dt(1 - dampening) * g
                g = g + dt(momentum) * buf if nesterov else buf
            p += dt(-lr) * g
    return None


def adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, *, lr, beta1, beta2, eps,
              weight_decay=0.0, amsgrad=False, maximize=False, decoupled_weight_decay=False):
    """torch.optim.Adam's update (AdamW with decoupled_weight_decay=True).
    max_exp_avg_sqs: list of arrays when amsgrad, else None (ignored)."""
    lr, beta1, beta2, eps, weight_decay = float(lr), float(beta1), float(beta2), float(eps), float(weight_decay)
    dtype, params, grads, (ms, vs, vmaxs) = _check(
        params, grads, [("exp_avgs", exp_avgs, True), ("exp_avg_sqs", exp_avg_sqs, True),
                        ("max_exp_avg_sqs", max_exp_avg_sqs, bool(amsgrad))])
    steps = _steps(steps, len(params))
    if dtype is None:
        return None
    dt = dtype.type
    with np.errstate(all="ignore"):
        for i, p in enumerate(params):
            if p.size == 0:
                continue
            m, v, step = ms[i], vs[i], steps[i]
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2 ** 0.5
            g = -grads[i] if maximize else grads[i]
            if weight_decay != 0:
                if decoupled_weight_decay:
                    p *= dt(1 - lr * weight_decay)
                else:
                    g = g + dt(weight_decay) * p
            _lerp_(m, g, 1 - beta1)
            v *= dt(beta2)
            v += (dt(1 - beta2) * g) * g
            if amsgrad:
                np.maximum(vmaxs[i], v, out=vmaxs[i])
                denom = np.sqrt(vmaxs[i]) / dt(bias_correction2_sqrt) + dt(eps)
            else:
                denom = np.sqrt(v) / dt(bias_correction2_sqrt) + dt(eps)
            p += (dt(-step_size) * m) / denom
    return None


def rmsprop_step(params, grads, square_avgs, grad_avgs, momentum_buffers, *, lr, alpha, eps, weight_decay=0.0,
                 momentum=0.0, centered=False, maximize=False):
    """torch.optim.RMSprop's update. grad_avgs: arrays when centered, else
    None; momentum_buffers: arrays when momentum > 0, else None."""
    lr, alpha, eps, weight_decay, momentum = float(lr), float(alpha), float(eps), float(weight_decay), float(momentum)
    dtype, params, grads, (sqs, gas, bufs) = _check(
        params, grads, [("square_avgs", square_avgs, True), ("grad_avgs", grad_avgs, bool(centered)),
                        ("momentum_buffers", momentum_buffers, momentum > 0)])
    if dtype is None:
        return None
    dt = dtype.type
    with np.errstate(all="ignore"):
        for i, p in enumerate(params):
            if p.size == 0:
                continue
            sq = sqs[i]
            g = _grad(grads[i], p, maximize, weight_decay, dt)
            sq *= dt(alpha)
            sq += (dt(1 - alpha) * g) * g
            if centered:
                ga = gas[i]
                _lerp_(ga, g, 1 - alpha)
                avg = np.sqrt(sq + (dt(-1) * ga) * ga)
            else:
                avg = np.sqrt(sq)
            avg += dt(eps)
            if momentum > 0:
                buf = bufs[i]
                buf *= dt(momentum)
                buf += (dt(1) * g) / avg
                p += dt(-lr) * buf
            else:
                p += (dt(-lr) * g) / avg
    return None


def adagrad_step(params, grads, state_sums, steps, *, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=False):
    """torch.optim.Adagrad's update (dense gradients):
    clr = lr / (1 + (step-1)*lr_decay). initial_accumulator_value is the
    caller's initial fill of state_sums."""
    lr, lr_decay, weight_decay, eps = float(lr), float(lr_decay), float(weight_decay), float(eps)
    dtype, params, grads, (sums,) = _check(params, grads, [("state_sums", state_sums, True)])
    steps = _steps(steps, len(params))
    if dtype is None:
        return None
    dt = dtype.type
    with np.errstate(all="ignore"):
        for i, p in enumerate(params):
            if p.size == 0:
                continue
            s, step = sums[i], steps[i]
            g = _grad(grads[i], p, maximize, weight_decay, dt)
            clr = lr / (1 + (step - 1) * lr_decay)
            s += (dt(1) * g) * g
            std = np.sqrt(s) + dt(eps)
            p += (dt(-clr) * g) / std
    return None


def adadelta_step(params, grads, square_avgs, acc_deltas, *, lr, rho, eps, weight_decay=0.0, maximize=False):
    """torch.optim.Adadelta's update."""
    lr, rho, eps, weight_decay = float(lr), float(rho), float(eps), float(weight_decay)
    dtype, params, grads, (sas, ads) = _check(
        params, grads, [("square_avgs", square_avgs, True), ("acc_deltas", acc_deltas, True)])
    if dtype is None:
        return None
    dt = dtype.type
    with np.errstate(all="ignore"):
        for i, p in enumerate(params):
            if p.size == 0:
                continue
            sa, ad = sas[i], ads[i]
            g = _grad(grads[i], p, maximize, weight_decay, dt)
            sa *= dt(rho)
            sa += (dt(1 - rho) * g) * g
            std = np.sqrt(sa + dt(eps))
            delta = np.sqrt(ad + dt(eps))
            delta /= std
            delta *= g
            ad *= dt(rho)
            ad += (dt(1 - rho) * delta) * delta
            p += dt(-lr) * delta
    return None


def adamax_step(params, grads, exp_avgs, exp_infs, steps, *, lr, beta1, beta2, eps, weight_decay=0.0,
                maximize=False):
    """torch.optim.Adamax's update."""
    lr, beta1, beta2, eps, weight_decay = float(lr), float(beta1), float(beta2), float(eps), float(weight_decay)
    dtype, params, grads, (ms, us) = _check(
        params, grads, [("exp_avgs", exp_avgs, True), ("exp_infs", exp_infs, True)])
    steps = _steps(steps, len(params))
    if dtype is None:
        return None
    dt = dtype.type
    with np.errstate(all="ignore"):
        for i, p in enumerate(params):
            if p.size == 0:
                continue
            m, u, step = ms[i], us[i], steps[i]
            g = _grad(grads[i], p, maximize, weight_decay, dt)
            _lerp_(m, g, 1 - beta1)
            u *= dt(beta2)
            np.maximum(u, np.abs(g) + dt(eps), out=u)
            clr = lr / (1 - beta1 ** step)
            p += (dt(-clr) * m) / u
    return None


def nadam_step(params, grads, exp_avgs, exp_avg_sqs, mu_products, steps, *, lr, beta1, beta2, eps,
               weight_decay=0.0, momentum_decay=0.004, maximize=False, decoupled_weight_decay=False):
    """torch.optim.NAdam's update. mu_products: a mutable sequence (list) of
    one number per param, initially 1.0, multiplied in place by this step's
    mu as torch does with its mu_product state. Its entries keep their type:
    use np.float32(1.0) to round as torch's float32 mu_product tensor does
    (default dtype float32), or Python floats for double (torch's under
    default dtype float64)."""
    lr, beta1, beta2, eps = float(lr), float(beta1), float(beta2), float(eps)
    weight_decay, momentum_decay = float(weight_decay), float(momentum_decay)
    dtype, params, grads, (ms, vs) = _check(
        params, grads, [("exp_avgs", exp_avgs, True), ("exp_avg_sqs", exp_avg_sqs, True)])
    steps = _steps(steps, len(params))
    mu_products = _mu_list(mu_products, len(params))
    if dtype is None:
        return None
    coefs = _nadam_coefs(mu_products, steps, lr, beta1, beta2, momentum_decay)
    dt = dtype.type
    with np.errstate(all="ignore"):
        for i, p in enumerate(params):
            if p.size == 0:
                continue
            m, v = ms[i], vs[i]
            bc2, cg, cm = coefs[3 * i:3 * i + 3]
            g = -grads[i] if maximize else grads[i]
            if weight_decay != 0:
                if decoupled_weight_decay:
                    p *= dt(1 - lr * weight_decay)
                else:
                    g = g + dt(weight_decay) * p
            _lerp_(m, g, 1 - beta1)
            v *= dt(beta2)
            v += (dt(1 - beta2) * g) * g
            denom = np.sqrt(v / dt(bc2)) + dt(eps)
            p += (dt(cg) * g) / denom
            p += (dt(cm) * m) / denom
    return None
