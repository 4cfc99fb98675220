"""tinygrad_cn: a small reverse-mode autograd tensor framework for the CPU,
with a compiled core, that mirrors PyTorch (``import tinygrad_cn as torch``).

Example::

    >>> import tinygrad_cn as torch
    >>> w = torch.randn(3, requires_grad=True)
    >>> loss = (w * w).sum()
    >>> loss.backward()
    >>> torch.allclose(w.grad, 2 * w.detach())
    True
"""
from ._dtype import (dtype, float32, float64, float16, int64, int32, int16, int8, uint8, bool_ as bool,
                     get_default_dtype, set_default_dtype)
from ._dtype import float32 as float, float64 as double, float16 as half, int64 as long, int32 as int
from ._dtype import int16 as short, result_type as _result_type, finfo, iinfo, promote_types
from ._format import set_printoptions
from .tensor import Tensor, Size, device, is_tensor
from .autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                                 is_inference_mode_enabled)
from .creation import (tensor, as_tensor, asarray, from_numpy, zeros, ones, empty, full, eye, arange, linspace,
                       logspace, zeros_like, ones_like, empty_like, full_like, rand, randn, randint, randperm,
                       rand_like, randn_like, randint_like, normal, bernoulli, multinomial, poisson, manual_seed,
                       seed, initial_seed, get_rng_state, set_rng_state, Generator, default_generator)
from .ops import pointwise as _pointwise, movement as _movement, indexing as _indexing, reduce as _reduce
from .ops import linalg as _linalg, inplace as _inplace
from .ops.pointwise import where
from .ops.movement import broadcast_tensors, broadcast_shapes, broadcast_to, hstack, vstack
from .ops.reduce import var_mean, std_mean
from .ops.linalg import einsum, tensordot
from .tensor import _EXPORTS
from .legacy import (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor,
                     ByteTensor, BoolTensor, cuda, backends, set_default_device, get_default_device)
from . import autograd
from . import linalg
from . import nn
from . import optim
from . import utils
from . import viz
from . import distributed  # mpi4py is imported only by init_process_group
from .autograd.anomaly_mode import is_anomaly_enabled, set_detect_anomaly
from .serialization import save, load
from ._C import show_config, set_num_threads, get_num_threads

globals().update({k: v for k, v in _EXPORTS.items() if not k.startswith("_") and k not in globals()})

__version__ = "0.1.0"


def result_type(tensor1, tensor2) -> dtype:
    """The dtype that an op on these two operands produces, by torch's rules."""
    return _result_type(tensor1, tensor2)


def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def is_storage(obj) -> bool:
    return False
