"""Grad mode: whether ops record the graph. Thread-local, as in torch."""
from __future__ import annotations

import functools
import inspect
import threading


class _State(threading.local):
    def __init__(self):
        self.enabled = True
        self.inference = False
        self.anomaly = False


STATE = _State()


def is_grad_enabled() -> bool:
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _DecoratorContextManager:
    """A context manager that also decorates functions and generator functions
    (``@no_grad()`` and, as torch 2 allows, ``@no_grad``)."""

    def clone(self):
        return self.__class__()

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper

    def _wrap_generator(self, fn):
        # Each resume of the generator runs inside the context, not just its creation.
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            gen = fn(*args, **kwargs)
            try:
                with self.clone():
                    request = gen.send(None)
                while True:
                    try:
                        response = yield request
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as e:
                        with self.clone():
                            request = gen.throw(e)
                    else:
                        with self.clone():
                            request = gen.send(response)
            except StopIteration as e:
                return e.value
        return wrapper


class _SwitchMode(_DecoratorContextManager):
    """Sets grad mode to ``_mode`` for the block; usable bare as a decorator."""

    _mode = False

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)

    def __enter__(self):
        self.prev = STATE.enabled
        STATE.enabled = self._mode

    def __exit__(self, *exc):
        STATE.enabled = self.prev
        return False


class no_grad(_SwitchMode):
    """Disable graph recording inside the block (or the decorated function).

    Example::

        with tinygrad_cn.no_grad():
            w -= lr * w.grad
    """

    _mode = False


class enable_grad(_SwitchMode):
    """Enable graph recording inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_DecoratorContextManager):
    """Enable or disable recording; takes effect at once, as in torch.

    Example::

        with tinygrad_cn.set_grad_enabled(False):
            y = x * 2          # y.requires_grad is False
    """

    def __init__(self, mode: bool):
        self.prev = STATE.enabled
        self.mode = bool(mode)
        STATE.enabled = self.mode

    def __call__(self, fn):
        STATE.enabled = self.prev  # used as a decorator: undo the switch made by __init__
        return super().__call__(fn)

    def clone(self):
        return self.__class__(self.mode)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        STATE.enabled = self.prev
        return False


class inference_mode(_DecoratorContextManager):
    """Like ``no_grad``; tensors made inside report ``is_inference()``."""

    def __new__(cls, mode=True):
        if callable(mode):  # bare @inference_mode
            return cls(True)(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def clone(self):
        return self.__class__(self.mode)

    def __enter__(self):
        self.prev = (STATE.enabled, STATE.inference)
        if self.mode:
            STATE.enabled, STATE.inference = False, True

    def __exit__(self, *exc):
        STATE.enabled, STATE.inference = self.prev
        return False
