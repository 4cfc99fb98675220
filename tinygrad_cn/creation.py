"""Tensor factories and random numbers, as torch has them."""
from __future__ import annotations

import numbers
from typing import Optional

import numpy as np

from . import _dtype
from .tensor import Tensor, check_device, _EXPORTS

_make = Tensor._make


# -- random generators -------------------------------------------------------------
class Generator:
    """A seeded source of random numbers (``torch.Generator``).

    Example::

        >>> g = tinygrad_cn.Generator().manual_seed(0)
        >>> tinygrad_cn.rand(2, generator=g)
    """

    def __init__(self, device="cpu"):
        check_device(device)
        self._seed = 67280421310721
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        import pickle
        return _make(np.frombuffer(pickle.dumps(self.rng.bit_generator.state), dtype=np.uint8).copy())

    def set_state(self, state: Tensor) -> "Generator":
        raw = bytes(state._data.astype(np.uint8))
        self.rng.bit_generator.state = _loads_state(raw)
        return self

    @property
    def device(self):
        from .tensor import CPU
        return CPU


def _loads_state(raw: bytes):
    # The state is a dict of ints and strings that we pickled ourselves; refuse anything else.
    import pickle
    import io

    class _Safe(pickle.Unpickler):
        def find_class(self, module, name):
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a generator state")

    return _Safe(io.BytesIO(raw)).load()


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, so runs are reproducible."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(state: Tensor) -> None:
    default_generator.set_state(state)


def _rng(generator: Optional[Generator]):
    return (generator or default_generator).rng


# -- building arrays -----------------------------------------------------------------
def _sizes(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    elif len(size) == 1 and isinstance(size[0], Tensor):
        size = size[0].tolist()
    out = tuple(int(s) for s in size)
    for s in out:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(out)}")
    return out


def _float_dtype(dtype) -> _dtype.dtype:
    return _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()


def _finish(arr: np.ndarray, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    t = _make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _from_data(data, dtype=None) -> np.ndarray:
    """torch.tensor's dtype inference: Python floats take the default dtype,
    ints become int64, bools stay bool; NumPy arrays keep theirs."""
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, (np.generic,)):
        arr = np.asarray(data)
    elif dtype is not None:
        # Straight to the requested dtype: a detour through float32 would round.
        arr = np.asarray(_tensors_to_lists(data), dtype=_dtype.to_dtype(dtype).np)
    else:
        arr = _from_nested(data)
    if dtype is not None:
        dt = _dtype.to_dtype(dtype)
        return np.array(arr, dtype=dt.np, copy=True)
    if arr.dtype not in _dtype._FROM_NP:
        if arr.dtype.kind == "O":
            raise TypeError(f"Could not infer dtype of {type(data).__name__}")
        arr = arr.astype(_promote_unsupported(arr.dtype))
    return np.array(arr, copy=True)


def _from_nested(data) -> np.ndarray:
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat_first(data)):
        data = _tensors_to_lists(data)
    if isinstance(data, (bool, np.bool_)):
        return np.asarray(data, dtype=bool)
    arr = np.asarray(data)
    if arr.dtype.kind == "u" and not isinstance(data, np.ndarray) or arr.dtype.kind == "O" and _has_big_int(data):
        # Python ints past int64 (NumPy made them uint64 or objects): torch refuses, it does not wrap.
        raise ValueError("Overflow when unpacking long long: a Python int does not fit in int64")
    if arr.dtype == np.float64 and not _has_numpy_float64(data):
        arr = arr.astype(_dtype.get_default_dtype().np)
    elif arr.dtype.kind in "iu" and arr.dtype != np.int64 and not isinstance(data, np.ndarray):
        arr = arr.astype(np.int64)
    elif arr.dtype.kind in "US":
        raise TypeError(f"new(): invalid data type '{arr.dtype.kind == 'U' and 'str'}'")
    return arr


def _flat_first(data):
    while isinstance(data, (list, tuple)) and data:
        yield data[0]
        data = data[0]


def _has_big_int(data) -> bool:
    if isinstance(data, (list, tuple)):
        return any(_has_big_int(x) for x in data)
    return isinstance(data, int) and not -2 ** 63 <= data < 2 ** 63


def _tensors_to_lists(data):
    if isinstance(data, Tensor):
        return data._data.tolist()
    if isinstance(data, (list, tuple)):
        return [_tensors_to_lists(x) for x in data]
    return data


def _has_numpy_float64(data) -> bool:
    for x in _flat_first(data) if isinstance(data, (list, tuple)) else [data]:
        if isinstance(x, np.floating) and x.dtype == np.float64:
            return True
    return isinstance(data, np.floating) and data.dtype == np.float64


def _promote_unsupported(npd):
    if npd.kind == "u":
        return np.int64
    if npd.kind == "f":
        return np.float64
    raise TypeError(f"can't convert np.ndarray of type {npd}. The only supported types are: float64, float32, "
                    "float16, int64, int32, int16, int8, uint8, and bool.")


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor that copies ``data`` (numbers, nested lists, arrays, tensors).

    Example::

        >>> tinygrad_cn.tensor([[1, 2], [3, 4]]).dtype
        tinygrad_cn.int64
    """
    return _finish(_from_data(data, dtype), requires_grad, device)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when it can."""
    check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype is _dtype.to_dtype(dtype) else data.to(dtype)
    if isinstance(data, np.ndarray) and data.dtype in _dtype._FROM_NP and (
            dtype is None or _dtype.to_dtype(dtype).np == data.dtype):
        return _make(data)
    return tensor(data, dtype=dtype)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    t = as_tensor(obj, dtype, device) if not copy else tensor(obj, dtype=dtype)
    return t.requires_grad_(requires_grad) if requires_grad else t


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray`` (writes show in both)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_numpy_dtype(ndarray.dtype)
    return _make(ndarray)


def _legacy_array(args, dtype, device) -> np.ndarray:
    """``torch.Tensor(...)``: sizes give an uninitialised tensor, data a copy."""
    check_device(device)
    dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    if not args:
        return np.empty((0,), dtype=dt.np)
    if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
        return np.zeros(tuple(int(a) for a in args), dtype=dt.np)
    if len(args) == 1 and isinstance(args[0], (tuple, list)) and args and \
            type(args[0]).__name__ == "Size":
        return np.zeros(tuple(args[0]), dtype=dt.np)
    if len(args) == 1:
        return np.array(_from_data(args[0]), dtype=dt.np)
    raise TypeError(f"new(): invalid arguments {args}")


def _factory(fill):
    def make(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
        dt = _float_dtype(dtype)
        arr = fill(_sizes(size), dt.np)
        if out is not None:
            return _copy_out(out, arr)
        return _finish(arr, requires_grad, device)
    return make


def _copy_out(out: Tensor, arr: np.ndarray) -> Tensor:
    from .ops.inplace import copy_into_out
    return copy_into_out(out, _make(arr))


zeros = _factory(np.zeros)
ones = _factory(np.ones)
empty = _factory(np.empty)
zeros.__doc__ = "A tensor of zeros (float32 by default). ``zeros(2, 3)`` or ``zeros((2, 3))``."
ones.__doc__ = "A tensor of ones (float32 by default)."
empty.__doc__ = "An uninitialised tensor."


def full(size, fill_value, *, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = _dtype.scalar_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    dt = _dtype.to_dtype(dtype)
    arr = np.full(_sizes((size,)), fill_value, dtype=dt.np)
    return _copy_out(out, arr) if out is not None else _finish(arr, requires_grad, device)


def eye(n: int, m: Optional[int] = None, *, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    arr = np.eye(n, m if m is not None else n, dtype=_float_dtype(dtype).np)
    return _copy_out(out, arr) if out is not None else _finish(arr, requires_grad, device)


def arange(start=0, end=None, step=1, *, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive); int64 unless a bound is a float."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = _dtype.get_default_dtype() if any(isinstance(v, float) for v in vals) else _dtype.int64
    dt = _dtype.to_dtype(dtype)
    n = max(int(np.ceil((vals[1] - vals[0]) / vals[2])), 0)
    arr = (vals[0] + np.arange(n, dtype=np.float64 if dt.is_floating_point else np.int64) * vals[2]).astype(dt.np)
    return _copy_out(out, arr) if out is not None else _finish(arr, requires_grad, device)


def range_(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Deprecated torch.range: like arange but ``end`` is included."""
    return arange(start, end + step / 2 if isinstance(step, float) or dtype is None else end + step, step,
                  dtype=dtype or _dtype.get_default_dtype(), device=device, requires_grad=requires_grad)


def linspace(start, end, steps: int, *, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    arr = np.linspace(start, end, int(steps), dtype=np.float64).astype(_float_dtype(dtype).np)
    return _copy_out(out, arr) if out is not None else _finish(arr, requires_grad, device)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None, requires_grad=False):
    arr = np.logspace(start, end, int(steps), base=base).astype(_float_dtype(dtype).np)
    return _finish(arr, requires_grad, device)


def _tri_indices(name: str, np_fn, row: int, col: int, offset: int, dtype, device) -> Tensor:
    dt = _dtype.int64 if dtype is None else _dtype.to_dtype(dtype)
    if dt not in (_dtype.int64, _dtype.int32):
        raise NotImplementedError(f'"{name}" not implemented for \'{_legacy_type_name(dt)}\'')
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else f"col must be non-negative, got{col}")
    arr = np.stack(np_fn(int(row), int(offset), int(col))).astype(dt.np).reshape(2, -1)
    return _finish(arr, False, device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None) -> Tensor:
    """Row and column indices (a 2 x N tensor, row-major order) of the lower triangle of a
    ``row`` x ``col`` matrix; ``offset`` shifts the diagonal as in ``tril``."""
    return _tri_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None) -> Tensor:
    """Row and column indices (a 2 x N tensor, row-major order) of the upper triangle of a
    ``row`` x ``col`` matrix; ``offset`` shifts the diagonal as in ``triu``."""
    return _tri_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device)


_EXPORTS["tril_indices"] = tril_indices
_EXPORTS["triu_indices"] = triu_indices


def _like(fn):
    def make(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, **kw):
        dt = dtype if dtype is not None else input.dtype
        return fn(input.shape, dtype=dt, device=device, requires_grad=requires_grad, **kw)
    return make


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


# -- random ----------------------------------------------------------------------------
def _random_float_dtype(dtype, kernel: str) -> _dtype.dtype:
    dt = _float_dtype(dtype)
    if not dt.is_floating_point:
        # NotImplementedError is a RuntimeError, as in torch.
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_legacy_type_name(dt)}\'')
    return dt


def _legacy_type_name(dt) -> str:
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(dt.name, dt.name)


def rand(*size, generator=None, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1)."""
    dt = _random_float_dtype(dtype, "check_uniform_bounds")
    arr = _rng(generator).random(_sizes(size), dtype=np.float64).astype(dt.np)
    return _copy_out(out, arr) if out is not None else _finish(arr, requires_grad, device)


def randn(*size, generator=None, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples."""
    dt = _random_float_dtype(dtype, "normal_kernel_cpu")
    arr = _rng(generator).standard_normal(_sizes(size)).astype(dt.np)
    return _copy_out(out, arr) if out is not None else _finish(arr, requires_grad, device)


def randint(low, high=None, size=None, *, generator=None, out=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    """Integers in [low, high): ``randint(10, (3,))`` or ``randint(2, 10, (3,))``."""
    if size is None:
        if isinstance(high, (tuple, list)):
            low, high, size = 0, low, high
        else:
            raise TypeError("randint() missing required argument 'size'")
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.int64
    arr = _rng(generator).integers(low, high, size=_sizes((size,))).astype(dt.np)
    return _copy_out(out, arr) if out is not None else _finish(arr, requires_grad, device)


def randperm(n: int, *, generator=None, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.int64
    arr = _rng(generator).permutation(int(n)).astype(dt.np)
    return _copy_out(out, arr) if out is not None else _finish(arr, requires_grad, device)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return rand(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return randn(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None,
           requires_grad=False) -> Tensor:
    """Normal samples; ``mean`` and ``std`` may be tensors (broadcast together)."""
    check_device(device)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if isinstance(s, np.ndarray) and (s < 0).any() or not isinstance(s, np.ndarray) and s < 0:
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        ref = mean if isinstance(mean, Tensor) else std
        arr = (m + s * _rng(generator).standard_normal(shape)).astype(ref._data.dtype)
    else:
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        dt = _float_dtype(dtype)
        arr = (mean + std * _rng(generator).standard_normal(_sizes((size,)))).astype(dt.np)
    return _copy_out(out, arr) if out is not None else _finish(arr, requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples with probabilities ``input`` (or ``p``)."""
    probs = input._data if p is None else np.full(input._data.shape, p)
    if (probs < 0).any() or (probs > 1).any():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    arr = (_rng(generator).random(probs.shape) < probs).astype(input._data.dtype)
    return _copy_out(out, arr) if out is not None else _make(arr)


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None, out=None) -> Tensor:
    """Sample category indices from the rows of ``input`` (non-negative weights)."""
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_legacy_type_name(input.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    w = input._data.astype(np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if (w < 0).any() or not np.isfinite(w).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = w.reshape(-1, w.shape[-1])
    if (rows.sum(-1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > rows.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    rng = _rng(generator)
    res = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, r in enumerate(rows):
        p = r / r.sum()
        if replacement:
            res[i] = rng.choice(len(p), size=num_samples, replace=True, p=p)
        else:
            # Gumbel top-k: sampling without replacement in proportion to the weights.
            keys = np.where(p > 0, np.log(np.where(p > 0, p, 1)) - np.log(-np.log(rng.random(len(p)))), -np.inf)
            res[i] = np.argsort(-keys, kind="stable")[:num_samples]
    arr = res.reshape(w.shape[:-1] + (num_samples,))
    return _copy_out(out, arr) if out is not None else _make(arr)


def poisson(input, generator=None) -> Tensor:
    return _make(_rng(generator).poisson(input._data).astype(input._data.dtype))


# -- in-place random fills (used by nn.init) ---------------------------------------------
def _fill_random(self: Tensor, arr: np.ndarray) -> Tensor:
    from .ops.inplace import check_inplace
    check_inplace(self)
    self._data[...] = arr
    self._vc[0] += 1
    return self


def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
    return _fill_random(self, _rng(generator).uniform(a, b, self._data.shape))


def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
    return _fill_random(self, mean + std * _rng(generator).standard_normal(self._data.shape))


def bernoulli_(self, p: float = 0.5, *, generator=None):
    pr = p._data if isinstance(p, Tensor) else p
    return _fill_random(self, _rng(generator).random(self._data.shape) < pr)


def random_(self, from_=0, to=None, *, generator=None):
    if to is None:
        from_, to = 0, from_ if from_ else 2 ** 24
    return _fill_random(self, _rng(generator).integers(from_, to, self._data.shape))


def exponential_(self, lambd: float = 1.0, *, generator=None):
    return _fill_random(self, _rng(generator).exponential(1.0 / lambd, self._data.shape))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    return _fill_random(self, median + sigma * _rng(generator).standard_cauchy(self._data.shape))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    return _fill_random(self, _rng(generator).lognormal(mean, std, self._data.shape))


for _f in (uniform_, normal_, bernoulli_, random_, exponential_, cauchy_, log_normal_):
    setattr(Tensor, _f.__name__, _f)
Tensor.bernoulli = lambda self, p=None, *, generator=None: bernoulli(self, p, generator=generator)
Tensor.multinomial = lambda self, num_samples, replacement=False, *, generator=None: \
    multinomial(self, num_samples, replacement, generator=generator)


def _new_factory(fn):
    def method(self, *size, dtype=None, device=None, requires_grad=False):
        return fn(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)
    return method


Tensor.new_zeros = _new_factory(zeros)
Tensor.new_ones = _new_factory(ones)
Tensor.new_empty = _new_factory(empty)
Tensor.new_full = lambda self, size, fill_value, *, dtype=None, device=None, requires_grad=False: \
    full(size, fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)
Tensor.new_tensor = lambda self, data, *, dtype=None, device=None, requires_grad=False: \
    tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)
