"""``NAdam``: Adam with Nesterov momentum (Dozat, 2016)."""
from __future__ import annotations

from typing import Optional, Tuple

from ..tensor import Tensor
from ._functional import _KernelOptimizer, _check_fused_foreach
from .adam import _check_common
from .optimizer import ParamsT, _get_scalar_dtype, _scalar, _to_float

__all__ = ["NAdam"]


class NAdam(_KernelOptimizer):
    r"""NAdam, as ``torch.optim.NAdam``.

    Algorithm (gamma = lr, lambda = weight_decay, psi = momentum_decay)::

        m_0 = 0, v_0 = 0, mu_product_0 = 1
        for t = 1, 2, ...:
            g_t = -g_t                                   if maximize
            theta = theta * (1 - gamma * lambda)         if decoupled_weight_decay
            g_t = g_t + lambda * theta                   elif lambda != 0
            mu_t     = beta1 * (1 - 0.5 * 0.96^(t * psi))
            mu_{t+1} = beta1 * (1 - 0.5 * 0.96^((t + 1) * psi))
            mu_product_t = mu_product_{t-1} * mu_t
            m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
            v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
            v_hat = v_t / (1 - beta2^t)
            denom = sqrt(v_hat) + eps
            theta = theta - gamma * (1 - mu_t) / (1 - mu_product_t) * g_t / denom
            theta = theta - gamma * mu_{t+1} / (1 - mu_product_t * mu_{t+1}) * m_t / denom

    Args:
        params: parameters (or dicts of parameter groups) to optimize.
        lr: learning rate (default 2e-3).
        betas: coefficients of the running averages (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: weight decay (default 0).
        momentum_decay: psi (default 4e-3).
        decoupled_weight_decay: decay the weights directly, as AdamW (default False).
        foreach: accepted for torch compatibility: the kernel already updates
            every tensor of a group in one call (fused=False selects NumPy).
        maximize: maximize the objective instead of minimizing it.
        capturable: accepted for torch compatibility; no effect.
        differentiable: only False is supported.
        fused: (tinygrad_cn; torch's NAdam has no fused option) None or True
            uses the fused kernel, False the NumPy implementation.

    State per parameter: ``step``, ``mu_product`` (0-d float tensors),
    ``exp_avg``, ``exp_avg_sq``.

    Example::

        >>> opt = tinygrad_cn.optim.NAdam(model.parameters())
    """

    _kernel = "nadam_step"
    _param_shaped_state = ("exp_avg", "exp_avg_sq")
    _setstate_defaults = {"maximize": False, "foreach": None, "capturable": False, "differentiable": False,
                          "decoupled_weight_decay": False, "fused": None}

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: Optional[bool] = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False, fused: Optional[bool] = None) -> None:
        lr = _to_float(lr)
        _check_common(lr, eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        _check_fused_foreach(fused, foreach, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _array_keys(self, group):
        return ["exp_avg", "exp_avg_sq"]

    def _init_state(self, group, p: Tensor, state) -> bool:
        fresh = self._ensure_step(group, state)
        mu = state.get("mu_product")
        if mu is None or not isinstance(mu, Tensor):
            state["mu_product"] = _scalar(1.0 if mu is None else float(mu), _get_scalar_dtype())
            fresh = True
        fresh |= self._ensure(state, "exp_avg", p)
        fresh |= self._ensure(state, "exp_avg_sq", p)
        return fresh

    def _call(self, fn, group, params, grads, states, steps, extras, fresh) -> None:
        beta1, beta2 = group["betas"]
        # numpy scalars of the state's dtype, so the kernel rounds mu_product as torch's 0-d tensor does
        mus = [st["mu_product"]._data[()] for st in extras]
        fn(params, grads, states[0], states[1], mus, steps, lr=_to_float(group["lr"]), beta1=beta1, beta2=beta2,
           eps=group["eps"], weight_decay=group["weight_decay"], momentum_decay=group["momentum_decay"],
           maximize=group["maximize"], decoupled_weight_decay=group["decoupled_weight_decay"])
        for st, mu in zip(extras, mus):
            st["mu_product"]._data[()] = mu
