"""What runs inside a DataLoader worker process, and what the main process needs to talk to it.

A worker receives ``(task_idx, batch_of_indices)`` on its own index queue, fetches and
collates that batch from its copy of the dataset, and puts ``(task_idx, batch)`` on the
shared result queue. ``None`` on the index queue means "exit"; a ``_ResumeIteration``
starts a new epoch for persistent workers. Everything here is importable at module level
because the spawn start method pickles the worker function by name.
"""
from __future__ import annotations

import os
import queue
import random
import sys
import traceback
from typing import Any, Callable, Optional

import numpy as np

# How often (seconds) a waiting worker checks that its parent is still alive, and a waiting
# parent checks that its workers are; short enough that a crash is reported promptly.
MP_STATUS_CHECK_INTERVAL = 1.0

_worker_info: Optional["WorkerInfo"] = None


class WorkerInfo:
    """Facts about the current DataLoader worker: ``id``, ``num_workers``, ``seed`` and its ``dataset`` copy.

    Read-only, as torch's. Obtain it with :func:`get_worker_info` inside a worker.

    Example::

        >>> info = WorkerInfo(id=0, num_workers=2, seed=7, dataset=[1, 2])
        >>> info.id, info.num_workers
        (0, 2)
    """

    __initialized = False

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key: str, val: Any) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


def get_worker_info() -> Optional[WorkerInfo]:
    """The :class:`WorkerInfo` of the DataLoader worker process we are in, or ``None`` in the main process.

    Use it in an ``IterableDataset.__iter__`` or a ``worker_init_fn`` to give each worker its own share.

    Example::

        >>> get_worker_info() is None  # in the main process
        True
    """
    return _worker_info


class _IterableDatasetStopIteration:
    """Sent by a worker whose iterable dataset is exhausted."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


class _ResumeIteration:
    """Sent to persistent workers at the start of a new epoch; they echo it back once reset."""


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process as type plus formatted traceback."""

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        exc_info = exc_info or sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        """Raise the worker's exception type again, with the worker's traceback in the message."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        try:
            exception = self.exc_type(msg)
        except Exception:
            # Exception types whose constructor needs other arguments cannot be rebuilt from a message.
            raise RuntimeError(msg) from None
        raise exception


# -- fetching one (possibly batched) index ----------------------------------------------------
def _tensor_dataset_base(dataset):
    """(TensorDataset, index map) if ``dataset`` is a TensorDataset, maybe inside plain Subsets; else None."""
    from .dataset import Subset, TensorDataset

    maps = []
    while type(dataset) is Subset:
        maps.append(dataset.indices)
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset:
        return None
    return dataset, maps


class _MapDatasetFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool) -> None:
        from ._collate import default_collate

        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        # default_collate of TensorDataset samples is [t[indices] for t in tensors]: one gather per tensor
        # instead of one Tensor per sample and field plus a stack (about 30x faster on small rows).
        self._tensor_base = _tensor_dataset_base(dataset) if auto_collation and collate_fn is default_collate \
            else None

    def _gather(self, indices):
        base, maps = self._tensor_base
        for m in maps:
            indices = [m[i] for i in indices]
        return [t[indices] for t in base.tensors]

    def fetch(self, possibly_batched_index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[possibly_batched_index])
        if self._tensor_base is not None and possibly_batched_index \
                and all(type(i) is int for i in possibly_batched_index):  # other keys: the general path
            return self._gather(list(possibly_batched_index))
        if callable(getattr(self.dataset, "__getitems__", None)):
            data = self.dataset.__getitems__(possibly_batched_index)
        else:
            data = [self.dataset[idx] for idx in possibly_batched_index]
        return self.collate_fn(data)


class _IterableDatasetFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool) -> None:
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in possibly_batched_index:  # the indices are placeholders; only their count matters
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if len(data) == 0 or (self.drop_last and len(data) < len(possibly_batched_index)):
            raise StopIteration
        return self.collate_fn(data)


def create_fetcher(is_iterable: bool, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
    cls = _IterableDatasetFetcher if is_iterable else _MapDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# -- the worker process ---------------------------------------------------------------------------
def _seed_worker(seed: int, base_seed: int, worker_id: int) -> None:
    """Seed Python's, NumPy's legacy and tinygrad_cn's generators differently in every worker."""
    from ... import manual_seed, set_num_threads

    # As torch: one kernel thread per worker, or workers and the main process oversubscribe the cores.
    set_num_threads(1)
    random.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))


def _worker_loop(is_iterable: bool, dataset, index_queue, data_queue, done_event, auto_collation: bool,
                 collate_fn: Callable, drop_last: bool, base_seed: int, init_fn: Optional[Callable],
                 worker_id: int, num_workers: int) -> None:
    global _worker_info
    try:
        seed = base_seed + worker_id
        _seed_worker(seed, base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        where = f"in DataLoader worker process {worker_id}"
        init_exception = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = create_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            # Reported with the first task, so the main process raises it where the user iterates.
            init_exception = ExceptionWrapper(where=where)

        iteration_end = False
        parent = os.getppid()
        while os.getppid() == parent:  # a worker whose parent died exits instead of lingering
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, None))
                iteration_end = False
                if is_iterable and init_exception is None:
                    fetcher = create_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue  # draining after shutdown began, or nothing left to give this epoch
            idx, index = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:
                    if isinstance(e, StopIteration) and is_iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=where)
            data_queue.put((idx, data))
            del data, idx, index, r  # drop references before blocking on the next task
    except KeyboardInterrupt:
        pass  # the main process sees it too and shuts us down
    if done_event.is_set():
        # Nobody reads any more: don't block exit flushing results into a full pipe.
        data_queue.cancel_join_thread()
        data_queue.close()
