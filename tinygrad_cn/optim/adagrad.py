"""``Adagrad``: per-coordinate learning rates from the sum of squared gradients (Duchi et al., 2011)."""
from __future__ import annotations

from typing import Optional

from ..tensor import Tensor
from ._functional import _KernelOptimizer, _check_fused_foreach
from .optimizer import ParamsT, _to_float

__all__ = ["Adagrad"]


class Adagrad(_KernelOptimizer):
    r"""Adagrad, as ``torch.optim.Adagrad``.

    Algorithm (gamma = lr, eta = lr_decay, lambda = weight_decay)::

        state_sum_0 = initial_accumulator_value
        for t = 1, 2, ...:
            g_t = -g_t                                 if maximize
            g_t = g_t + lambda * theta                 if lambda != 0
            gamma_t = gamma / (1 + (t - 1) * eta)
            state_sum_t = state_sum_{t-1} + g_t^2
            theta = theta - gamma_t * g_t / (sqrt(state_sum_t) + eps)

    The effective step ``gamma_t / (sqrt(state_sum_t) + eps)`` of each
    coordinate can only shrink, since state_sum only grows.

    Args:
        params: parameters (or dicts of parameter groups) to optimize.
        lr: learning rate (default 1e-2).
        lr_decay: learning rate decay (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: initial value of the sums (default 0).
        eps: added to the denominator for numerical stability (default 1e-10).
        foreach: accepted for torch compatibility: the kernel already updates
            every tensor of a group in one call (fused=False selects NumPy).
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported.
        fused: None or True uses the fused kernel; False the NumPy implementation.

    State per parameter (created by the constructor, as torch does):
    ``step`` and ``sum``.

    Example::

        >>> opt = tinygrad_cn.optim.Adagrad(model.parameters(), lr=0.1)
    """

    _kernel = "adagrad_step"
    _param_shaped_state = ("sum",)
    _setstate_defaults = {"foreach": None, "maximize": False, "differentiable": False, "fused": None}

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: Optional[bool] = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: Optional[bool] = None) -> None:
        lr = _to_float(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        _check_fused_foreach(fused, foreach, differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(group, p, self.state[p])

    def share_memory(self) -> None:
        """torch shares the sums between processes; here memory is already
        process-local NumPy storage, so there is nothing to move."""

    def _array_keys(self, group):
        return ["sum"]

    def _init_state(self, group, p: Tensor, state) -> bool:
        fresh = self._ensure_step(group, state)
        fresh |= self._ensure(state, "sum", p, group["initial_accumulator_value"])
        return fresh

    def _call(self, fn, group, params, grads, states, steps, extras, fresh) -> None:
        fn(params, grads, states[0], steps, lr=_to_float(group["lr"]), lr_decay=group["lr_decay"],
           weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"])
