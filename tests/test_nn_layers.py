"""The layer modules of tinygrad_cn.nn (conv, pooling, normalization, dropout, Embedding, losses)
against torch: same parameters copied in through state_dict, forward values and gradients of the
input and parameters (float32 and float64), BatchNorm running statistics, state_dict keys, repr
strings, default init bounds and a small CNN trained three SGD steps.

Tests needing torch skip without it.
"""
import math

import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn import nn
from tinygrad_cn.nn.modules.conv import Conv1d, Conv2d, ConvTranspose2d
from tinygrad_cn.nn.modules.dropout import Dropout, Dropout2d
from tinygrad_cn.nn.modules.loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss,
                                         HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss, NLLLoss,
                                         SmoothL1Loss)
from tinygrad_cn.nn.modules.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from tinygrad_cn.nn.modules.pooling import (AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d,
                                            MaxPool2d)
from tinygrad_cn.nn.modules.sparse import Embedding

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")

OURS = {c.__name__: c for c in (Conv1d, Conv2d, ConvTranspose2d, Dropout, Dropout2d, BCELoss, BCEWithLogitsLoss,
                                CosineEmbeddingLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                                MarginRankingLoss, MSELoss, NLLLoss, SmoothL1Loss, BatchNorm1d, BatchNorm2d,
                                GroupNorm, LayerNorm, AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d,
                                MaxPool1d, MaxPool2d, Embedding)}
NP_DT = {"float32": np.float32, "float64": np.float64}
TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-10)}


def _np(t):
    return np.asarray(t.detach()._data) if isinstance(t, tg.Tensor) else t.detach().numpy()


def _copy_from_torch(ours, theirs):
    sd = {k: tg.from_numpy(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(sd)


def _pair(name, args, kwargs, dtype):
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    ours = OURS[name](*args, **kwargs)
    if dtype == "float64":
        theirs, ours = theirs.double(), ours.double()
    _copy_from_torch(ours, theirs)
    return ours, theirs


def _run_both(ours, theirs, x, dtype, seed=0):
    """Forward both on x (numpy); backward a random cotangent; compare output and gradients."""
    tol = TOL[dtype]
    xo = tg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(_np(yo), _np(yt), **tol)
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape)).astype(x.dtype)
    (yo * tg.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(_np(xo.grad), _np(xt.grad), **tol)
    tp = dict(theirs.named_parameters())
    op = dict(ours.named_parameters())
    assert op.keys() == tp.keys()
    for k in tp:
        np.testing.assert_allclose(_np(op[k].grad), _np(tp[k].grad), err_msg=k, **tol)
    return yo, yt


LAYER_CASES = [
    ("Conv1d", (3, 4, 3), {}, (2, 3, 9)),
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1, dilation=2, groups=2, bias=False), (2, 4, 11)),
    ("Conv1d", (3, 4, 3), dict(padding="same", padding_mode="reflect"), (2, 3, 9)),
    ("Conv2d", (3, 5, 3), {}, (2, 3, 7, 6)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 2), groups=2), (2, 4, 8, 7)),
    ("Conv2d", (3, 4, 3), dict(padding="same", dilation=2), (2, 3, 8, 8)),
    ("Conv2d", (3, 4, 4), dict(padding="same"), (1, 3, 7, 7)),
    ("Conv2d", (3, 4, 3), dict(padding="valid"), (1, 3, 7, 7)),
    ("Conv2d", (3, 4, (2, 4)), dict(padding="same", padding_mode="reflect"), (2, 3, 7, 8)),
    ("Conv1d", (3, 4, 4), dict(padding="same", dilation=1, padding_mode="replicate"), (2, 3, 9)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="reflect"), (2, 3, 6, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=(1, 2), padding_mode="replicate"), (2, 3, 6, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=2, padding_mode="circular"), (2, 3, 6, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=1), (3, 6, 6)),  # unbatched
    ("ConvTranspose2d", (3, 4, 3), {}, (2, 3, 5, 5)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2, dilation=1), (2, 4, 4, 5)),
    ("ConvTranspose2d", (3, 2, (2, 3)), dict(stride=(2, 1), bias=False, dilation=2), (1, 3, 4, 4)),
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 10)),
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 3, 9, 8)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 10)),
    ("AvgPool2d", (2,), {}, (2, 3, 8, 8)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 3, 9, 8)),
    ("AvgPool2d", (2,), dict(divisor_override=3), (1, 2, 6, 6)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 3, 8, 7)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 5, 5)),
    ("AdaptiveMaxPool2d", (3,), {}, (2, 3, 8, 7)),
    ("LayerNorm", (6,), {}, (2, 4, 6)),
    ("LayerNorm", ((4, 6),), dict(eps=1e-3, bias=False), (2, 4, 6)),
    ("LayerNorm", (6,), dict(elementwise_affine=False), (3, 6)),
    ("GroupNorm", (2, 6), {}, (3, 6, 4, 5)),
    ("GroupNorm", (3, 6), dict(affine=False, eps=1e-3), (3, 6, 7)),
    ("GroupNorm", (3, 6), dict(bias=False), (3, 6, 7)),
    ("BatchNorm1d", (5,), dict(bias=False), (8, 5)),
    ("BatchNorm1d", (5,), {}, (8, 5)),
    ("BatchNorm1d", (5,), dict(affine=False), (4, 5, 3)),
    ("BatchNorm2d", (3,), dict(momentum=None), (4, 3, 5, 5)),
    ("BatchNorm2d", (3,), dict(track_running_stats=False), (4, 3, 5, 5)),
]


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kwargs,shape", LAYER_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LAYER_CASES)])
def test_layer_matches_torch(name, args, kwargs, shape, dtype):
    ours, theirs = _pair(name, args, kwargs, dtype)
    # perturb affine params so ones/zeros init does not hide mistakes
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    _copy_from_torch(ours, theirs)
    x = np.random.default_rng(1).standard_normal(shape).astype(NP_DT[dtype])
    _run_both(ours, theirs, x, dtype)
    # buffers (BatchNorm running stats) after the training step
    tb = dict(theirs.named_buffers())
    ob = dict(ours.named_buffers())
    assert ob.keys() == tb.keys()
    for k in tb:
        np.testing.assert_allclose(_np(ob[k]), _np(tb[k]), err_msg=k, **TOL[dtype])
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    assert repr(ours) == repr(theirs)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,kwargs,shape", [
    ("BatchNorm1d", {}, (6, 4)),
    ("BatchNorm1d", dict(momentum=0.3, eps=1e-3), (6, 4, 5)),
    ("BatchNorm1d", dict(momentum=None), (6, 4)),
    ("BatchNorm2d", {}, (4, 3, 5, 5)),
    ("BatchNorm2d", dict(momentum=None, affine=False), (4, 3, 5, 5)),
])
def test_batchnorm_running_stats_and_eval(cls, kwargs, shape, dtype):
    c = shape[1]
    ours, theirs = _pair(cls, (c,), kwargs, dtype)
    rng = np.random.default_rng(3)
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(NP_DT[dtype])
        np.testing.assert_allclose(_np(ours(tg.tensor(x))), _np(theirs(torch.tensor(x))), **TOL[dtype])
    for k, v in theirs.state_dict().items():
        o = ours.state_dict()[k]
        np.testing.assert_allclose(_np(o), v.numpy(), err_msg=k, **TOL[dtype])
        assert _np(o).dtype == v.numpy().dtype, k
    assert int(ours.num_batches_tracked.item()) == 4
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape).astype(NP_DT[dtype])
    _run_both(ours, theirs, x, dtype)
    # eval does not move the running statistics
    np.testing.assert_allclose(_np(ours.running_mean), theirs.running_mean.numpy(), **TOL[dtype])
    assert int(ours.num_batches_tracked.item()) == 4


def test_batchnorm_input_rank_checks():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        BatchNorm1d(3)(tg.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        BatchNorm2d(3)(tg.zeros(2, 3, 4))


def test_batchnorm_buffers_and_reset():
    bn = BatchNorm2d(4)
    assert [k for k, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert _np(bn.num_batches_tracked).dtype == np.int64
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    bn(tg.randn(3, 4, 2, 2))
    assert not np.allclose(_np(bn.running_mean), 0)
    bn.reset_running_stats()
    assert np.allclose(_np(bn.running_mean), 0) and np.allclose(_np(bn.running_var), 1)
    assert int(bn.num_batches_tracked.item()) == 0
    nt = BatchNorm1d(4, track_running_stats=False)
    assert nt.running_mean is None and list(nt.state_dict()) == ["weight", "bias"]
    # checkpoint without num_batches_tracked loads (torch's old format)
    sd = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    BatchNorm2d(4).load_state_dict(sd)


@needs_torch
@pytest.mark.parametrize("name,args,kwargs", [
    ("Conv1d", (3, 4, 3), {}),
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1, dilation=2, groups=2, bias=False)),
    ("Conv2d", (3, 4, 3), dict(padding="same", padding_mode="reflect")),
    ("Conv2d", (3, 4, (3, 5)), dict(stride=(1, 2), padding=(1, 2), padding_mode="circular")),
    ("Conv2d", (3, 4, 3), dict(padding="valid")),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2, dilation=2)),
    ("MaxPool1d", (3,), {}), ("MaxPool2d", (2,), dict(stride=1, padding=1, ceil_mode=True)),
    ("MaxPool2d", ((2, 3),), {}),
    ("AvgPool1d", (3,), dict(stride=2)), ("AvgPool2d", (2,), {}), ("AvgPool2d", ((2, 3), 1, 1), {}),
    ("AdaptiveAvgPool2d", ((5, None),), {}), ("AdaptiveMaxPool2d", (3,), dict(return_indices=True)),
    ("BatchNorm1d", (5,), dict(momentum=None, affine=False)), ("BatchNorm2d", (5,), dict(eps=1e-3)),
    ("LayerNorm", ((4, 6),), dict(elementwise_affine=False)), ("GroupNorm", (2, 6), {}),
    ("Dropout", (), {}), ("Dropout", (0.2,), dict(inplace=True)), ("Dropout2d", (0.3,), {}),
    ("Embedding", (10, 3), {}), ("Embedding", (10, 3), dict(padding_idx=-1, max_norm=1.0, norm_type=1.0)),
    ("Embedding", (10, 3), dict(scale_grad_by_freq=True, sparse=True)),
    ("MSELoss", (), {}), ("L1Loss", (), dict(reduction="sum")), ("SmoothL1Loss", (), dict(beta=0.5)),
    ("HuberLoss", (), {}), ("CrossEntropyLoss", (), dict(label_smoothing=0.1)), ("NLLLoss", (), {}),
    ("BCELoss", (), {}), ("BCEWithLogitsLoss", (), {}), ("KLDivLoss", (), {}), ("MarginRankingLoss", (), {}),
    ("CosineEmbeddingLoss", (), {}),
])
def test_repr_and_state_dict_keys(name, args, kwargs):
    ours, theirs = OURS[name](*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]


@pytest.mark.parametrize("make,fan_in", [
    (lambda: Conv2d(3, 8, 3), 27), (lambda: Conv1d(4, 6, 5, groups=2), 10),
    (lambda: ConvTranspose2d(6, 4, 3, groups=2), 18),
])
def test_conv_default_init_bounds(make, fan_in):
    tg.manual_seed(0)
    m = make()
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) gives the same bound as the bias
    w, b = _np(m.weight), _np(m.bias)
    assert np.abs(w).max() <= bound + 1e-7 and np.abs(b).max() <= bound + 1e-7
    assert np.abs(w).max() > 0.8 * bound  # really spread over the range
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.25)


def test_norm_and_embedding_default_init():
    for m in (BatchNorm1d(4), BatchNorm2d(4), LayerNorm(4), GroupNorm(2, 4)):
        assert np.array_equal(_np(m.weight), np.ones(4)) and np.array_equal(_np(m.bias), np.zeros(4))
    tg.manual_seed(0)
    e = Embedding(400, 20, padding_idx=3)
    w = _np(e.weight)
    assert np.array_equal(w[3], np.zeros(20))
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1) < 0.05
    assert Conv2d(3, 4, 3, dtype=tg.float64).weight.dtype == tg.float64
    assert BatchNorm1d(3, dtype=tg.float64).running_var.dtype == tg.float64
    assert Embedding(3, 2, dtype=tg.float64).weight.dtype == tg.float64


def test_embedding_forward_grad_and_from_pretrained():
    e = Embedding(5, 3, padding_idx=1)
    idx = tg.tensor([[0, 1, 4], [4, 4, 1]])
    y = e(idx)
    assert tuple(y.shape) == (2, 3, 3)
    np.testing.assert_array_equal(_np(y)[0, 0], _np(e.weight)[0])
    y.sum().backward()
    g = _np(e.weight.grad)
    np.testing.assert_array_equal(g[:, 0], [1, 0, 0, 0, 3])  # padding row gets no gradient
    w = tg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    f = Embedding.from_pretrained(w)
    assert not f.weight.requires_grad and f.num_embeddings == 3 and f.embedding_dim == 2
    assert _np(f(tg.tensor([2])) ).tolist() == [[5.0, 6.0]]
    assert Embedding.from_pretrained(w, freeze=False, padding_idx=0).weight.requires_grad
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        Embedding(3, 2, padding_idx=3)
    with pytest.raises(AssertionError, match="2-dimensional"):
        Embedding.from_pretrained(tg.ones(3))
    with pytest.raises(AssertionError, match="Shape of weight"):
        Embedding(3, 2, _weight=tg.ones(2, 2))


@needs_torch
def test_embedding_matches_torch():
    t = torch.nn.Embedding(7, 4, padding_idx=2)
    o = Embedding(7, 4, padding_idx=2)
    _copy_from_torch(o, t)
    idx = np.array([[0, 2, 6, 6], [3, 2, 1, 0]])
    yo, yt = o(tg.tensor(idx)), t(torch.tensor(idx))
    np.testing.assert_allclose(_np(yo), _np(yt))
    g = np.random.default_rng(0).standard_normal(yt.shape).astype(np.float32)
    (yo * tg.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(_np(o.weight.grad), t.weight.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_dropout_train_eval():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        Dropout(1.5)
    tg.manual_seed(0)
    x = tg.ones(200, 50)
    d = Dropout(0.25)
    y = _np(d(x))
    kept = y[y != 0]
    np.testing.assert_allclose(kept, np.float32(1 / 0.75))
    assert abs((y == 0).mean() - 0.25) < 0.03
    d.eval()
    assert np.array_equal(_np(d(x)), np.ones((200, 50)))
    d2 = Dropout2d(0.5)
    y2 = _np(d2(tg.ones(20, 30, 3, 3)))
    per_channel = y2.reshape(20, 30, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))  # whole channels
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    assert np.array_equal(_np(d2.eval()(tg.ones(2, 3, 2, 2))), np.ones((2, 3, 2, 2)))
    xi = tg.ones(4, 4)
    out = Dropout(0.5, inplace=True)(xi)
    assert out is xi or np.array_equal(_np(out), _np(xi))


def _loss_inputs(name, rng, dt):
    r = lambda *s: rng.standard_normal(s).astype(dt)  # noqa: E731
    if name in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"):
        return [r(4, 5)], [r(4, 5) * 2]
    if name == "CrossEntropyLoss":
        return [r(6, 4)], [np.array([0, 3, 1, 1, 2, 0])]
    if name == "NLLLoss":
        return [np.log(np.exp(r(6, 4)) / np.exp(r(6, 4)).sum(1, keepdims=True) + 0.01).astype(dt)], \
            [np.array([0, 3, 1, 1, 2, 0])]
    if name == "BCELoss":
        return [(1 / (1 + np.exp(-r(4, 3)))).astype(dt)], [rng.random((4, 3)).astype(dt)]
    if name == "BCEWithLogitsLoss":
        return [r(4, 3)], [rng.random((4, 3)).astype(dt)]
    if name == "KLDivLoss":
        p = np.exp(r(4, 5))
        return [np.log(p / p.sum(1, keepdims=True)).astype(dt)], [rng.dirichlet(np.ones(5), 4).astype(dt)]
    if name == "MarginRankingLoss":
        return [r(6), r(6)], [np.array([1, -1, 1, -1, 1, 1], dtype=dt)]
    if name == "CosineEmbeddingLoss":
        return [r(5, 4), r(5, 4)], [np.array([1, -1, 1, -1, -1], dtype=dt)]
    raise KeyError(name)


LOSS_CASES = [
    ("MSELoss", {}), ("MSELoss", dict(reduction="sum")), ("MSELoss", dict(size_average=False)),
    ("L1Loss", {}), ("L1Loss", dict(reduction="none")),
    ("SmoothL1Loss", dict(beta=0.5)), ("HuberLoss", dict(delta=0.7, reduction="sum")),
    ("CrossEntropyLoss", {}), ("CrossEntropyLoss", dict(label_smoothing=0.2, ignore_index=3)),
    ("CrossEntropyLoss", dict(weight="w4", reduction="sum")),
    ("NLLLoss", {}), ("NLLLoss", dict(weight="w4", ignore_index=1)),
    ("BCELoss", {}), ("BCELoss", dict(weight="w3", reduction="none")),
    ("BCEWithLogitsLoss", {}), ("BCEWithLogitsLoss", dict(pos_weight="w3", weight="w3")),
    ("KLDivLoss", dict(reduction="batchmean")), ("KLDivLoss", dict(reduction="sum")),
    ("MarginRankingLoss", dict(margin=0.3)), ("CosineEmbeddingLoss", dict(margin=0.2)),
    ("CosineEmbeddingLoss", dict(reduce=False)),
]


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", LOSS_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(LOSS_CASES)])
def test_loss_matches_torch(name, kwargs, dtype):
    dt = NP_DT[dtype]
    rng = np.random.default_rng(5)
    weights = {"w4": (rng.random(4) + 0.5).astype(dt), "w3": (rng.random(3) + 0.5).astype(dt)}
    ko = {k: tg.tensor(weights[v]) if v in weights else v for k, v in kwargs.items()}
    kt = {k: torch.tensor(weights[v]) if v in weights else v for k, v in kwargs.items()}
    ours, theirs = OURS[name](**ko), getattr(torch.nn, name)(**kt)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()]
    assert ours.reduction == theirs.reduction
    inputs, targets = _loss_inputs(name, rng, dt)
    xo = [tg.tensor(a, requires_grad=True) for a in inputs]
    xt = [torch.tensor(a, requires_grad=True) for a in inputs]
    lo = ours(*xo, *[tg.tensor(t) for t in targets])
    lt = theirs(*xt, *[torch.tensor(t) for t in targets])
    np.testing.assert_allclose(_np(lo), _np(lt), **TOL[dtype])
    g = rng.standard_normal(tuple(lt.shape)).astype(dt)
    (lo * tg.tensor(g)).sum().backward()
    (lt * torch.tensor(g)).sum().backward()
    for a, b in zip(xo, xt):
        np.testing.assert_allclose(_np(a.grad), _np(b.grad), **TOL[dtype])


def test_loss_weight_is_buffer():
    w = tg.tensor([1.0, 2.0, 3.0])
    m = CrossEntropyLoss(weight=w)
    assert m.weight is w and list(m.state_dict()) == ["weight"]
    b = BCEWithLogitsLoss(pos_weight=w)
    assert list(b.state_dict()) == ["pos_weight"] and b.weight is None
    assert list(MSELoss().state_dict()) == [] and MSELoss(reduce=False).reduction == "none"
    assert repr(CrossEntropyLoss()) == "CrossEntropyLoss()"


def test_conv_errors_and_output_size():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string"):
        Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    m = ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = tg.randn(1, 2, 4, 4)
    assert tuple(m(x).shape) == (1, 3, 7, 7)
    assert tuple(m(x, output_size=[8, 8]).shape) == (1, 3, 8, 8)
    with pytest.raises(ValueError, match="requested an output size"):
        m(x, output_size=(10, 10))
    assert tuple(Conv2d(2, 3, 4, padding="same")(tg.randn(1, 2, 5, 6)).shape) == (1, 3, 5, 6)


@needs_torch
def test_small_cnn_three_sgd_steps_match_torch():
    def build(nnm):
        return nnm.Sequential(
            nnm.Conv2d(1, 8, 3, padding=1) if nnm is torch.nn else Conv2d(1, 8, 3, padding=1), nnm.ReLU(),
            nnm.MaxPool2d(2) if nnm is torch.nn else MaxPool2d(2),
            nnm.Conv2d(8, 16, 3, padding=1) if nnm is torch.nn else Conv2d(8, 16, 3, padding=1), nnm.ReLU(),
            nnm.MaxPool2d(2) if nnm is torch.nn else MaxPool2d(2),
            nnm.Flatten(), nnm.Linear(16 * 7 * 7, 10))
    torch.manual_seed(0)
    theirs, ours = build(torch.nn), build(nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    _copy_from_torch(ours, theirs)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1)
    # tinygrad_cn has no optim package yet: plain SGD by hand (what torch.optim.SGD does without momentum)
    crit_t, crit_o = torch.nn.CrossEntropyLoss(), CrossEntropyLoss()
    losses_t, losses_o = [], []
    for _ in range(3):
        opt_t.zero_grad()
        lt = crit_t(theirs(torch.tensor(x)), torch.tensor(y))
        lt.backward()
        opt_t.step()
        losses_t.append(lt.item())
        ours.zero_grad()
        lo = crit_o(ours(tg.tensor(x)), tg.tensor(y))
        lo.backward()
        with tg.no_grad():
            for p in ours.parameters():
                p.sub_(p.grad * 0.1)
        losses_o.append(lo.item())
    np.testing.assert_allclose(losses_o, losses_t, rtol=1e-4, atol=1e-5)
    assert losses_o[1] != losses_o[0]  # the steps changed the weights
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(_np(ours.state_dict()[k]), v.numpy(), rtol=1e-3, atol=1e-5, err_msg=k)


@needs_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv_padding_modes_unbatched_and_1d(mode):
    ours, theirs = _pair("Conv2d", (3, 4, 3), dict(padding=(2, 1), padding_mode=mode), "float64")
    x = np.random.default_rng(2).standard_normal((3, 6, 7))
    _run_both(ours, theirs, x, "float64")
    ours, theirs = _pair("Conv1d", (3, 4, 3), dict(padding=2, padding_mode=mode), "float64")
    _run_both(ours, theirs, np.random.default_rng(2).standard_normal((2, 3, 7)), "float64")


@needs_torch
def test_embedding_max_norm_renormalises_weight_like_torch():
    w = (np.random.default_rng(0).standard_normal((6, 3)) * 3).astype(np.float32)
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w.copy()), max_norm=1.0)
    o = Embedding.from_pretrained(tg.tensor(w.copy()), max_norm=1.0)
    i = np.array([0, 2, 2, 5])
    np.testing.assert_allclose(_np(o(tg.tensor(i))), _np(t(torch.tensor(i))), rtol=1e-6)
    np.testing.assert_allclose(_np(o.weight), _np(t.weight), rtol=1e-6)


def test_modules_copy_pickle_and_cast():
    import copy
    import pickle
    c = Conv2d(2, 3, 3, padding_mode="reflect", padding=1)
    c2 = copy.deepcopy(c)
    assert repr(c2) == repr(c) and np.array_equal(_np(c2.weight), _np(c.weight))
    bn = pickle.loads(pickle.dumps(BatchNorm2d(3)))
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    bn.double()
    assert bn.running_mean.dtype == tg.float64 and bn.num_batches_tracked.dtype == tg.int64
    bn(tg.randn(2, 3, 2, 2, dtype=tg.float64))
    assert int(bn.num_batches_tracked.item()) == 1
