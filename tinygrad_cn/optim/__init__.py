"""``tinygrad_cn.optim``: torch's optimizers, on fused C kernels.

SGD, Adam, AdamW, Adagrad, RMSprop, Adadelta, Adamax and NAdam update all
parameters of a group in one fused kernel call per dtype (``fused=False``
selects the NumPy implementation of torch's single-tensor formulas); RAdam
and LBFGS are NumPy.

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
from .adam import Adam
from .adamw import AdamW
from .adagrad import Adagrad
from .rmsprop import RMSprop
from .adadelta import Adadelta
from .adamax import Adamax
from .nadam import NAdam
from .radam import RAdam
from .lbfgs import LBFGS

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam",
           "LBFGS"]
