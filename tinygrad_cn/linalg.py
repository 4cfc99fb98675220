"""The ``torch.linalg`` namespace: norms, inverses, solves and decompositions.

Forward passes call ``numpy.linalg`` (batched over leading dims, as torch);
each backward is written with differentiable tensor ops, mostly calls back
into this module, so the gradients can themselves be differentiated.

Example::

    >>> import tinygrad_cn as torch
    >>> A = torch.tensor([[2., 0.], [0., 4.]], requires_grad=True)
    >>> torch.linalg.det(A).backward()
    >>> A.grad
    tensor([[4., 0.],
            [0., 2.]])
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .autograd.function import Function
from .tensor import Tensor, tensor_method, _wrap_dim
from .ops import reduce as _reduce
from .ops.pointwise import where

_make = Tensor._make

slogdet_result = namedtuple("slogdet", ["sign", "logabsdet"])
qr_result = namedtuple("qr", ["Q", "R"])
eigh_result = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
svd_result = namedtuple("svd", ["U", "S", "Vh"])
_TYPE_WORDS = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
               "float16": "Half"}


class LinAlgError(RuntimeError):
    """Raised for singular or non-positive-definite input, as ``torch.linalg.LinAlgError``."""


# -- argument checks --------------------------------------------------------------
def _check_float(A: Tensor, name: str) -> None:
    if A._data.dtype.kind != "f" or A._data.dtype == np.float16:
        raise RuntimeError(f"linalg.{name}: Expected a floating point or complex tensor as input. "
                           f"Got {_TYPE_WORDS.get(A._data.dtype.name, A._data.dtype.name)}")


def _check_square(A: Tensor, name: str, arg: str = "A") -> None:
    _check_float(A, name)
    s = A._data.shape
    if len(s) < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor {arg} must have at least 2 dimensions.")
    if s[-1] != s[-2]:
        raise RuntimeError(f"linalg.{name}: {arg} must be batches of square matrices, but they are "
                           f"{s[-2]} by {s[-1]} matrices")


def _first_zero_pivot(a: np.ndarray) -> int:
    """1-based index of LU's first zero pivot (LAPACK getrf's info), 0 if none."""
    u = a.astype(np.float64, copy=True)
    n = u.shape[0]
    first = 0
    for k in range(n):
        p = k + int(np.argmax(np.abs(u[k:, k])))
        if u[p, k] == 0:
            first = first or k + 1
            continue  # getrf carries on past a zero pivot
        u[[k, p]] = u[[p, k]]
        u[k + 1:, k:] -= np.outer(u[k + 1:, k] / u[k, k], u[k, k:])
    return first


def _singular_error(a: np.ndarray, name: str, what: str) -> LinAlgError:
    """torch's error for the first singular matrix of a batch."""
    flat = a.reshape(-1, *a.shape[-2:])
    for b, m in enumerate(flat):
        k = _first_zero_pivot(m)
        if k:
            where_ = f"(Batch element {b}): " if a.ndim > 2 else ""
            if what == "inv":
                return LinAlgError(f"linalg.{name}: {where_}The diagonal element {k} is zero, the inversion could "
                                   "not be completed because the input matrix is singular.")
            return LinAlgError(f"torch.linalg.{name}: {where_}The solver failed because the input matrix is singular.")
    return LinAlgError(f"linalg.{name}: The input matrix is singular.")


def _batched_call(fn, a: np.ndarray, name: str, what: str = "inv"):
    try:
        with np.errstate(all="ignore"):
            return fn()
    except np.linalg.LinAlgError:
        raise _singular_error(a, name, what) from None


# -- inverse, determinant, solve --------------------------------------------------
class Inv(Function):
    """Y = A^-1; gA = -Y^T g Y^T."""

    @staticmethod
    def forward(ctx, A):
        a = A._data
        y = _make(_batched_call(lambda: np.linalg.inv(a), a, "inv") if a.size else a.copy())
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        yt = y.mT
        return -(yt @ g @ yt)


def inv(A: Tensor, *, out=None) -> Tensor:
    """The inverse of each square matrix in ``A``; LinAlgError when one is singular.

    Example::

        >>> tinygrad_cn.linalg.inv(tinygrad_cn.tensor([[2., 0.], [0., 4.]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    _check_square(A, "inv")
    return Inv.apply(A)


class Det(Function):
    """d = det(A); gA = g d A^-T (Jacobi's formula)."""

    @staticmethod
    def forward(ctx, A):
        d = _make(np.asarray(np.linalg.det(A._data), dtype=A._data.dtype))
        ctx.save_for_backward(A, d)
        return d

    @staticmethod
    def backward(ctx, g):
        A, d = ctx.saved_tensors
        return (g * d)[..., None, None] * inv(A).mT


def det(A: Tensor, *, out=None) -> Tensor:
    """Determinant of each square matrix in ``A``.

    Example::

        >>> tinygrad_cn.linalg.det(tinygrad_cn.tensor([[1., 2.], [3., 4.]]))
        tensor(-2.0000)
    """
    _check_square(A, "det")
    return Det.apply(A)


class Slogdet(Function):
    """(sign, log|det A|); the gradient of log|det A| is A^-T, sign has none."""

    @staticmethod
    def forward(ctx, A):
        s, l = np.linalg.slogdet(A._data)
        sign, logabs = _make(np.asarray(s, A._data.dtype)), _make(np.asarray(l, A._data.dtype))
        ctx.mark_non_differentiable(sign)
        ctx.save_for_backward(A)
        return sign, logabs

    @staticmethod
    def backward(ctx, g_sign, g):
        (A,) = ctx.saved_tensors
        return g[..., None, None] * inv(A).mT


def slogdet(A: Tensor) -> tuple:
    """Sign and log of the absolute determinant (a named tuple ``(sign, logabsdet)``)."""
    _check_square(A, "slogdet")
    return slogdet_result(*Slogdet.apply(A))


class Solve(Function):
    """X = A^-1 B (B a batch of matrices); gB = A^-T g, gA = -gB X^T."""

    @staticmethod
    def forward(ctx, A, B):
        a, b = A._data, B._data
        x = _make(_batched_call(lambda: np.linalg.solve(a, b), a, "solve", "solve"))
        ctx.save_for_backward(A, x)
        return x

    @staticmethod
    def backward(ctx, g):
        A, x = ctx.saved_tensors
        gb = solve(A.mT, g)
        return (-(gb @ x.mT) if ctx.needs_input_grad[0] else None), gb


def solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    """Solve ``A X = B`` (``X A = B`` when ``left=False``); B may be a batch of
    vectors (shape ``A.shape[:-1]``, or 1-D).

    Example::

        >>> A = tinygrad_cn.tensor([[2., 0.], [0., 4.]])
        >>> tinygrad_cn.linalg.solve(A, tinygrad_cn.tensor([2., 2.]))
        tensor([1.0000, 0.5000])
    """
    _check_square(A, "solve")
    _check_float(B, "solve")
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{A.dtype} and B of type {B.dtype} instead")
    # torch: B is a (batch of) vector(s) when 1-D or when its shape is A's without the last dim
    vector = B._data.ndim == 1 or (B._data.ndim == A._data.ndim - 1 and B._data.shape == A._data.shape[:-1])
    if not left:
        if vector:
            return Solve.apply(A.mT, B.unsqueeze(-1)).squeeze(-1)
        return Solve.apply(A.mT, B.mT).mT
    n = A._data.shape[-1]
    rows = B._data.shape[-1] if vector else B._data.shape[-2] if B._data.ndim >= 2 else None
    if rows != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({A._data.shape[-2]}x{n} and {'x'.join(map(str, B._data.shape[-2:]))})")
    if vector:
        return Solve.apply(A, B.unsqueeze(-1)).squeeze(-1)
    return Solve.apply(A, B)


# -- factorizations -----------------------------------------------------------------
def _phi(X: Tensor) -> Tensor:
    """Lower triangle with the diagonal halved (the Cholesky adjoint's projection)."""
    return X.tril() - 0.5 * X.diagonal(0, -2, -1).diag_embed()


class Cholesky(Function):
    """A = L L^T. With P = Phi(L^T gL): gA = sym(L^-T P L^-1) (Murray 2016)."""

    @staticmethod
    def forward(ctx, A):
        a = A._data
        try:
            L = _make(np.linalg.cholesky(a))
        except np.linalg.LinAlgError:
            raise _not_pd_error(a) from None
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx, g):
        (L,) = ctx.saved_tensors
        Linv = inv(L)
        S = Linv.mT @ _phi(L.mT @ g.tril()) @ Linv
        return 0.5 * (S + S.mT)


def _not_pd_error(a: np.ndarray) -> LinAlgError:
    flat = a.reshape(-1, *a.shape[-2:])
    for b, m in enumerate(flat):
        for k in range(1, m.shape[-1] + 1):  # the order of the first leading minor that fails
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                prefix = f"(Batch element {b}): " if a.ndim > 2 else ""
                return LinAlgError(f"linalg.cholesky: {prefix}The factorization could not be completed because the "
                                   f"input is not positive-definite (the leading minor of order {k} is not "
                                   "positive-definite).")
    return LinAlgError("linalg.cholesky: The factorization could not be completed because the input is not "
                       "positive-definite.")


def cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    """Lower (or upper) Cholesky factor of symmetric positive-definite matrices.

    Example::

        >>> tinygrad_cn.linalg.cholesky(tinygrad_cn.tensor([[4., 2.], [2., 2.]]))
        tensor([[2., 0.],
                [1., 1.]])
    """
    _check_square(A, "cholesky")
    L = Cholesky.apply(A)
    return L.mT if upper else L


def _copyltu(M: Tensor) -> Tensor:
    """The symmetric matrix with M's lower triangle."""
    return M.tril() + M.tril(-1).mT


class QR(Function):
    """Reduced A = QR. For m >= n, with M = R gR^T - gQ^T Q:
    gA = (gQ + Q copyltu(M)) R^-T. Wide A = [X | Y] reduces to that for X = QU,
    with gY = Q gV and gQ += Y gV^T."""

    @staticmethod
    def forward(ctx, A):
        q, r = np.linalg.qr(A._data, mode="reduced")
        Q, R = _make(q), _make(r)
        ctx.save_for_backward(A, Q, R)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        A, Q, R = ctx.saved_tensors
        m, n = A._data.shape[-2:]
        if m >= n:
            return _qr_tall_grad(Q, R, gQ, gR)
        Y = A[..., m:]
        U, gU, gV = R[..., :m], gR[..., :m], gR[..., m:]
        gX = _qr_tall_grad(Q, U, gQ + Y @ gV.mT, gU)
        return _cat(gX, Q @ gV)


def _cat(a: Tensor, b: Tensor) -> Tensor:
    from .ops.movement import cat
    return cat([a, b], -1)


def _qr_tall_grad(Q, R, gQ, gR):
    M = R @ gR.mT - gQ.mT @ Q
    X = gQ + Q @ _copyltu(M)
    return solve(R, X.mT).mT  # X R^-T


def qr(A: Tensor, mode: str = "reduced", *, out=None) -> tuple:
    """Reduced QR decomposition (a named tuple ``(Q, R)``)."""
    _check_float(A, "qr")
    if A._data.ndim < 2:
        raise RuntimeError("linalg.qr: The input tensor A must have at least 2 dimensions.")
    if mode != "reduced":
        raise NotImplementedError(f"linalg.qr: mode={mode!r} is not supported (only 'reduced')")
    return qr_result(*QR.apply(A))


class Eigh(Function):
    """A = V diag(w) V^T. gA = V (diag(gw) + F * (V^T gV)) V^T with
    F_ij = 1/(w_j - w_i) off the diagonal, 0 on it."""

    @staticmethod
    def forward(ctx, A, uplo):
        w, v = np.linalg.eigh(A._data, UPLO=uplo)
        W, V = _make(w), _make(v)
        ctx.save_for_backward(W, V)
        return W, V

    @staticmethod
    def backward(ctx, gw, gV):
        W, V = ctx.saved_tensors
        E = W.unsqueeze(-2) - W.unsqueeze(-1)  # E_ij = w_j - w_i
        n = W._data.shape[-1]
        off = _make(~np.eye(n, dtype=bool))
        F = where(off, 1 / where(off, E, 1.0), 0.0)
        inner = gw.diag_embed() + F * (V.mT @ gV)
        return V @ inner @ V.mT, None


def eigh(A: Tensor, UPLO: str = "L", *, out=None) -> tuple:
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices."""
    _check_square(A, "eigh")
    return eigh_result(*Eigh.apply(A, UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    return eigh(A, UPLO).eigenvalues


def _svd_core_grad(U, S, Vh, gU, gS, gVh):
    """Townsend's SVD adjoint (real, distinct nonzero singular values):
    gA = U [(F*(U^T gU - gU^T U)) S + diag(gS) + S (F*(V^T gV - gV^T V))] V^T
         + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T),  F_ij = 1/(s_j^2 - s_i^2)."""
    V, gV = Vh.mT, gVh.mT
    k = S._data.shape[-1]
    off = _make(~np.eye(k, dtype=bool))
    s2 = S * S
    F = where(off, 1 / where(off, s2.unsqueeze(-2) - s2.unsqueeze(-1), 1.0), 0.0)
    Sd, Sinv = S.diag_embed(), (1 / S).diag_embed()
    J = F * (U.mT @ gU - gU.mT @ U)
    K = F * (V.mT @ gV - gV.mT @ V)
    core = U @ (J @ Sd + gS.diag_embed() + Sd @ K) @ Vh
    m, n = U._data.shape[-2], V._data.shape[-2]
    if m > k:
        core = core + (gU - U @ (U.mT @ gU)) @ Sinv @ Vh
    if n > k:
        core = core + U @ Sinv @ (gV.mT - (gV.mT @ V) @ Vh)
    return core


class SVD(Function):
    @staticmethod
    def forward(ctx, A):
        u, s, vh = np.linalg.svd(A._data, full_matrices=False)
        U, S, Vh = _make(u), _make(s), _make(vh)
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        return _svd_core_grad(U, S, Vh, gU, gS, gVh)


class Svdvals(Function):
    """Singular values; gA = U diag(gS) V^T, with U and V from a differentiable SVD
    so that the gradient can be differentiated again."""

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return np.linalg.svd(A._data, compute_uv=False)

    @staticmethod
    def backward(ctx, gS):
        (A,) = ctx.saved_tensors
        U, _, Vh = svd(A, full_matrices=False)
        return (U * gS.unsqueeze(-2)) @ Vh


def svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None) -> tuple:
    """SVD ``A = U diag(S) Vh`` (a named tuple). With ``full_matrices=True`` on a
    non-square input the completed U or Vh carries no gradient (torch refuses that
    backward too); only S is differentiable there.

    Example::

        >>> tinygrad_cn.linalg.svd(tinygrad_cn.eye(2)).S
        tensor([1., 1.])
    """
    _check_float(A, "svd")
    if A._data.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    m, n = A._data.shape[-2:]
    if full_matrices and m != n:
        u, _, vh = np.linalg.svd(A._data, full_matrices=True)
        return svd_result(_make(u), svdvals(A), _make(vh))
    return svd_result(*SVD.apply(A))


def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    """Singular values in descending order.

    Example::

        >>> tinygrad_cn.linalg.svdvals(tinygrad_cn.tensor([[3., 0.], [0., -4.]]))
        tensor([4., 3.])
    """
    _check_float(A, "svdvals")
    if A._data.ndim < 2:
        raise RuntimeError("linalg.svdvals: The input tensor A must have at least 2 dimensions.")
    return Svdvals.apply(A)


class Pinv(Function):
    """X = A^+. For constant rank (Golub & Pereyra):
    gA = -X^T g X^T + (I - A X) g^T X X^T + X^T X g^T (I - X A)."""

    @staticmethod
    def forward(ctx, A, rcond, hermitian):
        x = _make(np.linalg.pinv(A._data, rcond=rcond, hermitian=hermitian))
        ctx.save_for_backward(A, x)
        return x

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        Xt, gt = X.mT, g.mT
        gA = -(Xt @ g @ Xt)
        gA = gA + (gt - A @ (X @ gt)) @ (X @ Xt)
        gA = gA + (Xt @ X) @ (gt - (gt @ X) @ A)
        return gA, None, None


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, out=None) -> Tensor:
    """Moore-Penrose pseudo-inverse; singular values below ``rtol * max(S)`` count as zero."""
    _check_float(A, "pinv")
    if atol is not None:
        raise NotImplementedError("linalg.pinv: atol is not supported")
    m, n = A._data.shape[-2:]
    if rtol is None:
        rtol = max(m, n) * np.finfo(A._data.dtype).eps
    return Pinv.apply(A, rtol, hermitian)


def matrix_power(A: Tensor, n: int, *, out=None) -> Tensor:
    """A^n by repeated squaring (n < 0: powers of the inverse); differentiable through matmul."""
    _check_square(A, "matrix_power")
    if n == 0:
        from .creation import eye
        return eye(A._data.shape[-1], dtype=A.dtype).expand(A._data.shape).clone()
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


# -- products -------------------------------------------------------------------------
def cross(input: Tensor, other: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (operands broadcast).

    Example::

        >>> tinygrad_cn.linalg.cross(tinygrad_cn.tensor([1., 0., 0.]), tinygrad_cn.tensor([0., 1., 0.]))
        tensor([0., 0., 1.])
    """
    from .ops.movement import broadcast_tensors
    if input._data.ndim != other._data.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    a, b = broadcast_tensors(input, other)
    d = _wrap_dim(dim, a._data.ndim)
    if a._data.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input._data.shape[d]} "
                           f"and {other._data.shape[d] if other._data.ndim > d else 1}")
    i1, i2 = _make(np.array([1, 2, 0])), _make(np.array([2, 0, 1]))
    return a.index_select(d, i1) * b.index_select(d, i2) - a.index_select(d, i2) * b.index_select(d, i1)


@tensor_method("cross")
def _torch_cross(input, other, dim=None, *, out=None):
    """torch.cross: ``dim=None`` means the first dim of size 3."""
    if dim is None:
        dim = next((i for i, s in enumerate(np.broadcast_shapes(input._data.shape, other._data.shape)) if s == 3), -1)
    return cross(input, other, dim=dim)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """Dot product along ``dim`` (operands broadcast)."""
    return (x * y).sum(dim)


def multi_dot(tensors, *, out=None) -> Tensor:
    """The product of a chain of matrices; the first and last may be vectors."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        nd = t._data.ndim
        if (0 < i < len(tensors) - 1 and nd != 2) or not 1 <= nd <= 2:
            where_ = "first" if i == 0 else "last" if i == len(tensors) - 1 else None
            if where_:
                raise RuntimeError(f"multi_dot(): the {where_} tensor must be 1D or 2D but got {nd}D")
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {nd}D")
    first_vec, last_vec = tensors[0]._data.ndim == 1, tensors[-1]._data.ndim == 1
    if first_vec:
        tensors[0] = tensors[0].unsqueeze(0)
    if last_vec:
        tensors[-1] = tensors[-1].unsqueeze(-1)
    r = tensors[0]
    for t in tensors[1:]:
        r = r @ t
    if first_vec:
        r = r.squeeze(0)
    if last_vec:
        r = r.squeeze(-1)
    return r


# -- norms ----------------------------------------------------------------------------
def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Vector ``ord``-norm over ``dim`` (all elements when None): 2, 1, inf, -inf, 0 or any p.
    The ord-2 gradient at zero is zero, as in torch.

    Example::

        >>> tinygrad_cn.linalg.vector_norm(tinygrad_cn.tensor([3., -4.]))
        tensor(5.)
    """
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    if x._data.dtype.kind != "f" and dtype is None:
        _reduce.norm(x, ord, dim, keepdim)  # raises torch's error for integer input
    return _reduce.norm(x, ord, dim, keepdim, dtype)


def _matrix_dims(A: Tensor, dim, name):
    if A._data.ndim < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    d0, d1 = (_wrap_dim(d, A._data.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.{name}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Matrix norm over the two dims ``dim``: 'fro', 'nuc', 1, -1, inf, -inf (max/min
    absolute column/row sums), 2, -2 (largest/smallest singular value)."""
    if dtype is not None:
        A = A.to(dtype)
    _check_float(A, "matrix_norm")
    d0, d1 = _matrix_dims(A, dim, "matrix_norm")
    if ord == "fro":
        return _reduce.norm(A, 2, (d0, d1), keepdim)
    inf = float("inf")
    if ord in ("nuc", 2, -2):
        S = svdvals(A.movedim((d0, d1), (-2, -1)))
        r = S.sum(-1) if ord == "nuc" else S.amax(-1) if ord == 2 else S.amin(-1)
    elif ord in (1, -1, inf, -inf):
        # 1/-1: sums down columns (over d0), then max/min over d1; inf/-inf: the transpose.
        over, then = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(over, keepdim=True)
        r = sums.amax(then, keepdim=True) if ord > 0 else sums.amin(then, keepdim=True)
        return r if keepdim else r.squeeze((d0, d1))
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if keepdim:
        for d in sorted((d0, d1)):
            r = r.unsqueeze(d)
    return r


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """torch.linalg.norm: a vector norm for one dim (or the flattened input when
    ``ord`` and ``dim`` are None), a matrix norm for two dims or 2-D input with ``ord``."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    nd = A._data.ndim
    if nd == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if nd == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                       f"Got {nd}D.")


# -- torch.* and Tensor.* spellings ------------------------------------------------------
for _name, _fn in (("det", det), ("inverse", inv), ("slogdet", slogdet), ("matrix_power", matrix_power),
                   ("pinverse", pinv)):
    tensor_method(_name)(_fn)


@tensor_method("logdet")
def logdet(input):
    """log det A: nan for a negative determinant, -inf for a zero one, as torch."""
    sign, logabs = slogdet(input)
    return where(sign < 0, float("nan"), where(sign == 0, float("-inf"), logabs))
