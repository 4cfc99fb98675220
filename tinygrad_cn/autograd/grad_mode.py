"""Grad mode: whether ops record the graph. Thread-local, as in torch."""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    def __init__(self):
        self.enabled = True
        self.inference = False
        self.anomaly = False
        self.anomaly_check_nan = True


STATE = _State()


def is_grad_enabled() -> bool:
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _DecoratorContextManager:
    """A context manager that also works as a decorator (``@no_grad()``)."""

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args):
                return fn(*args, **kwargs)
        return wrapper

    _args: tuple = ()


class set_grad_enabled(_DecoratorContextManager):
    """Enable or disable recording; takes effect at once, as in torch.

    Example::

        with tinygrad_cn.set_grad_enabled(False):
            y = x * 2          # y.requires_grad is False
    """

    def __init__(self, mode: bool):
        self._args = (mode,)
        self.prev = STATE.enabled
        STATE.enabled = bool(mode)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        STATE.enabled = self.prev
        return False


class no_grad(_DecoratorContextManager):
    """Disable graph recording inside the block (or the decorated function)."""

    def __enter__(self):
        self.prev = STATE.enabled
        STATE.enabled = False

    def __exit__(self, *exc):
        STATE.enabled = self.prev
        return False


class enable_grad(_DecoratorContextManager):
    """Enable graph recording inside a ``no_grad`` block."""

    def __enter__(self):
        self.prev = STATE.enabled
        STATE.enabled = True

    def __exit__(self, *exc):
        STATE.enabled = self.prev
        return False


class inference_mode(_DecoratorContextManager):
    """Like ``no_grad``; tensors made inside report ``is_inference()``."""

    def __init__(self, mode: bool = True):
        self._args = (mode,)
        self.mode = bool(mode)

    def __call__(self, fn=None):
        if fn is None:  # torch allows @inference_mode() and @inference_mode
            return self
        return super().__call__(fn)

    def __enter__(self):
        self.prev = (STATE.enabled, STATE.inference)
        if self.mode:
            STATE.enabled, STATE.inference = False, True

    def __exit__(self, *exc):
        STATE.enabled, STATE.inference = self.prev
        return False
