"""tinygrad_cn.datasets: the embedded scikit-learn tables (offline, exact, split as documented)
and MNIST over IDX files that the tests write themselves (no network)."""
import gzip
import hashlib
import os
import pathlib
import sys

import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.datasets import MNIST, load_breast_cancer, load_digits, read_idx, train_test_split_indices
from tinygrad_cn.utils.data import DataLoader

DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


# -- embedded tables ------------------------------------------------------------------------------------
def test_digits_load_offline_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # any `import sklearn` now fails
    x_train, y_train, x_test, y_test = load_digits()
    assert x_train.shape == (1437, 64) and x_test.shape == (360, 64)  # test part: ceil(0.2 * 1797)
    assert x_train.dtype == tg.float32 and y_train.dtype == tg.int64
    x = np.concatenate([x_train.numpy(), x_test.numpy()])
    y = np.concatenate([y_train.numpy(), y_test.numpy()])
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.array_equal(np.unique(x * 16), np.arange(17))  # the 0..16 counts, scaled
    assert np.bincount(y).tolist() == DIGIT_COUNTS


def test_digits_split_is_the_documented_one():
    raw = load_digits(return_raw=True)
    assert raw.data.shape == (1797, 64) and raw.data.dtype == np.float64 and raw.images.shape == (1797, 8, 8)
    assert raw.target.dtype == np.int64 and raw.target_names.tolist() == list(range(10))
    assert raw.feature_names[:2] == ("pixel_0_0", "pixel_0_1") and len(raw.feature_names) == 64
    train, test = train_test_split_indices(raw.target, 0.25, seed=3)
    x_train, y_train, x_test, y_test = load_digits(test_size=0.25, seed=3, images=True)
    assert x_train.shape == (len(train), 1, 8, 8)
    np.testing.assert_array_equal(x_test.numpy(), (raw.images[test] / 16).astype(np.float32)[:, None])
    np.testing.assert_array_equal(y_train.numpy(), raw.target[train])


def test_split_options():
    a = load_digits(seed=1)
    b = load_digits(seed=1)
    c = load_digits(seed=2)
    assert all(np.array_equal(p.numpy(), q.numpy()) for p, q in zip(a, b))
    assert not np.array_equal(a[1].numpy(), c[1].numpy())
    x_train, _, x_test, _ = load_digits(test_size=100)
    assert x_train.shape[0] == 1697 and x_test.shape[0] == 100
    x_train, _, x_test, _ = load_digits(test_size=0.0)
    assert x_train.shape == (1797, 64) and x_test.shape == (0, 64)
    _, y_train, _, _ = load_digits(test_size=0.5, shuffle=False)
    assert y_train.numpy().tolist() == load_digits(return_raw=True).target[:898].tolist()
    for bad in (1.0, -0.1, 1797, -1):
        with pytest.raises(ValueError, match="test_size"):
            load_digits(test_size=bad)
    with pytest.raises(TypeError, match="test_size"):
        load_digits(test_size="0.2")


def test_stratified_split_keeps_class_shares():
    _, y_train, _, y_test = load_breast_cancer(test_size=0.25, seed=1, stratify=True)
    assert y_test.shape == (143,)  # ceil(0.25 * 569)
    test_counts = np.bincount(y_test.numpy(), minlength=2)
    expected = np.array([212, 357]) * 143 / 569
    assert np.all(np.abs(test_counts - expected) <= 1)
    _, _, _, y_test = load_digits(test_size=0.3, seed=4, stratify=True)
    expected = np.array(DIGIT_COUNTS) * 540 / 1797
    assert np.all(np.abs(np.bincount(y_test.numpy()) - expected) <= 1)


def test_breast_cancer():
    x_train, y_train, x_test, y_test = load_breast_cancer()
    assert x_train.shape == (455, 30) and x_test.shape == (114, 30)
    assert x_train.dtype == tg.float32 and y_test.dtype == tg.int64
    y = np.concatenate([y_train.numpy(), y_test.numpy()])
    assert np.bincount(y).tolist() == [212, 357]
    # Standardised with the training rows' statistics only.
    np.testing.assert_allclose(x_train.numpy().mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(x_train.numpy().std(0), 1, atol=1e-4)
    assert np.abs(x_test.numpy().mean(0)).max() > 1e-3
    raw = load_breast_cancer(return_raw=True)
    assert raw.data.shape == (569, 30) and raw.target_names.tolist() == ["malignant", "benign"]
    assert raw.feature_names[0] == "mean radius" and raw.data.min() >= 0
    x_train, *_ = load_breast_cancer(standardize=False, shuffle=False, test_size=0.1)
    np.testing.assert_array_equal(x_train.numpy(), raw.data[:512].astype(np.float32))


def test_embedded_tables_equal_scikit_learn():
    datasets = pytest.importorskip("sklearn.datasets")
    for ours, theirs in ((load_digits(return_raw=True), datasets.load_digits()),
                         (load_breast_cancer(return_raw=True), datasets.load_breast_cancer())):
        np.testing.assert_array_equal(ours.data, theirs.data)
        np.testing.assert_array_equal(ours.target, theirs.target)
        assert list(ours.feature_names) == list(theirs.feature_names)
        assert ours.target_names.tolist() == theirs.target_names.tolist()


def test_data_files_are_inside_the_package():
    import tinygrad_cn.datasets as ds

    data_dir = pathlib.Path(ds.__file__).parent / "data"
    assert sorted(p.name for p in data_dir.glob("*.npz")) == ["breast_cancer.npz", "digits.npz"]


def test_digits_train_through_the_data_loader():
    x_train, y_train, _, _ = load_digits()
    loader = DataLoader(tg.utils.data.TensorDataset(x_train, y_train), batch_size=64, shuffle=True,
                        generator=tg.Generator().manual_seed(0))
    assert len(loader) == 23
    x, y = next(iter(loader))
    assert x.shape == (64, 64) and y.shape == (64,) and y.dtype == tg.int64


# -- IDX / MNIST -------------------------------------------------------------------------------------------
_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
          np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    """An IDX file's bytes: magic 00 00 <type> <ndim>, big-endian uint32 dims, big-endian data."""
    big = arr.astype(arr.dtype.newbyteorder(">")) if arr.dtype.itemsize > 1 else arr
    header = bytes([0, 0, _CODES[big.dtype], arr.ndim]) + np.array(arr.shape, dtype=">u4").tobytes()
    return header + big.tobytes()


def write_idx(path, arr, gz=False) -> str:
    data = idx_bytes(arr)
    path = str(path) + (".gz" if gz else "")
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)
    return path


def fake_mnist(directory, n_train=12, n_test=5, gz=False, seed=0):
    """Write the four MNIST files with random 28x28 images; returns the arrays written."""
    rng = np.random.default_rng(seed)
    os.makedirs(directory, exist_ok=True)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte"), images, gz)
        write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte"), labels, gz)
        out[prefix] = (images, labels)
    return out


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_round_trips_every_type(tmp_path, dtype):
    arr = (np.arange(24) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for gz in (False, True):
        got = read_idx(write_idx(tmp_path / f"a{gz}", arr, gz))
        assert got.dtype == np.dtype(dtype) and got.shape == (2, 3, 4) and np.array_equal(got, arr)


@pytest.mark.parametrize("gz,layout", [(False, "torchvision"), (True, "torchvision"), (False, "flat"),
                                       (True, "flat")])
def test_mnist_reads_idx_files(tmp_path, gz, layout):
    raw_dir = tmp_path / "MNIST" / "raw" if layout == "torchvision" else tmp_path
    arrays = fake_mnist(raw_dir, gz=gz)
    for train, prefix in ((True, "train"), (False, "t10k")):
        ds = MNIST(tmp_path, train=train)
        images, labels = arrays[prefix]
        assert len(ds) == len(labels)
        assert ds.data.dtype == tg.uint8 and ds.data.shape == images.shape
        assert ds.targets.dtype == tg.int64 and ds.targets.tolist() == labels.tolist()
        img, label = ds[3]
        assert isinstance(label, int) and label == labels[3]
        assert img.dtype == tg.uint8 and np.array_equal(img.numpy(), images[3])


def test_mnist_transforms_and_loader(tmp_path):
    fake_mnist(tmp_path / "MNIST" / "raw")
    ds = MNIST(str(tmp_path), train=True, transform=lambda x: x.float().div(255).unsqueeze(0),
               target_transform=lambda y: y + 100)
    img, label = ds[0]
    assert img.shape == (1, 28, 28) and img.dtype == tg.float32 and 0 <= img.min().item() <= img.max().item() <= 1
    assert label >= 100
    x, y = next(iter(DataLoader(ds, batch_size=5)))
    assert x.shape == (5, 1, 28, 28) and y.dtype == tg.int64
    assert "Number of datapoints: 12" in repr(ds) and "Split: Train" in repr(ds)
    assert ds.class_to_idx["7 - seven"] == 7


def test_mnist_missing_files_name_the_files_and_directories(tmp_path):
    with pytest.raises(RuntimeError) as e:
        MNIST(tmp_path, train=False)
    msg = str(e.value)
    assert "t10k-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg
    assert str(tmp_path / "MNIST" / "raw") in msg and "download=True" in msg
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte .*not found"):
        MNIST(tmp_path, train=False)


def test_corrupt_idx_files_raise_clear_errors(tmp_path):
    fake_mnist(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte"
    good = images.read_bytes()
    images.write_bytes(b"\x00\x01" + good[2:])
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte is not an IDX file: bad magic number"):
        MNIST(tmp_path)
    images.write_bytes(good[:-10])
    with pytest.raises(RuntimeError, match=r"is truncated: shape \(12, 28, 28\) of uint8 needs 9408 bytes of data, "
                                           r"found 9398"):
        MNIST(tmp_path)
    images.write_bytes(good[:10])
    with pytest.raises(RuntimeError, match="is truncated: 10 bytes, but its header alone needs 16"):
        MNIST(tmp_path)
    images.write_bytes(b"")
    with pytest.raises(RuntimeError, match="not an IDX file"):
        MNIST(tmp_path)
    images.write_bytes(good + b"\x00")
    with pytest.raises(RuntimeError, match="longer than its header says"):
        MNIST(tmp_path)
    images.unlink()
    gz = write_idx(images, np.zeros((12, 28, 28), np.uint8), gz=True)
    with open(gz, "r+b") as f:
        f.truncate(os.path.getsize(gz) // 2)
    with pytest.raises(RuntimeError, match="corrupt or truncated gzip"):
        MNIST(tmp_path)


def test_inconsistent_mnist_files(tmp_path):
    fake_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(11, np.uint8))
    with pytest.raises(RuntimeError, match="holds 12 images but .* holds 11 labels"):
        MNIST(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((12, 1), np.uint8))
    with pytest.raises(RuntimeError, match=r"expected uint8 labels of 1 dim, got uint8 of shape \(12, 1\)"):
        MNIST(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((12, 784), np.int32))
    with pytest.raises(RuntimeError, match="expected uint8 images of 3 dims"):
        MNIST(tmp_path)


def _mirror(tmp_path, name, seed):
    """A directory of the four gzipped files, usable as a file:// mirror; returns (url, {file: md5})."""
    directory = tmp_path / name
    fake_mnist(directory, gz=True, seed=seed)
    md5 = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in directory.iterdir()}
    return directory.as_uri() + "/", md5


def test_mnist_download_tries_mirrors_and_checks_md5(tmp_path):
    good_url, md5 = _mirror(tmp_path, "good", seed=1)
    bad_url, _ = _mirror(tmp_path, "bad", seed=2)  # same names, different content

    class Offline(MNIST):
        mirrors = [(tmp_path / "absent").as_uri() + "/", bad_url, good_url]
        resources = [(name, md5[name]) for name, _ in MNIST.resources]

    root = tmp_path / "root"
    ds = Offline(root, train=False, download=True)
    raw = root / "Offline" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(md5)  # nothing else (no .part files) left
    assert ds.targets.tolist() == read_idx(str(tmp_path / "good" / "t10k-labels-idx1-ubyte.gz")).tolist()

    class Corrupt(MNIST):
        mirrors = [bad_url]
        resources = [(name, md5[name]) for name, _ in MNIST.resources]

    with pytest.raises(RuntimeError, match="(?s)Error downloading train-images-idx3-ubyte.gz.*/bad/train-images-idx3-ubyte.gz: MD5 mismatch"):
        Corrupt(tmp_path / "root2", download=True)
    assert list((tmp_path / "root2" / "Corrupt" / "raw").iterdir()) == []
