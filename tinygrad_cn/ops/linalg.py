"""Matrix products with torch.matmul's semantics, and einsum.

``MatMul`` works on operands of two or more dims with broadcast batch dims;
1-D operands are lifted to matrices around it, exactly as torch.matmul
describes, so a single backward rule serves every form.
"""
from __future__ import annotations

import string

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor, tensor_method

_make = Tensor._make


def _dtype_word(x):
    return {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int"}.get(x.dtype.name, x.dtype.name)


def _check_same_dtype(a: Tensor, b: Tensor, names=("m1", "m2")):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected {names[0]} and {names[1]} to have the same dtype, but got: "
                           f"{_dtype_word(a)} != {_dtype_word(b)}")


def _as_tensor(x):
    if not isinstance(x, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(x).__name__}")
    return x


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        # The engine sums these over broadcast batch dims.
        return (g @ b.mT if need_a else None), (a.mT @ g if need_b else None)


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
    _check_same_dtype(a, b)
    da, db = a._data.ndim, b._data.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    if da == 1 and db == 1:
        r = dot(a, b)
    elif da == 1:
        _check_inner(a._data.shape[0], b._data.shape[-2], (1,) + a._data.shape, b._data.shape)
        r = MatMul.apply(a.unsqueeze(0), b).squeeze(-2)
    elif db == 1:
        _check_inner(a._data.shape[-1], b._data.shape[0], a._data.shape, b._data.shape + (1,))
        r = MatMul.apply(a, b.unsqueeze(-1)).squeeze(-1)
    else:
        _check_inner(a._data.shape[-1], b._data.shape[-2], a._data.shape, b._data.shape)
        try:
            np.broadcast_shapes(a._data.shape[:-2], b._data.shape[:-2])
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({a._data.shape[-3]}) must match the size of tensor b "
                               f"({b._data.shape[-3]}) at non-singleton dimension "
                               f"{max(da, db) - 3}") from None
        r = MatMul.apply(a, b)
    from .pointwise import _out
    return _out(r, out)


def _check_inner(k1, k2, sa, sb):
    if k1 != k2:
        a = (int(np.prod(sa[:-1])), sa[-1]) if len(sa) > 2 else sa
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape_str(a)} and {_shape_str(sb[-2:])})")


@tensor_method("__rmatmul__", function=False)
def _rmatmul(self, other):
    return matmul(_make(np.asarray(other)), self)


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
        return np.asarray(np.dot(a._data, b._data))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


@tensor_method("dot", "inner")
def dot(input, other):
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors")
    _check_same_dtype(input, other, ("self", "other"))
    if input._data.shape[0] != other._data.shape[0]:
        n, m = input._data.shape[0], other._data.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same number "
                           f"of elements, but got {n} and {m} elements respectively")
    return Dot.apply(input, other)


@tensor_method("outer", "ger")
def outer(input, vec2):
    if input._data.ndim != 1 or vec2._data.ndim != 1:
        raise RuntimeError("outer: expected 1D tensors")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


@tensor_method("addmm")
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    prod = mm(mat1, mat2)
    return (input * beta if beta != 1 else input) + (prod * alpha if alpha != 1 else prod)


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
    for sub in ins:
        if len(set(sub)) != len(sub):
            raise NotImplementedError("einsum with a repeated index in one operand (a diagonal) is not supported")
    dt = operands[0]._data.dtype
    for o in operands[1:]:
        if o._data.dtype != dt:
            raise RuntimeError(f"expected scalar type {operands[0].dtype} but found {o.dtype}")
    return Einsum.apply(ins, out, *operands)


def tensordot(a, b, dims=2):
    if isinstance(dims, int):
        ax_a, ax_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        ax_a, ax_b = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    letters = iter(string.ascii_lowercase)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in ax_a] + [c for k, c in enumerate(sb) if k not in ax_b]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)
