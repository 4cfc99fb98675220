"""nn.Module, nn.Parameter, the containers, Linear and the activation modules.

Sections:
  1. Parameter
  2. registration and naming
  3. containers
  4. train/eval, zero_grad, requires_grad_, apply, to/double/float/half
  5. hooks
  6. state_dict / load_state_dict (torch's messages)
  7. repr (against torch's, when installed)
  8. Linear and activations against torch (forward + gradients)
"""
import math
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_cn
from tinygrad_cn import nn
import tinygrad_cn.nn.functional as F


def _np(t):
    return np.asarray(t.detach()._data) if isinstance(t, tinygrad_cn.Tensor) else t.detach().numpy()


class MLP(nn.Module):
    def __init__(self, torch_nn=nn):
        super().__init__()
        self.fc1 = torch_nn.Linear(3, 4)
        self.act = torch_nn.ReLU()
        self.fc2 = torch_nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


# ==========================================================================
# 1. Parameter
# ==========================================================================
def test_parameter_basics():
    p = nn.Parameter(tinygrad_cn.zeros(2, 3))
    assert isinstance(p, nn.Parameter) and isinstance(p, tinygrad_cn.Tensor)
    assert p.requires_grad and p.is_leaf and p.shape == (2, 3)
    q = nn.Parameter(tinygrad_cn.zeros(2), requires_grad=False)
    assert not q.requires_grad
    assert repr(nn.Parameter(tinygrad_cn.tensor([1.0, 2.0]))) == \
        "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    # ops on a parameter give plain tensors in the graph
    y = p * 2
    assert type(y) is tinygrad_cn.Tensor and y.grad_fn is not None
    y.sum().backward()
    assert np.allclose(_np(p.grad), 2.0)


def test_parameter_repr_matches_torch():
    torch = pytest.importorskip("torch")
    a = np.array([[1.5, -2.0], [0.25, 3.0]], dtype=np.float32)
    ours = repr(nn.Parameter(tinygrad_cn.tensor(a)))
    theirs = repr(torch.nn.Parameter(torch.tensor(a)))
    assert ours == theirs


def test_parameter_shares_storage_and_deepcopy():
    import copy
    t = tinygrad_cn.zeros(3)
    p = nn.Parameter(t)
    with tinygrad_cn.no_grad():
        p.add_(1)
    assert _np(t).tolist() == [1.0, 1.0, 1.0]
    c = copy.deepcopy(p)
    assert isinstance(c, nn.Parameter) and c.requires_grad
    with tinygrad_cn.no_grad():
        c.add_(1)
    assert _np(p).tolist() == [1.0, 1.0, 1.0]


# ==========================================================================
# 2. registration and naming
# ==========================================================================
class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4))
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 1), "b": nn.Linear(4, 2, bias=False)})
        self.scale = nn.Parameter(tinygrad_cn.ones(1))
        self.register_buffer("running", tinygrad_cn.zeros(4))
        self.register_buffer("scratch", tinygrad_cn.zeros(2), persistent=False)

    def forward(self, x):
        h = self.encoder(x) + self.running
        return self.heads["a"](h) * self.scale, self.heads["b"](h)


def test_named_parameters_dotted_names():
    m = Nested()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias",
                     "heads.a.weight", "heads.a.bias", "heads.b.weight"]
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in m.named_parameters(prefix="model")][0] == "model.scale"
    assert len(list(m.parameters())) == 8
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch"]
    assert [n for n, _ in m.named_children()] == ["encoder", "heads"]
    assert [n for n, _ in m.named_modules()] == ["", "encoder", "encoder.0", "encoder.1", "encoder.2", "heads",
                                                  "heads.a", "heads.b"]
    assert len(list(m.modules())) == 8
    assert m.get_submodule("encoder.2") is m.encoder[2]
    assert m.get_parameter("heads.a.bias") is m.heads["a"].bias


def test_named_parameters_match_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(OrderedDict(fc=nn.Linear(2, 3), act=nn.ReLU(),
                                     blk=nn.Sequential(nn.Linear(3, 3), nn.PReLU())))
    theirs = torch.nn.Sequential(OrderedDict(fc=torch.nn.Linear(2, 3), act=torch.nn.ReLU(),
                                             blk=torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.PReLU())))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_shared_parameters_appear_once():
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(m.modules())) == 3  # Sequential, Linear (once), ReLU

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3, bias=False)
            self.b = nn.Linear(3, 3, bias=False)
            self.b.weight = self.a.weight

    t = Tied()
    assert [n for n, _ in t.named_parameters()] == ["a.weight"]
    assert list(t.state_dict()) == ["a.weight", "b.weight"]  # state_dict keeps both names, as torch


def test_setattr_getattr_delattr():
    m = nn.Module()
    m.w = nn.Parameter(tinygrad_cn.ones(2))
    m.sub = nn.Linear(1, 1)
    m.register_buffer("buf", tinygrad_cn.zeros(1))
    m.plain = 3
    assert "w" in m._parameters and "sub" in m._modules and "buf" in m._buffers and m.plain == 3
    assert "w" not in m.__dict__
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter 'w'"):
        m.w = 5
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'w' \(torch.nn.Parameter"):
        m.w = tinygrad_cn.zeros(2)
    m.w = None
    assert m.w is None and list(m.parameters()) == list(m.sub.parameters())
    m.buf = tinygrad_cn.ones(1)
    assert _np(m._buffers["buf"]).tolist() == [1.0]
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'sub'"):
        m.sub
    del m.buf
    with pytest.raises(AttributeError):
        m.buf
    d = dir(nn.Linear(2, 2))
    assert "weight" in d and "bias" in d and "forward" in d


def test_register_errors():
    m = nn.Module()
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", tinygrad_cn.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'Tensor' object to parameter 'p'"):
        m.register_parameter("p", tinygrad_cn.zeros(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)
    m.register_module("lin", nn.Linear(1, 1))
    assert isinstance(m.lin, nn.Linear)
    x = tinygrad_cn.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("q", _nonleaf_param(x))

    class Early(nn.Module):
        def __init__(self):
            self.p = nn.Parameter(tinygrad_cn.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def _nonleaf_param(x):
    p = nn.Parameter(tinygrad_cn.zeros(2))
    p.grad_fn = (x * 2).grad_fn
    return p


def test_forward_missing():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


# ==========================================================================
# 3. containers
# ==========================================================================
def test_sequential():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and s[-3] is a
    with pytest.raises(IndexError):
        s[3]
    sl = s[1:]
    assert isinstance(sl, nn.Sequential) and len(sl) == 2 and sl[0] is b
    assert list(s) == [a, b, c]
    x = tinygrad_cn.randn(4, 2)
    assert np.allclose(_np(s(x)), _np(c(b(a(x)))))
    s.append(nn.Sigmoid())
    assert len(s) == 4 and isinstance(s[3], nn.Sigmoid)
    s.insert(0, nn.Identity())
    assert isinstance(s[0], nn.Identity) and s[1] is a and len(s) == 5
    s.extend([nn.Tanh()])
    assert isinstance(s[-1], nn.Tanh)
    del s[0]
    assert s[0] is a and [k for k in s._modules] == ["0", "1", "2", "3", "4"]
    s2 = s + nn.Sequential(nn.ReLU())
    assert len(s2) == 6
    od = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert od.fc is a and [n for n, _ in od.named_parameters()] == ["fc.weight", "fc.bias"]
    s[0] = nn.Linear(2, 3)
    assert s[0] is not a


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and isinstance(layers[-1], nn.Linear)
    assert [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    extra = nn.Linear(2, 2)
    layers.append(extra)
    assert layers.index(extra) == 3
    layers.insert(1, nn.ReLU())
    assert isinstance(layers[1], nn.ReLU) and layers[4] is extra
    layers.extend([nn.Tanh(), nn.Sigmoid()])
    assert len(layers) == 7
    sub = layers[1:3]
    assert isinstance(sub, nn.ModuleList) and len(sub) == 2
    assert list(iter(layers))[4] is extra
    del layers[0]
    assert isinstance(layers[0], nn.ReLU) and len(layers) == 6
    with pytest.raises(IndexError):
        layers[10]


def test_module_dict():
    d = nn.ModuleDict({"b": nn.Linear(1, 1), "a": nn.ReLU()})
    assert list(d.keys()) == ["b", "a"] and len(d) == 2 and "a" in d
    d["c"] = nn.Tanh()
    assert list(d) == ["b", "a", "c"]
    d.update([("e", nn.Identity())])
    assert isinstance(d["e"], nn.Identity)
    assert isinstance(d.pop("a"), nn.ReLU) and "a" not in d
    assert [n for n, _ in d.named_parameters()] == ["b.weight", "b.bias"]


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(tinygrad_cn.ones(2)), tinygrad_cn.zeros(3)])
    assert len(pl) == 2 and all(isinstance(p, nn.Parameter) for p in pl)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pl.append(tinygrad_cn.ones(1))
    assert len(pl) == 3 and pl[-1].shape == (1,)

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = nn.ParameterList([tinygrad_cn.ones(2)])
            self.pd = nn.ParameterDict({"w": tinygrad_cn.ones(2, 2)})

    assert [n for n, _ in M().named_parameters()] == ["ps.0", "pd.w"]
    pd = nn.ParameterDict({"b": tinygrad_cn.zeros(1), "a": tinygrad_cn.zeros(2)})
    assert list(pd.keys()) == ["a", "b"]  # plain dicts are sorted, as torch
    pd["c"] = nn.Parameter(tinygrad_cn.zeros(3))
    assert "c" in pd and len(pd) == 3 and isinstance(pd["a"], nn.Parameter)
    del pd["a"]
    assert list(pd) == ["b", "c"]


# ==========================================================================
# 4. modes, grads, conversions
# ==========================================================================
def test_train_eval_propagate():
    m = Nested()
    assert all(x.training for x in m.modules())
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    m.heads.train(False)
    assert m.training and not m.heads["a"].training and m.encoder[0].training
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")


def test_zero_grad_requires_grad_apply():
    m = MLP()
    m(tinygrad_cn.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(np.all(_np(p.grad) == 0) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "ReLU", "Linear", "MLP"]

    def init_zero(mod):
        if isinstance(mod, nn.Linear):
            nn.init.zeros_(mod.weight)

    m.apply(init_zero)
    assert np.all(_np(m.fc1.weight) == 0)


def test_to_dtype_and_device():
    m = Nested()
    w = m.encoder[0].weight
    m(tinygrad_cn.randn(2, 3))[0].sum().backward()
    assert m.double() is m
    assert m.encoder[0].weight is w  # same Parameter object, as torch on the CPU
    assert w.dtype == tinygrad_cn.float64 and w.grad.dtype == tinygrad_cn.float64
    assert m.running.dtype == tinygrad_cn.float64
    out = m(tinygrad_cn.randn(2, 3, dtype=tinygrad_cn.float64))[0]
    assert out.dtype == tinygrad_cn.float64
    m.float()
    assert all(p.dtype == tinygrad_cn.float32 for p in m.parameters())
    m.half()
    assert all(p.dtype == tinygrad_cn.float16 for p in m.parameters())
    m.to(tinygrad_cn.float32)
    assert all(p.dtype == tinygrad_cn.float32 for p in m.parameters())
    assert m.to("cpu") is m and m.cpu() is m and m.to(tinygrad_cn.device("cpu")) is m
    with pytest.raises(RuntimeError, match="CPU only"):
        m.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        m.cuda()
    with pytest.raises(TypeError, match="floating point"):
        m.to(tinygrad_cn.int64)
    # integer buffers are left alone by float casts
    mm = nn.Module()
    mm.register_buffer("steps", tinygrad_cn.tensor([3]))
    mm.double()
    assert mm.steps.dtype == tinygrad_cn.int64


# ==========================================================================
# 5. hooks
# ==========================================================================
def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []

    def pre(mod, args):
        calls.append("pre")
        return (args[0] * 0,)

    def post(mod, args, out):
        calls.append("post")
        assert np.all(_np(args[0]) == 0)
        return out + 100

    h1 = lin.register_forward_pre_hook(pre)
    h2 = lin.register_forward_hook(post)
    y = lin(tinygrad_cn.ones(1, 2))
    assert calls == ["pre", "post"]
    assert np.allclose(_np(y), _np(lin.bias) + 100)
    h1.remove()
    h2.remove()
    y = lin(tinygrad_cn.ones(1, 2))
    assert calls == ["pre", "post"]
    assert np.allclose(_np(y), _np(lin(tinygrad_cn.ones(1, 2))))
    # with_kwargs and context-manager handles
    seen = {}
    with lin.register_forward_hook(lambda m, a, kw, o: seen.update(kw=kw), with_kwargs=True):
        lin(input=tinygrad_cn.ones(1, 2))
    assert "input" in seen["kw"]
    assert not lin._forward_hooks


def test_hook_captures_activations_in_sequential():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    acts = {}
    handles = [m.register_forward_hook(lambda m, i, o, n=name: acts.__setitem__(n, o))
               for name, m in model.named_children()]
    model(tinygrad_cn.randn(5, 3))
    assert sorted(acts) == ["0", "1", "2"] and acts["1"].shape == (5, 4)
    assert np.all(_np(acts["1"]) >= 0)
    for h in handles:
        h.remove()


# ==========================================================================
# 6. state_dict / load_state_dict
# ==========================================================================
def test_state_dict_contents():
    m = Nested()
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["scale", "running", "encoder.0.weight", "encoder.0.bias", "encoder.2.weight",
                        "encoder.2.bias", "heads.a.weight", "heads.a.bias", "heads.b.weight"]
    assert "scratch" not in sd  # non-persistent buffer
    assert all(not v.requires_grad and type(v) is tinygrad_cn.Tensor for v in sd.values())
    assert sd["scale"].data_ptr() == m.scale.data_ptr()  # detached, sharing storage
    kv = m.state_dict(keep_vars=True)
    assert kv["scale"] is m.scale


def test_state_dict_round_trip_into_fresh_model():
    tinygrad_cn.manual_seed(0)
    a = Nested()
    tinygrad_cn.manual_seed(1)
    b = Nested()
    x = tinygrad_cn.randn(3, 3)
    assert not np.allclose(_np(a(x)[0]), _np(b(x)[0]))
    with tinygrad_cn.no_grad():
        a.running.add_(0.5)
    res = b.load_state_dict(a.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    assert np.allclose(_np(a(x)[0]), _np(b(x)[0])) and np.allclose(_np(a(x)[1]), _np(b(x)[1]))
    assert np.allclose(_np(b.running), 0.5)
    # loaded by copy: parameters keep their identity and do not alias the source
    assert b.scale is not a.scale and b.scale.data_ptr() != a.scale.data_ptr()
    assert isinstance(b.scale, nn.Parameter) and b.scale.requires_grad


def _torch_error(torch, build, sd_fn, strict=True):
    m = build(torch.nn)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd_fn(torch), strict=strict)
    return str(e.value)


def _our_error(build, sd_fn, strict=True):
    m = build(nn)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd_fn(tinygrad_cn), strict=strict)
    return str(e.value).replace("tinygrad_cn.", "torch.")


CASES = {
    "missing": (lambda n: n.Linear(3, 4), lambda t: {"weight": t.zeros(4, 3)}, True),
    "unexpected": (lambda n: n.Linear(3, 4),
                   lambda t: {"weight": t.zeros(4, 3), "bias": t.zeros(4), "extra": t.zeros(1)}, True),
    "both": (lambda n: n.Sequential(n.Linear(3, 4), n.ReLU()),
             lambda t: {"0.weight": t.zeros(4, 3), "1.weight": t.zeros(1), "foo": t.zeros(1)}, True),
    "size": (lambda n: n.Linear(3, 4), lambda t: {"weight": t.zeros(4, 2), "bias": t.zeros(4)}, True),
    "size_nonstrict": (lambda n: n.Linear(3, 4), lambda t: {"weight": t.zeros(2, 3)}, False),
    "size_and_missing": (lambda n: n.Sequential(n.Linear(3, 4)),
                         lambda t: {"0.weight": t.zeros(4, 2), "x": t.zeros(2)}, True),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_load_state_dict_errors_match_torch(case):
    torch = pytest.importorskip("torch")
    build, sd_fn, strict = CASES[case]
    assert _our_error(build, sd_fn, strict) == _torch_error(torch, build, sd_fn, strict)


def test_load_state_dict_errors_exact_text():
    m = nn.Linear(3, 4)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict({"weight": tinygrad_cn.zeros(4, 2), "b2": tinygrad_cn.zeros(1)})
    assert str(e.value) == (
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". \n\t'
        'Unexpected key(s) in state_dict: "b2". \n\tsize mismatch for weight: copying a param with shape '
        "tinygrad_cn.Size([4, 2]) from checkpoint, the shape in current model is tinygrad_cn.Size([4, 3]).")


def test_load_state_dict_non_strict():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    w = tinygrad_cn.ones(4, 3)
    res = m.load_state_dict({"0.weight": w, "extra.bias": tinygrad_cn.zeros(1)}, strict=False)
    assert res.missing_keys == ["0.bias", "2.weight", "2.bias"]
    assert res.unexpected_keys == ["extra.bias"]
    missing, unexpected = res
    assert repr(res) == ("_IncompatibleKeys(missing_keys=['0.bias', '2.weight', '2.bias'], "
                         "unexpected_keys=['extra.bias'])")
    assert missing == res.missing_keys
    assert np.all(_np(m[0].weight) == 1)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        m.load_state_dict([1, 2])


def test_load_state_dict_assign_and_casting():
    m = nn.Linear(2, 2)
    w = m.weight
    m.load_state_dict({"weight": tinygrad_cn.ones(2, 2, dtype=tinygrad_cn.float64), "bias": tinygrad_cn.zeros(2)})
    assert m.weight is w and w.dtype == tinygrad_cn.float32 and np.all(_np(w) == 1)  # copied, cast
    src = {"weight": tinygrad_cn.full((2, 2), 3.0), "bias": tinygrad_cn.zeros(2)}
    m.load_state_dict(src, assign=True)
    assert m.weight is not w and isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert m.weight.data_ptr() == src["weight"].data_ptr()


def test_deepcopy_and_pickle_module():
    import copy
    import pickle
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    m.register_buffer("b", tinygrad_cn.zeros(2))
    c = copy.deepcopy(m)
    assert c[0] is c[2] and c[0] is not lin and c[0].weight is not lin.weight
    assert isinstance(c[0].weight, nn.Parameter) and c[0].weight.requires_grad
    assert [n for n, _ in c.named_parameters()] == ["0.weight", "0.bias"]
    x = tinygrad_cn.randn(3, 2)
    assert np.array_equal(_np(c(x)), _np(m(x)))
    p = pickle.loads(pickle.dumps(m))
    assert repr(p) == repr(m) and np.array_equal(_np(p(x)), _np(m(x)))


def test_state_dict_load_into_torch_and_back():
    torch = pytest.importorskip("torch")
    def mlp(n):
        return n.Sequential(OrderedDict(fc1=n.Linear(3, 4), act=n.ReLU(), fc2=n.Linear(4, 2)))

    ours = mlp(nn)
    theirs = mlp(torch.nn)
    theirs.load_state_dict({k: torch.tensor(_np(v)) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    assert np.allclose(_np(ours(tinygrad_cn.tensor(x))), theirs(torch.tensor(x)).detach().numpy(), atol=1e-6)
    back = mlp(nn)
    back.load_state_dict({k: tinygrad_cn.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert np.allclose(_np(back(tinygrad_cn.tensor(x))), _np(ours(tinygrad_cn.tensor(x))))


# ==========================================================================
# 7. repr
# ==========================================================================
def _arch(n):
    return n.Sequential(
        n.Linear(784, 128), n.ReLU(inplace=True), n.Dropout(0.1) if hasattr(n, "Dropout") and n is not nn
        else n.Identity(),
        n.Sequential(n.Linear(128, 64, bias=False), n.LeakyReLU(0.2), n.ELU(alpha=0.5, inplace=True)),
        n.ModuleList([n.Linear(64, 64) for _ in range(3)] + [n.GELU(approximate="tanh")]),
        n.ModuleDict({"soft": n.Softmax(dim=1), "logsoft": n.LogSoftmax(dim=-1)}),
        n.Flatten(), n.Unflatten(1, (8, 8)), n.Hardtanh(-2.0, 2.0), n.Softplus(beta=2.0, threshold=10.0),
        n.PReLU(num_parameters=3), n.SiLU(), n.Sigmoid(), n.Tanh(), n.LogSigmoid(), n.Identity(),
        n.ReLU6(), n.Mish(),
    )


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    theirs = repr(_arch(torch.nn)).replace("(2): Dropout(p=0.1, inplace=False)", "(2): Identity()")
    assert repr(_arch(nn)) == theirs


def test_repr_known_text():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    assert repr(m) == ("Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n  (1): ReLU()\n)")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = m

        def extra_repr(self):
            return "custom=1"

    assert repr(Net()) == ("Net(\n  custom=1\n  (body): Sequential(\n    (0): Linear(in_features=3, out_features=4, "
                           "bias=True)\n    (1): ReLU()\n  )\n)")


def test_parameter_containers_repr_match_torch():
    torch = pytest.importorskip("torch")
    ours = nn.ParameterList([nn.Parameter(tinygrad_cn.zeros(2, 3)), nn.Parameter(tinygrad_cn.zeros(4))])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(2, 3)), torch.nn.Parameter(torch.zeros(4))])
    assert repr(ours).replace("tinygrad_cn.", "torch.") == repr(theirs)
    ours = nn.ParameterDict({"w": nn.Parameter(tinygrad_cn.zeros(2, 3, dtype=tinygrad_cn.float64)),
                             "b": tinygrad_cn.zeros(4)})
    theirs = torch.nn.ParameterDict({"w": torch.nn.Parameter(torch.zeros(2, 3, dtype=torch.float64)),
                                     "b": torch.zeros(4)})
    assert repr(ours) == repr(theirs)


# ==========================================================================
# 8. Linear and activations against torch
# ==========================================================================
def test_linear_default_init_bounds():
    tinygrad_cn.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = _np(lin.weight), _np(lin.bias)
    assert w.shape == (300, 400) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # uniform on [-bound, bound]: variance bound^2 / 3, fills the range
    assert abs(w.var() - bound ** 2 / 3) < 0.05 * bound ** 2 / 3
    assert np.abs(w).max() > 0.99 * bound and abs(w.mean()) < 0.02 * bound
    assert lin.weight.dtype == tinygrad_cn.float32
    assert nn.Linear(2, 3, dtype=tinygrad_cn.float64).weight.dtype == tinygrad_cn.float64
    assert nn.Linear(2, 3, bias=False).bias is None
    assert [n for n, _ in nn.Linear(2, 3, bias=False).named_parameters()] == ["weight"]
    # reproducible under manual_seed
    tinygrad_cn.manual_seed(5)
    w1 = _np(nn.Linear(3, 3).weight).copy()
    tinygrad_cn.manual_seed(5)
    assert np.array_equal(w1, _np(nn.Linear(3, 3).weight))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    ours, theirs = nn.Linear(5, 3, bias=bias), torch.nn.Linear(5, 3, bias=bias)
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.tensor(_np(getattr(ours, name))))
    x = rng.standard_normal((7, 2, 5)).astype(np.float32)
    xo = tinygrad_cn.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert yo.shape == tuple(yt.shape)
    np.testing.assert_allclose(_np(yo), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = rng.standard_normal(yt.shape).astype(np.float32)
    yo.backward(tinygrad_cn.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(_np(xo.grad), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(_np(getattr(ours, name).grad), p.grad.numpy(), rtol=1e-5, atol=1e-5)


ACTIVATIONS = [
    ("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.2}), ("ELU", {"alpha": 0.7}), ("GELU", {}),
    ("GELU", {"approximate": "tanh"}), ("SiLU", {}), ("Sigmoid", {}), ("Tanh", {}),
    ("Softplus", {"beta": 2.0, "threshold": 5.0}), ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": -1}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 0.8}), ("LogSigmoid", {}), ("PReLU", {}),
    ("PReLU", {"num_parameters": 4, "init": 0.1}), ("ReLU6", {}), ("Identity", {}), ("Flatten", {}),
    ("Flatten", {"start_dim": 0, "end_dim": 1}), ("Unflatten", {"dim": 2, "unflattened_size": (1, 3)}),
    ("Mish", {}), ("Softsign", {}), ("Tanhshrink", {}),
]


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ACTIVATIONS)])
def test_activation_modules_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    assert repr(ours) == repr(theirs)
    if name == "PReLU":
        w = np.linspace(-0.3, 0.4, kw.get("num_parameters", 1)).astype(np.float32)
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(w))
        with tinygrad_cn.no_grad():
            ours.weight.copy_(tinygrad_cn.tensor(w))
    x = (np.random.default_rng(2).standard_normal((2, 4, 3)) * 3).astype(np.float32)
    xo, xt = tinygrad_cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert tuple(yo.shape) == tuple(yt.shape)
    np.testing.assert_allclose(_np(yo), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.random.default_rng(3).standard_normal(tuple(yt.shape)).astype(np.float32)
    yo.backward(tinygrad_cn.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(_np(xo.grad), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    if name == "PReLU":
        np.testing.assert_allclose(_np(ours.weight.grad), theirs.weight.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,kw", [("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.1}), ("ELU", {}),
                                     ("SiLU", {}), ("Hardtanh", {})])
def test_inplace_activations(name, kw):
    x = tinygrad_cn.tensor([-2.0, -0.5, 0.0, 0.5, 2.0])
    expected = _np(getattr(nn, name)(**kw)(x)).copy()
    y = x.clone()
    out = getattr(nn, name)(inplace=True, **kw)(y)
    np.testing.assert_allclose(_np(y), expected, rtol=1e-6)
    assert out.data_ptr() == y.data_ptr()


def test_training_loop_decreases_loss():
    tinygrad_cn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = tinygrad_cn.tensor(rng.standard_normal((64, 3)).astype(np.float32))
    y = tinygrad_cn.tensor((_np(x) @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.int64))
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 2))
    losses = []
    for _ in range(60):
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        with tinygrad_cn.no_grad():
            for p in model.parameters():
                p.sub_(0.5 * p.grad)
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


def _pytorch_style_program(torch, init_state):
    """A training script as a PyTorch user writes it, run on either library."""
    nn_ = torch.nn

    class Net(nn_.Module):
        def __init__(self):
            super().__init__()
            self.body = nn_.Sequential(nn_.Linear(4, 16), nn_.GELU(), nn_.Linear(16, 16), nn_.LeakyReLU(0.1))
            self.head = nn_.Linear(16, 3)
            self.register_buffer("calls", torch.zeros((), dtype=torch.int64))

        def forward(self, x):
            self.calls += 1
            return self.head(self.body(x))

    model = Net()
    model.load_state_dict({k: torch.tensor(v) for k, v in init_state.items()}, strict=False)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((32, 4)).astype(np.float32))
    y = torch.tensor(rng.integers(0, 3, 32))
    losses, norms = [], []
    for _ in range(8):
        model.train()
        loss = nn_.functional.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        norms.append(float(nn_.utils.clip_grad_norm_(model.parameters(), 0.5)))
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.3 * p.grad
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        out = model(x)
    return losses, norms, out.numpy(), int(model.calls)


def test_pytorch_style_program_matches_torch():
    torch = pytest.importorskip("torch")
    tinygrad_cn.manual_seed(0)
    state = {k: _np(v).copy() for k, v in nn.Sequential(OrderedDict(
        body=nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Linear(16, 16)), head=nn.Linear(16, 3))
    ).state_dict().items()}
    ours = _pytorch_style_program(tinygrad_cn, state)
    theirs = _pytorch_style_program(torch, state)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-4)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-3, atol=1e-4)
    assert ours[3] == theirs[3] == 9
    assert ours[0][-1] < ours[0][0]


def test_sequential_linear_relu_fusion_is_exact_and_respects_hooks():
    tinygrad_cn.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3), nn.ReLU(inplace=True))
    x = tinygrad_cn.randn(4, 6, requires_grad=True)
    y = m(x)
    y.sum().backward()
    g = [_np(p.grad).copy() for p in m.parameters()] + [_np(x.grad).copy()]
    m.zero_grad()
    x.grad = None
    y2 = m[3](m[2](m[1](m[0](x))))
    y2.sum().backward()
    assert np.array_equal(_np(y), _np(y2))
    for a, b in zip(g, [_np(p.grad) for p in m.parameters()] + [_np(x.grad)]):
        assert np.array_equal(a, b)
    seen = []
    h = m[1].register_forward_hook(lambda mod, i, o: seen.append(o.shape))
    m(x)
    assert seen == [(4, 5)]
    h.remove()


def _container_ops(n):
    out = []
    s = n.Sequential(n.ReLU(), n.Tanh(), n.Sigmoid(), n.Identity())
    out.append([type(m).__name__ for m in s[::-1]])
    s.insert(-1, n.ELU())
    out.append([type(m).__name__ for m in s])
    del s[1:3]
    out.append(list(s._modules))
    out.append([type(m).__name__ for m in s])
    ml = n.ModuleList([n.ReLU(), n.Tanh()])
    ml.insert(1, n.ELU())
    ml.insert(3, n.GELU())
    out.append([type(m).__name__ for m in ml])
    del ml[::2]
    out.append(([type(m).__name__ for m in ml], list(ml._modules)))
    out.append(len(n.Sequential(n.ReLU()) * 2))
    out.append(repr(n.ModuleList([n.ReLU(), n.ReLU(), n.Tanh(), n.ReLU()])))
    out.append((repr(n.Sequential()), repr(n.ModuleDict()), repr(n.ParameterList())))
    out.append((type(s.pop(0)).__name__, len(s)))
    out.append((repr(n.Linear(2, 3, bias=False)), repr(n.Flatten(0)), repr(n.Unflatten(1, [2, 2]))))
    return out


def test_container_operations_match_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(_container_ops(nn), _container_ops(torch.nn)):
        assert ours == theirs


def test_bilinear_matches_torch_and_gradcheck():
    import numpy as np
    import tinygrad_cn as tg
    from tinygrad_cn.autograd import gradcheck
    m = tg.nn.Bilinear(3, 4, 5, dtype=tg.float64)
    a = tg.randn(2, 6, 3, dtype=tg.float64, requires_grad=True)
    b = tg.randn(2, 6, 4, dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda x, y, w, c: m(x, y), (a, b, m.weight, m.bias))  # m uses w and c itself
    torch = pytest.importorskip("torch")
    mt = torch.nn.Bilinear(3, 4, 5).double()
    with torch.no_grad():
        mt.weight.copy_(torch.tensor(m.weight.detach().numpy()))
        mt.bias.copy_(torch.tensor(m.bias.detach().numpy()))
    y, yt = m(a, b), mt(torch.tensor(a.detach().numpy()), torch.tensor(b.detach().numpy()))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert repr(m) == repr(mt)
