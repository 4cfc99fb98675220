"""MNIST from the standard IDX files, as ``torchvision.datasets.MNIST`` (without PIL).

The four files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each plain or ``.gz``) are looked for in ``root/MNIST/raw`` (where
torchvision and ``download=True`` put them) and then in ``root`` itself.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
import urllib.request
import zlib
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np

from .. import creation
from ..utils.data.dataset import Dataset

__all__ = ["MNIST", "read_idx"]

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtypes.
_IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path: str) -> bytes:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise RuntimeError(f"cannot read {path}: {e} (corrupt or truncated gzip file?)") from e


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (``.gz`` or not) into a native-endian NumPy array of its declared type and shape.

    Raises RuntimeError naming the file on a bad magic number or a size that does not match the header.

    Example::

        >>> images = read_idx("MNIST/raw/t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
        >>> images.shape, images.dtype  # doctest: +SKIP
        ((10000, 28, 28), dtype('uint8'))
    """
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise RuntimeError(f"{path} is not an IDX file: bad magic number {raw[:4].hex() or '(empty file)'} "
                           "(expected 0x0000 followed by a type code 08/09/0b/0c/0d/0e and the number of dims)")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise RuntimeError(f"{path} is truncated: {len(raw)} bytes, but its header alone needs {header}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        raise RuntimeError(f"{path} is {what}: shape {shape} of {dtype.name} needs {expected} bytes of data, "
                           f"found {found}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _md5(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()  # integrity against the published checksums, not security
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _download_checked(url: str, dest: str, md5: Optional[str], timeout: float = 60.0) -> None:
    """Fetch ``url`` to ``dest`` through a temporary file; keep it only if its MD5 matches."""
    part = dest + ".part"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        if md5 is not None:
            got = _md5(part)
            if got != md5:
                raise RuntimeError(f"MD5 mismatch: expected {md5}, got {got}")
        os.replace(part, dest)
    finally:
        if os.path.exists(part):
            os.remove(part)


class MNIST(Dataset):
    """The MNIST handwritten digits (60,000 training and 10,000 test images of 28x28), as torchvision's.

    ``dataset[i]`` is ``(image, label)``: the image a uint8 tensor of shape (28, 28) passed
    through ``transform`` (e.g. ``lambda x: x.float().div(255).unsqueeze(0)``), the label an
    ``int`` passed through ``target_transform``. ``.data`` is the uint8 (N, 28, 28) tensor and
    ``.targets`` the int64 (N,) tensor. With ``download=True`` missing files are fetched into
    ``root/MNIST/raw`` from :attr:`mirrors` and checked against their MD5s; without it, missing
    files raise RuntimeError naming the expected files and directories.

    Example::

        >>> ds = MNIST("~/data", train=False)  # doctest: +SKIP
        >>> img, label = ds[0]  # doctest: +SKIP
        >>> tuple(img.shape), img.dtype, label, len(ds)  # doctest: +SKIP
        ((28, 28), tinygrad_cn.uint8, 7, 10000)
    """

    mirrors: List[str] = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ]
    resources: List[Tuple[str, str]] = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root: Union[str, os.PathLike], train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None, download: bool = False) -> None:
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if download:
            self.download()
        self.data, self.targets = self._load_data()

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def class_to_idx(self) -> dict:
        return {name: i for i, name in enumerate(self.classes)}

    def _file_names(self) -> Tuple[str, str]:
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _search_dirs(self) -> List[str]:
        return [self.raw_folder, self.root]

    def _find(self, name: str) -> Optional[str]:
        for d in self._search_dirs():
            for candidate in (name, name + ".gz"):
                path = os.path.join(d, candidate)
                if os.path.isfile(path):
                    return path
        return None

    def _check_exists(self) -> bool:
        # Both splits, as torchvision: download() fetches all four files at once.
        names = [n[:-3] if n.endswith(".gz") else n for n, _ in self.resources]
        return all(self._find(n) is not None for n in names)

    def _load_data(self):
        image_name, label_name = self._file_names()
        image_path, label_path = self._find(image_name), self._find(label_name)
        if image_path is None or label_path is None:
            missing = [n for n, p in ((image_name, image_path), (label_name, label_path)) if p is None]
            raise RuntimeError(f"Dataset not found: {' and '.join(missing)} (or the same with .gz) not found in "
                               f"{' or '.join(self._search_dirs())}. You can use download=True to download it.")
        images, labels = read_idx(image_path), read_idx(label_path)
        if images.dtype != np.uint8 or images.ndim != 3:
            raise RuntimeError(f"{image_path}: expected uint8 images of 3 dims (N, rows, cols), "
                               f"got {images.dtype} of shape {images.shape}")
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise RuntimeError(f"{label_path}: expected uint8 labels of 1 dim, got {labels.dtype} of shape "
                               f"{labels.shape}")
        if len(images) != len(labels):
            raise RuntimeError(f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} "
                               "labels")
        return creation.from_numpy(images), creation.from_numpy(labels.astype(np.int64))

    def download(self) -> None:
        """Fetch the missing files into :attr:`raw_folder`, trying each mirror in turn and checking MD5s."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            if self._find(filename[:-3] if filename.endswith(".gz") else filename) is not None:
                continue
            errors = []
            for mirror in self.mirrors:
                url = f"{mirror}{filename}"
                try:
                    _download_checked(url, os.path.join(self.raw_folder, filename), md5)
                    break
                except (urllib.error.URLError, OSError, RuntimeError) as e:
                    errors.append(f"  {url}: {e}")
            else:
                raise RuntimeError(f"Error downloading {filename}; tried:\n" + "\n".join(errors))

    def __getitem__(self, index: int) -> Tuple[Any, Any]:
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"

    def __repr__(self) -> str:
        lines = [f"Number of datapoints: {len(self)}", f"Root location: {self.root}", self.extra_repr()]
        if self.transform is not None:
            lines.append(f"Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"Target transform: {self.target_transform!r}")
        return "\n".join([f"Dataset {self.__class__.__name__}"] + ["    " + line for line in lines])
