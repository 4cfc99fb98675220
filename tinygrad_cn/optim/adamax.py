"""``Adamax``: Adam with the infinity norm (Kingma & Ba, 2014, section 7)."""
from __future__ import annotations

from typing import Optional, Tuple

from ._functional import _KernelOptimizer, _check_fused_foreach
from .adam import _check_common
from .optimizer import ParamsT, _to_float

__all__ = ["Adamax"]


class Adamax(_KernelOptimizer):
    r"""Adamax, as ``torch.optim.Adamax``.

    Algorithm (gamma = lr, lambda = weight_decay)::

        m_0 = 0, u_0 = 0
        for t = 1, 2, ...:
            g_t = -g_t                                   if maximize
            g_t = g_t + lambda * theta                   if lambda != 0
            m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
            u_t = max(beta2 * u_{t-1}, |g_t| + eps)
            theta = theta - gamma * m_t / ((1 - beta1^t) * u_t)

    Args:
        params: parameters (or dicts of parameter groups) to optimize.
        lr: learning rate (default 2e-3).
        betas: coefficients of the running average and of the infinity norm
            (default (0.9, 0.999)).
        eps: added to the norm for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        foreach: accepted for torch compatibility: the kernel already updates
            every tensor of a group in one call (fused=False selects NumPy).
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported.
        capturable: accepted for torch compatibility; no effect.
        fused: (tinygrad_cn; torch's Adamax has no fused option) None or
            True uses the fused kernel, False the NumPy implementation.

    State per parameter: ``step``, ``exp_avg``, ``exp_inf``.

    Example::

        >>> opt = tinygrad_cn.optim.Adamax(model.parameters())
    """

    _kernel = "adamax_step"
    _param_shaped_state = ("exp_avg", "exp_inf")
    _setstate_defaults = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False,
                          "fused": None}

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: Optional[bool] = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False,
                 fused: Optional[bool] = None) -> None:
        lr = _to_float(lr)
        _check_common(lr, eps, betas, weight_decay)
        _check_fused_foreach(fused, foreach, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable, fused=fused)
        super().__init__(params, defaults)

    def _array_keys(self, group):
        return ["exp_avg", "exp_inf"]

    def _call(self, fn, group, params, grads, states, steps, extras, fresh) -> None:
        beta1, beta2 = group["betas"]
        fn(params, grads, states[0], states[1], steps, lr=_to_float(group["lr"]), beta1=beta1, beta2=beta2,
           eps=group["eps"], weight_decay=group["weight_decay"], maximize=group["maximize"])
