"""``autograd.Variable``: the pre-0.4 wrapper, which is now just a Tensor."""
from __future__ import annotations


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        from ..tensor import Tensor
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(t, requires_grad=True)`` returns a Tensor, as in torch >= 0.4."""

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        from ..tensor import Tensor
        from ..creation import tensor
        t = data.detach() if isinstance(data, Tensor) else tensor(data)
        if requires_grad:
            t.requires_grad_(True)
        return t
