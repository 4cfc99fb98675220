"""``Adadelta``: step sizes from running averages of squared gradients and updates (Zeiler, 2012)."""
from __future__ import annotations

from typing import Optional

from ._functional import _KernelOptimizer, _check_fused_foreach
from .optimizer import ParamsT, _to_float

__all__ = ["Adadelta"]


class Adadelta(_KernelOptimizer):
    r"""Adadelta, as ``torch.optim.Adadelta``.

    Algorithm (gamma = lr, lambda = weight_decay)::

        v_0 = 0 (square_avg), u_0 = 0 (acc_delta)
        for t = 1, 2, ...:
            g_t = -g_t                                   if maximize
            g_t = g_t + lambda * theta                   if lambda != 0
            v_t = rho * v_{t-1} + (1 - rho) * g_t^2
            dx_t = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g_t
            u_t = rho * u_{t-1} + (1 - rho) * dx_t^2
            theta = theta - gamma * dx_t

    Args:
        params: parameters (or dicts of parameter groups) to optimize.
        lr: coefficient that scales delta before it is applied (default 1.0).
        rho: coefficient of the running averages (default 0.9).
        eps: added inside the roots for numerical stability (default 1e-6).
        weight_decay: L2 penalty (default 0).
        foreach: accepted for torch compatibility: the kernel already updates
            every tensor of a group in one call (fused=False selects NumPy).
        capturable: accepted for torch compatibility; no effect.
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported.
        fused: (tinygrad_cn; torch's Adadelta has no fused option) None or
            True uses the fused kernel, False the NumPy implementation.

    State per parameter: ``step``, ``square_avg``, ``acc_delta``.

    Example::

        >>> opt = tinygrad_cn.optim.Adadelta(model.parameters())
    """

    _kernel = "adadelta_step"
    _param_shaped_state = ("square_avg", "acc_delta")
    _setstate_defaults = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False,
                          "fused": None}

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: Optional[bool] = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False, fused: Optional[bool] = None) -> None:
        lr = _to_float(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _check_fused_foreach(fused, foreach, differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, capturable=capturable,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _array_keys(self, group):
        return ["square_avg", "acc_delta"]

    def _call(self, fn, group, params, grads, states, steps, extras, fresh) -> None:
        fn(params, grads, states[0], states[1], lr=_to_float(group["lr"]), rho=group["rho"], eps=group["eps"],
           weight_decay=group["weight_decay"], maximize=group["maximize"])
