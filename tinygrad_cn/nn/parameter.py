"""``nn.Parameter``: a leaf tensor that a Module registers as one of its parameters."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a module parameter (``requires_grad=True`` by default).

    Example::

        >>> p = nn.Parameter(tinygrad_cn.zeros(2))
        >>> p
        Parameter containing:
        tensor([0., 0.], requires_grad=True)
    """

    def __new__(cls, data=None, requires_grad: bool = True):
        if data is None:
            arr = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            arr = np.asarray(data)
        t = Tensor.__new__(cls)
        Tensor._init_like(t, arr, False)
        if isinstance(data, Tensor):
            t._vc = data._vc  # shares storage (and its version counter) with data, as torch's does
        t.requires_grad = requires_grad
        return t

    def __init__(self, data=None, requires_grad: bool = True):
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        r = Parameter(Tensor._make(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            r._grad = Tensor._make(self._grad._data.copy())
        memo[id(self)] = r
        return r


def _rebuild_parameter(arr, requires_grad):
    return Parameter(Tensor._make(arr), requires_grad)


class UninitializedParameter(Parameter):  # pragma: no cover - lazy modules are not supported
    pass
