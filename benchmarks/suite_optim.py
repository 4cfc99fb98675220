"""Optimizer steps on float32 parameters: Adam and SGD with momentum.

Ours: kernels.adam_step / kernels.sgd_step over lists of arrays (one call
updates every tensor). NumPy: the textbook optimizer class, updating its
state in place tensor by tensor. torch: torch.optim.Adam / SGD with
foreach=True and with fused=True (each its own row; ours and NumPy are timed
once and shown on both).
"""

import numpy as np

from tinygrad_cn._C import kernels as K

from .suite_common import Case, kernel_origin, torch

TITLE = "Optimizers: Adam and SGD with momentum"
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8
SGD_LR, MOMENTUM = 0.01, 0.9


def _tensors(sizes, seed):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s, dtype=np.float32) for s in sizes]
    grads = [rng.standard_normal(s, dtype=np.float32) for s in sizes]
    return params, grads


# --------------------------------------------------------------------------
# ours
# --------------------------------------------------------------------------

class OurAdam:
    def __init__(self, params, grads):
        self.params, self.grads = params, grads
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.steps = [0] * len(params)

    def step(self):
        self.steps = [s + 1 for s in self.steps]  # the caller counts steps (as torch's state["step"])
        K.adam_step(self.params, self.grads, self.m, self.v, None, self.steps,
                    lr=LR, beta1=BETA1, beta2=BETA2, eps=EPS)


class OurSGD:
    def __init__(self, params, grads):
        self.params, self.grads = params, grads
        self.bufs = [np.zeros_like(p) for p in params]
        self.first = True

    def step(self):
        # first_step: the buffer starts as the gradient (torch's clone(grad))
        K.sgd_step(self.params, self.grads, self.bufs, lr=SGD_LR, momentum=MOMENTUM, first_step=self.first)
        self.first = False


# --------------------------------------------------------------------------
# NumPy, as in a textbook
# --------------------------------------------------------------------------

class NumpyAdam:
    def __init__(self, params, lr=LR, betas=(BETA1, BETA2), eps=EPS):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m += (1 - b1) * (g - m)
            v += (1 - b2) * (g * g - v)
            p -= (self.lr / bc1) * m / (np.sqrt(v / bc2) + self.eps)


class NumpySGD:
    def __init__(self, params, lr=SGD_LR, momentum=MOMENTUM):
        self.params, self.lr, self.momentum = params, lr, momentum
        self.bufs = None

    def step(self, grads):
        if self.bufs is None:
            self.bufs = [g.copy() for g in grads]
        else:
            for b, g in zip(self.bufs, grads):
                b *= self.momentum
                b += g
        for p, b in zip(self.params, self.bufs):
            p -= self.lr * b


# --------------------------------------------------------------------------
# torch
# --------------------------------------------------------------------------

def _torch_step(kind, params, grads, **flavour):
    """opt.step of a torch optimizer over copies of the arrays; None when
    this torch build refuses the flavour (then the row reads n/a)."""
    if torch is None:
        return None
    tp = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
    for p, g in zip(tp, grads):
        p.grad = torch.from_numpy(g)
    try:
        if kind == "adam":
            opt = torch.optim.Adam(tp, lr=LR, betas=(BETA1, BETA2), eps=EPS, **flavour)
        else:
            opt = torch.optim.SGD(tp, lr=SGD_LR, momentum=MOMENTUM, **flavour)
        opt.step()
    except Exception:
        return None
    return opt.step


def _cases_for(kind, label, sizes, seed):
    """Two rows (torch foreach, torch fused) sharing our and NumPy's step."""
    names = ["%s %s [torch %s]" % (kind, label, flavour) for flavour in ("foreach", "fused")]
    needs = ("adam_step",) if kind == "adam" else ("sgd_step",)
    if kernel_origin(needs[0]) is None:  # skipped: do not allocate and warm up 8M-element optimizers for nothing
        return [Case(name, None, None, needs=needs) for name in names]
    params, grads = _tensors(sizes, seed)
    n = sum(int(np.prod(s)) for s in sizes)
    if kind == "adam":
        ours = OurAdam([p.copy() for p in params], grads).step
        numpy_opt = NumpyAdam([p.copy() for p in params])
        arrays = 7  # reads p, g, m, v; writes p, m, v
    else:
        ours = OurSGD([p.copy() for p in params], grads).step
        numpy_opt = NumpySGD([p.copy() for p in params])
        arrays = 5  # reads p, g, buf; writes p, buf
    numpy_step = lambda: numpy_opt.step(grads)  # noqa: E731
    out = []
    for name, flavour in zip(names, ("foreach", "fused")):
        torch_fn = _torch_step(kind, params, grads, **{flavour: True})
        out.append(Case(name, ours, numpy_step, torch_fn, needs=needs,
                        bytes=arrays * 4 * n,
                        note="" if torch_fn or torch is None else "torch %s=True: n/a" % flavour))
    return out


def cases(cfg):
    cfg.notes.append("Adam lr=%g betas=(%g, %g) eps=%g; SGD lr=%g momentum=%g. Steps repeat on fixed gradients. "
                     "GB/s counts 7 arrays per Adam element (p, g, m, v read; p, m, v written) and 5 per SGD "
                     "element. NumPy's column is single-threaded (timed once)."
                     % (LR, BETA1, BETA2, EPS, SGD_LR, MOMENTUM))
    m1, m8 = 1 << 20, 8 << 20
    out = []
    out += _cases_for("adam", "1M", [(m1,)], 10)
    out += _cases_for("adam", "1M as 10 tensors", [(m1 // 10,)] * 9 + [(m1 - 9 * (m1 // 10),)], 11)
    out += _cases_for("adam", "8M", [(m8,)], 12)
    out += _cases_for("sgd", "1M", [(m1,)], 13)
    out += _cases_for("sgd", "8M", [(m8,)], 14)
    return out
