"""Neural-network building blocks, as ``torch.nn``: ``Module`` and ``Parameter``,
the containers, ``Linear`` and the activation layers, ``nn.init``, ``nn.utils``
and ``nn.functional``.

Example::

    >>> from tinygrad_cn import nn
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
"""
from . import functional
from .parameter import Parameter, UninitializedParameter
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from . import init
from . import utils
from . import modules
from . import parallel

__all__ = ["functional", "init", "utils", "Parameter"] + list(_modules_all)
