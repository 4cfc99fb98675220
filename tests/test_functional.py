"""autograd.functional against closed forms (float64), and against torch when it is installed."""
import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp
from tinygrad_cn.testing import assert_close

RNG = np.random.default_rng(1234)


def t64(arr, requires_grad=False):
    return tg.from_numpy(np.array(arr, dtype=np.float64)).requires_grad_(requires_grad)


def randn(*shape):
    return RNG.standard_normal(shape)


def structure(x):
    """('tuple'|'list', ...) nesting with shapes at the leaves."""
    if isinstance(x, (tuple, list)):
        return (type(x).__name__,) + tuple(structure(e) for e in x)
    return tuple(x.shape)


# -- jacobian -----------------------------------------------------------------------

@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_of_linear_map_is_the_matrix(strategy):
    A, x = randn(3, 4), t64(randn(4))
    J = jacobian(lambda v: t64(A) @ v, x, strategy=strategy)
    assert J.shape == (3, 4)
    assert_close(J, A)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_shape_is_output_shape_plus_input_shape(strategy):
    x = randn(2, 3)
    J = jacobian(lambda v: v.sin(), t64(x), strategy=strategy)
    assert J.shape == (2, 3, 2, 3)
    expected = np.zeros((2, 3, 2, 3))
    for i in range(2):
        for j in range(3):
            expected[i, j, i, j] = np.cos(x[i, j])
    assert_close(J, expected)


def test_jacobian_of_reduction_and_scalar_input():
    x = randn(2, 3)
    J = jacobian(lambda v: v.exp().sum(1), t64(x))
    expected = np.zeros((2, 2, 3))
    expected[0, 0], expected[1, 1] = np.exp(x[0]), np.exp(x[1])
    assert_close(J, expected)
    s = jacobian(lambda v: v ** 2, t64(3.0))
    assert s.shape == () and float(s) == pytest.approx(6.0)


def test_jacobian_tuple_nesting_matches_torch_convention():
    x, y = t64(randn(2, 3)), t64(randn(3))

    def two_out(a, b):
        return a @ b, (a ** 2).sum()

    both = jacobian(two_out, (x, y))
    assert structure(both) == ("tuple", ("tuple", (2, 2, 3), (2, 3)), ("tuple", (2, 3), (3,)))
    assert_close(both[0][1], x.detach())  # d(a @ b)/db = a
    assert_close(both[1][0], 2 * x.detach())
    assert_close(both[1][1], np.zeros(3))
    # A one-element tuple stays a tuple; a bare tensor stays bare.
    assert structure(jacobian(lambda a: (a.sin(),), y)) == ("tuple", (3, 3))
    assert structure(jacobian(lambda a: a.sin(), (y,))) == ("tuple", (3, 3))
    assert structure(jacobian(lambda a: (a.sin(),), (y,))) == ("tuple", ("tuple", (3, 3)))


def test_forward_mode_returns_lists_as_torch_does():
    x, y = t64(randn(2)), t64(randn(2))
    J = jacobian(lambda a, b: (a * b, a + b), (x, y), strategy="forward-mode")
    assert structure(J) == ("list", ("list", (2, 2), (2, 2)), ("list", (2, 2), (2, 2)))
    assert_close(J[0][0], np.diag(y.numpy()))


def test_jacobian_independent_input_is_zero_or_raises_in_strict_mode():
    x, y = t64(randn(2)), t64(randn(3))
    J = jacobian(lambda a, b: a * 2, (x, y))
    assert_close(J[1], np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 1"):
        jacobian(lambda a, b: a * 2, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="strategy=\"forward-mode\"` are not supported"):
        jacobian(lambda a: a * 2, x, strict=True, strategy="forward-mode")


def test_jacobian_result_is_detached_unless_create_graph():
    x = t64(randn(3), requires_grad=True)
    assert not jacobian(lambda a: a ** 3, x).requires_grad
    J = jacobian(lambda a: a ** 3, x, create_graph=True)
    assert J.requires_grad
    (g,) = tg.autograd.grad(J.sum(), x)  # d/dx sum(diag(3 x^2)) = 6 x
    assert_close(g, 6 * x.detach())


def test_jacobian_rejects_bad_strategy_and_non_tensors():
    with pytest.raises(AssertionError):
        jacobian(lambda a: a, t64([1.0]), strategy="sideways")
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        jacobian(lambda a: a, [1.0])


# -- hessian --------------------------------------------------------------------------

def test_hessian_of_sum_of_cubes_is_diag_6x():
    x = randn(4)
    H = hessian(lambda v: (v ** 3).sum(), t64(x))
    assert H.shape == (4, 4)
    assert_close(H, np.diag(6 * x))


@pytest.mark.parametrize("outer", ["reverse-mode", "forward-mode"])
def test_hessian_of_quadratic_form_is_symmetrised_matrix(outer):
    A, x = randn(3, 3), randn(3)
    H = hessian(lambda v: v @ (t64(A) @ v), t64(x), outer_jacobian_strategy=outer)
    assert_close(H, A + A.T)


def test_hessian_shape_for_matrix_input_and_tuple_blocks():
    X = randn(2, 3)
    H = hessian(lambda v: (v ** 2).sum(), t64(X))
    assert H.shape == (2, 3, 2, 3)
    assert_close(H.reshape(6, 6), 2 * np.eye(6))
    x, y = randn(2), randn(2)
    blocks = hessian(lambda a, b: (a * b).sum() + (a ** 2).sum(), (t64(x), t64(y)))
    assert structure(blocks) == ("tuple", ("tuple", (2, 2), (2, 2)), ("tuple", (2, 2), (2, 2)))
    assert_close(blocks[0][0], 2 * np.eye(2))
    assert_close(blocks[0][1], np.eye(2))
    assert_close(blocks[1][0], np.eye(2))
    assert_close(blocks[1][1], np.zeros((2, 2)))


def test_hessian_requires_a_single_element_output():
    with pytest.raises(RuntimeError, match="should contain a single element"):
        hessian(lambda v: v ** 2, t64(randn(3)))
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        hessian(lambda v: (v.sum(), v.sum()), t64(randn(3)))


def test_hessian_strict_rejects_linear_function():
    with pytest.raises(RuntimeError, match="jacobian of the user-provided function"):
        hessian(lambda v: (v * 2).sum(), t64(randn(3)), strict=True)


# -- vjp / jvp / hvp / vhp ------------------------------------------------------------------

def test_vjp_is_v_transpose_jacobian():
    A, x, v = randn(3, 4), randn(4), randn(3)
    out, g = vjp(lambda a: t64(A) @ a, t64(x), t64(v))
    assert_close(out, A @ x)
    assert_close(g, v @ A)


def test_vjp_of_scalar_function_needs_no_v():
    x = randn(3)
    out, g = vjp(lambda a: (a ** 2).sum(), t64(x))
    assert_close(g, 2 * x)
    with pytest.raises(RuntimeError, match="v can only be None"):
        vjp(lambda a: a ** 2, t64(x))


def test_vjp_tuple_structure_and_validation():
    x, y = t64(randn(2)), t64(randn(2))
    out, g = vjp(lambda a, b: 2 * a + 3 * b, (x, y), t64(np.ones(2)))
    assert structure(out) == (2,) and structure(g) == ("tuple", (2,), (2,))
    assert_close(g[0], 2 * np.ones(2))
    assert_close(g[1], 3 * np.ones(2))
    with pytest.raises(RuntimeError, match="v has invalid size"):
        vjp(lambda a: a * 2, x, t64(np.ones(3)))


def test_jvp_is_jacobian_times_v():
    A, x, v = randn(3, 4), randn(4), randn(4)
    out, g = jvp(lambda a: t64(A) @ a, t64(x), t64(v))
    assert_close(g, A @ v)
    x2 = randn(2, 3)
    _, g2 = jvp(lambda a: a.exp().sum(1), t64(x2), t64(np.ones((2, 3))))
    assert_close(g2, np.exp(x2).sum(1))


def test_jvp_tuple_inputs_and_outputs():
    x, y, vx, vy = randn(2), randn(2), randn(2), randn(2)
    out, g = jvp(lambda a, b: (a * b, a + b), (t64(x), t64(y)), (t64(vx), t64(vy)))
    assert structure(g) == ("tuple", (2,), (2,))
    assert_close(g[0], vx * y + x * vy)
    assert_close(g[1], vx + vy)


def test_hvp_and_vhp_of_quadratic_form():
    A, x, v = randn(3, 3), randn(3), randn(3)
    f = lambda a: a @ (t64(A) @ a)  # noqa: E731
    out, hv = hvp(f, t64(x), t64(v))
    _, vh = vhp(f, t64(x), t64(v))
    assert_close(out, x @ A @ x)
    assert_close(hv, (A + A.T) @ v)
    assert_close(vh, v @ (A + A.T))


def test_hvp_of_sum_of_cubes_and_tuple_inputs():
    x, v = randn(3), randn(3)
    _, hv = hvp(lambda a: (a ** 3).sum(), t64(x), t64(v))
    assert_close(hv, 6 * x * v)
    y, w = randn(3), randn(3)
    _, hv2 = hvp(lambda a, b: (a * b).sum(), (t64(x), t64(y)), (t64(v), t64(w)))
    assert structure(hv2) == ("tuple", (3,), (3,))
    assert_close(hv2[0], w)
    assert_close(hv2[1], v)


def test_products_with_create_graph_are_differentiable():
    x = t64(randn(3), requires_grad=True)
    v = t64(np.ones(3))
    _, g = jvp(lambda a: a ** 3, x, v, create_graph=True)
    assert g.requires_grad
    (d,) = tg.autograd.grad(g.sum(), x)  # d/dx sum(3 x^2) = 6 x
    assert_close(d, 6 * x.detach())
    _, hv = hvp(lambda a: (a ** 4).sum(), x, v, create_graph=True)
    (d2,) = tg.autograd.grad(hv.sum(), x)  # hv = 12 x^2, so 24 x
    assert_close(d2, 24 * x.detach())


def test_strict_mode_for_products():
    x, y = t64(randn(2)), t64(randn(2))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        vjp(lambda a, b: a * 2, (x, y), t64(np.ones(2)), strict=True)
    with pytest.raises(RuntimeError, match="independent of the inputs|independent of input"):
        jvp(lambda a, b: a * 2, (x, y), (t64(np.ones(2)), t64(np.ones(2))), strict=True)
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function does not require gradients"):
        vjp(lambda a: t64([1.0, 2.0]), x, t64(np.ones(2)), strict=True)


# -- against torch ---------------------------------------------------------------------------------

def _torch_cases():
    """(api, name, function taking the module, input arrays, v arrays or None, call kwargs)."""
    x, y, m = randn(3), randn(3), randn(2, 3)
    return [
        ("jacobian", "exp_sum", lambda L, a: a.exp().sum(1), (m,), None, {}),
        ("jacobian", "tuple_io", lambda L, a, b: (a * b, (a ** 2).sum()), (x, y), None, {}),
        ("jacobian", "tuple_io_cg", lambda L, a, b: (a * b, (a ** 2).sum()), (x, y), None, {"create_graph": True}),
        ("hessian", "mixed", lambda L, a, b: (a.sin() * b).sum(), (x, y), None, {}),
        ("hessian", "single", lambda L, a: (a.tanh() ** 2).sum(), (m,), None, {}),
        ("vjp", "tuple", lambda L, a, b: (a * b, a.exp()), (x, y), (randn(3), randn(3)), {}),
        ("jvp", "tuple", lambda L, a, b: (a * b, a.exp()), (x, y), (randn(3), randn(3)), {}),
        ("hvp", "tuple", lambda L, a, b: (a.sin() * b).sum(), (x, y), (randn(3), randn(3)), {}),
        ("vhp", "single", lambda L, a: (a.sigmoid() * a).sum(), (m,), (randn(2, 3),), {}),
    ]


def test_functional_matches_torch():
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF
    from tinygrad_cn.autograd import functional as F

    for api, name, fn, arrays, vs, kwargs in _torch_cases():
        ours_in = tuple(t64(a) for a in arrays)
        theirs_in = tuple(torch.from_numpy(a.copy()) for a in arrays)
        ours_in = ours_in if len(ours_in) > 1 else ours_in[0]
        theirs_in = theirs_in if len(theirs_in) > 1 else theirs_in[0]
        args_ours, args_theirs = (), ()
        if vs is not None:
            v_ours = tuple(t64(v) for v in vs)
            v_theirs = tuple(torch.from_numpy(v.copy()) for v in vs)
            args_ours = (v_ours if len(v_ours) > 1 else v_ours[0],)
            args_theirs = (v_theirs if len(v_theirs) > 1 else v_theirs[0],)
        ours = getattr(F, api)(lambda *a: fn(tg, *a), ours_in, *args_ours, **kwargs)
        theirs = getattr(TF, api)(lambda *a: fn(torch, *a), theirs_in, *args_theirs, **kwargs)
        assert structure(ours) == structure(theirs), f"{api}/{name}: nesting differs from torch's"
        assert_close(_leaves(ours), [t.detach() for t in _leaves(theirs)], msg=lambda m: f"{api}/{name}: {m}")
        assert [t.requires_grad for t in _leaves(ours)] == [t.requires_grad for t in _leaves(theirs)], \
            f"{api}/{name}: requires_grad of the results differs from torch's"


def _leaves(x):
    if isinstance(x, (tuple, list)):
        return [leaf for e in x for leaf in _leaves(e)]
    return [x]
