"""Testing tools: ``assert_close`` and ``make_tensor`` as torch.testing has
them, hypothesis strategies for tensors, and one-line op tests.

``import tinygrad_cn.testing`` needs neither hypothesis nor torch. The
strategies (``shapes``, ``broadcastable_shapes``, ``float_tensors``, ...)
live in :mod:`tinygrad_cn.testing.strategies` and need hypothesis; they are
also reachable here as attributes, imported on first use. torch, when
installed, serves only as the oracle of :func:`check_op`.

Example::

    >>> from tinygrad_cn.testing import assert_close
    >>> assert_close(tinygrad_cn.tensor([1.0, 2.0]), tinygrad_cn.tensor([1.0, 2.0]))
"""
from ._comparison import assert_close, default_tolerances
from ._creation import make_tensor
from ._op_test import OpSpec, check_op, run_op_checks, torch_or_none

_STRATEGIES = ("shapes", "broadcastable_shapes", "float_tensors", "distinct_float_tensors", "float_arrays", "layouts",
               "to_layout", "LAYOUTS")

__all__ = ["require_compiled", "assert_close", "default_tolerances", "make_tensor", "OpSpec", "check_op", "run_op_checks",
           "torch_or_none", *_STRATEGIES]


def __getattr__(name: str):
    # Strategies import hypothesis, which assert_close users may not have.
    if name in _STRATEGIES:
        from . import strategies
        return getattr(strategies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def require_compiled() -> None:
    """In a test: skip unless the compiled kernels are in use, or fail when
    ``TINYGRAD_CN_REQUIRE_C=1`` (CI) says they must be."""
    import os

    import pytest

    from .. import _C
    if not _C.kernels.compiled:
        reason = "compiled extension not in use: %s" % _C.show_config(False)["reason"]
        if os.environ.get("TINYGRAD_CN_REQUIRE_C", "") not in ("", "0"):
            pytest.fail(reason)
        pytest.skip(reason)
