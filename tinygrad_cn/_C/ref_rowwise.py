"""NumPy reference of the row-wise softmax / log_softmax / cross-entropy (csrc/rowwise.c).

Same names and signatures as the compiled bindings in _rowwise.pxi:

    softmax(x, out=None), log_softmax(x, out=None)          over the last dim
    softmax_backward(y, gout, out=None)                     y = softmax output
    log_softmax_backward(y, gout, out=None)                 y = log_softmax output
    cross_entropy(logits, target, weight=None, ignore_index=-100,
                  label_smoothing=0.0, reduction="mean") -> (loss, lse)
    cross_entropy_backward(logits, target, lse, grad_loss, weight=None,
                  ignore_index=-100, label_smoothing=0.0, reduction="mean") -> grad_logits

float16 is computed in float32 and rounded once; integer and bool inputs in
float64. cross_entropy computes in float64 whatever the input dtype and
returns the loss in the logits' float dtype; lse is always float64.
No NumPy floating-point warnings for any input (np.errstate).

The private _check_* helpers validate arguments for both backends.
"""
import numpy as np

__all__ = [
    "softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
    "cross_entropy", "cross_entropy_backward",
]


class _ArgumentError(ValueError, RuntimeError):
    """Invalid argument value. torch raises RuntimeError for these; ValueError
    is the Python convention. This is both."""


# --------------------------------------------------------------------------
# argument checks (shared with the compiled bindings)
# --------------------------------------------------------------------------

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction):
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise _ArgumentError("%r is not a valid value for reduction (expected 'none', 'mean' or 'sum')"
                             % (reduction,))
    return reduction


def _check_label_smoothing(label_smoothing):
    eps = float(label_smoothing)
    if not (0.0 <= eps <= 1.0):
        raise _ArgumentError("label_smoothing must be between 0.0 and 1.0. Got: %g" % eps)
    return eps


def _check_ignore_index(ignore_index):
    if isinstance(ignore_index, (bool, np.bool_)) or not hasattr(ignore_index, "__index__"):
        raise TypeError("ignore_index must be an int, got %s" % type(ignore_index).__name__)
    return ignore_index.__index__()


def _check_target(target, logits):
    """target as a C-contiguous int64 array of shape (N,) for logits (N, C)."""
    if type(target) is np.ndarray and target.dtype == np.int64 and target.flags.c_contiguous and \
            target.flags.aligned and np.ndim(logits) == 2 and target.shape == (logits.shape[0],):
        return target  # the common case, checked in a few attribute reads
    if np.ndim(logits) != 2:
        raise ValueError("cross_entropy expects logits of shape (N, C), got shape %s" % (np.shape(logits),))
    t = np.asarray(target)
    if t.dtype == np.bool_ or not np.issubdtype(t.dtype, np.integer):
        raise TypeError("cross_entropy expects integer class indices as target, got dtype %s" % t.dtype)
    if t.shape != (np.shape(logits)[0],):
        raise ValueError("target has shape %s, expected (%d,) for logits of shape %s"
                         % (t.shape, np.shape(logits)[0], np.shape(logits)))
    if t.dtype == np.uint64 and t.size and t.max() > np.iinfo(np.int64).max:
        raise IndexError("Target %d is out of bounds." % t.max())
    return np.require(t, dtype=np.int64, requirements=["C", "A"])


def _check_weight(weight, c):
    w = np.asarray(weight)
    if w.shape != (c,):
        raise ValueError("weight has shape %s, expected (%d,) (one per class)" % (w.shape, c))
    return w


def _check_lse(lse, n):
    ls = np.require(lse, dtype=np.float64, requirements=["C", "A"])
    if ls.shape != (n,):
        raise ValueError("lse has shape %s, expected (%d,)" % (ls.shape, n))
    return ls


def _check_grad_loss(grad_loss, n, none):
    g = np.asarray(grad_loss)
    if none:
        if g.shape != (n,):
            raise ValueError("grad_loss has shape %s, expected (%d,) for reduction='none'" % (g.shape, n))
        return g
    if g.size != 1:
        raise ValueError("grad_loss has shape %s, expected a scalar for reduction='mean'/'sum'" % (g.shape,))
    return g.reshape(())


# --------------------------------------------------------------------------
# softmax family
# --------------------------------------------------------------------------

def _work(*arrays):
    """(arrays in the dtype to compute in, result dtype)."""
    arrs = [np.asarray(a) for a in arrays]
    dt = np.result_type(*arrs)
    if dt == np.float16:
        return [a.astype(np.float32) for a in arrs], dt
    if not np.issubdtype(dt, np.floating):
        return [a.astype(np.float64) for a in arrs], np.dtype(np.float64)
    return [a.astype(dt, copy=False) for a in arrs], dt


def _finish(result, out, dtype):
    result = np.asarray(result).astype(dtype, copy=False)
    if out is None:
        return result
    out[...] = result
    return out


def _rows(x):
    """x viewed with at least one dimension (a 0-d array is one row of one)."""
    return x.reshape(1) if x.ndim == 0 else x


def softmax(x, out=None):
    """softmax over the last dimension: e^(x - max) * (1 / sum e^(x - max)).
    Rows holding +inf or NaN, or only -inf, give NaN (as torch)."""
    (xa,), dt = _work(x)
    w = _rows(xa)
    with np.errstate(all="ignore"):
        if w.shape[-1] == 0:
            r = np.empty(w.shape, w.dtype)
        else:
            e = np.exp(w - w.max(-1, keepdims=True))
            r = e * (1 / e.sum(-1, keepdims=True))
    return _finish(r.reshape(xa.shape), out, dt)


def log_softmax(x, out=None):
    """log_softmax over the last dimension: (x - max) - log(sum e^(x - max))."""
    (xa,), dt = _work(x)
    w = _rows(xa)
    with np.errstate(all="ignore"):
        if w.shape[-1] == 0:
            r = np.empty(w.shape, w.dtype)
        else:
            d = w - w.max(-1, keepdims=True)
            r = d - np.log(np.exp(d).sum(-1, keepdims=True))
    return _finish(r.reshape(xa.shape), out, dt)


def softmax_backward(y, gout, out=None):
    """gin = (gout - sum(gout * y)) * y per row (y is softmax's output)."""
    (ya, ga), dt = _work(y, gout)
    ya, ga = np.broadcast_arrays(_rows(ya), _rows(ga))
    with np.errstate(all="ignore"):
        r = (ga - (ga * ya).sum(-1, keepdims=True)) * ya
    return _finish(r.reshape(np.broadcast_shapes(np.shape(y), np.shape(gout))), out, dt)


def log_softmax_backward(y, gout, out=None):
    """gin = gout - exp(y) * sum(gout) per row (y is log_softmax's output)."""
    (ya, ga), dt = _work(y, gout)
    ya, ga = np.broadcast_arrays(_rows(ya), _rows(ga))
    with np.errstate(all="ignore"):
        r = ga - np.exp(ya) * ga.sum(-1, keepdims=True)
    return _finish(r.reshape(np.broadcast_shapes(np.shape(y), np.shape(gout))), out, dt)


# --------------------------------------------------------------------------
# cross-entropy
# --------------------------------------------------------------------------

def _ce_setup(logits, target, weight, ignore_index, label_smoothing, reduction):
    reduction = _check_reduction(reduction)
    eps = _check_label_smoothing(label_smoothing)
    ii = _check_ignore_index(ignore_index)
    x = np.asarray(logits)
    t = _check_target(target, x)
    n, c = x.shape
    dt = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
    wv = np.ones(c) if weight is None else _check_weight(weight, c).astype(np.float64)
    ign = t == ii
    bad = ~ign & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError("Target %d is out of bounds." % t[np.argmax(bad)])
    ts = np.where(ign, 0, t)
    wt = np.where(ign, 0.0, wv[ts]) if c > 0 else np.zeros(n)
    return x.astype(np.float64), t, ts, ign, n, c, wv, wt, eps, reduction, dt


def cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    """torch.nn.functional.cross_entropy over class indices (logits (N, C),
    target (N,) integer). Returns (loss, lse): loss 0-d ("mean", "sum") or
    (N,) ("none") in the logits' float dtype; lse (N,) float64 logsumexp of
    each row. With lp = log_softmax(logits), nll_i = -w[t_i] lp[i, t_i],
    smooth_i = -sum_j w_j lp[i, j] (both 0 for ignored rows):
      none  (1 - eps) nll_i + smooth_i eps / C
      sum   (1 - eps) sum nll + sum smooth eps / C
      mean  (1 - eps) sum nll / W + (sum smooth / W) eps / C,  W = sum of w[t_i] not ignored."""
    x, t, ts, ign, n, c, wv, wt, eps, reduction, dt = _ce_setup(logits, target, weight, ignore_index,
                                                                label_smoothing, reduction)
    with np.errstate(all="ignore"):
        if c > 0:
            m = x.max(1, keepdims=True)
            d = x - m
            ls = np.log(np.exp(d).sum(1, keepdims=True))
            lp = d - ls
            lse = (m + ls)[:, 0]
            nll = np.where(ign, 0.0, -wt * lp[np.arange(n), ts])
            smooth = np.where(ign, 0.0, -(lp * wv).sum(1)) if eps > 0 else None
        else:
            lse = np.full(n, -np.inf)
            nll = np.zeros(n)
            smooth = None
        if reduction == "none":
            loss = (1 - eps) * nll + smooth * (eps / c) if smooth is not None else nll
        else:
            s_nll = nll.sum()
            s_smooth = smooth.sum() if smooth is not None else 0.0
            if reduction == "mean":
                total = wt.sum()
                s_nll = s_nll / total
                s_smooth = s_smooth / total
            loss = (1 - eps) * s_nll + s_smooth * (eps / c) if smooth is not None else s_nll
    return np.asarray(loss).astype(dt), np.ascontiguousarray(lse, dtype=np.float64)


def cross_entropy_backward(logits, target, lse, grad_loss, weight=None, ignore_index=-100, label_smoothing=0.0,
                           reduction="mean"):
    """Gradient of cross_entropy with respect to the logits (N, C) from the
    saved lse, in torch's autograd order: g = d loss / d lp, then
    gin = g - softmax * sum(g) per row."""
    x, t, ts, ign, n, c, wv, wt, eps, reduction, dt = _ce_setup(logits, target, weight, ignore_index,
                                                                label_smoothing, reduction)
    ls = _check_lse(lse, n)
    gl = _check_grad_loss(grad_loss, n, reduction == "none").astype(np.float64)
    with np.errstate(all="ignore"):
        a = gl / wt.sum() if reduction == "mean" else gl
        a = np.where(ign, 0.0, np.broadcast_to(a, (n,)))
        if c == 0:
            return np.zeros((n, 0), dt)
        if eps > 0:
            g = -(eps / c) * a[:, None] * wv[None, :]
        else:
            g = np.zeros((n, c))
        g[np.arange(n), ts] -= a * (1 - eps) * wt
        p = np.exp(x - ls[:, None])
        gin = g - p * g.sum(1, keepdims=True)
    return gin.astype(dt)
