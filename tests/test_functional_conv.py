"""nn.functional convolution, pooling, pad, dropout, embedding, one_hot.

Values and gradients against torch (tests needing torch skip without it),
float64 gradcheck and gradgradcheck for every function, torch's error
messages, and a spy that conv2d runs on our GEMM.
"""
import numpy as np
import pytest

import tinygrad_cn as tg
import tinygrad_cn.nn.functional as F
from tinygrad_cn.autograd import gradcheck, gradgradcheck

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # the oracle tests skip
    torch = TF = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is the oracle")

TOL = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=1e-5, atol=2e-5)}


def _rng(seed=0):
    return np.random.default_rng(seed)


def _both(arr, requires_grad=True):
    return tg.tensor(arr, requires_grad=requires_grad), torch.tensor(arr, requires_grad=requires_grad)


def _close(a, b, dtype):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, **TOL[dtype])


def _oracle(fn_name, arrays, dtype, *args, grads=True, seed=1, **kwargs):
    """Run F.<fn_name> and torch's on the same arrays; compare output and the
    gradient of every array input for one random grad_output."""
    ours = [tg.tensor(a, requires_grad=grads) if a is not None else None for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grads) if a is not None else None for a in arrays]
    y = getattr(F, fn_name)(*ours, *args, **kwargs)
    ty = getattr(TF, fn_name)(*theirs, *args, **kwargs)
    if isinstance(ty, tuple):
        assert np.array_equal(y[1].numpy(), ty[1].numpy())
        assert y[1].dtype == tg.int64
        y, ty = y[0], ty[0]
    assert y.dtype == getattr(tg, dtype)
    _close(y, ty, dtype)
    if not grads:
        return
    go = _rng(seed).standard_normal(ty.shape).astype(dtype)
    y.backward(tg.tensor(go))
    ty.backward(torch.tensor(go))
    for o, t in zip(ours, theirs):
        if o is not None:
            _close(o.grad, t.grad, dtype)


# -- conv2d against torch -------------------------------------------------------------
CONV_CASES = [
    ((2, 3, 7, 8), (4, 3, 3, 3), True, {}),
    ((2, 3, 7, 8), (4, 3, 3, 3), False, dict(stride=2, padding=1)),
    ((1, 2, 9, 6), (5, 2, 2, 3), True, dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))),
    ((2, 4, 7, 7), (6, 2, 3, 3), True, dict(groups=2, padding=1)),
    ((2, 6, 8, 5), (6, 1, 3, 2), True, dict(groups=6, stride=(1, 2))),
    ((2, 3, 7, 8), (4, 3, 4, 3), True, dict(padding="same")),
    ((2, 3, 7, 8), (4, 3, 4, 2), True, dict(padding="same", dilation=(1, 3))),
    ((2, 3, 7, 8), (4, 3, 3, 3), True, dict(padding="valid", dilation=2)),
    ((3, 5, 5), (2, 3, 3, 3), True, dict(padding=1)),  # unbatched
    ((1, 1, 3, 3), (1, 1, 3, 3), True, {}),  # output 1x1
    ((2, 3, 5, 5), (4, 3, 1, 1), True, dict(stride=3)),
]


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("xs,ws,bias,kw", CONV_CASES)
def test_conv2d_matches_torch(dtype, xs, ws, bias, kw):
    r = _rng()
    x, w = r.standard_normal(xs).astype(dtype), r.standard_normal(ws).astype(dtype)
    b = r.standard_normal(ws[0]).astype(dtype) if bias else None
    if "groups" in kw and xs[-3] != ws[1] * kw["groups"]:
        pytest.skip("shape")
    _oracle("conv2d", [x, w, b], dtype, **kw)


@needs_torch
def test_conv2d_non_contiguous_input():
    r = _rng(2)
    base = r.standard_normal((2, 9, 3, 8))  # (N, H, C, W)
    w, b = r.standard_normal((4, 3, 3, 3)), r.standard_normal(4)
    gx = tg.tensor(base, requires_grad=True)
    tx = torch.tensor(base, requires_grad=True)
    gw, tw = _both(w)
    y = F.conv2d(gx.permute(0, 2, 1, 3), gw, tg.tensor(b), stride=(2, 1), padding=1)
    ty = TF.conv2d(tx.permute(0, 2, 1, 3), tw, torch.tensor(b), stride=(2, 1), padding=1)
    _close(y, ty, "float64")
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    _close(gx.grad, tx.grad, "float64")
    _close(gw.grad, tw.grad, "float64")


@needs_torch
def test_conv2d_double_backward_matches_torch():
    r = _rng(3)
    x, w, b = r.standard_normal((2, 4, 6, 5)), r.standard_normal((6, 2, 3, 2)), r.standard_normal(6)
    res = []
    for m, Fm in ((tg, F), (torch, TF)):
        xt, wt, bt = (m.tensor(a, requires_grad=True) for a in (x, w, b))
        y = Fm.conv2d(xt, wt, bt, stride=(2, 1), padding=1, groups=2, dilation=(1, 2))
        gx, gw = m.autograd.grad((y * y).sum(), (xt, wt), create_graph=True)
        (gx.sum() + (gw * gw).sum()).backward()
        res.append((xt.grad, wt.grad, bt.grad))
    for a, t in zip(*res):
        _close(a, t, "float64")


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 3, 11), (4, 3, 3), dict(stride=2, padding=1)),
    ((2, 4, 10), (6, 2, 4), dict(groups=2, padding="same", dilation=2)),
    ((3, 9), (2, 3, 2), dict()),  # unbatched
])
def test_conv1d_matches_torch(dtype, xs, ws, kw):
    r = _rng(4)
    x, w, b = (r.standard_normal(s).astype(dtype) for s in (xs, ws, ws[:1]))
    _oracle("conv1d", [x, w, b], dtype, **kw)


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("xs,ws,bias,kw", [
    ((2, 3, 4, 5), (3, 2, 3, 3), True, {}),
    ((2, 4, 4, 5), (4, 3, 3, 2), True, dict(stride=2, padding=1, output_padding=1, groups=2)),
    ((1, 2, 3, 3), (2, 2, 2, 3), False, dict(stride=(2, 3), dilation=2, output_padding=(1, 0))),
    ((2, 3, 3), (2, 2, 3, 3), True, dict(padding=1)),  # unbatched
    # output_padding >= stride (allowed below the dilation): rows no window covers
    ((2, 4, 5, 6), (4, 3, 3, 2), True, dict(dilation=(2, 3), output_padding=(1, 2), groups=2)),
    ((2, 4, 5, 6), (4, 3, 3, 2), True, dict(stride=2, dilation=3, output_padding=2, padding=1)),
])
def test_conv_transpose2d_matches_torch(dtype, xs, ws, bias, kw):
    r = _rng(5)
    x, w = r.standard_normal(xs).astype(dtype), r.standard_normal(ws).astype(dtype)
    b = r.standard_normal(ws[1] * kw.get("groups", 1)).astype(dtype) if bias else None
    _oracle("conv_transpose2d", [x, w, b], dtype, **kw)


# -- gradcheck ------------------------------------------------------------------------
def _t(shape, seed=0):
    return tg.tensor(_rng(seed).standard_normal(shape), requires_grad=True)


GRADCHECKS = {
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
               ((1, 4, 5, 6), (4, 2, 2, 2), (4,))),
    "conv2d_same": (lambda x, w, b: F.conv2d(x, w, b, padding="same"), ((2, 2, 4, 5), (3, 2, 2, 3), (3,))),
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), ((2, 2, 7), (3, 2, 3), (3,))),
    "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
                         ((1, 2, 3, 3), (2, 3, 3, 2), (3,))),
    "conv_transpose2d_op": (lambda x, w: F.conv_transpose2d(x, w, dilation=2, output_padding=1, groups=2),
                            ((1, 4, 3, 4), (4, 1, 2, 3))),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), ((1, 2, 5, 6),)),
    "max_pool1d": (lambda x: F.max_pool1d(x, 2, 1, dilation=2), ((2, 2, 7),)),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, (3, 2), 2, 1, ceil_mode=True, count_include_pad=False),
                   ((1, 2, 5, 6),)),
    "avg_pool1d": (lambda x: F.avg_pool1d(x, 3, 2, 1), ((2, 2, 7),)),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 4)), ((1, 2, 5, 7),)),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, (2, 3)), ((1, 2, 5, 7),)),
    "pad_constant": (lambda x: F.pad(x, (1, 2, -1, 1), value=2.5), ((1, 2, 3, 4),)),
    "pad_reflect": (lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), ((1, 2, 3, 4),)),
    "pad_replicate": (lambda x: F.pad(x, (2, 1, 1, 2), mode="replicate"), ((1, 2, 3, 4),)),
    "pad_circular": (lambda x: F.pad(x, (2, 1, 1, 2), mode="circular"), ((1, 2, 3, 4),)),
    # (padding_idx drops a true gradient on purpose, so it cannot pass a gradcheck: tested below)
    "embedding": (lambda w: F.embedding(tg.tensor([[1, 0, 3], [3, 3, 2]]), w), ((5, 3),)),
    # reseeded on every call, so the mask is fixed
    "dropout": (lambda x: (tg.manual_seed(7), F.dropout(x, 0.3))[1], ((3, 4),)),
    "dropout2d": (lambda x: (tg.manual_seed(7), F.dropout2d(x, 0.5))[1], ((2, 3, 2, 2),)),
}


@pytest.mark.parametrize("name", list(GRADCHECKS))
def test_gradcheck(name):
    fn, shapes = GRADCHECKS[name]
    inputs = tuple(_t(s, i) for i, s in enumerate(shapes))
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize("name", list(GRADCHECKS))
def test_gradgradcheck(name):
    fn, shapes = GRADCHECKS[name]
    inputs = tuple(_t(s, i) for i, s in enumerate(shapes))
    # squared, so the second derivative is not trivially zero for the linear maps
    assert gradgradcheck(lambda *a: fn(*a) ** 2, inputs)


# -- errors ---------------------------------------------------------------------------
def _raises(exc, msg, fn):
    with pytest.raises(exc) as info:
        fn()
    assert str(info.value) == msg, str(info.value)


def test_conv_errors():
    x, w = tg.randn(2, 4, 10, 10), tg.randn(8, 3, 3, 3)
    _raises(RuntimeError, "Given groups=1, weight of size [8, 3, 3, 3], expected input[2, 4, 10, 10] to have 3 "
            "channels, but got 4 channels instead", lambda: F.conv2d(x, w))
    _raises(RuntimeError, "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [2, 3]",
            lambda: F.conv2d(tg.randn(2, 3), w))
    _raises(RuntimeError, "padding='same' is not supported for strided convolutions",
            lambda: F.conv2d(tg.randn(2, 3, 10, 10), w, stride=2, padding="same"))
    _raises(RuntimeError, "Invalid padding string: 'foo'", lambda: F.conv2d(tg.randn(2, 3, 10, 10), w, padding="foo"))
    _raises(RuntimeError, "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size "
            "can't be greater than actual input size", lambda: F.conv2d(tg.randn(2, 3, 2, 2), w))
    _raises(RuntimeError, "Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of "
            "size [[3, 2, 3, 3]] instead", lambda: F.conv2d(tg.randn(2, 4, 5, 5), tg.randn(3, 2, 3, 3), groups=2))
    _raises(RuntimeError, "Given weight of size [8, 3, 3, 3], expected bias to be 1-dimensional with 8 elements, but "
            "got bias of size [3] instead", lambda: F.conv2d(tg.randn(2, 3, 5, 5), w, tg.randn(3)))
    _raises(RuntimeError, "Input type (torch.FloatTensor) and weight type (torch.DoubleTensor) should be the same or "
            "input should be a MKLDNN tensor and weight is a dense tensor",
            lambda: F.conv2d(tg.randn(2, 3, 5, 5), w.double()))
    _raises(RuntimeError, "Given groups=1, weight of size [8, 3, 3], expected input[1, 2, 3] to have 3 channels, but "
            "got 2 channels instead", lambda: F.conv1d(tg.randn(2, 3), tg.randn(8, 3, 3)))


def test_pool_errors():
    _raises(RuntimeError, "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and "
            "dilation=1", lambda: F.max_pool2d(tg.randn(1, 1, 5, 5), 3, padding=2))
    _raises(RuntimeError, "non-empty 3D or 4D (batch mode) tensor expected for input",
            lambda: F.max_pool2d(tg.randn(1, 5, 5, 5, 5), 3))
    _raises(RuntimeError, "Given input size: (1x2x2). Calculated output size: (1x0x0). Output size is too small",
            lambda: F.max_pool2d(tg.randn(1, 1, 2, 2), 3))
    _raises(RuntimeError, "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
            "input, but got:[5]", lambda: F.max_pool1d(tg.randn(5), 2))
    _raises(RuntimeError, "Expected 2 to 3 dimensions, but got 1-dimensional tensor for argument #1 'self' (while "
            "checking arguments for avg_pool1d)", lambda: F.avg_pool1d(tg.randn(5), 2))
    _raises(RuntimeError, "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [5, 5]",
            lambda: F.adaptive_avg_pool2d(tg.randn(5, 5), 2))
    _raises(RuntimeError, "adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: [5, 5]",
            lambda: F.adaptive_max_pool2d(tg.randn(5, 5), 2))
    _raises(RuntimeError, "divisor must be not zero", lambda: F.avg_pool2d(tg.randn(1, 5, 5), 2, divisor_override=0))
    _raises(RuntimeError, "Given transposed=1, weight of size [2, 2, 3, 3], expected input[1, 3, 4, 4] to have 2 "
            "channels, but got 3 channels instead", lambda: F.conv_transpose2d(tg.randn(1, 3, 4, 4), tg.randn(2, 2, 3, 3)))


def test_pad_errors():
    _raises(NotImplementedError, "Padding size 2 is not supported for 4D input tensor.\nSupported combinations for "
            "non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)\n  - 3D or 4D input: "
            "padding size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: padding size = 6 (pads last 3 "
            "dimensions)", lambda: F.pad(tg.randn(2, 3, 4, 5), (2, 1), mode="reflect"))
    _raises(RuntimeError, "Padding length must be divisible by 2", lambda: F.pad(tg.randn(1, 2, 3), (1, 1, 1)))
    _raises(RuntimeError, "Argument #4: Padding size should be less than the corresponding input dimension, but "
            "got: padding (3, 3) at dimension 2 of input [1, 2, 3]",
            lambda: F.pad(tg.randn(1, 2, 3), (3, 3), mode="reflect"))


# -- pooling --------------------------------------------------------------------------
POOL_CASES = [
    ("max_pool2d", (2, 3, 7, 8), (3,), dict(stride=2, padding=1, return_indices=True)),
    ("max_pool2d", (2, 3, 7, 8), ((3, 2),), dict(stride=(2, 3), padding=1, dilation=(2, 1), ceil_mode=True,
                                                  return_indices=True)),
    ("max_pool2d", (3, 6, 6), (2,), {}),
    ("max_pool1d", (2, 3, 9), (3,), dict(stride=2, padding=1, ceil_mode=True, return_indices=True)),
    ("avg_pool2d", (2, 3, 7, 8), (3,), dict(stride=2, padding=1)),
    ("avg_pool2d", (2, 3, 7, 8), (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("avg_pool2d", (2, 3, 7, 8), (3,), dict(stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d", (2, 3, 7, 8), ((3, 2),), dict(padding=1, divisor_override=5)),
    ("avg_pool1d", (2, 3, 9), (4,), dict(stride=3, padding=2, ceil_mode=True)),
    ("adaptive_avg_pool2d", (2, 3, 7, 8), ((3, 5),), {}),
    ("adaptive_avg_pool2d", (3, 7, 8), ((None, 3),), {}),
    ("adaptive_max_pool2d", (2, 3, 7, 8), ((3, 5),), dict(return_indices=True)),
    ("adaptive_max_pool2d", (2, 3, 7, 8), (4,), {}),
]


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,shape,args,kw", POOL_CASES)
def test_pooling_matches_torch(dtype, name, shape, args, kw):
    x = _rng(6).standard_normal(shape).astype(dtype)
    _oracle(name, [x], dtype, *args, **kw)


def test_max_pool_ties_go_to_first_in_window():
    x = tg.zeros(1, 1, 4, 4, requires_grad=True)
    y, idx = F.max_pool2d(x, 2, 2, return_indices=True)
    y.sum().backward()
    assert idx.tolist() == [[[[0, 2], [8, 10]]]]
    expect = np.zeros((4, 4))
    expect[::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expect)
    # overlapping windows: the first maximum in each window collects every gradient
    x2 = tg.tensor([[[1.0, 3.0, 3.0, 3.0, 2.0]]], requires_grad=True)
    F.max_pool1d(x2, 3, 1).sum().backward()
    assert x2.grad.tolist() == [[[0.0, 2.0, 1.0, 0.0, 0.0]]]


@needs_torch
def test_max_pool_ties_match_torch():
    x = np.round(_rng(7).standard_normal((2, 2, 7, 7)))  # many ties
    _oracle("max_pool2d", [x], "float64", 3, stride=1, padding=1, return_indices=True)
    _oracle("adaptive_max_pool2d", [x], "float64", (3, 4), return_indices=True)


# -- pad ------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("pad,mode,value", [
    ((1, 2), "constant", None), ((1, 2, 0, 3), "constant", 1.5), ((1, -2, 2, 1), "constant", None),
    ((1, 1, 1, 1, 1, 1), "constant", -1.0), ((1, 3, 2, 1), "reflect", None), ((2, 3, 1, 4), "replicate", None),
    ((1, 2, 3, 1), "circular", None),
])
def test_pad_matches_torch(dtype, pad, mode, value):
    x = _rng(8).standard_normal((2, 3, 4, 5)).astype(dtype)
    kw = {} if value is None else {"value": value}
    _oracle("pad", [x], dtype, pad, mode, **kw)


# -- dropout --------------------------------------------------------------------------
def test_dropout_reproducible_and_scaled():
    tg.manual_seed(11)
    a = F.dropout(tg.ones(20000), 0.25)
    tg.manual_seed(11)
    b = F.dropout(tg.ones(20000), 0.25)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    vals = set(np.unique(a.numpy()).tolist())
    assert vals == {0.0, float(np.float32(1 / 0.75))}
    assert abs((a.numpy() == 0).mean() - 0.25) < 0.02
    c = F.dropout(tg.ones(20000), 0.25)
    assert not np.array_equal(a.numpy(), c.numpy())  # the generator moved on


def test_dropout_edge_cases():
    x = tg.randn(5, 6)
    assert F.dropout(x, 0.5, training=False) is x
    assert np.array_equal(F.dropout(x, 1.0).numpy(), np.zeros((5, 6), dtype=np.float32))
    assert np.array_equal(F.dropout(x, 0.0).numpy(), x.numpy())
    for p in (-0.1, 1.5):
        _raises(ValueError, f"dropout probability has to be between 0 and 1, but got {p}", lambda: F.dropout(x, p))
        _raises(ValueError, f"dropout probability has to be between 0 and 1, but got {p}", lambda: F.dropout2d(x, p))
    y = tg.ones(3, 4)
    out = F.dropout(y, 0.5, inplace=True)
    assert out is y and set(np.unique(y.numpy()).tolist()) <= {0.0, 2.0}


def test_dropout_gradient_is_the_mask():
    x = tg.randn(50, 40, requires_grad=True)
    tg.manual_seed(1)
    y = F.dropout(x, 0.4)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (y.detach().numpy() != 0) / 0.6, rtol=1e-6)


def test_dropout2d_is_channelwise():
    tg.manual_seed(2)
    y = F.dropout2d(tg.ones(8, 16, 3, 3), 0.5).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert (per_channel == per_channel[:, :, :1]).all()
    assert set(np.unique(y).tolist()) == {0.0, 2.0}


# -- embedding, one_hot ---------------------------------------------------------------
def test_embedding_padding_idx_gets_no_gradient():
    w = tg.randn(5, 3, requires_grad=True)
    idx = tg.tensor([[0, 2, 4], [2, 2, 1]])
    y = F.embedding(idx, w, padding_idx=2)
    np.testing.assert_array_equal(y.detach().numpy(), w.detach().numpy()[idx.numpy()])
    (y * 3).sum().backward()
    expect = np.zeros((5, 3), dtype=np.float32)
    for i in (0, 4, 1):
        expect[i] += 3
    np.testing.assert_array_equal(w.grad.numpy(), expect)
    w.grad = None
    F.embedding(idx, w, padding_idx=-3).sum().backward()  # -3 is row 2
    assert w.grad.numpy()[2].tolist() == [0.0, 0.0, 0.0]


def test_embedding_errors():
    w = tg.randn(3, 2)
    _raises(IndexError, "index out of range in self", lambda: F.embedding(tg.tensor([1, 5]), w))
    _raises(IndexError, "index out of range in self", lambda: F.embedding(tg.tensor([-1]), w))


@needs_torch
def test_embedding_matches_torch():
    w = _rng(9).standard_normal((6, 4))
    idx = np.array([[1, 0, 5], [0, 2, 0]])
    ours, theirs = _both(w)
    y = F.embedding(tg.tensor(idx), ours, padding_idx=0, scale_grad_by_freq=True)
    ty = TF.embedding(torch.tensor(idx), theirs, padding_idx=0, scale_grad_by_freq=True)
    _close(y, ty, "float64")
    go = _rng(1).standard_normal(ty.shape)
    y.backward(tg.tensor(go))
    ty.backward(torch.tensor(go))
    _close(ours.grad, theirs.grad, "float64")
    w2 = w * 3
    a, b = tg.tensor(w2.copy()), torch.tensor(w2.copy())
    _close(F.embedding(tg.tensor(idx), a, max_norm=1.0), TF.embedding(torch.tensor(idx), b, max_norm=1.0), "float64")
    _close(a, b, "float64")  # the looked-up rows renormalised in place


def test_one_hot():
    y = F.one_hot(tg.tensor([0, 2, 1]))
    assert y.dtype == tg.int64 and y.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert tuple(F.one_hot(tg.tensor([[1], [0]]), 4).shape) == (2, 1, 4)
    _raises(RuntimeError, "Class values must be non-negative.", lambda: F.one_hot(tg.tensor([1, -1])))
    _raises(RuntimeError, "Class values must be smaller than num_classes.", lambda: F.one_hot(tg.tensor([1, 5]), 3))
    _raises(RuntimeError, "one_hot is only applicable to index tensor of type LongTensor.",
            lambda: F.one_hot(tg.tensor([1.0, 5.0])))
    _raises(RuntimeError, "Can not infer total number of classes from empty tensor.",
            lambda: F.one_hot(tg.tensor([], dtype=tg.int64)))


# -- runs on our GEMM -----------------------------------------------------------------
def test_conv2d_runs_on_the_conv_kernels(monkeypatch):
    # forward, grad_input and grad_weight each one call of the conv kernels
    # (csrc/im2col.c: im2col + our GEMM); compiled, no NumPy matmul at all
    from tinygrad_cn._C import kernels
    calls = []
    for name in ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"):
        real = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, _n=name, _r=real: (calls.append(_n), _r(*a))[1])

    def forbidden(*a, **k):
        raise AssertionError("conv2d must not use NumPy's matmul/einsum")

    if kernels.compiled:
        for name in ("matmul", "einsum", "dot", "tensordot"):
            monkeypatch.setattr(np, name, forbidden)
    x = tg.randn(2, 3, 8, 8, requires_grad=True)
    w = tg.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    assert calls == ["conv2d_forward"]
    y.sum().backward()
    assert sorted(calls[1:]) == ["conv2d_backward_input", "conv2d_backward_weight"]
    F.conv2d(tg.randn(2, 4, 6, 6), tg.randn(6, 2, 3, 3), groups=2)
    assert len(calls) == 4  # groups inside one call


# -- edge cases -----------------------------------------------------------------------
@needs_torch
def test_conv2d_edge_cases_match_torch():
    r = _rng(12)
    # padding wider than the kernel, stride past the input
    _oracle("conv2d", [r.standard_normal((1, 2, 4, 4)), r.standard_normal((3, 2, 2, 2)), None], "float64",
            stride=2, padding=3)
    # an empty batch
    x = tg.randn(0, 3, 5, 5, requires_grad=True)
    w = tg.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w)
    assert tuple(y.shape) == (0, 4, 3, 3)
    y.sum().backward()
    assert w.grad.abs().sum().item() == 0.0


def test_conv2d_weight_only_gradient():
    x = tg.randn(2, 3, 5, 5)
    w = tg.randn(4, 3, 3, 3, requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    # d sum / dw[o, c, i, j] = sum of the input over the positions the offset (i, j) reaches
    xp = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
    expect = np.stack([[xp[:, :, i:i + 5, j:j + 5].sum((0, 2, 3)) for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(w.grad.numpy()[0], expect.transpose(2, 0, 1), rtol=1e-5, atol=1e-5)


def test_max_pool_nan_wins_and_takes_the_gradient():
    x = tg.tensor([[[[1.0, float("nan")], [3.0, 4.0]]]], requires_grad=True)
    y = F.max_pool2d(x, 2)
    assert np.isnan(y.item())
    y.sum().backward()
    assert x.grad.tolist() == [[[[0.0, 1.0], [0.0, 0.0]]]]


@needs_torch
def test_grad_fn_names_match_torch():
    x = tg.randn(1, 2, 6, 6, requires_grad=True)
    tx = torch.randn(1, 2, 6, 6, requires_grad=True)
    w, tw = tg.randn(3, 2, 3, 3), torch.randn(3, 2, 3, 3)
    for ours, theirs in [
        (F.conv2d(x, w), TF.conv2d(tx, tw)),
        (F.max_pool2d(x, 2), TF.max_pool2d(tx, 2)),
        (F.avg_pool2d(x, 2), TF.avg_pool2d(tx, 2)),
        (F.adaptive_max_pool2d(x, 2), TF.adaptive_max_pool2d(tx, 2)),
        (F.adaptive_avg_pool2d(x, 2), TF.adaptive_avg_pool2d(tx, 2)),
        (F.pad(x, (1, 1)), TF.pad(tx, (1, 1))),
        (F.embedding(tg.tensor([1]), tg.randn(3, 2, requires_grad=True)),
         TF.embedding(torch.tensor([1]), torch.randn(3, 2, requires_grad=True))),
    ]:
        assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__


def test_conv2d_compiled_and_reference_kernels_give_the_same_gradients(monkeypatch):
    import tinygrad_cn.ops.conv as conv
    from tinygrad_cn._C import kernels, reference
    x = tg.tensor(_rng(13).standard_normal((2, 4, 6, 7)), requires_grad=True)
    w = tg.tensor(_rng(14).standard_normal((6, 2, 3, 2)), requires_grad=True)
    grads = []
    for backend in (kernels, reference):
        monkeypatch.setattr(conv, "kernels", backend)
        x.grad = w.grad = None
        y = F.conv2d(x, w, padding=(1, 0), groups=2, stride=(1, 2))
        (y * y).sum().backward()
        y = F.conv2d(x, w, padding="same", groups=2)
        (y * y).sum().backward()
        grads.append((x.grad.numpy().copy(), w.grad.numpy().copy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
