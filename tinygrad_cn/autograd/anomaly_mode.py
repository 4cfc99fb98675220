"""Anomaly mode: record each node's forward stack and check backward for NaN/inf."""
from __future__ import annotations

from .grad_mode import STATE


def is_anomaly_enabled() -> bool:
    return STATE.anomaly


class detect_anomaly:
    """Context manager (or decorator) that names the forward op whose backward
    produced NaN or inf.

    Example::

        with tinygrad_cn.autograd.detect_anomaly():
            loss.backward()   # RuntimeError: Function 'DivBackward0' returned nan values ...
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self.prev = STATE.anomaly
        STATE.anomaly = self.check_nan or STATE.anomaly
        return self

    def __exit__(self, *exc):
        STATE.anomaly = self.prev
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """Turn anomaly mode on or off; usable as a call or as a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = STATE.anomaly
        STATE.anomaly = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        STATE.anomaly = self.prev
        return False
