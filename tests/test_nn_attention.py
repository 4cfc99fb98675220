"""MultiheadAttention, TransformerEncoderLayer and TransformerEncoder against torch (weights copied in through
numpy): outputs, attention weights and the gradients of the inputs and of every parameter, in float64 and float32;
plus shapes, initialisation, reprs and errors (those need no torch)."""
import math

import numpy as np
import pytest

import tinygrad_cn as tc
import tinygrad_cn.nn.functional as TF
from tinygrad_cn.nn.modules.attention import MultiheadAttention
from tinygrad_cn.nn.modules.transformer import (LayerNorm, TransformerEncoder, TransformerEncoderLayer,
                                                generate_square_subsequent_mask)

try:
    import torch
except ImportError:  # torch is only the oracle
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")

TOL = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=2e-5, atol=2e-5)}
E, H, L, S, N = 8, 2, 4, 6, 3


def copy_weights(ours, theirs):
    """Load torch's state into ours; the key lists must be identical (and in the same order)."""
    sd = theirs.state_dict()
    assert list(ours.state_dict().keys()) == list(sd.keys())
    for k, v in ours.state_dict().items():
        assert tuple(v.shape) == tuple(sd[k].shape), k
    ours.load_state_dict({k: tc.tensor(v.detach().cpu().numpy().copy()) for k, v in sd.items()})


def compare(ours, theirs, arrays, call, dtype, seed=0):
    """Run ``call(module, lib, tensors)`` on both sides with the same inputs (floating arrays require grad),
    backprop the same random cotangents and compare outputs, input gradients and parameter gradients."""
    tol = TOL[dtype]
    ours_t, theirs_t = {}, {}
    for k, a in arrays.items():
        if a.dtype == np.bool_:
            ours_t[k], theirs_t[k] = tc.tensor(a), torch.tensor(a)
        else:
            a = a.astype(dtype)
            ours_t[k] = tc.tensor(a, requires_grad=True)
            theirs_t[k] = torch.tensor(a, requires_grad=True)
    o = call(ours, tc, ours_t)
    t = call(theirs, torch, theirs_t)
    o = o if isinstance(o, tuple) else (o,)
    t = t if isinstance(t, tuple) else (t,)
    assert len(o) == len(t)
    rng = np.random.default_rng(seed)
    lo, lt = 0, 0
    for a, b in zip(o, t):
        assert (a is None) == (b is None)
        if a is None:
            continue
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).split(".")[-1] == dtype
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **tol)
        g = rng.standard_normal(tuple(b.shape)).astype(dtype)
        lo = lo + (a * tc.tensor(g)).sum()
        lt = lt + (b * torch.tensor(g)).sum()
    lo.backward()
    lt.backward()
    for k in arrays:
        if theirs_t[k].requires_grad and theirs_t[k].grad is not None:
            np.testing.assert_allclose(ours_t[k].grad.numpy(), theirs_t[k].grad.numpy(), err_msg=k, **tol)
    tp = dict(theirs.named_parameters())
    op = dict(ours.named_parameters())
    assert list(op) == list(tp)
    for k, p in tp.items():
        if p.grad is None:
            assert op[k].grad is None, k
        else:
            np.testing.assert_allclose(op[k].grad.numpy(), p.grad.numpy(), err_msg=k, **tol)
    return o, t


def make_mha(dtype, **kw):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, dtype=getattr(torch, dtype), **kw).eval()
    ours = MultiheadAttention(E, H, dtype=getattr(tc, dtype), **kw).eval()
    copy_weights(ours, theirs)
    return ours, theirs


def _rand(*shape, seed=1):
    return np.random.default_rng(seed + len(shape) * 7 + sum(shape)).standard_normal(shape)


def _bool_mask(shape, seed=3):
    m = np.random.default_rng(seed).random(shape) < 0.3
    m[..., 0] = False          # never mask a whole row (that is NaN in both)
    return m


# -- MultiheadAttention vs torch ------------------------------------------------------------------------------------
MHA_CASES = {
    "self_attention": (dict(), dict(q=_rand(L, N, E)),
                       lambda m, lib, t: m(t["q"], t["q"], t["q"])),
    "cross_attention": (dict(), dict(q=_rand(L, N, E), k=_rand(S, N, E), v=_rand(S, N, E, seed=2)),
                        lambda m, lib, t: m(t["q"], t["k"], t["v"])),
    "key_is_value": (dict(), dict(q=_rand(L, N, E), k=_rand(S, N, E)),
                     lambda m, lib, t: m(t["q"], t["k"], t["k"])),
    "kdim_vdim": (dict(kdim=3, vdim=5), dict(q=_rand(L, N, E), k=_rand(S, N, 3), v=_rand(S, N, 5)),
                  lambda m, lib, t: m(t["q"], t["k"], t["v"])),
    "bool_masks": (dict(), dict(q=_rand(L, N, E), k=_rand(S, N, E), am=_bool_mask((L, S)),
                                kpm=np.array([[False] * S, [False] * 4 + [True] * 2, [False, True] * 3])),
                   lambda m, lib, t: m(t["q"], t["k"], t["k"], attn_mask=t["am"], key_padding_mask=t["kpm"])),
    "float_masks": (dict(), dict(q=_rand(L, N, E), k=_rand(S, N, E), am=_rand(L, S, seed=5),
                                 kpm=_rand(N, S, seed=6)),
                    lambda m, lib, t: m(t["q"], t["k"], t["k"], attn_mask=t["am"], key_padding_mask=t["kpm"])),
    "mask_3d": (dict(), dict(q=_rand(L, N, E), k=_rand(S, N, E), am=_bool_mask((N * H, L, S), seed=9)),
                lambda m, lib, t: m(t["q"], t["k"], t["k"], attn_mask=t["am"])),
    "batch_first": (dict(batch_first=True), dict(q=_rand(N, L, E), k=_rand(N, S, E), kpm=_bool_mask((N, S))),
                    lambda m, lib, t: m(t["q"], t["k"], t["k"], key_padding_mask=t["kpm"])),
    "batch_first_self": (dict(batch_first=True), dict(q=_rand(N, L, E)),
                         lambda m, lib, t: m(t["q"], t["q"], t["q"])),
    "need_weights_false": (dict(), dict(q=_rand(L, N, E), k=_rand(S, N, E), am=_bool_mask((L, S)),
                                        kpm=_bool_mask((N, S), seed=4)),
                           lambda m, lib, t: m(t["q"], t["k"], t["k"], attn_mask=t["am"], key_padding_mask=t["kpm"],
                                               need_weights=False)),
    "need_weights_false_3d_float": (dict(), dict(q=_rand(L, N, E), k=_rand(S, N, E), am=_rand(N * H, L, S, seed=8)),
                                    lambda m, lib, t: m(t["q"], t["k"], t["k"], attn_mask=t["am"],
                                                        need_weights=False)),
    "per_head_weights": (dict(), dict(q=_rand(L, N, E), k=_rand(S, N, E), kpm=_bool_mask((N, S))),
                         lambda m, lib, t: m(t["q"], t["k"], t["k"], key_padding_mask=t["kpm"],
                                             average_attn_weights=False)),
    "unbatched": (dict(), dict(q=_rand(L, E), k=_rand(S, E), am=_bool_mask((L, S)), kpm=_bool_mask((S,), seed=2)),
                  lambda m, lib, t: m(t["q"], t["k"], t["k"], attn_mask=t["am"], key_padding_mask=t["kpm"])),
    "unbatched_no_weights": (dict(batch_first=True), dict(q=_rand(L, E)),
                             lambda m, lib, t: m(t["q"], t["q"], t["q"], need_weights=False)),
    "no_bias": (dict(bias=False), dict(q=_rand(L, N, E), k=_rand(S, N, E)),
                lambda m, lib, t: m(t["q"], t["k"], t["k"])),
    "bias_kv_zero_attn": (dict(add_bias_kv=True, add_zero_attn=True),
                          dict(q=_rand(L, N, E), k=_rand(S, N, E), am=_bool_mask((L, S)), kpm=_bool_mask((N, S))),
                          lambda m, lib, t: m(t["q"], t["k"], t["k"], attn_mask=t["am"], key_padding_mask=t["kpm"])),
    "causal_hint": (dict(), dict(q=_rand(L, N, E)),
                    lambda m, lib, t: m(t["q"], t["q"], t["q"], need_weights=False, is_causal=True,
                                        attn_mask=lib.triu(lib.ones(L, L, dtype=lib.bool), 1))),
}


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(MHA_CASES))
def test_mha_matches_torch(case, dtype):
    kw, arrays, call = MHA_CASES[case]
    ours, theirs = make_mha(dtype, **kw)
    o, t = compare(ours, theirs, arrays, call, dtype)
    assert (o[1] is None) == (t[1] is None)


@needs_torch
def test_mha_self_attention_gradient_flows_to_shared_input_once():
    # q is k is v: the fused projection path; its input gradient sums the three uses
    ours, theirs = make_mha("float64")
    x = _rand(L, N, E)
    compare(ours, theirs, dict(x=x), lambda m, lib, t: m(t["x"], t["x"], t["x"])[0], "float64")


@needs_torch
@pytest.mark.parametrize("kw", [dict(), dict(kdim=3, vdim=5), dict(bias=False), dict(add_bias_kv=True),
                                dict(batch_first=True, dropout=0.25)])
def test_mha_state_dict_and_repr_match_torch(kw):
    theirs = torch.nn.MultiheadAttention(E, H, **kw)
    ours = MultiheadAttention(E, H, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(v.shape) for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in theirs.state_dict().values()]
    assert repr(ours) == repr(theirs)
    assert ours.head_dim == theirs.head_dim and ours._qkv_same_embed_dim == theirs._qkv_same_embed_dim
    for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
                 "bias_k", "bias_v"):
        assert (getattr(ours, name) is None) == (getattr(theirs, name) is None), name


def test_mha_initialisation():
    tc.manual_seed(0)
    m = MultiheadAttention(16, 4)
    w = m.in_proj_weight.detach().numpy()
    bound = math.sqrt(6.0 / (16 + 48))           # xavier_uniform_ on (3E, E)
    assert w.shape == (48, 16) and np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound
    assert np.all(m.in_proj_bias.detach().numpy() == 0) and np.all(m.out_proj.bias.detach().numpy() == 0)
    assert type(m.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    m2 = MultiheadAttention(16, 4, kdim=3, vdim=5)
    assert m2.in_proj_weight is None and tuple(m2.k_proj_weight.shape) == (16, 3)
    assert tuple(m2.v_proj_weight.shape) == (16, 5)
    assert [n for n, _ in m2.named_parameters()] == ["q_proj_weight", "k_proj_weight", "v_proj_weight",
                                                      "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    m3 = MultiheadAttention(16, 4, bias=False, add_bias_kv=True)
    assert m3.in_proj_bias is None and m3.out_proj.bias is None and tuple(m3.bias_k.shape) == (1, 1, 16)


def test_mha_shapes():
    m = MultiheadAttention(E, H)
    out, w = m(tc.randn(L, N, E), tc.randn(S, N, E), tc.randn(S, N, E))
    assert tuple(out.shape) == (L, N, E) and tuple(w.shape) == (N, L, S)
    out, w = m(tc.randn(L, N, E), tc.randn(S, N, E), tc.randn(S, N, E), average_attn_weights=False)
    assert tuple(w.shape) == (N, H, L, S)
    np.testing.assert_allclose(w.detach().numpy().sum(-1), 1.0, rtol=1e-5)
    out, w = m(tc.randn(L, E), tc.randn(S, E), tc.randn(S, E))
    assert tuple(out.shape) == (L, E) and tuple(w.shape) == (L, S)
    out, w = m(tc.randn(L, N, E), tc.randn(S, N, E), tc.randn(S, N, E), need_weights=False)
    assert w is None
    mb = MultiheadAttention(E, H, batch_first=True)
    out, w = mb(tc.randn(N, L, E), tc.randn(N, S, E), tc.randn(N, S, E))
    assert tuple(out.shape) == (N, L, E) and tuple(w.shape) == (N, L, S)


def test_mha_key_padding_mask_zeroes_weights():
    m = MultiheadAttention(E, H).eval()
    kpm = np.zeros((N, S), bool)
    kpm[1, 3:] = True
    _, w = m(tc.randn(L, N, E), tc.randn(S, N, E), tc.randn(S, N, E), key_padding_mask=tc.tensor(kpm))
    w = w.detach().numpy()
    assert np.all(w[1, :, 3:] == 0) and np.all(w[0] > 0)


def test_mha_errors():
    with pytest.raises(AssertionError, match="divisible"):
        MultiheadAttention(10, 3)
    m = MultiheadAttention(E, H)
    x = tc.randn(L, N, E)
    with pytest.raises(RuntimeError, match="is_causal"):
        m(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        m(x, x, x, attn_mask=tc.zeros(L, L + 1))
    with pytest.raises(AssertionError):
        m(x, x, x, key_padding_mask=tc.zeros(N + 1, L, dtype=tc.bool))
    with pytest.raises(AssertionError):
        m(x, tc.randn(L, E), tc.randn(L, E))


def test_mha_dropout_train_vs_eval():
    m = MultiheadAttention(E, H, dropout=0.5)
    x = tc.randn(L, N, E)
    tc.manual_seed(1)
    a = m(x, x, x)[1].detach().numpy()
    tc.manual_seed(1)
    b = m(x, x, x)[1].detach().numpy()
    np.testing.assert_array_equal(a, b)                  # reproducible under manual_seed
    m.eval()
    c = m(x, x, x)[1].detach().numpy()
    np.testing.assert_allclose(c.sum(-1), 1.0, rtol=1e-5)
    assert not np.allclose(a, c)


# -- TransformerEncoderLayer / TransformerEncoder vs torch ----------------------------------------------------------
def make_layer(dtype, activation=None, **kw):
    torch.manual_seed(0)
    ta, oa = ("relu", "relu") if activation is None else activation
    theirs = torch.nn.TransformerEncoderLayer(E, H, dim_feedforward=16, activation=ta,
                                              dtype=getattr(torch, dtype), **kw).eval()
    ours = TransformerEncoderLayer(E, H, dim_feedforward=16, activation=oa, dtype=getattr(tc, dtype), **kw).eval()
    copy_weights(ours, theirs)
    # non-trivial LayerNorm affine so its gradients are exercised
    with torch.no_grad():
        for p in (theirs.norm1.weight, theirs.norm2.weight):
            p.add_(torch.tensor(_rand(E, seed=11)).to(p.dtype) * 0.1)
    copy_weights(ours, theirs)
    return ours, theirs


LAYER_CASES = {
    "post_norm_relu": (dict(), dict(x=_rand(L, N, E)), lambda m, lib, t: m(t["x"])),
    "pre_norm_gelu": (dict(norm_first=True, activation=("gelu", "gelu")), dict(x=_rand(L, N, E)),
                      lambda m, lib, t: m(t["x"])),
    "gelu_function": (dict(activation=(torch.nn.functional.gelu if torch else None, TF.gelu)),
                      dict(x=_rand(L, N, E)), lambda m, lib, t: m(t["x"])),
    "callable": (dict(activation=((lambda v: torch.tanh(v) * 2) if torch else None, lambda v: tc.tanh(v) * 2)),
                 dict(x=_rand(L, N, E)), lambda m, lib, t: m(t["x"])),
    "masks": (dict(), dict(x=_rand(L, N, E), am=_bool_mask((L, L)), kpm=_bool_mask((N, L), seed=5)),
              lambda m, lib, t: m(t["x"], src_mask=t["am"], src_key_padding_mask=t["kpm"])),
    "float_mask_batch_first": (dict(batch_first=True, norm_first=True), dict(x=_rand(N, L, E), am=_rand(L, L)),
                               lambda m, lib, t: m(t["x"], src_mask=t["am"])),
    "causal": (dict(batch_first=True), dict(x=_rand(N, L, E)),
               lambda m, lib, t: m(t["x"], src_mask=lib.triu(lib.full((L, L), float("-inf"), dtype=t["x"].dtype), 1),
                                   is_causal=True)),
    "no_bias_eps": (dict(bias=False, layer_norm_eps=1e-3), dict(x=_rand(L, N, E)), lambda m, lib, t: m(t["x"])),
    "unbatched": (dict(), dict(x=_rand(L, E)), lambda m, lib, t: m(t["x"])),
}


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_encoder_layer_matches_torch(case, dtype):
    kw, arrays, call = LAYER_CASES[case]
    kw = dict(kw)
    ours, theirs = make_layer(dtype, activation=kw.pop("activation", None), **kw)
    compare(ours, theirs, arrays, call, dtype)


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("final_norm", [False, True])
def test_encoder_matches_torch(dtype, final_norm):
    torch.manual_seed(0)
    tdt, odt = getattr(torch, dtype), getattr(tc, dtype)
    tl = torch.nn.TransformerEncoderLayer(E, H, dim_feedforward=16, batch_first=True, dtype=tdt)
    ol = TransformerEncoderLayer(E, H, dim_feedforward=16, batch_first=True, dtype=odt)
    theirs = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(E, dtype=tdt) if final_norm else None,
                                         enable_nested_tensor=False).eval()
    ours = TransformerEncoder(ol, 2, norm=LayerNorm(E, dtype=odt) if final_norm else None).eval()
    with torch.no_grad():   # make the two layers differ, so a wrong layer order would show
        theirs.layers[1].linear1.weight.mul_(-1.5)
    copy_weights(ours, theirs)
    causal = generate_square_subsequent_mask(L, dtype=odt).numpy()
    arrays = dict(x=_rand(N, L, E), kpm=_bool_mask((N, L), seed=7), m=causal)

    def call(m, lib, t):
        mask = t["m"].detach() if hasattr(t["m"], "detach") else t["m"]
        return m(t["x"], mask=mask, src_key_padding_mask=t["kpm"])
    compare(ours, theirs, arrays, call, dtype)
    assert repr(ours) == repr(theirs)


@needs_torch
@pytest.mark.parametrize("kw", [dict(), dict(norm_first=True, activation="gelu", batch_first=True, bias=False),
                                dict(activation=None)])
def test_encoder_layer_state_dict_and_repr_match_torch(kw):
    kw = dict(kw)
    if "activation" in kw and kw["activation"] is None:   # a module activation shows in the repr
        tk, ok = dict(kw, activation=torch.nn.GELU()), dict(kw, activation=tc.nn.GELU())
    else:
        tk, ok = kw, kw
    theirs = torch.nn.TransformerEncoderLayer(E, H, dim_feedforward=16, dropout=0.2, layer_norm_eps=1e-6, **tk)
    ours = TransformerEncoderLayer(E, H, dim_feedforward=16, dropout=0.2, layer_norm_eps=1e-6, **ok)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert ours.activation_relu_or_gelu == theirs.activation_relu_or_gelu
    assert ours.norm_first == theirs.norm_first


@needs_torch
def test_generate_square_subsequent_mask_matches_torch():
    for dt in (None, "float64"):
        o = generate_square_subsequent_mask(5, dtype=None if dt is None else getattr(tc, dt))
        t = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=None if dt is None else getattr(torch, dt))
        assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_encoder_layer_shapes_and_train_mode():
    layer = TransformerEncoderLayer(E, H, dim_feedforward=16, dropout=0.5)
    x = tc.randn(L, N, E, requires_grad=True)
    tc.manual_seed(3)
    a = layer(x)
    a.sum().backward()
    assert tuple(a.shape) == (L, N, E) and tuple(x.grad.shape) == (L, N, E)
    assert all(p.grad is not None for p in layer.parameters())
    tc.manual_seed(3)
    np.testing.assert_array_equal(layer(x).detach().numpy(), a.detach().numpy())
    layer.eval()
    b = layer(x).detach().numpy()
    np.testing.assert_array_equal(layer(x).detach().numpy(), b)
    assert not np.allclose(a.detach().numpy(), b)
    with pytest.raises(RuntimeError, match="relu/gelu"):
        TransformerEncoderLayer(E, H, activation="tanh")
    with pytest.raises(RuntimeError, match="is_causal"):
        layer(x, is_causal=True)


def test_encoder_layers_are_independent_copies():
    layer = TransformerEncoderLayer(E, H, dim_feedforward=16)
    enc = TransformerEncoder(layer, 3)
    assert len(enc.layers) == 3 and enc.layers[0] is not layer
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    np.testing.assert_array_equal(enc.layers[0].linear1.weight.detach().numpy(),
                                  enc.layers[2].linear1.weight.detach().numpy())
    assert len(list(enc.parameters())) == 3 * len(list(layer.parameters()))
    assert tuple(enc(tc.randn(L, N, E)).shape) == (L, N, E)


@needs_torch
def test_mha_fully_masked_row_with_weights_is_nan_like_torch():
    # boolean masks become -inf (not a large negative number): with need_weights a query whose every key is
    # masked gives NaN, as in torch
    ours, theirs = make_mha("float64")
    q, k = _rand(L, N, E), _rand(S, N, E)
    kpm = np.zeros((N, S), bool)
    kpm[1] = True
    o = ours(tc.tensor(q), tc.tensor(k), tc.tensor(k), key_padding_mask=tc.tensor(kpm))
    t = theirs(torch.tensor(q), torch.tensor(k), torch.tensor(k), key_padding_mask=torch.tensor(kpm))
    for a, b in zip(o, t):
        np.testing.assert_array_equal(np.isnan(a.detach().numpy()), np.isnan(b.detach().numpy()))
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-10)
    assert np.isnan(o[0].detach().numpy()[:, 1]).all() and not np.isnan(o[0].detach().numpy()[:, 0]).any()


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_mha_fully_masked_row_without_weights_is_zero_like_torch(dtype):
    # torch's fused path gives 0 attention (so out_proj's bias) for such a query, with finite gradients
    ours, theirs = make_mha(dtype)
    with torch.no_grad():
        theirs.out_proj.bias.copy_(torch.tensor(_rand(E, seed=4)))
    copy_weights(ours, theirs)
    kpm = np.zeros((N, S), bool)
    kpm[1] = True
    am = np.zeros((L, S), bool)
    am[2] = True
    o, _ = compare(ours, theirs, dict(q=_rand(L, N, E), k=_rand(S, N, E), kpm=kpm, am=am),
                   lambda m, lib, t: m(t["q"], t["k"], t["k"], key_padding_mask=t["kpm"], attn_mask=t["am"],
                                       need_weights=False), dtype)
    out = o[0].detach().numpy()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[:, 1], np.broadcast_to(_rand(E, seed=4), (L, E)), rtol=1e-5, atol=1e-5)
