"""Matmul on our GEMM, end to end: every matmul form through gradcheck and
gradgradcheck, forward values against np.matmul, a spy proving the GEMM
kernels are the ones doing the work, the DeferredGrad path that adds a weight
gradient straight into ``.grad`` (beta=1), F.linear / linear_relu against
torch, and a hypothesis property over broadcast shapes and layouts.

Meant to pass on both backends (tests/test_numpy_backend.py reruns suites
with TINYGRAD_CN_NO_C=1): there ``kernels`` holds the NumPy reference
functions under the same names, so the spy still sees every call.
"""
import math
import re

import numpy as np
import pytest

import tinygrad_cn as tg
import tinygrad_cn.nn.functional as F
from tinygrad_cn.autograd import detect_anomaly, gradcheck, gradgradcheck
from tinygrad_cn.ops import linalg
from tinygrad_cn.testing import assert_close

try:
    from hypothesis import assume, given, strategies as st
except ImportError:  # hypothesis is in the `test` extra
    given = None


# -- helpers ------------------------------------------------------------------

def rand(rng, *shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def leaf(arr, layout="c"):
    """A leaf tensor equal to ``arr`` that requires grad, stored in ``layout``:
    "c" C order; "T" the last two axes stored swapped (what ``.mT`` of a
    dense tensor gives); "s" every other element of a buffer twice as wide
    (a ``[..., ::2]`` slice); "p" all axes stored reversed (``.permute``).
    1-D arrays can only be sliced, so "T" and "p" fall back to "s" there."""
    arr = np.asarray(arr)
    if layout in ("T", "p") and arr.ndim < 2:
        layout = "s"
    if arr.ndim == 0:
        layout = "c"  # a scalar has one layout
    if layout == "c":
        t = tg.tensor(arr)
    elif layout == "T":
        t = tg.tensor(np.ascontiguousarray(np.swapaxes(arr, -1, -2))).mT
    elif layout == "s":
        buf = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), arr.dtype)
        buf[..., ::2] = arr
        t = tg.tensor(buf)[..., ::2]
    elif layout == "p":
        perm = tuple(reversed(range(arr.ndim)))
        t = tg.tensor(np.ascontiguousarray(arr.transpose(perm))).permute(*perm)
    else:
        raise ValueError(layout)
    t = t.detach()
    if arr.dtype.kind == "f":
        t.requires_grad_()
    # where the shape allows it, the layout must really differ from C order,
    # or the non-contiguous cases test nothing
    long_axes = [n > 1 for n in arr.shape]
    differs = {"c": False, "s": long_axes[-1:] == [True], "T": long_axes[-2:] == [True, True],
               "p": sum(long_axes) >= 2}[layout]
    if differs and arr.size:  # an empty array is C-contiguous in any layout
        assert not t._data.flags.c_contiguous, (arr.shape, layout)
    return t


def npy(t):
    """A tensor's values as an ndarray, whether or not it requires grad."""
    return t.detach().numpy()


def matmul_bound(a, b, dtype):
    """An elementwise error bound for a float matmul of k terms: any summation
    order stays within k * eps * (|a| @ |b|) (gamma_k, with slack for FMA)."""
    k = a.shape[-1] if a.ndim else 1
    return (k + 2) * np.finfo(dtype).eps * np.matmul(np.abs(a), np.abs(b)) + np.finfo(dtype).tiny


def reduce_to(g, shape):
    """Sum a broadcast gradient back to ``shape`` (what autograd must do)."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    axes = tuple(i for i, (s, n) in enumerate(zip(shape, g.shape)) if s == 1 and n != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


class KernelSpy:
    """Stands in for ``linalg.kernels``: records gemm / gemm_batched calls
    (arrays by identity, keyword arguments as given) and delegates."""

    def __init__(self, real):
        self._real = real
        self.calls = []

    def __getattr__(self, name):
        return getattr(self._real, name)

    def gemm(self, a, b, *args, **kwargs):
        self.calls.append(("gemm", a, b, args, kwargs))
        return self._real.gemm(a, b, *args, **kwargs)

    def gemm_batched(self, a, b, *args, **kwargs):
        self.calls.append(("gemm_batched", a, b, args, kwargs))
        return self._real.gemm_batched(a, b, *args, **kwargs)

    def names(self):
        return [c[0] for c in self.calls]

    def into(self):
        """The accumulating calls: (out, beta) of every gemm given an ``out``."""
        return [(c[4]["out"], c[4].get("beta")) for c in self.calls if c[4].get("out") is not None]


@pytest.fixture
def spy(monkeypatch):
    s = KernelSpy(linalg.kernels)
    monkeypatch.setattr(linalg, "kernels", s)
    return s


# -- 1. gradcheck and gradgradcheck for every form -----------------------------

def _linear_relu_inputs(rng, x_shape, out_features, bias, margin=0.05):
    """Draws for relu(linear) whose pre-activations all lie >= margin away from
    the kink, with both signs present, so finite differences never cross it."""
    k = x_shape[-1]
    for _ in range(200):
        x, w = rand(rng, *x_shape), rand(rng, out_features, k)
        b = rand(rng, out_features) if bias else None
        pre = x @ w.T + (0 if b is None else b)
        if np.abs(pre).min() >= margin and (pre > 0).any() and (pre < 0).any():
            return [x, w] + ([b] if bias else [])
    raise AssertionError("no draw kept away from the relu kink")


# name -> (function of the input tensors, input shapes or a drawing function)
FORMS = {
    "1d@1d": (lambda a, b: a @ b, [(4,), (4,)]),
    "1d@2d": (lambda a, b: a @ b, [(4,), (4, 3)]),
    "2d@1d": (lambda a, b: a @ b, [(3, 4), (4,)]),
    "2d@2d matmul": (tg.matmul, [(3, 4), (4, 2)]),
    "2d@2d torch.mm": (tg.mm, [(3, 4), (4, 2)]),
    "2d@2d Tensor.mm": (lambda a, b: a.mm(b), [(3, 4), (4, 2)]),
    "2d@2d operator": (lambda a, b: a @ b, [(3, 4), (4, 2)]),
    "nd@1d": (lambda a, b: a @ b, [(2, 3, 4), (4,)]),
    "1d@nd": (lambda a, b: a @ b, [(4,), (2, 4, 3)]),
    "nd@2d": (lambda a, b: a @ b, [(2, 3, 4), (4, 2)]),
    "2d@nd": (lambda a, b: a @ b, [(3, 4), (2, 4, 2)]),
    "broadcast batch": (lambda a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)]),
    "bmm": (tg.bmm, [(2, 3, 4), (2, 4, 2)]),
    "mv": (tg.mv, [(3, 4), (4,)]),
    "addmm": (lambda c, a, b: tg.addmm(c, a, b, beta=0.5, alpha=2.0), [(3, 2), (3, 4), (4, 2)]),
    "addmm broadcast input": (lambda c, a, b: tg.addmm(c, a, b), [(2,), (3, 4), (4, 2)]),
    "baddbmm": (lambda c, a, b: tg.baddbmm(c, a, b, beta=0.5, alpha=2.0), [(2, 3, 2), (2, 3, 4), (2, 4, 2)]),
    "addmv": (lambda c, a, b: tg.addmv(c, a, b, beta=0.5, alpha=2.0), [(3,), (3, 4), (4,)]),
    "linear 1d": (F.linear, [(4,), (5, 4)]),
    "linear 2d": (F.linear, [(3, 4), (5, 4)]),
    "linear 3d": (F.linear, [(2, 3, 4), (5, 4)]),
    "linear 1d bias": (F.linear, [(4,), (5, 4), (5,)]),
    "linear 2d bias": (F.linear, [(3, 4), (5, 4), (5,)]),
    "linear 3d bias": (F.linear, [(2, 3, 4), (5, 4), (5,)]),
    "linear_relu 1d": (F.linear_relu, lambda rng: _linear_relu_inputs(rng, (4,), 5, False)),
    "linear_relu 2d": (F.linear_relu, lambda rng: _linear_relu_inputs(rng, (3, 4), 5, False)),
    "linear_relu 2d bias": (F.linear_relu, lambda rng: _linear_relu_inputs(rng, (3, 4), 5, True)),
    "linear_relu 3d bias": (F.linear_relu, lambda rng: _linear_relu_inputs(rng, (2, 3, 4), 5, True)),
}

# Non-contiguous variant: input i is stored as LAYOUTS[i % 3].
LAYOUTS = ("T", "s", "p")


def _form_inputs(name, contiguous, seed=0):
    fn, spec = FORMS[name]
    rng = np.random.default_rng(seed)
    arrays = spec(rng) if callable(spec) else [rand(rng, *s) for s in spec]
    layouts = ["c"] * len(arrays) if contiguous else [LAYOUTS[i % 3] for i in range(len(arrays))]
    return fn, tuple(leaf(a, lay) for a, lay in zip(arrays, layouts)), rng


@pytest.mark.parametrize("contiguous", [True, False], ids=["contiguous", "noncontiguous"])
@pytest.mark.parametrize("name", list(FORMS))
def test_gradcheck_every_form(name, contiguous):
    fn, inputs, _ = _form_inputs(name, contiguous)
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize("contiguous", [True, False], ids=["contiguous", "noncontiguous"])
@pytest.mark.parametrize("name", list(FORMS))
def test_gradgradcheck_every_form(name, contiguous):
    fn, inputs, rng = _form_inputs(name, contiguous)
    out_shape = fn(*inputs).shape
    # seeded grad_outputs (gradgradcheck's own are unseeded), laid out like the inputs
    go = leaf(rng.uniform(-1, 1, tuple(out_shape)), "c" if contiguous else "s")
    assert gradgradcheck(fn, inputs, (go,))


# -- 2. forward values against np.matmul ----------------------------------------

FORWARD_SHAPES = [
    ((4,), (4,)), ((4,), (4, 3)), ((3, 4), (4,)), ((3, 4), (4, 5)),
    ((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)), ((3, 4, 5), (3, 5, 2)),
    ((33, 257), (257, 17)), ((2, 40, 70), (70, 65)),  # long k: the tolerance must scale with it
    # empty dims: results of zeros (k = 0) or of no elements
    ((0,), (0,)), ((0, 3), (3, 4)), ((3, 0), (0, 4)), ((3, 4), (4, 0)), ((2, 0, 3), (3, 4)),
    ((0, 2, 3), (3, 4)), ((2, 3, 0), (2, 0, 5)), ((0, 3, 4), (1, 4, 2)), ((2, 3, 0), (0,)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", FORWARD_SHAPES, ids=str)
def test_forward_matches_numpy(shapes, dtype):
    rng = np.random.default_rng(1)
    a, b = (rand(rng, *s, dtype=dtype) for s in shapes)
    out = tg.tensor(a) @ tg.tensor(b)
    ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert out.dtype == tg.tensor(a).dtype
    assert tuple(out.shape) == ref.shape
    assert (np.abs(out.numpy() - ref) <= matmul_bound(a, b, dtype)).all()


@pytest.mark.parametrize("layouts", [("T", "s"), ("p", "T"), ("s", "p")])
def test_forward_noncontiguous_matches_numpy(layouts):
    rng = np.random.default_rng(2)
    for sa, sb in [((5, 7), (7, 6)), ((2, 5, 7), (7, 6)), ((2, 5, 7), (2, 7, 6)), ((3, 7), (2, 7, 4))]:
        a, b = rand(rng, *sa), rand(rng, *sb)
        out = leaf(a, layouts[0]) @ leaf(b, layouts[1])
        assert (np.abs(npy(out) - a @ b) <= matmul_bound(a, b, np.float64)).all()


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((4,), (4,)),
                                    ((4,), (4, 2)), ((0, 3), (3, 2)), ((3, 0), (0, 2))], ids=str)
def test_integer_matmul_is_exact(shapes, dtype):
    rng = np.random.default_rng(3)
    # exact equality and the dtype kept; the next test catches a float64 detour
    hi = 2 ** 20 if dtype == np.int64 else 2 ** 10
    a, b = (rng.integers(-hi, hi, s).astype(dtype) for s in shapes)
    out = tg.tensor(a) @ tg.tensor(b)
    assert out.numpy().dtype == dtype
    np.testing.assert_array_equal(out.numpy(), np.matmul(a, b))


def test_int64_matmul_beyond_float64_precision():
    a = np.array([[2 ** 40 + 1, 3]], dtype=np.int64)
    b = np.array([[2 ** 20 + 1], [7]], dtype=np.int64)
    assert (tg.tensor(a) @ tg.tensor(b)).numpy().tolist() == np.matmul(a, b).tolist()


# -- 3. the GEMM kernels do the work ----------------------------------------------

def test_float_matmul_calls_gemm(spy):
    rng = np.random.default_rng(4)
    x, w = rand(rng, 3, 4, dtype=np.float32), rand(rng, 4, 5, dtype=np.float32)
    out = tg.tensor(x) @ tg.tensor(w)
    assert spy.names() == ["gemm"]
    assert out.numpy().dtype == np.float32


def test_nd_at_2d_is_one_gemm(spy):
    rng = np.random.default_rng(4)
    tg.tensor(rand(rng, 2, 3, 4)) @ tg.tensor(rand(rng, 4, 5))
    assert spy.names() == ["gemm"]
    assert spy.calls[0][1].shape == (6, 4)  # the batch folded into rows


def test_batched_matmul_calls_gemm_batched(spy):
    rng = np.random.default_rng(4)
    tg.tensor(rand(rng, 3, 4, 5, dtype=np.float32)) @ tg.tensor(rand(rng, 3, 5, 2, dtype=np.float32))
    assert spy.names() == ["gemm_batched"]


def test_integer_matmul_calls_no_kernel(spy):
    tg.tensor(np.ones((3, 4), np.int64)) @ tg.tensor(np.ones((4, 5), np.int64))
    tg.tensor(np.ones((3, 3, 4), np.int64)) @ tg.tensor(np.ones((3, 4, 5), np.int64))
    assert spy.calls == []


@pytest.mark.parametrize("relu", [False, True])
def test_linear_is_one_fused_gemm(spy, relu):
    rng = np.random.default_rng(4)
    x, w, b = (tg.tensor(rand(rng, *s, dtype=np.float32)) for s in [(2, 3, 4), (5, 4), (5,)])
    (F.linear_relu if relu else F.linear)(x, w, b)
    assert spy.names() == ["gemm"]
    kw = spy.calls[0][4]
    assert kw["bias"] is b._data
    assert kw.get("activation") == ("relu" if relu else None)


def test_backward_runs_on_gemm(spy):
    rng = np.random.default_rng(4)
    x, w = leaf(rand(rng, 3, 4)), leaf(rand(rng, 4, 5))
    (x @ w).sum().backward()
    assert spy.names() == ["gemm"] * 3  # forward, dx = g @ w^T, dw = x^T @ g


# -- 4. DeferredGrad: the weight gradient written straight into .grad ------------

def _xwg(seed=5, m=5, k=3, n=4, dtype=np.float64):
    """x (no grad), leaf w, and a fixed non-uniform upstream gradient G:
    for loss = sum((x @ w) * G), dL/dw = x^T @ G."""
    rng = np.random.default_rng(seed)
    return rand(rng, m, k, dtype=dtype), leaf(rand(rng, k, n, dtype=dtype)), rand(rng, m, n, dtype=dtype)


def _loss(x, w, G):
    return ((tg.tensor(x) @ w) * tg.tensor(G)).sum()


def test_two_backwards_accumulate_in_place_with_beta_1(spy):
    x, w, G = _xwg()
    _loss(x, w, G).backward()
    grad, buf = w.grad, w.grad._data
    first = buf.copy()
    assert_close(first, x.T @ G, rtol=1e-13, atol=1e-13)
    assert spy.into() == []  # nothing to add into on the first pass
    _loss(x, w, G).backward()
    into = spy.into()
    assert len(into) == 1 and into[0][0] is buf and into[0][1] == 1.0
    assert w.grad is grad and w.grad._data is buf
    assert_close(w.grad, 2 * first, rtol=1e-14, atol=1e-14)
    assert_close(w.grad, 2 * (x.T @ G), rtol=1e-13, atol=1e-13)


def test_in_place_accumulation_bumps_the_grad_version():
    # the beta=1 write is an in-place change of w.grad: like `w.grad += g` it
    # must bump the version counter that in-place checks read
    x, w, G = _xwg()
    _loss(x, w, G).backward()
    v = w.grad._vc[0]
    _loss(x, w, G).backward()
    assert w.grad._vc[0] > v


@pytest.mark.parametrize("layout", ["T", "s"])
def test_accumulates_into_user_set_noncontiguous_grad(layout, spy):
    x, w, G = _xwg()
    start = np.random.default_rng(6).standard_normal(tuple(w.shape))
    w.grad = leaf(start, layout).detach()
    grad, buf = w.grad, w.grad._data
    assert not buf.flags.c_contiguous
    _loss(x, w, G).backward()
    assert w.grad is grad and w.grad._data is buf
    assert_close(w.grad, start + x.T @ G, rtol=1e-13, atol=1e-13)


def test_tensor_hook_sees_gradient_and_replaces_it():
    x, w, G = _xwg()
    seen = []

    def hook(g):
        seen.append(npy(g).copy())
        return g * 3

    w.register_hook(hook)
    _loss(x, w, G).backward()
    assert_close(seen[0], x.T @ G)
    assert_close(w.grad, 3 * (x.T @ G))
    _loss(x, w, G).backward()  # the hook also runs when a .grad exists
    assert_close(seen[1], x.T @ G)
    assert_close(w.grad, 6 * (x.T @ G))


def test_hook_returning_none_keeps_gradient():
    x, w, G = _xwg()
    w.register_hook(lambda g: None)
    _loss(x, w, G).backward()
    assert_close(w.grad, x.T @ G)


def test_post_accumulate_hook_sees_the_accumulated_grad():
    x, w, G = _xwg()
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(npy(p.grad).copy()))
    _loss(x, w, G).backward()  # fresh .grad
    _loss(x, w, G).backward()  # in place, beta=1
    assert len(seen) == 2
    assert_close(seen[0], x.T @ G)
    assert_close(seen[1], 2 * (x.T @ G))


def test_weight_used_twice_in_one_graph_gets_the_sum():
    rng = np.random.default_rng(7)
    x, y, w, G, H = rand(rng, 5, 3), rand(rng, 2, 3), leaf(rand(rng, 3, 4)), rand(rng, 5, 4), rand(rng, 2, 4)
    expected = x.T @ G + y.T @ H
    for passes in (1, 2):  # the second pass adds into an existing .grad
        ((tg.tensor(x) @ w) * tg.tensor(G)).sum().add(((tg.tensor(y) @ w) * tg.tensor(H)).sum()).backward()
        assert_close(w.grad, passes * expected)


def test_autograd_grad_returns_value_and_leaves_grad_alone():
    x, w, G = _xwg()
    (g,) = tg.autograd.grad(_loss(x, w, G), w)
    assert_close(g, x.T @ G)
    assert w.grad is None
    w.grad = tg.tensor(np.ones(tuple(w.shape)))
    (g,) = tg.autograd.grad(_loss(x, w, G), w)
    assert_close(g, x.T @ G)
    assert_close(w.grad, np.ones(tuple(w.shape)))


def test_backward_with_inputs_accumulates_only_those():
    rng = np.random.default_rng(8)
    x, w, G = leaf(rand(rng, 5, 3)), leaf(rand(rng, 3, 4)), rand(rng, 5, 4)
    ((x @ w) * tg.tensor(G)).sum().backward(inputs=[w])
    assert x.grad is None
    assert_close(w.grad, npy(x).T @ G)


def test_create_graph_hessian_vector_product():
    # loss = sum((x w)^2): g = dL/dw = 2 x^T x w, and d(sum g)/dw = 2 x^T x 1 1^T
    x, w, _ = _xwg(k=3, n=4)
    loss = ((tg.tensor(x) @ w) ** 2).sum()
    (g,) = tg.autograd.grad(loss, w, create_graph=True)
    assert g.requires_grad
    assert_close(g, 2 * x.T @ x @ npy(w))
    g.sum().backward()
    assert_close(w.grad, 2 * x.T @ x @ np.ones((3, 4)))


def test_backward_create_graph_keeps_grad_differentiable():
    # dL/dw = 2 x^T x w depends on w, so under create_graph .grad carries a graph;
    # the second pass adds out of place, in the graph, not with beta=1
    x, w, _ = _xwg()
    for passes in (1, 2):
        ((tg.tensor(x) @ w) ** 2).sum().backward(create_graph=True)
        assert w.grad.requires_grad
        assert_close(w.grad, passes * 2 * x.T @ x @ npy(w))


def test_anomaly_mode_gives_right_grads():
    x, w, G = _xwg()
    with detect_anomaly():
        _loss(x, w, G).backward()
        grad = w.grad
        _loss(x, w, G).backward()
    assert w.grad is grad
    assert_close(w.grad, 2 * (x.T @ G))


def test_retain_grad_on_product_and_on_non_leaf_weight():
    rng = np.random.default_rng(9)
    x, w, G = rand(rng, 5, 3), leaf(rand(rng, 3, 4)), rand(rng, 5, 4)
    w2 = w * 2  # a non-leaf weight: its gradient cannot be deferred into a leaf
    w2.retain_grad()
    y = tg.tensor(x) @ w2
    y.retain_grad()
    (y * tg.tensor(G)).sum().backward()
    assert_close(y.grad, G)
    assert_close(w2.grad, x.T @ G)
    assert_close(w.grad, 2 * (x.T @ G))


def test_retain_graph_backward_twice():
    x, w, G = _xwg()
    loss = _loss(x, w, G)
    loss.backward(retain_graph=True)
    loss.backward()
    assert_close(w.grad, 2 * (x.T @ G))


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 5, 3), (3,)], ids=str)
@pytest.mark.parametrize("relu", [False, True])
def test_linear_weight_grad_accumulates(spy, x_shape, relu):
    rng = np.random.default_rng(10)
    x, W, b = rand(rng, *x_shape), leaf(rand(rng, 4, 3)), leaf(rand(rng, 4))
    G = rand(rng, *x_shape[:-1], 4)
    pre = x @ npy(W).T + npy(b)
    Gm = G * (pre > 0) if relu else G  # relu passes the gradient where pre > 0
    x2, G2 = x.reshape(-1, 3), Gm.reshape(-1, 4)  # every leading dim is summed over
    fn = F.linear_relu if relu else F.linear
    (fn(tg.tensor(x), W, b) * tg.tensor(G)).sum().backward()
    buf = W.grad._data
    (fn(tg.tensor(x), W, b) * tg.tensor(G)).sum().backward()
    assert any(out is buf and beta == 1.0 for out, beta in spy.into())
    assert W.grad._data is buf
    assert_close(W.grad, 2 * G2.T @ x2, rtol=1e-13, atol=1e-13)
    assert_close(b.grad, 2 * G2.sum(0), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fresh_grads_are_dense_private_arrays(dtype):
    rng = np.random.default_rng(11)
    x = leaf(rand(rng, 5, 3, dtype=dtype))
    w1 = leaf(rand(rng, 3, 4, dtype=dtype), "T")  # a non-contiguous leaf still gets a C-order grad
    w2 = leaf(rand(rng, 3, 4, dtype=dtype))
    W3 = leaf(rand(rng, 4, 3, dtype=dtype))
    ((x @ w1) + (x @ w2) + F.linear(x, W3)).sum().backward()
    grads = [x.grad, w1.grad, w2.grad, W3.grad]
    for g in grads:
        assert g._data.dtype == dtype
        assert g._data.flags.c_contiguous and g._data.flags.writeable
    arrays = [g._data for g in grads] + [t._data for t in (x, w1, w2, W3)]
    for i, a in enumerate(arrays[:4]):
        assert not any(np.shares_memory(a, b) for b in arrays[i + 1:])
    # w1's and w2's gradients are equal (x^T 1) yet separate
    assert_close(w1.grad, w2.grad)
    w1.grad.zero_()
    assert np.abs(w2.grad.numpy()).sum() > 0


def test_grads_do_not_alias_the_upstream_gradient():
    # a 1-D linear's bias gradient and addmm's input gradient are the upstream
    # gradient itself; .grad must still get its own buffer
    rng = np.random.default_rng(11)
    x, W, b = leaf(rand(rng, 3)), leaf(rand(rng, 4, 3)), leaf(rand(rng, 4))
    G = tg.tensor(rand(rng, 4))
    F.linear(x, W, b).backward(G)
    assert not np.shares_memory(b.grad._data, G._data)
    c1, c2, a, w = leaf(rand(rng, 3, 2)), leaf(rand(rng, 3, 2)), leaf(rand(rng, 3, 4)), leaf(rand(rng, 4, 2))
    H = tg.tensor(rand(rng, 3, 2))
    (tg.addmm(c1, a, w) + c2).backward(H)
    assert not np.shares_memory(c1.grad._data, H._data)
    assert not np.shares_memory(c1.grad._data, c2.grad._data)
    c1.grad.zero_()
    assert_close(c2.grad, H)


@pytest.mark.parametrize("m,k,n", [(0, 3, 2), (3, 0, 2), (3, 2, 0)])
def test_empty_products_give_zero_grads(m, k, n):
    rng = np.random.default_rng(12)
    x, w = leaf(rand(rng, m, k)), leaf(rand(rng, k, n))
    (x @ w).sum().backward()
    w.grad = tg.tensor(np.full((k, n), 7.0))  # an existing grad must stay as it is
    (x @ w).sum().backward()
    assert_close(w.grad, np.full((k, n), 7.0))
    assert_close(x.grad, np.zeros((m, k)))


def test_deferred_grad_uses_forward_time_values():
    rng = np.random.default_rng(13)
    A0, B0, C = rand(rng, 3, 4), rand(rng, 4, 2), rand(rng, 4, 2)
    A, B = leaf(A0), leaf(B0)

    def sgd_step(p):  # the "optimizer step in backward" pattern
        with tg.no_grad():
            p.sub_(p.grad * 10)

    A.register_post_accumulate_grad_hook(sgd_step)
    # B has a second contribution that arrives after A's .grad was accumulated
    ((B * tg.tensor(C)).sum() + (A @ B).sum()).backward()
    assert_close(B.grad, A0.T @ np.ones((3, 2)) + C)


# -- 5. F.linear / linear_relu: errors and the torch oracle ------------------------

F32, F64 = np.float32, np.float64
LINEAR_ERRORS = [
    (((2, 3), F32), ((4, 5), F32), None, "mat1 and mat2 shapes cannot be multiplied (2x3 and 5x4)"),
    (((3,), F32), ((4, 5), F32), None, "mat1 and mat2 shapes cannot be multiplied (1x3 and 5x4)"),
    (((2, 2, 3), F32), ((4, 5), F32), None, "mat1 and mat2 shapes cannot be multiplied (4x3 and 5x4)"),
    (((2, 3), F32), ((4, 3), F64), None, "expected m1 and m2 to have the same dtype, but got: float != double"),
    (((2, 3), F64), ((4, 3), F32), None, "expected m1 and m2 to have the same dtype, but got: double != float"),
    (((2, 3), F32), ((4, 3), F32), ((4,), F64), "self and mat2 must have the same dtype, but got Double and Float"),
    (((2, 3), F32), ((4, 3), F32), ((5,), F32), "The expanded size of the tensor (4) must match the existing size "
     "(5) at non-singleton dimension 1.  Target sizes: [2, 4].  Tensor sizes: [5]"),
]
# torch folds a 1-D input, and a contiguous 3-D one, into the 2-D addmm and names the folded sizes
LINEAR_ERRORS_FOLDED = [
    (((3,), F32), ((4, 3), F32), ((5,), F32), "The expanded size of the tensor (4) must match the existing size "
     "(5) at non-singleton dimension 1.  Target sizes: [1, 4].  Tensor sizes: [5]"),
    (((2, 5, 3), F32), ((4, 3), F32), ((5,), F32), "The expanded size of the tensor (4) must match the existing "
     "size (5) at non-singleton dimension 1.  Target sizes: [10, 4].  Tensor sizes: [5]"),
]


def _error_id(case):
    """Test ids like "f32(2, 3)" for the operands, and the message's start."""
    if case is None:
        return "nobias"
    if isinstance(case, str):
        return case.split(" ")[0]
    return f"{np.dtype(case[1]).name.replace('loat', '')}{case[0]}"


def _error_args(x, w, b):
    return [tg.tensor(np.ones(s, d)) for s, d in (x, w) + ((b,) if b else ())]


def _check_torch_message(x, w, b, msg):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match=re.escape(msg)):
        torch.nn.functional.linear(*(torch.ones(s, dtype=getattr(torch, np.dtype(d).name))
                                     for s, d in (x, w) + ((b,) if b else ())))


@pytest.mark.parametrize("fn", [F.linear, F.linear_relu], ids=["linear", "linear_relu"])
@pytest.mark.parametrize("x,w,b,msg", LINEAR_ERRORS, ids=_error_id)
def test_linear_errors_copy_torch(fn, x, w, b, msg):
    with pytest.raises(RuntimeError, match=re.escape(msg)):
        fn(*_error_args(x, w, b))


@pytest.mark.parametrize("x,w,b,msg", LINEAR_ERRORS + LINEAR_ERRORS_FOLDED, ids=_error_id)
def test_linear_error_messages_are_torchs(x, w, b, msg):
    _check_torch_message(x, w, b, msg)  # keeps the expected strings honest


@pytest.mark.parametrize("fn", [F.linear, F.linear_relu], ids=["linear", "linear_relu"])
@pytest.mark.parametrize("x,w,b,msg", LINEAR_ERRORS_FOLDED, ids=_error_id)
def test_linear_bias_size_errors_fold_like_torch(fn, x, w, b, msg):
    with pytest.raises(RuntimeError, match=re.escape(msg)):
        fn(*_error_args(x, w, b))


def test_linear_grad_fn_names():
    x, w, b = leaf(np.ones((2, 3))), leaf(np.ones((4, 3))), leaf(np.ones(4))
    assert F.linear(x, w, b).grad_fn.name() == "AddmmBackward0"
    assert F.linear_relu(x, w, b).grad_fn.name() == "ReluBackward0"


def test_linear_without_bias_grad_fn_name():
    x, w = leaf(np.ones((2, 3))), leaf(np.ones((4, 3)))
    assert F.linear(x, w).grad_fn.name() == "MmBackward0"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("x_shape", [(6,), (5, 6), (2, 5, 6)], ids=str)
@pytest.mark.parametrize("layouts", [("c", "c", "c"), ("p", "T", "s")], ids=["contiguous", "noncontiguous"])
def test_linear_matches_torch(layouts, x_shape, relu, bias, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(14)
    arrays = [rand(rng, *x_shape, dtype=dtype), rand(rng, 7, 6, dtype=dtype)] + ([rand(rng, 7, dtype=dtype)] * bias)
    G = rand(rng, *x_shape[:-1], 7, dtype=dtype)
    ours = [leaf(a, lay) for a, lay in zip(arrays, layouts)]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = (F.linear_relu if relu else F.linear)(*ours)
    ref = torch.nn.functional.linear(*theirs)
    ref = torch.relu(ref) if relu else ref
    (out * tg.tensor(G)).sum().backward()
    (ref * torch.tensor(G)).sum().backward()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    assert out.dtype == ours[0].dtype
    assert_close(out, ref, **tol)
    for o, t in zip(ours, theirs):
        assert_close(o.grad, t.grad, **tol)


# -- 6. property: broadcast shapes and layouts ----------------------------------------

@pytest.mark.parametrize("sa,sb", [((2, 1, 0, 3), (4, 3, 2)), ((2, 3, 4), (2, 1, 4, 0)), ((0, 0, 0), (0, 0, 0, 0))],
                         ids=str)
def test_broadcast_batch_of_empty_matrices(sa, sb):
    a, b = leaf(np.zeros(sa)), leaf(np.zeros(sb))
    out = a @ b
    assert tuple(out.shape) == np.matmul(np.zeros(sa), np.zeros(sb)).shape
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


if given is not None:
    @st.composite
    def matmul_problems(draw):
        """Shapes (..., m, k) and (..., k, n) whose batch dims broadcast (0-2
        each, sides 0-4, some set to 1), a transposed-storage flag per operand,
        and a seed for the values."""
        batch = draw(st.lists(st.integers(0, 4), max_size=2))
        shapes = []
        for _ in range(2):
            nb = draw(st.integers(0, len(batch)))
            own = [1 if draw(st.booleans()) else s for s in batch[len(batch) - nb:]]
            shapes.append(tuple(own))
        m, k, n = (draw(st.integers(0, 7)) for _ in range(3))
        flips = draw(st.tuples(st.booleans(), st.booleans()))
        return shapes[0] + (m, k), shapes[1] + (k, n), flips, draw(st.integers(0, 2 ** 16))

    @given(matmul_problems())
    def test_property_forward_and_grads(problem):
        sa, sb, flips, seed = problem
        rng = np.random.default_rng(seed)
        a, b = rand(rng, *sa), rand(rng, *sb)
        ta, tb = leaf(a, "T" if flips[0] else "c"), leaf(b, "T" if flips[1] else "c")
        out = ta @ tb
        ref = np.matmul(a, b)
        assert tuple(out.shape) == ref.shape
        assert (np.abs(npy(out) - ref) <= matmul_bound(a, b, np.float64)).all()
        G = rand(rng, *ref.shape)
        (out * tg.tensor(G)).sum().backward()
        # closed form: dA = G @ B^T, dB = A^T @ G, each summed over the dims it was broadcast along
        ga = reduce_to(G @ np.swapaxes(b, -1, -2), sa)
        gb = reduce_to(np.swapaxes(a, -1, -2) @ G, sb)
        assert ta.grad.shape == ta.shape and tb.grad.shape == tb.shape
        assert_close(ta.grad, ga, rtol=1e-12, atol=1e-12)
        assert_close(tb.grad, gb, rtol=1e-12, atol=1e-12)
else:
    @pytest.mark.skip(reason="hypothesis not installed")
    def test_property_forward_and_grads():
        pass
