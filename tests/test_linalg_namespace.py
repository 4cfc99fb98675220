"""torch.linalg: closed forms and gradchecks (float64, well-conditioned random
matrices under hypothesis) without torch; values, shapes and errors against
torch when it is installed."""
import math

import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.autograd import gradcheck, gradgradcheck
from tinygrad_cn.testing import assert_close

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

LA = tg.linalg
FEW = settings(max_examples=6, deadline=None)
BATCH = st.sampled_from([(), (2,), (2, 1)])
N = st.integers(1, 3)


def well_conditioned(seed, batch, n, spd=False):
    """Q diag(s) Q^T (+ I when spd), or that plus a skew part: eigenvalues in [1.5, 3]."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal(batch + (n, n)))
    s = rng.uniform(0.5, 2.0, batch + (n,))
    a = (q * s[..., None, :]) @ np.swapaxes(q, -1, -2) + np.eye(n)
    if not spd:
        k = 0.3 * rng.standard_normal(batch + (n, n))
        a = a + k - np.swapaxes(k, -1, -2)
    return tg.tensor(a, requires_grad=True)


def rand(seed, *shape):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


seeds = st.integers(0, 2 ** 16)


# -- closed forms (no torch needed) ------------------------------------------------------
def test_closed_forms():
    A = tg.tensor([[2., 1.], [1., 3.]])
    assert_close(LA.det(A), tg.tensor(5.))
    assert_close(LA.inv(A), tg.tensor([[3., -1.], [-1., 2.]]) / 5)
    assert_close(LA.solve(A, tg.tensor([3., 4.])), tg.tensor([1., 1.]))
    assert_close(LA.solve(A, tg.tensor([[3., 4.]]), left=False), tg.tensor([[1., 1.]]))
    sign, logabs = LA.slogdet(-A)
    assert sign.item() == 1.0 and math.isclose(logabs.item(), math.log(5), rel_tol=1e-6)
    L = LA.cholesky(A)
    assert_close(L @ L.mT, A)
    assert L[0, 1].item() == 0
    assert_close(LA.cholesky(A, upper=True), L.mT)
    w, V = LA.eigh(A)
    assert_close(w, tg.tensor([(5 - math.sqrt(5)) / 2, (5 + math.sqrt(5)) / 2]))
    assert_close(V @ w.diag_embed() @ V.mT, A)
    assert_close(LA.svdvals(tg.tensor([[3., 0.], [0., -4.]])), tg.tensor([4., 3.]))
    assert_close(LA.matrix_power(A, 3), A @ A @ A)
    assert_close(LA.matrix_power(A, -1), LA.inv(A))
    assert_close(LA.matrix_power(A, 0), tg.eye(2))
    assert_close(LA.vector_norm(tg.tensor([3., -4.])), tg.tensor(5.))
    assert_close(LA.vector_norm(tg.tensor([3., -4., 0.]), 0), tg.tensor(2.))
    assert_close(LA.vector_norm(tg.tensor([3., -4.]), float("inf")), tg.tensor(4.))
    assert_close(LA.vector_norm(tg.tensor([3., -4.]), 1), tg.tensor(7.))
    assert_close(LA.matrix_norm(tg.tensor([[1., -2.], [3., 4.]]), 1), tg.tensor(6.))
    assert_close(LA.matrix_norm(tg.tensor([[1., -2.], [3., 4.]]), float("inf")), tg.tensor(7.))
    assert_close(LA.matrix_norm(tg.tensor([[3., 0.], [0., -4.]]), "nuc"), tg.tensor(7.))
    assert_close(LA.matrix_norm(tg.tensor([[3., 0.], [0., -4.]]), -2), tg.tensor(3.))
    assert_close(LA.cross(tg.tensor([1., 0., 0.]), tg.tensor([0., 1., 0.])), tg.tensor([0., 0., 1.]))
    assert_close(LA.vecdot(tg.tensor([1., 2.]), tg.tensor([3., 4.])), tg.tensor(11.))
    assert_close(LA.multi_dot([tg.tensor([1., 2.]), A, tg.tensor([1., 1.])]), tg.tensor(11.))
    assert_close(LA.pinv(tg.tensor([[1., 0.], [0., 0.]])), tg.tensor([[1., 0.], [0., 0.]]))
    Q, R = LA.qr(tg.tensor([[3., 1.], [4., 2.], [0., 0.]]))
    assert Q.shape == (3, 2) and R.shape == (2, 2)
    assert_close(Q @ R, tg.tensor([[3., 1.], [4., 2.], [0., 0.]]))
    assert_close(Q.mT @ Q, tg.eye(2))


def test_namespace_spellings():
    A = tg.tensor([[2., 1.], [1., 3.]])
    assert_close(tg.det(A), tg.tensor(5.))
    assert_close(A.inverse(), LA.inv(A))
    assert_close(tg.logdet(A), tg.tensor(math.log(5)))
    assert math.isnan(tg.logdet(tg.tensor([[0., 1.], [1., 0.]])).item())
    assert tg.cross(tg.ones(3, 2), tg.ones(3, 2)).shape == (3, 2)  # torch.cross: first dim of size 3
    assert issubclass(LA.LinAlgError, RuntimeError)


def test_vector_norm_grad_zero_at_zero():
    x = tg.zeros(3, dtype=tg.float64, requires_grad=True)
    LA.vector_norm(x).backward()
    assert (x.grad.numpy() == 0).all()


def test_errors():
    with pytest.raises(RuntimeError, match="must be batches of square matrices, but they are 2 by 3"):
        LA.inv(tg.zeros(2, 3))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        LA.det(tg.zeros(3))
    with pytest.raises(RuntimeError, match="Expected a floating point"):
        LA.inv(tg.eye(2, dtype=tg.int64))
    with pytest.raises(LA.LinAlgError, match="The diagonal element 2 is zero"):
        LA.inv(tg.tensor([[1., 2.], [2., 4.]]))
    with pytest.raises(LA.LinAlgError, match=r"\(Batch element 1\): The solver failed"):
        LA.solve(tg.stack([tg.eye(2), tg.zeros(2, 2)]), tg.ones(2, 2, 1))
    with pytest.raises(LA.LinAlgError, match="leading minor of order 2"):
        LA.cholesky(tg.tensor([[1., 2.], [2., 1.]]))
    with pytest.raises(RuntimeError, match="Incompatible shapes"):
        LA.solve(tg.eye(2), tg.ones(3, 1))
    with pytest.raises(RuntimeError, match="must have length 3"):
        LA.cross(tg.ones(2), tg.ones(2))


# -- gradients (float64, hypothesis) ----------------------------------------------------
@FEW
@given(seeds, BATCH, N)
def test_inv_det_slogdet_grads(seed, batch, n):
    A = well_conditioned(seed, batch, n)
    for f in (LA.inv, LA.det, lambda a: LA.slogdet(a).logabsdet):
        assert gradcheck(f, (A,))
        assert gradgradcheck(f, (A,))


@FEW
@given(seeds, BATCH, N, st.integers(1, 2), st.booleans())
def test_solve_grads(seed, batch, n, k, left):
    A = well_conditioned(seed, batch, n)
    B = rand(seed + 1, *batch, n, k) if left else rand(seed + 1, *batch, k, n)
    f = lambda a, b: LA.solve(a, b, left=left)  # noqa: E731
    assert gradcheck(f, (A, B))
    assert gradgradcheck(f, (A, B))
    v = rand(seed + 2, n)  # a vector right-hand side, broadcast over A's batch
    assert gradcheck(LA.solve, (A, v))


@FEW
@given(seeds, BATCH, N)
def test_cholesky_grad(seed, batch, n):
    A = well_conditioned(seed, batch, n, spd=True)
    # cholesky reads one triangle: differentiate through a symmetric parametrisation
    assert gradcheck(lambda a: LA.cholesky((a + a.mT) / 2), (A,))
    assert gradcheck(lambda a: LA.cholesky((a + a.mT) / 2, upper=True), (A,))


@FEW
@given(seeds, BATCH, st.integers(1, 4), st.integers(1, 4))
def test_qr_grad(seed, batch, m, n):
    A = rand(seed, *batch, m, n)
    hypothesis.assume(np.linalg.svd(A.detach().numpy(), compute_uv=False).min() > 0.2)
    assert gradcheck(lambda a: tuple(LA.qr(a)), (A,))


@FEW
@given(seeds, BATCH, N)
def test_eigh_grad(seed, batch, n):
    A = well_conditioned(seed, batch, n, spd=True)
    w = np.linalg.eigvalsh(A.detach().numpy())
    hypothesis.assume(n == 1 or np.diff(w).min() > 0.1)  # distinct eigenvalues
    # eigenvectors are defined up to sign: V * V is not
    assert gradcheck(lambda a: (lambda r: (r.eigenvalues, r.eigenvectors ** 2))(LA.eigh((a + a.mT) / 2)), (A,))


@FEW
@given(seeds, BATCH, st.integers(1, 4), st.integers(1, 4))
def test_svd_grads(seed, batch, m, n):
    A = rand(seed, *batch, m, n)
    s = np.linalg.svd(A.detach().numpy(), compute_uv=False)
    hypothesis.assume(s.min() > 0.2 and (s.shape[-1] == 1 or np.abs(np.diff(s, axis=-1)).min() > 0.2))
    assert gradcheck(LA.svdvals, (A,))
    assert gradgradcheck(LA.svdvals, (A,))
    assert gradcheck(lambda a: (lambda r: (r.U ** 2, r.S, r.Vh ** 2))(LA.svd(a, full_matrices=False)), (A,))
    assert gradcheck(LA.pinv, (A,))
    for o in ("nuc", 2, -2):
        assert gradcheck(lambda a: LA.matrix_norm(a, o), (A,))


@FEW
@given(seeds, BATCH, N, st.integers(-2, 3))
def test_matrix_power_grad(seed, batch, n, p):
    A = well_conditioned(seed, batch, n)
    assert gradcheck(lambda a: LA.matrix_power(a, p), (A,))


@FEW
@given(seeds, st.sampled_from([2, 1, float("inf"), float("-inf"), 3.5, -1.5, 0.5]))
def test_norm_grads(seed, ord):
    x = rand(seed, 2, 3)
    x.data.mul_(1 + 0.01 * tg.arange(6, dtype=tg.float64).reshape(2, 3))  # no ties for inf
    assert gradcheck(lambda a: LA.vector_norm(a, ord, dim=1), (x,))
    assert gradcheck(lambda a: LA.vector_norm(a, ord, dim=(0, 1), keepdim=True), (x,))
    for mord in ("fro", 1, -1, float("inf"), float("-inf")):
        assert gradcheck(lambda a: LA.matrix_norm(a, mord), (x,))


@FEW
@given(seeds)
def test_product_grads(seed):
    a, b = rand(seed, 4, 3), rand(seed + 1, 1, 3)
    assert gradcheck(LA.cross, (a, b))
    assert gradcheck(LA.vecdot, (a, b))
    e, c, d = rand(seed + 2, 3, 4), rand(seed + 3, 3, 2), rand(seed + 4, 2)
    assert gradcheck(lambda *t: LA.multi_dot(t), (rand(seed + 5, 3), e, a, c, d))


# -- against torch -------------------------------------------------------------------------
def _np(t):
    return t.detach().numpy()


@FEW
@given(seeds, BATCH, N)
def test_against_torch(seed, batch, n):
    torch = pytest.importorskip("torch")
    A = well_conditioned(seed, batch, n, spd=True)
    M = well_conditioned(seed, batch, n)
    B = rand(seed + 1, *batch, n, 2)
    tA, tM, tB = (torch.tensor(_np(t)) for t in (A, M, B))
    pairs = [(LA.inv(M), torch.linalg.inv(tM)), (LA.det(M), torch.linalg.det(tM)),
             (LA.slogdet(M).logabsdet, torch.linalg.slogdet(tM).logabsdet),
             (LA.slogdet(M).sign, torch.linalg.slogdet(tM).sign),
             (LA.solve(M, B), torch.linalg.solve(tM, tB)), (LA.cholesky(A), torch.linalg.cholesky(tA)),
             (LA.eigh(A).eigenvalues, torch.linalg.eigh(tA).eigenvalues),
             (LA.svdvals(B), torch.linalg.svdvals(tB)), (LA.pinv(B), torch.linalg.pinv(tB)),
             (LA.matrix_power(M, -2), torch.linalg.matrix_power(tM, -2)),
             (LA.qr(B).R.abs(), torch.linalg.qr(tB).R.abs())]
    for o in ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf):
        pairs.append((LA.matrix_norm(B, o), torch.linalg.matrix_norm(tB, o)))
        pairs.append((LA.matrix_norm(B, o, dim=(0, -1), keepdim=True) if B.ndim > 2 else LA.matrix_norm(B, o),
                      torch.linalg.matrix_norm(tB, o, dim=(0, -1), keepdim=True) if B.ndim > 2
                      else torch.linalg.matrix_norm(tB, o)))
    for o in (2, 1, 0, math.inf, -math.inf, 3.0, -0.5):
        pairs.append((LA.vector_norm(B, o, dim=-1), torch.linalg.vector_norm(tB, o, dim=-1)))
    pairs += [(LA.norm(B), torch.linalg.norm(tB)), (LA.norm(B.flatten(), 1), torch.linalg.norm(tB.flatten(), 1)),
              (LA.norm(B, dim=(-2, -1)), torch.linalg.norm(tB, dim=(-2, -1))),
              (LA.norm(B, 3, dim=-2), torch.linalg.norm(tB, 3, dim=-2))]
    for ours, theirs in pairs:
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert_close(_np(ours), theirs.numpy(), rtol=1e-6, atol=1e-8)


@FEW
@given(seeds, BATCH, N)
def test_grads_against_torch(seed, batch, n):
    torch = pytest.importorskip("torch")
    A = well_conditioned(seed, batch, n, spd=True)
    ops = [(lambda L: lambda a: L.linalg.cholesky(a).sum()),
           (lambda L: lambda a: (L.linalg.eigh(a).eigenvectors ** 2 * L.arange(1., n + 1, dtype=a.dtype)).sum()
            + L.linalg.eigh(a).eigenvalues.pow(2).sum()),
           (lambda L: lambda a: L.linalg.det(a).sum() + L.linalg.inv(a).pow(2).sum()),
           (lambda L: lambda a: L.linalg.svdvals(a).pow(3).sum())]
    for make in ops:
        tA = torch.tensor(_np(A), requires_grad=True)
        ours = tg.autograd.grad(make(tg)(A), A)[0]
        theirs = torch.autograd.grad(make(torch)(tA), tA)[0]
        # Both read only the lower triangle for cholesky/eigh; compare the symmetrised gradients.
        assert_close(_np(ours + ours.mT), (theirs + theirs.mT).numpy(), rtol=1e-6, atol=1e-8)


def test_errors_against_torch():
    torch = pytest.importorskip("torch")
    cases = [(lambda L: L.linalg.inv(L.tensor([[1., 2.], [2., 4.]]))),
             (lambda L: L.linalg.inv(L.zeros(2, 3))),
             (lambda L: L.linalg.det(L.zeros(3))),
             (lambda L: L.linalg.solve(L.zeros(2, 2, 2), L.zeros(2, 2))),
             (lambda L: L.linalg.cholesky(L.tensor([[1., 2.], [2., 1.]])))]
    for case in cases:
        with pytest.raises(RuntimeError) as theirs:
            case(torch)
        with pytest.raises(RuntimeError) as ours:
            case(tg)
        assert str(ours.value) == str(theirs.value)
        assert isinstance(ours.value, tg.linalg.LinAlgError) == isinstance(theirs.value, torch.linalg.LinAlgError)
