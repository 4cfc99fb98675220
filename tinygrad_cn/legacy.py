"""The older, device-shaped API that much real PyTorch code still uses:
``FloatTensor(...)``, ``LongTensor(...)``, ``torch.cuda.is_available()``."""
from __future__ import annotations

import types

from . import _dtype
from .tensor import Tensor, device, check_device


class _LegacyMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj._data.dtype == cls._legacy_dtype.np

    def __call__(cls, *args, **kwargs):
        if "dtype" in kwargs:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument 'dtype'")
        return Tensor(*args, dtype=cls._legacy_dtype, **kwargs)


def _legacy(name: str, dt) -> type:
    # Not a Tensor subclass (as in torch): calling it builds a plain Tensor, isinstance() checks the
    # dtype, and _dtype.to_dtype() accepts it, so t.type(FloatTensor) and t.to(FloatTensor) work.
    return _LegacyMeta(name, (), {"_legacy_dtype": dt, "dtype": dt, "is_cuda": False,
                                  "__doc__": f"Legacy constructor for {dt!r} tensors."})


FloatTensor = _legacy("FloatTensor", _dtype.float32)
DoubleTensor = _legacy("DoubleTensor", _dtype.float64)
HalfTensor = _legacy("HalfTensor", _dtype.float16)
LongTensor = _legacy("LongTensor", _dtype.int64)
IntTensor = _legacy("IntTensor", _dtype.int32)
ShortTensor = _legacy("ShortTensor", _dtype.int16)
CharTensor = _legacy("CharTensor", _dtype.int8)
ByteTensor = _legacy("ByteTensor", _dtype.uint8)
BoolTensor = _legacy("BoolTensor", _dtype.bool_)


def _cuda_unavailable(*_a, **_k):
    raise RuntimeError("tinygrad_cn runs on the CPU only: CUDA is not available. Use device='cpu'.")


cuda = types.ModuleType("tinygrad_cn.cuda", "CUDA is never available: tinygrad_cn runs on the CPU.")
cuda.is_available = lambda: False
cuda.device_count = lambda: 0
cuda.is_initialized = lambda: False
cuda.manual_seed = lambda seed: None
cuda.manual_seed_all = lambda seed: None
cuda.synchronize = lambda device=None: None
cuda.empty_cache = lambda: None
cuda.current_device = _cuda_unavailable
cuda.set_device = _cuda_unavailable
cuda.get_device_name = _cuda_unavailable


class _CudaLegacyMeta(type):
    """``torch.cuda.FloatTensor`` and friends: they exist, so ``cuda.FloatTensor if use_cuda else
    FloatTensor`` works, but no tensor is ever one and building one raises."""

    def __instancecheck__(cls, obj):
        return False

    def __call__(cls, *args, **kwargs):
        raise TypeError(f"type torch.cuda.{cls.__name__} not available: tinygrad_cn runs on the CPU only. "
                        f"Use tinygrad_cn.{cls.__name__} instead.")


for _name, _dt in (("FloatTensor", _dtype.float32), ("DoubleTensor", _dtype.float64), ("HalfTensor", _dtype.float16),
                   ("LongTensor", _dtype.int64), ("IntTensor", _dtype.int32), ("ShortTensor", _dtype.int16),
                   ("CharTensor", _dtype.int8), ("ByteTensor", _dtype.uint8), ("BoolTensor", _dtype.bool_)):
    setattr(cuda, _name, _CudaLegacyMeta(_name, (), {"dtype": _dt, "is_cuda": True, "__module__": "tinygrad_cn.cuda"}))


def _tensor_new(self, *args, **kwargs):
    """Legacy ``t.new(...)``: like ``Tensor(...)`` but with ``t``'s dtype (sizes give an
    uninitialised tensor, data a copy)."""
    from .creation import _legacy_array
    return Tensor._make(_legacy_array(args, kwargs.pop("dtype", None) or self.dtype, kwargs.pop("device", None)))


Tensor.new = _tensor_new

backends = types.ModuleType("tinygrad_cn.backends")
backends.mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
backends.cudnn = types.SimpleNamespace(deterministic=False, benchmark=False, enabled=False,
                                       is_available=lambda: False)
backends.cuda = types.SimpleNamespace(is_built=lambda: False)

_default_device = device("cpu")


def set_default_device(dev) -> None:
    """Only 'cpu' is accepted; anything else raises, naming the device."""
    check_device(dev)


def get_default_device() -> device:
    return _default_device
