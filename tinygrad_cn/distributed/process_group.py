"""The default process group over MPI: set-up, tear-down, rank queries and the work handle.

Rank and world size come from MPI (``mpiexec -n N python script.py``); a plain
``python script.py`` is a world of one. A rank that dies with an uncaught
exception aborts the whole job (``MPI_Abort``) so that the other ranks never
wait forever in a collective, and every wait has a deadline (``timeout``).
"""
from __future__ import annotations

import enum
import sys
import time
import traceback
from datetime import timedelta
from typing import Callable, List, Optional

from . import _mpi

# torch's default for every backend but NCCL
default_pg_timeout = timedelta(minutes=30)


class ReduceOp(enum.Enum):
    """Reductions for ``all_reduce`` and ``reduce``, as ``torch.distributed.ReduceOp``."""
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


class Backend(str):
    """A backend name, as ``torch.distributed.Backend``: only ``"mpi"`` exists here."""
    MPI = "mpi"

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, but got: {type(name)}")
        value = name.lower()
        if value != "mpi":
            raise ValueError(f"Invalid backend: '{name}' (tinygrad_cn.distributed supports only 'mpi')")
        return str.__new__(cls, value)


class ProcessGroup:
    """A communicator and its deadline; ``rank()`` and ``size()`` as torch's ProcessGroup."""

    def __init__(self, comm, timeout: timedelta):
        self.comm = comm
        self.timeout = timeout
        self._rank = comm.Get_rank()
        self._size = comm.Get_size()

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size

    def name(self) -> str:
        return "mpi"

    def __repr__(self) -> str:
        return f"ProcessGroup(backend='mpi', rank={self._rank}, size={self._size})"


class GroupMember:
    """``GroupMember.WORLD`` is the default group once initialised (None before), as in torch."""
    WORLD: Optional[ProcessGroup] = None
    NON_GROUP_MEMBER = -100


_previous_excepthook = None


def _group(group: Optional[ProcessGroup]) -> ProcessGroup:
    if group is not None:
        return group
    if GroupMember.WORLD is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return GroupMember.WORLD


def is_available() -> bool:
    """True when the MPI backend can be used (mpi4py is installed).

    Example::

        >>> import tinygrad_cn.distributed as dist
        >>> isinstance(dist.is_available(), bool)
        True
    """
    return _mpi.available()


def is_mpi_available() -> bool:
    """True when the MPI backend can be used, as ``torch.distributed.is_mpi_available``."""
    return _mpi.available()


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return GroupMember.WORLD is not None


def init_process_group(backend: Optional[str] = None, init_method: Optional[str] = None,
                       timeout: Optional[timedelta] = None, world_size: int = -1, rank: int = -1,
                       store=None, group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the default process group; rank and world size come from MPI.

    ``timeout`` bounds every collective's wait (30 minutes by default, as torch): a rank still
    waiting past it prints which collective hung and aborts the job. ``world_size`` and ``rank``,
    when given, must agree with MPI's.

    Example::

        import tinygrad_cn.distributed as dist
        dist.init_process_group("mpi")          # under mpiexec -n 2: ranks 0 and 1
        print(dist.get_rank(), dist.get_world_size())
    """
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    Backend(backend if backend is not None else "mpi")
    if timeout is not None and not isinstance(timeout, timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {type(timeout)}")
    MPI = _mpi.mpi()
    comm = MPI.COMM_WORLD.Dup()  # our own communicator: user MPI traffic on COMM_WORLD cannot interleave
    pg = ProcessGroup(comm, timeout if timeout is not None else default_pg_timeout)
    for given, actual, what in ((world_size, pg.size(), "world_size"), (rank, pg.rank(), "rank")):
        if given not in (-1, None) and given != actual:
            comm.Free()
            raise ValueError(f"{what}={given} was given but MPI says {what}={actual}")
    GroupMember.WORLD = pg
    if pg.size() > 1:
        _install_excepthook()


def destroy_process_group(group: Optional[ProcessGroup] = None) -> None:
    """Leave the default group. MPI itself stays initialised (mpi4py finalises it at exit)."""
    global _previous_excepthook
    pg = _group(group)
    if pg is GroupMember.WORLD:
        GroupMember.WORLD = None
        if _previous_excepthook is not None:
            sys.excepthook, _previous_excepthook = _previous_excepthook, None
    pg.comm.Free()


def get_rank(group: Optional[ProcessGroup] = None) -> int:
    """This process's rank in ``group`` (the default group when None)."""
    return _group(group).rank()


def get_world_size(group: Optional[ProcessGroup] = None) -> int:
    """The number of processes in ``group`` (the default group when None)."""
    return _group(group).size()


def get_backend(group: Optional[ProcessGroup] = None) -> str:
    _group(group)
    return "mpi"


def _install_excepthook() -> None:
    """Print an uncaught exception with its rank, then MPI_Abort: the other ranks may be
    blocked in a collective this rank will never join, and would otherwise hang."""
    global _previous_excepthook
    if _previous_excepthook is not None:
        return
    _previous_excepthook = sys.excepthook

    def hook(exc_type, exc, tb):
        abort(f"uncaught {exc_type.__name__}", "".join(traceback.format_exception(exc_type, exc, tb)))

    sys.excepthook = hook


def abort(reason: str, detail: str = "") -> None:
    """Print ``reason`` (and ``detail``) prefixed with this rank, then end every rank of the job."""
    MPI = _mpi.mpi()
    pg = GroupMember.WORLD
    r, n = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
    lines = [f"[rank {r}] {line}" for line in detail.rstrip("\n").splitlines()] if detail else []
    lines.append(f"[rank {r}] tinygrad_cn.distributed: {reason} on rank {r}; aborting all {n} ranks")
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    (pg.comm if pg is not None else MPI.COMM_WORLD).Abort(1)


def _wait_requests(requests: list, timeout: Optional[timedelta], what: str) -> None:
    """Complete ``requests``; past ``timeout`` print what hung and abort the job.

    Polls ``Testall`` because MPI's own Wait has no deadline. It spins, as MPI's Wait does,
    and never naps: a reduction larger than the eager limit needs several handshakes that
    only progress inside MPI calls, so a napping rank stalls the others, which then nap in
    turn (naps of up to 1 ms after 50 ms of waiting made 250 bucketed all-reduces 12x slower).
    """
    MPI = _mpi.mpi()
    if not requests:
        return
    if timeout is None:
        MPI.Request.Waitall(requests)
        return
    deadline = time.monotonic() + timeout.total_seconds()
    testall = MPI.Request.Testall
    while not testall(requests):
        for _ in range(64):  # read the clock now and then only
            if testall(requests):
                return
        if time.monotonic() > deadline:
            abort(f"{what} timed out after {timeout.total_seconds():g} s (timeout={timeout!r}) "
                  f"waiting for the other ranks")


class Work:
    """The handle of an ``async_op=True`` collective, as torch's ``Work``.

    ``wait()`` blocks until the result is in the output tensors (copying out of a
    contiguous staging buffer when needed); ``is_completed()`` polls without blocking.

    Example::

        work = dist.all_reduce(t, async_op=True)
        ...                      # compute while the reduction runs
        work.wait()              # t now holds the sum over ranks
    """

    def __init__(self, requests: list, finish: Optional[Callable[[], None]], group: ProcessGroup, what: str):
        self._requests: List = [r for r in requests if r is not None]
        self._finish = finish
        self._group = group
        self._what = what
        self._done = False

    def _complete(self) -> None:
        self._done = True
        finish, self._finish = self._finish, None
        if finish is not None:
            finish()

    def wait(self, timeout: Optional[timedelta] = None) -> bool:
        """Block until done (the group's timeout applies unless ``timeout`` is given); returns True."""
        if not self._done:
            _wait_requests(self._requests, timeout if timeout is not None else self._group.timeout, self._what)
            self._complete()
        return True

    def is_completed(self) -> bool:
        """True once the collective finished; copies the result out when it just did."""
        if not self._done and (not self._requests or _mpi.mpi().Request.Testall(self._requests)):
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def result(self) -> list:
        self.wait()
        return []

    def __repr__(self) -> str:
        return f"Work({self._what}, completed={self._done})"
