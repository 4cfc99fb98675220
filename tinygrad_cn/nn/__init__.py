"""Neural-network building blocks, as ``torch.nn`` (``tinygrad_cn.nn.functional``
for now; modules follow)."""
from . import functional

__all__ = ["functional"]
