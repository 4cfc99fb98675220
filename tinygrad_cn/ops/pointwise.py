"""Element-wise ops. Each forward sits beside its derivative rule.

Operands are promoted by torch's rules before the Function runs, so a Function
sees Tensors of one dtype (or Python scalars). The engine undoes broadcasting,
so backward rules return gradients in the broadcast shape.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from .._C import kernels as K
from ..autograd.function import Function
from ..tensor import Tensor, tensor_method, is_scalar

_make = Tensor._make


# -- operand preparation -----------------------------------------------------
def as_operand(x):
    if isinstance(x, Tensor):
        return x
    if is_scalar(x):
        return x
    if isinstance(x, np.ndarray):
        return _make(x)
    raise TypeError(f"unsupported operand type: '{type(x).__name__}'")


def _cast_scalar(x, dt):
    if dt.is_floating_point:
        return float(x)
    if dt is _dtype.bool_:
        return bool(x)
    x = int(x)
    if dt is not _dtype.int64:
        info = np.iinfo(dt.np)
        if not info.min <= x <= info.max:  # torch wraps (uint8 tensor - 1); NumPy 2 would raise
            return np.array(x).astype(dt.np)[()]
    return x


def broadcast_error(*operands) -> Exception:
    """torch's RuntimeError for operands (Tensors, scalars or shape tuples) whose
    shapes do not broadcast; None if they do."""
    shapes = [x._data.shape if isinstance(x, Tensor) else x if isinstance(x, tuple) else () for x in operands]
    for i in range(len(shapes)):
        for j in range(i + 1, len(shapes)):
            sa, sb = shapes[i], shapes[j]
            n = len(sa) if len(sa) > len(sb) else len(sb)
            for d in range(n - 1, -1, -1):
                a = sa[d - n + len(sa)] if d - n + len(sa) >= 0 else 1
                b = sb[d - n + len(sb)] if d - n + len(sb) >= 0 else 1
                if a != b and a != 1 and b != 1:
                    return RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                                        f"non-singleton dimension {d}")
    return None


def _apply(fn, *operands):
    """``fn.apply(*operands)``, turning NumPy's broadcast ValueError into torch's RuntimeError."""
    try:
        return fn.apply(*operands)
    except ValueError:
        err = broadcast_error(*operands)
        if err is None:
            raise
        raise err from None


def promote(a, b, dt=None):
    """Cast the operands of a binary op to their torch result dtype (or ``dt``)."""
    if type(a) is Tensor and type(b) is Tensor and a._data.dtype is b._data.dtype and dt is None:
        return a, b
    a, b = as_operand(a), as_operand(b)
    if dt is None:
        dt = _dtype.result_type(a, b)
    return _to(a, dt), _to(b, dt)


def float_result_type(a, b):
    """The dtype of a binary op whose result is always floating (true division,
    xlogy, copysign): torch's result type, or the default float for integers."""
    dt = _dtype.result_type(as_operand(a), as_operand(b))
    return dt if dt.is_floating_point else _dtype.get_default_dtype()


def float_tensors(a, b):
    """Both operands as tensors of their floating result dtype."""
    dt = float_result_type(a, b)
    return tuple(v if isinstance(v, Tensor) else _make(np.asarray(v, dtype=dt.np)) for v in promote(a, b, dt))


def _to(x, dt):
    if isinstance(x, Tensor):
        return x if x._data.dtype == dt.np else cast(x, dt)
    return _cast_scalar(x, dt)


def float_input(x: Tensor) -> Tensor:
    """Integer and bool inputs of float functions become the default float dtype."""
    return x if x._data.dtype.kind == "f" else cast(x, _dtype.get_default_dtype())


def _arr(x):
    return x._data if isinstance(x, Tensor) else x


def _nd(y) -> np.ndarray:
    """NumPy turns 0-d results into scalars; a Tensor always holds an ndarray."""
    return y if type(y) is np.ndarray else np.asarray(y)


def save_operands(ctx, a, b, keep_a=True, keep_b=True, *extra) -> None:
    """Save a binary op's operands for backward: tensors as saved tensors (version
    checked), Python scalars as they are. ``keep_*`` False skips a tensor that
    backward will not need."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    ctx.save_for_backward(a if ta and keep_a else None, b if tb and keep_b else None, *extra)
    ctx.scalars = (None if ta else a, None if tb else b)


def saved_operands(ctx) -> tuple:
    """The operands ``save_operands`` kept, then any extra saved tensors."""
    a, b, *extra = ctx.saved_tensors
    sa, sb = ctx.scalars
    return (sa if a is None else a, sb if b is None else b, *extra)


def zeros_grad(g: Tensor) -> Tensor:
    return _make(np.zeros_like(g._data))


# -- dtype cast ----------------------------------------------------------------
class Cast(Function):
    node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, dt):
        ctx.src = x.dtype
        return x._data.astype(dt.np)

    @staticmethod
    def backward(ctx, g):
        return cast(g, ctx.src) if ctx.src.is_floating_point else None, None


def cast(x: Tensor, dt) -> Tensor:
    return Cast.apply(x, _dtype.to_dtype(dt))


# -- binary arithmetic -------------------------------------------------------
class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return _arr(a) + _arr(b)

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return _arr(a) - _arr(b)

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        save_operands(ctx, a, b, need_b, need_a)  # each factor only for the other's gradient
        return _arr(a) * _arr(b)

    @staticmethod
    def backward(ctx, g):
        a, b = saved_operands(ctx)
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        save_operands(ctx, a, b)
        return np.true_divide(_arr(a), _arr(b))

    @staticmethod
    def backward(ctx, g):
        a, b = saved_operands(ctx)
        need_a, need_b = ctx.needs_input_grad
        return (g / b if need_a else None), (-g * a / (b * b) if need_b else None)


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        y = _make(_nd(np.power(_arr(a), _arr(b))))
        save_operands(ctx, a, b, True, True, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = saved_operands(ctx)
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        if need_a:
            if isinstance(b, Tensor):  # torch: zero where the exponent is 0, even at a == 0
                ga = where(b == 0, 0.0, g * b * a ** (b - 1))
            else:
                ga = zeros_grad(g) if b == 0 else g * b * (a.rsqrt() if b == 0.5 else a ** (b - 1))
        if need_b:
            log_a = a.log() if isinstance(a, Tensor) else math.log(a) if a > 0 else \
                float("-inf") if a == 0 else float("nan")
            gb = g * y * log_a
            if isinstance(a, Tensor) or a == 0:  # 0 ** b with b >= 0 has zero slope in b, as torch defines it
                gb = where((a == 0) & (b >= 0) if isinstance(a, Tensor) else b >= 0, 0.0, gb)
        return ga, gb


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _split_ties(g, a < b, a > b, a == b)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _split_ties(g, a > b, a < b, a == b)


def _split_ties(g, a_loses, b_loses, ties):
    """Gradient of max/min of two tensors, as torch: the winner takes it, ties split
    it, and where a NaN makes both comparisons false both operands get all of it."""
    g = where(ties, g * 0.5, g)
    return where(a_loses, 0.0, g), where(b_loses, 0.0, g)


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        return np.where(cond._data, _arr(a), _arr(b))

    @staticmethod
    def backward(ctx, g):
        _, need_a, need_b = ctx.needs_input_grad
        c = ctx.cond
        return None, (where(c, g, 0.0) if need_a else None), (where(c, 0.0, g) if need_b else None)


def _remainder_op(name, ufunc, rounding_mode, doc):
    """a - b * round(a / b), with the quotient rounded by ``rounding_mode``;
    its derivative in b is -round(a / b), piecewise constant."""

    def forward(ctx, a, b):
        save_operands(ctx, a, b)
        return ufunc(_arr(a), _arr(b))

    def backward(ctx, g):
        a, b = saved_operands(ctx)
        return g, (-g * div(a, b, rounding_mode=rounding_mode) if ctx.needs_input_grad[1] else None)

    return type(name, (Function,), {"__module__": __name__, "__doc__": doc, "forward": staticmethod(forward),
                                    "backward": staticmethod(backward)})


Remainder = _remainder_op("Remainder", np.remainder, "floor", "Python-style remainder: the sign of the divisor.")
Fmod = _remainder_op("Fmod", np.fmod, "trunc", "C-style remainder: the result has the sign of the dividend.")


class RoundedDiv(Function):
    """``div`` with ``rounding_mode``: piecewise constant, so its gradient is zero, as torch defines it."""

    @staticmethod
    def forward(ctx, a, b, mode):
        x, y = _arr(a), _arr(b)
        if np.result_type(x, y).kind == "f":
            with np.errstate(divide="ignore", invalid="ignore"):
                q = np.floor_divide(x, y) if mode == "floor" else np.trunc(np.true_divide(x, y))
                if mode == "floor":  # NumPy gives nan for x // 0; torch gives x / 0 (±inf)
                    q = np.where(np.asarray(y) == 0, np.true_divide(x, y), q)
            return np.asarray(q)
        if np.any(np.asarray(y) == 0):
            raise RuntimeError("ZeroDivisionError")
        q = np.floor_divide(x, y)
        if mode == "trunc" and np.result_type(x, y).kind == "i":
            # floor and trunc differ where the exact quotient is negative and not whole
            q = q + ((x - q * y != 0) & ((np.asarray(x) < 0) != (np.asarray(y) < 0)))
        return np.asarray(q)

    @staticmethod
    def backward(ctx, g):
        need_a, need_b, _ = ctx.needs_input_grad
        return (zeros_grad(g) if need_a else None), (zeros_grad(g) if need_b else None), None


class FloorDivide(RoundedDiv):
    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


def _check_not_bool(name, a, b):
    for x in (a, b):
        if (x._data.dtype == np.bool_) if isinstance(x, Tensor) else isinstance(x, (bool, np.bool_)):
            raise NotImplementedError(f"\"{name}\" not implemented for 'Bool'")


@tensor_method("add", "__add__")
def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` with broadcasting.

    Example::

        >>> tinygrad_cn.add(tinygrad_cn.ones(2), 3, alpha=2)
        tensor([7., 7.])
    """
    if alpha != 1:
        input, other, dt = _with_alpha(input, other, alpha)
        return _out(_apply(Add, *promote(input, other, dt)), out)
    return _out(_apply(Add, *promote(input, other)), out)


def _with_alpha(input, other, alpha):
    """``other * alpha``, keeping torch's result dtype, which alpha does not join."""
    dt = _dtype.result_type(as_operand(input), as_operand(other))
    if not dt.is_floating_point and isinstance(alpha, (float, np.floating)):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    if dt is _dtype.bool_:
        return input, _make(np.asarray(_arr(as_operand(other)), dtype=bool) & bool(alpha)), dt
    return input, mul(other, alpha), dt


@tensor_method("sub", "__sub__", "subtract")
def sub(input, other, *, alpha=1, out=None):
    if _is_bool(input) or _is_bool(other):
        if _is_bool(input) and _is_bool(other):
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                               "Use the `^` or `logical_xor()` operator instead.")
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    if alpha != 1:
        input, other, dt = _with_alpha(input, other, alpha)
        return _out(_apply(Sub, *promote(input, other, dt)), out)
    return _out(_apply(Sub, *promote(input, other)), out)


def _is_bool(x) -> bool:
    return x._data.dtype == np.bool_ if isinstance(x, Tensor) else isinstance(x, (bool, np.bool_))


@tensor_method("mul", "__mul__", "multiply")
def mul(input, other, *, out=None):
    return _out(_apply(Mul, *promote(input, other)), out)


@tensor_method("div", "__truediv__", "divide", "true_divide")
def div(input, other, *, rounding_mode=None, out=None):
    """True division; ``rounding_mode`` 'trunc' or 'floor' as torch has it."""
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                               f"'{rounding_mode}'")
        a, b = promote(input, other)
        _check_not_bool(f"div_{rounding_mode}_cpu", a, b)
        return _out(_apply(RoundedDiv, a, b, rounding_mode), out)
    return _out(_apply(Div, *promote(input, other, float_result_type(input, other))), out)


@tensor_method("floor_divide", "__floordiv__")
def floor_divide(input, other, *, out=None):
    """``input // other``. As in torch, it records a node whose backward raises
    (use ``div(..., rounding_mode='floor')`` for a zero gradient)."""
    a, b = promote(input, other)
    _check_not_bool("div_floor_cpu", a, b)
    return _out(_apply(FloorDivide, a, b, "floor"), out)


@tensor_method("remainder", "__mod__")
def remainder(input, other, *, out=None):
    """Python-style remainder: the result has the sign of the divisor."""
    return _out(_apply(Remainder, *_int_divisor_checked("remainder_cpu", input, other)), out)


@tensor_method("fmod")
def fmod(input, other, *, out=None):
    """C-style remainder: the result has the sign of the dividend."""
    return _out(_apply(Fmod, *_int_divisor_checked("fmod_cpu", input, other)), out)


def _int_divisor_checked(name, input, other):
    a, b = promote(input, other)
    _check_not_bool(name, a, b)
    if np.result_type(_arr(a), _arr(b)).kind in "iu" and np.any(np.asarray(_arr(b)) == 0):
        raise RuntimeError("ZeroDivisionError")
    return a, b


@tensor_method("pow", "__pow__")
def pow(input, exponent, *, out=None):
    neg_scalar = is_scalar(exponent) and exponent < 0
    a, b = promote(input, exponent)
    if isinstance(a, Tensor) and a._data.dtype.kind in "iu" and neg_scalar:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if _is_bool(a) and _is_bool(b):
        if isinstance(b, Tensor):
            raise NotImplementedError("\"pow\" not implemented for 'Bool'")
        # bool ** True stays bool, as in torch
        return _out(_make(np.asarray(np.power(a._data, b)).astype(np.bool_)), out)
    return _out(_apply(Pow, a, b), out)


@tensor_method("maximum")
def maximum(input, other, *, out=None):
    return _out(_apply(Maximum, *promote(input, other)), out)


@tensor_method("minimum")
def minimum(input, other, *, out=None):
    return _out(_apply(Minimum, *promote(input, other)), out)


@tensor_method("where", function=False)
def _where_method(self, condition, other):
    return where(condition, self, other)


def where(condition, input=None, other=None, *, out=None):
    """``where(cond, a, b)`` picks from ``a`` where ``cond`` else ``b``;
    ``where(cond)`` is ``nonzero(cond, as_tuple=True)``."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    cond = condition if isinstance(condition, Tensor) else _make(np.asarray(condition))
    if cond._data.dtype != np.bool_:
        cond = _make(cond._data.astype(bool))
    a, b = promote(input, other)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):  # two scalars: the result takes their dtype
        a = _make(np.asarray(a, dtype=_dtype.result_type(as_operand(input), as_operand(other)).np))
    return _out(_apply(Where, cond, a, b), out)


for _alias, _fn in (("subtract", sub), ("multiply", mul), ("divide", div), ("true_divide", div)):
    tensor_method(_alias)(_fn)


# Reflected operators: `2 - t` is sub(2, t).
for _dunder, _fn in (("__radd__", add), ("__rsub__", sub), ("__rmul__", mul), ("__rtruediv__", div),
                     ("__rfloordiv__", floor_divide), ("__rpow__", pow), ("__rmod__", remainder)):
    setattr(Tensor, _dunder, lambda self, other, _fn=_fn: _fn(other, self))


def _out(result: Tensor, out):
    """Write into ``out=`` as torch does: resize if needed, keep out's dtype."""
    if out is None:
        return result
    from .inplace import copy_into_out
    return copy_into_out(out, result)


# -- unary ops: forward and derivative rule side by side --------------------
def _unary(name, forward, derivative, saves="x", doc=None):
    """Make a one-input Function from ``forward(array)`` and
    ``derivative(x_or_y, grad) -> grad_in`` (HIPS-autograd style)."""

    def fwd(ctx, x):
        y = _make(_nd(forward(x._data)))
        ctx.save_for_backward(x if saves == "x" else y if saves == "y" else None)
        return y

    def bwd(ctx, g):
        (s,) = ctx.saved_tensors
        return derivative(s, g)

    cls = type(name.capitalize(), (Function,), {"forward": staticmethod(fwd), "backward": staticmethod(bwd)})
    cls.__module__ = __name__

    def op(input, *, out=None):
        return _out(cls.apply(float_input(input)), out)

    op.__name__ = name
    op.__doc__ = doc or f"Element-wise ``{name}``."
    tensor_method(name)(op)
    return cls


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

Exp = _unary("exp", K.exp, lambda y, g: g * y, saves="y")
Log = _unary("log", K.log, lambda x, g: g / x)
Log1p = _unary("log1p", np.log1p, lambda x, g: g / (x + 1))
Expm1 = _unary("expm1", np.expm1, lambda y, g: g * (y + 1), saves="y")
Log2 = _unary("log2", np.log2, lambda x, g: g / (x * _LN2))
Log10 = _unary("log10", np.log10, lambda x, g: g / (x * _LN10))
Sqrt = _unary("sqrt", np.sqrt, lambda y, g: g / (y * 2), saves="y")
Rsqrt = _unary("rsqrt", lambda a: 1 / np.sqrt(a), lambda y, g: g * y ** 3 * -0.5, saves="y")
Reciprocal = _unary("reciprocal", lambda a: 1 / a, lambda y, g: -g * y * y, saves="y")
Sin = _unary("sin", np.sin, lambda x, g: g * x.cos())
Cos = _unary("cos", np.cos, lambda x, g: -g * x.sin())
Tan = _unary("tan", np.tan, lambda y, g: g * (y * y + 1), saves="y")
Erf = _unary("erf", lambda a: _erf(a), lambda x, g: g * (-x * x).exp() * _TWO_OVER_SQRT_PI)
Square = _unary("square", np.square, lambda x, g: g * x * 2)
Abs = _unary("abs", np.abs, lambda x, g: g * x.sign())
Atan = _unary("atan", np.arctan, lambda x, g: g / (x * x + 1))
Sinh = _unary("sinh", np.sinh, lambda x, g: g * x.cosh())
Cosh = _unary("cosh", np.cosh, lambda x, g: g * x.sinh())
# Piecewise-constant functions: torch defines their gradient as zero.
for _name, _fn in (("floor", np.floor), ("ceil", np.ceil), ("trunc", np.trunc),
                   ("sign", lambda a: np.nan_to_num(_nd(np.sign(a)), copy=False, nan=0.0)),  # torch: sign(nan)=0
                   ("round", np.round), ("frac", lambda a: a - np.trunc(a))):
    _unary(_name, _fn, (lambda x, g: g) if _name == "frac" else (lambda x, g: zeros_grad(g)), saves=None)


class Constant(Function):
    """A piecewise-constant result computed outside: ``forward(x, array)`` returns
    ``array``; the gradient is zero, as torch defines it for round, floor division, ..."""

    @staticmethod
    def forward(ctx, x, arr, undefined=False):
        ctx.shape = None if undefined else x._data.shape  # undefined: no gradient at all (torch's norm p=0)
        return arr

    @staticmethod
    def backward(ctx, g):
        return (None if ctx.shape is None else _make(np.zeros(ctx.shape, dtype=g._data.dtype))), None, None


_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def _erf(a):
    if a.dtype in (np.float32, np.float64):
        return K.erf(a)  # compiled, ~1 ulp
    # math.erf is exact to the last bit (float16 and friends)
    return np.asarray(_erf_scalar(a)).astype(a.dtype) if a.size else a.copy()


def _keep_int(name):
    """abs/sign/floor/... keep integer dtypes, as in torch."""
    fn = getattr(Tensor, name)

    def op(input, *, out=None):
        kind = input._data.dtype.kind
        if kind in "iub":
            if kind == "b":
                if name == "square":  # pow(bool, 2) is int64 in torch
                    return _out(_make(input._data.astype(np.int64)), out)
                if name != "sign":
                    kernel = f"{name}_cpu" if name == "abs" else f"{name}_vml_cpu"
                    raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")
                return _out(_make(input._data.copy()), out)
            f = {"abs": np.abs, "sign": np.sign, "square": np.square}.get(name, lambda a: a.copy())
            return _out(_make(_nd(f(input._data))), out)
        return fn(input, out=out)

    op.__name__ = name
    tensor_method(name)(op)


for _name in ("abs", "sign", "floor", "ceil", "trunc", "square"):
    _keep_int(_name)
_frac = Tensor.frac


@tensor_method("frac")
def frac(input, *, out=None):
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"frac_cpu\" not implemented for '{_TYPE_WORDS[input._data.dtype.name]}'")
    return _frac(input, out=out)
tensor_method("absolute")(Tensor.abs)
tensor_method("fix")(Tensor.trunc)
_round_nearest = Tensor.round


@tensor_method("round")
def round(input, *, decimals: int = 0, out=None):
    """Round half to even; ``decimals`` digits after the point (negative: before it)."""
    if input._data.dtype == np.bool_:
        raise NotImplementedError("\"round_vml_cpu\" not implemented for 'Bool'")
    if input._data.dtype.kind in "iub":
        if decimals:
            raise NotImplementedError(f"\"round_cpu\" not implemented for '{_TYPE_WORDS[input._data.dtype.name]}'")
        return _out(_make(input._data.copy()), out)
    if not decimals:
        return _round_nearest(input, out=out)
    a = input._data
    if decimals > 0:
        scale = a.dtype.type(10.0 ** decimals)
        r = np.rint(a * scale) / scale
    else:
        scale = a.dtype.type(10.0 ** -decimals)
        r = np.rint(a / scale) * scale
    return _out(Constant.apply(input, r), out)


_TYPE_WORDS = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
               "float32": "Float", "float64": "Double", "float16": "Half"}


@tensor_method("neg", "__neg__", "negative")
def neg(input, *, out=None):
    if input._data.dtype == np.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return _out(Neg.apply(input), out)


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return np.negative(x._data)

    @staticmethod
    def backward(ctx, g):
        return -g


tensor_method("negative")(neg)


@tensor_method("__pos__", "positive", function=False)
def _pos(self):
    return self


# -- activations on the compiled kernels, with fused backward Functions ------
def _activation(name, forward, backward, grad_wrt_y):
    """An activation f computed by a compiled kernel and saving its output y.

    Its backward is a Function of its own, ``<Name>Grad(y, g) = g * f'(x)``
    written in terms of y and fused in one kernel pass, so that double backward
    works (chainer's ``ReLUGrad2``). ``grad_wrt_y(y, g, gg)`` is the derivative
    of that product with respect to y, times gg (None where it is zero).
    """

    def grad_forward(ctx, y, g):
        ctx.save_for_backward(y, g)
        return backward(y._data, g._data)

    def grad_backward(ctx, gg):
        y, g = ctx.saved_tensors
        need_y, need_g = ctx.needs_input_grad
        return (grad_wrt_y(y, g, gg) if need_y else None), (grad_cls.apply(y, gg) if need_g else None)

    def fwd(ctx, x):
        y = _make(forward(x._data))
        ctx.save_for_backward(y)
        return y

    def bwd(ctx, g):
        (y,) = ctx.saved_tensors
        return grad_cls.apply(y, g)

    ns = {"__module__": __name__}
    grad_cls = type(name + "Grad", (Function,), dict(ns, forward=staticmethod(grad_forward),
                                                     backward=staticmethod(grad_backward)))
    return type(name, (Function,), dict(ns, forward=staticmethod(fwd), backward=staticmethod(bwd))), grad_cls


# d/dy of g*y*(1-y) is g*(1-2y); of g*(1-y^2) is -2*g*y; relu's g*[y>0] is flat in y.
Sigmoid, SigmoidGrad = _activation("Sigmoid", K.sigmoid, K.sigmoid_backward, lambda y, g, gg: gg * g * (1 - 2 * y))
Tanh, TanhGrad = _activation("Tanh", K.tanh, K.tanh_backward, lambda y, g, gg: gg * g * y * -2)
Relu, ReluGrad = _activation("Relu", K.relu, K.relu_backward, lambda y, g, gg: None)


@tensor_method("sigmoid")
def sigmoid(input, *, out=None):
    """Logistic function 1 / (1 + exp(-x)), on the compiled kernel."""
    return _out(Sigmoid.apply(float_input(input)), out)


@tensor_method("tanh")
def tanh(input, *, out=None):
    return _out(Tanh.apply(float_input(input)), out)


@tensor_method("relu")
def relu(input):
    if input._data.dtype == np.bool_:
        raise RuntimeError("Boolean inputs not supported for relu")
    if input._data.dtype.kind != "f":
        return _make(_nd(np.maximum(input._data, 0)).astype(input._data.dtype))
    return Relu.apply(input)


# -- clamp ---------------------------------------------------------------------
class Clamp(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return np.clip(x._data, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        inside = _make(np.ones(x._data.shape, dtype=bool))
        if lo is not None:
            inside = inside & (x >= lo)
        if hi is not None:
            inside = inside & (x <= hi)
        return where(inside, g, 0.0), None, None


class ClampT(Function):
    """clamp with tensor bounds; gradients as torch's clamp_backward_min_max
    (at a tie the input keeps the gradient; with min > max the result is max)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo if isinstance(lo, Tensor) else None, hi if isinstance(hi, Tensor) else None)
        ctx.bounds = (lo, hi)
        r = x._data
        if lo is not None:
            r = np.maximum(r, _arr(lo))
        if hi is not None:
            r = np.minimum(r, _arr(hi))
        return r

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        lo = ctx.bounds[0] if lo is None else lo
        hi = ctx.bounds[1] if hi is None else hi
        need_x, need_lo, need_hi = ctx.needs_input_grad
        gx = glo = ghi = None
        if lo is not None and hi is not None:
            if need_x:
                gx = where((x >= lo) & (x <= hi), g, 0.0)
            if need_lo:
                glo = where((lo > x) & (lo < hi), g, 0.0)
            if need_hi:
                ghi = where((hi < x) | (hi < lo), g, 0.0)
        elif lo is not None:
            gx = where(x >= lo, g, 0.0) if need_x else None
            glo = where(x < lo, g, 0.0) if need_lo else None
        else:
            gx = where(x <= hi, g, 0.0) if need_x else None
            ghi = where(x > hi, g, 0.0) if need_hi else None
        return gx, glo, ghi


@tensor_method("clamp", "clip")
def clamp(input, min=None, max=None, *, out=None):
    """Limit values to [min, max]; min and max may be numbers or tensors."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        ops = [as_operand(v) for v in (input, min, max) if v is not None]
        dt = _dtype.result_type(*ops)
        lo, hi = (None if v is None else _to(as_operand(v), dt) for v in (min, max))
        x = _to(input, dt)
        return _out(_apply(ClampT, x, lo, hi), out)
    dt = input.dtype
    for v in (min, max):
        if v is not None:
            dt = _dtype.result_type(_make(np.empty(1, dt.np)), v)
    x = _to(input, dt)
    return _out(Clamp.apply(x, None if min is None else _cast_scalar(min, dt),
                            None if max is None else _cast_scalar(max, dt)), out)


tensor_method("clip")(clamp)


@tensor_method("clamp_min")
def clamp_min(input, min):
    return clamp(input, min=min)


@tensor_method("clamp_max")
def clamp_max(input, max):
    return clamp(input, max=max)


# -- comparisons and logic: bool results, outside the graph --------------------
def _compare(name, ufunc, dunder):
    def op(input, other, *, out=None):
        a, b = promote(input, other)
        try:
            r = ufunc(_arr(a), _arr(b))
        except ValueError:
            raise (broadcast_error(a, b) or ValueError(f"{name}: operands do not broadcast")) from None
        return _out(_make(np.asarray(r)), out)

    op.__name__ = name
    op.__doc__ = f"Element-wise ``{name}``; returns a bool tensor."
    tensor_method(name, dunder)(op)
    if dunder in ("__eq__", "__ne__"):
        def dunder_op(self, other):
            # `t == None` is False in torch, not an error: let Python fall back to identity.
            if other is None or not (isinstance(other, (Tensor, np.ndarray)) or is_scalar(other)):
                return NotImplemented
            return op(self, other)
        dunder_op.__name__ = dunder
        setattr(Tensor, dunder, dunder_op)
    return op


eq = _compare("eq", np.equal, "__eq__")
ne = _compare("ne", np.not_equal, "__ne__")
lt = _compare("lt", np.less, "__lt__")
le = _compare("le", np.less_equal, "__le__")
gt = _compare("gt", np.greater, "__gt__")
ge = _compare("ge", np.greater_equal, "__ge__")
for _alias, _fn in (("greater", gt), ("greater_equal", ge), ("less", lt), ("less_equal", le),
                    ("not_equal", ne)):
    tensor_method(_alias)(_fn)


def _logical(name, ufunc):
    def op(input, other, *, out=None):
        a, b = as_operand(input), as_operand(other)
        try:
            r = ufunc(_arr(a), _arr(b))
        except ValueError:
            raise (broadcast_error(a, b) or ValueError(f"{name}: operands do not broadcast")) from None
        return _out(_make(np.asarray(r)), out)

    op.__name__ = name
    tensor_method(name)(op)
    return op


logical_and = _logical("logical_and", np.logical_and)
logical_or = _logical("logical_or", np.logical_or)
logical_xor = _logical("logical_xor", np.logical_xor)


@tensor_method("logical_not")
def logical_not(input, *, out=None):
    return _out(_make(_nd(np.logical_not(input._data))), out)


def _bitwise(name, ufunc, dunder, rdunder):
    def op(input, other):
        a, b = promote(input, other)
        if _dtype.result_type(as_operand(a), as_operand(b)).is_floating_point:
            raise RuntimeError(f'"{name}_cpu" not implemented for \'Float\'')
        return _make(np.asarray(ufunc(_arr(a), _arr(b))))

    op.__name__ = name
    tensor_method(name, dunder)(op)
    setattr(Tensor, rdunder, lambda self, other: op(other, self))


_bitwise("bitwise_and", np.bitwise_and, "__and__", "__rand__")
_bitwise("bitwise_or", np.bitwise_or, "__or__", "__ror__")
_bitwise("bitwise_xor", np.bitwise_xor, "__xor__", "__rxor__")


@tensor_method("bitwise_not", "__invert__")
def bitwise_not(input):
    if input._data.dtype.kind == "f":
        raise RuntimeError("\"bitwise_not_cpu\" not implemented for 'Float'")
    return _make(_nd(np.invert(input._data)))


def _predicate(name, ufunc):
    """An element-wise test: a bool tensor, outside the graph."""
    def op(input):
        return _make(_nd(ufunc(input._data)))

    op.__name__ = name
    op.__doc__ = f"Element-wise ``{name}``; returns a bool tensor."
    return tensor_method(name)(op)


# signbit is True for -0.0 too.
for _name, _ufunc in (("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite),
                      ("signbit", np.signbit), ("isposinf", np.isposinf), ("isneginf", np.isneginf)):
    _predicate(_name, _ufunc)


@tensor_method("isclose")
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _make(_nd(np.isclose(input._data, _arr(other), rtol=rtol, atol=atol, equal_nan=equal_nan)))


@tensor_method("allclose")
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(np.allclose(input._data, _arr(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


@tensor_method("equal")
def equal(input, other) -> bool:
    return input.shape == other.shape and bool(np.array_equal(input._data, other._data))


@tensor_method("nan_to_num")
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    mask = _make(_nd(np.isfinite(input._data)))
    fixed = _make(_nd(np.nan_to_num(input._data, nan=nan, posinf=posinf, neginf=neginf)))
    return where(mask, input, fixed)


@tensor_method("lerp")
def lerp(input, end, weight):
    return input + (end - input) * weight


# -- more element-wise functions, composed from the ops above -------------------------
Asin = _unary("asin", np.arcsin, lambda x, g: g * (1 - x * x).rsqrt())
Acos = _unary("acos", np.arccos, lambda x, g: -g * (1 - x * x).rsqrt())
Exp2 = _unary("exp2", np.exp2, lambda y, g: g * y * _LN2, saves="y")
tensor_method("arcsin")(Tensor.asin)
tensor_method("arccos")(Tensor.acos)
tensor_method("arctan")(Tensor.atan)


@tensor_method("atan2", "arctan2")
def atan2(input, other):
    """Angle of (other, input), quadrant-aware; gradients (x, -y) / (x^2 + y^2)."""
    y, x = promote(float_input(input), float_input(as_operand(other)) if isinstance(other, Tensor) else other)
    return Atan2.apply(y, x)


class Atan2(Function):
    @staticmethod
    def forward(ctx, y, x):
        ctx.save_for_backward(y, x)
        return np.arctan2(y._data, x._data)

    @staticmethod
    def backward(ctx, g):
        y, x = ctx.saved_tensors
        r2 = x * x + y * y
        inv = where(r2 == 0, 0.0, r2.reciprocal())  # torch: zero gradient at the origin
        return g * x * inv, -g * y * inv


@tensor_method("hypot")
def hypot(input, other):
    return (input * input + other * other).sqrt()


@tensor_method("logaddexp")
def logaddexp(input, other):
    """log(exp(a) + exp(b)) without overflow."""
    m = maximum(input, other).detach()
    m = where(m.isinf(), 0.0, m)
    return ((input - m).exp() + (other - m).exp()).log() + m


@tensor_method("xlogy")
def xlogy(input, other):
    """x * log(y), defined as 0 where x == 0 (as torch)."""
    return _apply(Xlogy, *float_tensors(input, other))


class Xlogy(Function):
    """x * log(y), 0 where x == 0 unless y is nan; d/dx is 0 where x == 0 and y <= 0 (torch's rules)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        a, b = x._data, y._data
        with np.errstate(divide="ignore", invalid="ignore"):
            return _nd(np.where((a == 0) & ~np.isnan(b), 0.0, a * np.log(b)).astype(np.result_type(a, b)))

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        gx = where((x == 0) & (y <= 0), 0.0, g * y.log()) if need_x else None
        return gx, (g * x / y if need_y else None)


@tensor_method("addcmul")
def addcmul(input, tensor1, tensor2, *, value=1):
    return input + tensor1 * tensor2 * value


@tensor_method("addcdiv")
def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + tensor1 / tensor2 * value


# -- the rest of torch's common element-wise functions ------------------------------------------
_erfc_scalar = np.frompyfunc(math.erfc, 1, 1)
Erfc = _unary("erfc", lambda a: np.asarray(_erfc_scalar(a)).astype(a.dtype) if a.size else a.copy(),
              lambda x, g: g * (-x * x).exp() * -_TWO_OVER_SQRT_PI)
Asinh = _unary("asinh", np.arcsinh, lambda x, g: g * (x * x + 1).rsqrt())
Acosh = _unary("acosh", np.arccosh, lambda x, g: g * (x * x - 1).rsqrt())
Atanh = _unary("atanh", np.arctanh, lambda x, g: g / (1 - x * x))
for _alias, _name in (("arcsinh", "asinh"), ("arccosh", "acosh"), ("arctanh", "atanh")):
    tensor_method(_alias)(getattr(Tensor, _name))
tensor_method("sgn")(Tensor.sign)  # real tensors: sgn is sign


@tensor_method("isreal")
def isreal(input):
    return _make(np.ones(input._data.shape, dtype=bool))


@tensor_method("rsub")
def rsub(input, other, *, alpha=1):
    """``other - alpha * input``."""
    return sub(other, input, alpha=alpha)


@tensor_method("float_power")
def float_power(input, exponent):
    """``input ** exponent`` computed in float64, as torch."""
    to64 = (lambda v: v.to(_dtype.float64) if isinstance(v, Tensor) else float(v))
    return pow(to64(input), to64(exponent))


@tensor_method("deg2rad")
def deg2rad(input):
    return float_input(input) * (math.pi / 180.0)


@tensor_method("rad2deg")
def rad2deg(input):
    return float_input(input) * (180.0 / math.pi)


@tensor_method("logit")
def logit(input, eps=None):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given."""
    return Logit.apply(float_input(input), eps)


class Logit(Function):
    """Gradient g / (p (1 - p)); zero outside [eps, 1 - eps] when eps is given (torch's logit_backward)."""

    @staticmethod
    def forward(ctx, x, eps):
        ctx.save_for_backward(x)
        ctx.eps = eps
        p = x._data if eps is None else np.clip(x._data, eps, 1.0 - eps)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _nd(np.log(p / (1 - p)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        eps = ctx.eps
        gx = g / (x * (1 - x))
        if eps is not None:
            gx = where((x < eps) | (x > 1.0 - eps), 0.0, gx)
        return gx, None


@tensor_method("copysign")
def copysign(input, other):
    """|input| with the sign of other (-0.0 counts as negative); no gradient for other, as torch."""
    return _apply(Copysign, *float_tensors(input, other))


class Copysign(Function):
    @staticmethod
    def forward(ctx, a, b):
        y = _make(_nd(np.copysign(a._data, b._data)))
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        # torch: grad * (result / self), 0 where self == 0; zeros for other
        ga = where(a == 0, 0.0, g * (y / a)) if need_a else None
        return ga, (zeros_grad(g) if need_b else None)


@tensor_method("sinc")
def sinc(input):
    """sin(pi x) / (pi x), 1 at 0 (with zero gradient there)."""
    return Sinc.apply(float_input(input))


class Sinc(Function):
    """Gradient (pi x cos(pi x) - sin(pi x)) / (pi x^2), 0 at x = 0, as torch's formula."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        a = x._data
        with np.errstate(divide="ignore", invalid="ignore"):
            return _nd(np.sinc(a))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        zero = (x * x) == 0  # as torch: also where x * x underflows
        xs = where(zero, 1.0, x)  # keeps the unused branch finite for double backward
        px = xs * math.pi
        return where(zero, 0.0, g * (px * px.cos() - px.sin()) / (xs * px))


@tensor_method("heaviside")
def heaviside(input, values):
    """0 below zero, 1 above, ``values`` at zero (not differentiable, as torch)."""
    a, v = promote(input, values)
    x = _arr(a)
    return _make(_nd(np.where(x == 0, _arr(v), x > 0).astype(np.result_type(x, _arr(v)))))


# -- special functions: erfinv, lgamma, digamma, polygamma ---------------------------------------
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2


def _erfinv(a: np.ndarray) -> np.ndarray:
    """Giles' single-precision approximation, then two Newton steps. Past |y| = 0.5
    the steps solve erfc(x) = 1 - |y|, which is exact near 1 where erf saturates."""
    y = np.abs(a.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1 - y) * (1 + y))
        small = w < 5
        ws, wl = w - 2.5, np.sqrt(w) - 3
        ps = np.polyval([2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                         -0.00125372503, -0.00417768164, 0.246640727, 1.50140941], ws)
        pl = np.polyval([-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                         -0.0076224613, 0.00943887047, 1.00167406, 2.83297682], wl)
        x = np.where(small, ps, pl) * y
        near_one = y > 0.5
        c = 1 - y  # exact for y > 0.5
        for _ in range(4):
            # Newton on erf(x) = y, and on log erfc(x) = log(1 - y) past 0.5, nearly linear in the tail
            dens = np.exp(-x * x) / _SQRT_PI_OVER_2
            ec = _erfc_np(x)
            step = np.where(near_one, (np.log(ec) - np.log(c)) * ec / dens, (y - _erf_np(x)) / dens)
            x = np.where(np.isfinite(step), x + step, x)
        x = np.where(y == 1, np.inf, np.where(y > 1, np.nan, x))
    return (np.sign(a) * x).astype(a.dtype)


def _erf_np(x):
    return np.asarray(_erf_scalar(x), dtype=np.float64) if x.size else x


def _erfc_np(x):
    return np.asarray(_erfc_scalar(x), dtype=np.float64) if x.size else x


Erfinv = _unary("erfinv", _erfinv, lambda y, g: g * (y * y).exp() * _SQRT_PI_OVER_2, saves="y",
                doc="Inverse error function; ±inf at ±1, nan outside [-1, 1].")


def _lgamma_scalar(v):
    try:
        return math.lgamma(v)
    except ValueError:  # the poles 0, -1, -2, ...: torch gives inf
        return math.inf


_lgamma_u = np.frompyfunc(_lgamma_scalar, 1, 1)
Lgamma = _unary("lgamma", lambda a: np.asarray(_lgamma_u(a), dtype=a.dtype) if a.size else a.copy(),
                lambda x, g: g * x.digamma(), doc="log|Gamma(x)|; its derivative is digamma.")


# Bernoulli numbers B_2, B_4, ..., B_16, for the asymptotic series of digamma and polygamma.
_B2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def _digamma(a: np.ndarray) -> np.ndarray:
    """psi(x): reflection below 1/2, the recurrence psi(x) = psi(x + 1) - 1/x up to
    x >= 10, then log x - 1/(2x) - sum B_2k / (2k x^2k)."""
    x = a.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        reflect = x < 0.5
        # psi(x) = psi(1 - x) - pi / tan(pi x); tan's value at the poles is garbage, masked below
        shift = np.where(reflect, -np.pi / np.tan(np.pi * x), 0.0)
        z = np.where(reflect, 1 - x, x)
        acc = np.zeros_like(z)
        while True:
            low = z < 10
            if not low.any():
                break
            acc -= np.where(low, 1 / z, 0.0)
            z = np.where(low, z + 1, z)
        inv2 = 1 / (z * z)
        series = np.polyval([b / (2 * k + 2) for k, b in reversed(list(enumerate(_B2K)))], inv2) * inv2
        r = np.log(z) - 0.5 / z - series + acc + shift
        r = np.where(x == 0, -np.inf, r)
        r = np.where((x < 0) & (x == np.floor(x)), np.nan, r)  # torch: nan at negative integers
        r = np.where(x == np.inf, np.inf, r)
    return r.astype(a.dtype)


Digamma = _unary("digamma", _digamma, lambda x, g: g * polygamma(1, x),
                 doc="The logarithmic derivative of Gamma; -inf at 0, nan at negative integers.")
tensor_method("psi")(Tensor.digamma)


def _polygamma(n: int, a: np.ndarray) -> np.ndarray:
    """psi^(n)(x) = (-1)^(n+1) n! sum_k 1/(x+k)^(n+1) for n >= 1: the recurrence up to
    x >= 10, then the asymptotic series (n-1)!/x^n + n!/(2x^(n+1)) + sum B_2k (2k+n-1)!/((2k)! x^(2k+n))."""
    x = a.astype(np.float64)
    sign = 1.0 if n % 2 else -1.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        reflect = (x < 0) & (n == 1)
        # trigamma: psi1(x) + psi1(1 - x) = pi^2 / sin^2(pi x)
        extra = np.where(reflect, (np.pi / np.sin(np.pi * x)) ** 2, 0.0)
        # the recurrence needs -x steps: far below zero (n >= 2) the result is left nan
        z = np.where(reflect, 1 - x, np.where(x < -1e5, np.nan, x))
        acc = np.zeros_like(z)
        nf = math.factorial(n)
        while True:
            low = z < 10
            if not low.any():
                break
            acc += np.where(low, nf / z ** (n + 1), 0.0)
            z = np.where(low, z + 1, z)
        series = math.factorial(n - 1) / z ** n + nf / (2 * z ** (n + 1))
        for k, b in enumerate(_B2K, 1):
            series = series + b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) / z ** (2 * k + n)
        r = sign * (acc + series)
        r = np.where(reflect, extra - r, r)
        r = np.where((x <= 0) & (x == np.floor(x)), np.inf if n % 2 else -np.inf, r)  # the poles, as torch
    return r.astype(a.dtype)


class Polygamma(Function):
    """The n-th derivative of digamma; its gradient is polygamma(n + 1)."""

    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        return _nd(_digamma(x._data) if n == 0 else _polygamma(n, x._data))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * polygamma(ctx.n + 1, x), None


def polygamma(n: int, input, *, out=None):
    """The n-th derivative of digamma (n >= 0).

    Example::

        >>> tinygrad_cn.polygamma(1, tinygrad_cn.tensor([1.0]))  # pi^2 / 6
        tensor([1.6449])
    """
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return _out(Polygamma.apply(float_input(input), int(n)), out)


tensor_method("polygamma")(polygamma)  # torch.polygamma(n, input) ...


@tensor_method("polygamma", function=False)
def _polygamma_method(self, n):  # ... but Tensor.polygamma(n)
    return polygamma(n, self)
