"""Activations on the compiled kernels, each with a fused backward.

An activation ``f`` saves its input x; its backward is a Function of its own,
``<Name>Grad(x, g) = g * f'(x)``, computed by one kernel pass, whose backward
in turn is written as tensor code (``g * f''(x)`` for x, ``<Name>Grad(x, gg)``
for g), so double and higher backward work. relu, sigmoid and tanh, which
save their output instead, live in pointwise.py.
"""
from __future__ import annotations

import math

from .._C import kernels as K
from ..autograd.function import Function
from ..tensor import Tensor
from .pointwise import float_input

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_A = 0.044715


def _make_activation(name: str, node_name: str, kernel: str, second):
    """Forward Function ``name`` and its fused backward ``name + 'Grad'``.

    ``second(x, **params)`` is f''(x) as tensor code (None where it is 0).
    Keyword parameters of the kernel (approximate, beta, ...) travel in
    ``ctx.params``.
    """
    fwd_kernel, bwd_kernel = kernel, kernel + "_backward"

    def grad_forward(ctx, x, g, params):
        ctx.save_for_backward(x, g)
        ctx.params = params
        return getattr(K, bwd_kernel)(x._data, g._data, **params)

    def grad_backward(ctx, gg):
        x, g = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad[:2]
        grad_x = None
        if need_x:
            f2 = second(x, **ctx.params)
            grad_x = None if f2 is None else gg * g * f2
        return grad_x, (grad_cls.apply(x, gg, ctx.params) if need_g else None), None

    def fwd(ctx, x, params):
        ctx.save_for_backward(x)
        ctx.params = params
        return getattr(K, fwd_kernel)(x._data, **params)

    def bwd(ctx, g):
        (x,) = ctx.saved_tensors
        return grad_cls.apply(x, g, ctx.params), None

    ns = {"__module__": __name__}
    grad_cls = type(name + "Grad", (Function,), dict(ns, forward=staticmethod(grad_forward),
                                                     backward=staticmethod(grad_backward)))
    fwd_cls = type(name, (Function,), dict(ns, forward=staticmethod(fwd), backward=staticmethod(bwd),
                                           node_name=node_name, kernel=fwd_kernel))
    return fwd_cls


def _gelu_second(x, approximate):
    if approximate == "tanh":
        # u = c(x + a x^3), t = tanh(u): f'' = (1 - t^2) (u' - x t u'^2 + x u''/2)
        x2 = x * x
        t = ((x + _GELU_A * x * x2) * _SQRT_2_OVER_PI).tanh()
        du = (1 + 3 * _GELU_A * x2) * _SQRT_2_OVER_PI
        d2u = 6 * _GELU_A * _SQRT_2_OVER_PI * x
        return (1 - t * t) * (du - x * t * du * du + 0.5 * x * d2u)
    # f = x Phi(x): f'' = phi(x) (2 - x^2)
    return (x * x * -0.5).exp() * _INV_SQRT_2PI * (2 - x * x)


def _silu_second(x):
    s = x.sigmoid()
    return s * (1 - s) * (2 + x * (1 - 2 * s))


def _softplus_second(x, beta, threshold):
    s = (x * beta).sigmoid()
    return (s * (1 - s) * beta).masked_fill(x * beta > threshold, 0)


def _logsigmoid_second(x):
    s = x.sigmoid()
    return -s * (1 - s)


def _elu_second(x, alpha):
    return (x.exp() * alpha).masked_fill(x > 0, 0)


Gelu = _make_activation("Gelu", "GeluBackward0", "gelu", _gelu_second)
Silu = _make_activation("Silu", "SiluBackward0", "silu", lambda x: _silu_second(x))
Softplus = _make_activation("Softplus", "SoftplusBackward0", "softplus", _softplus_second)
LogSigmoid = _make_activation("LogSigmoid", "LogSigmoidBackward0", "logsigmoid", lambda x: _logsigmoid_second(x))
Elu = _make_activation("Elu", "EluBackward0", "elu", _elu_second)
LeakyRelu = _make_activation("LeakyRelu", "LeakyReluBackward0", "leaky_relu", lambda x, negative_slope: None)
Hardtanh = _make_activation("Hardtanh", "HardtanhBackward0", "hardtanh", lambda x, min_val, max_val: None)


def _apply(cls, input: Tensor, inplace: bool = False, **params) -> Tensor:
    x = float_input(input)
    if inplace:
        from .inplace import apply_inplace, kernel_inplace
        if x is input and kernel_inplace(input, cls.kernel, **params):
            return input
        return apply_inplace(input, lambda src: cls.apply(src, params))
    return cls.apply(x, params)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (``approximate="none"``) or its tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _apply(Gelu, input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x)."""
    return _apply(Silu, input, inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""
    return _apply(Softplus, input, beta=float(beta), threshold=float(threshold))


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), stable for large |x|."""
    return _apply(LogSigmoid, input)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return _apply(Elu, input, inplace, alpha=float(alpha))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    return _apply(LeakyRelu, input, inplace, negative_slope=float(negative_slope))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _apply(Hardtanh, input, inplace, min_val=float(min_val), max_val=float(max_val))
