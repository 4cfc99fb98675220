"""Ready-made datasets: small classic tables embedded in the package (offline) and MNIST from IDX files.

- :func:`load_digits` -- scikit-learn's 1,797 8x8 handwritten digits, 10 classes;
- :func:`load_breast_cancer` -- scikit-learn's Breast Cancer Wisconsin, 569 x 30, 2 classes;
- :class:`MNIST` -- torchvision-style dataset over the standard IDX files (optional download).

Example::

    >>> from tinygrad_cn.datasets import load_digits
    >>> from tinygrad_cn.utils.data import DataLoader, TensorDataset
    >>> x_train, y_train, x_test, y_test = load_digits(test_size=0.2, seed=0)
    >>> loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    >>> len(loader)
    23
"""
from ._tabular import RawDataset, load_breast_cancer, load_digits, train_test_split_indices
from .mnist import MNIST, read_idx

__all__ = ["MNIST", "RawDataset", "load_breast_cancer", "load_digits", "read_idx", "train_test_split_indices"]
