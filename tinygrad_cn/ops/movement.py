"""Shape ops and views. A view shares memory and the version counter with
its base and remembers how to re-derive itself from the base (``view_fn``),
which in-place writes to the view need (see ``ops/inplace.py``)."""
from __future__ import annotations

import weakref
from typing import Sequence

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..tensor import Tensor, tensor_method, _wrap_dim, wrap_dims, _EXPORTS

_make = Tensor._make


def record_view(src: Tensor, out: Tensor, fn, multi=None) -> Tensor:
    """Mark ``out`` as a view of ``src``'s base when they share memory.

    ``multi`` names the op when ``out`` is one of several views returned by one
    node (split, chunk, unbind): as in torch, such a view (and any view of it)
    refuses in-place writes that autograd would have to record."""
    if not np.may_share_memory(out._data, src._data) and not _empty_view(out._data, src._data):
        return out
    out._vc = src._vc
    sx = src._x
    base_fn = sx.view_fn if sx is not None and sx.base is not None else None
    x = out._extras
    x.base = sx.base if base_fn is not None else src
    view_fn = (lambda t: fn(base_fn(t))) if base_fn is not None else fn
    multi = multi or getattr(base_fn, "multi_output", None)
    if multi:
        view_fn.multi_output = multi
    x.view_fn = view_fn
    base = x.base
    if STATE.enabled and not (base._requires_grad and base.grad_fn is None):
        _register_view(base, out)
    return out


def _empty_view(a: np.ndarray, b: np.ndarray) -> bool:
    """An empty view shares no memory, yet is a view: same owner array."""
    if a.size:
        return False
    owner_a = a.base if a.base is not None else a
    owner_b = b.base if b.base is not None else b
    return owner_a is owner_b


# Live views of each base that an in-place write may move in the graph (torch
# regenerates a view's grad_fn when its base changed version). Keyed by id(base),
# dropped when the base dies. Views of leaves that require grad are not kept:
# such a base is only written under no_grad, which leaves the graph as it is.
_VIEWS: dict = {}


def _register_view(base: Tensor, view: Tensor) -> None:
    # dicts keyed by id, not WeakSets: a Tensor's == is elementwise
    key = id(base)
    entry = _VIEWS.get(key)
    if entry is None or entry[0]() is not base:
        entry = (weakref.ref(base, lambda _, key=key: _drop(key)), {})
        _VIEWS[key] = entry
    views = entry[1]
    vkey = id(view)
    views[vkey] = weakref.ref(view, lambda _, vkey=vkey, views=views: views.pop(vkey, None))


def _drop(key: int) -> None:
    entry = _VIEWS.pop(key, None)
    if entry is not None:
        entry[1].clear()  # breaks the dict -> weakref -> callback -> dict cycle


def views_of(base: Tensor) -> list:
    """The live views of ``base`` recorded with grad mode on."""
    entry = _VIEWS.get(id(base))
    if entry is None or entry[0]() is not base:
        return []
    views = [r() for r in list(entry[1].values())]
    return [v for v in views if v is not None]


def _sizes(args) -> tuple:
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        return tuple(int(s) for s in args[0])
    return tuple(int(s) for s in args)


def infer_shape(shape: Sequence[int], numel: int) -> tuple:
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class View(Function):
    """A new shape over the same elements (a copy only when reshape must)."""

    @staticmethod
    def forward(ctx, x, shape, must_view):
        ctx.in_shape = x._data.shape
        if must_view:
            try:
                return x._data.reshape(shape, copy=False)
            except ValueError:
                raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                                   "dimension spans across two contiguous subspaces). Use .reshape(...) "
                                   "instead.") from None
        return x._data.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None, None


class Unsqueeze(View):
    pass


class Squeeze(View):
    pass


def _reshape(input, shape, node=View):
    if shape == input._data.shape:
        return _alias(input)
    return record_view(input, node.apply(input, shape, False), lambda t: t.reshape(shape))


@tensor_method("reshape")
def reshape(input, *shape):
    """Same data in a new shape; a view when the layout allows, else a copy."""
    return _reshape(input, infer_shape(_sizes(shape), input._data.size))


@tensor_method("view", function=False)
def view(input, *shape):
    """A view with a new shape (or dtype, when given one); never copies."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        from .. import _dtype
        dt = _dtype.to_dtype(shape[0])
        return _make(input._data.view(dt.np))
    shape = infer_shape(_sizes(shape), input._data.size)
    return record_view(input, View.apply(input, shape, True), lambda t: t.view(shape))


@tensor_method("view_as", function=False)
def view_as(input, other):
    return view(input, other.shape)


@tensor_method("reshape_as", function=False)
def reshape_as(input, other):
    return reshape(input, other.shape)


class Alias(Function):
    @staticmethod
    def forward(ctx, x):
        return x._data.view()

    @staticmethod
    def backward(ctx, g):
        return g


def _alias(x: Tensor) -> Tensor:
    return record_view(x, Alias.apply(x), lambda t: t)


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._data.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(tuple(np.argsort(ctx.dims))), None


class Transpose(Permute):
    pass


class T(Permute):
    pass


@tensor_method("permute")
def permute(input, *dims):
    dims = _sizes(dims)
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal "
                           f"to len(dims) = {len(dims)}")
    dims = tuple(_wrap_dim(d, n) for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _permute(input, dims, Permute)


def _permute(input, dims, node):
    return record_view(input, node.apply(input, dims), lambda t: t.permute(dims))


@tensor_method("transpose", "swapaxes", "swapdims")
def transpose(input, dim0: int, dim1: int):
    n = input._data.ndim
    if n == 0:
        return _alias(input)
    d0, d1 = _wrap_dim(dim0, n), _wrap_dim(dim1, n)
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return _permute(input, tuple(dims), Transpose)


@tensor_method("t")
def t(input):
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")
    return _permute(input, (1, 0), T) if input._data.ndim == 2 else _alias(input)


Tensor.T = property(lambda self: permute(self, tuple(reversed(range(self._data.ndim)))))
Tensor.mT = property(lambda self: transpose(self, -2, -1))


@tensor_method("movedim", "moveaxis")
def movedim(input, source, destination):
    n = input._data.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [_wrap_dim(s, n) for s in src]
    dst = [_wrap_dim(d, n) for d in dst]
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
                           f"the same number of dims as destination ({dst} dims)")
    for name, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({ds})")
    order = [d for d in range(n) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, order)


@tensor_method("unsqueeze")
def unsqueeze(input, dim: int):
    n = input._data.ndim + 1
    d = _wrap_dim(dim, n)
    shape = input._data.shape[:d] + (1,) + input._data.shape[d:]
    return _reshape(input, shape, Unsqueeze)


@tensor_method("squeeze")
def squeeze(input, dim=None):
    shape = input._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        axes = wrap_dims(dim, input._data.ndim)
        new = tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1))
    return _reshape(input, new, Squeeze)


@tensor_method("flatten")
def flatten(input, start_dim: int = 0, end_dim: int = -1):
    n = input._data.ndim
    if n == 0:
        return reshape(input, (1,))
    s, e = _wrap_dim(start_dim, n), _wrap_dim(end_dim, n)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = input._data.shape
    return reshape(input, shape[:s] + (-1 if 0 not in shape[s:e + 1] else 0,) + shape[e + 1:])


@tensor_method("ravel")
def ravel(input):
    return reshape(input, (-1,))


@tensor_method("unflatten")
def unflatten(input, dim: int, sizes):
    n = input._data.ndim
    d = _wrap_dim(dim, n)
    shape = input._data.shape
    try:
        inner = infer_shape(sizes, shape[d])
    except RuntimeError as e:
        if "is invalid for input of size" not in str(e):
            raise
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {d} "
                           f"({shape[d]}) in the input tensor") from None
    return view(input, shape[:d] + inner + shape[d + 1:]) if input._data.flags.c_contiguous else \
        reshape(input, shape[:d] + inner + shape[d + 1:])


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x._data, shape)

    @staticmethod
    def backward(ctx, g):
        return g, None  # the engine sums g back to x's shape


@tensor_method("expand")
def expand(input, *sizes):
    """A broadcast view; -1 keeps a dimension. Writes to it are refused."""
    sizes = _sizes(sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(shape)}}}, size={list(sizes)}): the number of sizes "
                           f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   "non-existing dimension")
            target.append(s)
            continue
        cur = shape[i - lead]
        if s == -1:
            s = cur
        elif cur != 1 and s != cur:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(shape)}")
        target.append(s)
    target = tuple(target)
    if target == shape:
        return _alias(input)
    return record_view(input, Expand.apply(input, target), lambda t: t.expand(target))


@tensor_method("expand_as", function=False)
def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, shape):
    return expand(input, shape)


Tensor.broadcast_to = broadcast_to


def broadcast_tensors(*tensors):
    shape = np.broadcast_shapes(*(t._data.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def broadcast_shapes(*shapes):
    from ..tensor import Size
    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError as e:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape ({e})") from None


class Repeat(Function):
    @staticmethod
    def forward(ctx, x, reps):
        ctx.in_shape = x._data.shape
        ctx.reps = reps
        return np.tile(x._data, reps)

    @staticmethod
    def backward(ctx, g):
        shape = (1,) * (len(ctx.reps) - len(ctx.in_shape)) + ctx.in_shape
        interleaved = []
        for r, s in zip(ctx.reps, shape):
            interleaved += [r, s]
        dims = tuple(range(0, 2 * len(shape), 2))
        return g.reshape(interleaved).sum(dims).reshape(ctx.in_shape), None


@tensor_method("repeat", function=False)
def repeat(input, *sizes):
    reps = _sizes(sizes)
    if len(reps) < input._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions "
                           "of tensor")
    return Repeat.apply(input, reps)


@tensor_method("tile")
def tile(input, dims):
    reps = tuple(dims)
    reps = (1,) * (input._data.ndim - len(reps)) + reps
    return repeat(input, reps)


@tensor_method("repeat_interleave")
def repeat_interleave(input, repeats, dim=None):
    from .indexing import index_select
    if dim is None:
        input, dim = reshape(input, (-1,)), 0
    d = _wrap_dim(dim, input._data.ndim)
    reps = repeats._data if isinstance(repeats, Tensor) else repeats
    idx = np.repeat(np.arange(input._data.shape[d]), reps)
    return index_select(input, d, _make(idx))


# -- joining and splitting ---------------------------------------------------------
class Cat(Function):
    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        ctx.sizes = [t._data.shape[dim] for t in tensors]
        return np.concatenate([t._data for t in tensors], axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(g.split(ctx.sizes, ctx.dim))


@tensor_method("cat", "concat", "concatenate", function=True)
def cat(tensors, dim: int = 0, *, out=None):
    """Join tensors along an existing dimension (promoting dtypes as torch)."""
    tensors = [t for t in tensors]
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    from .. import _dtype
    from .pointwise import _out
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _dtype._promote_same_level(dt, t.dtype)
    # torch skips legacy empty 1-D tensors of shape (0,)
    parts = [t.to(dt) for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or [tensors[0].to(dt)]
    n = parts[0]._data.ndim
    if n == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = _wrap_dim(dim, n)
    ref = parts[0]._data.shape
    for i, p in enumerate(parts[1:], 1):
        s = p._data.shape
        if len(s) != n:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {n} and {len(s)}")
        for ax in range(n):
            if ax != d and s[ax] != ref[ax]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{ref[ax]} but got size {s[ax]} for tensor number {i} in the list.")
    return _out(Cat.apply(d, *parts), out)


_EXPORTS["concat"] = _EXPORTS["concatenate"] = cat


@tensor_method("stack", function=True)
def stack(tensors, dim: int = 0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                               f"{list(t.shape)} at entry {i}")
    d = _wrap_dim(dim, len(shape) + 1)
    return cat([unsqueeze(t, d) for t in tensors], d, out=out)


def hstack(tensors):
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors):
    return cat([t if t._data.ndim > 1 else t.reshape(1, -1) for t in tensors], 0)


def column_stack(tensors):
    return cat([t.reshape(-1, 1) if t._data.ndim < 2 else t for t in tensors], 1)


def dstack(tensors):
    return cat(list(atleast_3d(*tensors)) if len(tensors) > 1 else [atleast_3d(tensors[0])], 2)


def _atleast(n, tensors):
    def one(t):
        shape = t._data.shape
        if len(shape) >= n:
            return t
        if n == 3 and len(shape) == 2:
            return unsqueeze(t, -1)
        if n == 3 and len(shape) == 1:
            return reshape(t, (1, shape[0], 1))
        return reshape(t, (1,) * (n - len(shape)) + shape)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(one(t) for t in tensors[0])
    res = tuple(one(t) for t in tensors)
    return res[0] if len(res) == 1 else res


def atleast_1d(*tensors):
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    return _atleast(3, tensors)


for _f in (hstack, vstack, column_stack, dstack, atleast_1d, atleast_2d, atleast_3d):
    _EXPORTS.setdefault(_f.__name__, _f)
_EXPORTS.setdefault("row_stack", vstack)
_EXPORTS.setdefault("swapaxes", transpose)
_EXPORTS.setdefault("swapdims", transpose)
_EXPORTS.setdefault("moveaxis", movedim)


class Split(Function):
    """Pieces of x along dim: views in NumPy, one node with several outputs."""

    @staticmethod
    def forward(ctx, x, sizes, dim):
        ctx.meta = (x._data.shape, x._data.dtype, dim)
        bounds = np.cumsum(sizes)[:-1]
        return tuple(np.split(x._data, bounds, axis=dim))

    @staticmethod
    def backward(ctx, *grads):
        return cat(list(grads), ctx.meta[2]), None, None


@tensor_method("split")
def split(input, split_size_or_sections, dim: int = 0):
    """Split into chunks of a given size, or of the given sizes."""
    d = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0 and n > 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [min(step, n - i) for i in range(0, n, step)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                               f"at dimension {d}), but got split_sizes={sizes}")
    outs = Split.apply(input, sizes, d)
    outs = outs if isinstance(outs, tuple) else (outs,)
    for i, o in enumerate(outs):
        record_view(input, o, lambda t, i=i: t.split(sizes, d)[i], multi=("SplitBackward0", i))
    return outs


@tensor_method("chunk")
def chunk(input, chunks: int, dim: int = 0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    if n == 0:  # torch: `chunks` empty pieces
        return split(input, [0] * chunks, d)
    return split(input, -(-n // chunks), d)


@tensor_method("tensor_split")
def tensor_split(input, sections, dim: int = 0):
    d = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    if isinstance(sections, int):
        q, r = divmod(n, sections)
        sizes = [q + 1] * r + [q] * (sections - r)
    else:
        idx = [0] + [min(max(int(i), 0), n) for i in sections] + [n]
        sizes = [max(b - a, 0) for a, b in zip(idx, idx[1:])]
    return split(input, sizes, d)


def _split_n(name, input, sections, dim, min_dims):
    if input._data.ndim < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a tensor "
                           f"with {input._data.ndim} dimensions!")
    if isinstance(sections, (int, np.integer)):
        n = input._data.shape[dim]
        if sections == 0 or n % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                               f"dimension {n} is not divisible by the split_size {sections}!")
    return tensor_split(input, sections, dim)


@tensor_method("hsplit")
def hsplit(input, sections):
    return _split_n("hsplit", input, sections, 1 if input._data.ndim > 1 else 0, 1)


@tensor_method("vsplit")
def vsplit(input, sections):
    return _split_n("vsplit", input, sections, 0, 2)


@tensor_method("dsplit")
def dsplit(input, sections):
    return _split_n("dsplit", input, sections, 2, 3)


@tensor_method("unbind")
def unbind(input, dim: int = 0):
    d = _wrap_dim(dim, input._data.ndim)
    if input._data.shape[d] == 0:
        return ()
    return tuple(squeeze(p, d) for p in split(input, 1, d))


@tensor_method("narrow")
def narrow(input, dim: int, start: int, length: int):
    d = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    start = int(start)
    if start < 0:
        start += n
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    index = (slice(None),) * d + (slice(start, start + length),)
    return input[index]


@tensor_method("select")
def select(input, dim: int, index: int):
    """The slice at ``index`` along ``dim``, a view with that dimension removed."""
    n = input._data.ndim
    if n == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, n)
    size = input._data.shape[d]
    i = int(index)
    if not -size <= i < size:
        raise IndexError(f"select(): index {i} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {d}")
    return input[(slice(None),) * d + (i,)]


@tensor_method("narrow_copy")
def narrow_copy(input, dim: int, start: int, length: int):
    return clone(narrow(input, dim, start, length))


class AsStrided(Function):
    """A view with given sizes and strides (in elements) over the input's storage.

    ``pos`` maps each element of the view to the input element at that storage
    position (-1 where the storage holds no element of the input)."""

    @staticmethod
    def forward(ctx, x, view, pos):
        ctx.args = (x._data.shape, pos)
        return view

    @staticmethod
    def backward(ctx, g):
        shape, pos = ctx.args
        return AsStridedBackward.apply(g, shape, pos), None, None


class AsStridedBackward(Function):
    """``g`` added into the input elements that the strided view read."""

    @staticmethod
    def forward(ctx, g, shape, pos):
        ctx.args = pos
        flat = np.zeros(int(np.prod(shape)), dtype=g._data.dtype)
        ok = pos >= 0
        np.add.at(flat, pos[ok], g._data[ok])
        return flat.reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        pos = ctx.args
        padded = cat([gg.reshape(-1), _make(np.zeros(1, dtype=gg._data.dtype))])  # -1 reads the 0 pad
        return padded[_make(pos)], None, None


def _storage(a: np.ndarray):
    """(flat storage, element offset of ``a`` in it) when ``a`` views a C-contiguous owner."""
    owner = a
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if not owner.flags.c_contiguous:
        return None, 0
    start = a.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    return owner.reshape(-1), start // a.itemsize


@tensor_method("as_strided")
def as_strided(input, size, stride, storage_offset=None):
    """A view with the given sizes and strides (in elements) over the input's storage."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape")
    a = input._data
    storage, own_offset = _storage(a)
    if storage is None:
        raise RuntimeError("as_strided: the input's memory is not a plain array; call .contiguous() first")
    offset = own_offset if storage_offset is None else int(storage_offset)
    if offset < 0 or any(st < 0 for st in stride):
        raise RuntimeError("as_strided: negative strides and offsets are not supported")
    if all(size):
        need = offset + sum((n - 1) * st for n, st in zip(size, stride)) + 1
        if need > storage.size:
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset} "
                               f"require {need} elements, but the storage has {storage.size}")
    item = a.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], size, tuple(st * item for st in stride),
                                           writeable=a.flags.writeable)
    # which input element sits at each storage position the view reads
    inv = np.full(storage.size, -1, dtype=np.int64)
    own = np.full(a.shape, own_offset, dtype=np.int64)
    for ax, (n, st) in enumerate(zip(a.shape, a.strides)):
        shp = [1] * a.ndim
        shp[ax] = n
        own = own + (np.arange(n) * (st // item)).reshape(shp)
    inv[own.ravel()] = np.arange(a.size)
    reads = np.full(size, offset, dtype=np.int64)
    for ax, (n, st) in enumerate(zip(size, stride)):
        shp = [1] * len(size)
        shp[ax] = n
        reads = reads + (np.arange(n) * st).reshape(shp)
    out = AsStrided.apply(input, view, inv[reads])
    return record_view(input, out, lambda t: t.as_strided(size, stride, offset))


class Unfold(Function):
    """Windows of ``size`` every ``step`` along ``dim``, as a new last dim: a strided view."""

    @staticmethod
    def forward(ctx, x, d, size, step):
        a = x._data
        ctx.args = (a.shape, d, size, step)
        count = (a.shape[d] - size) // step + 1
        shape = a.shape[:d] + (count,) + a.shape[d + 1:] + (size,)
        strides = a.strides[:d] + (a.strides[d] * step,) + a.strides[d + 1:] + (a.strides[d],)
        return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=a.flags.writeable)

    @staticmethod
    def backward(ctx, g):
        return UnfoldBackward.apply(g, *ctx.args), None, None, None


class UnfoldBackward(Function):
    @staticmethod
    def forward(ctx, g, shape, d, size, step):
        ctx.args = (d, size, step)
        out = np.zeros(shape, dtype=g._data.dtype)
        gd = np.moveaxis(g._data, d, -2)  # (..., count, size)
        od = np.moveaxis(out, d, -1)  # (..., n), a view of out
        count = gd.shape[-2]
        for j in range(size):
            od[..., j:j + (count - 1) * step + 1:step] += gd[..., j]
        return out

    @staticmethod
    def backward(ctx, gg):
        d, size, step = ctx.args
        return Unfold.apply(gg, d, size, step), None, None, None, None


@tensor_method("unfold", function=False)
def unfold(input, dimension: int, size: int, step: int):
    """All slices of length ``size`` along ``dimension``, ``step`` apart, as a new last dim (a view)."""
    if input._data.ndim == 0:
        if size > 1:
            raise RuntimeError(f"maximum size for tensor at dimension 0 is 1 but size is {size}")
        return unsqueeze(input, 0)
    d = _wrap_dim(dimension, input._data.ndim)
    length = input._data.shape[d]
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return record_view(input, Unfold.apply(input, d, int(size), int(step)), lambda t: t.unfold(d, size, step))


@tensor_method("rot90")
def rot90(input, k: int = 1, dims=(0, 1)):
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    n = input._data.ndim
    if n < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {n}")
    d0, d1 = _wrap_dim(dims[0], n), _wrap_dim(dims[1], n)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, d0, d1)
    if k == 3:
        return flip(transpose(input, d0, d1), d1)
    return clone(input)


class Flip(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x._data, dims).copy()  # torch's flip copies; it is not a view

    @staticmethod
    def backward(ctx, g):
        return g.flip(ctx.dims), None


@tensor_method("flip")
def flip(input, *dims):
    return Flip.apply(input, wrap_dims(_sizes(dims), input._data.ndim))


@tensor_method("fliplr")
def fliplr(input):
    return flip(input, 1)


@tensor_method("flipud")
def flipud(input):
    return flip(input, 0)


class Roll(Function):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.args = (shifts, dims)
        return np.roll(x._data, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        shifts, dims = ctx.args
        neg = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
        return g.roll(neg, dims), None, None


@tensor_method("roll")
def roll(input, shifts, dims=None):
    if isinstance(shifts, list):
        shifts = tuple(shifts)
    if isinstance(dims, list):
        dims = tuple(dims)
    if isinstance(shifts, Tensor):
        shifts = int(shifts)
    n_shifts = len(shifts) if isinstance(shifts, tuple) else 1
    n_dims = 0 if dims is None else len(dims) if isinstance(dims, tuple) else 1
    if dims is None and n_shifts != 1 or dims is not None and n_shifts != n_dims:
        raise RuntimeError(f"shifts and dimensions must align. shifts: {n_shifts}, dims:{n_dims}")
    if dims is not None:
        nd = input._data.ndim
        dims = tuple(_wrap_dim(d, nd) for d in dims) if isinstance(dims, tuple) else _wrap_dim(dims, nd)
    if dims is None:
        flat = reshape(input, (-1,))
        return reshape(Roll.apply(flat, shifts, 0), input._data.shape)
    return Roll.apply(input, shifts, dims)


class Tri(Function):
    @staticmethod
    def forward(ctx, x, k, upper):
        ctx.args = (k, upper)
        return np.triu(x._data, k) if upper else np.tril(x._data, k)

    @staticmethod
    def backward(ctx, g):
        k, upper = ctx.args
        return (g.triu(k) if upper else g.tril(k)), None, None


@tensor_method("tril")
def tril(input, diagonal: int = 0):
    if input._data.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return Tri.apply(input, diagonal, False)


@tensor_method("triu")
def triu(input, diagonal: int = 0):
    if input._data.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Tri.apply(input, diagonal, True)


class Contiguous(Function):
    @staticmethod
    def forward(ctx, x):
        return np.ascontiguousarray(x._data)

    @staticmethod
    def backward(ctx, g):
        return g


@tensor_method("contiguous", function=False)
def contiguous(input, memory_format=None):
    return input if input._data.flags.c_contiguous else Contiguous.apply(input)


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return np.array(x._data, copy=True, order="C")

    @staticmethod
    def backward(ctx, g):
        return g


@tensor_method("clone")
def clone(input, *, memory_format=None):
    """A copy that stays in the graph."""
    return Clone.apply(input)


def _diagonal_view(a: np.ndarray, offset: int, d1: int, d2: int) -> np.ndarray:
    """A writable view of a diagonal (``np.diagonal`` returns a read-only one)."""
    y = np.moveaxis(a, (d1, d2), (-2, -1))
    y = y[..., :, offset:] if offset >= 0 else y[..., -offset:, :]
    n = max(min(y.shape[-2], y.shape[-1]), 0)
    return np.lib.stride_tricks.as_strided(y, y.shape[:-2] + (n,), y.strides[:-2] + (y.strides[-2] + y.strides[-1],),
                                           writeable=a.flags.writeable)


class Diagonal(Function):
    @staticmethod
    def forward(ctx, x, offset, d1, d2):
        ctx.args = (x._data.shape, offset, d1, d2)
        return _diagonal_view(x._data, offset, d1, d2)

    @staticmethod
    def backward(ctx, g):
        return DiagonalBackward.apply(g, *ctx.args), None, None, None


class DiagonalBackward(Function):
    """zeros(shape) with ``g`` on the diagonal: the adjoint of ``Diagonal``."""

    @staticmethod
    def forward(ctx, g, shape, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        out = np.zeros(shape, dtype=g._data.dtype)
        _diagonal_view(out, offset, d1, d2)[...] = g._data
        return out

    @staticmethod
    def backward(ctx, gg):
        return Diagonal.apply(gg, *ctx.args), None, None, None, None


@tensor_method("diagonal")
def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal as a view (writes go through to ``input``, as in torch)."""
    n = input._data.ndim
    d1, d2 = _wrap_dim(dim1, n), _wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = int(offset)
    return record_view(input, Diagonal.apply(input, offset, d1, d2), lambda t: t.diagonal(offset, d1, d2))


@tensor_method("diag_embed")
def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """A tensor whose diagonals (``offset``, between dims ``dim1`` and ``dim2`` of the result) are the
    last dim of ``input``; zeros elsewhere. The adjoint of ``diagonal``."""
    n = input._data.ndim + 1
    d1, d2 = _wrap_dim(dim1, n), _wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = int(offset)
    size = input._data.shape[-1] + abs(offset)
    rest = iter(input._data.shape[:-1])
    shape = tuple(size if i in (d1, d2) else next(rest) for i in range(n))
    return DiagonalBackward.apply(input, shape, offset, d1, d2)


@tensor_method("diag")
def diag(input, diagonal: int = 0):
    """A 1-D input becomes a square matrix with it on the ``diagonal``-th diagonal; a 2-D input gives
    that diagonal (a copy, not a view, as torch)."""
    if input._data.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input._data.ndim == 2:
        return globals()["diagonal"](input, diagonal).clone()
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " f"{input._data.ndim}D")


def meshgrid(*tensors, indexing: str = "ij"):
    """Coordinate grids from 1-D tensors (expanded views); ``indexing="xy"`` swaps the first two axes."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
    if len({t._data.dtype for t in tensors}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    ts = [t.reshape(-1) for t in tensors]
    shape = [t._data.shape[0] for t in ts]
    n = len(ts)
    grids = [t.reshape([-1 if j == i else 1 for j in range(n)]).expand(shape) for i, t in enumerate(ts)]
    if indexing == "xy" and n >= 2:
        grids = [g.transpose(0, 1) for g in grids]
    return tuple(grids)


_EXPORTS["meshgrid"] = meshgrid


@tensor_method("trace")
def trace(input):
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    return diagonal(input).sum()


@tensor_method("diff")
def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):
    """n-th forward difference along ``dim``, after joining ``prepend`` and ``append``
    (bool inputs: xor, as torch).

    Example::

        >>> tinygrad_cn.tensor([1., 4., 9.]).diff()
        tensor([3., 5.])
    """
    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = _wrap_dim(dim, input._data.ndim)
    parts = []
    for extra in (prepend, append):
        if extra is not None and extra._data.ndim == 0:  # a scalar tensor becomes one slice along dim
            shape = list(input._data.shape)
            shape[d] = 1
            extra = extra.expand(shape)
        parts.append(extra)
    x = cat([t for t in (parts[0], input, parts[1]) if t is not None], d) if prepend is not None or \
        append is not None else input
    for _ in range(n):
        m = x._data.shape[d]
        if m == 0:
            break
        hi, lo = x.narrow(d, 1, m - 1), x.narrow(d, 0, m - 1)
        x = (hi != lo) if x._data.dtype == np.bool_ else hi - lo
    return x


def block_diag(*tensors):
    """A block-diagonal matrix of the given 0-, 1- or 2-D tensors (1-D ones are rows).

    Example::

        >>> tinygrad_cn.block_diag(tinygrad_cn.tensor([[1., 2.]]), tinygrad_cn.tensor(3.))
        tensor([[1., 2., 0.],
                [0., 0., 3.]])
    """
    from .. import _dtype
    mats = []
    for i, t in enumerate(tensors):
        nd = t._data.ndim
        if nd > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{nd} dimensions")
        mats.append(t.reshape(1, 1) if nd == 0 else t.reshape(1, -1) if nd == 1 else t)
    if not mats:
        return Tensor._make(np.zeros((1, 0), dtype=_dtype.get_default_dtype().np))
    dt = mats[0].dtype
    for m in mats[1:]:
        dt = _dtype.promote_types(dt, m.dtype)
    mats = [m if m.dtype == dt else m.to(dt) for m in mats]
    total = sum(m._data.shape[1] for m in mats)
    rows, col = [], 0
    for m in mats:
        r, c = m._data.shape
        rows.append(cat([m.new_zeros((r, col)), m, m.new_zeros((r, total - col - c))], 1))
        col += c
    return cat(rows, 0)


def cartesian_prod(*tensors):
    """All tuples of one element from each 1-D tensor, as rows (meshgrid 'ij' order).

    Example::

        >>> tinygrad_cn.cartesian_prod(tinygrad_cn.tensor([1, 2]), tinygrad_cn.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    for t in tensors:
        if t._data.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


_EXPORTS["block_diag"] = block_diag
_EXPORTS["cartesian_prod"] = cartesian_prod
