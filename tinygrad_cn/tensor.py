"""The Tensor: a NumPy array plus the place it holds in the autograd graph.

Ops live in ``tinygrad_cn/ops/``; each registers itself as a Tensor method
and as a ``tinygrad_cn.<name>`` function with ``@tensor_method``, so one
definition serves ``x.sum()`` and ``tinygrad_cn.sum(x)``.
"""
from __future__ import annotations

import numbers
import warnings
import weakref
from typing import Any, Callable, Optional

import numpy as np

from . import _dtype
from ._dtype import dtype as _dtype_cls
from .autograd.grad_mode import STATE
from .autograd.function import AccumulateGrad as _AccumulateGrad

_new = object.__new__


class device:
    """``tinygrad_cn.device('cpu')``: the only device there is."""

    __slots__ = ("type", "index")

    def __init__(self, type: str = "cpu", index: Optional[int] = None):
        if isinstance(type, device):
            type, index = type.type, type.index
        type = str(type)
        if ":" in type:
            type, idx = type.split(":", 1)
            index = int(idx)
        if type != "cpu":
            raise RuntimeError(_no_device_msg(type))
        self.type, self.index = type, index

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"

    def __str__(self) -> str:
        return self.type

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        return isinstance(other, device) and other.type == self.type

    def __hash__(self) -> int:
        return hash(self.type)


def _no_device_msg(name: str) -> str:
    return (f"tinygrad_cn runs on the CPU only; device '{name}' is not available. "
            "Use device='cpu' (or drop the .to()/.cuda() call).")


CPU = device("cpu")


def check_device(d) -> None:
    """Raise a clear error for any device but the CPU."""
    if d is None or d is CPU:
        return
    if isinstance(d, device):
        return
    if isinstance(d, int):
        raise RuntimeError(_no_device_msg(f"cuda:{d}"))
    device(d)


class _Extras:
    """Rarely-used per-tensor state, kept off the hot path of tensor creation."""

    __slots__ = ("base", "view_fn", "hooks", "post_hooks", "accum", "retains_grad", "name", "inference")

    def __init__(self):
        self.base = self.view_fn = self.hooks = self.post_hooks = self.accum = self.name = None
        self.retains_grad = self.inference = False


class Size(tuple):
    """``tensor.shape``: a tuple, printed as torch prints it."""

    def __getitem__(self, key):
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __repr__(self) -> str:
        return f"tinygrad_cn.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


class Tensor:
    """A multi-dimensional array that records the operations applied to it.

    Example::

        >>> x = tinygrad_cn.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4., 6.])

    ``Tensor(data)`` and ``Tensor(*sizes)`` behave as torch's legacy
    constructor: a float32 tensor from data, or an uninitialised one.
    """

    __slots__ = ("_data", "_requires_grad", "_grad", "grad_fn", "_output_nr", "_vc", "_x", "__weakref__")
    # NumPy defers binary operators to us (np.float32(2) * t is a Tensor, as in torch);
    # np.asarray(t) still works through __array__.
    __array_ufunc__ = None

    def __init__(self, *args, **kwargs):
        from .creation import _legacy_array
        Tensor._init_like(self, _legacy_array(args, kwargs.pop("dtype", None), kwargs.pop("device", None)))

    @staticmethod
    def _make(arr: np.ndarray) -> "Tensor":
        """Wrap an array without copying or checking: the op layer's constructor
        (``_init_like`` inlined: this is on every op's path)."""
        t = _new(Tensor)
        t._data = arr
        t._requires_grad = False
        t._grad = t.grad_fn = t._x = None
        t._output_nr = 0
        t._vc = [0]
        if STATE.inference:
            t._extras.inference = True
        return t

    # -- metadata ------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: Optional[int] = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> _dtype_cls:
        return _dtype._FROM_NP[self._data.dtype]

    @property
    def device(self) -> device:
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim: Optional[int] = None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim)]

    def is_contiguous(self, memory_format=None) -> bool:
        return self._data.flags.c_contiguous

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return False

    def data_ptr(self) -> int:
        return self._data.ctypes.data

    def get_device(self) -> int:
        return -1

    @property
    def grad(self) -> Optional["Tensor"]:
        """The gradient accumulated by backward (leaves, and non-leaves that ``retain_grad()``)."""
        g = self._grad
        if g is None and self.grad_fn is not None and not self.retains_grad:
            warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                          "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                          "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.",
                          UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value: Optional["Tensor"]) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"assigned grad has data of a different size: attempting to assign a gradient "
                                   f"of size '{list(value.shape)}' to a tensor of size '{list(self.shape)}'. "
                                   "Please ensure that the gradient and the tensor are the same size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError("assigned grad has data of a different type")
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if self.grad_fn is not None:
            if not value:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use "
                                   "a computed variable in a subgraph that doesn't require differentiation use "
                                   "var_no_grad = var.detach().")
            return
        if value and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    def is_inference(self) -> bool:
        """True for tensors made inside ``inference_mode``."""
        return self._x is not None and self._x.inference

    @property
    def _version(self) -> int:
        return self._vc[0]

    @property
    def _extras(self) -> _Extras:
        x = self._x
        if x is None:
            x = self._x = _Extras()
        return x

    @property
    def _base(self) -> Optional["Tensor"]:
        return self._x.base if self._x is not None else None

    @property
    def _hooks(self):
        return self._x.hooks if self._x is not None else None

    @property
    def retains_grad(self) -> bool:
        return self._x is not None and self._x.retains_grad

    @property
    def name(self):
        return self._x.name if self._x is not None else None

    @property
    def output_nr(self) -> int:
        return self._output_nr

    def _accumulator(self):
        """The AccumulateGrad node of this leaf, shared while a graph holds it.
        As in torch, the node keeps the leaf alive and the leaf refers to it weakly."""
        x = self._x
        if x is not None and x.accum is not None:
            node = x.accum()
            if node is not None:
                return node
        node = _AccumulateGrad(self)
        self._extras.accum = weakref.ref(node)
        return node

    # -- data access ---------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """The same storage, outside the graph and with its own version counter."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        arr = value._data if isinstance(value, Tensor) else np.asarray(value)
        self._data = arr

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        arr = self._data
        if dtype is not None and arr.dtype != dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.reshape(()))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(()))

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 or (spec and self._data.size == 1):
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        from ._format import tensor_repr
        return tensor_repr(self)

    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor, (self._data, self._requires_grad))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment.")
        t = type(self).__new__(type(self))
        Tensor._init_like(t, self._data.copy(), self._requires_grad)
        if type(self) is not Tensor and hasattr(self, "__dict__"):
            t.__dict__.update(self.__dict__)
        if self._grad is not None:
            t._grad = Tensor._make(self._grad._data.copy())
        memo[id(self)] = t
        return t

    @staticmethod
    def _init_like(t, arr, requires_grad=False):
        t._data = arr
        t._requires_grad = requires_grad
        t._grad = t.grad_fn = t._x = None
        t._output_nr = 0
        t._vc = [0]

    # -- graph ---------------------------------------------------------------
    def backward(self, gradient: Optional["Tensor"] = None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate the gradient of this tensor into the leaves' ``.grad``.

        Example::

            >>> w = tinygrad_cn.ones(3, requires_grad=True)
            >>> (w * 2).sum().backward()
            >>> w.grad
            tensor([2., 2., 2.])
        """
        from .autograd.engine import backward
        backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self) -> "Tensor":
        """A tensor sharing storage and version counter, outside the graph."""
        t = Tensor._make(self._data)
        t._vc = self._vc
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self.retains_grad:
            return
        self._extras.retains_grad = True
        ref = weakref.ref(self)

        def retain(grad):
            t = ref()
            if t is not None:
                from .autograd.engine import _accumulate
                _accumulate(t, grad, STATE.enabled)
            return None

        retain.retains_grad = True
        self.grad_fn.register_prehook(self._output_nr, retain)

    def register_post_accumulate_grad_hook(self, hook: Callable[["Tensor"], None]):
        """Call ``hook(tensor)`` after backward accumulated into this leaf's ``.grad``."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .autograd.function import RemovableHandle
        x = self._extras
        if x.post_hooks is None:
            x.post_hooks = []
        x.post_hooks.append(hook)
        return RemovableHandle(x.post_hooks, hook)

    def register_hook(self, hook: Callable[["Tensor"], Optional["Tensor"]]):
        """Call ``hook(grad)`` when the gradient of this tensor is computed;
        a returned tensor replaces the gradient."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_prehook(self._output_nr, hook)
        from .autograd.function import RemovableHandle
        x = self._extras
        if x.hooks is None:
            x.hooks = []
        x.hooks.append(hook)
        return RemovableHandle(x.hooks, hook)

    # -- conversions ---------------------------------------------------------
    def to(self, *args, **kwargs) -> "Tensor":
        """``to(dtype)``, ``to('cpu')``, ``to(other)``, ``to(device, dtype)``."""
        dt = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        for a in args:
            if isinstance(a, Tensor):
                dt = a.dtype
            elif isinstance(a, (str, device)) or isinstance(a, int) and not isinstance(a, bool):
                dev = a
            elif a is not None:
                dt = a
        check_device(dev)
        if dt is None:
            return self.clone() if copy else self
        dt = _dtype.to_dtype(dt)
        if dt.np == self._data.dtype:
            return self.clone() if copy else self
        from .ops.pointwise import cast
        return cast(self, dt)

    def type(self, dtype=None, non_blocking: bool = False):
        """Without arguments the legacy type name (``'torch.FloatTensor'``); else a cast."""
        if dtype is None:
            return _LEGACY_NAMES[self._data.dtype]
        if isinstance(dtype, str):
            for npd, name in _LEGACY_NAMES.items():
                if name == dtype or name.replace("torch.", "tinygrad_cn.") == dtype:
                    return self.to(_dtype.from_numpy_dtype(npd))
            raise ValueError(f"invalid type: '{dtype}'")
        if isinstance(dtype, type) and issubclass(dtype, Tensor) and hasattr(dtype, "_legacy_dtype"):
            return self.to(dtype._legacy_dtype)
        return self.to(dtype)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    def float(self): return self.to(_dtype.float32)
    def double(self): return self.to(_dtype.float64)
    def half(self): return self.to(_dtype.float16)
    def long(self): return self.to(_dtype.int64)
    def int(self): return self.to(_dtype.int32)
    def short(self): return self.to(_dtype.int16)
    def char(self): return self.to(_dtype.int8)
    def byte(self): return self.to(_dtype.uint8)
    def bool(self): return self.to(_dtype.bool_)

    def cpu(self) -> "Tensor":
        return self

    def cuda(self, device=None, non_blocking: bool = False):
        raise RuntimeError(_no_device_msg("cuda"))

    def pin_memory(self) -> "Tensor":
        return self

    def share_memory_(self) -> "Tensor":
        return self

    def is_shared(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _rebuild_tensor(arr, requires_grad):
    t = Tensor._make(arr)
    t._requires_grad = requires_grad
    return t


_LEGACY_NAMES = {
    np.dtype(np.float32): "torch.FloatTensor", np.dtype(np.float64): "torch.DoubleTensor",
    np.dtype(np.float16): "torch.HalfTensor", np.dtype(np.int64): "torch.LongTensor",
    np.dtype(np.int32): "torch.IntTensor", np.dtype(np.int16): "torch.ShortTensor",
    np.dtype(np.int8): "torch.CharTensor", np.dtype(np.uint8): "torch.ByteTensor",
    np.dtype(np.bool_): "torch.BoolTensor",
}


def _wrap_dim(dim: int, ndim: int) -> int:
    """Normalise a possibly negative dim, raising IndexError as torch does."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def wrap_dims(dim, ndim: int) -> tuple:
    """``dim`` (None, int, or sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    axes = [_wrap_dim(int(d), ndim) for d in dim]
    for i, d in enumerate(axes):
        if d in axes[:i]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return tuple(sorted(axes)) if ndim else ()


from .autograd import function as _function  # noqa: E402  (the hot path wants the class as a plain global)
_function.bind_tensor(Tensor)

_EXPORTS: dict = {}


def tensor_method(*names: str, function: bool = True):
    """Register ``fn`` as ``Tensor.<name>`` for each name (the first is also
    exported as ``tinygrad_cn.<name>`` unless ``function=False``)."""
    def deco(fn):
        for n in names:
            setattr(Tensor, n, fn)
        if function:
            _EXPORTS[names[0]] = fn
        return fn
    return deco


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def is_scalar(x) -> bool:
    return isinstance(x, (numbers.Number, np.number, np.bool_))
