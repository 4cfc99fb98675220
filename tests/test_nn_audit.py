"""Gaps found auditing issue 5 (nn modules, functional, losses) against
torch 2.13, each pinned down: torch's value or error where torch is not
needed to know it, and torch itself as the oracle where it is (those tests
skip without torch).
"""
import numpy as np
import pytest

import tinygrad_cn as tg
import tinygrad_cn.nn as nn
import tinygrad_cn.nn.functional as F
from tinygrad_cn.autograd import gradcheck, gradgradcheck


def _rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------
# scaled_dot_product_attention: a query with every key masked
# --------------------------------------------------------------------------

def _attention_inputs():
    rng = _rng(1)
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 4)))
    keep = np.ones((3, 5), bool)
    keep[1] = False  # query 1 may attend to nothing
    additive = np.where(keep, 0.0, -np.inf)
    return q, k, v, keep, additive


@pytest.mark.parametrize("kind", ["bool", "additive"])
def test_sdpa_fully_masked_query_gives_zero_and_finite_gradients(kind):
    q, k, v, keep, additive = _attention_inputs()
    Q, K, V = (tg.tensor(a, requires_grad=True) for a in (q, k, v))
    mask = tg.tensor(keep if kind == "bool" else additive)
    out = F.scaled_dot_product_attention(Q, K, V, attn_mask=mask)
    assert np.all(out.detach().numpy()[:, 1] == 0)
    assert np.all(np.isfinite(out.detach().numpy()))
    (out * out).sum().backward()
    for t in (Q, K, V):
        assert np.all(np.isfinite(t.grad.numpy()))
    np.testing.assert_array_equal(Q.grad.numpy()[:, 1], 0)
    # the other queries are untouched: the same as attending with the row dropped
    ref = F.scaled_dot_product_attention(tg.tensor(q[:, [0, 2]]), tg.tensor(k), tg.tensor(v))
    np.testing.assert_allclose(out.detach().numpy()[:, [0, 2]], ref.numpy(), rtol=1e-12, atol=1e-12)


def test_sdpa_fully_masked_query_matches_torch():
    torch = pytest.importorskip("torch")
    q, k, v, keep, additive = _attention_inputs()
    for mask in (keep, additive):
        ours = [tg.tensor(a, requires_grad=True) for a in (q, k, v)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        yo = F.scaled_dot_product_attention(*ours, attn_mask=tg.tensor(mask))
        yt = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=torch.tensor(mask))
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
        (yo * yo).sum().backward()
        (yt * yt).sum().backward()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# binary_cross_entropy at inputs exactly 0 and 1
# --------------------------------------------------------------------------

def test_bce_gradient_is_finite_at_zero_and_one():
    p = np.array([0.0, 1.0, 0.5, 1.0, 0.0], np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0], np.float32)
    x = tg.tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(x, tg.tensor(t))
    assert loss.item() == pytest.approx((0 + 0 + np.log(2) + 100 + 100) / 5, rel=1e-6)
    loss.backward()
    # torch's derivative: (x - t) / max(x (1 - x), 1e-12), over the mean's 5
    want = (p - t) / np.maximum(p * (1 - p), np.float32(1e-12)) / 5
    np.testing.assert_allclose(x.grad.numpy(), want.astype(np.float32), rtol=1e-6)
    assert np.all(np.isfinite(x.grad.numpy()))


def test_bce_gradients_of_both_arguments_check_numerically():
    x = tg.tensor(np.array([0.2, 0.7, 0.4, 0.9]), requires_grad=True)
    t = tg.tensor(np.array([0.0, 1.0, 0.3, 0.6]), requires_grad=True)
    w = tg.tensor(np.array([1.0, 2.0, 0.5, 1.5]))
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, weight=w), (x, t))
    assert gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"), (x, t))
    assert type(F.binary_cross_entropy(x, t).grad_fn).__name__ != "NoneType"


def test_bce_matches_torch_at_the_edges():
    torch = pytest.importorskip("torch")
    p = np.array([0.0, 1.0, 0.5, 1.0, 0.0, 1e-30], np.float64)
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.5], np.float64)
    for reduction in ("mean", "sum", "none"):
        xo, to = tg.tensor(p, requires_grad=True), tg.tensor(t, requires_grad=True)
        xt, tt = torch.tensor(p, requires_grad=True), torch.tensor(t, requires_grad=True)
        lo = F.binary_cross_entropy(xo, to, reduction=reduction)
        lt = torch.nn.functional.binary_cross_entropy(xt, tt, reduction=reduction)
        np.testing.assert_allclose(lo.detach().numpy(), lt.detach().numpy(), rtol=1e-12)
        lo.sum().backward()
        lt.sum().backward()
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(to.grad.numpy(), tt.grad.numpy(), rtol=1e-12)


# --------------------------------------------------------------------------
# class-index losses: target dtype and batch-size errors
# --------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_class_index_targets_must_be_long_or_byte(fn):
    x = tg.zeros(3, 4)
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        fn(x, tg.tensor([0, 1, 2], dtype=tg.int32))
    if fn is F.nll_loss:  # cross_entropy reads a float target as class probabilities
        with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Float"):
            fn(x, tg.tensor([0.0, 1.0, 2.0]))
    logits = tg.tensor(_rng(2).standard_normal((3, 4)))
    byte = fn(logits, tg.tensor(np.array([0, 3, 2], np.uint8)))
    assert byte.item() == pytest.approx(fn(logits, tg.tensor([0, 3, 2])).item(), rel=1e-12)


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_batch_size_mismatch_is_a_value_error_as_in_torch(fn):
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target batch_size \(2\)\."):
        fn(tg.zeros(4, 3), tg.tensor([0, 1]))
    with pytest.raises(RuntimeError):  # still a RuntimeError for code written against earlier versions
        fn(tg.zeros(4, 3), tg.tensor([0, 1]))


# --------------------------------------------------------------------------
# F.prelu and F.bilinear (the functional forms behind PReLU and Bilinear)
# --------------------------------------------------------------------------

def test_prelu_functional_values_gradients_and_module():
    x = tg.tensor(_rng(3).standard_normal((2, 3, 4)), requires_grad=True)
    w = tg.tensor(np.array([0.1, 0.2, 0.3]), requires_grad=True)
    y = F.prelu(x, w)
    xd = x.detach().numpy()
    want = np.where(xd > 0, xd, xd * np.array([0.1, 0.2, 0.3]).reshape(3, 1))
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-15)
    assert gradcheck(F.prelu, (x, w))
    m = nn.PReLU(3, init=0.2).double()
    slope = float(np.float32(0.2))  # the parameter is made float32, then .double()
    np.testing.assert_allclose(m(x).detach().numpy(), np.where(xd > 0, xd, slope * xd), rtol=1e-15)
    assert F.prelu(tg.tensor([-2.0, 3.0]), tg.tensor([0.25])).tolist() == [-0.5, 3.0]


def test_prelu_errors_as_torch():
    with pytest.raises(RuntimeError, match="Found parameter numbers = 2 and channel size = 3"):
        F.prelu(tg.zeros(2, 3, 4), tg.zeros(2))
    with pytest.raises(RuntimeError, match="Found parameter numbers = 3 and channel size = 1"):
        nn.PReLU(3)(tg.zeros(3))  # a 1-D input has one channel
    with pytest.raises(RuntimeError, match="Expected `weight` to be a scalar or 1D tensor, but got: ndim = 2"):
        F.prelu(tg.zeros(2, 3), tg.zeros(1, 3))
    with pytest.raises(RuntimeError, match="Type promoting not supported. Got Double and Float"):
        F.prelu(tg.zeros(2, 3, dtype=tg.float64), tg.zeros(1))


def test_bilinear_functional_matches_module_and_checks_shapes():
    m = nn.Bilinear(3, 4, 5).double()
    a, b = tg.tensor(_rng(4).standard_normal((2, 6, 3))), tg.tensor(_rng(5).standard_normal((2, 6, 4)))
    y = F.bilinear(a, b, m.weight, m.bias)
    want = np.einsum("...i,oij,...j->...o", a.numpy(), m.weight.detach().numpy(), b.numpy()) + m.bias.detach().numpy()
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(m(a, b).detach().numpy(), want, rtol=1e-12)
    with pytest.raises(RuntimeError, match="input2 size does not match weight size: got 4 but expected 3"):
        F.bilinear(tg.zeros(2, 3), tg.zeros(2, 4), tg.zeros(5, 3, 3))
    with pytest.raises(RuntimeError, match="input batch dimensions do not match at dim 0: got 2 and 3"):
        F.bilinear(tg.zeros(2, 3), tg.zeros(3, 4), tg.zeros(5, 3, 4))


def test_prelu_and_bilinear_match_torch():
    torch = pytest.importorskip("torch")
    x = _rng(6).standard_normal((2, 3, 5))
    w = np.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(F.prelu(tg.tensor(x), tg.tensor(w)).numpy(),
                               torch.nn.functional.prelu(torch.tensor(x), torch.tensor(w)).numpy(), rtol=1e-15)
    a, b, W, bias = (_rng(7 + i).standard_normal(s) for i, s in enumerate(((4, 3), (4, 2), (5, 3, 2), (5,))))
    np.testing.assert_allclose(F.bilinear(*map(tg.tensor, (a, b, W, bias))).numpy(),
                               torch.nn.functional.bilinear(*map(torch.tensor, (a, b, W, bias))).numpy(),
                               rtol=1e-12)


# --------------------------------------------------------------------------
# the small CNN on the C conv/pool kernels, end to end
# --------------------------------------------------------------------------

def _small_cnn(lib):
    m = lib.nn
    return m.Sequential(m.Conv2d(1, 8, 3, padding=1), m.ReLU(), m.MaxPool2d(2), m.Conv2d(8, 16, 3, padding=1),
                        m.ReLU(), m.MaxPool2d(2), m.Flatten(), m.Linear(16 * 7 * 7, 10))


def test_small_cnn_training_step_matches_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = _small_cnn(torch)
    ours = _small_cnn(tg)
    with tg.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.copy_(tg.from_numpy(q.detach().numpy().copy()))
    rng = _rng(10)
    x = rng.random((8, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    lo = F.cross_entropy(ours(tg.from_numpy(x)), tg.from_numpy(y))
    lt = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(y))
    lo.backward()
    lt.backward()
    assert lo.item() == pytest.approx(lt.item(), rel=1e-5)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


def test_conv_and_max_pool_gradients_check_numerically():
    rng = _rng(11)
    x = tg.tensor(rng.standard_normal((2, 3, 7, 6)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((4, 3, 3, 2)), requires_grad=True)
    b = tg.tensor(rng.standard_normal(4), requires_grad=True)

    def f(x, w, b):
        return F.max_pool2d(F.conv2d(x, w, b, stride=(1, 2), padding=(2, 1), dilation=(2, 1)), 2, ceil_mode=True)

    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))


def test_max_pool_nan_and_ties_follow_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[[[1.0, 1.0, np.nan, 2.0],
                    [0.5, 1.0, np.nan, 3.0],
                    [-np.inf, -np.inf, 4.0, 4.0],
                    [-np.inf, -np.inf, 4.0, 4.0]]]], np.float32)
    yo, io = F.max_pool2d(tg.tensor(x), 2, return_indices=True)
    yt, it = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(yo.numpy(), yt.numpy())
    np.testing.assert_array_equal(io.numpy(), it.numpy())


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
def test_pooling_takes_an_empty_batch_but_no_other_empty_dim(pool):
    x = tg.zeros(0, 3, 4, 4, requires_grad=True)
    y = pool(x, 2)
    assert tuple(y.shape) == (0, 3, 2, 2)
    y.sum().backward()
    assert tuple(x.grad.shape) == (0, 3, 4, 4)
    for shape in ((2, 0, 4, 4), (0, 4, 4), (2, 3, 0, 4)):
        with pytest.raises(RuntimeError, match=r"Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch "
                                               r"size for input, but got:\[%s\]" % ", ".join(map(str, shape))):
            pool(tg.zeros(*shape), 2)
    with pytest.raises(RuntimeError, match=r"non-empty 3D or 4D \(batch mode\) tensor expected for input"):
        pool(tg.zeros(2, 3, 4, 4, 4), 2)
