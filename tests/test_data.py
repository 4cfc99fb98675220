"""tinygrad_cn.utils.data: datasets, samplers, default_collate and the DataLoader, checked
against torch's documented semantics (and torch itself, where installed, for lengths,
shapes, dtypes and values)."""
import collections
import math
import warnings

import numpy as np
import pytest

try:
    from hypothesis import assume, given, strategies as st
except ImportError:  # hypothesis is in the `test` extra; the property tests below skip without it
    given = None

import tinygrad_cn as tg
from tinygrad_cn.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset, IterableDataset,
                                    RandomSampler, SequentialSampler, StackDataset, Subset, SubsetRandomSampler,
                                    TensorDataset, WeightedRandomSampler, default_collate, default_convert,
                                    get_worker_info, random_split)

Point = collections.namedtuple("Point", ["x", "y"])


def _gen(seed=0):
    return tg.Generator().manual_seed(seed)


def _labels(loader):
    """The label batches of a loader over _xy_dataset, as lists."""
    return [y.tolist() for _, y in loader]


def _xy_dataset(n=10):
    return TensorDataset(tg.arange(2.0 * n).reshape(n, 2), tg.arange(n))


# Datasets defined at module level so spawned workers can unpickle them by name.
class RangeIterable(IterableDataset):
    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        return iter(range(self.start, self.end))

    def __len__(self):
        return self.end - self.start


class WorkerTagged(Dataset):
    """Sample i is (i, id of the worker that fetched it, the mark its worker_init_fn left); index 13 fails."""

    def __len__(self):
        return 16

    def __getitem__(self, i):
        if i == 13:
            raise KeyError("thirteen")
        info = get_worker_info()
        return i, -1 if info is None else info.id, _INIT_MARK


_INIT_MARK = -1


def _mark_worker(worker_id):
    global _INIT_MARK
    _INIT_MARK = 1000 + worker_id


# -- samplers --------------------------------------------------------------------------------------
def test_sequential_sampler():
    s = SequentialSampler(range(5))
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5


def test_random_sampler_is_a_fresh_permutation_each_epoch():
    s = RandomSampler(range(50), generator=_gen(1))
    first, second = list(s), list(s)
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert first != second
    assert first == list(RandomSampler(range(50), generator=_gen(1)))  # same seed, same order
    assert first != list(RandomSampler(range(50), generator=_gen(2)))


def test_random_sampler_without_generator_follows_manual_seed():
    tg.manual_seed(123)
    a = list(RandomSampler(range(30)))
    tg.manual_seed(123)
    assert list(RandomSampler(range(30))) == a


def test_random_sampler_replacement_and_num_samples():
    s = RandomSampler(range(5), replacement=True, num_samples=70, generator=_gen())
    idx = list(s)
    assert len(idx) == len(s) == 70 and set(idx) <= set(range(5))
    assert len(set(idx)) == 5  # 70 draws over 5 values miss one with probability < 1e-6
    # Without replacement, more samples than items chain whole permutations.
    idx = list(RandomSampler(range(4), num_samples=10, generator=_gen()))
    assert len(idx) == 10 and sorted(idx[:4]) == sorted(idx[4:8]) == [0, 1, 2, 3]
    assert len(set(idx[8:])) == 2


def test_random_sampler_errors():
    with pytest.raises(TypeError, match="replacement should be a boolean value, but got replacement=1"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler([])


def test_subset_random_sampler():
    s = SubsetRandomSampler([10, 20, 30, 40], generator=_gen())
    assert sorted(s) == [10, 20, 30, 40] and len(s) == 4


def test_weighted_sampler_frequencies_follow_weights():
    w = [1.0, 0.0, 2.0, 7.0]
    draws = np.array(list(WeightedRandomSampler(w, 20000, generator=_gen(5))))
    freq = np.bincount(draws, minlength=4) / len(draws)
    assert freq[1] == 0  # zero weight: never drawn
    np.testing.assert_allclose(freq, np.array(w) / sum(w), atol=0.015)


def test_weighted_sampler_without_replacement_gives_distinct_indices():
    idx = list(WeightedRandomSampler([0.9, 0.4, 0.05, 0.2, 0.3, 0.1], 6, replacement=False, generator=_gen()))
    assert sorted(idx) == list(range(6))
    idx = list(WeightedRandomSampler(tg.rand(100, generator=_gen()) + 0.01, 30, replacement=False,
                                     generator=_gen(3)))
    assert len(set(idx)) == 30
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        list(WeightedRandomSampler([1.0, 1.0], 3, replacement=False))


def test_weighted_sampler_errors():
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=True"):
        WeightedRandomSampler([1.0], True)
    with pytest.raises(ValueError, match="replacement should be a boolean value, but got replacement=0"):
        WeightedRandomSampler([1.0], 1, replacement=0)
    with pytest.raises(ValueError, match=r"weights should be a 1d sequence but given weights have shape \(1, 2\)"):
        WeightedRandomSampler([[1.0, 2.0]], 1)


@pytest.mark.parametrize("n,bs,drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                              (2, 5, True), (0, 2, False)])
def test_batch_sampler(n, bs, drop_last):
    batches = list(BatchSampler(SequentialSampler(range(n)), bs, drop_last))
    full = [list(range(i, min(i + bs, n))) for i in range(0, n, bs)]
    expected = [b for b in full if len(b) == bs] if drop_last else full
    assert batches == expected
    assert len(BatchSampler(range(n), bs, drop_last)) == len(expected)


def test_batch_sampler_errors():
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="batch_size=True"):
        BatchSampler(range(3), True, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value, but got drop_last=None"):
        BatchSampler(range(3), 2, None)


# -- datasets -----------------------------------------------------------------------------------------
def test_tensor_dataset():
    ds = _xy_dataset(4)
    x, y = ds[1]
    assert x.tolist() == [2.0, 3.0] and int(y) == 1 and len(ds) == 4
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(tg.zeros(3), tg.zeros(4))


def test_concat_dataset_and_add():
    ds = ConcatDataset([[0, 1], [2, 3, 4], [5]])
    assert len(ds) == 6 and ds.cumulative_sizes == [2, 5, 6]
    assert [ds[i] for i in range(6)] == list(range(6)) and ds[-1] == 5 and ds[-6] == 0
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        ds[-7]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([RangeIterable(0, 2)])
    both = _xy_dataset(3) + _xy_dataset(2)
    assert isinstance(both, ConcatDataset) and len(both) == 5 and int(both[4][1]) == 1


def test_chain_dataset():
    chained = RangeIterable(0, 2) + RangeIterable(5, 7)
    assert isinstance(chained, ChainDataset)
    assert list(chained) == [0, 1, 5, 6] and len(chained) == 4


def test_subset_and_getitems_forwarding():
    class Batched(Dataset):
        def __init__(self):
            self.calls = []

        def __len__(self):
            return 10

        def __getitem__(self, i):
            return i

        def __getitems__(self, idx):
            self.calls.append(list(idx))
            return [i * 10 for i in idx]

    base = Batched()
    sub = Subset(base, [9, 7, 5])
    assert len(sub) == 3 and sub[0] == 9 and sub[-1] == 5
    assert sub.__getitems__([0, 2]) == [90, 50] and base.calls == [[9, 5]]
    # The DataLoader fetches a batch through __getitems__ when there is one.
    assert [b.tolist() for b in DataLoader(sub, batch_size=2)] == [[90, 70], [50]]


def test_stack_dataset():
    assert StackDataset([1, 2], "ab")[1] == (2, "b")
    assert StackDataset(x=[1, 2], y="ab")[0] == {"x": 1, "y": "a"}
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset([1, 2], [1])
    with pytest.raises(ValueError, match="At least one dataset should be passed"):
        StackDataset()
    with pytest.raises(ValueError, match="but both types are given"):
        StackDataset([1], y=[2])


def test_base_dataset_raises_not_implemented():
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement __getitem__."):
        Dataset()[0]


# -- random_split ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,lengths,sizes", [(10, [3, 7], [3, 7]), (10, [0.5, 0.5], [5, 5]),
                                             (10, [0.33, 0.33, 0.34], [4, 3, 3]), (7, [0.1, 0.9], [1, 6]),
                                             (30, [0.3, 0.3, 0.4], [9, 9, 12])])
def test_random_split_sizes_and_disjointness(n, lengths, sizes):
    parts = random_split(range(n), lengths, generator=_gen())
    assert [len(p) for p in parts] == sizes
    seen = [i for p in parts for i in p]
    assert sorted(seen) == list(range(n))  # disjoint and covering
    again = random_split(range(n), lengths, generator=_gen())
    assert [list(p) for p in again] == [list(p) for p in parts]


def test_random_split_matches_torch_sizes():
    torch = pytest.importorskip("torch")
    for n, lengths in [(10, [0.33, 0.33, 0.34]), (11, [0.25, 0.25, 0.5]), (3, [0.5, 0.5]), (100, [0.7, 0.2, 0.1])]:
        ours = [len(p) for p in random_split(range(n), lengths, generator=_gen())]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), lengths,
                                                                  generator=torch.Generator().manual_seed(0))]
        assert ours == theirs, (n, lengths)


def test_random_split_errors_and_warning():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 2 is not between 0 and 1"):
        random_split(range(10), [0.5, 0.6, -0.1])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(1), [0.9, 0.1])


# -- collation ---------------------------------------------------------------------------------------------
def test_default_collate_numbers():
    ints, floats, bools = default_collate([1, 2, 3]), default_collate([0.5, 1.5]), default_collate([True, False])
    assert ints.dtype == tg.int64 and ints.tolist() == [1, 2, 3]
    assert floats.dtype == tg.float64 and floats.tolist() == [0.5, 1.5]
    assert bools.dtype == tg.bool and bools.tolist() == [True, False]
    assert default_collate([np.float32(1), np.float32(2)]).dtype == tg.float32
    assert default_collate([np.int16(1), np.int16(2)]).dtype == tg.int16


def test_default_collate_tensors_and_arrays():
    batch = default_collate([tg.ones(2, 3), tg.zeros(2, 3)])
    assert batch.shape == (2, 2, 3) and batch.sum().item() == 6
    arr = default_collate([np.arange(3, dtype=np.int32), np.arange(3, dtype=np.int32)])
    assert isinstance(arr, tg.Tensor) and arr.dtype == tg.int32 and arr.shape == (2, 3)
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy arrays, numbers, dicts"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object(), object()])


def test_default_collate_containers():
    assert default_collate(["a", "b"]) == ["a", "b"]
    cols = default_collate([(0, "x"), (1, "y")])
    assert isinstance(cols, list) and cols[0].tolist() == [0, 1] and cols[1] == ("x", "y")  # torch keeps zip's tuple
    lists = default_collate([[0, 1], [2, 3]])
    assert [c.tolist() for c in lists] == [[0, 2], [1, 3]]
    d = default_collate([{"a": 0, "b": {"c": 1.0}}, {"a": 2, "b": {"c": 3.0}}])
    assert list(d) == ["a", "b"] and d["a"].tolist() == [0, 2] and d["b"]["c"].dtype == tg.float64
    od = default_collate([collections.OrderedDict(a=1), collections.OrderedDict(a=2)])
    assert type(od) is collections.OrderedDict and od["a"].tolist() == [1, 2]
    p = default_collate([Point(0, 1.0), Point(2, 3.0)])
    assert type(p) is Point and p.x.tolist() == [0, 2] and p.y.dtype == tg.float64
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])


def test_default_convert():
    assert default_convert(3) == 3
    t = default_convert(np.array([0, 1]))
    assert isinstance(t, tg.Tensor) and t.tolist() == [0, 1]
    assert isinstance(default_convert((np.array(1), "s")), list)
    p = default_convert(Point(np.array(0), "s"))
    assert type(p) is Point and isinstance(p.x, tg.Tensor) and p.y == "s"
    assert isinstance(default_convert(np.array(["a"])), np.ndarray)  # strings stay NumPy


def _to_np(x):
    """Nested tinygrad_cn or torch batch -> nested NumPy/str, for comparing the two."""
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        return (str(x.dtype).split(".")[-1], x.numpy())
    if isinstance(x, dict):
        return {k: _to_np(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x).__name__, [_to_np(v) for v in x]
    return x


def _assert_same_structure(a, b):
    if isinstance(a, tuple) and len(a) == 2 and isinstance(a[1], np.ndarray):
        assert a[0] == b[0] and a[1].shape == b[1].shape and np.array_equal(a[1], b[1]), (a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same_structure(a[k], b[k])
    elif isinstance(a, tuple):
        assert a[0] == b[0] and len(a[1]) == len(b[1]), (a, b)
        for x, y in zip(a[1], b[1]):
            _assert_same_structure(x, y)
    else:
        assert a == b


SAMPLES = {
    "ints": lambda i: i,
    "floats": lambda i: i / 2,
    "tuple": lambda i: (i, float(i), "s%d" % i),
    "dict": lambda i: {"x": np.full(2, i, dtype=np.float32), "y": i, "name": "n%d" % i},
    "namedtuple": lambda i: Point(np.int32(i), [i, i + 1]),
    "numpy": lambda i: np.arange(3, dtype=np.int64) + i,
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@pytest.mark.parametrize("batch_size,drop_last", [(2, False), (3, True), (None, False)])
def test_dataloader_matches_torch(kind, batch_size, drop_last):
    torch = pytest.importorskip("torch")
    data = [SAMPLES[kind](i) for i in range(7)]
    ours = DataLoader(data, batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(data, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    a, b = list(ours), list(theirs)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if kind == "namedtuple" and batch_size is not None:
            assert type(x) is Point
        _assert_same_structure(_to_np(x), _to_np(y))


# -- DataLoader --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,bs", [(10, 3), (9, 3), (1, 4), (64, 8)])
def test_dataloader_batches_and_len(n, bs):
    ds = _xy_dataset(n)
    for drop_last in (False, True):
        loader = DataLoader(ds, batch_size=bs, drop_last=drop_last)
        batches = list(loader)
        expected = n // bs if drop_last else math.ceil(n / bs)
        assert len(loader) == len(batches) == expected
        for k, (x, y) in enumerate(batches):
            size = min(bs, n - k * bs)
            assert x.shape == (size, 2) and x.dtype == tg.float32 and y.dtype == tg.int64
            assert y.tolist() == list(range(k * bs, k * bs + size))


def test_dataloader_len_matches_torch():
    torch = pytest.importorskip("torch")
    for n, bs, drop_last in [(10, 3, False), (10, 3, True), (7, 7, True), (5, 8, True), (5, 8, False)]:
        ours = DataLoader(range(n), batch_size=bs, drop_last=drop_last)
        theirs = torch.utils.data.DataLoader(range(n), batch_size=bs, drop_last=drop_last)
        assert len(ours) == len(theirs)
        assert [b.tolist() for b in ours] == [b.tolist() for b in theirs]


def test_shuffle_gives_a_permutation_each_epoch_and_epochs_differ():
    loader = DataLoader(_xy_dataset(40), batch_size=6, shuffle=True, generator=_gen(7))
    epochs = [sum(_labels(loader), []) for _ in range(3)]
    for e in epochs:
        assert sorted(e) == list(range(40))
    assert epochs[0] != epochs[1] != epochs[2]


def test_shuffle_is_reproducible_with_a_seed():
    ds = _xy_dataset(25)
    a = _labels(DataLoader(ds, batch_size=4, shuffle=True, generator=_gen(11)))
    b = _labels(DataLoader(ds, batch_size=4, shuffle=True, generator=_gen(11)))
    c = _labels(DataLoader(ds, batch_size=4, shuffle=True, generator=_gen(12)))
    assert a == b and a != c
    tg.manual_seed(3)
    d = _labels(DataLoader(ds, batch_size=4, shuffle=True))
    tg.manual_seed(3)
    assert _labels(DataLoader(ds, batch_size=4, shuffle=True)) == d


def test_sampler_and_batch_sampler_options():
    ds = _xy_dataset(6)
    assert _labels(DataLoader(ds, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])) == [[5, 4], [3, 2], [1, 0]]
    loader = DataLoader(ds, batch_sampler=[[0, 5], [1], [2, 3, 4]])
    assert loader.batch_size is None and len(loader) == 3
    assert _labels(loader) == [[0, 5], [1], [2, 3, 4]]
    custom = DataLoader(ds, batch_size=4, collate_fn=lambda batch: len(batch))
    assert list(custom) == [4, 2]


def test_tensor_dataset_gather_path_equals_per_sample_collation():
    # The loader gathers TensorDataset batches with one index per tensor; a collate_fn that is not
    # default_collate itself takes the per-sample path, which must give the same batches.
    w = tg.randn(30, 2, 3, generator=_gen()).requires_grad_()
    base = TensorDataset(w, tg.arange(30), (tg.arange(60, dtype=tg.uint8).reshape(2, 30)).t())
    nested = Subset(Subset(base, list(range(29, -1, -1))), [0, 3, 5, 7, 11, 13, 17, 19, 23, 29, -1])
    for ds, kw in ((base, dict(batch_size=7, shuffle=True)), (nested, dict(batch_size=4, drop_last=True)),
                   (base, dict(batch_size=3, sampler=[-1, 0, 5, 5]))):
        fast = list(DataLoader(ds, generator=_gen(9), **kw))
        slow = list(DataLoader(ds, generator=_gen(9), collate_fn=lambda b: default_collate(b), **kw))
        assert len(fast) == len(slow)
        for f, g in zip(fast, slow):
            assert isinstance(f, list) and len(f) == len(g) == 3
            for a, b in zip(f, g):
                assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
                assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    x, _, _ = next(iter(DataLoader(base, batch_size=4)))
    x.sum().backward()  # the batch stays on the autograd graph, as a stacked batch would
    assert w.grad[:4].sum().item() == 24 and w.grad[4:].abs().sum().item() == 0


def test_batch_size_none_disables_batching():
    loader = DataLoader([np.array([1, 2]), np.array([3, 4])], batch_size=None)
    items = list(loader)
    assert len(loader) == 2 and all(isinstance(t, tg.Tensor) and t.shape == (2,) for t in items)
    assert [t.tolist() for t in items] == [[1, 2], [3, 4]]


def test_iterable_dataset_loading():
    ds = RangeIterable(3, 10)
    assert [b.tolist() for b in DataLoader(ds, batch_size=3)] == [[3, 4, 5], [6, 7, 8], [9]]
    assert [b.tolist() for b in DataLoader(ds, batch_size=3, drop_last=True)] == [[3, 4, 5], [6, 7, 8]]
    assert len(DataLoader(ds, batch_size=3)) == 3 and len(DataLoader(ds, batch_size=3, drop_last=True)) == 2
    assert list(DataLoader(ds, batch_size=None)) == list(range(3, 10))


def test_iterable_dataset_longer_than_its_len_warns():
    class Liar(RangeIterable):
        def __len__(self):
            return 2

    loader = DataLoader(Liar(0, 3), batch_size=None)
    len(loader)
    with pytest.warns(UserWarning, match="was reported to be 2"):
        list(loader)


def test_dataloader_option_errors():
    ds = _xy_dataset(4)
    with pytest.raises(ValueError, match="^sampler option is mutually exclusive with shuffle$"):
        DataLoader(ds, shuffle=True, sampler=[0, 1])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                         "sampler, and drop_last"):
        DataLoader(ds, batch_size=2, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="batch_size=None option disables auto-batching and is mutually exclusive "
                                         "with drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="timeout option should be non-negative"):
        DataLoader(ds, timeout=-1)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified in multiprocessing"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="multiprocessing_context can only be used with multi-process loading"):
        DataLoader(ds, multiprocessing_context="spawn")
    with pytest.raises(ValueError, match="should specify a valid start method"):
        DataLoader(ds, num_workers=1, multiprocessing_context="nope")
    with pytest.raises(ValueError, match="expected unspecified shuffle option, but got shuffle=True"):
        DataLoader(RangeIterable(0, 3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(RangeIterable(0, 3), sampler=[0])
    loader = DataLoader(ds)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3
    loader.num_workers = 0  # not frozen, as in torch


def test_get_worker_info_is_none_in_main_process():
    assert get_worker_info() is None
    assert list(DataLoader(WorkerTagged(), batch_size=None, sampler=[0, 1])) == [[0, -1, -1], [1, -1, -1]]


def test_pin_memory_warns_without_accelerator():
    with pytest.warns(UserWarning, match="no accelerator is found"):
        list(DataLoader(range(2), pin_memory=True))


# -- properties (hypothesis, profile from conftest) ----------------------------------------------------------
needs_hypothesis = pytest.mark.skipif(given is None, reason="hypothesis not installed")

if given is not None:
    @needs_hypothesis
    @given(n=st.integers(0, 40), bs=st.integers(1, 12), drop_last=st.booleans(), shuffle=st.booleans(),
           seed=st.integers(0, 2 ** 32))
    def test_loader_len_and_coverage_property(n, bs, drop_last, shuffle, seed):
        assume(n > 0 or not shuffle)  # RandomSampler refuses an empty dataset, as torch's
        loader = DataLoader(range(n), batch_size=bs, drop_last=drop_last, shuffle=shuffle, generator=_gen(seed))
        batches = [b.tolist() for b in loader]
        assert len(loader) == len(batches) == (n // bs if drop_last else math.ceil(n / bs))
        assert all(len(b) == bs for b in batches[:-1]) and all(len(b) > 0 for b in batches)
        flat = sum(batches, [])
        assert len(set(flat)) == len(flat) and set(flat) <= set(range(n))
        if not drop_last:
            assert sorted(flat) == list(range(n))
        if not shuffle:
            assert flat == list(range(len(flat)))

    @needs_hypothesis
    @given(n=st.integers(1, 60), weights=st.lists(st.integers(1, 10), min_size=1, max_size=5),
           seed=st.integers(0, 2 ** 32))
    def test_random_split_fractions_property(n, weights, seed):
        fractions = [w / sum(weights) for w in weights]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # empty parts warn
            parts = random_split(range(n), fractions, generator=_gen(seed))
        sizes = [len(p) for p in parts]
        assert sum(sizes) == n
        assert all(abs(size - f * n) < 2 for size, f in zip(sizes, fractions))  # floor, then +1 round-robin
        assert sorted(i for p in parts for i in p) == list(range(n))


# -- worker processes (spawn): slow to start, so few and small -----------------------------------------------
def test_workers_give_the_same_batches_in_order():
    ds = _xy_dataset(23)
    single = _labels(DataLoader(ds, batch_size=4, shuffle=True, generator=_gen(5)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # more workers than CPUs on a small machine
        loader = DataLoader(ds, batch_size=4, shuffle=True, generator=_gen(5), num_workers=2,
                            persistent_workers=True, prefetch_factor=1)
        batches = list(loader)
        assert [y.tolist() for _, y in batches] == single
        assert batches[0][0].shape == (4, 2) and batches[0][0].dtype == tg.float32
        it = iter(loader)
        next(it)  # abandon this epoch half-way: its pending results must not leak into the next one
        again = _labels(loader)
        assert sorted(sum(again, [])) == list(range(23)) and len(again) == 6


def test_worker_info_errors_and_init_fn():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = iter(DataLoader(WorkerTagged(), batch_size=2, num_workers=2, worker_init_fn=_mark_worker,
                               timeout=120))  # the timed wait, generous enough never to fire
        batches = [[t.tolist() for t in next(it)] for _ in range(6)]
        assert [b[0] for b in batches] == [[2 * k, 2 * k + 1] for k in range(6)]  # in sampler order
        assert [b[1] for b in batches] == [[k % 2] * 2 for k in range(6)]  # tasks go round-robin
        assert [b[2] for b in batches] == [[1000 + k % 2] * 2 for k in range(6)]  # init_fn ran in each worker
        with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 0"):
            next(it)  # batch [12, 13]
        assert [t.tolist() for t in next(it)] == [[14, 15], [1, 1], [1001, 1001]]  # loading carries on
        with pytest.raises(StopIteration):
            next(it)
