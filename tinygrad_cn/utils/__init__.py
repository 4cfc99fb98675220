"""Utilities, as ``torch.utils``: ``utils.data`` holds datasets, samplers and the DataLoader.

Example::

    >>> import tinygrad_cn as torch
    >>> from tinygrad_cn.utils.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(torch.arange(6.0).reshape(3, 2), torch.tensor([0, 1, 0]))
    >>> [y.tolist() for _, y in DataLoader(ds, batch_size=2)]
    [[0, 1], [0]]
"""
from . import data

__all__ = ["data"]
