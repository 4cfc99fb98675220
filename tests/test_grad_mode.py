"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode.

Each as a context manager and as a decorator; state restored on exceptions;
thread-local (one thread's mode does not leak into another).
"""
import threading

import numpy as np
import pytest

import tinygrad_cn as torch


def leaf():
    return torch.tensor([1.0, 2.0], requires_grad=True)


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    yield
    leaked = not torch.is_grad_enabled()
    torch.set_grad_enabled(True)  # so one failure does not cascade into the next tests
    assert not leaked, "the test left grad mode disabled"


# --------------------------------------------------------------------------
# no_grad
# --------------------------------------------------------------------------
def test_no_grad_context_manager():
    x = leaf()
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        y = x * 2
    assert torch.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    z = x * 2
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_keeps_leaf_requires_grad_flag():
    with torch.no_grad():
        x = torch.ones(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf


def test_no_grad_decorator_with_parentheses():
    x = leaf()

    @torch.no_grad()
    def f(t):
        assert not torch.is_grad_enabled()
        return t * 2

    y = f(x)
    assert not y.requires_grad
    assert torch.is_grad_enabled()
    assert f.__name__ == "f"


def test_no_grad_decorator_without_parentheses():
    x = leaf()

    @torch.no_grad
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert torch.is_grad_enabled()


def test_no_grad_decorated_method():
    class M:
        def __init__(self):
            self.w = leaf()

        @torch.no_grad()
        def predict(self, x):
            return self.w * x

    out = M().predict(3.0)
    assert not out.requires_grad


def test_no_grad_decorator_reusable_and_reentrant():
    x = leaf()

    @torch.no_grad()
    def f(t, depth):
        if depth:
            return f(t, depth - 1)
        return t * 2

    assert not f(x, 3).requires_grad
    assert not f(x, 0).requires_grad
    assert torch.is_grad_enabled()


def test_no_grad_decorated_generator():
    x = leaf()

    @torch.no_grad()
    def gen():
        for _ in range(2):
            yield x * 2, torch.is_grad_enabled()

    results = list(gen())
    assert all(not y.requires_grad and not enabled for y, enabled in results)
    assert torch.is_grad_enabled()


def test_no_grad_restores_on_exception():
    with pytest.raises(ValueError):
        with torch.no_grad():
            raise ValueError("boom")
    assert torch.is_grad_enabled()

    @torch.no_grad()
    def f():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        f()
    assert torch.is_grad_enabled()


def test_sgd_update_pattern_under_no_grad():
    w = leaf()
    (w * w).sum().backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
    assert w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6], rtol=1e-6)


# --------------------------------------------------------------------------
# enable_grad
# --------------------------------------------------------------------------
def test_enable_grad_inside_no_grad():
    x = leaf()
    with torch.no_grad():
        with torch.enable_grad():
            assert torch.is_grad_enabled()
            y = x * 2
        assert not torch.is_grad_enabled()
        z = x * 2
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad


def test_enable_grad_decorator():
    x = leaf()

    @torch.enable_grad()
    def f(t):
        return t * 2

    @torch.enable_grad
    def g(t):
        return t * 3

    with torch.no_grad():
        y = f(x)
        z = g(x)
        assert not torch.is_grad_enabled()
    assert y.requires_grad and z.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


# --------------------------------------------------------------------------
# set_grad_enabled
# --------------------------------------------------------------------------
@pytest.mark.parametrize("mode", [True, False])
def test_set_grad_enabled_context_manager(mode):
    x = leaf()
    with torch.set_grad_enabled(mode):
        assert torch.is_grad_enabled() is mode
        y = x * 2
    assert torch.is_grad_enabled()
    assert y.requires_grad is mode


def test_set_grad_enabled_as_function_call():
    x = leaf()
    try:
        torch.set_grad_enabled(False)
        assert not torch.is_grad_enabled()
        assert not (x * 2).requires_grad
        torch.set_grad_enabled(True)
        assert (x * 2).requires_grad
    finally:
        torch.set_grad_enabled(True)


def test_set_grad_enabled_decorator():
    x = leaf()

    @torch.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert torch.is_grad_enabled()
    assert not f(x).requires_grad
    assert torch.is_grad_enabled()
    assert not f(x).requires_grad  # the decorator works on every call


def test_set_grad_enabled_true_inside_no_grad():
    x = leaf()
    with torch.no_grad():
        with torch.set_grad_enabled(True):
            y = x * 2
        assert not torch.is_grad_enabled()
    assert y.requires_grad


def test_set_grad_enabled_restores_on_exception():
    with pytest.raises(RuntimeError):
        with torch.set_grad_enabled(False):
            raise RuntimeError("x")
    assert torch.is_grad_enabled()


# --------------------------------------------------------------------------
# inference_mode
# --------------------------------------------------------------------------
def test_inference_mode_context_manager():
    x = leaf()
    with torch.inference_mode():
        assert not torch.is_grad_enabled()
        assert torch.is_inference_mode_enabled()
        y = x * 2
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_inference_mode_tensors_are_inference():
    x = leaf()
    with torch.inference_mode():
        y = x * 2
        z = torch.ones(2)
    assert y.is_inference() and z.is_inference()
    assert not x.is_inference()
    assert not (x * 2).is_inference()


def test_inference_mode_false_keeps_recording():
    x = leaf()
    with torch.inference_mode(False):
        y = x * 2
    assert y.requires_grad


def test_inference_mode_decorators():
    x = leaf()

    @torch.inference_mode()
    def f(t):
        return t * 2

    @torch.inference_mode
    def g(t):
        return t * 3

    assert not f(x).requires_grad
    assert not g(x).requires_grad
    assert torch.is_grad_enabled()
    assert g.__name__ == "g"


def test_inference_mode_restores_on_exception():
    with pytest.raises(ZeroDivisionError):
        with torch.inference_mode():
            1 / 0
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()


def test_grad_mode_functions_are_exported_from_autograd():
    for name in ("no_grad", "enable_grad", "set_grad_enabled", "inference_mode"):
        assert getattr(torch.autograd, name) is getattr(torch, name)


# --------------------------------------------------------------------------
# thread-locality
# --------------------------------------------------------------------------
def test_no_grad_in_one_thread_does_not_affect_another():
    x = leaf()
    entered, release = threading.Event(), threading.Event()
    other = {}

    def worker():
        with torch.no_grad():
            entered.set()
            release.wait(10)
            other["enabled"] = torch.is_grad_enabled()
            other["requires_grad"] = (x * 2).requires_grad

    th = threading.Thread(target=worker)
    th.start()
    try:
        assert entered.wait(10)
        # the worker is inside no_grad right now; this thread still records
        assert torch.is_grad_enabled()
        y = x * 2
        assert y.requires_grad and y.grad_fn is not None
    finally:
        release.set()
        th.join(10)
    assert other == {"enabled": False, "requires_grad": False}


def test_new_thread_starts_with_grad_enabled_even_under_no_grad():
    x = leaf()
    seen = {}

    def worker():
        seen["enabled"] = torch.is_grad_enabled()
        seen["requires_grad"] = (x * 2).requires_grad

    with torch.no_grad():
        th = threading.Thread(target=worker)
        th.start()
        th.join(10)
        assert not torch.is_grad_enabled()
    assert seen == {"enabled": True, "requires_grad": True}


def test_concurrent_backward_in_threads():
    results = {}

    def worker(k):
        w = torch.tensor([float(k), 1.0], requires_grad=True)
        for _ in range(50):
            w.grad = None
            (w * w * k).sum().backward()
        results[k] = w.grad.numpy().copy()

    with torch.no_grad():  # the main thread's mode must not leak into the workers
        ths = [threading.Thread(target=worker, args=(k,)) for k in (1, 2, 3)]
        for th in ths:
            th.start()
        for th in ths:
            th.join(30)
    for k in (1, 2, 3):
        np.testing.assert_allclose(results[k], [2.0 * k * k, 2.0 * k])
