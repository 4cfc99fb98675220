"""Row-wise kernels: softmax / log_softmax forward and backward over the
last axis, and the fused cross-entropy forward + backward.

NumPy: the max-shifted formulas and, for cross-entropy, log-softmax + gather
and the gradient softmax - one_hot, divided by the batch (reduction "mean").
torch: torch.softmax / log_softmax, aten._*softmax_backward_data, and
F.cross_entropy(...).backward() on a leaf that requires grad.
"""

import numpy as np

from tinygrad_cn._C import kernels as K

from .suite_common import Case, same_values, torch

TITLE = "Row-wise: softmax, log_softmax, cross-entropy"


def _np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _np_log_softmax(x):
    z = x - x.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _np_cross_entropy(logits, target):
    """(mean loss, gradient of the mean loss w.r.t. the logits)."""
    rows = np.arange(len(target))
    logp = _np_log_softmax(logits)
    loss = -logp[rows, target].mean()
    grad = np.exp(logp)
    grad[rows, target] -= 1
    grad /= len(target)
    return loss, grad


def _softmax_cases(rows, cols):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((rows, cols)) * 2).astype(np.float32)
    g = rng.standard_normal((rows, cols)).astype(np.float32)
    y, ly = _np_softmax(x), _np_log_softmax(x)
    T = {}
    if torch is not None:
        tx, tg, ty, tly = (torch.from_numpy(a) for a in (x, g, y, ly))
        aten = torch.ops.aten
        T = {
            "softmax": lambda: torch.softmax(tx, -1),
            "log_softmax": lambda: torch.log_softmax(tx, -1),
            "softmax_backward": lambda: aten._softmax_backward_data(tg, ty, -1, torch.float32),
            "log_softmax_backward": lambda: aten._log_softmax_backward_data(tg, tly, -1, torch.float32),
        }
    table = [
        ("softmax", lambda: K.softmax(x), lambda: _np_softmax(x), 2),
        ("log_softmax", lambda: K.log_softmax(x), lambda: _np_log_softmax(x), 2),
        ("softmax_backward", lambda: K.softmax_backward(y, g), lambda: y * (g - (g * y).sum(-1, keepdims=True)), 3),
        ("log_softmax_backward", lambda: K.log_softmax_backward(ly, g),
         lambda: g - np.exp(ly) * g.sum(-1, keepdims=True), 3),
    ]
    return [Case("%s %dx%d" % (name, rows, cols), ours, numpy_fn, T.get(name), needs=(name,),
                 bytes=arrays * x.nbytes, check=same_values(ours, numpy_fn, rtol=1e-4, atol=1e-6))
            for name, ours, numpy_fn, arrays in table]


def _cross_entropy_case(n, classes):
    rng = np.random.default_rng(2)
    logits = (rng.standard_normal((n, classes)) * 2).astype(np.float32)
    target = rng.integers(0, classes, n).astype(np.int64)
    one = np.array(1.0, np.float32)  # d(loss)/d(loss) of the 0-d mean loss

    def ours():
        loss, lse = K.cross_entropy(logits, target)
        return loss, K.cross_entropy_backward(logits, target, lse, one)

    torch_fn = None
    if torch is not None:
        tl = torch.from_numpy(logits.copy()).requires_grad_()
        tt = torch.from_numpy(target)

        def torch_fn():
            tl.grad = None
            loss = torch.nn.functional.cross_entropy(tl, tt)
            loss.backward()
            return loss

    # logits read twice (forward, backward), the gradient written once; targets negligible
    return Case("cross_entropy fwd+bwd %dx%d" % (n, classes), ours, lambda: _np_cross_entropy(logits, target),
                torch_fn, needs=("cross_entropy", "cross_entropy_backward"), bytes=3 * logits.nbytes,
                check=same_values(ours, lambda: _np_cross_entropy(logits, target), rtol=1e-4, atol=1e-6))


def cases(cfg):
    rows, cols = (4096, 1024)
    cfg.notes.append("float32, along the last axis. NumPy's column is single-threaded (timed once). GB/s counts "
                     "2 x the input forward, 3 x backward; cross-entropy: the logits read twice and the "
                     "gradient written once.")
    return _softmax_cases(rows, cols) + [_cross_entropy_case(4096, 1000)]
