"""The only module that touches mpi4py: its lazy import and the dtype and op tables.

Importing ``mpi4py.MPI`` calls ``MPI_Init``, so it happens in ``init_process_group``,
never at ``import tinygrad_cn``.
"""
from __future__ import annotations

import numpy as np

_MISSING = ("the 'mpi' backend needs mpi4py and an MPI library: pip install 'tinygrad_cn[distributed]' "
            "(installs mpi4py and mpich), or pip install mpi4py on top of a system MPI")


def available() -> bool:
    """True when mpi4py can be imported (without initialising MPI)."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def mpi():
    """The ``mpi4py.MPI`` module (initialises MPI on first use); RuntimeError when missing."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(_MISSING) from e
    return MPI


def reduce_dtype(npd: np.dtype) -> np.dtype:
    """The dtype a reduction runs in: MPI has no float16 arithmetic, so half is reduced in float32."""
    return np.dtype(np.float32) if npd == np.float16 else npd


def mpi_type(npd: np.dtype):
    """The MPI datatype of a NumPy dtype the framework has (bool as C_BOOL)."""
    MPI = mpi()
    table = {np.dtype(np.float32): MPI.FLOAT, np.dtype(np.float64): MPI.DOUBLE,
             np.dtype(np.int64): MPI.INT64_T, np.dtype(np.int32): MPI.INT32_T, np.dtype(np.int16): MPI.INT16_T,
             np.dtype(np.int8): MPI.INT8_T, np.dtype(np.uint8): MPI.UINT8_T, np.dtype(np.bool_): MPI.C_BOOL}
    try:
        return table[np.dtype(npd)]
    except KeyError:
        raise TypeError(f"no MPI datatype for {npd}") from None


def mpi_op(op, npd: np.dtype):
    """The MPI reduction for a ``ReduceOp`` on ``npd``. AVG is a SUM divided afterwards; on bool,
    SUM/AVG/MAX are logical or and PRODUCT/MIN logical and (as NCCL does)."""
    MPI = mpi()
    name = op.name
    if np.dtype(npd) == np.bool_:
        return MPI.LOR if name in ("SUM", "AVG", "MAX") else MPI.LAND
    return {"SUM": MPI.SUM, "AVG": MPI.SUM, "PRODUCT": MPI.PROD, "MAX": MPI.MAX, "MIN": MPI.MIN}[name]
