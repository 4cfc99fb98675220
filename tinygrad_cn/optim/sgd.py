"""``SGD``: stochastic gradient descent, with momentum and Nesterov momentum."""
from __future__ import annotations

from typing import Optional

from ..tensor import Tensor
from ._functional import _KernelOptimizer, _check_fused_foreach
from .optimizer import ParamsT, _to_float

__all__ = ["SGD"]


class SGD(_KernelOptimizer):
    r"""Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    Algorithm (g_t the gradient of step t, theta the parameters)::

        g_t = -g_t                             if maximize
        g_t = g_t + weight_decay * theta       if weight_decay != 0
        if momentum != 0:
            b_t = g_t                                      at the first step
            b_t = momentum * b_{t-1} + (1 - dampening) * g_t  afterwards
            g_t = g_t + momentum * b_t         if nesterov
            g_t = b_t                          otherwise
        theta = theta - lr * g_t

    Args:
        params: parameters (or dicts of parameter groups) to optimize.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening for momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: enables Nesterov momentum (default False).
        maximize: maximize the objective instead of minimizing it.
        foreach: accepted for torch compatibility: the kernel already updates
            every tensor of a group in one call (fused=False selects NumPy).
        differentiable: only False is supported.
        fused: None or True uses the fused kernel (float32/float64
            parameters); False the NumPy implementation.

    State per parameter: ``momentum_buffer`` (when momentum != 0).

    Example::

        >>> opt = tinygrad_cn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    _kernel = "sgd_step"
    _has_step = False
    _split_fresh = True
    _param_shaped_state = ("momentum_buffer",)
    _setstate_defaults = {"nesterov": False, "maximize": False, "foreach": None, "differentiable": False,
                          "fused": False}

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: Optional[bool] = None, differentiable: bool = False, fused: Optional[bool] = None) -> None:
        lr = _to_float(lr)
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _check_fused_foreach(fused, foreach, differentiable)
        super().__init__(params, defaults)

    def _array_keys(self, group):
        return ["momentum_buffer" if group["momentum"] != 0 else None]

    def _init_state(self, group, p: Tensor, state) -> bool:
        if group["momentum"] != 0 and state.get("momentum_buffer") is None:
            # torch clones the first gradient into the buffer; the kernel does that (first_step=True)
            state["momentum_buffer"] = self._zeros(p)
            return True
        return False

    def _call(self, fn, group, params, grads, states, steps, extras, fresh) -> None:
        fn(params, grads, states[0], lr=group["lr"], momentum=group["momentum"], dampening=group["dampening"],
           nesterov=group["nesterov"], weight_decay=group["weight_decay"], maximize=group["maximize"],
           first_step=fresh)
