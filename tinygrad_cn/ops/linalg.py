"""Matrix products with torch.matmul's semantics, and einsum.

``MatMul`` works on operands of two or more dims with broadcast batch dims;
1-D operands are lifted to matrices around it, exactly as torch.matmul
describes, so a single backward rule serves every form.
"""
from __future__ import annotations

import math
import string

import numpy as np

from .._C import KERNEL_DTYPES, kernels
from ..autograd.engine import DeferredGrad
from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..tensor import Tensor, tensor_method, _EXPORTS

_make = Tensor._make


def _as_batch(x: np.ndarray, batch: tuple) -> np.ndarray:
    """x (..., r, c) as a 3-D stack for gemm_batched: its own batch folded
    (a view when the strides allow), one matrix when it has no batch to
    broadcast, else broadcast to ``batch`` (a copy)."""
    r, c = x.shape[-2:]
    if x.shape[:-2] == batch:
        return x.reshape(math.prod(batch), r, c)
    if math.prod(x.shape[:-2]) == 1:
        return x.reshape(1, r, c)
    return np.broadcast_to(x, batch + (r, c)).reshape(math.prod(batch), r, c)


def _rows_shape(shape: tuple) -> tuple:
    return (math.prod(shape[:-1]), shape[-1])


def _rows(x: np.ndarray) -> np.ndarray:
    """x (..., k) as a 2-D array of rows (a view when the strides allow)."""
    return x.reshape(_rows_shape(x.shape))


def mm_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.matmul(a, b) for arrays of two or more dims (shapes already
    checked); float32 and float64 run on our GEMM, other dtypes on NumPy."""
    if a.dtype not in KERNEL_DTYPES or b.dtype != a.dtype:
        return np.matmul(a, b)
    if b.ndim == 2:
        if a.ndim == 2:
            return kernels.gemm(a, b)
        # (..., m, k) @ (k, n) is one (prod(...) * m) x k product
        return kernels.gemm(_rows(a), b).reshape(a.shape[:-1] + b.shape[1:])
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    r = kernels.gemm_batched(_as_batch(a, batch), _as_batch(b, batch))
    return r.reshape(batch + r.shape[-2:])


def _weight_grad(x: Tensor, g: Tensor, transpose: bool):
    """x^T @ g summed over x's leading dims (the gradient of a 2-D weight
    W in ``x @ W``, or of W^T in ``x @ W.T`` when ``transpose``), folded to
    one GEMM. Outside create_graph it is a DeferredGrad, which the engine
    adds into an existing ``.grad`` in the GEMM itself (beta=1)."""
    if STATE.enabled or x._data.dtype not in KERNEL_DTYPES:
        x2, g2 = x.reshape(_rows_shape(x.shape)), g.reshape(_rows_shape(g.shape))
        return g2.mT @ x2 if transpose else x2.mT @ g2
    x2, g2 = _rows(x._data), _rows(g._data)
    a, b = (g2.T, x2) if transpose else (x2.T, g2)

    def compute(out):
        return kernels.gemm(a, b) if out is None else kernels.gemm(a, b, out=out, beta=1.0)

    return DeferredGrad(compute, (a.shape[0], b.shape[1]), a.dtype)


def _dtype_word(x):
    return {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int"}.get(x.dtype.name, x.dtype.name)


def _check_same_dtype(a: Tensor, b: Tensor, names=("m1", "m2")):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected {names[0]} and {names[1]} to have the same dtype, but got: "
                           f"{_dtype_word(a)} != {_dtype_word(b)}")


def _as_tensor(x):
    if isinstance(x, np.ndarray):  # torch accepts `tensor @ ndarray`
        return _make(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(x).__name__}")
    return x


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return mm_arrays(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        # The engine sums these over broadcast batch dims; a 2-D b takes
        # the sum over a's batch inside one GEMM.
        grad_a = g @ b.mT if need_a else None
        if not need_b:
            return grad_a, None
        return grad_a, (_weight_grad(a, g, False) if b.ndim == 2 else a.mT @ g)


class Mm(MatMul):
    """A product of two matrices: torch calls this node MmBackward0."""


class Linear(Function):
    """``x @ W^T + b`` in one GEMM call: the bias is added to each tile of
    the output as the GEMM writes it, and the weight gradient goes straight
    into ``W.grad`` (see _weight_grad)."""

    node_name = "AddmmBackward0"  # what torch's F.linear shows for a 2-D input with bias

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return _linear_forward(x, weight, bias, None)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        return _linear_backward(ctx.needs_input_grad, x, weight, g)


class LinearNoBias(Linear):
    node_name = "MmBackward0"


class LinearRelu(Function):
    """``relu(x @ W^T + b)`` in one GEMM call (relu applied as the output is
    written); the node torch shows for ``F.relu(F.linear(...))``."""

    node_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias):
        y = _make(_linear_forward(x, weight, bias, "relu"))
        ctx.save_for_backward(x, weight, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, y = ctx.saved_tensors
        if STATE.enabled:
            from .pointwise import ReluGrad
            g = ReluGrad.apply(y, g)
        else:
            g = _make(kernels.relu_backward(y._data, g._data))
        return _linear_backward(ctx.needs_input_grad, x, weight, g)


def _linear_forward(x, weight, bias, activation):
    xd = x._data
    y = kernels.gemm(_rows(xd), weight._data.T, bias=None if bias is None else bias._data, activation=activation)
    return y.reshape(xd.shape[:-1] + weight._data.shape[:1])


def _linear_backward(needs, x, weight, g):
    """Gradients of x @ W^T + b given g = dL/d(x @ W^T + b)."""
    need_x, need_w, need_b = needs
    gd = g._data
    if not STATE.enabled and gd.ndim >= 2 and gd.dtype == weight._data.dtype:
        # no graph to record: straight on the arrays (one GEMM, one reduction)
        grad_x = _make(mm_arrays(gd, weight._data)) if need_x else None
        grad_w = _weight_grad(x, g, True) if need_w else None
        grad_b = _make(gd.reshape(_rows_shape(gd.shape)).sum(0)) if need_b else None
        return grad_x, grad_w, grad_b
    grad_x = g @ weight if need_x else None
    grad_w = _weight_grad(x, g, True) if need_w else None
    grad_b = (g.sum(tuple(range(g.ndim - 1))) if g.ndim > 1 else g) if need_b else None
    return grad_x, grad_w, grad_b


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``, as ``torch.nn.functional.linear``: input
    (*, in_features), weight (out_features, in_features), bias
    (out_features) or None. One GEMM call with the bias fused in.

    Example::

        >>> x, w, b = tinygrad_cn.ones(2, 3), tinygrad_cn.ones(4, 3), tinygrad_cn.zeros(4)
        >>> tinygrad_cn.nn.functional.linear(x, w, b).shape
        tinygrad_cn.Size([2, 4])
    """
    return _linear(input, weight, bias, False)


def linear_relu(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``relu(linear(input, weight, bias))`` in one GEMM pass, the relu
    applied while the output is written (torch's fused ``LinearReLU``).

    Example::

        >>> x, w = tinygrad_cn.ones(2, 3), -tinygrad_cn.ones(4, 3)
        >>> tinygrad_cn.nn.functional.linear_relu(x, w).sum().item()
        0.0
    """
    return _linear(input, weight, bias, True)


def _linear(x, weight, bias, relu):
    x, weight = _as_tensor(x), _as_tensor(weight)
    if x._data.ndim == 0 or weight._data.ndim != 2 or (bias is not None and bias._data.ndim != 1):
        # the rare forms (1-D weight, a broadcast bias): as torch composes them
        y = matmul(x, weight.mT if weight._data.ndim == 2 else weight)
        y = y if bias is None else y + bias
        return y.relu() if relu else y
    _check_matmul(x._data, weight._data.T)
    if bias is not None:
        _check_bias(bias._data, weight._data, x._data.shape[:-1])
    return (LinearRelu if relu else Linear if bias is not None else LinearNoBias).apply(x, weight, bias)


def _check_bias(b: np.ndarray, w: np.ndarray, batch: tuple) -> None:
    if b.dtype != w.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_type_word(b)} and {_type_word(w)}")
    if b.shape[0] != w.shape[0]:
        # torch folds the input to 2-D (addmm) before checking the bias
        target = [math.prod(batch), w.shape[0]]
        raise RuntimeError(f"The expanded size of the tensor ({w.shape[0]}) must match the existing size "
                           f"({b.shape[0]}) at non-singleton dimension 1.  Target sizes: "
                           f"{target}.  Tensor sizes: [{b.shape[0]}]")


def _shape_str(s):
    return "x".join(str(d) for d in s)


@tensor_method("matmul", "__matmul__")
def matmul(input, other, *, out=None):
    """Matrix product with broadcasting, as ``torch.matmul``.

    Example::

        >>> a, b = tinygrad_cn.ones(5, 2, 3), tinygrad_cn.ones(3, 4)
        >>> (a @ b).shape
        tinygrad_cn.Size([5, 2, 4])
    """
    a, b = _as_tensor(input), _as_tensor(other)
    da, db = a._data.ndim, b._data.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    if da == 1 and db == 1:
        r = dot(a, b)
    else:
        _check_matmul(a._data, b._data)
        if da == 1:
            r = MatMul.apply(a.unsqueeze(0), b).squeeze(-2)
        elif db == 1:
            r = MatMul.apply(a, b.unsqueeze(-1)).squeeze(-1)
        else:
            r = (Mm if da == db == 2 else MatMul).apply(a, b)
    from .pointwise import _out
    return _out(r, out)


_TYPE_WORDS = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
               "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _check_matmul(a: np.ndarray, b: np.ndarray) -> None:
    """Raise torch.matmul's errors, in torch's order (shapes, then dtypes), for
    every form but 1-D @ 1-D. torch folds an N-D @ 1-D/2-D product into mv/mm
    and runs the rest as bmm, and its messages name the folded shapes. The
    messages are built only when raising: this runs on every matmul."""
    sa, sb, da, db = a.shape, b.shape, a.ndim, b.ndim
    same_dtype = a.dtype == b.dtype
    if db == 1:  # mv on (prod(batch) x k) @ (k)
        if sa[-1] != sb[0]:
            m = math.prod(sa[:-1])
            raise RuntimeError(f"size mismatch, got input ({m}), mat ({m}x{sa[-1]}), vec ({sb[0]})")
        if not same_dtype:
            wa, wb = _type_word(a), _type_word(b)
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got {wb}, {wa}, and {wb}")
        return
    if db == 2:  # mm on (prod(batch) x k) @ (k x n); a 1-D left operand is (1 x k)
        if sa[-1] != sb[0]:
            m = math.prod(sa[:-1]) if da > 1 else 1
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{sa[-1]} and {sb[0]}x{sb[1]})")
        if not same_dtype:
            _check_same_dtype(_make(a), _make(b))
        return
    batch_a = sa[:-2] if da > 2 else ()
    try:
        batch = np.broadcast_shapes(batch_a, sb[:-2])
    except ValueError:
        from .pointwise import broadcast_error
        raise broadcast_error(batch_a, sb[:-2]) from None
    k = sa[-1]
    if k != sb[-2]:
        n = math.prod(batch)
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {k}] but got: "
                           f"[{n}, {sb[-2]}].")
    if not same_dtype:
        raise RuntimeError(f"expected scalar type {_type_word(a)} but found {_type_word(b)}")


def _type_word(a: np.ndarray) -> str:
    return _TYPE_WORDS.get(a.dtype.name, a.dtype.name)


@tensor_method("__rmatmul__", function=False)
def _rmatmul(self, other):
    # torch: `2 @ t`, `[[1.]] @ t` and `ndarray @ t` are TypeErrors (unsupported operand types)
    return matmul(other, self) if isinstance(other, Tensor) else NotImplemented


@tensor_method("mm")
def mm(input, mat2, *, out=None):
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return matmul(input, mat2, out=out)


@tensor_method("bmm")
def bmm(input, mat2, *, out=None):
    if input._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if input._data.shape[0] != mat2._data.shape[0] or input._data.shape[2] != mat2._data.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input._data.shape[0]}, {input._data.shape[2]}] but got: "
                           f"[{mat2._data.shape[0]}, {mat2._data.shape[1]}].")
    return matmul(input, mat2, out=out)


@tensor_method("mv")
def mv(input, vec):
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError("vector + matrix @ vector expected, got " f"{input._data.ndim}, {vec._data.ndim}")
    return matmul(input, vec)


class Dot(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = a._data, b._data
        return mm_arrays(x[None, :], y[:, None]).reshape(()) if x.size else np.asarray(np.dot(x, y))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


@tensor_method("dot")
def dot(input, other):
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors")
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_TYPE_WORDS.get(input.dtype.name)} and {_TYPE_WORDS.get(other.dtype.name)}")
    if input._data.shape[0] != other._data.shape[0]:
        n, m = input._data.shape[0], other._data.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same number "
                           f"of elements, but got {n} and {m} elements respectively")
    return Dot.apply(input, other)


@tensor_method("outer", "ger")
def outer(input, vec2):
    for name, v in (("self", input), ("vec2", vec2)):
        if v._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v._data.ndim}-D")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


@tensor_method("inner")
def inner(input, other):
    """Sum over the last dims of both: dot for vectors, a product with a scalar."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    if input._data.ndim == 1 and other._data.ndim == 1:
        return dot(input, other)
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input._data.shape)} and {list(other._data.shape)}")
    return tensordot(input, other, dims=([input._data.ndim - 1], [other._data.ndim - 1]))


tensor_method("ger")(outer)


@tensor_method("addmm")
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)``; with beta = 0 input is ignored (its nan and inf too), as torch."""
    prod = mm(mat1, mat2)
    prod = prod * alpha if alpha != 1 else prod
    if beta == 0:
        try:
            out_shape = np.broadcast_shapes(input._data.shape, prod._data.shape)
        except ValueError:
            out_shape = None
        if out_shape != prod._data.shape:
            raise RuntimeError(f"The expanded size of the tensor ({prod._data.shape[-1]}) must match the existing size "
                               f"({input._data.shape[-1]}) at non-singleton dimension 1.  Target sizes: "
                               f"{list(prod._data.shape)}.  Tensor sizes: {list(input._data.shape)}")
        return _ignoring(input, prod)
    return (input * beta if beta != 1 else input) + prod


def _ignoring(input, prod):
    """``prod``, still connected to ``input`` with a zero gradient (torch gives input.grad = zeros when beta
    = 0). masked_fill, not ``input * 0``, so that nan or inf in input does not leak."""
    if not input.requires_grad:
        return prod
    return prod + input.masked_fill(Tensor._make(np.ones((), dtype=bool)), 0)


def _scaled_sum(input, prod, beta, alpha):
    """``beta * input + alpha * prod``; beta = 0 ignores input's values (nan and inf too), as torch."""
    prod = prod * alpha if alpha != 1 else prod
    if beta == 0:
        shape = np.broadcast_shapes(input._data.shape, prod._data.shape)
        if shape != prod._data.shape:
            raise RuntimeError(f"The expanded size of the tensor must match the existing size. Target sizes: "
                               f"{list(prod._data.shape)}.  Tensor sizes: {list(input._data.shape)}")
        return _ignoring(input, prod)
    return (input * beta if beta != 1 else input) + prod


@tensor_method("baddbmm")
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * (batch1 @ batch2)`` for batches of matrices."""
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


@tensor_method("addbmm")
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``."""
    return _scaled_sum(input, bmm(batch1, batch2).sum(0), beta, alpha)


@tensor_method("addmv")
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)``."""
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


@tensor_method("addr")
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    return _scaled_sum(input, outer(vec1, vec2), beta, alpha)


def cdist(x1, x2, p: float = 2.0, compute_mode=None):
    """p-norm distances between the rows of ``x1`` (..., P, M) and of ``x2`` (..., R, M): (..., P, R).
    Computed directly (never by the matmul expansion), so distances of 0 are exact."""
    if x1._data.ndim < 2 or x2._data.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1._data.ndim}D")
    if x1._data.shape[-1] != x2._data.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1._data.shape[-1]} "
                           f"X2: {x2._data.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values")
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, dim=-1)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """``x1 . x2 / (max(|x1|, eps) * max(|x2|, eps))`` along ``dim``. As in torch, the eps clamp does
    not change the gradient (it is applied to the norms without recording)."""
    x1, x2 = x1.broadcast_to(np.broadcast_shapes(x1._data.shape, x2._data.shape)), x2.broadcast_to(
        np.broadcast_shapes(x1._data.shape, x2._data.shape))

    def clamped_norm(x):
        n = x.norm(2, dim=dim, keepdim=True)
        return n + (n.clamp_min(eps) - n).detach()
    return ((x1 / clamped_norm(x1)) * (x2 / clamped_norm(x2))).sum(dim)


_EXPORTS["cdist"] = cdist
_EXPORTS["cosine_similarity"] = cosine_similarity


# -- einsum ------------------------------------------------------------------------
def _parse_einsum(equation: str, ndims):
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(ndims):
        raise RuntimeError(f"einsum(): more operands were provided than specified in the equation"
                           if len(ndims) > len(ins) else "einsum(): fewer operands were provided than specified "
                           "in the equation")
    used = set(c for c in eq if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    ell_n = 0
    for sub, nd in zip(ins, ndims):
        if "..." in sub:
            ell_n = max(ell_n, nd - (len(sub) - 3))
    ell = "".join(free[:ell_n])
    expanded = []
    for sub, nd in zip(ins, ndims):
        if "..." in sub:
            k = nd - (len(sub) - 3)
            sub = sub.replace("...", ell[ell_n - k:] if k else "")
        if len(sub) != nd:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(sub)}) does not match the "
                               f"number of dimensions ({nd}) for operand {len(expanded)}"
                               " and no ellipsis was given")
        expanded.append(sub)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for s in expanded:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return expanded, out


class Einsum(Function):
    @staticmethod
    def forward(ctx, ins, out, *operands):
        ctx.save_for_backward(*operands)
        ctx.subs = (ins, out)
        return np.asarray(np.einsum(",".join(ins) + "->" + out, *(o._data for o in operands), optimize=len(operands) > 2))

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        ins, out = ctx.subs
        grads = [None, None]
        for i, (sub, op) in enumerate(zip(ins, ops)):
            if not ctx.needs_input_grad[i + 2]:
                grads.append(None)
                continue
            others = [(s, o) for j, (s, o) in enumerate(zip(ins, ops)) if j != i]
            avail = set(out).union(*(set(s) for s, _ in others))
            target = "".join(c for c in sub if c in avail)
            part = Einsum.apply([out] + [s for s, _ in others], target, g, *(o for _, o in others))
            if target != sub:  # letters summed in this operand alone: broadcast back
                kept = [n if c in avail else 1 for n, c in zip(op._data.shape, sub)]
                part = part.reshape(kept).expand(op._data.shape)
            grads.append(part)
        return tuple(grads)


def einsum(equation: str, *operands):
    """Einstein summation, as ``torch.einsum``; gradients for every operand.

    Example::

        >>> tinygrad_cn.einsum("ij,jk->ik", a, b)   # same as a @ b
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ins, out = _parse_einsum(equation, [o._data.ndim for o in operands])
    for c in out:
        if out.count(c) > 1:
            raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
        if not any(c in sub for sub in ins):
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input operand")
    sizes = {}
    for i, (sub, o) in enumerate(zip(ins, operands)):
        for c, n in zip(sub, o._data.shape):
            seen = sizes.get(c, 1)
            if n != seen and n != 1 and seen != 1:
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {i} which does not broadcast "
                                   f"with previously seen size {seen}")
            sizes[c] = n if seen == 1 else seen
    dt = operands[0]._data.dtype
    for o in operands[1:]:
        if o._data.dtype != dt:
            raise RuntimeError(f"expected scalar type {_TYPE_WORDS.get(dt.name, dt.name)} but found "
                               f"{_TYPE_WORDS.get(o._data.dtype.name, o._data.dtype.name)}")
    operands = list(operands)
    for i, sub in enumerate(ins):
        # A letter repeated in one operand (trace, diagonal) takes the diagonal first,
        # with a differentiable op, so Einsum only ever sees distinct letters.
        while len(set(sub)) != len(sub):
            c = next(c for c in sub if sub.count(c) > 1)
            p = sub.index(c)
            q = sub.index(c, p + 1)
            operands[i] = operands[i].diagonal(0, p, q)
            sub = "".join(ch for k, ch in enumerate(sub) if k not in (p, q)) + c
        ins[i] = sub
    return Einsum.apply(ins, out, *operands)


def tensordot(a, b, dims=2):
    if isinstance(dims, int):
        ax_a, ax_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        ax_a, ax_b = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
        ax_a, ax_b = [d % a.ndim for d in ax_a], [d % b.ndim for d in ax_b]
    letters = iter(string.ascii_lowercase)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in ax_a] + [c for k, c in enumerate(sb) if k not in ax_b]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


@tensor_method("kron")
def kron(input, other):
    """Kronecker product: out[i*m + k] = input[i] * other[k] in every dim (the shorter
    shape padded with leading ones), as a broadcast product reshaped.

    Example::

        >>> tinygrad_cn.kron(tinygrad_cn.tensor([1., 2.]), tinygrad_cn.tensor([1., 10.]))
        tensor([ 1., 10.,  2., 20.])
    """
    n = max(input._data.ndim, other._data.ndim)
    sa = (1,) * (n - input._data.ndim) + input._data.shape
    sb = (1,) * (n - other._data.ndim) + other._data.shape
    a = input.reshape([s for d in sa for s in (d, 1)])  # (a0, 1, a1, 1, ...)
    b = other.reshape([s for d in sb for s in (1, d)])  # (1, b0, 1, b1, ...)
    return (a * b).reshape([x * y for x, y in zip(sa, sb)])
