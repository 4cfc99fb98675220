"""Recurrent layers (nn.RNN/LSTM/GRU and the cells) and nn.utils.rnn.

Sections:
  1. construction: parameter names/shapes, init bounds, argument errors
  2. cells vs torch (forward + gradients, batched and unbatched)
  3. RNN/LSTM/GRU vs torch over layers/bidirectional/batch_first/initial state/unbatched/proj_size
  4. gradcheck (float64) on tiny LSTM and GRU
  5. dropout between layers
  6. nn.utils.rnn pad/pack round trips vs torch, PackedSequence through the modules
"""
import math

import numpy as np
import pytest

import tinygrad_cn
from tinygrad_cn.nn.modules import rnn as R
from tinygrad_cn.nn.utils import rnn as U


def _torch():
    return pytest.importorskip("torch")


def _np(t):
    if t is None:
        return None
    if isinstance(t, np.ndarray):
        return t
    return np.asarray(t.detach()._data) if isinstance(t, tinygrad_cn.Tensor) else t.detach().numpy()


def _copy_into(ours, theirs):
    sd = theirs.state_dict()
    assert list(sd.keys()) == list(ours.state_dict().keys())
    ours.load_state_dict({k: tinygrad_cn.tensor(v.detach().numpy()) for k, v in sd.items()})


def _close(a, b, tol):
    a, b = _np(a), _np(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _flatten(out):
    """output/state structure -> flat list of tensors."""
    if isinstance(out, (tuple, list)):
        r = []
        for o in out:
            r += _flatten(o)
        return r
    return [out]


# ==========================================================================
# 1. construction
# ==========================================================================
@pytest.mark.parametrize("cls,gates", [(R.RNN, 1), (R.LSTM, 4), (R.GRU, 3)])
def test_parameter_names_shapes_and_init(cls, gates):
    m = cls(5, 7, num_layers=2, bidirectional=True)
    names = [n for n, _ in m.named_parameters()]
    exp = []
    for k in range(2):
        for sfx in ("", "_reverse"):
            exp += [f"weight_ih_l{k}{sfx}", f"weight_hh_l{k}{sfx}", f"bias_ih_l{k}{sfx}", f"bias_hh_l{k}{sfx}"]
    assert names == exp
    assert tuple(m.weight_ih_l0.shape) == (gates * 7, 5)
    assert tuple(m.weight_ih_l1_reverse.shape) == (gates * 7, 14)
    assert tuple(m.weight_hh_l1.shape) == (gates * 7, 7)
    bound = 1 / math.sqrt(7)
    for p in m.parameters():
        a = _np(p)
        assert a.min() >= -bound and a.max() <= bound
    assert len(m.all_weights) == 4 and len(m._flat_weights) == 16
    m.flatten_parameters()


def test_no_bias_and_cells_names():
    m = R.GRU(3, 4, bias=False)
    assert [n for n, _ in m.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    c = R.LSTMCell(3, 4)
    assert [n for n, _ in c.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert tuple(c.weight_ih.shape) == (16, 3)
    assert [n for n, _ in R.RNNCell(3, 4, bias=False).named_parameters()] == ["weight_ih", "weight_hh"]


def test_argument_errors():
    with pytest.raises(ValueError):
        R.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError):
        R.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError):
        R.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError):
        R.GRU(3, 4, proj_size=2)
    with pytest.raises(RuntimeError):
        R.RNNCell(3, 4, nonlinearity="x")
    m = R.LSTM(3, 4)
    with pytest.raises(ValueError):
        m(tinygrad_cn.randn(2, 2, 2, 3))
    with pytest.raises(RuntimeError):
        m(tinygrad_cn.randn(5, 2, 2))
    with pytest.raises(RuntimeError):
        m(tinygrad_cn.randn(5, 2, 3), (tinygrad_cn.zeros(2, 2, 4), tinygrad_cn.zeros(1, 2, 4)))


def test_repr_matches_torch():
    torch = _torch()
    for args, kw in [((3, 4), {}), ((3, 4), dict(num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)),
                     ((3, 4), dict(bias=False, proj_size=2))]:
        assert repr(R.LSTM(*args, **kw)) == repr(torch.nn.LSTM(*args, **kw))
    assert repr(R.RNN(3, 4, nonlinearity="relu")) == repr(torch.nn.RNN(3, 4, nonlinearity="relu"))
    assert repr(R.GRUCell(3, 4, bias=False)) == repr(torch.nn.GRUCell(3, 4, bias=False))
    assert repr(R.RNNCell(3, 4, nonlinearity="relu")) == repr(torch.nn.RNNCell(3, 4, nonlinearity="relu"))


# ==========================================================================
# 2. cells vs torch
# ==========================================================================
def _compare_grads(ours_mod, theirs_mod, ours_inputs, theirs_inputs, ours_out, theirs_out, tol, rng):
    oflat, tflat = _flatten(ours_out), _flatten(theirs_out)
    assert len(oflat) == len(tflat)
    for o, t in zip(oflat, tflat):
        _close(o, t, tol)
    torch = _torch()
    weights = [rng.standard_normal(tuple(t.shape)) for t in tflat]
    lo = sum((o * tinygrad_cn.tensor(w, dtype=o.dtype)).sum() for o, w in zip(oflat, weights))
    lt = sum((t * torch.tensor(w, dtype=t.dtype)).sum() for t, w in zip(tflat, weights))
    lo.backward()
    lt.backward()
    for o, t in zip(ours_inputs, theirs_inputs):
        _close(o.grad, t.grad, tol)
    tp = dict(theirs_mod.named_parameters())
    for n, p in ours_mod.named_parameters():
        assert p.grad is not None, n
        _close(p.grad, tp[n].grad, tol)


def _leaf(a, dtype_name):
    torch = _torch()
    o = tinygrad_cn.tensor(a, dtype=getattr(tinygrad_cn, dtype_name), requires_grad=True)
    t = torch.tensor(a, dtype=getattr(torch, dtype_name), requires_grad=True)
    return o, t


@pytest.mark.parametrize("kind", ["RNNCell-tanh", "RNNCell-relu", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
@pytest.mark.parametrize("dtype_name,tol", [("float64", 1e-10), ("float32", 1e-5)])
def test_cells_vs_torch(kind, batched, with_state, dtype_name, tol):
    torch = _torch()
    rng = np.random.default_rng(0)
    name, _, nl = kind.partition("-")
    kw = {"nonlinearity": nl} if nl else {}
    theirs = getattr(torch.nn, name)(3, 5, **kw).to(getattr(torch, dtype_name))
    ours = getattr(R, name)(3, 5, **kw).to(getattr(tinygrad_cn, dtype_name))
    _copy_into(ours, theirs)
    shp = (4,) if batched else ()
    xo, xt = _leaf(rng.standard_normal(shp + (3,)), dtype_name)
    ins_o, ins_t = [xo], [xt]
    if with_state:
        ho, ht = _leaf(rng.standard_normal(shp + (5,)), dtype_name)
        ins_o.append(ho)
        ins_t.append(ht)
        if name == "LSTMCell":
            co, ct = _leaf(rng.standard_normal(shp + (5,)), dtype_name)
            ins_o.append(co)
            ins_t.append(ct)
            out_o, out_t = ours(xo, (ho, co)), theirs(xt, (ht, ct))
        else:
            out_o, out_t = ours(xo, ho), theirs(xt, ht)
    else:
        out_o, out_t = ours(xo), theirs(xt)
    _compare_grads(ours, theirs, ins_o, ins_t, out_o, out_t, tol, rng)


# ==========================================================================
# 3. RNN / LSTM / GRU vs torch
# ==========================================================================
_CONFIGS = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(batch_first=True, bias=False),
]


def _run_module_case(kind, cfg, with_state, batched, dtype_name, tol, seed=0):
    torch = _torch()
    rng = np.random.default_rng(seed)
    name, _, nl = kind.partition("-")
    kw = dict(cfg)
    if nl:
        kw["nonlinearity"] = nl
    theirs = getattr(torch.nn, name)(3, 5, **kw).to(getattr(torch, dtype_name))
    ours = getattr(R, name)(3, 5, **kw).to(getattr(tinygrad_cn, dtype_name))
    _copy_into(ours, theirs)
    T, B = 4, 3
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1)
    hsize = kw.get("proj_size", 0) or 5
    if batched:
        shp = (B, T, 3) if kw.get("batch_first") else (T, B, 3)
        sshp = (L * D, B)
    else:
        shp, sshp = (T, 3), (L * D,)
    xo, xt = _leaf(rng.standard_normal(shp), dtype_name)
    ins_o, ins_t = [xo], [xt]
    if with_state:
        ho, ht = _leaf(rng.standard_normal(sshp + (hsize,)), dtype_name)
        ins_o.append(ho)
        ins_t.append(ht)
        if name == "LSTM":
            co, ct = _leaf(rng.standard_normal(sshp + (5,)), dtype_name)
            ins_o.append(co)
            ins_t.append(ct)
            out_o, out_t = ours(xo, (ho, co)), theirs(xt, (ht, ct))
        else:
            out_o, out_t = ours(xo, ho), theirs(xt, ht)
    else:
        out_o, out_t = ours(xo), theirs(xt)
    if name == "LSTM":
        assert isinstance(out_o[1], tuple) and len(out_o[1]) == 2
    _compare_grads(ours, theirs, ins_o, ins_t, out_o, out_t, tol, rng)


@pytest.mark.parametrize("kind", ["RNN-tanh", "RNN-relu", "LSTM", "GRU"])
@pytest.mark.parametrize("cfg", _CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("with_state", [True, False])
def test_modules_vs_torch_float64(kind, cfg, with_state):
    _run_module_case(kind, cfg, with_state, True, "float64", 1e-10)


@pytest.mark.parametrize("kind", ["RNN-tanh", "LSTM", "GRU"])
@pytest.mark.parametrize("cfg", [dict(), dict(num_layers=2, bidirectional=True)],
                         ids=["default", "2layer-bidir"])
@pytest.mark.parametrize("with_state", [True, False])
def test_modules_unbatched_vs_torch(kind, cfg, with_state):
    _run_module_case(kind, cfg, with_state, False, "float64", 1e-10)


@pytest.mark.parametrize("kind", ["RNN-tanh", "LSTM", "GRU"])
@pytest.mark.parametrize("cfg", [dict(), dict(num_layers=2, bidirectional=True, batch_first=True)],
                         ids=["default", "2layer-bidir-bf"])
def test_modules_vs_torch_float32(kind, cfg):
    _run_module_case(kind, cfg, True, True, "float32", 2e-5)


@pytest.mark.parametrize("cfg", [dict(proj_size=2), dict(proj_size=3, num_layers=2, bidirectional=True)],
                         ids=["proj", "proj-2layer-bidir"])
@pytest.mark.parametrize("with_state", [True, False])
def test_lstm_proj_size_vs_torch(cfg, with_state):
    _run_module_case("LSTM", cfg, with_state, True, "float64", 1e-10)
    _run_module_case("LSTM", cfg, with_state, False, "float64", 1e-10)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_output_shapes(kind):
    m = getattr(R, kind)(3, 6, num_layers=3, bidirectional=True, batch_first=True)
    out, h = m(tinygrad_cn.randn(2, 5, 3))
    assert tuple(out.shape) == (2, 5, 12)
    hs = h if kind != "LSTM" else h[0]
    assert tuple(hs.shape) == (6, 2, 6)
    if kind == "LSTM":
        assert tuple(h[1].shape) == (6, 2, 6)
    out, h = m(tinygrad_cn.randn(5, 3))
    assert tuple(out.shape) == (5, 12)
    assert tuple((h if kind != "LSTM" else h[0]).shape) == (6, 6)


# ==========================================================================
# 4. gradcheck
# ==========================================================================
@pytest.mark.parametrize("cls", [R.LSTM, R.GRU])
def test_gradcheck_tiny(cls):
    from tinygrad_cn.autograd import gradcheck
    m = cls(2, 3, num_layers=2, bidirectional=True).double()
    x = tinygrad_cn.randn(3, 2, 2, dtype=tinygrad_cn.float64, requires_grad=True)
    h = tinygrad_cn.randn(4, 2, 3, dtype=tinygrad_cn.float64, requires_grad=True)
    if cls is R.LSTM:
        c = tinygrad_cn.randn(4, 2, 3, dtype=tinygrad_cn.float64, requires_grad=True)

        def f(x, h, c, w):
            m.weight_hh_l0 = w  # swap a parameter for a differentiable input too
            out, (hn, cn) = m(x, (h, c))
            return out, hn, cn
        w = m.weight_hh_l0.detach().clone().requires_grad_(True)
        del m._parameters["weight_hh_l0"]
        assert gradcheck(f, (x, h, c, w), eps=1e-6, atol=1e-6)
    else:
        def f(x, h, w):
            m.weight_ih_l1_reverse = w
            out, hn = m(x, h)
            return out, hn
        w = m.weight_ih_l1_reverse.detach().clone().requires_grad_(True)
        del m._parameters["weight_ih_l1_reverse"]
        assert gradcheck(f, (x, h, w), eps=1e-6, atol=1e-6)


# ==========================================================================
# 5. dropout between layers
# ==========================================================================
def test_dropout_train_vs_eval():
    tinygrad_cn.manual_seed(0)
    m = R.GRU(3, 8, num_layers=2, dropout=0.5).double()
    x = tinygrad_cn.randn(4, 2, 3, dtype=tinygrad_cn.float64)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(_np(a), _np(b))
    m.train()
    c, _ = m(x)
    assert not np.allclose(_np(a), _np(c))
    # one layer: dropout is never applied (and torch warns)
    with pytest.warns(UserWarning):
        m1 = R.GRU(3, 8, num_layers=1, dropout=0.5)
    y = tinygrad_cn.randn(4, 2, 3)
    np.testing.assert_array_equal(_np(m1(y)[0]), _np(m1.eval()(y)[0]))


# ==========================================================================
# 6. nn.utils.rnn
# ==========================================================================
def _seqs(rng, lengths, feat=(2,)):
    return [rng.standard_normal((L,) + feat) for L in lengths]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_vs_torch(batch_first, padding_side):
    torch = _torch()
    rng = np.random.default_rng(1)
    seqs = _seqs(rng, [3, 5, 1], (2, 2))
    o = U.pad_sequence([tinygrad_cn.tensor(s) for s in seqs], batch_first=batch_first, padding_value=-1.5,
                       padding_side=padding_side)
    t = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=batch_first,
                                        padding_value=-1.5, padding_side=padding_side)
    _close(o, t, 0)


def test_pad_sequence_gradient():
    a = tinygrad_cn.randn(3, 2, requires_grad=True)
    b = tinygrad_cn.randn(1, 2, requires_grad=True)
    U.pad_sequence([a, b]).sum().backward()
    np.testing.assert_array_equal(_np(a.grad), np.ones((3, 2)))
    np.testing.assert_array_equal(_np(b.grad), np.ones((1, 2)))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5, 3, 3, 1]), (False, [2, 5, 1, 4])])
def test_pack_pad_round_trip_vs_torch(batch_first, enforce_sorted, lengths):
    torch = _torch()
    rng = np.random.default_rng(2)
    T, B = max(lengths), len(lengths)
    x = rng.standard_normal((B, T, 3) if batch_first else (T, B, 3))
    po = U.pack_padded_sequence(tinygrad_cn.tensor(x), lengths, batch_first=batch_first,
                                enforce_sorted=enforce_sorted)
    pt = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, batch_first=batch_first,
                                                 enforce_sorted=enforce_sorted)
    _close(po.data, pt.data, 0)
    assert po.batch_sizes.tolist() == pt.batch_sizes.tolist()
    assert str(po.batch_sizes.dtype) == "tinygrad_cn.int64"
    if enforce_sorted:
        assert po.sorted_indices is None and po.unsorted_indices is None
    else:
        assert po.sorted_indices.tolist() == pt.sorted_indices.tolist()
        assert po.unsorted_indices.tolist() == pt.unsorted_indices.tolist()
    for total in (None, T + 2):
        uo, lo = U.pad_packed_sequence(po, batch_first=batch_first, padding_value=7.0, total_length=total)
        ut, lt = torch.nn.utils.rnn.pad_packed_sequence(pt, batch_first=batch_first, padding_value=7.0,
                                                        total_length=total)
        _close(uo, ut, 0)
        assert lo.tolist() == lt.tolist()


def test_pack_errors_and_helpers():
    torch = _torch()
    x = tinygrad_cn.randn(4, 2, 3)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        U.pack_padded_sequence(x, [2, 4])
    with pytest.raises(ValueError):
        U.pad_packed_sequence(U.pack_padded_sequence(x, [4, 2]), total_length=2)
    rng = np.random.default_rng(3)
    seqs = _seqs(rng, [2, 4, 3])
    po = U.pack_sequence([tinygrad_cn.tensor(s) for s in seqs], enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    _close(po.data, pt.data, 0)
    for a, s in zip(U.unpack_sequence(po), seqs):
        _close(a, s, 0)
    padded = U.pad_sequence([tinygrad_cn.tensor(s) for s in seqs], batch_first=True)
    for a, s in zip(U.unpad_sequence(padded, tinygrad_cn.tensor([2, 4, 3]), batch_first=True), seqs):
        _close(a, s, 0)
    assert isinstance(po, tuple) and po._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "LSTM-proj"])
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5, 3, 3, 1]), (False, [2, 5, 1, 4])])
@pytest.mark.parametrize("with_state", [False, True])
def test_packed_input_vs_torch(kind, enforce_sorted, lengths, with_state):
    torch = _torch()
    rng = np.random.default_rng(4)
    kind, _, proj = kind.partition("-")
    kw = dict(num_layers=2, bidirectional=True, proj_size=3) if proj else dict(num_layers=2, bidirectional=True)
    hsize = 3 if proj else 4
    theirs = getattr(torch.nn, kind)(3, 4, **kw).double()
    ours = getattr(R, kind)(3, 4, **kw).double()
    _copy_into(ours, theirs)
    T, B = max(lengths), len(lengths)
    xo, xt = _leaf(rng.standard_normal((T, B, 3)), "float64")
    po = U.pack_padded_sequence(xo, lengths, enforce_sorted=enforce_sorted)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, enforce_sorted=enforce_sorted)
    ins_o, ins_t = [xo], [xt]
    if with_state:
        ho, ht = _leaf(rng.standard_normal((4, B, hsize)), "float64")
        ins_o.append(ho)
        ins_t.append(ht)
        if kind == "LSTM":
            co, ct = _leaf(rng.standard_normal((4, B, 4)), "float64")
            ins_o.append(co)
            ins_t.append(ct)
            so, st = (ho, co), (ht, ct)
        else:
            so, st = ho, ht
        oo, hso = ours(po, so)
        ot, hst = theirs(pt, st)
    else:
        oo, hso = ours(po)
        ot, hst = theirs(pt)
    assert isinstance(oo, U.PackedSequence)
    assert oo.batch_sizes.tolist() == ot.batch_sizes.tolist()
    out_o = (U.pad_packed_sequence(oo)[0], hso)
    out_t = (torch.nn.utils.rnn.pad_packed_sequence(ot)[0], hst)
    _compare_grads(ours, theirs, ins_o, ins_t, out_o, out_t, 1e-10, rng)
