"""In-place ops, ``out=`` and ``__setitem__``, with autograd.

An in-place op computes its result out of place, writes it into the tensor's
memory (so views see it), bumps the version counter and moves the tensor to
the new node of the graph. When the tensor is a view, its base is moved too,
through a ``CopySlices`` node, as torch does.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from .._C import KERNEL_DTYPES, kernels as K
from ..autograd.grad_mode import STATE, enable_grad
from ..tensor import Tensor, _EXPORTS

_make = Tensor._make


def check_inplace(self: Tensor) -> None:
    if not STATE.enabled:
        return
    if self.grad_fn is None and self._requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    base = self._base
    if base is not None and base.grad_fn is None and base._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")


def check_multi_output_view(self: Tensor) -> None:
    """torch refuses recorded in-place writes to one of several views made by one node."""
    x = self._x
    multi = getattr(x.view_fn, "multi_output", None) if x is not None and x.base is not None else None
    if multi is not None:
        name, i = multi
        raise RuntimeError(f"Output {i} of {name} is a view and is being modified inplace. This view is the output "
                           "of a function that returns multiple views. Such functions do not allow the output "
                           "views to be modified inplace. You should replace the inplace operation by an "
                           "out-of-place one.")


def apply_inplace(self: Tensor, fn, *args, **kwargs) -> Tensor:
    """``self.<op>_(...)``: run ``fn(self, ...)`` out of place and commit it."""
    check_inplace(self)
    src = self
    if STATE.enabled and (self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)):
        check_multi_output_view(self)
        # Backward may need self's old value, which the write below destroys.
        src = _make(self._data.copy())
        src.grad_fn, src._output_nr, src._requires_grad = self.grad_fn, self._output_nr, self._requires_grad
    commit(self, fn(src, *args, **kwargs))
    return self


def commit(self: Tensor, result: Tensor) -> None:
    """Write ``result`` into ``self``'s memory and move ``self`` in the graph."""
    dst, res = self._data, result._data
    if res.shape != dst.shape:
        try:
            res = np.broadcast_to(res, dst.shape)
        except ValueError:
            raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                               f"{list(res.shape)}") from None
    if _dtype.from_numpy_dtype(res.dtype)._category > _dtype.from_numpy_dtype(dst.dtype)._category:
        raise RuntimeError(f"result type {_type_name(res.dtype)} can't be cast to the desired output type "
                           f"{_type_name(dst.dtype)}")
    try:
        np.copyto(dst, res, casting="unsafe")
    except ValueError as e:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the "
                           f"operation. ({e})") from None
    self._vc[0] += 1
    if result.grad_fn is not None:
        _rebase(self, result)


def _type_name(npd) -> str:
    return {"f": "Float", "i": "Long", "u": "Byte", "b": "Bool"}[npd.kind]


def _rebase(self: Tensor, result: Tensor) -> None:
    x = self._x
    if x is not None and x.base is not None:
        base = x.base
        new_base = CopySlices.apply(base, result, x.view_fn)
        base.grad_fn, base._output_nr, base._requires_grad = new_base.grad_fn, 0, True
        with enable_grad():
            regrown = x.view_fn(base)
        self.grad_fn, self._output_nr, self._requires_grad = regrown.grad_fn, regrown._output_nr, True
        _refresh_views(base, self)
        return
    if result._data.dtype != self._data.dtype:
        result = result.to(self.dtype)
    self.grad_fn, self._output_nr, self._requires_grad = result.grad_fn, result._output_nr, True
    _refresh_views(self, None)


def _refresh_views(base: Tensor, skip) -> None:
    """Re-derive, from the base's new node, the grad_fn of its other live views
    (their memory changed with the base; their old node would miss the write)."""
    from .movement import views_of
    for v in views_of(base):
        if v is skip or v._x is None or v._x.base is not base:
            continue
        with enable_grad():
            r = v._x.view_fn(base)
        if r._data.shape == v._data.shape:
            v.grad_fn, v._output_nr, v._requires_grad = r.grad_fn, r._output_nr, True


class CopySlices(Function):
    """The base of a view written in place: the view's region takes its
    gradient from the new values, the rest from the old base."""

    @staticmethod
    def forward(ctx, base, new_values, view_fn):
        ctx.view_fn = view_fn
        ctx.base_meta = (base._data.shape, base._data.dtype)
        return base._data

    @staticmethod
    def backward(ctx, g):
        need_base, need_values, _ = ctx.needs_input_grad
        g_base = g_values = None
        if need_base:
            keep = np.ones(*ctx.base_meta)
            ctx.view_fn(_make(keep))._data[...] = 0
            g_base = g * _make(keep)
        if need_values:
            g_values = ctx.view_fn(g)
        return g_base, g_values, None


# torch calls this node plain "CopySlices" (it is not a derivative formula's node)
CopySlices._node_name = CopySlices._node_cls.__name__ = CopySlices._node_cls.__qualname__ = "CopySlices"


def copy_into_out(out: Tensor, result: Tensor) -> Tensor:
    """torch's ``out=``: resize ``out`` if needed, keep its dtype, no autograd."""
    if result.grad_fn is not None:
        raise RuntimeError("add(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    if out._data.shape != result._data.shape:
        out._data = np.empty(result._data.shape, dtype=out._data.dtype)
    commit(out, result)
    return out


# -- fill_, zero_, copy_ and __setitem__ -------------------------------------
def _filled(src: Tensor, value) -> Tensor:
    from .pointwise import where
    return where(_make(np.ones((), dtype=bool)), value, src).to(src.dtype)


def fill_(self: Tensor, value) -> Tensor:
    """Fill with ``value`` (a number or a one-element tensor)."""
    if isinstance(value, Tensor) and value.dim() != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.dim()} dimensions.")
    if not isinstance(value, Tensor) or not value._requires_grad:
        check_inplace(self)
        v = value._data if isinstance(value, Tensor) else value
        if STATE.enabled and self._requires_grad:
            check_multi_output_view(self)
        self._data[...] = v
        self._vc[0] += 1
        if STATE.enabled and self._requires_grad:
            commit(self, _filled(self, _make(np.asarray(v, dtype=self._data.dtype))))
        return self
    return apply_inplace(self, _filled, value)


def zero_(self: Tensor) -> Tensor:
    return fill_(self, 0)


def copy_(self: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to this shape) into this tensor."""
    if not isinstance(src, Tensor):
        src = _make(np.asarray(src))
    try:
        np.broadcast_shapes(src._data.shape, self._data.shape)
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({list(self.shape)}) must match the size of tensor b "
                           f"({list(src.shape)})") from None
    if not (STATE.enabled and (src._requires_grad or self._requires_grad)):
        check_inplace(self)
        np.copyto(self._data, src._data, casting="unsafe")
        self._vc[0] += 1
        return self
    return apply_inplace(self, lambda s, v: _filled(s, v.to(s.dtype)) if v.dtype != s.dtype else _filled(s, v), src)


def setitem(self: Tensor, index, value) -> None:
    from .indexing import index_put, np_index, _write
    if not isinstance(value, Tensor):
        value = _make(np.asarray(value, dtype=self._data.dtype))
    if STATE.enabled and (self._requires_grad or value._requires_grad):
        apply_inplace(self, index_put, index, value)
        return
    # nothing to record: write the region only (a loop of x[i] = row stays linear)
    check_inplace(self)
    if not self._data.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the operation.")
    _write(self._data, np_index(index), value._data, False)
    self._vc[0] += 1


def index_put_(self: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """Put (or add, ``accumulate``) ``values`` at the positions of the index tensors ``indices``."""
    from .indexing import index_put
    if not isinstance(values, Tensor):
        values = _make(np.asarray(values, dtype=self._data.dtype))
    return apply_inplace(self, index_put, tuple(indices), values, accumulate)


Tensor.index_put_ = index_put_
Tensor.fill_ = fill_
Tensor.zero_ = zero_
Tensor.copy_ = copy_
Tensor.__setitem__ = setitem

_INPLACE = ("add", "sub", "mul", "div", "pow", "clamp", "clip", "clamp_min", "clamp_max", "neg", "abs",
            "exp", "log", "log1p", "expm1", "log2", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tanh",
            "sigmoid", "relu", "floor", "ceil", "round", "trunc", "sign", "square", "remainder", "fmod",
            "masked_fill", "index_fill", "scatter", "scatter_add", "index_add", "lerp", "floor_divide",
            "erf", "t", "transpose", "unsqueeze", "squeeze", "logical_not", "nan_to_num", "frac",
            "maximum", "minimum",
            "absolute", "negative", "fix", "divide", "true_divide", "multiply", "subtract", "atan", "tan",
            "sinh", "cosh", "log10", "eq", "ne", "not_equal", "lt", "less", "le", "less_equal", "gt", "greater",
            "ge", "greater_equal", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
            "bitwise_xor", "bitwise_not", "cumsum", "cumprod", "tril", "triu", "addmm", "masked_scatter",
            "index_copy", "swapaxes", "swapdims",
            "addcmul", "addcdiv", "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan2", "arctan",
            "arctanh", "asin", "asinh", "atan2", "atanh", "copysign", "deg2rad", "rad2deg", "erfc", "exp2",
            "heaviside", "hypot", "logit", "sgn", "sinc", "xlogy")
_SHAPE_CHANGING = {"t", "transpose", "unsqueeze", "squeeze", "swapaxes", "swapdims"}


_ARITH_UFUNCS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}


def _arith_fast(self: Tensor, name: str, args, kwargs) -> bool:
    """add_/sub_/mul_/div_ with nothing to record (an optimizer's ``p.sub_(g,
    alpha=lr)`` under no_grad): one NumPy ufunc into self's memory, no
    temporary, no commit copy. False when the general path must run."""
    if len(args) != 1 or kwargs.keys() - {"alpha"} or (name in ("mul", "div") and kwargs):
        return False
    other, d = args[0], self._data
    alpha = kwargs.get("alpha", 1)
    if isinstance(other, Tensor):
        if other._requires_grad and STATE.enabled:
            return False
        o = other._data
        if o.dtype != d.dtype or (o.shape != d.shape and np.broadcast_shapes(o.shape, d.shape) != d.shape):
            return False
    elif type(other) in (int, float) and d.dtype.kind == "f":
        o = other
    else:
        return False
    if d.dtype.kind != "f" or type(alpha) not in (int, float) or not d.flags.writeable:
        return False
    if alpha != 1 and isinstance(other, Tensor) and o.shape == d.shape and d.dtype in KERNEL_DTYPES and \
            d.flags.c_contiguous and o.flags.c_contiguous:
        # p.sub_(g, alpha=lr): the fused SGD kernel is this axpy in one pass, no temporary
        K.sgd_step([d], [o], None, lr=float(alpha if name == "sub" else -alpha))
        self._vc[0] += 1
        return True
    if alpha != 1:
        o = np.multiply(o, alpha, dtype=d.dtype)
    _ARITH_UFUNCS[name](d, o, out=d, casting="unsafe")
    self._vc[0] += 1
    return True


# Tensor methods whose compiled kernel (same name) can write into its input
_KERNEL_UNARY = ("relu", "sigmoid", "tanh", "exp", "log")


def kernel_inplace(self: Tensor, kernel: str, **params) -> bool:
    """``nn.ReLU(inplace=True)`` and friends with nothing to record: the
    kernel writes into self's memory (``out=`` its input), one pass instead
    of a result plus the commit copy. False when the general path must run
    (a graph to record, or memory that is not a plain float array)."""
    d = self._data
    if (STATE.enabled and self._requires_grad) or d.dtype not in KERNEL_DTYPES or not d.flags.c_contiguous or \
            not d.flags.writeable or not d.flags.aligned:
        return False
    getattr(K, kernel)(d, out=d, **params)
    self._vc[0] += 1
    return True


def _make_inplace(name: str):
    def op(self, *args, **kwargs):
        if name in _ARITH_UFUNCS and not (STATE.enabled and self._requires_grad) and \
                _arith_fast(self, name, args, kwargs):
            return self
        if name in _KERNEL_UNARY and not args and not kwargs and kernel_inplace(self, name):
            return self
        if name in _SHAPE_CHANGING:
            return _reshape_inplace(self, getattr(Tensor, name), *args, **kwargs)
        return apply_inplace(self, getattr(Tensor, name), *args, **kwargs)

    op.__name__ = name + "_"
    op.__doc__ = f"In-place version of ``{name}``."
    return op


def _reshape_inplace(self, fn, *args, **kwargs):
    check_inplace(self)
    r = fn(self, *args, **kwargs)
    self._data = r._data
    self._vc[0] += 1
    x = self._x
    if x is not None and x.base is not None:  # a view stays re-derivable from its base
        old_fn = x.view_fn
        new_fn = lambda t: fn(old_fn(t), *args, **kwargs)  # noqa: E731
        if getattr(old_fn, "multi_output", None) is not None:
            new_fn.multi_output = old_fn.multi_output
        x.view_fn = new_fn
    if r.grad_fn is not None:
        self.grad_fn, self._output_nr = r.grad_fn, r._output_nr
    return self


for _n in _INPLACE:
    if hasattr(Tensor, _n):  # ops that a partial build lacks get no in-place form
        setattr(Tensor, _n + "_", _make_inplace(_n))

# torch also has these in-place forms at module level: torch.relu_(x)
for _n in ("abs", "clamp", "clip", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "reciprocal", "sin", "cos",
           "tanh", "sigmoid", "relu", "floor", "ceil", "round", "trunc", "neg", "square", "fill", "zero"):
    _EXPORTS[_n + "_"] = getattr(Tensor, _n + "_")


def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal (all dims equal for more than 2 dims); ``wrap`` restarts it
    every ``ncols + 1`` rows of a tall matrix, as torch."""
    n = self._data.ndim
    if n < 2:
        raise RuntimeError("dimensions must larger than 1")
    if n > 2 and len(set(self._data.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    check_inplace(self)
    mask = np.zeros(self._data.shape, dtype=bool)
    if n == 2:
        rows, cols = self._data.shape
        step = cols + 1
        limit = rows if wrap else min(rows, cols)
        r = np.arange(limit)
        keep = r % step < cols
        r = r[keep]
        mask[r, r % step] = True
    else:
        i = np.arange(self._data.shape[0])
        mask[(i,) * n] = True
    return apply_inplace(self, lambda s, m, v: s.masked_fill(m, v), _make(mask), fill_value)


Tensor.fill_diagonal_ = fill_diagonal_
for _dunder, _n in (("__iadd__", "add"), ("__isub__", "sub"), ("__imul__", "mul"), ("__itruediv__", "div"),
                    ("__ipow__", "pow"), ("__imod__", "remainder"), ("__ifloordiv__", "floor_divide")):
    setattr(Tensor, _dunder, _make_inplace(_n))
