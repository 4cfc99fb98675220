"""The Tensor object itself: attributes, conversions, graph flags, Python
protocols (len, iter, bool, index, format, pickle, deepcopy), repr, out=.
Oracle tests compare with PyTorch when it is installed."""
import copy
import pickle
import warnings

import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn import _format


def leaf(data, **kw):
    return tg.tensor(data, requires_grad=True, **kw)


# -- attributes ------------------------------------------------------------------------------
def test_shape_size_dim_numel_len():
    t = tg.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple) and isinstance(t.shape, tg.Size)
    assert t.size() == tg.Size([2, 3, 4]) and t.size() == t.shape
    assert t.size(1) == 3 and t.size(-1) == 4 and t.size(dim=0) == 2
    with pytest.raises(IndexError):
        t.size(3)
    assert t.dim() == 3 and t.ndim == 3 and t.ndimension() == 3
    assert t.numel() == 24 and t.nelement() == 24 and t.shape.numel() == 24
    assert len(t) == 2
    assert tg.tensor(1.0).shape == () and tg.tensor(1.0).dim() == 0 and tg.tensor(1.0).numel() == 1
    with pytest.raises(TypeError):
        len(tg.tensor(1.0))


def test_size_repr_and_indexing():
    s = tg.zeros(2, 3).shape
    assert repr(s) == "tinygrad_cn.Size([2, 3])"
    assert list(s) == [2, 3] and s[-1] == 3 and tuple(s) == (2, 3)
    assert s != [2, 3]  # a tuple, as in torch


def test_size_slicing_and_concat_stay_size():
    s = tg.zeros(2, 3).shape
    assert type(s[:1]) is tg.Size and type(s + (4,)) is tg.Size


def test_dtype_device_and_flags():
    t = tg.tensor([1.0, 2.0])
    assert t.dtype is tg.float32
    assert t.device == tg.device("cpu") and t.device.type == "cpu" and str(t.device) == "cpu"
    assert repr(t.device) == "device(type='cpu')"
    assert t.is_cuda is False and t.is_floating_point() and not tg.tensor([1]).is_floating_point()
    assert t.requires_grad is False and t.grad is None and t.grad_fn is None and t.is_leaf
    assert t.element_size() == 4 and tg.tensor([1], dtype=tg.int8).element_size() == 1


def test_leaf_and_grad_fn_flags():
    x = leaf([1.0, 2.0])
    assert x.requires_grad and x.is_leaf and x.grad_fn is None
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    z = tg.tensor([1.0]) * 2  # nothing requires grad: a leaf with no history
    assert z.is_leaf and z.grad_fn is None and not z.requires_grad
    with tg.no_grad():
        w = x * 2
    assert w.is_leaf and not w.requires_grad


def test_grad_is_populated_on_leaves_only():
    x = leaf([1.0, 2.0])
    y = x * 2
    (y * y).sum().backward()
    assert x.grad.tolist() == [8.0, 16.0]
    with pytest.warns(UserWarning, match="not a leaf"):
        assert y.grad is None


def test_non_leaf_grad_access_warns():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.warns(UserWarning, match="not a leaf"):
        _ = y.grad


# -- data access --------------------------------------------------------------------------------
def test_item():
    assert tg.tensor([[1.5]]).item() == 1.5 and type(tg.tensor(1.5).item()) is float
    assert type(tg.tensor(3).item()) is int and type(tg.tensor(True).item()) is bool
    assert type(tg.tensor(1.0, dtype=tg.float16).item()) is float
    with pytest.raises((RuntimeError, ValueError)):
        tg.tensor([1.0, 2.0]).item()


def test_tolist():
    assert tg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert tg.tensor(2.5).tolist() == 2.5
    assert all(type(v) is float for v in tg.tensor([1.0, 2.0]).tolist())
    assert tg.tensor([0.1]).tolist()[0] == float(np.float32(0.1))


def test_numpy_shares_memory_and_refuses_requires_grad():
    x = tg.tensor([1.0, 2.0])
    n = x.numpy()
    assert isinstance(n, np.ndarray) and n.dtype == np.float32
    n[0] = 9.0
    assert x.tolist() == [9.0, 2.0]
    g = leaf([1.0])
    with pytest.raises(RuntimeError, match="requires grad"):
        g.numpy()
    assert g.detach().numpy().tolist() == [1.0]


def test_array_protocol():
    x = tg.tensor([[1.5, 2.0]])
    a = np.asarray(x)
    assert a.shape == (1, 2) and a.dtype == np.float32
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert np.array(tg.tensor([1, 2])).tolist() == [1, 2]
    assert np.array(x, copy=True) is not x._data


def test_array_protocol_refuses_requires_grad_like_torch():
    with pytest.raises(RuntimeError):
        np.asarray(leaf([1.0]))


def test_data_get_is_outside_the_graph_and_shares_storage():
    x = leaf([1.0, 2.0])
    d = x.data
    assert not d.requires_grad and d.is_leaf
    d.mul_(2)  # allowed: .data escapes the leaf check
    assert x.tolist() == [2.0, 4.0]
    assert x._version == 0  # .data writes are invisible to the version counter


def test_data_set_replaces_values_keeps_flags():
    x = leaf([1.0, 2.0])
    x.data = tg.tensor([5.0, 6.0, 7.0])
    assert x.tolist() == [5.0, 6.0, 7.0] and x.requires_grad and x.shape == (3,)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_manual_sgd_via_data():
    w = leaf([1.0, -1.0])
    (w * w).sum().backward()
    w.data -= 0.1 * w.grad.data
    assert np.allclose(w.tolist(), [0.8, -0.8]) and w.is_leaf and w.requires_grad


# -- conversions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method,dtype", [("float", "float32"), ("double", "float64"), ("half", "float16"),
                                          ("long", "int64"), ("int", "int32"), ("bool", "bool"),
                                          ("short", "int16"), ("byte", "uint8"), ("char", "int8")])
def test_conversion_methods(method, dtype):
    t = getattr(tg.tensor([1.7, -2.7, 0.0]), method)()
    assert t.dtype is getattr(tg, dtype)


def test_conversion_values_truncate_like_torch():
    assert tg.tensor([1.7, -2.7]).long().tolist() == [1, -2]
    assert tg.tensor([1.7, 0.0]).bool().tolist() == [True, False]
    assert tg.tensor([1, 2]).float().tolist() == [1.0, 2.0]


def test_to_forms():
    x = tg.tensor([1, 2])
    assert x.to(tg.float64).dtype is tg.float64
    assert x.to("cpu") is x and x.to(tg.device("cpu")) is x and x.cpu() is x
    assert x.to(tg.tensor([1.0])).dtype is tg.float32
    assert x.to("cpu", tg.float16).dtype is tg.float16
    assert x.to(device="cpu", dtype=tg.float32).dtype is tg.float32
    assert x.to(tg.int64) is x  # no-op returns self
    c = x.to(tg.int64, copy=True)
    assert c is not x and c.tolist() == [1, 2]


def test_conversion_keeps_the_graph():
    x = leaf([1.0, 2.0])
    y = x.double()
    assert y.dtype is tg.float64 and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype is tg.float32 and x.grad.tolist() == [2.0, 4.0]
    h = leaf([1.0, 2.0])
    (h.half() * 2).sum().backward()
    assert h.grad.dtype is tg.float32 and h.grad.tolist() == [2.0, 2.0]
    n = leaf([1.5]).long()  # integer results leave the graph
    assert not n.requires_grad and n.grad_fn is None


def test_type_method():
    assert tg.tensor([1.0]).type() == "torch.FloatTensor"
    assert tg.tensor([1]).type() == "torch.LongTensor"
    assert tg.tensor([1.0]).double().type() == "torch.DoubleTensor"
    assert tg.tensor([True]).type() == "torch.BoolTensor"
    assert tg.tensor([1], dtype=tg.int32).type() == "torch.IntTensor"
    assert tg.tensor([1]).type(tg.float64).dtype is tg.float64
    assert tg.tensor([1]).type("torch.DoubleTensor").dtype is tg.float64
    assert tg.tensor([1]).type(tg.DoubleTensor).dtype is tg.float64
    assert tg.tensor([1.5]).type(tg.LongTensor).tolist() == [1]
    assert tg.tensor([1]).type_as(tg.tensor([1.0])).dtype is tg.float32
    with pytest.raises(ValueError):
        tg.tensor([1]).type("torch.NoSuchTensor")


def test_clone_contiguous_detach():
    x = leaf([1.0, 2.0])
    y = x.clone()
    assert y.grad_fn is not None and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    p = tg.tensor([1.0, 2.0])
    q = p.clone()
    q[0] = 9.0
    assert p.tolist() == [1.0, 2.0]
    assert p.contiguous() is p
    t = tg.arange(6.0).reshape(2, 3).t()
    assert not t.is_contiguous() and t.contiguous().is_contiguous()
    assert t.contiguous().tolist() == t.tolist()
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d[0] = 5.0  # shares storage and version counter
    assert x.tolist()[0] == 5.0 and x._version == d._version == 1


def test_detach_in_place():
    x = leaf([1.0, 2.0])
    y = x * 2
    assert y.detach_() is y
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_requires_grad_():
    x = tg.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    x.requires_grad = True
    assert x.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([True]).requires_grad = True
    assert tg.tensor([1, 2]).float().requires_grad_().requires_grad
    y = leaf([1.0]) * 2
    assert y.requires_grad_(True) is y  # a no-op on a non-leaf
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_retain_grad():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    (y * y).sum().backward()
    assert y.grad.tolist() == [4.0, 8.0]
    x.retain_grad()  # no-op on a leaf
    with pytest.raises(RuntimeError):
        tg.tensor([1.0]).retain_grad()


def test_retain_grad_accumulates():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward(retain_graph=True)
    (y * y).sum().backward()
    assert y.grad.tolist() == [8.0, 16.0]


def test_register_hook_on_leaf_and_remove():
    x = leaf([1.0, 2.0])
    seen = []
    h = x.register_hook(lambda g: seen.append(g.tolist()))
    (x * 3).sum().backward()
    h.remove()
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]] and x.grad.tolist() == [6.0, 6.0]


def test_register_hook_replaces_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert x.grad.tolist() == [20.0, 20.0]
    z = leaf([1.0])
    z.register_hook(lambda g: g + 1)
    (z * 5).sum().backward()
    assert z.grad.tolist() == [6.0]
    with pytest.raises(RuntimeError):
        tg.tensor([1.0]).register_hook(lambda g: g)


def test_zero_fill_copy():
    x = tg.tensor([1.0, 2.0])
    assert x.zero_() is x and x.tolist() == [0.0, 0.0]
    assert x.fill_(3).tolist() == [3.0, 3.0]
    assert tg.tensor([1, 2]).fill_(3.7).tolist() == [3, 3]
    assert x.fill_(tg.tensor(5.0)).tolist() == [5.0, 5.0]
    b = tg.zeros(2, 2)
    assert b.copy_(tg.tensor([1, 2])) is b and b.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    i = tg.zeros(2, dtype=tg.int64)
    i.copy_(tg.tensor([1.7, -2.7]))
    assert i.tolist() == [1, -2]
    with pytest.raises(RuntimeError):
        tg.zeros(2).copy_(tg.zeros(3))
    v = x.zero_()._version
    x.fill_(1.0)
    assert x._version == v + 1


def test_in_place_on_leaf_requiring_grad_raises():
    for op in (lambda t: t.zero_(), lambda t: t.fill_(1.0), lambda t: t.copy_(tg.ones(2)), lambda t: t.add_(1)):
        with pytest.raises(RuntimeError, match="leaf Variable"):
            op(leaf([1.0, 2.0]))
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        x.zero_().add_(1).mul_(2)
    assert x.tolist() == [2.0, 2.0] and x.requires_grad and x.is_leaf


def test_in_place_ops_carry_gradients():
    x = leaf([1.0, 2.0])
    y = x * 1
    y.fill_(3.0)
    (y * x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    a = leaf([1.0, 2.0])
    b = tg.zeros(2)
    b.copy_(a * 2)
    assert b.requires_grad
    b.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]


def test_grad_can_be_set_and_cleared():
    x = leaf([1.0, 2.0])
    x.grad = tg.tensor([1.0, 1.0])
    (x * 2).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_grad_of_wrong_shape_is_refused():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError):
        x.grad = tg.tensor([1.0, 1.0, 1.0])


# -- Python protocols --------------------------------------------------------------------------
def test_format():
    loss = leaf(0.123456) * 2
    assert f"{loss:.4f}" == "0.2469"
    assert "{:>10.2f}".format(tg.tensor(3.14159)) == "      3.14"
    assert f"{tg.tensor(5):03d}" == "005"
    assert f"{tg.tensor([1.0, 2.0])}" == "tensor([1., 2.])"
    assert str(tg.tensor([1.0, 2.0])) == repr(tg.tensor([1.0, 2.0]))


def test_index():
    assert [10, 20, 30][tg.tensor(1)] == 20
    assert [10, 20, 30][tg.tensor([2])] == 30
    assert list(range(10))[tg.tensor(1):tg.tensor(3)] == [1, 2]
    with pytest.raises(TypeError):
        [1, 2, 3][tg.tensor(1.0)]
    with pytest.raises(TypeError):
        [1, 2, 3][tg.tensor([0, 1])]


def test_bool_int_float():
    assert bool(tg.tensor([1.0])) and not bool(tg.tensor(0))
    assert bool(tg.tensor(2) > 1)
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tg.tensor([1.0, 1.0]))
    with pytest.raises(RuntimeError):
        bool(tg.tensor([]))
    with pytest.raises(RuntimeError):
        if tg.tensor([1, 2]) == tg.tensor([1, 2]):
            pass
    assert int(tg.tensor([2.7])) == 2 and float(tg.tensor([2])) == 2.0
    with pytest.raises((RuntimeError, ValueError)):
        int(tg.tensor([1, 2]))


def test_iter_yields_rows():
    rows = list(tg.tensor([[1, 2], [3, 4]]))
    assert len(rows) == 2 and all(isinstance(r, tg.Tensor) for r in rows)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4]]
    assert [v.item() for v in tg.tensor([5, 6])] == [5, 6]
    assert list(tg.zeros(0, 2)) == []
    with pytest.raises(TypeError):
        iter(tg.tensor(1.0))
    a, b = tg.tensor([1.0, 2.0])
    assert a.item() == 1.0 and b.item() == 2.0


def test_iter_rows_carry_gradients():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    rows = list(x)
    rows[1].sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_hash_is_identity():
    x = tg.tensor([1.0])
    y = tg.tensor([1.0])
    assert {x: 1}[x] == 1 and x in {x} and y not in {x}


@pytest.mark.parametrize("t", [tg.tensor([1.0, 2.0]), tg.tensor([[1, 2]], dtype=tg.int8), tg.tensor(3.5),
                               tg.tensor([True, False]), tg.zeros(0, 3), tg.tensor([1.0], dtype=tg.float16)])
def test_pickle_round_trip(t):
    u = pickle.loads(pickle.dumps(t))
    assert isinstance(u, tg.Tensor) and u.dtype is t.dtype and u.shape == t.shape and u.tolist() == t.tolist()


def test_pickle_keeps_requires_grad_and_sharing():
    x = leaf([1.0, 2.0])
    y = pickle.loads(pickle.dumps(x))
    assert y.requires_grad and y.is_leaf and y.grad is None
    p = tg.tensor([1.0, 2.0])
    a, b = pickle.loads(pickle.dumps([p, p]))
    a[0] = 5.0
    assert b.tolist() == [5.0, 2.0]
    v = tg.arange(6.0).reshape(2, 3)[:, 1]
    assert pickle.loads(pickle.dumps(v)).tolist() == [1.0, 4.0]


def test_deepcopy():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    y = copy.deepcopy(x)
    assert y is not x and y.requires_grad and y.is_leaf and y.tolist() == x.tolist()
    y.grad[0] = 100.0
    y.data[1] = -1.0
    assert x.grad.tolist() == [2.0, 4.0] and x.tolist() == [1.0, 2.0]
    p = tg.tensor([1.0])
    a, b = copy.deepcopy([p, p])
    assert a is b  # memo keeps aliasing
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(x * 2)
    c = copy.copy(tg.tensor([1.0, 2.0]))
    assert c.tolist() == [1.0, 2.0]


# -- out= ---------------------------------------------------------------------------------------------
def test_out_on_ops():
    o = tg.empty(2)
    assert tg.add(tg.ones(2), tg.ones(2), out=o) is o and o.tolist() == [2.0, 2.0]
    assert tg.mul(tg.ones(2), 3, out=o).tolist() == [3.0, 3.0]
    o22 = tg.empty(2, 2)
    tg.matmul(tg.ones(2, 2), tg.ones(2, 2), out=o22)
    assert o22.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    tg.mm(tg.eye(2), tg.ones(2, 2), out=o22)
    assert o22.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    o3 = tg.empty(3)
    tg.cat([tg.ones(2), tg.zeros(1)], out=o3)
    assert o3.tolist() == [1.0, 1.0, 0.0]
    s = tg.empty(2)
    tg.sum(tg.ones(2, 2), 0, out=s)
    assert s.tolist() == [2.0, 2.0]
    tg.mean(tg.ones(2, 2), 1, out=s)
    assert s.tolist() == [1.0, 1.0]
    tg.exp(tg.zeros(2), out=s)
    assert s.tolist() == [1.0, 1.0]
    st = tg.empty(2, 2)
    tg.stack([tg.ones(2), tg.zeros(2)], out=st)
    assert st.tolist() == [[1.0, 1.0], [0.0, 0.0]]
    w = tg.empty(2)
    tg.where(tg.tensor([True, False]), tg.ones(2), tg.zeros(2), out=w)
    assert w.tolist() == [1.0, 0.0]


def test_out_resizes_and_keeps_dtype():
    o = tg.empty(5)
    tg.add(tg.ones(2), 1, out=o)
    assert o.shape == (2,)
    i = tg.empty(2, dtype=tg.int64)
    with pytest.raises(RuntimeError):  # float result can't go into a Long out
        tg.add(tg.ones(2), 1, out=i)
    f = tg.empty(2)
    tg.add(tg.ones(2, dtype=tg.int64), 1, out=f)
    assert f.dtype is tg.float32 and f.tolist() == [2.0, 2.0]


def test_out_refuses_autograd():
    with pytest.raises(RuntimeError, match="out="):
        tg.add(leaf([1.0, 2.0]), 1, out=tg.empty(2))


def test_out_on_more_reductions():
    o = tg.empty(())
    tg.prod(tg.tensor([2.0, 3.0]), 0, out=o)
    assert o.item() == 6.0
    c = tg.empty(2)
    tg.cumsum(tg.tensor([2.0, 3.0]), 0, out=c)
    assert c.tolist() == [2.0, 5.0]


# -- repr ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,expected", [
    (lambda: tg.tensor([1.0, 2.0, 3.0]), "tensor([1., 2., 3.])"),
    (lambda: tg.tensor([1.5, 2.25, -3.0]), "tensor([ 1.5000,  2.2500, -3.0000])"),
    (lambda: tg.tensor([[1.5, -20.25], [3.0, 4.0]]), "tensor([[  1.5000, -20.2500],\n        [  3.0000,   4.0000]])"),
    (lambda: tg.tensor(3.5), "tensor(3.5000)"),
    (lambda: tg.tensor(3.0), "tensor(3.)"),
    (lambda: tg.tensor([1, -200, 3]), "tensor([   1, -200,    3])"),
    (lambda: tg.tensor([True, False]), "tensor([ True, False])"),
    (lambda: tg.tensor([1.0, 2.0], dtype=tg.float64), "tensor([1., 2.], dtype=tinygrad_cn.float64)"),
    (lambda: tg.tensor([1, 2], dtype=tg.int32), "tensor([1, 2], dtype=tinygrad_cn.int32)"),
    (lambda: tg.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
    (lambda: tg.tensor([1.0, 2.0], requires_grad=True) * 2, "tensor([2., 4.], grad_fn=<MulBackward0>)"),
    (lambda: (tg.tensor([1.0, 2.0], requires_grad=True) + 1).sum(), "tensor(5., grad_fn=<SumBackward0>)"),
    (lambda: tg.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: tg.tensor([float("nan"), 1.5, -float("inf")]), "tensor([   nan, 1.5000,   -inf])"),
    (lambda: tg.tensor([]), "tensor([])"),
    (lambda: tg.zeros(2, 0), "tensor([], size=(2, 0))"),
    (lambda: tg.tensor([], dtype=tg.int64), "tensor([], dtype=tinygrad_cn.int64)"),
    (lambda: tg.arange(2000.0), "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
                                "        1.9990e+03])"),
    (lambda: tg.tensor([0.0, -0.0]), "tensor([0., -0.])"),
])
def test_repr_exact(make, expected):
    assert repr(make()) == expected


def test_repr_wraps_long_rows_and_summarises():
    r = repr(tg.arange(30.0) / 3)
    lines = r.split("\n")
    assert len(lines) > 1 and all(len(line) <= 80 for line in lines)
    assert lines[1].startswith(" " * 8)
    big = repr(tg.zeros(100, 100))
    assert "..." in big and big.count("\n") < 20


def test_printoptions_in_format_module():
    try:
        _format.set_printoptions(precision=2)
        assert repr(tg.tensor([1 / 3])) == "tensor([0.33])"
        _format.set_printoptions(profile="default", sci_mode=True)
        assert repr(tg.tensor([1.0, 2.5])) == "tensor([1.0000e+00, 2.5000e+00])"
        _format.set_printoptions(threshold=4, edgeitems=1)
        assert repr(tg.arange(10)) == "tensor([0,  ..., 9])"
    finally:
        _format.set_printoptions(profile="default")
    assert repr(tg.tensor([1 / 3])) == "tensor([0.3333])"


def test_set_printoptions_changes_repr():
    try:
        tg.set_printoptions(precision=2)
        assert repr(tg.tensor([1 / 3])) == "tensor([0.33])"
    finally:
        _format.set_printoptions(profile="default")


def _torch_repr_cases(T):
    rng = np.random.default_rng(0)
    g = T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    return [
        T.tensor([1.0, 2.0, 3.0]), T.tensor([1.5, 2.25, -3.0]), T.tensor([[1.5, -20.25], [3.0, 4.0]]),
        T.tensor(3.0), T.tensor(3.5), T.tensor([1, 2, 3]), T.tensor([[1, -200], [3, 4]]), T.tensor([True, False]),
        T.tensor([1.0, 2.0], dtype=T.float64), T.tensor([1, 2], dtype=T.int32), T.tensor([1.0, 2.0], dtype=T.float16),
        T.tensor([1, 2], dtype=T.uint8), T.tensor([1, 2], dtype=T.int8), T.tensor([1.0, 2.0], requires_grad=True),
        g * 2, g + 1, (g * 2).sum(), g * 0.5, T.tensor([1e-5, 1.0]), T.tensor([1e10, 1.0]), T.tensor([123456.0, 1.5]),
        T.tensor([float("nan"), 1.0, float("inf")]), T.tensor([]), T.zeros(0, 3), T.zeros(2, 0),
        T.arange(12.0).reshape(3, 4) / 7, T.arange(2000.0), T.arange(24).reshape(2, 3, 4), T.tensor(True), T.tensor(7),
        T.tensor([100.0, 2.5]), T.tensor([1000.5, 2.5]), T.tensor([0.001, 2.5]), T.arange(100.0).reshape(10, 10),
        T.arange(30.0) / 3, T.tensor([1e-8]), T.tensor([1e20]), T.tensor([2.0, 1e5]),
        T.tensor([[1.0]], dtype=T.float64, requires_grad=True), T.arange(1000).reshape(10, 100),
        T.tensor(rng.standard_normal((50, 50)).astype(np.float32)), T.tensor(rng.standard_normal((4, 5, 6))),
        T.tensor(rng.integers(-1000, 1000, (40, 40))), T.tensor(rng.standard_normal(2000).astype(np.float16)),
        T.tensor(rng.standard_normal((2, 3, 4, 5)).astype(np.float32)), T.tensor(rng.random((20, 20)) > 0.5),
        T.tensor((rng.standard_normal((7, 9)) * 1000).astype(np.float32)), T.zeros((3, 0, 2), dtype=T.int64),
        T.tensor(float("nan")), T.tensor([float("nan"), float("nan")]), T.tensor(rng.standard_normal(30) * 1e-3),
    ]


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = [repr(t).replace("tinygrad_cn.", "torch.") for t in _torch_repr_cases(tg)]
        theirs = [repr(t) for t in _torch_repr_cases(torch)]
    bad = [(o, t) for o, t in zip(ours, theirs) if o != t]
    assert not bad, "\n\n".join(f"ours:\n{o}\ntorch:\n{t}" for o, t in bad[:3])


@pytest.mark.parametrize("opts", [dict(precision=2), dict(sci_mode=True), dict(sci_mode=False), dict(profile="short"),
                                  dict(threshold=5), dict(linewidth=40), dict(edgeitems=1, threshold=10)])
def test_repr_with_printoptions_matches_torch(opts):
    torch = pytest.importorskip("torch")
    try:
        torch.set_printoptions(**opts)
        _format.set_printoptions(**opts)
        for a in (np.arange(20.0, dtype=np.float32) / 3, np.arange(30, dtype=np.int64).reshape(5, 6),
                  np.array([1e-6, 1.0, 1e6], dtype=np.float32)):
            assert repr(tg.tensor(a)) == repr(torch.tensor(a))
    finally:
        torch.set_printoptions(profile="default")
        _format.set_printoptions(profile="default")


def test_grad_fn_names_match_torch():
    torch = pytest.importorskip("torch")
    exprs = ["x @ x", "x.mean()", "x.t()", "x[0]", "x.view(4)", "x.reshape(4)", "x.unsqueeze(0)", "x.sum(0)",
             "x.max()", "x.double()", "x.transpose(0, 1)"]
    ta = torch.ones(2, 2, requires_grad=True)
    ga = tg.ones(2, 2, requires_grad=True)
    bad = [(e, eval(e, {"x": ga}).grad_fn.name(), type(eval(e, {"x": ta}).grad_fn).__name__) for e in exprs]
    assert [b for b in bad if b[1] != b[2]] == []


def test_common_grad_fn_names_match_torch():
    x = tg.ones(2, 2, requires_grad=True)
    for expr, name in [("x + 1", "AddBackward0"), ("x * x", "MulBackward0"), ("x - x", "SubBackward0"),
                       ("x / 2", "DivBackward0"), ("x.sum()", "SumBackward0"), ("x.exp()", "ExpBackward0"),
                       ("x.relu()", "ReluBackward0"), ("x.tanh()", "TanhBackward0"), ("-x", "NegBackward0"),
                       ("x ** 2", "PowBackward0"), ("x.clone()", "CloneBackward0")]:
        assert eval(expr, {"x": x}).grad_fn.name() == name, expr
