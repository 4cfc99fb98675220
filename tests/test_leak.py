"""No leaks: training steps leave the number of live tensors flat, and a graph's
saved tensors are freed by backward (without retain_graph) or when the graph's
output goes away, by reference counting alone."""
import gc
import warnings
import weakref

import numpy as np

import tinygrad_cn as torch


def _count_live():
    gc.collect()
    objs = gc.get_objects()
    node_cls = getattr(torch.autograd.function, "Node", None)  # ours; torch's grad_fns are not gc objects
    with warnings.catch_warnings():  # isinstance on some deprecated module proxies warns
        warnings.simplefilter("ignore")
        tensors = sum(1 for o in objs if isinstance(o, torch.Tensor))
        nodes = sum(1 for o in objs if isinstance(o, node_cls)) if isinstance(node_cls, type) else 0
    return tensors, nodes


def _train(steps, record_at):
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.standard_normal((32, 8)), dtype=torch.float32)
    Y = torch.tensor(rng.standard_normal((32, 2)), dtype=torch.float32)
    W1 = torch.tensor(rng.standard_normal((8, 16)) * 0.3, dtype=torch.float32, requires_grad=True)
    W2 = torch.tensor(rng.standard_normal((16, 2)) * 0.3, dtype=torch.float32, requires_grad=True)
    lr = 0.05
    counts, losses = {}, []
    for step in range(1, steps + 1):
        H = (X @ W1).relu()
        loss = ((H @ W2 - Y) ** 2).mean()
        W1.grad = None
        W2.grad = None
        loss.backward()
        with torch.no_grad():
            W1 -= lr * W1.grad
            W2 -= lr * W2.grad
        losses.append(loss.item())
        if step in record_at:
            counts[step] = _count_live()
    return counts, losses


def test_live_tensor_count_flat_over_1000_training_steps():
    counts, losses = _train(1000, {100, 1000})
    t100, n100 = counts[100]
    t1000, n1000 = counts[1000]
    assert t100 > 0  # tensors are gc-tracked, so the count means something
    assert t1000 - t100 == 0, f"live tensors grew from {t100} (step 100) to {t1000} (step 1000)"
    assert n1000 - n100 == 0, f"live graph nodes grew from {n100} (step 100) to {n1000} (step 1000)"
    assert losses[-1] < losses[0]  # it did train


def test_live_tensor_count_flat_with_retain_graph_and_double_backward():
    x = torch.randn(4, 3, requires_grad=True)

    def step():
        y = (x.tanh() * x).sum()
        y.backward(retain_graph=True)
        (g,) = torch.autograd.grad(y, x, create_graph=True)
        g.pow(2).sum().backward()
        x.grad = None

    for _ in range(20):
        step()
    before = _count_live()
    for _ in range(200):
        step()
    assert _count_live() == before


def test_saved_tensor_freed_by_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()  # intermediate; mul below saves it
    y = (h * h).sum()
    ref = weakref.ref(h)
    del h
    assert ref() is not None  # the graph still needs it
    y.backward()
    assert ref() is None, "backward without retain_graph must free the saved intermediate"
    assert y.grad_fn is not None  # the output (and its grad_fn) are still alive


def test_saved_tensor_kept_with_retain_graph_then_freed_with_output():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    y = (h * h).sum()
    ref = weakref.ref(h)
    del h
    y.backward(retain_graph=True)
    assert ref() is not None
    y.backward()  # second pass is allowed; the last one frees
    assert ref() is None


def test_graph_freed_by_refcount_when_output_dropped():
    gc_was_enabled = gc.isenabled()
    gc.disable()  # no cycle collector: the graph must not contain reference cycles
    try:
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        h = x.exp()
        y = ((h * h).sum() + h.tanh().sum()) * 2
        ref_h = weakref.ref(h)
        ref_y = weakref.ref(y)
        try:
            node = weakref.ref(y.grad_fn)
        except TypeError:  # torch's C++ nodes take no weak references
            node = lambda: None  # noqa: E731
        del h
        assert ref_h() is not None
        del y
        assert ref_y() is None
        assert node() is None
        assert ref_h() is None, "dropping the output must free the graph and its saved tensors"
    finally:
        if gc_was_enabled:
            gc.enable()


def test_saved_output_array_freed():
    """An op that saves its own output (exp) must let the array go after backward."""
    x = torch.tensor(np.ones(1000), requires_grad=True)
    y = x.exp()
    if not hasattr(y, "_data"):  # only our Tensor exposes its array
        return
    ref = weakref.ref(y._data)
    loss = (y * 1.0).sum()
    del y
    assert ref() is not None
    loss.backward()
    assert ref() is None, "the array saved by ExpBackward0 should be released by backward"


def test_leaf_and_graph_freed_without_cycle_collector():
    gc.disable()
    try:
        x = torch.tensor([1.0], requires_grad=True)
        ref_x = weakref.ref(x)
        y = x * 2
        y.retain_grad()
        x.register_hook(lambda g: g)
        ref_y = weakref.ref(y)
        del x, y
        assert ref_y() is None
        assert ref_x() is None
    finally:
        gc.enable()


def test_hooks_and_retain_grad_do_not_accumulate_over_steps():
    w = torch.randn(5, 3, requires_grad=True)
    x = torch.randn(4, 5)
    seen = []

    def step():
        h = x @ w
        h.retain_grad()
        h.register_hook(lambda g: g * 1.0)
        loss = h.tanh().sum()
        loss.backward()
        seen.append(h.grad is not None)
        w.grad = None

    for _ in range(30):
        step()
    before = _count_live()
    for _ in range(300):
        step()
    assert _count_live() == before
    assert all(seen)
