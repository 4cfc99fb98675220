"""Indexing: ``x[...]``, ``x[...] = v``, gather/scatter, masks, sort, topk.

Reading with an index and adding into an index are each other's gradient, so
``Getitem`` and ``IndexAdd`` are written as a pair; repeated indices
accumulate through ``np.add.at``.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ..tensor import Tensor, tensor_method, _wrap_dim, _EXPORTS
from .movement import record_view
from .pointwise import where, as_operand

_make = Tensor._make

sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])


def np_index(index):
    """Turn a torch-style index (Tensors, lists, slices, None, ...) into NumPy's.

    torch applies integer indices first (as ``select``) and only then the
    advanced (array) ones; NumPy counts an integer among the advanced indices,
    which moves the result's dimensions elsewhere. An index mixing both is
    therefore returned as a :class:`TwoStep` (basic part, then advanced part).
    """
    if isinstance(index, list) and len(index) < 32 and \
            any(isinstance(i, (Tensor, list, tuple, slice)) or i is None or i is Ellipsis for i in index):
        index = tuple(index)  # torch's legacy rule: such a list is a tuple of indices
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for i in items:
        if isinstance(i, Tensor):
            i = i._data
            if i.dtype.kind == "f" or i.dtype in (np.int8, np.int16):
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if i.dtype == np.uint8:
                i = i.astype(np.bool_)  # a byte tensor is a mask, as in torch
            if i.ndim == 0 and i.dtype != np.bool_:
                i = int(i)
        elif isinstance(i, (list, tuple)):
            i = _list_index(i)
        elif isinstance(i, np.ndarray) and i.dtype.kind == "f":
            raise IndexError("arrays used as indices must be of integer (or boolean) type")
        elif isinstance(i, slice):
            if i.step is not None and int(i.step) == 0:
                raise ValueError("slice step cannot be zero")
            if i.step is not None and int(i.step) < 0:
                raise ValueError("step must be greater than zero")
        elif isinstance(i, (bool, np.bool_)):
            i = np.asarray(i)
        elif isinstance(i, str):
            raise TypeError(f"string indices are not valid for a tensor: {i!r}")
        elif not (i is None or i is Ellipsis or isinstance(i, (int, np.integer, np.ndarray))):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                             "are valid indices (got " + type(i).__name__ + ")")
        out.append(i)
    out = tuple(out)
    if any(isinstance(i, np.ndarray) for i in out) and any(isinstance(i, (int, np.integer)) for i in out):
        return _two_step(out)
    return out


class TwoStep:
    """An index applied as ``a[first][second]``: ``first`` is basic (so
    ``a[first]`` is a view of ``a``), ``second`` holds the advanced part."""

    __slots__ = ("first", "second")

    def __init__(self, first, second):
        self.first, self.second = first, second


def _two_step(idx) -> TwoStep:
    first, second = [], []
    for i in idx:
        if isinstance(i, (int, np.integer)):
            first.append(i)
        elif isinstance(i, np.ndarray):
            if i.dtype == np.bool_ and i.ndim == 0:
                second.append(i)  # adds a dimension, consumes none
                continue
            k = i.ndim if i.dtype == np.bool_ else 1
            first.extend([slice(None)] * k)
            second.append(i)
        elif i is None:
            first.append(None)
            second.append(slice(None))
        else:  # a slice or Ellipsis
            first.append(i)
            second.append(i if i is Ellipsis else slice(None))
    if Ellipsis not in first:
        first.append(Ellipsis)  # keeps a[first] a view even when every dimension is taken
    return TwoStep(tuple(first), tuple(second))


def _take(arr: np.ndarray, idx) -> np.ndarray:
    if isinstance(idx, TwoStep):
        return arr[idx.first][idx.second]
    if _is_basic(idx) and not any(i is Ellipsis for i in idx):
        return arr[idx + (Ellipsis,)]  # a 0-d view, not a scalar copy, when every dim is taken
    return arr[idx]


def _put(arr: np.ndarray, idx, value) -> None:
    if isinstance(idx, TwoStep):
        arr[idx.first][idx.second] = value
    else:
        arr[idx] = value


def _add_at(arr: np.ndarray, idx, value) -> None:
    if isinstance(idx, TwoStep):
        np.add.at(arr[idx.first], idx.second, value)
    elif _is_basic(idx):
        arr[idx] += value
    else:
        np.add.at(arr, idx, value)


def _list_index(items):
    flat = [int(x) if isinstance(x, Tensor) else x for x in items]
    arr = np.asarray(flat) if flat else np.zeros(0, dtype=np.int64)
    if arr.dtype.kind == "f":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return arr


def _is_basic(idx) -> bool:
    return not isinstance(idx, TwoStep) and \
        all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in idx)


class Getitem(Function):
    @staticmethod
    def forward(ctx, x, idx):
        ctx.idx = idx
        ctx.meta = (x._data.shape, x._data.dtype)
        return np.asarray(_take(x._data, idx))

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, ctx.idx, ctx.meta), None


class IndexAdd(Function):
    """zeros(shape) with g added at idx: the adjoint of ``Getitem``."""

    @staticmethod
    def forward(ctx, g, idx, meta):
        ctx.idx = idx
        out = np.zeros(*meta)
        _add_at(out, idx, g._data)
        return out

    @staticmethod
    def backward(ctx, gg):
        return Getitem.apply(gg, ctx.idx), None, None


def getitem(self: Tensor, index) -> Tensor:
    idx = np_index(index)
    items = idx.first + idx.second if isinstance(idx, TwoStep) else idx
    if self._data.ndim == 0 and any(i is not None and i is not Ellipsis and not isinstance(i, slice) for i in items):
        if not (len(idx) == 1 and isinstance(idx[0], np.ndarray) and idx[0].dtype == np.bool_):
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
    out = _getitem_node(idx).apply(self, idx)
    if _is_basic(idx):
        record_view(self, out, lambda t: t[index])
    return out


def _getitem_node(idx):
    """torch names the node by the kind of index: x[0], x[1:], x[[0, 2]]."""
    if isinstance(idx, tuple) and len(idx) == 1:
        i = idx[0]
        if isinstance(i, (int, np.integer)):
            return Select
        if isinstance(i, slice):
            return Slice
        if isinstance(i, np.ndarray):
            return Index
    return Getitem


class Select(Getitem):
    pass


class Slice(Getitem):
    pass


class Index(Getitem):
    pass


Tensor.__getitem__ = getitem


def _contains(self: Tensor, element) -> bool:
    """``element in tensor``: whether any element equals it, as torch."""
    if isinstance(element, Tensor) or isinstance(element, (int, float, bool, np.number, np.bool_)):
        other = element._data if isinstance(element, Tensor) else element
        return bool(np.any(self._data == other))
    raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                       f"{type(element)}.")


Tensor.__contains__ = _contains


def _write(out: np.ndarray, idx, value: np.ndarray, accumulate: bool) -> None:
    """``out[idx] = value`` (or ``+=`` with repeats accumulating), torch's errors."""
    region = _take(out, idx)
    vshape = value.shape
    while len(vshape) > region.ndim and vshape[0] == 1:  # torch drops leading 1s of the value
        vshape = vshape[1:]
    try:
        value = np.broadcast_to(value.reshape(vshape), region.shape)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast to "
                           f"indexing result of shape {list(region.shape)}") from None
    if accumulate:
        _add_at(out, idx, value)
    else:
        _put(out, idx, value)


class IndexPut(Function):
    """``src`` with ``value`` written (or added, ``accumulate``) at ``idx``, out of place."""

    @staticmethod
    def forward(ctx, src, idx, value, accumulate=False):
        ctx.idx = idx
        ctx.accumulate = accumulate
        ctx.value_shape = value._data.shape
        out = src._data.copy()
        _write(out, idx, value._data, accumulate)
        return out

    @staticmethod
    def backward(ctx, g):
        need_src, need_value = ctx.needs_input_grad[0], ctx.needs_input_grad[2]  # accumulate may be omitted
        g_src = g_value = None
        if need_src:
            if ctx.accumulate:
                g_src = g
            else:
                g_src = IndexPut.apply(g, ctx.idx, _make(np.zeros((), dtype=g._data.dtype)))
        if need_value:
            g_value = Getitem.apply(g, ctx.idx)
            extra = len(ctx.value_shape) - g_value._data.ndim
            if extra > 0:  # the value had leading 1s that the write dropped
                g_value = g_value.reshape((1,) * extra + g_value._data.shape)
        return g_src, None, g_value, None


def index_put(src: Tensor, index, value: Tensor, accumulate: bool = False) -> Tensor:
    if not isinstance(value, Tensor):
        value = _make(np.asarray(value, dtype=src._data.dtype))
    if value._data.dtype != src._data.dtype:
        value = value.to(src.dtype)
    return IndexPut.apply(src, np_index(index), value, accumulate)


@tensor_method("index_put")
def _index_put(input, indices, values, accumulate=False):
    """``input`` with ``values`` put (or added) at the positions of the index tensors ``indices``."""
    return index_put(input, tuple(indices), values, accumulate)


# -- gather / scatter --------------------------------------------------------
def _along(index: np.ndarray, dim: int):
    """Full coordinate arrays addressing ``index``'s positions with ``dim`` replaced."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def _check_index(name, input, dim, index, src=None):
    if index._data.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if index._data.ndim != input._data.ndim and not (index._data.ndim <= 1 and input._data.ndim <= 1):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input tensor")
    for d, (a, b) in enumerate(zip(index._data.shape, input._data.shape)):
        if d != dim and a > b:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(index.shape)} to be "
                               f"smaller than self {list(input.shape)} apart from dimension {dim}")
    if isinstance(src, Tensor):
        if src._data.ndim != index._data.ndim and not (index._data.ndim <= 1 and src._data.ndim <= 1):
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
        for d, (a, b) in enumerate(zip(index._data.shape, src._data.shape)):
            if a > b:
                raise RuntimeError(f"Expected index {list(index.shape)} to be smaller than self "
                                   f"{list(input.shape)} apart from dimension {dim} and to be smaller size than "
                                   f"src {list(src.shape)}")
    if index._data.size:
        n = input._data.shape[dim] if input._data.ndim else 1
        lo, hi = int(index._data.min()), int(index._data.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {n}")


class Gather(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.args = (dim, index, x._data.shape, x._data.dtype)
        return x._data[_along(index._data, dim)]

    @staticmethod
    def backward(ctx, g):
        dim, index, shape, dt = ctx.args
        zeros = _make(np.zeros(shape, dtype=dt))
        return scatter_add(zeros, dim, index, g), None, None


@tensor_method("gather")
def gather(input, dim: int, index, *, sparse_grad=False, out=None):
    dim = _wrap_dim(dim, input._data.ndim)
    _check_index("gather", input, dim, index)
    if input._data.ndim == 0 or index._data.ndim == 0:  # 0-d (or 1-d with 0-d): work in 1-d
        r = Gather.apply(input.reshape(-1), 0, index.reshape(-1)).reshape(index.shape)
    else:
        r = Gather.apply(input, dim, index)
    from .pointwise import _out
    return _out(r, out)


class Scatter(Function):
    @staticmethod
    def forward(ctx, x, dim, index, src, reduce):
        ctx.args = (dim, index, reduce)
        out = x._data.copy()
        coords = _along(index._data, dim)
        vals = _src_block(src, index, out.dtype)
        if reduce is None:
            out[coords] = vals
        elif reduce == "add":
            np.add.at(out, coords, vals)
        elif reduce == "multiply":
            np.multiply.at(out, coords, vals)
        else:
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        return out

    @staticmethod
    def backward(ctx, g):
        dim, index, reduce = ctx.args
        need_x, _, _, need_src, _ = ctx.needs_input_grad
        if reduce == "multiply":
            raise RuntimeError("derivative for scatter with reduce='multiply' is not implemented")
        if reduce == "add":
            return (g if need_x else None), None, None, (gather(g, dim, index) if need_src else None), None
        gx = scatter(g, dim, index, 0.0) if need_x else None
        gs = gather(g, dim, index) if need_src else None
        return gx, None, None, gs, None


class ScatterAdd(Function):
    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.args = (dim, index)
        out = x._data.copy()
        np.add.at(out, _along(index._data, dim), _src_block(src, index, out.dtype))
        return out

    @staticmethod
    def backward(ctx, g):
        dim, index = ctx.args
        return g, None, None, (gather(g, dim, index) if ctx.needs_input_grad[3] else None)


def _src_block(src, index, dtype):
    if not isinstance(src, Tensor):
        return np.asarray(src, dtype=dtype)
    block = tuple(slice(0, n) for n in index._data.shape)
    return src._data[block].astype(dtype, copy=False)


@tensor_method("scatter")
def scatter(input, dim: int, index, src=None, *, value=None, reduce=None):
    """Write ``src`` (or ``value``) into a copy of ``input`` at ``index`` along ``dim``."""
    dim = _wrap_dim(dim, input._data.ndim)
    if src is None:
        src = value
    _check_index("scatter", input, dim, index, src)
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    if isinstance(src, Tensor):
        if src._data.dtype != input._data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        src = _src_view(src, index)
    return Scatter.apply(input, dim, index, src, reduce)


def _src_view(src, index):
    if src._data.shape == index._data.shape:
        return src
    return src[tuple(slice(0, n) for n in index._data.shape)]


@tensor_method("scatter_add")
def scatter_add(input, dim: int, index, src):
    dim = _wrap_dim(dim, input._data.ndim)
    _check_index("scatter_add", input, dim, index, src)
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    return ScatterAdd.apply(input, dim, index, _src_view(src, index))


class ScatterReduce(Function):
    """``x`` with ``src`` reduced into it at ``index`` along ``dim`` (sum, prod, mean, amax, amin)."""

    @staticmethod
    def forward(ctx, x, dim, index, src, reduce, include_self):
        a, s = x._data, src._data
        coords = _along(index._data, dim)
        hits = np.zeros(a.shape, dtype=np.int64)
        np.add.at(hits, coords, 1)
        hit = hits > 0
        out = a.copy()
        if not include_self:
            out[hit] = {"sum": 0, "mean": 0, "prod": 1, "amax": _lowest(a.dtype), "amin": _highest(a.dtype)}[reduce]
        ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
        ufunc.at(out, coords, s)
        count = None
        if reduce == "mean":
            count = np.maximum(hits + (1 if include_self else 0), 1)
            out = out / count if out.dtype.kind == "f" else out // count
        ctx.args = (dim, index, reduce, include_self, hit, count, out)
        ctx.save_for_backward(x, src)
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        dim, index, reduce, include_self, hit, count, out = ctx.args
        x, src = ctx.saved_tensors
        keep_self = _make((~hit | include_self).astype(g._data.dtype))
        if reduce == "sum":
            return g * keep_self, None, None, gather(g, dim, index), None, None
        if reduce == "mean":
            gn = g / _make(count.astype(g._data.dtype))
            return gn * keep_self, None, None, gather(gn, dim, index), None, None
        res = _make(out)
        if reduce in ("amax", "amin"):
            eq_x = _make(((x._data == out) & (~hit | include_self)).astype(g._data.dtype))
            eq_s = _make((src._data == gather(res, dim, index)._data).astype(g._data.dtype))
            cnt = scatter_add(eq_x, dim, index, eq_s)
            gc = g / cnt.clamp_min(1)
            return gc * eq_x, None, None, gather(gc, dim, index) * eq_s, None, None
        # prod: each factor's gradient is the product of the other factors of its group
        gx, gs = _prod_others(x._data, src._data, index._data, dim, include_self, hit)
        gx_t = g * _make(gx) if ctx.needs_input_grad[0] else None
        gs_t = gather(g, dim, index) * _make(gs) if ctx.needs_input_grad[3] else None
        return gx_t, None, None, gs_t, None, None


def _lowest(dt):
    return -np.inf if dt.kind == "f" else np.iinfo(dt).min if dt.kind in "iu" else False


def _highest(dt):
    return np.inf if dt.kind == "f" else np.iinfo(dt).max if dt.kind in "iu" else True


def _prod_others(a, s, index, dim, include_self, hit):
    """Products of the other members of each scatter group, for self's and src's elements."""
    coords = _along(index, dim)
    target = np.ravel_multi_index(tuple(np.broadcast_to(c, index.shape) for c in coords), a.shape).ravel()
    svals = s[tuple(slice(0, n) for n in index.shape)].ravel()
    gx = np.ones(a.size, dtype=a.dtype)
    gs = np.ones(svals.size, dtype=a.dtype)
    flat_a = a.ravel()
    for t in np.unique(target):
        members = np.nonzero(target == t)[0]
        vals = list(svals[members]) + ([flat_a[t]] if include_self else [])
        for k, m in enumerate(members):
            gs[m] = np.prod(vals[:k] + vals[k + 1:])
        gx[t] = np.prod(list(svals[members])) if include_self else 0
    if not include_self:
        gx[hit.ravel()] = 0
    return gx.reshape(a.shape), gs.reshape(index.shape)


@tensor_method("scatter_reduce")
def scatter_reduce(input, dim: int, index, src, reduce: str, *, include_self: bool = True):
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim``: ``reduce`` is one of
    'sum', 'prod', 'mean', 'amax', 'amin'."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    dim = _wrap_dim(dim, input._data.ndim)
    _check_index("scatter_reduce", input, dim, index, src)
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    return ScatterReduce.apply(input, dim, index, _src_view(src, index), reduce, bool(include_self))


@tensor_method("index_select")
def index_select(input, dim: int, index, *, out=None):
    if index._data.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if index._data.dtype.kind not in "iu":
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    d = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d] if input._data.ndim else 1
    if index._data.size and (index._data.min() < 0 or index._data.max() >= n):
        raise IndexError("index out of range in self")
    r = getitem(input, (slice(None),) * d + (index.reshape(-1),))
    from .pointwise import _out
    return _out(r, out)


@tensor_method("index_add")
def index_add(input, dim: int, index, source, *, alpha=1):
    d = _wrap_dim(dim, input._data.ndim)
    if index._data.ndim > 1:
        raise IndexError("index_add_(): Index is supposed to be a vector")
    n = input._data.shape[d] if input._data.ndim else 1
    expect = list(input._data.shape)
    if expect:
        expect[d] = index._data.size
    if list(source._data.shape) != expect and not (source._data.ndim == 0 and index._data.size == 1):
        raise RuntimeError(f"index_add_(): Expected source to have shape {expect} (the self shape "
                           f"{list(input.shape)} with dimension {d} of the index size), but got "
                           f"{list(source.shape)}")
    if index._data.size and (index._data.min() < -n or index._data.max() >= n):
        raise IndexError(f"index_add_(): index out of range for dimension {d} with size {n}")
    idx = (slice(None),) * d + (index._data,)
    if alpha != 1:
        source = source * alpha
    added = IndexAdd.apply(source.to(input.dtype), idx, (input._data.shape, input._data.dtype))
    return input + added


@tensor_method("index_copy")
def index_copy(input, dim: int, index, source):
    """``input`` with the slices of ``source`` copied to positions ``index`` along ``dim``."""
    d = _wrap_dim(dim, input._data.ndim)
    if index._data.ndim > 1:
        raise IndexError("index_copy_(): Index should have dimension 1 or 0")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{input.dtype} and (source) {source.dtype}")
    n = input._data.shape[d] if input._data.ndim else 1
    if index._data.size and (index._data.min() < 0 or index._data.max() >= n):
        raise IndexError(f"index_copy_(): index {int(index._data.max())} is out of bounds for dimension {d} "
                         f"with size {n}")
    return index_put(input, (slice(None),) * d + (index.reshape(-1),), source)


@tensor_method("index_fill")
def index_fill(input, dim: int, index, value):
    d = _wrap_dim(dim, input._data.ndim)
    mask = np.zeros(input._data.shape[d], dtype=bool)
    mask[index._data] = True
    shape = [1] * input._data.ndim
    shape[d] = -1
    return masked_fill(input, _make(mask.reshape(shape)), value)


def _bshape(a, b) -> tuple:
    """np.broadcast_shapes with torch's error."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        pass
    for i in range(1, min(len(a), len(b)) + 1):
        if a[-i] != b[-i] and a[-i] != 1 and b[-i] != 1:
            raise RuntimeError(f"The size of tensor a ({a[-i]}) must match the size of tensor b ({b[-i]}) at "
                               f"non-singleton dimension {max(len(a), len(b)) - i}")
    raise RuntimeError(f"shapes {list(a)} and {list(b)} cannot be broadcast together")


@tensor_method("masked_fill")
def masked_fill(input, mask, value):
    """``value`` where ``mask`` is True, else ``input``."""
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    if isinstance(value, Tensor) and value._data.ndim != 0:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value._data.ndim} dimension(s).")
    _bshape(mask._data.shape, input._data.shape)
    r = where(mask, value if isinstance(value, Tensor) else _make(np.asarray(value, dtype=input._data.dtype)), input)
    return r if r._data.dtype == input._data.dtype else r.to(input.dtype)


@tensor_method("masked_select")
def masked_select(input, mask, *, out=None):
    from .pointwise import _out
    return _out(_masked_select(input, mask), out)


def _masked_select(input, mask):
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_select: expected BoolTensor for mask")
    shape = _bshape(input._data.shape, mask._data.shape)
    return getitem(input.expand(shape), mask.expand(shape))


@tensor_method("masked_scatter")
def masked_scatter(input, mask, source):
    shape = np.broadcast_shapes(input._data.shape, mask._data.shape)
    m = mask.expand(shape)
    n = int(m._data.sum())
    return index_put(input.expand(shape).clone(), (m,), source.reshape(-1)[:n])


@tensor_method("nonzero")
def nonzero(input, *, as_tuple=False):
    """Indices of non-zero elements: an int64 (n, ndim) tensor, or a tuple of 1-D ones."""
    if as_tuple:
        if input._data.ndim == 0:
            return (_make(np.zeros(int(bool(input._data)), dtype=np.int64)),)
        return tuple(_make(i.astype(np.int64)) for i in np.nonzero(input._data))
    return _make(np.argwhere(input._data).astype(np.int64))


@tensor_method("argwhere")
def argwhere(input):
    return nonzero(input)


@tensor_method("take")
def take(input, index):
    return getitem(input.reshape(-1), index)


@tensor_method("take_along_dim")
def take_along_dim(input, indices, dim=None):
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    shape = list(np.broadcast_shapes(*(tuple(1 if i == _wrap_dim(dim, input.ndim) else s for i, s in enumerate(t.shape))
                                       for t in (input, indices))))
    d = _wrap_dim(dim, input._data.ndim)
    xs = list(shape); xs[d] = input._data.shape[d]
    ix = list(shape); ix[d] = indices._data.shape[d]
    return gather(input.expand(xs), d, indices.expand(ix))


# -- sort / topk ---------------------------------------------------------------
def _out_pair(result, out):
    """``out=(values, indices)`` as torch: each written (and resized) in place."""
    if out is None:
        return result
    from .pointwise import _out
    values, indices = out
    return type(result)(_out(result[0], values), _out(result[1], indices))


@tensor_method("sort")
def sort(input, dim: int = -1, descending: bool = False, stable: bool = False, *, out=None):
    """Sorted values and their int64 indices (a named tuple, as torch); NaN sorts as the largest."""
    return _out_pair(_sort(input, dim, descending, stable), out)


def _sort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """Sorted values and their int64 indices (a named tuple, as torch)."""
    if input._data.ndim == 0:
        return sort_result(input.clone(), _make(np.zeros((), dtype=np.int64)))
    d = _wrap_dim(dim, input._data.ndim)
    key = input._data
    if descending:
        # Stable descending order that keeps NaN first, as torch does.
        idx = np.flip(np.argsort(np.flip(key, d), axis=d, kind="stable"), d)
        idx = key.shape[d] - 1 - idx
    else:
        idx = np.argsort(key, axis=d, kind="stable")
    idx = _make(idx.astype(np.int64))
    return sort_result(gather(input, d, idx), idx)


@tensor_method("argsort")
def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    return sort(input, dim, descending, stable).indices


@tensor_method("msort")
def msort(input):
    return sort(input, 0).values


@tensor_method("topk")
def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *, out=None):
    return _out_pair(_topk(input, k, dim, largest, sorted), out)


def _topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    d = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d] if input._data.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    s = sort(input, d, descending=largest)
    idx = s.indices.narrow(d, 0, k) if input._data.ndim else s.indices
    idx = _make(np.ascontiguousarray(idx._data).reshape(idx._data.shape if input._data.ndim else ()))
    return topk_result(gather(input, d, idx) if input._data.ndim else input.clone(), idx)


@tensor_method("kthvalue")
def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    d = _wrap_dim(dim, input._data.ndim)
    s = sort(input, d)
    idx = s.indices.narrow(d, k - 1, 1)
    idx = _make(np.ascontiguousarray(idx._data))
    vals = gather(input, d, idx)
    if not keepdim:
        vals, idx = vals.squeeze(d), idx.squeeze(d)
    return namedtuple("kthvalue", ["values", "indices"])(vals, idx)


@tensor_method("unique")
def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):
    res = np.unique(input._data, return_inverse=return_inverse, return_counts=return_counts, axis=dim)
    if not (return_inverse or return_counts):
        return _make(res)
    res = list(res)
    out = [_make(res[0])]
    if return_inverse:
        out.append(_make(res[1].reshape(input._data.shape).astype(np.int64)))
    if return_counts:
        out.append(_make(res[-1].astype(np.int64)))
    return tuple(out)


@tensor_method("bincount")
def bincount(input, weights=None, minlength: int = 0):
    w = None if weights is None else weights._data
    r = np.bincount(input._data, w, minlength)
    if w is None:
        return _make(r.astype(np.int64))
    return _make(r.astype(np.float32 if w.dtype == np.float32 else np.float64))  # torch: float32 stays


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False):
    """Index of the bucket of each element: ``boundaries[i-1] < x <= boundaries[i]`` (``right=False``),
    ``boundaries[i-1] <= x < boundaries[i]`` (``right=True``). ``boundaries`` is 1-D and sorted."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries._data.ndim})")
    vals = input._data if isinstance(input, Tensor) else np.asarray(input)
    r = np.searchsorted(boundaries._data, vals, side="right" if right else "left")
    return _make(np.asarray(r).astype(np.int32 if out_int32 else np.int64))


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False):
    """Whether each element of ``elements`` is in ``test_elements`` (a bool tensor shaped as ``elements``)."""
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return _make(np.asarray(np.isin(e, t, invert=invert)))


_EXPORTS["bucketize"] = bucketize
_EXPORTS["isin"] = isin


@tensor_method("searchsorted", function=True)
def searchsorted(sorted_sequence, input, *, right=False, side=None):
    side = side or ("right" if right else "left")
    vals = input._data if isinstance(input, Tensor) else np.asarray(input)
    return _make(np.asarray(np.searchsorted(sorted_sequence._data, vals, side=side)).astype(np.int64))
