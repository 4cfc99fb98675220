"""Factories and random numbers: tensor/as_tensor/from_numpy, zeros..arange..linspace,
*_like, rand/randn/randint/randperm, normal/bernoulli/multinomial, Generator and
manual_seed, out= and device= on factories."""
import numpy as np
import pytest

import tinygrad_cn as tg


def arr(t):
    return np.asarray(t._data)


# -- tensor / as_tensor / from_numpy -------------------------------------------------------
def test_tensor_copies_its_data():
    a = np.arange(3.0)
    t = tg.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [0.0, 1.0, 2.0]
    src = tg.tensor([1.0, 2.0])
    t2 = tg.tensor(src)
    src.add_(1)
    assert t2.tolist() == [1.0, 2.0]


def test_tensor_nested_and_scalars():
    t = tg.tensor([[1, 2, 3], [4, 5, 6]])
    assert t.shape == (2, 3) and t.dtype is tg.int64
    assert tg.tensor(3.5).shape == () and tg.tensor(3.5).item() == 3.5
    assert tg.tensor([]).shape == (0,)
    assert tg.tensor([[]]).shape == (1, 0)
    assert tg.tensor([tg.tensor(1.0), tg.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_tensor_with_dtype_and_requires_grad():
    t = tg.tensor([1, 2], dtype=tg.float64, requires_grad=True)
    assert t.dtype is tg.float64 and t.requires_grad and t.is_leaf and t.grad is None
    assert tg.tensor([0.1], dtype=tg.float64).item() == 0.1  # no detour through float32
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2], requires_grad=True)


def test_tensor_rejects_bad_data():
    with pytest.raises((TypeError, ValueError)):
        tg.tensor("a")
    with pytest.raises(ValueError):
        tg.tensor([[1, 2], [3]])


@pytest.mark.parametrize("data", [[2 ** 63], 2 ** 64, [-2 ** 63 - 1], [[1], [2 ** 70]]])
def test_tensor_int_overflow_raises_instead_of_wrapping(data):
    with pytest.raises(ValueError, match="Overflow"):
        tg.tensor(data)


def test_tensor_int64_limits_are_exact():
    assert tg.tensor([2 ** 63 - 1, -2 ** 63]).tolist() == [2 ** 63 - 1, -2 ** 63]


def test_as_tensor_shares_when_it_can():
    a = np.arange(3.0)
    t = tg.as_tensor(a)
    a[0] = 7.0
    assert t[0].item() == 7.0
    x = tg.tensor([1.0, 2.0])
    assert tg.as_tensor(x) is x
    c = tg.as_tensor(a, dtype=tg.float32)  # a dtype change copies
    a[1] = 9.0
    assert c.dtype is tg.float32 and c[1].item() == 1.0
    assert tg.as_tensor([1, 2]).dtype is tg.int64


def test_from_numpy_shares_memory_both_ways():
    a = np.zeros(3, dtype=np.float32)
    t = tg.from_numpy(a)
    assert t.dtype is tg.float32
    a[0] = 5.0
    assert t.tolist() == [5.0, 0.0, 0.0]
    t.add_(1.0)
    assert a.tolist() == [6.0, 1.0, 1.0]
    t[2] = -1.0
    assert a[2] == -1.0
    assert t.numpy() is a or np.shares_memory(t.numpy(), a)


def test_from_numpy_keeps_dtype_and_layout():
    for npd, d in [(np.float64, tg.float64), (np.int32, tg.int32), (np.uint8, tg.uint8), (np.bool_, tg.bool),
                   (np.int8, tg.int8), (np.float16, tg.float16), (np.int64, tg.int64)]:
        assert tg.from_numpy(np.zeros(2, dtype=npd)).dtype is d
    t = tg.from_numpy(np.arange(6.0).reshape(2, 3).T)
    assert t.shape == (3, 2) and t.stride() == (1, 3) and not t.is_contiguous()
    with pytest.raises(TypeError):
        tg.from_numpy([1, 2])


# -- constant factories -------------------------------------------------------------------------
@pytest.mark.parametrize("factory,value", [(tg.zeros, 0.0), (tg.ones, 1.0)])
def test_zeros_ones_size_forms(factory, value):
    for t in (factory(2, 3), factory((2, 3)), factory([2, 3]), factory(tg.Size([2, 3]))):
        assert t.shape == (2, 3) and t.dtype is tg.float32
        assert (arr(t) == value).all()
    assert factory(()).shape == () and factory(0).shape == (0,)
    assert factory(2, dtype=tg.int32).dtype is tg.int32
    assert factory(2, dtype=tg.bool).dtype is tg.bool
    with pytest.raises(RuntimeError):
        factory(-1)


def test_empty_shape_and_dtype():
    t = tg.empty(2, 3, dtype=tg.int64)
    assert t.shape == (2, 3) and t.dtype is tg.int64
    assert tg.empty(0).shape == (0,)


@pytest.mark.parametrize("fill,dtype", [(3, tg.int64), (3.0, tg.float32), (True, tg.bool), (2.5, tg.float32)])
def test_full_infers_dtype_from_fill_value(fill, dtype):
    t = tg.full((2, 2), fill)
    assert t.dtype is dtype and t.shape == (2, 2)
    assert (arr(t) == fill).all()


def test_full_explicit_dtype_and_list_size():
    assert tg.full((2,), 1.5, dtype=tg.float64).dtype is tg.float64
    assert tg.full([3], 7).tolist() == [7, 7, 7]
    assert tg.full((), 2.0).shape == ()


def test_eye():
    assert tg.eye(3).tolist() == np.eye(3).tolist()
    assert tg.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert tg.eye(2).dtype is tg.float32 and tg.eye(2, dtype=tg.int64).dtype is tg.int64


@pytest.mark.parametrize("args,kwargs,expected,dtype", [
    ((5,), {}, [0, 1, 2, 3, 4], tg.int64),
    ((5.0,), {}, [0, 1, 2, 3, 4], tg.float32),
    ((1, 4), {}, [1, 2, 3], tg.int64),
    ((0, 5, 2), {}, [0, 2, 4], tg.int64),
    ((10, 0, -3), {}, [10, 7, 4, 1], tg.int64),
    ((0, 1, 0.25), {}, [0, 0.25, 0.5, 0.75], tg.float32),
    ((1, 2.5, 0.5), {}, [1, 1.5, 2], tg.float32),
    ((5,), {"dtype": tg.float64}, [0, 1, 2, 3, 4], tg.float64),
    ((3, 3), {}, [], tg.int64),
])
def test_arange(args, kwargs, expected, dtype):
    t = tg.arange(*args, **kwargs)
    assert t.dtype is dtype
    np.testing.assert_allclose(arr(t), expected)


def test_arange_length_with_float_steps():
    assert tg.arange(0, 1, 0.1).shape == (10,)
    assert tg.arange(0, 0.3, 0.1).shape == (3,)
    assert tg.arange(tg.tensor(3)).tolist() == [0, 1, 2]


def test_arange_errors():
    with pytest.raises(RuntimeError):
        tg.arange(0, 5, 0)
    with pytest.raises(RuntimeError, match="inconsistent with step sign"):
        tg.arange(5, 0)


def test_linspace_logspace():
    np.testing.assert_allclose(arr(tg.linspace(0, 1, 5)), [0, 0.25, 0.5, 0.75, 1])
    assert tg.linspace(0, 1, 5).dtype is tg.float32
    assert tg.linspace(0, 1, 1).tolist() == [0.0]
    assert tg.linspace(-1, 1, 3, dtype=tg.float64).dtype is tg.float64
    assert tg.linspace(0, 1, 0).shape == (0,)
    np.testing.assert_allclose(arr(tg.logspace(0, 2, 3)), [1, 10, 100], rtol=1e-6)


def test_like_functions_keep_shape_and_dtype():
    src = tg.ones(2, 3, dtype=tg.float64)
    for fn in (tg.zeros_like, tg.ones_like, tg.empty_like, tg.rand_like, tg.randn_like):
        t = fn(src)
        assert t.shape == (2, 3) and t.dtype is tg.float64
    assert tg.zeros_like(tg.tensor([1, 2])).dtype is tg.int64
    assert tg.ones_like(src, dtype=tg.int32).dtype is tg.int32
    assert tg.full_like(tg.tensor([1, 2]), 2.7).tolist() == [2, 2]  # takes input's dtype
    assert tg.full_like(tg.tensor([1.0, 2.0]), 7).tolist() == [7.0, 7.0]
    r = tg.randint_like(tg.zeros(100), 5)
    assert r.dtype is tg.float32 and 0 <= r.min().item() and r.max().item() < 5
    assert tg.zeros_like(src, requires_grad=True).requires_grad


def test_factories_requires_grad_flag():
    assert tg.zeros(2, requires_grad=True).requires_grad
    assert tg.rand(2, requires_grad=True).is_leaf
    with pytest.raises(RuntimeError):
        tg.zeros(2, dtype=tg.int64, requires_grad=True)


def test_new_factories():
    base = tg.zeros(2, 3, dtype=tg.int32)
    assert base.new_zeros(4).dtype is tg.int32 and base.new_zeros(4).shape == (4,)
    assert base.new_ones((2,)).tolist() == [1, 1]
    assert base.new_full((2,), 7).tolist() == [7, 7]
    assert base.new_empty(3).shape == (3,)
    assert tg.zeros(1).new_tensor([1, 2]).dtype is tg.float32


# -- random --------------------------------------------------------------------------------
def test_rand_randn_shapes_dtypes_and_ranges():
    tg.manual_seed(0)
    r = tg.rand(1000)
    assert r.dtype is tg.float32 and 0 <= r.min().item() and r.max().item() < 1
    assert abs(r.mean().item() - 0.5) < 0.05
    n = tg.randn(2000)
    assert abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1) < 0.1
    assert tg.rand(2, 3).shape == (2, 3) and tg.randn((2, 3)).shape == (2, 3)
    assert tg.rand(2, dtype=tg.float64).dtype is tg.float64
    assert tg.rand(2, dtype=tg.float16).dtype is tg.float16


@pytest.mark.parametrize("fn", [tg.rand, tg.randn])
def test_rand_randn_refuse_integer_dtypes(fn):
    with pytest.raises(RuntimeError):  # torch: NotImplementedError, a RuntimeError
        fn(2, dtype=tg.int64)
    with pytest.raises(RuntimeError):
        tg.rand_like(tg.zeros(2, dtype=tg.int64))


def test_randint_forms():
    tg.manual_seed(0)
    t = tg.randint(0, 10, (1000,))
    assert t.dtype is tg.int64 and t.min().item() >= 0 and t.max().item() <= 9
    assert len(set(t.tolist())) == 10
    assert tg.randint(10, (3,)).shape == (3,)
    s = tg.randint(3, 10, (2, 2))
    assert s.shape == (2, 2) and s.min().item() >= 3
    assert tg.randint(0, 10, (3,), dtype=tg.float32).dtype is tg.float32
    with pytest.raises(RuntimeError):
        tg.randint(5, 5, (3,))


def test_randperm():
    tg.manual_seed(0)
    p = tg.randperm(50)
    assert p.dtype is tg.int64 and sorted(p.tolist()) == list(range(50))
    assert p.tolist() != list(range(50))
    assert tg.randperm(0).shape == (0,)


def test_manual_seed_reproducibility():
    tg.manual_seed(1234)
    a = (tg.rand(5), tg.randn(5), tg.randint(0, 100, (5,)), tg.randperm(10), tg.normal(0.0, 1.0, (3,)))
    tg.manual_seed(1234)
    b = (tg.rand(5), tg.randn(5), tg.randint(0, 100, (5,)), tg.randperm(10), tg.normal(0.0, 1.0, (3,)))
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    tg.manual_seed(1235)
    assert tg.rand(5).tolist() != a[0].tolist()
    assert tg.initial_seed() == 1235


def test_generator_objects_are_independent_streams():
    g1 = tg.Generator().manual_seed(7)
    g2 = tg.Generator().manual_seed(7)
    tg.manual_seed(0)
    x = tg.rand(4, generator=g1)
    tg.rand(10)  # the default generator does not disturb g2
    y = tg.rand(4, generator=g2)
    assert x.tolist() == y.tolist()
    assert g1.initial_seed() == 7
    assert isinstance(tg.manual_seed(3), tg.Generator)
    assert tg.Generator().device == tg.device("cpu")
    with pytest.raises(RuntimeError):
        tg.Generator(device="cuda")


def test_generator_state_round_trip():
    g = tg.Generator().manual_seed(1)
    s = g.get_state()
    assert isinstance(s, tg.Tensor) and s.dtype is tg.uint8
    a = tg.randn(3, generator=g)
    g.set_state(s)
    assert tg.randn(3, generator=g).tolist() == a.tolist()
    st = tg.get_rng_state()
    b = tg.rand(3)
    tg.set_rng_state(st)
    assert tg.rand(3).tolist() == b.tolist()


def test_generator_accepted_by_all_samplers():
    g = tg.Generator().manual_seed(5)
    for make in (lambda: tg.randint(0, 9, (4,), generator=g), lambda: tg.randperm(6, generator=g),
                 lambda: tg.normal(0.0, 1.0, (3,), generator=g),
                 lambda: tg.bernoulli(tg.full((8,), 0.5), generator=g),
                 lambda: tg.multinomial(tg.ones(5), 3, generator=g)):
        g.manual_seed(5)
        first = make().tolist()
        g.manual_seed(5)
        assert make().tolist() == first


def test_normal_forms():
    tg.manual_seed(0)
    t = tg.normal(2.0, 3.0, size=(4000,))
    assert t.dtype is tg.float32 and abs(t.mean().item() - 2) < 0.2 and abs(t.std().item() - 3) < 0.2
    assert tg.normal(tg.zeros(3), 1.0).shape == (3,)
    assert tg.normal(0.0, tg.ones(3)).shape == (3,)
    m = tg.normal(tg.tensor([0.0, 100.0]), tg.tensor([1e-3, 1e-3]))
    assert abs(m[0].item()) < 0.1 and abs(m[1].item() - 100) < 0.1
    assert tg.normal(tg.tensor([0.0, 10.0]), 0.0).tolist() == [0.0, 10.0]
    with pytest.raises(RuntimeError):
        tg.normal(0.0, -1.0, (3,))


def test_bernoulli():
    tg.manual_seed(0)
    assert tg.bernoulli(tg.zeros(5)).tolist() == [0.0] * 5
    assert tg.bernoulli(tg.ones(5)).tolist() == [1.0] * 5
    b = tg.bernoulli(tg.full((4000,), 0.3))
    assert b.dtype is tg.float32 and set(b.tolist()) <= {0.0, 1.0}
    assert abs(b.mean().item() - 0.3) < 0.03
    with pytest.raises(RuntimeError):
        tg.bernoulli(tg.full((3,), 2.0))


def test_multinomial_with_replacement_distribution():
    tg.manual_seed(0)
    p = tg.tensor([0.1, 0.2, 0.7])
    s = tg.multinomial(p, 6000, replacement=True)
    assert s.dtype is tg.int64 and s.shape == (6000,)
    freq = np.bincount(arr(s), minlength=3) / 6000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.7], atol=0.03)
    # unnormalised weights work the same way
    s2 = tg.multinomial(tg.tensor([1.0, 2.0, 7.0]), 6000, replacement=True)
    np.testing.assert_allclose(np.bincount(arr(s2), minlength=3) / 6000, [0.1, 0.2, 0.7], atol=0.03)


def test_multinomial_without_replacement():
    tg.manual_seed(0)
    for _ in range(20):
        s = tg.multinomial(tg.tensor([1.0, 1.0, 1.0, 1.0, 0.0]), 4)
        assert sorted(s.tolist()) == [0, 1, 2, 3]  # distinct, zero-weight category never drawn
    # first draw follows the weights
    firsts = [tg.multinomial(tg.tensor([0.1, 0.9]), 2)[0].item() for _ in range(2000)]
    assert abs(np.mean(firsts) - 0.9) < 0.04
    assert tg.multinomial(tg.tensor([0.0, 1.0, 0.0]), 1).tolist() == [1]


def test_multinomial_rows_and_errors():
    tg.manual_seed(0)
    s = tg.multinomial(tg.tensor([[0.0, 1.0], [1.0, 0.0]]), 3, replacement=True)
    assert s.tolist() == [[1, 1, 1], [0, 0, 0]]
    with pytest.raises(RuntimeError):
        tg.multinomial(tg.tensor([1.0, 1.0, 1.0]), 4)  # more than categories without replacement
    with pytest.raises(RuntimeError):
        tg.multinomial(tg.tensor([-1.0, 1.0]), 1)
    with pytest.raises(RuntimeError):
        tg.multinomial(tg.tensor([0.0, 0.0]), 1)
    with pytest.raises(RuntimeError):
        tg.multinomial(tg.tensor([0, 1]), 1)  # integer weights
    with pytest.raises(RuntimeError):
        tg.multinomial(tg.tensor([1.0, 1.0]), 0)
    assert tg.tensor([0.5, 0.5]).multinomial(1).shape == (1,)


# -- out= and device= on factories ----------------------------------------------------------------
def test_factories_out():
    out = tg.ones(3)
    r = tg.zeros(2, out=out)
    assert r is out and out.tolist() == [0.0, 0.0]  # resized like torch
    o = tg.empty(3, dtype=tg.int64)
    assert tg.arange(3, out=o) is o and o.tolist() == [0, 1, 2]
    o = tg.empty(3)
    tg.linspace(0, 1, 3, out=o)
    assert o.tolist() == [0.0, 0.5, 1.0]
    o = tg.empty(2)
    tg.randn(2, out=o)
    assert o.shape == (2,)
    o = tg.empty(2, 2)
    tg.eye(2, out=o)
    assert o.tolist() == [[1, 0], [0, 1]]
    o = tg.empty(2)
    tg.full((2,), 4.0, out=o)
    assert o.tolist() == [4.0, 4.0]


def test_device_argument_on_factories():
    cpu = tg.device("cpu")
    for t in (tg.zeros(2, device="cpu"), tg.ones(2, device=cpu), tg.tensor([1.0], device="cpu"),
              tg.arange(3, device="cpu"), tg.rand(2, device=cpu), tg.full((2,), 1, device="cpu"),
              tg.eye(2, device="cpu"), tg.empty(1, device="cpu"), tg.randn(1, device="cpu:0")):
        assert t.device == cpu and t.device.type == "cpu"


@pytest.mark.parametrize("make", [
    lambda: tg.zeros(2, device="cuda"), lambda: tg.tensor([1.0], device="cuda"),
    lambda: tg.ones(2, device="cuda:0"), lambda: tg.arange(3, device="cuda"), lambda: tg.rand(2, device="cuda"),
    lambda: tg.randn(2, device="mps"), lambda: tg.full((2,), 1.0, device="cuda"),
    lambda: tg.tensor([1.0]).to("cuda"), lambda: tg.tensor([1.0]).cuda(), lambda: tg.tensor([1.0]).to(0)])
def test_cuda_device_raises_clear_error(make):
    with pytest.raises(RuntimeError, match="CPU"):
        make()


# -- oracle -----------------------------------------------------------------------------------------
def test_factories_match_torch():
    torch = pytest.importorskip("torch")
    cases = [
        lambda T: T.arange(5), lambda T: T.arange(5.0), lambda T: T.arange(1, 2.5, 0.5), lambda T: T.arange(0, 1, 0.1),
        lambda T: T.arange(10, 0, -3), lambda T: T.linspace(-1, 1, 7), lambda T: T.linspace(0, 10, 5),
        lambda T: T.eye(3, 2), lambda T: T.full((2,), 3), lambda T: T.full((2,), 3.5), lambda T: T.full((1,), False),
        lambda T: T.zeros(2, 0), lambda T: T.ones((), dtype=T.int8), lambda T: T.tensor([[1, 2]], dtype=T.float16),
        lambda T: T.tensor([1, 2.5]), lambda T: T.tensor([True, 1]), lambda T: T.logspace(0, 3, 4),
        lambda T: T.tensor(np.array([1, 2], dtype=np.int16)), lambda T: T.zeros_like(T.ones(2, dtype=T.uint8)),
        lambda T: T.full_like(T.ones(2, dtype=T.int32), 2.9), lambda T: T.arange(0, 5, 2, dtype=T.float64),
    ]
    for make in cases:
        ours, theirs = make(tg), make(torch)
        assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(arr(ours).astype(np.float64), theirs.numpy().astype(np.float64), rtol=1e-6, atol=1e-6)
