"""Data loading, as ``torch.utils.data``: datasets, samplers, collation and the ``DataLoader``.

Example::

    >>> import tinygrad_cn as torch
    >>> from tinygrad_cn.utils.data import DataLoader, TensorDataset, random_split
    >>> ds = TensorDataset(torch.randn(100, 4), torch.randint(0, 3, (100,)))
    >>> train, val = random_split(ds, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
    >>> x, y = next(iter(DataLoader(train, batch_size=16, shuffle=True)))
    >>> tuple(x.shape), y.dtype
    ((16, 4), tinygrad_cn.int64)
"""
from ._collate import default_collate, default_convert
from ._worker import WorkerInfo, get_worker_info
from .dataloader import DataLoader
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset,
                      random_split)
from .distributed import DistributedSampler
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
           "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset", "SubsetRandomSampler",
           "TensorDataset", "WeightedRandomSampler", "WorkerInfo", "default_collate", "default_convert",
           "get_worker_info", "random_split"]
