"""``autograd.Function``: the custom-op API, checked against torch's documented behaviour.

forward(ctx, ...) / backward(ctx, *grads), ctx.save_for_backward / saved_tensors,
ctx.needs_input_grad, ctx.mark_non_differentiable, set_materialize_grads,
multiple outputs, non-tensor arguments, error cases, reuse in one graph and
double backward through a custom function.
"""
import numpy as np
import pytest

import tinygrad_cn as torch
from tinygrad_cn.autograd import Function


def t64(a, requires_grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def arr(t):
    return np.asarray(t.detach().numpy())


# --------------------------------------------------------------------------
# Custom functions used by several tests
# --------------------------------------------------------------------------
class MyExp(Function):
    """Saves its *output* (the usual trick for exp)."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Cube(Function):
    """x**3 with a backward written in differentiable ops (double backward works)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class ScaleAdd(Function):
    """(x * alpha + y, x * y): two outputs, two tensor and two non-tensor arguments."""

    seen_needs = None

    @staticmethod
    def forward(ctx, x, y, alpha, flag):
        assert isinstance(alpha, float) and flag == "tag"
        ScaleAdd.seen_needs = ctx.needs_input_grad
        ctx.alpha = alpha
        ctx.save_for_backward(x, y)
        return x * alpha + y, x * y

    @staticmethod
    def backward(ctx, g_sum, g_prod):
        x, y = ctx.saved_tensors
        gx = g_sum * ctx.alpha + g_prod * y
        gy = g_sum + g_prod * x
        return gx, gy, None, None


# --------------------------------------------------------------------------
# forward / backward / saved tensors
# --------------------------------------------------------------------------
def test_custom_exp_gradient_and_value():
    x = t64([0.0, 0.5, -1.0], requires_grad=True)
    y = MyExp.apply(x)
    assert not y.is_leaf and y.requires_grad
    np.testing.assert_allclose(arr(y), np.exp([0.0, 0.5, -1.0]))
    (y * t64([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(arr(x.grad), np.exp([0.0, 0.5, -1.0]) * [1.0, 2.0, 3.0])


def test_forward_runs_without_recording():
    """Inside forward grad mode is off, so ops there build no graph."""
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            seen["enabled"] = torch.is_grad_enabled()
            y = x * 2
            seen["inner_requires_grad"] = y.requires_grad
            return y

        @staticmethod
        def backward(ctx, g):
            seen["backward_enabled"] = torch.is_grad_enabled()
            return g * 2

    x = t64([1.0, 2.0], requires_grad=True)
    Probe.apply(x).sum().backward()
    assert seen["enabled"] is False
    assert seen["inner_requires_grad"] is False
    assert seen["backward_enabled"] is False  # no create_graph: backward runs under no-grad
    np.testing.assert_allclose(arr(x.grad), [2.0, 2.0])
    assert torch.is_grad_enabled()


def test_save_for_backward_inputs_and_outputs_and_none():
    class F(Function):
        @staticmethod
        def forward(ctx, a, b):
            out = a * b
            ctx.save_for_backward(a, None, out)
            return out

        @staticmethod
        def backward(ctx, g):
            a, nothing, out = ctx.saved_tensors
            assert nothing is None
            # d(ab)/da = b = out / a ; d/db = a
            return g * out / a, g * a

    a = t64([1.0, 2.0, 4.0], requires_grad=True)
    b = t64([3.0, 5.0, 7.0], requires_grad=True)
    F.apply(a, b).sum().backward()
    np.testing.assert_allclose(arr(a.grad), [3.0, 5.0, 7.0])
    np.testing.assert_allclose(arr(b.grad), [1.0, 2.0, 4.0])


def test_ctx_attributes_survive_to_backward():
    class Pow(Function):
        @staticmethod
        def forward(ctx, x, n):
            ctx.n = n
            ctx.save_for_backward(x)
            return x ** n

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * ctx.n * x ** (ctx.n - 1), None

    x = t64([2.0, 3.0], requires_grad=True)
    Pow.apply(x, 3).sum().backward()
    np.testing.assert_allclose(arr(x.grad), [12.0, 27.0])


def test_saved_tensors_freed_after_backward():
    x = t64([1.0, 2.0], requires_grad=True)
    y = MyExp.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.grad_fn.saved_tensors


def test_saved_tensors_kept_with_retain_graph():
    x = t64([1.0, 2.0], requires_grad=True)
    y = MyExp.apply(x)
    y.sum().backward(retain_graph=True)
    (saved,) = y.grad_fn.saved_tensors
    np.testing.assert_allclose(arr(saved), np.exp([1.0, 2.0]))
    y.sum().backward()
    np.testing.assert_allclose(arr(x.grad), 2 * np.exp([1.0, 2.0]))


def test_saved_input_modified_in_place_raises():
    x = t64([1.0, 2.0], requires_grad=True)
    h = x * 1  # non-leaf, may be modified in place
    y = Cube.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# --------------------------------------------------------------------------
# needs_input_grad
# --------------------------------------------------------------------------
def test_needs_input_grad_with_non_tensor_args():
    x = t64([1.0, 2.0], requires_grad=True)
    y = t64([3.0, 4.0])
    seen = {}

    class F(Function):
        @staticmethod
        def forward(ctx, a, k, b, name):
            seen["fwd"] = ctx.needs_input_grad
            return a * k + b

        @staticmethod
        def backward(ctx, g):
            seen["bwd"] = ctx.needs_input_grad
            return g * 2.0, None, (g if ctx.needs_input_grad[2] else None), None

    out = F.apply(x, 2.0, y, "name")
    assert seen["fwd"] == (True, False, False, False)
    out.sum().backward()
    assert seen["bwd"] == (True, False, False, False)
    assert isinstance(seen["bwd"], tuple)
    np.testing.assert_allclose(arr(x.grad), [2.0, 2.0])
    assert y.grad is None


def test_needs_input_grad_second_input_only():
    x = t64([1.0, 2.0])
    y = t64([3.0, 4.0], requires_grad=True)
    ScaleAdd.apply(x, y, 2.0, "tag")
    assert ScaleAdd.seen_needs == (False, True, False, False)


def test_no_node_when_no_input_requires_grad():
    out_sum, out_prod = ScaleAdd.apply(t64([1.0]), t64([2.0]), 1.0, "tag")
    assert out_sum.grad_fn is None and not out_sum.requires_grad
    assert out_prod.grad_fn is None and not out_prod.requires_grad


def test_no_node_under_no_grad():
    x = t64([1.0, 2.0], requires_grad=True)
    with torch.no_grad():
        y = MyExp.apply(x)
    assert y.grad_fn is None and not y.requires_grad


# --------------------------------------------------------------------------
# multiple outputs and non-tensor arguments
# --------------------------------------------------------------------------
def test_multiple_outputs_both_used():
    xv, yv = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])
    x, y = t64(xv, True), t64(yv, True)
    s, p = ScaleAdd.apply(x, y, 3.0, "tag")
    assert s.grad_fn is p.grad_fn
    assert s.output_nr == 0 and p.output_nr == 1
    np.testing.assert_allclose(arr(s), 3.0 * xv + yv)
    np.testing.assert_allclose(arr(p), xv * yv)
    # L = sum(s) + sum(2 p) -> dL/dx = 3 + 2y, dL/dy = 1 + 2x
    (s.sum() + (2 * p).sum()).backward()
    np.testing.assert_allclose(arr(x.grad), 3.0 + 2 * yv)
    np.testing.assert_allclose(arr(y.grad), 1.0 + 2 * xv)


def test_multiple_outputs_one_unused_gets_zero_grad():
    received = {}

    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g0, g1):
            received["g1"] = g1
            return g0 * 2 + g1 * 3

    x = t64([1.0, 2.0], requires_grad=True)
    a, _b = Two.apply(x)
    a.sum().backward()
    # materialize_grads defaults to True: the unused output's grad is zeros, not None
    assert received["g1"] is not None
    np.testing.assert_array_equal(arr(received["g1"]), [0.0, 0.0])
    np.testing.assert_allclose(arr(x.grad), [2.0, 2.0])


def test_set_materialize_grads_false_passes_none():
    received = {}

    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g0, g1):
            received["g1"] = g1
            gx = g0 * 2
            if g1 is not None:
                gx = gx + g1 * 3
            return gx

    x = t64([1.0, 2.0], requires_grad=True)
    a, _b = Two.apply(x)
    a.sum().backward()
    assert received["g1"] is None
    np.testing.assert_allclose(arr(x.grad), [2.0, 2.0])


def test_trailing_none_grads_for_non_tensor_args_accepted():
    x = t64([1.0, 2.0], requires_grad=True)
    y = t64([5.0, 6.0], requires_grad=True)
    s, _ = ScaleAdd.apply(x, y, 0.5, "tag")
    s.sum().backward()
    np.testing.assert_allclose(arr(x.grad), [0.5, 0.5])
    np.testing.assert_allclose(arr(y.grad), [1.0, 1.0])


# --------------------------------------------------------------------------
# mark_non_differentiable
# --------------------------------------------------------------------------
class SortWithIndex(Function):
    @staticmethod
    def forward(ctx, x):
        idx_np = np.argsort(x.detach().numpy())
        idx = torch.tensor(idx_np.astype(np.float64))  # float on purpose: only the mark stops grad
        ctx.mark_non_differentiable(idx)
        ctx.idx = idx_np
        return torch.tensor(x.detach().numpy()[idx_np]), idx

    @staticmethod
    def backward(ctx, g, g_idx):
        out = np.zeros_like(g.numpy())
        out[ctx.idx] = g.numpy()
        return torch.tensor(out)


def test_mark_non_differentiable():
    x = t64([3.0, 1.0, 2.0], requires_grad=True)
    vals, idx = SortWithIndex.apply(x)
    assert vals.requires_grad and vals.grad_fn is not None
    assert not idx.requires_grad
    assert idx.grad_fn is None
    np.testing.assert_array_equal(arr(vals), [1.0, 2.0, 3.0])
    (vals * t64([10.0, 20.0, 30.0])).sum().backward()
    # x[1] went to position 0, x[2] to 1, x[0] to 2
    np.testing.assert_allclose(arr(x.grad), [30.0, 10.0, 20.0])


def test_non_differentiable_output_cannot_backward():
    x = t64([3.0, 1.0, 2.0], requires_grad=True)
    _, idx = SortWithIndex.apply(x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        idx.sum().backward()


def test_integer_outputs_never_require_grad():
    class ArgMaxAndMax(Function):
        @staticmethod
        def forward(ctx, x):
            i = int(np.argmax(x.detach().numpy()))
            ctx.i, ctx.n = i, x.shape[0]
            return torch.tensor(x.detach().numpy()[i]), torch.tensor(i)

        @staticmethod
        def backward(ctx, g, _gi):
            out = np.zeros(ctx.n)
            out[ctx.i] = g.item()
            return torch.tensor(out)

    x = t64([1.0, 5.0, 2.0], requires_grad=True)
    m, i = ArgMaxAndMax.apply(x)
    assert m.requires_grad
    assert not i.requires_grad and i.dtype == torch.int64
    m.backward()
    np.testing.assert_allclose(arr(x.grad), [0.0, 1.0, 0.0])


# --------------------------------------------------------------------------
# errors from badly written backward functions
# --------------------------------------------------------------------------
def test_too_few_grads_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g  # two inputs, one gradient

    a, b = t64([1.0], True), t64([2.0], True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(a, b).sum().backward()


def test_too_many_non_none_grads_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    a = t64([1.0], True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(a).sum().backward()


def test_grad_of_wrong_shape_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return torch.ones(3, dtype=torch.float64)  # input has shape (2,)

    a = t64([1.0, 2.0], True)
    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        Bad.apply(a).sum().backward()


def test_grad_in_broadcast_shape_is_reduced():
    """torch sums a returned gradient that is expandable from the input's shape."""

    class Wide(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, g):
            return g.expand(4, 2)  # input shape (2,) broadcasts to (4, 2)

    a = t64([1.0, 2.0], True)
    Wide.apply(a).sum().backward()
    assert tuple(a.grad.shape) == (2,)
    np.testing.assert_allclose(arr(a.grad), [4.0, 4.0])


def test_grad_of_wrong_dtype_is_cast_to_input_dtype():
    class F(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return (g * 2).double()

    a = torch.tensor([1.0, 2.0], requires_grad=True)  # float32
    F.apply(a).sum().backward()
    assert a.grad.dtype == torch.float32
    np.testing.assert_allclose(arr(a.grad), [2.0, 2.0])


def test_forward_not_implemented():
    class NoForward(Function):
        pass

    with pytest.raises(NotImplementedError):
        NoForward.apply(t64([1.0], True))


def test_backward_not_implemented():
    class NoBackward(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

    y = NoBackward.apply(t64([1.0], True))
    with pytest.raises(NotImplementedError):
        y.sum().backward()


# --------------------------------------------------------------------------
# graph structure, reuse, double backward
# --------------------------------------------------------------------------
def test_grad_fn_is_the_ctx_and_named_after_the_class():
    captured = {}

    class MyOp(Function):
        @staticmethod
        def forward(ctx, x):
            captured["ctx"] = ctx
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = t64([1.0], True)
    y = MyOp.apply(x)
    assert y.grad_fn is captured["ctx"]
    assert "MyOp" in y.grad_fn.name()
    assert y.grad_fn.next_functions[0][0] is not None
    assert type(y.grad_fn.next_functions[0][0]).__name__ == "AccumulateGrad"
    assert y.grad_fn.next_functions[0][0].variable is x


def test_custom_node_name_matches_torch():
    """torch names a custom Function's node '<Class>Backward' (no trailing 0)."""

    class MyOp(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = MyOp.apply(t64([1.0], True))
    assert y.grad_fn.name() == "MyOpBackward"
    assert type(y.grad_fn).__name__ == "MyOpBackward"


def test_custom_function_used_twice_in_graph():
    # z = e^(e^x) + e^x  ->  dz/dx = e^(e^x) e^x + e^x
    xv = np.array([0.1, -0.3, 0.7])
    x = t64(xv, True)
    y1 = MyExp.apply(x)
    y2 = MyExp.apply(y1)
    assert y1.grad_fn is not y2.grad_fn
    assert y2.grad_fn.next_functions[0][0] is y1.grad_fn
    (y2 + y1).sum().backward()
    np.testing.assert_allclose(arr(x.grad), np.exp(np.exp(xv)) * np.exp(xv) + np.exp(xv), rtol=1e-12)


def test_same_input_twice_to_custom_function():
    class MulF(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * a

    x = t64([2.0, -3.0], True)
    MulF.apply(x, x).sum().backward()  # x^2 -> 2x, accumulated over both edges
    np.testing.assert_allclose(arr(x.grad), [4.0, -6.0])


def test_custom_function_double_backward_create_graph():
    # y = x^3; dy/dx = 3x^2; d2y/dx2 = 6x; d3y/dx3 = 6
    xv = np.array([0.5, -2.0, 1.5])
    x = t64(xv, True)
    y = Cube.apply(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    assert g.requires_grad
    np.testing.assert_allclose(arr(g), 3 * xv ** 2)
    (g2,) = torch.autograd.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(arr(g2), 6 * xv)
    (g3,) = torch.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(arr(g3), [6.0, 6.0, 6.0])


def test_custom_function_double_backward_via_backward():
    x = t64([1.0, 2.0], True)
    y = Cube.apply(x).sum()
    y.backward(create_graph=True)
    gx = x.grad
    assert gx.requires_grad
    np.testing.assert_allclose(arr(gx), [3.0, 12.0])
    x.grad = None
    gx.sum().backward()
    np.testing.assert_allclose(arr(x.grad), [6.0, 12.0])


def test_once_differentiable_blocks_double_backward():
    class Sq(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    x = t64([3.0], True)
    (g,) = torch.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(arr(g), [6.0])
    with pytest.raises(RuntimeError):
        torch.autograd.grad(g.sum(), x)


def test_returning_input_unchanged():
    class Ident(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = t64([1.0, 2.0], True)
    y = Ident.apply(x)
    assert y.grad_fn is not None and not y.is_leaf
    assert x.is_leaf and x.grad_fn is None  # the input keeps its place in the graph
    y.sum().backward()
    np.testing.assert_allclose(arr(x.grad), [5.0, 5.0])


def test_custom_function_mixed_with_builtin_ops_and_broadcast():
    # L = sum(exp(x) * w) with x (3,1) broadcast against w (1,4)
    xv = np.array([[0.1], [0.2], [-0.4]])
    wv = np.array([[1.0, 2.0, 3.0, 4.0]])
    x, w = t64(xv, True), t64(wv, True)
    (MyExp.apply(x) * w).sum().backward()
    np.testing.assert_allclose(arr(x.grad), np.exp(xv) * wv.sum(), rtol=1e-12)
    np.testing.assert_allclose(arr(w.grad), np.broadcast_to(np.exp(xv).sum(), (1, 4)), rtol=1e-12)


def test_setup_context_style_function():
    """torch >= 2.0: forward without ctx plus a separate setup_context."""

    class Sq(Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = t64([1.5, -2.0], True)
    y = Sq.apply(x)
    np.testing.assert_allclose(arr(y), [2.25, 4.0])
    y.sum().backward()
    np.testing.assert_allclose(arr(x.grad), [3.0, -4.0])


# --------------------------------------------------------------------------
# oracle: the same custom Function written for both libraries
# --------------------------------------------------------------------------
def test_needs_input_grad_and_grads_match_torch():
    ref = pytest.importorskip("torch")

    def make(lib):
        class F(lib.autograd.Function):
            needs = None

            @staticmethod
            def forward(ctx, a, b, k):
                F.needs = ctx.needs_input_grad
                ctx.save_for_backward(a, b)
                ctx.k = k
                return (a * b).sum() * k, a - b

            @staticmethod
            def backward(ctx, g0, g1):
                a, b = ctx.saved_tensors
                return g0 * b * ctx.k + g1, g0 * a * ctx.k - g1, None
        return F

    rng = np.random.default_rng(0)
    av, bv = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    out = {}
    for name, lib in (("ours", torch), ("ref", ref)):
        F = make(lib)
        a = lib.tensor(av, requires_grad=True)
        b = lib.tensor(bv, requires_grad=False)
        s, d = F.apply(a, b, 1.5)
        (s + (d * d).sum()).backward()
        out[name] = (F.needs, a.grad.detach().numpy().copy())
    assert out["ours"][0] == out["ref"][0]
    np.testing.assert_allclose(out["ours"][1], out["ref"][1], rtol=1e-12)


# --------------------------------------------------------------------------
# in-place custom functions: ctx.mark_dirty
# --------------------------------------------------------------------------
class AddOneInPlace(Function):
    @staticmethod
    def forward(ctx, x):
        x.add_(1)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g * 3  # deliberately not the identity, to see which path the gradient takes


def test_mark_dirty_returns_the_input_moved_in_the_graph():
    w = t64([1.0, 2.0], True)
    a = w * 1  # non-leaf: may be modified in place
    v = a._version
    b = AddOneInPlace.apply(a)
    assert b is a
    assert a._version > v
    assert a.grad_fn is not None and "AddOneInPlace" in a.grad_fn.name()
    np.testing.assert_allclose(arr(a), [2.0, 3.0])
    (a * 2).sum().backward()  # through AddOneInPlace: 2 * 3
    np.testing.assert_allclose(arr(w.grad), [6.0, 6.0])


def test_mark_dirty_on_leaf_requiring_grad_raises():
    w = t64([1.0, 2.0], True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        AddOneInPlace.apply(w)


# --------------------------------------------------------------------------
# smaller torch contracts
# --------------------------------------------------------------------------
def test_needs_input_grad_reflects_requires_grad_even_under_no_grad():
    seen = {}

    class F(Function):
        @staticmethod
        def forward(ctx, x, k):
            seen["needs"] = ctx.needs_input_grad
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, None

    with torch.no_grad():
        y = F.apply(t64([1.0], True), 3.0)
    assert seen["needs"] == (True, False)  # torch: requires_grad per input, whatever the grad mode
    assert not y.requires_grad


def test_save_for_backward_non_tensor_raises_type_error():
    class F(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.raises(TypeError, match="save_for_backward can only save"):
        F.apply(t64([1.0], True))


def test_non_tensor_outputs_are_returned_as_is():
    class F(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, 5, "label"

        @staticmethod
        def backward(ctx, g, _g1, _g2):
            return g * 2

    x = t64([1.0, 2.0], True)
    y, n, s = F.apply(x)
    assert type(n) is int and n == 5
    assert s == "label"
    y.sum().backward()
    np.testing.assert_allclose(arr(x.grad), [2.0, 2.0])
