"""``tinygrad_cn.optim``: torch's optimizers, on fused C kernels.

Example::

    >>> import tinygrad_cn as torch
    >>> opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    >>> for x, y in data:
    ...     opt.zero_grad()
    ...     torch.nn.functional.cross_entropy(model(x), y).backward()
    ...     opt.step()
"""
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD"]
