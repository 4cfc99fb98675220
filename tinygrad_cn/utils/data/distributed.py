"""``DistributedSampler``: each rank's share of a dataset, as ``torch.utils.data.distributed``."""
from __future__ import annotations

import math
from typing import Iterator, Optional, TypeVar

from ... import creation
from ...creation import Generator
from .dataset import Dataset
from .sampler import Sampler

__all__ = ["DistributedSampler"]

_T_co = TypeVar("_T_co", covariant=True)


class DistributedSampler(Sampler[_T_co]):
    """Indices of the ``rank``-th of ``num_replicas`` equal shares of ``dataset``.

    Every rank gets ``num_samples`` indices: without ``drop_last`` the index list is padded by
    repeating it from the start until it divides evenly, with ``drop_last`` its tail is cut.
    With ``shuffle`` the order is a permutation drawn from ``seed + epoch``, the same on every
    rank; call ``set_epoch(epoch)`` before each epoch for a new order. ``num_replicas`` and
    ``rank`` default to the default process group's.

    Example::

        >>> s = DistributedSampler(range(10), num_replicas=3, rank=0, shuffle=False)
        >>> list(s), len(s)
        ([0, 3, 6, 9], 4)
        >>> s.set_epoch(1)
    """

    def __init__(self, dataset: Dataset, num_replicas: Optional[int] = None, rank: Optional[int] = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist
            if not (dist.is_available() and dist.is_initialized()):
                raise RuntimeError("Requires distributed package to be available")
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(self.dataset)  # type: ignore[arg-type]
        if self.drop_last and n % self.num_replicas != 0:
            # the tail that would not divide evenly is dropped, so no rank sees a repeated sample
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[_T_co]:
        n = len(self.dataset)  # type: ignore[arg-type]
        if self.shuffle:
            g = Generator()
            g.manual_seed(self.seed + self.epoch)  # the same permutation on every rank
            indices = creation.randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        assert len(indices) == self.total_size
        indices = indices[self.rank:self.total_size:self.num_replicas]
        assert len(indices) == self.num_samples
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which (with ``seed``) fixes the shuffled order; call before each epoch."""
        self.epoch = epoch
