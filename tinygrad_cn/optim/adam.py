"""``Adam``: adaptive moment estimation (Kingma & Ba, 2014)."""
from __future__ import annotations

from typing import Optional, Tuple

from ..tensor import Tensor
from ._functional import _KernelOptimizer, _check_fused_foreach
from .optimizer import ParamsT, _to_float

__all__ = ["Adam"]


def _check_betas(betas) -> None:
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def _check_common(lr: float, eps: float, betas, weight_decay: float) -> None:
    """The checks torch's Adam-family constructors make, in torch's order."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    _check_betas(betas)
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(_KernelOptimizer):
    r"""Adam, as ``torch.optim.Adam``.

    Algorithm (gamma = lr, lambda = weight_decay, g_t the gradient of step t)::

        m_0 = 0, v_0 = 0, v_max_0 = 0
        for t = 1, 2, ...:
            g_t = -g_t                               if maximize
            theta = theta * (1 - gamma * lambda)     if decoupled_weight_decay (AdamW)
            g_t = g_t + lambda * theta               elif lambda != 0
            m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
            v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
            m_hat = m_t / (1 - beta1^t)
            if amsgrad:
                v_max_t = max(v_max_{t-1}, v_t)
                v_hat = v_max_t / (1 - beta2^t)
            else:
                v_hat = v_t / (1 - beta2^t)
            theta = theta - gamma * m_hat / (sqrt(v_hat) + eps)

    As in torch, the last line is computed as
    ``theta -= (gamma / (1 - beta1^t)) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)``
    (bias corrections in double precision, eps outside the root).

    Args:
        params: parameters (or dicts of parameter groups) to optimize.
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages of the gradient and
            its square (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        amsgrad: use the AMSGrad variant (default False).
        foreach: accepted for torch compatibility: the kernel already updates
            every tensor of a group in one call (fused=False selects NumPy).
        maximize: maximize the objective instead of minimizing it.
        capturable: accepted for torch compatibility (CUDA graphs); no effect.
        differentiable: only False is supported.
        fused: None or True uses the fused kernel (float32/float64
            parameters); False the NumPy implementation.
        decoupled_weight_decay: decay the weights directly (AdamW).

    State per parameter: ``step`` (a 0-d float tensor), ``exp_avg``,
    ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``.

    Example::

        >>> opt = tinygrad_cn.optim.Adam(model.parameters(), lr=1e-3)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    _kernel = "adam_step"
    _param_shaped_state = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _setstate_defaults = {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                          "differentiable": False, "fused": None, "decoupled_weight_decay": False}

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: Optional[bool] = None,
                 decoupled_weight_decay: bool = False) -> None:
        lr = _to_float(lr)
        _check_common(lr, eps, betas, weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        betas = tuple(float(_to_float(b)) for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        _check_fused_foreach(fused, foreach, differentiable)

    def _array_keys(self, group):
        return ["exp_avg", "exp_avg_sq", "max_exp_avg_sq" if group["amsgrad"] else None]

    def _call(self, fn, group, params, grads, states, steps, extras, fresh) -> None:
        beta1, beta2 = group["betas"]
        fn(params, grads, states[0], states[1], states[2], steps, lr=_to_float(group["lr"]), beta1=beta1,
           beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"], amsgrad=group["amsgrad"],
           maximize=group["maximize"], decoupled_weight_decay=group["decoupled_weight_decay"])
