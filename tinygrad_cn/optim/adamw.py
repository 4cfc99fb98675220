"""``AdamW``: Adam with decoupled weight decay (Loshchilov & Hutter, 2017)."""
from __future__ import annotations

from typing import Optional, Tuple

from .adam import Adam
from .optimizer import ParamsT

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW, as ``torch.optim.AdamW``: Adam whose weight decay shrinks the
    parameters directly instead of adding an L2 term to the gradient.

    Algorithm (gamma = lr, lambda = weight_decay)::

        m_0 = 0, v_0 = 0, v_max_0 = 0
        for t = 1, 2, ...:
            g_t = -g_t                               if maximize
            theta = theta - gamma * lambda * theta   (decoupled decay)
            m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
            v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
            m_hat = m_t / (1 - beta1^t)
            v_hat = v_t / (1 - beta2^t), or max(v_max_{t-1}, v_t) / (1 - beta2^t) with amsgrad
            theta = theta - gamma * m_hat / (sqrt(v_hat) + eps)

    Args: as :class:`Adam`, with ``weight_decay`` defaulting to 1e-2.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq`` (and
    ``max_exp_avg_sq`` with amsgrad).

    Example::

        >>> opt = tinygrad_cn.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: Optional[bool] = None, capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
