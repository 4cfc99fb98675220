"""The older API that much PyTorch code still uses: autograd.Variable, .data,
tinygrad_cn.Tensor(...), FloatTensor & co, t.new(), device objects, the cuda
module and set_default_device."""
import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.autograd import Variable

LEGACY = [("FloatTensor", "float32", "torch.FloatTensor"), ("DoubleTensor", "float64", "torch.DoubleTensor"),
          ("HalfTensor", "float16", "torch.HalfTensor"), ("LongTensor", "int64", "torch.LongTensor"),
          ("IntTensor", "int32", "torch.IntTensor"), ("ShortTensor", "int16", "torch.ShortTensor"),
          ("CharTensor", "int8", "torch.CharTensor"), ("ByteTensor", "uint8", "torch.ByteTensor"),
          ("BoolTensor", "bool", "torch.BoolTensor")]


# -- autograd.Variable -----------------------------------------------------------------------
def test_variable_gives_a_tensor():
    v = Variable(tg.tensor([1.0, 2.0]), requires_grad=True)
    assert type(v) is tg.Tensor and v.requires_grad and v.is_leaf
    (v * v).sum().backward()
    assert v.grad.tolist() == [2.0, 4.0]
    assert not Variable(tg.tensor([1.0])).requires_grad
    assert isinstance(tg.tensor([1.0]), Variable) and tg.is_tensor(Variable(tg.tensor([1.0])))
    assert tg.autograd.Variable is Variable


def test_variable_forms():
    assert Variable(tg.tensor([1.0, 2.0]), volatile=True).tolist() == [1.0, 2.0]
    assert Variable(tg.Tensor([1, 2])).data.tolist() == [1.0, 2.0]
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = Variable(x)  # a new leaf, detached from x (as torch does)
    assert y is not x and not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="floating point"):
        Variable(tg.tensor([1, 2]), requires_grad=True)


def test_old_training_idiom_with_variable_and_data():
    w = Variable(tg.tensor([0.0, 0.0]), requires_grad=True)
    x = Variable(tg.tensor([[1.0, 0.5], [0.5, 1.0]]))
    target = Variable(tg.tensor([2.0, 2.5]))
    for _ in range(150):
        loss = ((x @ w - target) ** 2).mean()
        loss.backward()
        w.data -= 0.3 * w.grad.data
        w.grad.data.zero_()
    assert np.allclose(w.data.tolist(), [1.0, 2.0], atol=1e-2)
    assert isinstance(loss.data.item(), float) and loss.data.item() < 1e-3


# -- .data ---------------------------------------------------------------------------------------
def test_data_is_outside_the_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    d = x.data
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert not (d * 2).requires_grad
    x.data.mul_(10)  # a change through .data is not seen by autograd: backward uses new values
    y.backward()
    assert x.grad.tolist() == [20.0, 40.0]
    assert tg.tensor([3.0], requires_grad=True).data[0].item() == 3.0


def test_data_setter():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.data = tg.tensor([5.0, 6.0])
    assert x.tolist() == [5.0, 6.0] and x.requires_grad and x.is_leaf
    x.data = tg.zeros(3, 2)  # the shape can change
    assert x.shape == (3, 2)
    n = (x * 2).sum()
    n.backward()
    assert x.grad.shape == (3, 2)


def test_data_of_non_leaf():
    x = tg.tensor([1.0], requires_grad=True)
    y = x * 3
    assert y.data.tolist() == [3.0] and not y.data.requires_grad and y.requires_grad


# -- tinygrad_cn.Tensor(...) -----------------------------------------------------------------------
def test_tensor_constructor_with_data_is_float32():
    t = tg.Tensor([1, 2])
    assert t.dtype is tg.float32 and t.tolist() == [1.0, 2.0]
    assert tg.Tensor([[1, 2], [3, 4]]).shape == (2, 2)
    assert tg.Tensor(np.array([1.0, 2.0])).dtype is tg.float32
    assert not tg.Tensor([1, 2]).requires_grad and tg.Tensor([1.0]).is_leaf
    assert tg.Tensor([1, 2], device="cpu").tolist() == [1.0, 2.0]


def test_tensor_constructor_with_sizes():
    t = tg.Tensor(2, 3)
    assert t.shape == (2, 3) and t.dtype is tg.float32
    assert t.zero_().sum().item() == 0.0
    assert tg.Tensor(tg.Size([2, 3])).shape == (2, 3)
    assert tg.Tensor().shape == (0,)
    assert tg.Tensor((2, 3)).tolist() == [2.0, 3.0]  # a tuple is data, not sizes (as torch)
    assert tg.Tensor(0).shape == (0,)


def test_tensor_constructor_follows_default_dtype():
    before = tg.get_default_dtype()
    try:
        tg.set_default_dtype(tg.float64)
        assert tg.Tensor([1.0]).dtype is tg.float64
        assert tg.Tensor(2).dtype is tg.float64
    finally:
        tg.set_default_dtype(before)


def test_isinstance_tensor():
    assert isinstance(tg.tensor([1]), tg.Tensor)
    assert isinstance(tg.Tensor([1]), tg.Tensor)
    assert isinstance(tg.zeros(2) * 2, tg.Tensor)


# -- FloatTensor & co ------------------------------------------------------------------------------
@pytest.mark.parametrize("name,dtype,typename", LEGACY)
def test_legacy_constructors(name, dtype, typename):
    cls = getattr(tg, name)
    d = getattr(tg, dtype)
    t = cls([1, 0, 1])
    assert type(t) is tg.Tensor and t.dtype is d and t.shape == (3,)
    assert cls(2, 3).shape == (2, 3) and cls(2, 3).dtype is d
    assert cls().shape == (0,)
    assert isinstance(t, cls) and isinstance(t, tg.Tensor)
    assert t.type() == typename
    assert cls.dtype is d
    assert tg.tensor([1.0]).type(cls).dtype is d
    assert tg.tensor([1.0]).type(typename).dtype is d
    assert tg.tensor([1.0]).to(d).type() == typename


def test_legacy_isinstance_checks_dtype():
    assert isinstance(tg.tensor([1.0]), tg.FloatTensor)
    assert not isinstance(tg.tensor([1]), tg.FloatTensor)
    assert isinstance(tg.tensor([1]), tg.LongTensor)
    assert not isinstance(tg.tensor([1]), tg.IntTensor)
    assert isinstance(tg.tensor([1.0]).double(), tg.DoubleTensor)
    assert isinstance(tg.FloatTensor([1.0]), tg.Tensor)
    assert not isinstance(np.zeros(1, dtype=np.float32), tg.FloatTensor)
    assert not issubclass(tg.FloatTensor, tg.Tensor)  # as in torch


def test_legacy_constructor_values_and_errors():
    assert tg.LongTensor([1.5, -2.5]).tolist() == [1, -2]
    assert tg.BoolTensor([1, 0]).tolist() == [True, False]
    assert tg.FloatTensor(np.array([1, 2])).tolist() == [1.0, 2.0]
    assert tg.LongTensor(3).dtype is tg.int64
    with pytest.raises(TypeError):
        tg.FloatTensor([1], dtype=tg.float64)


def test_legacy_types_feed_type_and_to():
    t = tg.FloatTensor([[1, 2]])
    assert t.type(tg.LongTensor).type() == "torch.LongTensor"
    assert tg.LongTensor([1, 2]).float().type() == "torch.FloatTensor"
    assert t.to(tg.DoubleTensor).dtype is tg.float64
    dtype = tg.cuda.FloatTensor if tg.cuda.is_available() else tg.FloatTensor
    assert tg.zeros(2).type(dtype).dtype is tg.float32


def test_tensor_new():
    f = tg.tensor([1.0])
    assert f.new(2, 3).shape == (2, 3) and f.new(2, 3).dtype is tg.float32
    i = tg.tensor([1])
    assert i.new([1, 2]).dtype is tg.int64 and i.new([1, 2]).tolist() == [1, 2]
    assert f.new([1, 2]).dtype is tg.float32
    assert f.new().shape == (0,)
    assert tg.tensor([1], dtype=tg.float64).new(tg.Size([2])).dtype is tg.float64


# -- devices and the cuda module ----------------------------------------------------------------------
def test_device_objects():
    d = tg.device("cpu")
    assert d.type == "cpu" and str(d) == "cpu" and repr(d) == "device(type='cpu')"
    assert d == tg.device("cpu") and tg.device(d) == d and {d: 1}[tg.device("cpu")] == 1
    assert tg.device("cpu:0").type == "cpu"
    assert tg.zeros(1).device == d and tg.zeros(1).get_device() == -1 and not tg.zeros(1).is_cuda
    assert tg.get_default_device() == d


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps"])
def test_device_other_than_cpu_raises(name):
    with pytest.raises(RuntimeError, match="CPU"):
        tg.zeros(1, device=name)
    with pytest.raises(RuntimeError, match="CPU"):
        tg.zeros(1).to(name)


def test_cuda_module():
    assert tg.cuda.is_available() is False
    assert tg.cuda.device_count() == 0
    tg.cuda.manual_seed(0)
    tg.cuda.manual_seed_all(0)
    tg.cuda.synchronize()
    tg.cuda.empty_cache()
    with pytest.raises(RuntimeError, match="CPU"):
        tg.cuda.current_device()
    with pytest.raises(RuntimeError, match="CPU"):
        tg.zeros(1).cuda()
    assert tg.backends.mps.is_available() is False
    assert tg.backends.cudnn.deterministic in (True, False)
    tg.backends.cudnn.benchmark = False


def test_cuda_legacy_types_exist_but_refuse_to_build():
    assert not isinstance(tg.tensor([1.0]), tg.cuda.FloatTensor)
    assert tg.cuda.LongTensor.dtype is tg.int64
    with pytest.raises(TypeError, match="CPU"):
        tg.cuda.FloatTensor([1.0])


def test_device_selection_idiom():
    device = tg.device("cuda" if tg.cuda.is_available() else "cpu")
    x = tg.randn(2, 2).to(device)
    assert x.device == device


def test_set_default_device():
    tg.set_default_device("cpu")
    tg.set_default_device(tg.device("cpu"))
    tg.set_default_device(None)
    assert tg.zeros(1).device.type == "cpu"
    with pytest.raises(RuntimeError, match="CPU"):
        tg.set_default_device("cuda")
    assert tg.get_default_device().type == "cpu"


# -- oracle ---------------------------------------------------------------------------------------------
def test_legacy_api_matches_torch():
    torch = pytest.importorskip("torch")
    for make in (lambda T: T.Tensor([1, 2]), lambda T: T.Tensor(2, 3).zero_(), lambda T: T.LongTensor([1.7, -1.7]),
                 lambda T: T.DoubleTensor([[1, 2]]), lambda T: T.ByteTensor([1, 255]), lambda T: T.BoolTensor([0, 2]),
                 lambda T: T.tensor([1.0]).new([1, 2]), lambda T: T.tensor([1]).new(3).zero_()):
        ours, theirs = make(tg), make(torch)
        assert ours.type() == theirs.type()
        assert ours.tolist() == theirs.tolist()
    for name, _, _ in LEGACY:
        assert getattr(tg, name).dtype.name == str(getattr(torch, name).dtype).replace("torch.", "")
