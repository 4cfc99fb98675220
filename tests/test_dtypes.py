"""dtypes: names, aliases, defaults, torch's promotion rules, set_default_dtype,
finfo/iinfo. The oracle tests compare with PyTorch when it is installed."""
import itertools
import pickle

import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn import _dtype

ALL_NAMES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


@pytest.fixture
def restore_default_dtype():
    before = tg.get_default_dtype()
    yield
    tg.set_default_dtype(before)


# -- the dtype objects ------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_NAMES)
def test_dtype_objects_exist_and_print_like_torch(name):
    d = getattr(tg, name)
    assert isinstance(d, tg.dtype)
    assert repr(d) == f"tinygrad_cn.{name}"
    assert tg.zeros(1, dtype=d).dtype is d


def test_aliases_are_the_same_objects():
    assert tg.float is tg.float32 and tg.double is tg.float64 and tg.half is tg.float16
    assert tg.long is tg.int64 and tg.int is tg.int32 and tg.short is tg.int16


@pytest.mark.parametrize("name,floating,signed,size", [
    ("float32", True, True, 4), ("float64", True, True, 8), ("float16", True, True, 2),
    ("int64", False, True, 8), ("int32", False, True, 4), ("int8", False, True, 1),
    ("uint8", False, False, 1), ("bool", False, False, 1)])
def test_dtype_properties(name, floating, signed, size):
    d = getattr(tg, name)
    assert d.is_floating_point is floating
    assert d.is_signed is signed
    assert d.itemsize == size
    assert d.is_complex is False


@pytest.mark.parametrize("name", ALL_NAMES)
def test_dtype_pickles_to_the_same_object(name):
    d = getattr(tg, name)
    assert pickle.loads(pickle.dumps(d)) is d


@pytest.mark.parametrize("spec,expected", [
    (float, "float32"), (int, "int64"), (bool, "bool"), (np.float64, "float64"), (np.dtype("int32"), "int32"),
    ("float16", "float16"), ("double", "float64"), ("long", "int64"), (np.uint8, "uint8")])
def test_dtype_accepts_python_and_numpy_types(spec, expected):
    assert tg.zeros(1, dtype=spec).dtype is getattr(tg, expected)


def test_unsupported_numpy_dtype_raises():
    with pytest.raises(TypeError, match="can't convert np.ndarray of type"):
        tg.from_numpy(np.zeros(2, dtype=np.complex64))


# -- inference from Python data ------------------------------------------------------
@pytest.mark.parametrize("data,expected", [
    ([1.0, 2.0], "float32"), ([1, 2], "int64"), ([True, False], "bool"), (3.5, "float32"), (3, "int64"),
    (True, "bool"), ([1, 2.5], "float32"), ([True, 2], "int64"), ([True, 2.0], "float32"), ([], "float32"),
    (np.array([1.0]), "float64"), (np.array([1], dtype=np.int32), "int32"), (np.float64(2.0), "float64"),
    (np.float32(2.0), "float32"), (np.array([1], dtype=np.uint8), "uint8"), ([[1.0], [2.0]], "float32")])
def test_tensor_infers_dtype_like_torch(data, expected):
    assert tg.tensor(data).dtype is getattr(tg, expected)


def test_default_dtype_is_float32():
    assert tg.get_default_dtype() is tg.float32


def test_set_default_dtype_float64(restore_default_dtype):
    tg.set_default_dtype(tg.float64)
    assert tg.get_default_dtype() is tg.float64
    assert tg.tensor([1.0]).dtype is tg.float64
    assert tg.zeros(2).dtype is tg.float64
    assert tg.ones(2).dtype is tg.float64
    assert tg.rand(2).dtype is tg.float64
    assert tg.randn(2).dtype is tg.float64
    assert tg.arange(0.0, 1.0, 0.5).dtype is tg.float64
    assert tg.full((2,), 1.5).dtype is tg.float64
    assert tg.tensor([1]).dtype is tg.int64  # ints are unaffected
    assert (tg.tensor([1]) * 1.5).dtype is tg.float64
    # float32 is no longer the default, so its repr names it
    assert repr(tg.tensor([1.0], dtype=tg.float32)) == "tensor([1.], dtype=tinygrad_cn.float32)"
    assert repr(tg.tensor([1.0])) == "tensor([1.])"


def test_set_default_dtype_restores(restore_default_dtype):
    tg.set_default_dtype(tg.float64)
    tg.set_default_dtype(tg.float32)
    assert tg.tensor([1.0]).dtype is tg.float32


def test_set_default_dtype_rejects_integers(restore_default_dtype):
    with pytest.raises(TypeError):
        tg.set_default_dtype(tg.int64)
    assert tg.get_default_dtype() is tg.float32


# -- promotion -------------------------------------------------------------------------
@pytest.mark.parametrize("a,b,expected", [
    ("int64", "float32", "float32"), ("int32", "int64", "int64"), ("uint8", "int8", "int16"),
    ("bool", "int8", "int8"), ("float16", "float32", "float32"), ("int32", "float16", "float16"),
    ("bool", "bool", "bool"), ("float64", "float16", "float64"), ("uint8", "bool", "uint8")])
def test_binary_op_promotion_of_dimensioned_tensors(a, b, expected):
    x = tg.ones(2, dtype=getattr(tg, a))
    y = tg.ones(2, dtype=getattr(tg, b))
    assert (x + y).dtype is getattr(tg, expected)
    assert tg.result_type(x, y) is getattr(tg, expected)


def test_zero_dim_and_scalar_promotion_rules():
    i32 = tg.ones(2, dtype=tg.int32)
    assert (i32 + tg.tensor(5)).dtype is tg.int32         # a 0-d int64 does not widen an int32 tensor
    assert (i32 + 5).dtype is tg.int32                    # nor does a Python int
    assert (i32 * 1.5).dtype is tg.float32                # a Python float moves it to the default float
    assert (tg.ones(2, dtype=tg.float16) + tg.tensor(1.0)).dtype is tg.float16
    assert (tg.ones(2, dtype=tg.float16) + tg.ones(2)).dtype is tg.float32
    assert (tg.tensor([1]) / tg.tensor([2])).dtype is tg.float32  # true division of ints
    assert (tg.tensor([True]) + 1).dtype is tg.int64
    assert (tg.tensor(1.0, dtype=tg.float64) * tg.tensor([1])).dtype is tg.float64


def test_result_type_with_scalars():
    assert tg.result_type(tg.tensor([1]), 1.0) is tg.float32
    assert tg.result_type(tg.tensor([1], dtype=tg.int8), tg.tensor(1000)) is tg.int8
    assert tg.result_type(tg.tensor([1.0], dtype=tg.float64), 1) is tg.float64


# -- finfo / iinfo / promote_types ----------------------------------------------------------
def test_finfo_iinfo_promote_types_implementation():
    assert _dtype.finfo(tg.float32).eps == np.finfo(np.float32).eps
    assert _dtype.finfo(tg.float16).max == 65504.0
    assert _dtype.finfo().dtype == "float32"
    assert _dtype.finfo(tg.float64).bits == 64
    assert _dtype.iinfo(tg.int8).max == 127 and _dtype.iinfo(tg.uint8).min == 0
    assert _dtype.promote_types(tg.int32, tg.float16) is tg.float16
    assert _dtype.promote_types(tg.uint8, tg.int8) is tg.int16
    with pytest.raises(TypeError):
        _dtype.finfo(tg.int32)
    with pytest.raises(TypeError):
        _dtype.iinfo(tg.float32)


def test_finfo_iinfo_promote_types_are_exported():
    assert tg.finfo(tg.float32).eps == np.finfo(np.float32).eps
    assert tg.iinfo(tg.int64).max == 2 ** 63 - 1
    assert tg.promote_types(tg.int32, tg.float16) is tg.float16


# -- oracle -----------------------------------------------------------------------------------
def test_promotion_matches_torch_for_every_pair_and_rank():
    torch = pytest.importorskip("torch")
    names = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
    mismatches = []
    for a, b in itertools.product(names, repeat=2):
        for shape_a, shape_b in [((2,), (2,)), ((2,), ()), ((), (2,)), ((), ())]:
            ours = (tg.ones(shape_a, dtype=getattr(tg, a)) * tg.ones(shape_b, dtype=getattr(tg, b))).dtype
            theirs = (torch.ones(shape_a, dtype=getattr(torch, a)) * torch.ones(shape_b, dtype=getattr(torch, b))).dtype
            if ours.name != str(theirs).replace("torch.", ""):
                mismatches.append((a, shape_a, b, shape_b, ours, theirs))
    for a in names:
        for scalar in (True, 2, 2.5):
            ours = (tg.ones(2, dtype=getattr(tg, a)) * scalar).dtype
            theirs = (torch.ones(2, dtype=getattr(torch, a)) * scalar).dtype
            if ours.name != str(theirs).replace("torch.", ""):
                mismatches.append((a, scalar, ours, theirs))
    assert not mismatches


def test_finfo_matches_torch():
    torch = pytest.importorskip("torch")
    for name in ("float32", "float64", "float16"):
        a, b = _dtype.finfo(getattr(tg, name)), torch.finfo(getattr(torch, name))
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(a, attr) == getattr(b, attr), (name, attr)
    for name in ("int64", "int32", "int16", "int8", "uint8"):
        a, b = _dtype.iinfo(getattr(tg, name)), torch.iinfo(getattr(torch, name))
        assert (a.bits, a.max, a.min, a.dtype) == (b.bits, b.max, b.min, b.dtype)
