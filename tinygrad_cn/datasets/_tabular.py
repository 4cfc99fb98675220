"""Small classic datasets embedded in the package, loadable offline: scikit-learn's copies of
UCI "Optical Recognition of Handwritten Digits" and "Breast Cancer Wisconsin (Diagnostic)".

Provenance: the arrays in ``data/*.npz`` were written by ``_generate_embedded.py`` from
``sklearn.datasets.load_digits()`` and ``load_breast_cancer()`` (scikit-learn 1.x, BSD-3-Clause),
which redistribute the UCI Machine Learning Repository data (Dua & Graff; the digits set by
E. Alpaydin and C. Kaynak, 1998; the breast-cancer set by W. H. Wolberg, W. N. Street and
O. L. Mangasarian, 1995; CC BY 4.0). The values are stored losslessly and equal scikit-learn's.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Optional, Tuple, Union

import numpy as np

from .. import creation
from ..tensor import Tensor

__all__ = ["RawDataset", "load_digits", "load_breast_cancer", "train_test_split_indices"]

_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

Split = Tuple[Tensor, Tensor, Tensor, Tensor]


@dataclass(frozen=True)
class RawDataset:
    """A dataset exactly as scikit-learn returns it (NumPy arrays, float64 features, int64 labels).

    Example::

        >>> raw = load_digits(return_raw=True)
        >>> raw.data.shape, raw.target.shape, raw.images.shape
        ((1797, 64), (1797,), (1797, 8, 8))
    """

    data: np.ndarray
    target: np.ndarray
    feature_names: Tuple[str, ...]
    target_names: np.ndarray
    descr: str
    images: Optional[np.ndarray] = None


def _load_npz(name: str) -> dict:
    path = os.path.join(_DATA_DIR, name)
    if not os.path.exists(path):
        raise RuntimeError(f"the embedded data file {path} is missing: the tinygrad_cn installation is incomplete "
                           "(package data not installed)")
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def train_test_split_indices(target: np.ndarray, test_size: Union[float, int], seed: Optional[int],
                             shuffle: bool = True, stratify: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Row indices of a train/test split, with scikit-learn's sizes: a float ``test_size`` takes
    ``ceil(test_size * n)`` rows, an int that many.

    ``stratify`` keeps each class's share in both parts (to within one sample).

    Example::

        >>> tr, te = train_test_split_indices(np.arange(10) % 2, 0.3, seed=0)
        >>> len(tr), len(te), sorted(np.concatenate([tr, te]).tolist()) == list(range(10))
        (7, 3, True)
    """
    n = len(target)
    n_test = _n_test(n, test_size)
    if not shuffle:
        if stratify:
            raise ValueError("stratify=True needs shuffle=True (as scikit-learn's train_test_split)")
        return np.arange(n - n_test), np.arange(n - n_test, n)  # scikit-learn: the test part is the tail
    order = np.random.default_rng(seed).permutation(n)
    if stratify:
        order = order[_stratified_order(target[order])]
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _n_test(n: int, test_size: Union[float, int]) -> int:
    if isinstance(test_size, (bool, np.bool_)) or not isinstance(test_size, (int, float, np.integer, np.floating)):
        raise TypeError(f"test_size should be a float in [0, 1) or an int, but got {type(test_size).__name__}")
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 <= test_size < 1.0:
            raise ValueError(f"test_size={test_size} should be a float in the [0, 1) range or an int in [0, {n})")
        return math.ceil(test_size * n)
    if not 0 <= test_size < n:
        raise ValueError(f"test_size={test_size} should be a float in the [0, 1) range or an int in [0, {n})")
    return int(test_size)


def _stratified_order(labels: np.ndarray) -> np.ndarray:
    """An order in which every prefix holds each class in proportion to its frequency.

    Sample k of a class of size m gets key (k + 0.5) / m; sorting by key interleaves the
    classes evenly, so the first n_test rows are a stratified sample of the shuffled data.
    """
    keys = np.empty(len(labels))
    for c in np.unique(labels):
        where = np.flatnonzero(labels == c)
        keys[where] = (np.arange(len(where)) + 0.5) / len(where)
    return np.argsort(keys, kind="stable")


def _as_split(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> Split:
    return (creation.from_numpy(np.ascontiguousarray(x[train])), creation.from_numpy(y[train]),
            creation.from_numpy(np.ascontiguousarray(x[test])), creation.from_numpy(y[test]))


_DIGITS_DESCR = ("Optical recognition of handwritten digits (UCI), as in scikit-learn: 1,797 images of 8x8 "
                 "pixels with values 0..16 (counts of set pixels in 4x4 blocks of 32x32 bitmaps), 10 classes.")
_CANCER_DESCR = ("Breast Cancer Wisconsin (Diagnostic) (UCI), as in scikit-learn: 569 samples, 30 real features "
                 "computed from images of fine-needle aspirates; target 0 = malignant (212), 1 = benign (357).")


def load_digits(test_size: Union[float, int] = 0.2, seed: Optional[int] = 0, *, shuffle: bool = True,
                stratify: bool = False, images: bool = False,
                return_raw: bool = False) -> Union[Split, RawDataset]:
    """The 1,797 handwritten 8x8 digits that scikit-learn ships, offline, split into train and test.

    Returns ``(x_train, y_train, x_test, y_test)``: pixels as float32 in [0, 1] (the raw
    0..16 counts divided by 16), of shape ``(n, 64)``, or ``(n, 1, 8, 8)`` with ``images=True``
    for convolutions; labels int64 in 0..9. ``test_size`` is a fraction (``ceil(frac * n)``
    test rows, as scikit-learn) or a count; ``seed`` fixes the shuffle; ``stratify`` keeps the
    class shares equal in both parts. ``return_raw=True`` returns the unsplit
    :class:`RawDataset` instead, equal to ``sklearn.datasets.load_digits()``.

    Example::

        >>> x_train, y_train, x_test, y_test = load_digits(test_size=0.2, seed=0)
        >>> tuple(x_train.shape), tuple(x_test.shape), y_train.dtype
        ((1437, 64), (360, 64), tinygrad_cn.int64)
    """
    f = _load_npz("digits.npz")
    target = f["target"].astype(np.int64)
    if return_raw:
        data = f["data"].astype(np.float64)
        return RawDataset(data=data, target=target, feature_names=tuple(f["feature_names"].tolist()),
                          target_names=f["target_names"], descr=_DIGITS_DESCR, images=data.reshape(-1, 8, 8))
    x = f["data"].astype(np.float32) / np.float32(16.0)
    if images:
        x = x.reshape(-1, 1, 8, 8)
    train, test = train_test_split_indices(target, test_size, seed, shuffle, stratify)
    return _as_split(x, target, train, test)


def load_breast_cancer(test_size: Union[float, int] = 0.2, seed: Optional[int] = 0, *, shuffle: bool = True,
                       stratify: bool = False, standardize: bool = True,
                       return_raw: bool = False) -> Union[Split, RawDataset]:
    """scikit-learn's Breast Cancer Wisconsin set (569 x 30, binary), offline, split into train and test.

    Returns ``(x_train, y_train, x_test, y_test)``: features float32, labels int64 with
    0 = malignant (212 samples) and 1 = benign (357). With ``standardize`` (the default) each
    feature is centred and scaled by the training part's mean and standard deviation (as
    scikit-learn's ``StandardScaler`` fitted on the training rows), so the test part leaks
    nothing into the scaling. ``test_size``, ``seed``, ``shuffle`` and ``stratify`` as in
    :func:`load_digits`; ``return_raw=True`` returns the unsplit float64 :class:`RawDataset`.

    Example::

        >>> x_train, y_train, x_test, y_test = load_breast_cancer(test_size=0.25, seed=1, stratify=True)
        >>> tuple(x_train.shape), tuple(x_test.shape)
        ((426, 30), (143, 30))
    """
    f = _load_npz("breast_cancer.npz")
    target = f["target"].astype(np.int64)
    if return_raw:
        return RawDataset(data=f["data"].astype(np.float64), target=target,
                          feature_names=tuple(f["feature_names"].tolist()), target_names=f["target_names"],
                          descr=_CANCER_DESCR)
    x = f["data"]
    train, test = train_test_split_indices(target, test_size, seed, shuffle, stratify)
    if standardize:
        mean = x[train].mean(axis=0)
        std = x[train].std(axis=0)
        x = (x - mean) / np.where(std > 0, std, 1.0)  # a constant column stays 0 instead of NaN
    return _as_split(x.astype(np.float32), target, train, test)
