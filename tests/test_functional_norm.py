"""nn.functional normalisation, losses, attention and interpolation against torch (when installed),
float64 gradcheck / gradgradcheck, a hand-derived batch-norm backward, running statistics and errors."""
import warnings

import numpy as np
import pytest

import tinygrad_cn as tg
import tinygrad_cn.nn.functional as F
from tinygrad_cn.autograd import gradcheck, gradgradcheck

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # pragma: no cover
    torch = None
    TF = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
RNG = np.random.default_rng(5)
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-5, atol=1e-5)}


def randn(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


class Arg:
    """An array passed to both libraries; ``grad`` makes it a leaf that requires grad;
    ``noncontig`` passes a transposed view of a leaf laid out the other way round."""

    def __init__(self, arr, grad=True, noncontig=False):
        self.arr, self.grad, self.noncontig = np.asarray(arr), grad, noncontig

    def make(self, lib):
        arr = self.arr
        if self.noncontig and arr.ndim >= 2:
            base_np = np.ascontiguousarray(np.swapaxes(arr, 0, -1))
            base = tg.from_numpy(base_np.copy()) if lib == "tg" else torch.tensor(base_np.copy())
            if self.grad:
                base.requires_grad_()
            return base, base.transpose(0, arr.ndim - 1)
        base = tg.from_numpy(arr.copy()) if lib == "tg" else torch.tensor(arr.copy())
        if self.grad and arr.dtype.kind == "f":
            base.requires_grad_()
        return base, base


def compare(fn_tg, fn_torch, args, kwargs=None, tol=None, torch_kwargs=None):
    """Forward and gradients w.r.t. every Arg(grad=True) of ``fn_tg(*args, **kwargs)`` vs torch."""
    kwargs = kwargs or {}
    torch_kwargs = kwargs if torch_kwargs is None else torch_kwargs
    dtype = next(a.arr.dtype.type for a in args if isinstance(a, Arg) and a.arr.dtype.kind == "f")
    tol = tol or TOL[dtype]

    def build(lib):
        leaves, vals = [], []
        for a in args:
            if isinstance(a, Arg):
                leaf, v = a.make(lib)
                leaves.append(leaf if a.grad and a.arr.dtype.kind == "f" else None)
                vals.append(v)
            else:
                leaves.append(None)
                vals.append(a)
        return leaves, vals

    l_tg, v_tg = build("tg")
    l_th, v_th = build("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_tg = fn_tg(*v_tg, **kwargs)
        out_th = fn_torch(*v_th, **torch_kwargs)
    assert tuple(out_tg.shape) == tuple(out_th.shape)
    assert out_tg.dtype == getattr(tg, str(out_th.dtype).split(".")[1])
    np.testing.assert_allclose(out_tg.detach().numpy(), out_th.detach().numpy(), **tol)
    if not any(leaf is not None for leaf in l_th):
        return
    g = RNG.standard_normal(tuple(out_th.shape)).astype(dtype)
    out_tg.backward(tg.from_numpy(g.copy()))
    out_th.backward(torch.tensor(g))
    for a, b in zip(l_tg, l_th):
        if b is None:
            continue
        if b.grad is None:
            assert a.grad is None or np.all(a.grad.numpy() == 0)
        else:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)


def t64(arr, rg=True):
    return tg.from_numpy(np.asarray(arr, dtype=np.float64).copy()).requires_grad_(rg)


# -- batch_norm -------------------------------------------------------------------------
BN_SHAPES = [(6, 3), (4, 3, 5), (3, 2, 4, 3)]


@needs_torch
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_norm_vs_torch(shape, affine, training, dtype):
    c = shape[1]
    args = [Arg(randn(*shape, dtype=dtype), noncontig=len(shape) == 3),
            Arg(randn(c, dtype=dtype), grad=False), Arg(RNG.uniform(0.5, 2, c).astype(dtype), grad=False),
            Arg(randn(c, dtype=dtype)) if affine else None, Arg(randn(c, dtype=dtype)) if affine else None]
    compare(F.batch_norm, TF.batch_norm, args, dict(training=training, momentum=0.3, eps=1e-3))


@needs_torch
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batch_norm_running_stats_after_several_calls(shape, momentum):
    c = shape[1]
    rm0, rv0 = randn(c), RNG.uniform(0.5, 2, c)
    rm, rv = tg.from_numpy(rm0.copy()), tg.from_numpy(rv0.copy())
    trm, trv = torch.tensor(rm0.copy()), torch.tensor(rv0.copy())
    for _ in range(4):
        x = randn(*shape) * 3 + 1
        F.batch_norm(t64(x), rm, rv, training=True, momentum=momentum)
        TF.batch_norm(torch.tensor(x, requires_grad=True), trm, trv, training=True, momentum=momentum)
        np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12, atol=1e-12)
    # eval mode uses the running statistics and leaves them untouched
    x = randn(*shape)
    y = F.batch_norm(t64(x), rm, rv, training=False)
    ty = TF.batch_norm(torch.tensor(x), trm, trv, training=False)
    np.testing.assert_allclose(y.detach().numpy(), ty.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12, atol=1e-12)


def test_batch_norm_running_stats_closed_form_and_no_grad_history():
    x = randn(5, 2, 3)
    rm, rv = tg.zeros(2, dtype=tg.float64), tg.ones(2, dtype=tg.float64)
    F.batch_norm(t64(x), rm, rv, training=True, momentum=0.25)
    xs = x.transpose(1, 0, 2).reshape(2, -1)
    np.testing.assert_allclose(rm.numpy(), 0.25 * xs.mean(1), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.75 + 0.25 * xs.var(1, ddof=1), rtol=1e-12)
    assert not rm.requires_grad and rm.grad_fn is None


def test_batch_norm_training_without_running_stats():
    x = randn(4, 3)
    y = F.batch_norm(t64(x, False), None, None, training=True)
    np.testing.assert_allclose(y.numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-10)


def test_batch_norm_hand_derived_backward():
    n, c, l = 4, 3, 5
    x, gamma, beta, g = randn(n, c, l), randn(c), randn(c), randn(n, c, l)
    eps = 1e-5
    xt, wt, bt = t64(x), t64(gamma), t64(beta)
    F.batch_norm(xt, None, None, wt, bt, training=True, eps=eps).backward(tg.from_numpy(g.copy()))
    # closed form per channel over M = N * L values
    xs = x.transpose(1, 0, 2).reshape(c, -1)
    gs = g.transpose(1, 0, 2).reshape(c, -1)
    m = xs.shape[1]
    mean = xs.mean(1, keepdims=True)
    invstd = 1 / np.sqrt(((xs - mean) ** 2).mean(1, keepdims=True) + eps)
    xhat = (xs - mean) * invstd
    dx = (1.0 / m) * gamma[:, None] * invstd * (m * gs - gs.sum(1, keepdims=True)
                                                - xhat * (gs * xhat).sum(1, keepdims=True))
    dx = dx.reshape(c, n, l).transpose(1, 0, 2)
    np.testing.assert_allclose(xt.grad.numpy(), dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(wt.grad.numpy(), (gs * xhat).sum(1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bt.grad.numpy(), gs.sum(1), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck_gradgradcheck(training):
    x, w, b = t64(randn(3, 2, 2)), t64(randn(2)), t64(randn(2))
    rm, rv = tg.from_numpy(randn(2)), tg.from_numpy(RNG.uniform(0.5, 2, 2))

    def f(x, w, b):
        return F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=training)
    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"tinygrad_cn\.Size\(\[1, 3\]\)"):
        F.batch_norm(t64(randn(1, 3)), None, None, training=True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.batch_norm(t64(randn(1, 3, 1)), tg.zeros(3, dtype=tg.float64), tg.ones(3, dtype=tg.float64),
                     training=True)
    F.batch_norm(t64(randn(1, 3)), tg.zeros(3, dtype=tg.float64), tg.ones(3, dtype=tg.float64))  # eval: fine
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
        F.batch_norm(t64(randn(2, 3)), tg.zeros(4, dtype=tg.float64), tg.ones(3, dtype=tg.float64))


@needs_torch
def test_batch_norm_error_messages_match_torch():
    with pytest.raises(ValueError) as e:
        TF.batch_norm(torch.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError) as e2:
        F.batch_norm(tg.randn(1, 3), None, None, training=True)
    assert str(e2.value) == str(e.value).replace("torch.Size", "tinygrad_cn.Size")


# -- instance / layer / group norm, normalize, cosine_similarity ----------------------------
@needs_torch
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 2, 3, 4)])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_instance_norm_vs_torch(shape, affine, dtype):
    c = shape[1]
    args = [Arg(randn(*shape, dtype=dtype), noncontig=True), None, None,
            Arg(randn(c, dtype=dtype)) if affine else None, Arg(randn(c, dtype=dtype)) if affine else None]
    compare(F.instance_norm, TF.instance_norm, args, dict(eps=1e-4))


@needs_torch
def test_instance_norm_running_stats():
    rm, rv = tg.zeros(3, dtype=tg.float64), tg.ones(3, dtype=tg.float64)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(3):
        x = randn(2, 3, 4)
        F.instance_norm(t64(x), rm, rv, momentum=0.2)
        TF.instance_norm(torch.tensor(x), trm, trv, momentum=0.2)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("shape,nshape", [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((2, 3, 4), (4,)), ((6,), [6])])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_norm_vs_torch(shape, nshape, affine, dtype):
    ns = tuple(nshape)
    args = [Arg(randn(*shape, dtype=dtype), noncontig=len(shape) > 1), nshape,
            Arg(randn(*ns, dtype=dtype)) if affine else None, Arg(randn(*ns, dtype=dtype)) if affine else None]
    compare(F.layer_norm, TF.layer_norm, args, dict(eps=1e-3))


@needs_torch
@pytest.mark.parametrize("shape,nshape", [((4, 5), (5,)), ((2, 3, 4), (3, 4))])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("eps", [None, 1e-3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rms_norm_vs_torch(shape, nshape, affine, eps, dtype):
    args = [Arg(randn(*shape, dtype=dtype), noncontig=True), nshape,
            Arg(randn(*nshape, dtype=dtype)) if affine else None]
    compare(F.rms_norm, TF.rms_norm, args, dict(eps=eps))


def test_rms_norm_gradgradcheck():
    x, w = t64(randn(2, 3)), t64(randn(3))
    assert gradcheck(lambda x, w: F.rms_norm(x, (3,), w), (x, w))
    assert gradgradcheck(lambda x, w: F.rms_norm(x, (3,), w), (x, w))


@needs_torch
@pytest.mark.parametrize("shape,groups", [((2, 6), 3), ((2, 6, 4), 2), ((2, 4, 3, 2), 4), ((3, 4, 5), 1)])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_group_norm_vs_torch(shape, groups, affine, dtype):
    c = shape[1]
    args = [Arg(randn(*shape, dtype=dtype), noncontig=len(shape) > 2), groups,
            Arg(randn(c, dtype=dtype)) if affine else None, Arg(randn(c, dtype=dtype)) if affine else None]
    compare(F.group_norm, TF.group_norm, args, dict(eps=1e-4))


@needs_torch
@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1), (2.0, 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normalize_vs_torch(p, dim, dtype):
    compare(F.normalize, TF.normalize, [Arg(randn(3, 4, 5, dtype=dtype), noncontig=True)], dict(p=p, dim=dim))


@needs_torch
def test_normalize_eps_clamps_zero_rows():
    x = randn(3, 4)
    x[1] = 0
    compare(F.normalize, TF.normalize, [Arg(x)], dict(eps=1e-6))


@needs_torch
@pytest.mark.parametrize("dim", [1, -1, 0])
def test_cosine_similarity_vs_torch(dim):
    compare(F.cosine_similarity, TF.cosine_similarity, [Arg(randn(3, 4, 5)), Arg(randn(3, 4, 5))], dict(dim=dim))


@needs_torch
def test_local_response_norm_vs_torch():
    compare(F.local_response_norm, TF.local_response_norm, [Arg(randn(2, 5, 3)), 3], dict(alpha=0.1, k=2.0))


def test_norm_gradcheck_gradgradcheck():
    x, w, b = t64(randn(2, 4, 3)), t64(randn(4)), t64(randn(4))
    fns = [lambda x, w, b: F.group_norm(x, 2, w, b),
           lambda x, w, b: F.instance_norm(x, None, None, w, b),
           lambda x, w, b: F.layer_norm(x.transpose(1, 2), (4,), w, b),
           lambda x, w, b: F.normalize(x, dim=1) * w.reshape(1, 4, 1) + b.reshape(1, 4, 1)]
    for f in fns:
        assert gradcheck(f, (x, w, b))
        assert gradgradcheck(f, (x, w, b))


def test_norm_errors():
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], "
                                           r"but got input of size\[2, 3, 5\]"):
        F.layer_norm(tg.randn(2, 3, 5), (4,))
    with pytest.raises(RuntimeError, match=r"Expected number of channels in input to be divisible by num_groups, "
                                           r"but got input of shape \[2, 6, 4\] and num_groups=4"):
        F.group_norm(tg.randn(2, 6, 4), 4)
    with pytest.raises(ValueError, match="Expected more than 1 spatial element"):
        F.instance_norm(tg.randn(2, 3, 1))


# -- losses ------------------------------------------------------------------------
REDUCTIONS = ["none", "mean", "sum"]


@needs_torch
@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}),
                                     ("smooth_l1_loss", dict(beta=0.5)), ("smooth_l1_loss", dict(beta=0.0)),
                                     ("huber_loss", {}), ("huber_loss", dict(delta=0.3))])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_regression_losses_vs_torch(name, kw, reduction, dtype):
    args = [Arg(randn(3, 4, dtype=dtype), noncontig=True), Arg(randn(3, 4, dtype=dtype))]
    compare(getattr(F, name), getattr(TF, name), args, dict(kw, reduction=reduction))


@needs_torch
@pytest.mark.parametrize("legacy", [dict(size_average=False), dict(reduce=False), dict(size_average=True),
                                    dict(size_average=False, reduce=True)])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy", "kl_div",
                                  "binary_cross_entropy_with_logits", "poisson_nll_loss", "soft_margin_loss"])
def test_legacy_size_average_reduce(legacy, name):
    x = RNG.uniform(0.05, 0.95, (3, 4))
    t = RNG.uniform(0, 1, (3, 4))
    compare(getattr(F, name), getattr(TF, name), [Arg(x), Arg(t, grad=False)], legacy)


@needs_torch
def test_regression_loss_broadcast_matches_torch():
    compare(F.mse_loss, TF.mse_loss, [Arg(randn(3, 4)), Arg(randn(4))])


@needs_torch
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_vs_torch(weighted, reduction, dtype):
    x = RNG.uniform(0.02, 0.98, (4, 3)).astype(dtype)
    t = RNG.uniform(0, 1, (4, 3)).astype(dtype)
    w = Arg(RNG.uniform(0.5, 2, (3,)).astype(dtype), grad=False) if weighted else None
    compare(F.binary_cross_entropy, TF.binary_cross_entropy, [Arg(x, noncontig=True), Arg(t, grad=False), w],
            dict(reduction=reduction))


@needs_torch
def test_binary_cross_entropy_target_grad_and_log_clamp():
    x, t = np.array([0.2, 0.9, 0.5, 1e-3]), np.array([1.0, 0.0, 0.3, 0.6])
    compare(F.binary_cross_entropy, TF.binary_cross_entropy, [Arg(x), Arg(t)], dict(reduction="none"))
    # at x in {0, 1} the logs clamp at -100 (the gradients there differ from torch's inf / 1e12: not compared)
    x, t = np.array([0.0, 1.0, 0.5, 1e-60]), np.array([1.0, 0.0, 0.3, 1.0])
    out = F.binary_cross_entropy(t64(x, False), t64(t, False), reduction="none")
    assert out.numpy()[0] == 100.0 and out.numpy()[1] == 100.0


def test_binary_cross_entropy_errors():
    with pytest.raises(ValueError) as e:
        F.binary_cross_entropy(tg.rand(3, 1), tg.rand(3))
    assert str(e.value) == ("Using a target size (tinygrad_cn.Size([3])) that is different to the input size "
                            "(tinygrad_cn.Size([3, 1])) is deprecated. Please ensure they have the same size.")
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(tg.tensor([1.5, 0.5]), tg.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"Target size \(tinygrad_cn.Size\(\[3\]\)\) must be the same as input "
                                         r"size \(tinygrad_cn.Size\(\[3, 1\]\)\)"):
        F.binary_cross_entropy_with_logits(tg.randn(3, 1), tg.rand(3))
    w = tg.rand(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="'binary_cross_entropy' is not differentiable with respect to "
                                           "argument 'weight'"):
        F.binary_cross_entropy(tg.rand(3), tg.rand(3), w)
    with pytest.raises(RuntimeError, match="'binary_cross_entropy_with_logits' is not differentiable with "
                                           "respect to argument 'pos_weight'"):
        F.binary_cross_entropy_with_logits(tg.rand(3), tg.rand(3), pos_weight=w)
    with tg.no_grad():
        F.binary_cross_entropy(tg.rand(3), tg.rand(3), w)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(tg.randn(3), tg.randn(3), reduction="foo")


@needs_torch
def test_bce_error_message_matches_torch():
    with pytest.raises(ValueError) as e:
        TF.binary_cross_entropy(torch.rand(3, 1), torch.rand(3))
    with pytest.raises(ValueError) as e2:
        F.binary_cross_entropy(tg.rand(3, 1), tg.rand(3))
    assert str(e2.value) == str(e.value).replace("torch.Size", "tinygrad_cn.Size")


@needs_torch
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weight", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_with_logits_vs_torch(weighted, pos_weight, reduction, dtype):
    x = (randn(4, 3) * 5).astype(dtype)
    x[0, 0], x[1, 1], x[2, 2] = 0.0, 60.0, -60.0
    t = RNG.uniform(0, 1, (4, 3)).astype(dtype)
    args = [Arg(x, noncontig=True), Arg(t),
            Arg(RNG.uniform(0.5, 2, (3,)).astype(dtype), grad=False) if weighted else None]
    kw = dict(reduction=reduction)
    if pos_weight:
        pw = RNG.uniform(0.5, 3, (3,)).astype(dtype)
        f = lambda *a, **k: F.binary_cross_entropy_with_logits(*a, pos_weight=tg.from_numpy(pw.copy()), **k)
        g = lambda *a, **k: TF.binary_cross_entropy_with_logits(*a, pos_weight=torch.tensor(pw), **k)
        compare(f, g, args, kw)
    else:
        compare(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, args, kw)


def test_bce_with_logits_is_stable():
    out = F.binary_cross_entropy_with_logits(tg.tensor([1000.0, -1000.0]), tg.tensor([1.0, 0.0]), reduction="none")
    assert np.all(np.isfinite(out.numpy())) and np.all(out.numpy() == 0)


@needs_torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kl_div_vs_torch(reduction, log_target, dtype):
    x = np.log(RNG.dirichlet(np.ones(5), 3)).astype(dtype)
    p = RNG.dirichlet(np.ones(5), 3)
    p[0, 0] = 0.0  # 0 log 0 = 0
    t = (np.log(p + 1e-3) if log_target else p).astype(dtype)
    compare(F.kl_div, TF.kl_div, [Arg(x, noncontig=True), Arg(t)], dict(reduction=reduction, log_target=log_target))


def test_kl_div_mean_warns():
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(tg.randn(2, 3), tg.rand(2, 3))


@needs_torch
@pytest.mark.parametrize("margin", [0.0, 0.5])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_and_cosine_embedding_vs_torch(margin, reduction):
    t = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    kw = dict(margin=margin, reduction=reduction)
    compare(F.margin_ranking_loss, TF.margin_ranking_loss, [Arg(randn(5)), Arg(randn(5)), Arg(t, grad=False)], kw)
    compare(F.cosine_embedding_loss, TF.cosine_embedding_loss,
            [Arg(randn(5, 3)), Arg(randn(5, 3)), Arg(t, grad=False)], kw)
    compare(F.hinge_embedding_loss, TF.hinge_embedding_loss, [Arg(randn(5)), Arg(t, grad=False)],
            dict(margin=margin + 1, reduction=reduction))
    compare(F.soft_margin_loss, TF.soft_margin_loss, [Arg(randn(5)), Arg(t, grad=False)],
            dict(reduction=reduction))


def test_margin_ranking_dim_error():
    with pytest.raises(RuntimeError, match="margin_ranking_loss : All input tensors should have same dimension"):
        F.margin_ranking_loss(tg.randn(3), tg.randn(3), tg.randn(3, 1))


@needs_torch
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_nll_loss_vs_torch(log_input, full, reduction):
    x = randn(3, 4) if log_input else RNG.uniform(0.1, 3, (3, 4))
    t = RNG.poisson(2.0, (3, 4)).astype(np.float64)
    compare(F.poisson_nll_loss, TF.poisson_nll_loss, [Arg(x), Arg(t, grad=False)],
            dict(log_input=log_input, full=full, reduction=reduction))


@needs_torch
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss_vs_torch(full, reduction):
    v = RNG.uniform(0.1, 2, (3, 4))
    v[0, 0] = 1e-9  # clamped to eps
    compare(F.gaussian_nll_loss, TF.gaussian_nll_loss, [Arg(randn(3, 4)), Arg(randn(3, 4)), Arg(v)],
            dict(full=full, reduction=reduction))
    for vshape in [(3,), (3, 1), (1, 4)]:  # homoscedastic forms
        compare(F.gaussian_nll_loss, TF.gaussian_nll_loss,
                [Arg(randn(3, 4)), Arg(randn(3, 4)), Arg(RNG.uniform(0.1, 2, vshape))], dict(reduction=reduction))
    compare(F.gaussian_nll_loss, TF.gaussian_nll_loss, [Arg(randn(3, 4)), Arg(randn(3, 4)), 0.7],
            dict(full=full, reduction=reduction))


def test_losses_gradcheck_gradgradcheck():
    x, y = t64(RNG.uniform(0.1, 0.9, (3, 2))), t64(RNG.uniform(0.1, 0.9, (3, 2)))
    w = t64(RNG.uniform(0.5, 2, (2,)))
    wc = w.detach().clone()
    fns = [lambda a, b, w: F.mse_loss(a, b), lambda a, b, w: F.smooth_l1_loss(a * 3, b, beta=0.7),
           lambda a, b, w: F.huber_loss(a * 3, b, delta=0.4, reduction="sum"),
           lambda a, b, w: F.binary_cross_entropy(a, b, wc) * w.sum(),
           lambda a, b, w: F.binary_cross_entropy_with_logits(a, b, wc, pos_weight=wc * 2) * w.sum(),
           lambda a, b, w: F.kl_div(a.log(), b, reduction="batchmean"),
           lambda a, b, w: F.kl_div(a, b, reduction="sum", log_target=True),
           lambda a, b, w: F.cosine_embedding_loss(a, b, tg.tensor([1.0, -1.0, 1.0]), margin=-0.5),
           lambda a, b, w: F.poisson_nll_loss(a, b * 3, full=True),
           lambda a, b, w: F.gaussian_nll_loss(a, b, w.expand(3, 2))]
    for f in fns:
        assert gradcheck(f, (x, y, w))
        assert gradgradcheck(f, (x, y, w))


# -- attention ---------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("mask", [None, "bool", "float", "causal"])
@pytest.mark.parametrize("scale", [None, 0.3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sdpa_vs_torch(mask, scale, dtype):
    L, S, E = 4, 5, 3
    args = [Arg(randn(2, 2, L, E, dtype=dtype)), Arg(randn(2, 2, S, E, dtype=dtype)),
            Arg(randn(2, 2, S, 6, dtype=dtype))]
    kw = dict(scale=scale)
    if mask == "bool":
        m = RNG.uniform(size=(L, S)) > 0.3
        m[:, 0] = True
        args.append(Arg(m, grad=False))
    elif mask == "float":
        args.append(Arg(randn(2, 1, L, S, dtype=dtype)))
    elif mask == "causal":
        kw["is_causal"] = True
    compare(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, args, kw)


def test_sdpa_gradcheck_gradgradcheck():
    q, k, v = t64(randn(1, 3, 2)), t64(randn(1, 4, 2)), t64(randn(1, 4, 2))
    m = t64(randn(3, 4))
    assert gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m), (q, k, v, m))
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v))


def test_sdpa_dropout_keeps_expectation_shape():
    q = tg.randn(2, 3, 4)
    out = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert out.shape == (2, 3, 4)


# -- interpolate -------------------------------------------------------------------
INTERP_CASES = [(m, s, a) for m, s in [("nearest", (2, 2, 5)), ("nearest", (1, 2, 3, 4)),
                                       ("nearest-exact", (1, 2, 3, 4)),
                                       ("nearest", (1, 1, 2, 3, 2)), ("linear", (2, 2, 5)), ("bilinear", (1, 2, 3, 4)),
                                       ("trilinear", (1, 1, 2, 3, 2)), ("bicubic", (1, 2, 4, 5)),
                                       ("area", (2, 2, 7)), ("area", (1, 2, 5, 6)), ("area", (1, 1, 3, 4, 5))]
                for a in ([None] if m.startswith("nearest") or m == "area" else [None, False, True])]


@needs_torch
@pytest.mark.parametrize("mode,shape,align_corners", INTERP_CASES)
@pytest.mark.parametrize("how", ["up", "down", "size", "scale"])
def test_interpolate_vs_torch(mode, shape, how, align_corners):
    nsp = len(shape) - 2
    kw = dict(mode=mode, align_corners=align_corners)
    if how == "up":
        kw["scale_factor"] = 2
    elif how == "down":
        kw["scale_factor"] = 0.5
    elif how == "size":
        kw["size"] = tuple([7, 2, 3][:nsp])
    else:
        kw["scale_factor"] = tuple([1.5, 2.5, 1.7][:nsp])
    compare(F.interpolate, TF.interpolate, [Arg(randn(*shape), noncontig=True)], kw)


def test_interpolate_gradcheck_and_errors():
    x = t64(randn(1, 1, 3, 2))
    assert gradcheck(lambda x: F.interpolate(x, size=(4, 5), mode="bilinear"), (x,))
    assert gradgradcheck(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True) ** 2, (x,))
    assert gradcheck(lambda x: F.interpolate(x, size=(5, 3)), (x,))
    assert gradcheck(lambda x: F.interpolate(x, size=(5, 3), mode="bicubic"), (x,))
    assert gradcheck(lambda x: F.interpolate(x, size=(2, 1), mode="area"), (x,))
    with pytest.raises(ValueError, match="only one of size or scale_factor should be defined"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, size=3, align_corners=True)


def test_exports():
    import tinygrad_cn.nn._functional_norm as m
    for name in m.__all__:
        assert callable(getattr(F, name))


ERROR_CASES = {
    "layer_norm_shape": lambda m, t: m.layer_norm(t.randn(2, 3, 5), (4,)),
    "rms_norm_shape": lambda m, t: m.rms_norm(t.randn(2, 3), (4,)),
    "layer_norm_weight": lambda m, t: m.layer_norm(t.randn(2, 3, 4), (4,), t.randn(3)),
    "group_norm_groups": lambda m, t: m.group_norm(t.randn(2, 6, 4), 4),
    "group_norm_weight": lambda m, t: m.group_norm(t.randn(2, 6, 4), 3, t.randn(5)),
    "batch_norm_running_mean": lambda m, t: m.batch_norm(t.randn(2, 3), t.zeros(4), t.ones(3)),
    "batch_norm_weight": lambda m, t: m.batch_norm(t.randn(2, 3), t.zeros(3), t.ones(3), t.ones(4)),
    "batch_norm_1d": lambda m, t: m.batch_norm(t.randn(3), t.zeros(3), t.ones(3)),
    "batch_norm_momentum_none": lambda m, t: m.batch_norm(t.randn(4, 3), None, None, training=True, momentum=None),
    "batch_norm_stats_dtype": lambda m, t: m.batch_norm(t.randn(4, 3), t.zeros(3, dtype=t.float64),
                                                        t.ones(3, dtype=t.float64)),
    "batch_norm_stats_dtype64": lambda m, t: m.batch_norm(t.randn(4, 3, dtype=t.float64), t.zeros(3), t.ones(3),
                                                          training=True),
    "batch_norm_weight_dtype": lambda m, t: m.batch_norm(t.randn(4, 3), t.zeros(3), t.ones(3),
                                                         t.ones(3, dtype=t.float64)),
    "batch_norm_weight_dtype64": lambda m, t: m.batch_norm(t.randn(4, 3, dtype=t.float64), None, None, t.ones(3),
                                                           training=True),
    "batch_norm_params_disagree": lambda m, t: m.batch_norm(t.randn(4, 3), t.zeros(3, dtype=t.float64),
                                                            t.ones(3, dtype=t.float64), t.ones(3)),
    "layer_norm_weight_dtype64": lambda m, t: m.layer_norm(t.randn(2, 3, dtype=t.float64), (3,), t.ones(3)),
    "layer_norm_weight_dtype": lambda m, t: m.layer_norm(t.randn(2, 3), (3,), t.ones(3, dtype=t.float64)),
    "group_norm_weight_dtype": lambda m, t: m.group_norm(t.randn(2, 3, 2), 3, t.ones(3, dtype=t.float64)),
    "batch_norm_eval_no_stats": lambda m, t: m.batch_norm(t.randn(2, 3), None, None),
    "batch_norm_one_value": lambda m, t: m.batch_norm(t.randn(1, 3, 1, 1), None, None, training=True),
    "instance_norm_one_spatial": lambda m, t: m.instance_norm(t.randn(2, 3, 1)),
    "instance_norm_2d": lambda m, t: m.instance_norm(t.randn(2, 3)),
    "smooth_l1_beta": lambda m, t: m.smooth_l1_loss(t.randn(3), t.randn(3), beta=-1.0),
    "huber_delta": lambda m, t: m.huber_loss(t.randn(3), t.randn(3), delta=-1.0),
    "kl_div_reduction": lambda m, t: m.kl_div(t.randn(3), t.randn(3), reduction="foo"),
    "l1_reduction": lambda m, t: m.l1_loss(t.randn(3), t.randn(3), reduction="batchmean"),
    "margin_ranking_dims": lambda m, t: m.margin_ranking_loss(t.randn(3), t.randn(3), t.randn(3, 1)),
    "cosine_embedding_3d": lambda m, t: m.cosine_embedding_loss(t.randn(3, 2, 2), t.randn(3, 2, 2), t.randn(3)),
    "cosine_embedding_1d": lambda m, t: m.cosine_embedding_loss(t.randn(3, 2), t.randn(3), t.randn(3)),
    "bce_size": lambda m, t: m.binary_cross_entropy(t.rand(3, 1), t.rand(3)),
    "bce_range": lambda m, t: m.binary_cross_entropy(t.tensor([1.5]), t.tensor([1.0])),
    "bce_weight_grad": lambda m, t: m.binary_cross_entropy(t.rand(3), t.rand(3), t.rand(3).requires_grad_()),
    "bce_logits_size": lambda m, t: m.binary_cross_entropy_with_logits(t.rand(3, 1), t.rand(3)),
    "gaussian_nll_var": lambda m, t: m.gaussian_nll_loss(t.randn(3, 4), t.randn(3, 4), t.ones(2)),
    "gaussian_nll_var_3d": lambda m, t: m.gaussian_nll_loss(t.randn(2, 3, 4), t.randn(2, 3, 4), t.ones(2, 1, 2)),
    "gaussian_nll_reduction": lambda m, t: m.gaussian_nll_loss(t.randn(3), t.randn(3), t.ones(3), reduction="x"),
    "gaussian_nll_negative_float": lambda m, t: m.gaussian_nll_loss(t.randn(3), t.randn(3), -1.0),
    "gaussian_nll_negative": lambda m, t: m.gaussian_nll_loss(t.randn(3, 4), t.randn(3, 4), -t.ones(3, 4)),
    "interpolate_both": lambda m, t: m.interpolate(t.randn(1, 1, 3), size=3, scale_factor=2),
    "interpolate_neither": lambda m, t: m.interpolate(t.randn(1, 1, 3)),
    "interpolate_bilinear_3d": lambda m, t: m.interpolate(t.randn(1, 1, 3), size=4, mode="bilinear"),
    "interpolate_size_dims": lambda m, t: m.interpolate(t.randn(1, 1, 3, 3), size=(4,)),
    "interpolate_align_nearest": lambda m, t: m.interpolate(t.randn(1, 1, 3), size=4, align_corners=True),
    "sdpa_mask_and_causal": lambda m, t: m.scaled_dot_product_attention(t.randn(2, 3, 4), t.randn(2, 3, 4),
                                                                        t.randn(2, 3, 4), attn_mask=t.ones(3, 3),
                                                                        is_causal=True),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_error_messages_match_torch(name):
    f = ERROR_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as want:
            f(TF, torch)
        with pytest.raises(Exception) as got:
            f(F, tg)
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value).replace("torch.Size", "tinygrad_cn.Size")


@needs_torch
def test_broadcast_warning_matches_torch():
    with pytest.warns(UserWarning) as want:
        TF.mse_loss(torch.randn(3, 4), torch.randn(4))
    with pytest.warns(UserWarning) as got:
        F.mse_loss(tg.randn(3, 4), tg.randn(4))
    assert str(got[0].message) == str(want[0].message).replace("torch.Size", "tinygrad_cn.Size")


SECOND_ORDER = {
    "batch_norm": (lambda m, x, w, b: m.batch_norm(x, None, None, w, b, training=True), (4, 3, 2)),
    "instance_norm": (lambda m, x, w, b: m.instance_norm(x, None, None, w, b), (2, 3, 4)),
    "layer_norm": (lambda m, x, w, b: m.layer_norm(x.transpose(1, 2), (3,), w, b), (2, 3, 4)),
    "group_norm": (lambda m, x, w, b: m.group_norm(x, 3, w, b), (2, 3, 4)),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives_match_torch(name):
    """d/d(x, w, b) of sum(grad_x(f . g)^2): the create_graph backward path against torch."""
    f, shape = SECOND_ORDER[name]
    x, w, b, g = randn(*shape), randn(3), randn(3), None
    outs = []
    for m, lib, mk in ((F, tg, lambda a: tg.from_numpy(a.copy()).requires_grad_()),
                       (TF, torch, lambda a: torch.tensor(a, requires_grad=True))):
        xs, ws, bs = mk(x), mk(w), mk(b)
        y = f(m, xs, ws, bs)
        if g is None:
            g = RNG.standard_normal(tuple(y.shape))
        gx, gw = (tg.autograd.grad if lib is tg else torch.autograd.grad)(
            y, (xs, ws), lib.from_numpy(g.copy()), create_graph=True)
        ((gx * gx).sum() + (gw * gx.sum()).sum()).backward()
        outs.append([t.grad.detach().numpy() for t in (xs, ws)])
    for a, e in zip(*outs):
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-10)


@needs_torch
@pytest.mark.parametrize("eps", [1e-5, 0.1, 2.0])
@pytest.mark.parametrize("which", ["x", "w", "b", "wb"])
def test_norm_eps_and_partial_requires_grad(eps, which):
    """Gradients when only some of input/weight/bias require grad, over eps values."""
    x, w, b = randn(4, 3, 5), randn(3), randn(3)
    args = [Arg(x, grad="x" in which), None, None, Arg(w, grad="w" in which), Arg(b, grad="b" in which)]
    compare(F.batch_norm, TF.batch_norm, args, dict(training=True, eps=eps))
    compare(F.group_norm, TF.group_norm, [args[0], 3, args[3], args[4]], dict(eps=eps))
    compare(F.layer_norm, TF.layer_norm, [Arg(x, grad="x" in which), (5,), Arg(randn(5), grad="w" in which),
                                          Arg(randn(5), grad="b" in which)], dict(eps=eps))


def test_norms_without_grad_record_nothing():
    x, w = tg.randn(4, 3, 2), tg.randn(3)
    for y in (F.batch_norm(x, None, None, w, w, training=True), F.layer_norm(x, (2,)), F.group_norm(x, 3, w, w),
              F.instance_norm(x)):
        assert y.grad_fn is None and not y.requires_grad
    xr = x.clone().requires_grad_()
    with tg.no_grad():
        assert F.batch_norm(xr, None, None, training=True).grad_fn is None
    assert F.batch_norm(xr, None, None, training=True).grad_fn.name() == "NativeBatchNormBackward0"


@needs_torch
def test_sdpa_gqa_vs_torch():
    args = [Arg(randn(2, 4, 3, 5)), Arg(randn(2, 2, 6, 5)), Arg(randn(2, 2, 6, 4))]
    compare(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, args, dict(enable_gqa=True))


@needs_torch
def test_sdpa_bool_mask_broadcast_and_3d():
    m = RNG.uniform(size=(2, 1, 3, 4)) > 0.4
    m[..., 0] = True
    args = [Arg(randn(2, 2, 3, 5)), Arg(randn(2, 2, 4, 5)), Arg(randn(2, 2, 4, 5)), Arg(m, grad=False)]
    compare(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, args)
    compare(F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
            [Arg(randn(3, 4)), Arg(randn(5, 4)), Arg(randn(5, 2))], dict(is_causal=True))


@needs_torch
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pairwise_distance_and_triplet_margin_vs_torch(p, swap, reduction):
    compare(F.pairwise_distance, TF.pairwise_distance, [Arg(randn(4, 3)), Arg(randn(4, 3))], dict(p=p))
    compare(F.pairwise_distance, TF.pairwise_distance, [Arg(randn(4, 3)), Arg(randn(3))], dict(p=p, keepdim=True))
    compare(F.triplet_margin_loss, TF.triplet_margin_loss, [Arg(randn(5, 3)), Arg(randn(5, 3)), Arg(randn(5, 3))],
            dict(p=p, swap=swap, margin=1.5, reduction=reduction))


@needs_torch
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_and_multilabel_soft_margin_vs_torch(p, weighted, reduction):
    t = np.array([0, 3, 1, 3, 2])
    w = Arg(RNG.uniform(0.5, 2, 4), grad=False) if weighted else None
    compare(F.multi_margin_loss, TF.multi_margin_loss, [Arg(randn(5, 4)), Arg(t, grad=False)],
            dict(p=p, margin=0.7, weight=None if w is None else tg.from_numpy(w.arr.copy()), reduction=reduction),
            torch_kwargs=dict(p=p, margin=0.7, weight=None if w is None else torch.tensor(w.arr),
                              reduction=reduction))
    compare(F.multi_margin_loss, TF.multi_margin_loss, [Arg(randn(4)), Arg(np.array(2), grad=False)],
            dict(p=p, reduction=reduction))
    compare(F.multilabel_soft_margin_loss, TF.multilabel_soft_margin_loss,
            [Arg(randn(5, 4)), Arg((RNG.uniform(size=(5, 4)) > 0.5).astype(np.float64), grad=False), w],
            dict(reduction=reduction))


def test_more_losses_gradcheck_gradgradcheck():
    a, p, n = t64(randn(3, 2)), t64(randn(3, 2)), t64(randn(3, 2))
    t = tg.tensor([1, 0, 1])
    for f in (lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=3.0, swap=True),
              lambda a, p, n: F.multi_margin_loss(a * 0.3 + p, t, p=2, margin=2.0),
              lambda a, p, n: F.multilabel_soft_margin_loss(a, p.sigmoid()) + n.sum()):
        assert gradcheck(f, (a, p, n))
        assert gradgradcheck(f, (a, p, n))


def test_sdpa_dropout_reproducible_and_scaled():
    q = tg.randn(2, 8, 4)
    tg.manual_seed(3)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.4)
    tg.manual_seed(3)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.4)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    z = tg.zeros(1, 200, 1, dtype=tg.float64)
    out = F.scaled_dot_product_attention(z, z, z + 1, dropout_p=0.5).numpy() * 100  # kept weights are 2/200
    np.testing.assert_allclose(out, np.round(out), atol=1e-9)
    assert 70 < out.mean() < 130


@needs_torch
def test_instance_norm_eval_stats_and_lrn_4d_vs_torch():
    rm, rv = randn(3), RNG.uniform(0.5, 2, 3)
    compare(F.instance_norm, TF.instance_norm, [Arg(randn(2, 3, 4)), Arg(rm, grad=False), Arg(rv, grad=False),
                                                Arg(randn(3)), Arg(randn(3))], dict(use_input_stats=False))
    compare(F.local_response_norm, TF.local_response_norm, [Arg(randn(2, 6, 3, 2)), 4], dict(alpha=0.2, beta=0.5))


@needs_torch
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_weight_vs_torch(name, reduction):
    args = [Arg(randn(3, 4)), Arg(randn(3, 4)), None]
    w = RNG.uniform(0.2, 2, (3, 4))
    compare(getattr(F, name), getattr(TF, name), args[:2], dict(reduction=reduction, weight=tg.from_numpy(w.copy())),
            torch_kwargs=dict(reduction=reduction, weight=torch.tensor(w)))
    with pytest.raises(ValueError, match="Weights and input must have the same size."):
        getattr(F, name)(tg.randn(3, 4), tg.randn(3, 4), weight=tg.rand(4))
