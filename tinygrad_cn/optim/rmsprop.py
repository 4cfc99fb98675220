"""``RMSprop``: gradients divided by a running root mean square (Hinton, 2012)."""
from __future__ import annotations

from typing import Optional

from ..tensor import Tensor
from ._functional import _KernelOptimizer, _check_fused_foreach
from .optimizer import ParamsT, _to_float

__all__ = ["RMSprop"]


class RMSprop(_KernelOptimizer):
    r"""RMSprop, as ``torch.optim.RMSprop``.

    Algorithm (gamma = lr, lambda = weight_decay, mu = momentum)::

        v_0 = 0, b_0 = 0, g_ave_0 = 0
        for t = 1, 2, ...:
            g_t = -g_t                                   if maximize
            g_t = g_t + lambda * theta                   if lambda != 0
            v_t = alpha * v_{t-1} + (1 - alpha) * g_t^2
            v_hat = v_t
            if centered:
                g_ave_t = alpha * g_ave_{t-1} + (1 - alpha) * g_t
                v_hat = v_t - g_ave_t^2
            if mu > 0:
                b_t = mu * b_{t-1} + g_t / (sqrt(v_hat) + eps)
                theta = theta - gamma * b_t
            else:
                theta = theta - gamma * g_t / (sqrt(v_hat) + eps)

    Args:
        params: parameters (or dicts of parameter groups) to optimize.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the running average (default 0.99).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance.
        capturable: accepted for torch compatibility; no effect.
        foreach: accepted for torch compatibility: the kernel already updates
            every tensor of a group in one call (fused=False selects NumPy).
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported.
        fused: (tinygrad_cn; torch's RMSprop has no fused option) None or
            True uses the fused kernel, False the NumPy implementation.

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (when
    momentum > 0) and ``grad_avg`` (when centered).

    Example::

        >>> opt = tinygrad_cn.optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.9)
    """

    _kernel = "rmsprop_step"
    _param_shaped_state = ("square_avg", "momentum_buffer", "grad_avg")
    _setstate_defaults = {"momentum": 0, "centered": False, "foreach": None, "maximize": False,
                          "differentiable": False, "capturable": False, "fused": None}

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: Optional[bool] = None, maximize: bool = False, differentiable: bool = False, *,
                 fused: Optional[bool] = None) -> None:
        lr = _to_float(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        _check_fused_foreach(fused, foreach, differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)

    def _array_keys(self, group):
        return ["square_avg", "grad_avg" if group["centered"] else None,
                "momentum_buffer" if group["momentum"] > 0 else None]

    def _init_state(self, group, p: Tensor, state) -> bool:
        fresh = self._ensure_step(group, state)
        fresh |= self._ensure(state, "square_avg", p)
        if group["momentum"] > 0:
            fresh |= self._ensure(state, "momentum_buffer", p)
        if group["centered"]:
            fresh |= self._ensure(state, "grad_avg", p)
        return fresh

    def _call(self, fn, group, params, grads, states, steps, extras, fresh) -> None:
        fn(params, grads, states[0], states[1], states[2], lr=_to_float(group["lr"]), alpha=group["alpha"],
           eps=group["eps"], weight_decay=group["weight_decay"], momentum=group["momentum"],
           centered=group["centered"], maximize=group["maximize"])
