"""The autograd engine and the Tensor-level autograd API, as torch defines them.

Tensor.backward, .grad accumulation, retain_graph, retain_grad, hooks, is_leaf,
grad_fn / next_functions, the iterative engine on deep, wide and diamond graphs,
broadcast reduction, autograd.grad, version counters and autograd.Variable.
"""
import math
import sys
import time

import numpy as np
import pytest

import tinygrad_cn as torch
from tinygrad_cn.autograd import Variable


def t64(a, requires_grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def arr(t):
    return np.asarray(t.detach().numpy())


# ==========================================================================
# Tensor.backward
# ==========================================================================
def test_backward_scalar_accumulates_into_leaves():
    x = t64([1.0, 2.0, 3.0], True)
    w = t64([4.0, 5.0, 6.0], True)
    (x * w).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [4.0, 5.0, 6.0])
    np.testing.assert_allclose(arr(w.grad), [1.0, 2.0, 3.0])
    assert x.grad.requires_grad is False and x.grad.grad_fn is None


def test_backward_non_scalar_without_gradient_raises():
    x = t64([1.0, 2.0], True)
    y = x * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()


def test_backward_single_element_non_0d_is_allowed():
    x = t64([3.0], True)
    (x * x).backward()  # shape (1,): torch accepts one-element outputs
    np.testing.assert_allclose(arr(x.grad), [6.0])


def test_backward_with_explicit_gradient():
    x = t64([1.0, 2.0, 3.0], True)
    y = x * x
    y.backward(t64([1.0, 0.5, -1.0]))
    np.testing.assert_allclose(arr(x.grad), [2.0, 2.0, -6.0])


def test_backward_gradient_keyword():
    x = t64([[1.0, 2.0]], True)
    (x * 3).backward(gradient=torch.ones(1, 2, dtype=torch.float64))
    np.testing.assert_allclose(arr(x.grad), [[3.0, 3.0]])


def test_backward_gradient_wrong_shape_raises():
    x = t64([1.0, 2.0, 3.0], True)
    with pytest.raises(RuntimeError, match="[Mm]ismatch in shape"):
        (x * 2).backward(t64([1.0, 2.0]))


def test_second_backward_through_freed_graph_raises():
    x = t64([1.0, 2.0], True)
    loss = (x.exp() * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_second_backward_and_accumulates():
    xv = np.array([0.3, -1.2])
    x = t64(xv, True)
    loss = (x.exp() * x).sum()  # d/dx = e^x (1 + x)
    loss.backward(retain_graph=True)
    g1 = arr(x.grad).copy()
    np.testing.assert_allclose(g1, np.exp(xv) * (1 + xv))
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(arr(x.grad), 2 * g1)
    loss.backward()
    np.testing.assert_allclose(arr(x.grad), 3 * g1)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_grad_accumulates_across_graphs_and_can_be_reset():
    x = t64([1.0, 2.0], True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [3.0 + 2.0, 3.0 + 4.0])
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [5.0, 5.0])


def test_accumulated_grad_is_not_aliased_between_leaves():
    a = t64([1.0, 2.0], True)
    b = t64([3.0, 4.0], True)
    (a + b).sum().backward()
    a.grad.mul_(10)  # in-place change of one .grad must not leak into the other
    np.testing.assert_allclose(arr(b.grad), [1.0, 1.0])


def test_backward_on_tensor_not_requiring_grad_raises():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()


def test_backward_on_leaf_itself():
    x = t64(2.0, True)
    x.backward()
    np.testing.assert_allclose(arr(x.grad), 1.0)


def test_backward_inputs_argument_limits_accumulation():
    x = t64([1.0, 2.0], True)
    w = t64([3.0, 4.0], True)
    (x * w).sum().backward(inputs=[x])
    np.testing.assert_allclose(arr(x.grad), [3.0, 4.0])
    assert w.grad is None


def test_create_graph_backward_gives_differentiable_grad():
    x = t64([1.0, 2.0], True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.grad_fn is not None
    np.testing.assert_allclose(arr(g), [3.0, 12.0])
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(arr(x.grad), [6.0, 12.0])


def test_autograd_backward_function_form():
    x = t64([1.0, 2.0], True)
    y1, y2 = (x * 2).sum(), (x * x).sum()
    torch.autograd.backward([y1, y2])
    np.testing.assert_allclose(arr(x.grad), [2.0 + 2.0, 2.0 + 4.0])


def test_autograd_backward_with_grad_tensors():
    x = t64([1.0, 2.0], True)
    torch.autograd.backward([x * 2], grad_tensors=[t64([1.0, -1.0])])
    np.testing.assert_allclose(arr(x.grad), [2.0, -2.0])


# ==========================================================================
# .grad on non-leaves, retain_grad
# ==========================================================================
def test_non_leaf_grad_is_none_without_retain_grad():
    x = t64([1.0, 2.0], True)
    y = x * 2
    (y * y).sum().backward()
    with pytest.warns(UserWarning, match="not a leaf"):  # torch warns on this access
        assert y.grad is None
    assert not y.retains_grad


def test_retain_grad_on_non_leaf():
    x = t64([1.0, 2.0], True)
    y = x * 2
    y.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward()
    np.testing.assert_allclose(arr(y.grad), [4.0, 8.0])  # d(y^2)/dy = 2y
    np.testing.assert_allclose(arr(x.grad), [8.0, 16.0])


def test_retain_grad_accumulates_with_retain_graph():
    x = t64([1.0], True)
    y = x * 3
    y.retain_grad()
    loss = (y * 2).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(arr(y.grad), [4.0])


def test_retain_grad_on_leaf_is_noop():
    x = t64([1.0], True)
    x.retain_grad()
    (x * 3).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [3.0])


# ==========================================================================
# hooks
# ==========================================================================
def test_hook_on_leaf_modifies_grad():
    x = t64([1.0, 2.0], True)
    seen = []
    h = x.register_hook(lambda g: (seen.append(arr(g).copy()), g * 2)[1])
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(arr(x.grad), [6.0, 6.0])
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [3.0, 3.0])
    assert len(seen) == 1


def test_hook_on_leaf_sees_incoming_grad_not_accumulated():
    x = t64([1.0], True)
    seen = []
    x.register_hook(lambda g: seen.append(arr(g).item()))
    (x * 2).sum().backward()
    (x * 5).sum().backward()
    assert seen == [2.0, 5.0]
    np.testing.assert_allclose(arr(x.grad), [7.0])


def test_hook_on_non_leaf_modifies_upstream_grad():
    x = t64([1.0, 2.0], True)
    y = x * x
    seen = []

    def hook(g):
        seen.append(arr(g).copy())
        return g * 10

    h = y.register_hook(hook)
    (y * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(arr(x.grad), [60.0, 120.0])  # 10 * 3 * 2x
    h.remove()
    x.grad = None
    y2 = x * x
    (y2 * 3).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [6.0, 12.0])
    assert len(seen) == 1


def test_hook_removed_before_backward_is_not_called():
    x = t64([1.0], True)
    y = x * 2
    called = []
    h = y.register_hook(lambda g: called.append(1))
    h.remove()
    y.sum().backward()
    assert called == []
    np.testing.assert_allclose(arr(x.grad), [2.0])


def test_hook_returning_none_keeps_grad():
    x = t64([1.0, 2.0], True)
    y = x + 1
    y.register_hook(lambda g: None)
    (y * 4).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [4.0, 4.0])


def test_multiple_hooks_chain_in_registration_order():
    x = t64([1.0], True)
    y = x * 1
    y.register_hook(lambda g: g + 1)
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(arr(x.grad), [20.0])  # (1 + 1) * 10


def test_register_hook_on_tensor_not_requiring_grad_raises():
    x = t64([1.0])
    with pytest.raises(RuntimeError):
        x.register_hook(lambda g: g)


# ==========================================================================
# graph structure: is_leaf, requires_grad, grad_fn, next_functions
# ==========================================================================
def test_is_leaf_and_requires_grad_propagation():
    a = t64([1.0], True)
    b = t64([2.0])
    assert a.is_leaf and b.is_leaf
    c = a * b
    assert not c.is_leaf and c.requires_grad
    d = b * 2
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    e = c.detach()
    assert e.is_leaf and not e.requires_grad
    assert a.grad_fn is None


def test_requires_grad_false_on_non_leaf_raises():
    y = t64([1.0], True) * 2
    with pytest.raises(RuntimeError):
        y.requires_grad = False


def test_requires_grad_on_integer_tensor_raises():
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2, 3]).requires_grad_()


def test_requires_grad_default_false():
    assert not torch.ones(2).requires_grad
    assert not torch.tensor([1.0]).requires_grad
    assert torch.ones(2, requires_grad=True).requires_grad


@pytest.mark.parametrize("name, fn", [
    ("MulBackward0", lambda x: x * 2),
    ("AddBackward0", lambda x: x + 1),
    ("SubBackward0", lambda x: x - 1),
    ("DivBackward0", lambda x: x / 2),
    ("NegBackward0", lambda x: -x),
    ("PowBackward0", lambda x: x ** 2),
    ("ExpBackward0", lambda x: x.exp()),
    ("LogBackward0", lambda x: x.log()),
    ("SqrtBackward0", lambda x: x.sqrt()),
    ("SumBackward0", lambda x: x.sum()),
    ("ReluBackward0", lambda x: x.relu()),
    ("SigmoidBackward0", lambda x: x.sigmoid()),
    ("TanhBackward0", lambda x: x.tanh()),
    ("AbsBackward0", lambda x: x.abs()),
    ("CloneBackward0", lambda x: x.clone()),
    ("MeanBackward0", lambda x: x.mean()),
    ("MmBackward0", lambda x: x @ torch.ones(3, 4, dtype=torch.float64)),
    ("ViewBackward0", lambda x: x.view(6)),
    ("TBackward0", lambda x: x.t()),
    ("TransposeBackward0", lambda x: x.transpose(0, 1)),
    ("UnsqueezeBackward0", lambda x: x.unsqueeze(0)),
])
def test_grad_fn_names(name, fn):
    x = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    y = fn(x)
    assert y.grad_fn.name() == name


def test_grad_fn_type_name_is_node_name():
    """torch: ``type(t.grad_fn).__name__`` is the node name (tools such as torchviz print it)."""
    y = t64([1.0], True) * 2
    assert type(y.grad_fn).__name__ == "MulBackward0"


def test_next_functions_structure():
    x = t64([1.0, 2.0], True)
    w = t64([3.0, 4.0], True)
    c = t64([5.0, 6.0])
    y = x * w + c
    add = y.grad_fn
    assert add.name() == "AddBackward0"
    (mul, mul_nr), (none_node, _) = add.next_functions
    assert mul.name() == "MulBackward0" and mul_nr == 0
    assert none_node is None  # c does not require grad
    (acc_x, _), (acc_w, _) = mul.next_functions
    assert type(acc_x).__name__ == "AccumulateGrad" and acc_x.variable is x
    assert type(acc_w).__name__ == "AccumulateGrad" and acc_w.variable is w
    assert acc_x.next_functions == ()


def test_accumulate_grad_node_is_shared_per_leaf():
    x = t64([1.0], True)
    y1, y2 = x * 2, x * 3
    assert y1.grad_fn.next_functions[0][0] is y2.grad_fn.next_functions[0][0]


def test_next_functions_has_one_entry_per_tensor_input():
    x = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    assert len(x.sum().grad_fn.next_functions) == 1
    assert len(x.sum(1).grad_fn.next_functions) == 1
    assert len(x.exp().grad_fn.next_functions) == 1


def test_multi_output_op_output_nr():
    x = t64([1.0, 2.0, 3.0, 4.0], True)
    a, b = x.split(2)
    assert a.grad_fn is b.grad_fn or a.grad_fn.name() == b.grad_fn.name()
    (a * 1 + b * 10).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [1.0, 1.0, 10.0, 10.0])


# ==========================================================================
# the iterative engine: deep, wide and diamond graphs
# ==========================================================================
def _chain(n, factor):
    a = t64(1.0, True)
    b = a
    for _ in range(n):
        b = b * factor
    return a, b


def test_chain_of_100000_ops_no_recursion_error():
    limit = sys.getrecursionlimit()
    a, b = _chain(10_000, 1.0001)
    t0 = time.perf_counter()
    b.backward()
    t_small = time.perf_counter() - t0
    np.testing.assert_allclose(arr(a.grad), 1.0001 ** 10_000, rtol=1e-9)

    a, b = _chain(100_000, 1.0001)
    t0 = time.perf_counter()
    b.backward()
    t_big = time.perf_counter() - t0
    # 1.0001 ** 100000 = e^(100000 * log 1.0001) ~ 22015.5
    np.testing.assert_allclose(arr(a.grad), math.exp(100_000 * math.log1p(1e-4)), rtol=1e-8)
    assert sys.getrecursionlimit() == limit
    # linear, not quadratic, in the number of nodes (generous slack for a busy machine)
    assert t_big < 30 * t_small + 1.0, (t_small, t_big)
    assert t_big < 20.0
    # dropping a 100k-deep graph must not overflow the C stack in deallocation
    del b
    c = (a * 2).sum()
    c.backward()
    np.testing.assert_allclose(arr(a.grad), math.exp(100_000 * math.log1p(1e-4)) + 2.0, rtol=1e-8)


def test_wide_graph_one_tensor_used_1000_times():
    x = t64([1.0, -2.0], True)
    total = x * 0
    for i in range(1000):
        total = total + x * float(i)
    total.sum().backward()
    s = sum(range(1000))  # 499500
    np.testing.assert_allclose(arr(x.grad), [s, s])


def test_wide_graph_fan_in_via_stack():
    x = t64(2.0, True)
    terms = [x * float(i) for i in range(1000)]
    torch.stack(terms).sum().backward()
    np.testing.assert_allclose(arr(x.grad), sum(range(1000)))


def test_diamond_graph():
    #      x
    #    /   \
    #  a=x^2  b=3x
    #    \   /
    #   c = a * b = 3x^3    dc/dx = 9x^2
    xv = np.array([0.5, -1.5, 2.0])
    x = t64(xv, True)
    a = x * x
    b = x * 3
    c = a * b
    c.sum().backward()
    np.testing.assert_allclose(arr(x.grad), 9 * xv ** 2)


def test_nested_diamonds_node_runs_once():
    # y_{k+1} = y_k * y_k (a diamond per level): y_n = x^(2^n), dy/dx = 2^n x^(2^n - 1)
    x = t64(1.01, True)
    y = x
    n = 12
    for _ in range(n):
        y = y * y
    y.backward()
    np.testing.assert_allclose(arr(x.grad), 2 ** n * 1.01 ** (2 ** n - 1), rtol=1e-9)


def test_graph_with_shared_subexpression_and_multiple_roots():
    xv = np.array([0.2, 0.7])
    x = t64(xv, True)
    s = x.sin() if hasattr(x, "sin") else x.exp()
    y1 = (s * 2).sum()
    y2 = (s * s).sum()
    torch.autograd.backward([y1, y2])
    sv = np.sin(xv) if hasattr(x, "sin") else np.exp(xv)
    ds = np.cos(xv) if hasattr(x, "sin") else np.exp(xv)
    np.testing.assert_allclose(arr(x.grad), (2 + 2 * sv) * ds, rtol=1e-12)


# ==========================================================================
# broadcasting is undone; grads keep the input's shape and dtype
# ==========================================================================
def test_broadcast_grads_have_input_shapes():
    a = t64(np.arange(3.0).reshape(3, 1), True)
    b = t64(np.arange(4.0).reshape(1, 4), True)
    c = t64(2.0, True)
    d = t64(np.ones(4), True)
    ((a * b + c) * d).sum().backward()
    assert tuple(a.grad.shape) == (3, 1)
    assert tuple(b.grad.shape) == (1, 4)
    assert tuple(c.grad.shape) == ()
    assert tuple(d.grad.shape) == (4,)
    # d/da = sum_j b_j d_j = 6 ; d/db_j = sum_i a_i = 3 ; d/dc = 12 ; d/dd_j = sum_i (a_i b_j + 2)
    np.testing.assert_allclose(arr(a.grad), np.full((3, 1), 6.0))
    np.testing.assert_allclose(arr(b.grad), np.full((1, 4), 3.0))
    np.testing.assert_allclose(arr(c.grad), 12.0)
    np.testing.assert_allclose(arr(d.grad), 3.0 * np.arange(4.0) + 6.0)


def test_mixed_float32_float64_grads_keep_leaf_dtype():
    f = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)  # float32
    d = torch.tensor(np.ones((2, 3)), dtype=torch.float64, requires_grad=True)
    y = f * d + f
    assert y.dtype == torch.float64
    y.sum().backward()
    assert f.grad.dtype == torch.float32 and tuple(f.grad.shape) == (3,)
    assert d.grad.dtype == torch.float64 and tuple(d.grad.shape) == (2, 3)
    np.testing.assert_allclose(arr(f.grad), [4.0, 4.0, 4.0])  # sum over 2 rows of (d + 1)
    np.testing.assert_allclose(arr(d.grad), [[1.0, 2.0, 3.0]] * 2)


def test_float32_leaf_times_python_scalar_and_int_tensor():
    f = torch.tensor([1.0, 2.0], requires_grad=True)
    i = torch.tensor([3, 4])
    (f * i * 0.5).sum().backward()
    assert f.grad.dtype == torch.float32
    np.testing.assert_allclose(arr(f.grad), [1.5, 2.0])


def test_autograd_grad_result_dtype_matches_input():
    f = torch.tensor([1.0, 2.0], requires_grad=True)
    d = torch.tensor([3.0, 4.0], dtype=torch.float64)
    (g,) = torch.autograd.grad((f * d).sum(), f)
    assert g.dtype == torch.float32
    np.testing.assert_allclose(arr(g), [3.0, 4.0])


# ==========================================================================
# autograd.grad
# ==========================================================================
def test_grad_basic_and_does_not_touch_dot_grad():
    x = t64([1.0, 2.0], True)
    (g,) = torch.autograd.grad((x ** 2).sum(), x)
    np.testing.assert_allclose(arr(g), [2.0, 4.0])
    assert x.grad is None
    x.grad = t64([100.0, 100.0])
    torch.autograd.grad((x ** 2).sum(), [x])
    np.testing.assert_allclose(arr(x.grad), [100.0, 100.0])


def test_grad_does_not_populate_retained_non_leaf_grad_of_other_tensors():
    x = t64([1.0, 2.0], True)
    w = t64([3.0, 4.0], True)
    (gx,) = torch.autograd.grad((x * w).sum(), x)
    np.testing.assert_allclose(arr(gx), [3.0, 4.0])
    assert w.grad is None and x.grad is None


def test_grad_allow_unused():
    x = t64([1.0, 2.0], True)
    unused = t64([5.0], True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        torch.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = torch.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    np.testing.assert_allclose(arr(gx), [2.0, 2.0])
    assert gu is None


def test_grad_materialize_grads():
    x = t64([1.0, 2.0], True)
    unused = t64([5.0, 6.0, 7.0], True)
    gx, gu = torch.autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    np.testing.assert_array_equal(arr(gu), np.zeros(3))


def test_grad_multiple_outputs_and_inputs():
    xv, wv = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    x, w = t64(xv, True), t64(wv, True)
    y1 = (x * w).sum()  # d/dx = w, d/dw = x
    y2 = (x * x).sum()  # d/dx = 2x
    gx, gw = torch.autograd.grad([y1, y2], [x, w])
    np.testing.assert_allclose(arr(gx), wv + 2 * xv)
    np.testing.assert_allclose(arr(gw), xv)


def test_grad_with_grad_outputs():
    x = t64([1.0, 2.0, 3.0], True)
    y = x * x
    (g,) = torch.autograd.grad(y, x, grad_outputs=t64([1.0, 0.0, -2.0]))
    np.testing.assert_allclose(arr(g), [2.0, 0.0, -12.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        torch.autograd.grad(x * 3, x)


def test_grad_wrt_non_leaf_inputs():
    xv = np.array([1.0, -2.0])
    x = t64(xv, True)
    h = x * 3
    y = (h ** 2).sum()
    gh, gx = torch.autograd.grad(y, [h, x])
    np.testing.assert_allclose(arr(gh), 2 * 3 * xv)  # 2h
    np.testing.assert_allclose(arr(gx), 18 * xv)  # 2h * 3
    with pytest.warns(UserWarning, match="not a leaf"):
        assert h.grad is None
    assert x.grad is None


def test_grad_wrt_output_itself():
    x = t64([1.0, 2.0], True)
    y = x * 2
    (g,) = torch.autograd.grad(y, y, grad_outputs=t64([3.0, 4.0]))
    np.testing.assert_allclose(arr(g), [3.0, 4.0])


def test_grad_input_not_requiring_grad_raises():
    x = t64([1.0], True)
    c = t64([2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad((x * c).sum(), c)


def test_grad_frees_graph_unless_retained():
    x = t64([1.0, 2.0], True)
    y = (x.exp() * x).sum()
    torch.autograd.grad(y, x, retain_graph=True)
    torch.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        torch.autograd.grad(y, x)


def test_grad_result_does_not_require_grad_without_create_graph():
    x = t64([1.0, 2.0], True)
    (g,) = torch.autograd.grad((x ** 3).sum(), x)
    assert not g.requires_grad and g.grad_fn is None


def test_third_derivative_of_x_to_the_4():
    # y = x^4: y' = 4x^3, y'' = 12x^2, y''' = 24x
    xv = np.array([0.5, -1.0, 2.0])
    x = t64(xv, True)
    y = (x ** 4).sum()
    (g1,) = torch.autograd.grad(y, x, create_graph=True)
    (g2,) = torch.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = torch.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(arr(g1), 4 * xv ** 3)
    np.testing.assert_allclose(arr(g2), 12 * xv ** 2)
    np.testing.assert_allclose(arr(g3), 24 * xv)


def test_second_derivative_through_exp_sigmoid_tanh():
    # f = sum(exp(x) + sigmoid(x) + tanh(x))
    # f''  = e^x + s(1-s)(1-2s) + (-2 t (1 - t^2))
    xv = np.array([-0.7, 0.1, 1.3])
    x = t64(xv, True)
    f = (x.exp() + x.sigmoid() + x.tanh()).sum()
    (g,) = torch.autograd.grad(f, x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    s, t = 1 / (1 + np.exp(-xv)), np.tanh(xv)
    np.testing.assert_allclose(arr(h), np.exp(xv) + s * (1 - s) * (1 - 2 * s) - 2 * t * (1 - t * t), rtol=1e-10)


def _mlp_np(wflat, x):
    w1 = wflat[:6].reshape(3, 2)
    w2 = wflat[6:9]
    hidden = np.tanh(x @ w1.T)  # (n, 3)
    out = hidden @ w2  # (n,)
    return np.sum(np.log1p(np.exp(out)))  # softplus, smooth


def test_hessian_of_small_mlp_vs_finite_differences():
    rng = np.random.default_rng(0)
    xv = rng.standard_normal((5, 2))
    wv = rng.standard_normal(9) * 0.7
    w = t64(wv, True)
    x = t64(xv)

    def f(wt):
        w1 = wt[:6].reshape(3, 2)
        w2 = wt[6:9]
        hidden = (x @ w1.t()).tanh()
        out = hidden @ w2
        return (out.exp() + 1).log().sum()

    y = f(w)
    np.testing.assert_allclose(arr(y), _mlp_np(wv, xv), rtol=1e-12)
    (g,) = torch.autograd.grad(y, w, create_graph=True)
    rows = []
    for i in range(9):
        (hi,) = torch.autograd.grad(g[i], w, retain_graph=True)
        rows.append(arr(hi))
    H = np.stack(rows)

    h = 1e-4
    E = np.eye(9) * h
    H_fd = np.empty((9, 9))
    for i in range(9):
        for j in range(9):
            H_fd[i, j] = (_mlp_np(wv + E[i] + E[j], xv) - _mlp_np(wv + E[i] - E[j], xv)
                          - _mlp_np(wv - E[i] + E[j], xv) + _mlp_np(wv - E[i] - E[j], xv)) / (4 * h * h)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-6)


# ==========================================================================
# version counters and in-place safety
# ==========================================================================
def test_version_counter_increments_on_inplace():
    x = t64([1.0, 2.0])
    v0 = x._version
    x.add_(1)
    x.mul_(2)
    assert x._version == v0 + 2


def test_modified_saved_input_raises_at_backward():
    x = t64([1.0, 2.0], True)
    h = x * 1
    y = h * h  # saves h
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modified_saved_output_raises_at_backward():
    x = t64([1.0, 2.0], True)
    y = x.exp()  # exp saves its output
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_unsaved_non_leaf_is_fine():
    x = t64([1.0, 2.0], True)
    y = x * 2  # mul by a scalar does not save x... and y itself is not saved
    y.add_(1)
    (y * 3).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [6.0, 6.0])


def test_inplace_on_leaf_requiring_grad_raises():
    x = t64([1.0, 2.0], True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.mul_(2)


def test_inplace_on_leaf_under_no_grad_is_allowed():
    x = t64([1.0, 2.0], True)
    v = x._version
    with torch.no_grad():
        x.sub_(0.5)
    assert x._version == v + 1
    assert x.is_leaf and x.requires_grad
    np.testing.assert_allclose(arr(x), [0.5, 1.5])


def test_detach_shares_version_counter():
    x = t64([1.0, 2.0], True)
    y = x * x  # saves x
    d = x.detach()
    v = x._version
    d.add_(1)
    assert x._version == v + 1
    np.testing.assert_allclose(arr(x), [2.0, 3.0])  # same storage
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_dot_data_does_not_share_version_counter():
    x = t64([1.0, 2.0], True)
    y = x * x  # saves x
    v = x._version
    x.data.add_(1)
    assert x._version == v
    np.testing.assert_allclose(arr(x), [2.0, 3.0])  # same storage
    y.sum().backward()  # no error: .data hides the change from autograd
    np.testing.assert_allclose(arr(x.grad), [4.0, 6.0])


def test_data_setter_replaces_values_without_graph():
    x = t64([1.0, 2.0], True)
    x.data = t64([5.0, 6.0])
    assert x.is_leaf and x.requires_grad
    (x * x).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [10.0, 12.0])


# ==========================================================================
# autograd.Variable
# ==========================================================================
def test_variable_gives_a_tensor():
    v = Variable(torch.tensor([1.0, 2.0]), requires_grad=True)
    assert isinstance(v, torch.Tensor)
    assert v.requires_grad and v.is_leaf
    (v * v).sum().backward()
    np.testing.assert_allclose(arr(v.grad), [2.0, 4.0])


def test_variable_without_requires_grad_and_isinstance():
    t = torch.tensor([1.0])
    v = Variable(t)
    assert isinstance(v, torch.Tensor)
    assert not v.requires_grad
    assert isinstance(t, Variable)
    assert torch.autograd.Variable is Variable


# ==========================================================================
# oracle: a composite graph against torch
# ==========================================================================
def test_composite_graph_matches_torch():
    ref = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    xv = rng.standard_normal((4, 3))
    wv = rng.standard_normal((3, 5))
    bv = rng.standard_normal(5)
    cv = rng.standard_normal((4, 1))

    def run(lib):
        x = lib.tensor(xv, requires_grad=True)
        w = lib.tensor(wv, requires_grad=True)
        b = lib.tensor(bv, requires_grad=True)
        c = lib.tensor(cv, requires_grad=True)
        h = (x @ w + b).tanh()
        z = h * c + h.exp() / (1 + h * h)  # h used three times, c broadcast
        loss = z.sum() + (z.mean(0) ** 2).sum() - (h.sigmoid() * c).mean()
        loss.backward()
        return [t.grad.detach().numpy().copy() for t in (x, w, b, c)]

    for ours, theirs in zip(run(torch), run(ref)):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


# ==========================================================================
# more engine behaviour
# ==========================================================================
def test_backward_called_inside_no_grad_still_computes_grads():
    x = t64([1.0, 2.0], True)
    loss = (x * x).sum()
    with torch.no_grad():
        loss.backward()
    np.testing.assert_allclose(arr(x.grad), [2.0, 4.0])


def test_grad_zero_then_accumulate():
    x = t64([1.0, 2.0], True)
    (x * 3).sum().backward()
    g = x.grad
    x.grad.zero_()
    (x * 5).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [5.0, 5.0])
    assert x.grad is g  # accumulated in place, as torch does when .grad exists


def test_parameter_updated_before_backward_raises():
    """The optimizer-step-before-backward mistake: the saved weight changed."""
    w = t64([1.0, 2.0], True)
    x = t64([3.0, 4.0])
    loss = (w * x * w).sum()  # saves w
    with torch.no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_inplace_on_view_bumps_base_version():
    x = t64([1.0, 2.0, 3.0], True)
    y = x * 1
    z = (y * y).sum()  # saves y
    v = y[0:2]
    v.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_inplace_on_view_of_leaf_requiring_grad_raises():
    x = t64([1.0, 2.0, 3.0], True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0:2].add_(1)


def test_inplace_on_view_of_non_leaf_gradient():
    # y = 2x; y[1:] *= 3  ->  y = [2 x0, 6 x1, 6 x2]
    x = t64([1.0, 2.0, 3.0], True)
    y = x * 2
    y[1:].mul_(3)
    np.testing.assert_allclose(arr(y), [2.0, 12.0, 18.0])
    y.sum().backward()
    np.testing.assert_allclose(arr(x.grad), [2.0, 6.0, 6.0])


def test_setitem_on_non_leaf_gradient():
    x = t64([1.0, 2.0, 3.0], True)
    s = t64(5.0, True)
    y = x * 1
    y[1] = s * 2  # overwrites: no gradient to x[1]; 2 to s
    (y * t64([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [1.0, 0.0, 100.0])
    np.testing.assert_allclose(arr(s.grad), 20.0)


def test_cast_to_integer_stops_gradient():
    x = t64([1.5, 2.5], True)
    i = x.long()
    assert not i.requires_grad and i.grad_fn is None


def test_autograd_grad_through_deep_chain():
    a, b = _chain(20_000, 1.0)
    (g,) = torch.autograd.grad(b, a)
    np.testing.assert_allclose(arr(g), 1.0)


def test_double_backward_through_deep_chain():
    # y = x^(2) through a chain: z_k = z_{k-1} * 1.0, then y = z^2 -> d2y/dx2 = 2
    x = t64(3.0, True)
    z = x
    for _ in range(3000):
        z = z * 1.0
    (g,) = torch.autograd.grad(z * z, x, create_graph=True)
    (h,) = torch.autograd.grad(g, x)
    np.testing.assert_allclose(arr(g), 6.0)
    np.testing.assert_allclose(arr(h), 2.0)


def test_create_graph_accumulates_into_existing_grad_differentiably():
    x = t64([2.0], True)
    (x ** 2).sum().backward(create_graph=True)  # grad = 2x
    (x ** 3).sum().backward(create_graph=True)  # grad = 2x + 3x^2
    g = x.grad
    np.testing.assert_allclose(arr(g), [4.0 + 12.0])
    (h,) = torch.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(arr(h), [2.0 + 12.0])


def test_grad_outputs_none_entries():
    x = t64([1.0, 2.0], True)
    y1 = (x * 2).sum()
    y2 = x * 3
    gx, = torch.autograd.grad([y1, y2], x, grad_outputs=[None, t64([1.0, 1.0])])
    np.testing.assert_allclose(arr(gx), [5.0, 5.0])


def test_hook_on_multi_output_op_outputs():
    x = t64([1.0, 2.0, 3.0, 4.0], True)
    a, b = x.split(2)
    a.register_hook(lambda g: g * 100)
    (a + b).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [100.0, 100.0, 1.0, 1.0])


def test_backward_inputs_non_leaf():
    x = t64([1.0, 2.0], True)
    h = x * 3
    (h * h).sum().backward(inputs=[h])
    np.testing.assert_allclose(arr(h.grad), [6.0, 12.0])
    assert x.grad is None


def test_post_accumulate_grad_hook():
    x = t64([1.0, 2.0], True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda p: seen.append(arr(p.grad).copy()))
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 2.0])
    np.testing.assert_allclose(seen[1], [5.0, 5.0])  # called after accumulation


def test_grad_mode_restored_after_failing_backward():
    x = t64([1.0, 2.0], True)
    h = x * 1
    y = (h * h).sum()
    h.add_(1)
    with pytest.raises(RuntimeError):
        y.backward()
    assert torch.is_grad_enabled()
    z = x * 2
    assert z.requires_grad


def test_exception_in_hook_propagates_and_engine_recovers():
    x = t64([1.0], True)
    y = x * 2

    def bad(g):
        raise ValueError("hook failed")

    y.register_hook(bad)
    with pytest.raises(ValueError, match="hook failed"):
        y.sum().backward()
    assert torch.is_grad_enabled()
    (x * 3).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [3.0])


def test_create_graph_retains_graph_by_default():
    x = t64([1.0, 2.0], True)
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    y.backward()  # retain_graph defaulted to create_graph=True
    np.testing.assert_allclose(arr(x.grad), 2 * 3 * np.array([1.0, 4.0]))


def test_empty_tensor_backward():
    x = torch.ones(0, 3, dtype=torch.float64, requires_grad=True)
    (x * 2).sum().backward()
    assert tuple(x.grad.shape) == (0, 3)


def test_assigning_grad_of_wrong_shape_raises():
    x = t64([1.0, 2.0], True)
    with pytest.raises(RuntimeError):
        x.grad = t64([1.0, 2.0, 3.0])


def test_hessian_of_least_squares_is_2_xtx_over_n():
    # L(w) = (1/n) |X w - y|^2  ->  ∇L = (2/n) Xᵀ (X w - y),  ∇²L = (2/n) Xᵀ X
    rng = np.random.default_rng(7)
    Xv, yv, wv = rng.standard_normal((6, 3)), rng.standard_normal(6), rng.standard_normal(3)
    X, y, w = t64(Xv), t64(yv), t64(wv, True)
    L = ((X @ w - y) ** 2).mean()
    (g,) = torch.autograd.grad(L, w, create_graph=True)
    np.testing.assert_allclose(arr(g), 2 / 6 * Xv.T @ (Xv @ wv - yv), rtol=1e-12)
    H = np.stack([arr(torch.autograd.grad(g[i], w, retain_graph=True)[0]) for i in range(3)])
    np.testing.assert_allclose(H, 2 / 6 * Xv.T @ Xv, rtol=1e-12)


def test_reentrant_backward_inside_custom_backward():
    """A checkpoint-style Function: backward recomputes the forward with grad
    enabled and runs a nested backward (torch's reentrant checkpointing)."""

    class Checkpoint(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return (x.tanh() * x).detach() if hasattr(x, "detach") else x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            with torch.enable_grad():
                xd = x.detach().requires_grad_(True)
                out = xd.tanh() * xd
            torch.autograd.backward(out, g)
            return xd.grad

    xv = np.array([0.3, -1.1, 2.0])
    x = t64(xv, True)
    (Checkpoint.apply(x) * 2).sum().backward()
    t = np.tanh(xv)
    np.testing.assert_allclose(arr(x.grad), 2 * ((1 - t ** 2) * xv + t), rtol=1e-12)


def test_leaf_grad_is_contiguous_and_writable():
    x = torch.ones(3, 4, dtype=torch.float64, requires_grad=True)
    (x.t() * t64(np.arange(12.0).reshape(4, 3))).sum().backward()
    assert x.grad.is_contiguous() and x.grad.stride() == (4, 1)
    y = torch.ones(3, 4, dtype=torch.float64, requires_grad=True)
    y.sum().backward()  # the incoming gradient is an expanded (stride-0) tensor
    assert y.grad.stride() == (4, 1)
    y.grad.zero_()  # optimizer.zero_grad(set_to_none=False) does this
    y.grad.add_(1)
    np.testing.assert_allclose(arr(y.grad), np.ones((3, 4)))


def test_leaf_grad_with_create_graph_is_contiguous_and_writable():
    x = torch.ones(3, 4, dtype=torch.float64, requires_grad=True)
    x.sum().backward(create_graph=True)
    assert x.grad.stride() == (4, 1)
    with torch.no_grad():
        x.grad.zero_()
    np.testing.assert_allclose(arr(x.grad), np.zeros((3, 4)))


def test_grad_wrt_outputs_of_multi_output_node_and_repeated_inputs():
    x = t64([1.0, 2.0, 3.0, 4.0], True)
    a, b = x.split(2)
    loss = (a * 2).sum() + (b * b).sum()
    ga, gb, gx, gx2 = torch.autograd.grad(loss, [a, b, x, x])
    np.testing.assert_allclose(arr(ga), [2.0, 2.0])
    np.testing.assert_allclose(arr(gb), [6.0, 8.0])
    np.testing.assert_allclose(arr(gx), [2.0, 2.0, 6.0, 8.0])
    np.testing.assert_allclose(arr(gx2), arr(gx))


def test_grad_capture_sees_tensor_hooks():
    x = t64([1.0, 2.0], True)
    y = x * 1
    y.register_hook(lambda g: g * 10)
    (gy,) = torch.autograd.grad(y.sum(), y, retain_graph=True)
    np.testing.assert_allclose(arr(gy), [10.0, 10.0])
    (gx,) = torch.autograd.grad((y * 2).sum(), x)
    np.testing.assert_allclose(arr(gx), [20.0, 20.0])


def test_grad_of_output_not_requiring_grad_raises():
    x = t64([1.0], True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad((x.detach() * 2).sum(), x)
