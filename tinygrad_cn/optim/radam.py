"""``RAdam``: Adam with a rectified adaptive learning rate (Liu et al., 2019)."""
from __future__ import annotations

from typing import Callable, List, Optional, Tuple

import numpy as np

from .._C.ref_optim import _lerp_
from ._functional import _KernelOptimizer, _check_fused_foreach
from .adam import _check_common
from .optimizer import ParamsT, _to_float

__all__ = ["RAdam"]


def radam_step(params: List[np.ndarray], grads: List[np.ndarray], exp_avgs: List[np.ndarray],
               exp_avg_sqs: List[np.ndarray], steps: List[int], *, lr: float, beta1: float, beta2: float, eps: float,
               weight_decay: float = 0.0, maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
    """torch's ``_single_tensor_radam``, operation by operation, on NumPy
    arrays updated in place (any layout; no fused kernel exists)."""
    for p, g, m, v, step in zip(params, grads, exp_avgs, exp_avg_sqs, steps):
        dt = p.dtype.type
        g = -g if maximize else g
        if weight_decay != 0:
            if decoupled_weight_decay:
                p *= dt(1 - lr * weight_decay)
            else:
                g = g + dt(weight_decay) * p
        _lerp_(m, g, 1 - beta1)
        v *= dt(beta2)
        v += (dt(1 - beta2) * g) * g
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        bias_corrected_exp_avg = m / dt(bias_correction1)
        rho_inf = 2 / (1 - beta2) - 1  # maximum length of the approximated SMA
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            # torch's float / tensor is reciprocal(tensor) * float
            adaptive_lr = np.reciprocal(np.sqrt(v) + dt(eps)) * dt(bias_correction2 ** 0.5)
            p -= ((bias_corrected_exp_avg * dt(lr)) * adaptive_lr) * dt(rect)
        else:
            p -= bias_corrected_exp_avg * dt(lr)


class RAdam(_KernelOptimizer):
    r"""RAdam, as ``torch.optim.RAdam`` (NumPy implementation; there is no fused kernel).

    Algorithm (gamma = lr, lambda = weight_decay)::

        m_0 = 0, v_0 = 0
        rho_inf = 2 / (1 - beta2) - 1
        for t = 1, 2, ...:
            g_t = -g_t                                   if maximize
            theta = theta * (1 - gamma * lambda)         if decoupled_weight_decay
            g_t = g_t + lambda * theta                   elif lambda != 0
            m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
            v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
            m_hat = m_t / (1 - beta1^t)
            rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
            if rho_t > 5:
                l_t = sqrt(1 - beta2^t) / (sqrt(v_t) + eps)
                r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                theta = theta - gamma * m_hat * l_t * r_t
            else:
                theta = theta - gamma * m_hat

    Args:
        params: parameters (or dicts of parameter groups) to optimize.
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: weight decay (default 0).
        decoupled_weight_decay: decay the weights directly, as AdamW (default False).
        foreach, capturable: accepted for torch compatibility; no effect.
        maximize: maximize the objective instead of minimizing it.
        differentiable: only False is supported.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.

    Example::

        >>> opt = tinygrad_cn.optim.RAdam(model.parameters())
    """

    _param_shaped_state = ("exp_avg", "exp_avg_sq")
    _setstate_defaults = {"foreach": None, "maximize": False, "differentiable": False,
                          "decoupled_weight_decay": False, "capturable": False}

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        lr = _to_float(lr)
        _check_common(lr, eps, betas, weight_decay)
        _check_fused_foreach(None, foreach, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_fn(self, use_kernel: bool) -> Callable:
        return radam_step

    def _array_keys(self, group):
        return ["exp_avg", "exp_avg_sq"]

    def _call(self, fn, group, params, grads, states, steps, extras, fresh) -> None:
        beta1, beta2 = group["betas"]
        fn(params, grads, states[0], states[1], steps, lr=_to_float(group["lr"]), beta1=beta1, beta2=beta2,
           eps=group["eps"], weight_decay=group["weight_decay"], maximize=group["maximize"],
           decoupled_weight_decay=group["decoupled_weight_decay"])
