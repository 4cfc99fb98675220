"""The matmul family (matmul/@, mm, bmm, mv, dot, outer, inner, addmm,
tensordot) and einsum: torch.matmul's shape rules for every form (1-D, 2-D,
batched, broadcast batch dims), values and gradients under hypothesis on
contiguous and non-contiguous layouts (against torch when installed, and
gradcheck / gradgradcheck in float64), integer products, empty dims, and
torch's error types and messages (checked literally without torch, and
against torch itself when it is installed).
"""
import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.autograd import gradcheck, gradgradcheck
from tinygrad_cn.testing import OpSpec, assert_close, check_op

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from tinygrad_cn.testing.strategies import broadcastable_shapes, float_tensors, shapes  # noqa: E402

FEW = settings(max_examples=max(3, settings().max_examples // 3))
SIDE = st.integers(1, 4)
BATCH = shapes(min_dims=1, max_dims=2, max_side=3)


@st.composite
def matmul_shapes(draw, form):
    """Operand shapes for one of torch.matmul's forms."""
    m, k, n = draw(SIDE), draw(SIDE), draw(SIDE)
    if form == "1d@1d":
        return [(k,), (k,)]
    if form == "2d@1d":
        return [(m, k), (k,)]
    if form == "1d@2d":
        return [(k,), (k, n)]
    if form == "2d@2d":
        return [(m, k), (k, n)]
    if form == "1d@nd":
        return [(k,), draw(BATCH) + (k, n)]
    if form == "nd@1d":
        return [draw(BATCH) + (m, k), (k,)]
    if form == "nd@2d":
        return [draw(BATCH) + (m, k), (k, n)]
    if form == "2d@nd":
        return [(m, k), draw(BATCH) + (k, n)]
    if form == "batched":
        b = draw(BATCH)
        return [b + (m, k), b + (k, n)]
    if form == "broadcast_batch":
        ba, bb = draw(broadcastable_shapes(min_dims=1, max_dims=3, max_side=3))
        return [ba + (m, k), bb + (k, n)]
    raise ValueError(form)


@st.composite
def sized(draw, *dims):
    """Shapes built from named sizes: sized("ij", "jk") draws i, j, k once."""
    sizes = {c: draw(SIDE) for c in sorted(set("".join(dims)))}
    return [tuple(sizes[c] for c in d) for d in dims]


FORMS = ["1d@1d", "2d@1d", "1d@2d", "2d@2d", "1d@nd", "nd@1d", "nd@2d", "2d@nd", "batched", "broadcast_batch"]

OPS = [OpSpec(f"matmul_{f}", lambda x, y: x @ y, inputs=matmul_shapes(f),
              gradgrad=f in ("2d@2d", "batched", "broadcast_batch", "nd@1d")) for f in FORMS]
OPS += [
    OpSpec("matmul_function", lambda lib, x, y: lib.matmul(x, y), inputs=matmul_shapes("batched"), gradgrad=False),
    OpSpec("matmul_transposed_operands", lambda x, y: x.mT @ y.mT, inputs=sized("ki", "jk"), gradgrad=False),
    OpSpec("mm", lambda lib, x, y: lib.mm(x, y), inputs=sized("ij", "jk"), gradgrad=False),
    OpSpec("bmm", lambda lib, x, y: lib.bmm(x, y), inputs=sized("bij", "bjk")),
    OpSpec("mv", lambda lib, x, y: lib.mv(x, y), inputs=sized("ij", "j"), gradgrad=False),
    OpSpec("dot", lambda lib, x, y: lib.dot(x, y), inputs=sized("i", "i")),
    OpSpec("outer", lambda lib, x, y: lib.outer(x, y), inputs=sized("i", "j"), gradgrad=False),
    OpSpec("inner_vectors", lambda lib, x, y: lib.inner(x, y), inputs=sized("i", "i"), gradgrad=False),
    OpSpec("inner_matrices", lambda lib, x, y: lib.inner(x, y), inputs=sized("ai", "bci"), gradgrad=False),
    OpSpec("addmm", lambda lib, c, x, y: lib.addmm(c, x, y, beta=0.5, alpha=2.0), inputs=sized("k", "ij", "jk"),
           gradgrad=False),
    OpSpec("tensordot_int", lambda lib, x, y: lib.tensordot(x, y, dims=2), inputs=sized("aij", "ijb"),
           gradgrad=False),
    OpSpec("tensordot_lists", lambda lib, x, y: lib.tensordot(x, y, dims=([0, 2], [1, 0])),
           inputs=sized("aib", "bac"), gradgrad=False),
]
EINSUMS = [
    ("ij,jk->ik", ("ij", "jk")), ("ij,jk", ("ij", "jk")), ("bij,bjk->bik", ("bij", "bjk")),
    ("bhqd,bhkd->bhqk", ("bhqd", "bhkd")), ("i,j->ij", ("i", "j")), ("ij->ji", ("ij",)), ("ij->", ("ij",)),
    ("ii->", ("ii",)), ("ii->i", ("ii",)), ("bii->b", ("bii",)), ("ij,ij->i", ("ij", "ij")),
    ("bi,oij,bj->bo", ("bi", "oij", "bj")), ("ij,kl->il", ("ij", "kl")), ("ba,ac", ("ba", "ac")),
]
OPS += [OpSpec(f"einsum[{eq}]", (lambda eq: lambda lib, *xs: lib.einsum(eq, *xs))(eq), inputs=sized(*dims),
               gradgrad=eq in ("ij,jk->ik", "bhqd,bhkd->bhqk")) for eq, dims in EINSUMS]
OPS += [
    OpSpec("einsum[...ij,...jk->...ik]", lambda lib, x, y: lib.einsum("...ij,...jk->...ik", x, y),
           inputs=matmul_shapes("broadcast_batch"), gradgrad=False),
    OpSpec("einsum[...ij,...jk implicit]", lambda lib, x, y: lib.einsum("...ij,...jk", x, y),
           inputs=matmul_shapes("batched"), gradgrad=False),
    OpSpec("einsum_operand_list", lambda lib, x, y: lib.einsum("ij,jk->ik", [x, y]), inputs=sized("ij", "jk"),
           gradgrad=False),
]


@pytest.mark.parametrize("spec", OPS, ids=str)
@FEW
@given(data=st.data())
def test_op_matches_torch_and_finite_differences(spec, data):
    check_op(spec, data.draw)


# -- shapes and values (no torch needed) --------------------------------------------------------
@pytest.mark.parametrize("sa, sb, expected", [
    ((3,), (3,), ()), ((2, 3), (3,), (2,)), ((3,), (3, 4), (4,)), ((2, 3), (3, 4), (2, 4)),
    ((5, 2, 3), (3, 4), (5, 2, 4)), ((3,), (5, 3, 4), (5, 4)), ((5, 2, 3), (3,), (5, 2)),
    ((2, 1, 2, 3), (4, 3, 5), (2, 4, 2, 5)), ((2, 3), (7, 3, 4), (7, 2, 4)), ((1, 2, 3), (6, 3, 1), (6, 2, 1)),
    ((2, 0), (0, 3), (2, 3)), ((0, 3), (3, 2), (0, 2)), ((0, 2, 3), (3, 2), (0, 2, 2)),
], ids=str)
def test_matmul_result_shape_follows_torch_matmul_rules(sa, sb, expected):
    a = np.arange(int(np.prod(sa)), dtype=np.float64).reshape(sa)
    b = np.arange(int(np.prod(sb)), dtype=np.float64).reshape(sb) - 2
    r = tg.tensor(a) @ tg.tensor(b)
    assert r.shape == expected
    np.testing.assert_allclose(r.numpy(), np.matmul(a, b))


def test_matmul_over_empty_inner_dim_is_zeros_with_gradients_of_operand_shape():
    a = tg.zeros(2, 0, dtype=tg.float64).requires_grad_(True)
    b = tg.zeros(0, 3, dtype=tg.float64).requires_grad_(True)
    y = a @ b
    assert y.tolist() == [[0.0] * 3] * 2
    ga, gb = tg.autograd.grad(y.sum(), (a, b))
    assert ga.shape == (2, 0) and gb.shape == (0, 3)


@pytest.mark.parametrize("dtype", [tg.int64, tg.int32])
def test_integer_matmul_is_exact_and_keeps_the_dtype(dtype):
    a = tg.tensor([[1, 2, 3], [4, 5, 6]], dtype=dtype)
    b = tg.tensor([[7, 8], [9, 10], [11, 12]], dtype=dtype)
    r = a @ b
    assert r.dtype == dtype and r.tolist() == [[58, 64], [139, 154]]
    assert (a[0] @ b).tolist() == [58, 64] and tg.dot(a[0], a[1]).tolist() == 32
    assert tg.einsum("ij,jk->ik", a, b).tolist() == [[58, 64], [139, 154]]


def test_float64_matmul_keeps_float64_and_is_accurate():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((7, 5)), rng.standard_normal((5, 3))
    r = tg.tensor(a) @ tg.tensor(b)
    assert r.dtype == tg.float64
    np.testing.assert_allclose(r.numpy(), a @ b, rtol=1e-13)


@pytest.mark.parametrize("layout", ["transposed", "strided", "expanded"])
def test_matmul_gradcheck_on_non_contiguous_views(layout):
    rng = np.random.default_rng(1)
    if layout == "transposed":
        a = tg.Tensor._make(rng.standard_normal((4, 3)).T)
        b = tg.Tensor._make(rng.standard_normal((2, 5, 4)).transpose(0, 2, 1))
    elif layout == "strided":
        a = tg.Tensor._make(rng.standard_normal((6, 8))[::2, ::2])
        b = tg.Tensor._make(rng.standard_normal((2, 8, 10))[:, ::2, ::2])
    else:  # a stride-0 view cannot be a gradcheck input (as in torch): expand inside the function
        a = tg.Tensor._make(rng.standard_normal((1, 4)))
        b = tg.Tensor._make(rng.standard_normal((2, 4, 5)).transpose(0, 2, 1))
    a.requires_grad_(True)
    b.requires_grad_(True)

    def f(x, y):
        x = x.expand(3, 4) if layout == "expanded" else x
        return x @ (y.transpose(1, 2) if layout == "expanded" else y)
    assert not (a.is_contiguous() and b.is_contiguous())
    assert gradcheck(f, (a, b))
    assert gradgradcheck(f, (a, b))


def test_broadcast_batch_gradient_sums_back_to_the_operand_shape():
    a = tg.ones(1, 2, 3, dtype=tg.float64).requires_grad_(True)
    b = tg.ones(4, 3, 5, dtype=tg.float64).requires_grad_(True)
    ga, gb = tg.autograd.grad((a @ b).sum(), (a, b))
    assert ga.shape == (1, 2, 3) and np.all(ga.numpy() == 20.0)
    assert gb.shape == (4, 3, 5) and np.all(gb.numpy() == 2.0)


def test_vector_matmul_gradients_keep_vector_shapes():
    v = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64).requires_grad_(True)
    m = tg.ones(2, 3, 4, dtype=tg.float64).requires_grad_(True)
    gv, gm = tg.autograd.grad((v @ m).sum(), (v, m))
    assert gv.shape == (3,) and gv.tolist() == [8.0, 8.0, 8.0]
    assert gm.shape == (2, 3, 4) and gm[0, :, 0].tolist() == [1.0, 2.0, 3.0]


def test_outer_and_inner_promote_like_mul():
    assert tg.outer(tg.tensor([1, 2]), tg.tensor([0.5, 1.0])).dtype == tg.float32
    assert tg.outer(tg.tensor([1.0]), tg.tensor([1.0], dtype=tg.float64)).dtype == tg.float64
    assert tg.ger(tg.tensor([1.0, 2.0]), tg.tensor([3.0])).tolist() == [[3.0], [6.0]]
    assert tg.inner(tg.ones(2, 3), tg.ones(4, 3)).shape == (2, 4)
    assert tg.inner(tg.ones(2, 3), tg.tensor(2.0)).tolist() == [[2.0] * 3] * 2


def test_addmm_with_beta_zero_ignores_nan_in_input():
    c = tg.tensor([float("nan"), float("inf")])
    r = tg.addmm(c, tg.ones(3, 2), tg.ones(2, 2), beta=0, alpha=0.5)
    assert r.tolist() == [[1.0, 1.0]] * 3
    assert tg.addmm(tg.tensor([1.0, 2.0]), tg.ones(1, 2), tg.ones(2, 2), beta=2).tolist() == [[4.0, 6.0]]


def test_einsum_trace_and_diagonal_values_and_gradients():
    x = tg.tensor(np.arange(9.0).reshape(3, 3)).requires_grad_(True)
    t = tg.einsum("ii->", x)
    assert t.tolist() == 12.0
    (g,) = tg.autograd.grad(t, x)
    assert g.tolist() == np.eye(3).tolist()
    assert tg.einsum("ii->i", x).tolist() == [0.0, 4.0, 8.0]
    assert tg.einsum("ii", x).tolist() == 12.0


def test_einsum_broadcasts_size_one_subscripts_and_reduces_their_gradient():
    a = tg.ones(2, 3, dtype=tg.float64).requires_grad_(True)
    b = tg.tensor([[1.0, 2.0, 3.0]], dtype=tg.float64).requires_grad_(True)
    y = tg.einsum("ij,ij->i", a, b)
    assert y.tolist() == [6.0, 6.0]
    ga, gb = tg.autograd.grad(y.sum(), (a, b))
    assert gb.shape == (1, 3) and gb.tolist() == [[2.0, 2.0, 2.0]]


def test_rmatmul_with_non_tensor_left_operand_is_a_type_error_and_ndarray_right_operand_works():
    with pytest.raises(TypeError):
        2 @ tg.ones(2, 3)
    with pytest.raises(TypeError):
        [[1.0, 2.0]] @ tg.ones(2)
    with pytest.raises(TypeError):
        tg.ones(2) @ 2
    r = tg.ones(2, 3) @ np.ones(3, dtype=np.float32)
    assert isinstance(r, tg.Tensor) and r.tolist() == [3.0, 3.0]


# -- errors: torch's types and messages ------------------------------------------------------------
def Z(*shape, dtype=None):  # noqa: N802 - reads like torch.zeros
    return lambda m: m.zeros(*shape, dtype=getattr(m, dtype) if dtype else None)


ERRORS = [
    ("mm_mismatch", lambda m: m.zeros(2, 3) @ m.zeros(4, 5), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    ("mm_function_mismatch", lambda m: m.mm(m.zeros(2, 3), m.zeros(4, 5)), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    ("vec_mat_mismatch", lambda m: m.zeros(3) @ m.zeros(4, 5), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)"),
    ("folded_batch_mismatch", lambda m: m.zeros(5, 2, 3) @ m.zeros(4, 5), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (10x3 and 4x5)"),
    ("mat_vec_mismatch", lambda m: m.zeros(2, 3) @ m.zeros(4), RuntimeError,
     "size mismatch, got input (2), mat (2x3), vec (4)"),
    ("batched_vec_mismatch", lambda m: m.zeros(5, 2, 3) @ m.zeros(4), RuntimeError,
     "size mismatch, got input (10), mat (10x3), vec (4)"),
    ("mv_mismatch", lambda m: m.mv(m.zeros(2, 3), m.zeros(4)), RuntimeError,
     "size mismatch, got input (2), mat (2x3), vec (4)"),
    ("vec_vec_mismatch", lambda m: m.zeros(3) @ m.zeros(4), RuntimeError,
     "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements, but got 3 "
     "and 4 elements respectively"),
    ("bmm_inner_mismatch", lambda m: m.zeros(5, 2, 3) @ m.zeros(5, 4, 5), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [5, 3] but got: [5, 4]."),
    ("vec_batched_mismatch", lambda m: m.zeros(4) @ m.zeros(5, 3, 2), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [5, 4] but got: [5, 3]."),
    ("batch_broadcast_mismatch", lambda m: m.zeros(5, 6, 2, 3) @ m.zeros(5, 3, 5), RuntimeError,
     "The size of tensor a (6) must match the size of tensor b (5) at non-singleton dimension 1"),
    ("batch_mismatch_3d", lambda m: m.zeros(5, 2, 3) @ m.zeros(6, 3, 5), RuntimeError,
     "The size of tensor a (5) must match the size of tensor b (6) at non-singleton dimension 0"),
    ("float32_at_float64", lambda m: m.zeros(2, 3) @ m.zeros(3, 2, dtype=m.float64), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("int_at_float", lambda m: m.zeros(2, 3, dtype=m.int64) @ m.zeros(3, 2), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: long int != float"),
    ("batched_dtype", lambda m: m.zeros(5, 2, 3) @ m.zeros(5, 3, 2, dtype=m.float64), RuntimeError,
     "expected scalar type Float but found Double"),
    ("mat_vec_dtype", lambda m: m.zeros(2, 3, dtype=m.float64) @ m.zeros(3), RuntimeError,
     "addmv input tensors must have the same dtype, but got Float, Double, and Float"),
    ("dot_dtype", lambda m: m.zeros(3) @ m.zeros(3, dtype=m.float64), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    ("zero_dim_operand", lambda m: m.zeros(()) @ m.zeros(3), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
    ("mm_needs_matrix", lambda m: m.mm(m.zeros(2, 3), m.zeros(3)), RuntimeError, "mat2 must be a matrix"),
    ("mm_self_needs_matrix", lambda m: m.mm(m.zeros(3), m.zeros(3, 2)), RuntimeError, "self must be a matrix"),
    ("bmm_needs_3d", lambda m: m.bmm(m.zeros(2, 3), m.zeros(2, 3, 2)), RuntimeError, "batch1 must be a 3D tensor"),
    ("bmm_batch_mismatch", lambda m: m.bmm(m.zeros(2, 2, 3), m.zeros(3, 3, 2)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [3, 3]."),
    ("dot_needs_1d", lambda m: m.dot(m.zeros(3, 1), m.zeros(3)), RuntimeError,
     "1D tensors expected, but got 2D and 1D tensors"),
    ("outer_needs_1d", lambda m: m.outer(m.zeros(2), m.zeros(3, 1)), RuntimeError,
     "outer: Expected 1-D argument vec2, but got 2-D"),
    ("einsum_size_mismatch", lambda m: m.einsum("ij,jk->ik", m.zeros(2, 3), m.zeros(4, 5)), RuntimeError,
     "einsum(): subscript j has size 4 for operand 1 which does not broadcast with previously seen size 3"),
    ("einsum_too_few_operands", lambda m: m.einsum("ij,jk->ik", m.zeros(2, 3)), RuntimeError,
     "einsum(): fewer operands were provided than specified in the equation"),
    ("einsum_subscript_count", lambda m: m.einsum("ij,jk->ik", m.zeros(2, 3, 3), m.zeros(3, 4)), RuntimeError,
     "einsum(): the number of subscripts in the equation (2) does not match the number of dimensions (3) for "
     "operand 0 and no ellipsis was given"),
    ("einsum_unknown_output", lambda m: m.einsum("ij,jk->il", m.zeros(2, 3), m.zeros(3, 4)), RuntimeError,
     "einsum(): output subscript l does not appear in the equation for any input operand"),
    ("einsum_repeated_output", lambda m: m.einsum("ij,jk->ijj", m.zeros(2, 3), m.zeros(3, 4)), RuntimeError,
     "einsum(): output subscript j appears more than once in the output"),
    ("einsum_dtype", lambda m: m.einsum("ij,jk->ik", m.zeros(2, 3), m.zeros(3, 4, dtype=m.float64)), RuntimeError,
     "expected scalar type Float but found Double"),
]


@pytest.mark.parametrize("fn, exc, message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_match_torch_type_and_message(fn, exc, message):
    with pytest.raises(exc) as info:
        fn(tg)
    assert str(info.value) == message


@pytest.mark.parametrize("fn, exc, message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_expected_error_messages_are_torch_own(fn, exc, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(exc) as info:
        fn(torch)
    assert str(info.value) == message


def test_matmul_oracle_values_and_gradients_for_mixed_layouts_and_float32():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4, 5)).astype(np.float32)
    b = rng.standard_normal((5, 6)).astype(np.float32)
    ours_a, ours_b = tg.tensor(a).requires_grad_(True), tg.tensor(b).requires_grad_(True)
    th_a, th_b = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    y, ty = ours_a.transpose(0, 1) @ ours_b, th_a.transpose(0, 1) @ th_b
    assert_close(y, ty.detach(), rtol=1e-5, atol=1e-5)
    g = rng.standard_normal(ty.shape).astype(np.float32)
    ours = tg.autograd.grad(y, (ours_a, ours_b), tg.tensor(g))
    theirs = torch.autograd.grad(ty, (th_a, th_b), torch.tensor(g))
    for o, t in zip(ours, theirs):
        assert_close(o, t, rtol=1e-5, atol=1e-5)
