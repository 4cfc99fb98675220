"""Optimizer steps on float32 parameters.

Kernel rows: kernels.adam_step / kernels.sgd_step over lists of arrays (one
call updates every tensor). NumPy: the textbook optimizer class, updating its
state in place tensor by tensor. torch: torch.optim.Adam / SGD with
foreach=True and with fused=True (each its own row; ours and NumPy are timed
once and shown on both).

MLP rows: one ``opt.step()`` of each tinygrad_cn.optim class over the
parameters of a 784-2048-2048-2048-10 MLP (10.0M parameters in 8 tensors,
fixed gradients), against the NumPy textbook class and torch.optim's class
(fused=True where torch has a fused CPU kernel, else foreach=True). Each
optimizer is built, timed and dropped in turn, so only one set of state
arrays per library is alive at a time.
"""

import numpy as np

from tinygrad_cn._C import kernels as K

from .suite_common import Case, kernel_origin, torch

TITLE = "Optimizers: fused kernels, and one step of each optimizer over a 10M-parameter MLP"
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


# --------------------------------------------------------------------------
# one optimizer step over a 10M-parameter MLP, per optimizer class
# --------------------------------------------------------------------------

MLP_LAYERS = (784, 2048, 2048, 2048, 10)
#: name -> (our/torch keyword arguments, torch flavour, arrays touched per element)
MLP_OPTIMIZERS = {
    "SGD momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}, "fused", 5),
    "Adam": ("Adam", {"lr": 1e-3}, "fused", 7),
    "AdamW": ("AdamW", {"lr": 1e-3, "weight_decay": 1e-2}, "fused", 7),
    "Adagrad": ("Adagrad", {"lr": 1e-2}, "fused", 5),
    "RMSprop": ("RMSprop", {"lr": 1e-2, "alpha": 0.99}, "foreach", 5),
    "Adadelta": ("Adadelta", {"lr": 1.0, "rho": 0.9}, "foreach", 7),
    "Adamax": ("Adamax", {"lr": 2e-3}, "foreach", 7),
    "NAdam": ("NAdam", {"lr": 2e-3}, "foreach", 7),
}


def mlp_shapes(layers=MLP_LAYERS):
    """(out, in) weight and (out,) bias shapes of nn.Linear layers."""
    shapes = []
    for fan_in, fan_out in zip(layers[:-1], layers[1:]):
        shapes += [(fan_out, fan_in), (fan_out,)]
    return shapes


class NumpyTextbook:
    """Each optimizer as a textbook writes it in NumPy: one tensor at a
    time, whole-array expressions, state updated in place."""

    def __init__(self, kind, params, kw):
        self.kind, self.params, self.kw, self.t = kind, params, kw, 0
        z = lambda: [np.zeros_like(p) for p in params]  # noqa: E731
        self.a, self.b = z(), z()

    def step(self, grads):
        self.t += 1
        k, t, lr = self.kind, self.t, self.kw["lr"]
        b1, b2, eps = 0.9, 0.999, 1e-8
        for p, g, a, b in zip(self.params, grads, self.a, self.b):
            if k == "SGD":
                a *= self.kw["momentum"]
                a += g
                p -= lr * a
            elif k in ("Adam", "AdamW", "NAdam"):
                if k == "AdamW":
                    p *= 1 - lr * self.kw["weight_decay"]
                a += (1 - b1) * (g - a)
                b += (1 - b2) * (g * g - b)
                denom = np.sqrt(b / (1 - b2 ** t)) + eps
                if k == "NAdam":  # Dozat's Nesterov look-ahead with a fixed mu
                    p -= lr * (b1 * a / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)) / denom
                else:
                    p -= (lr / (1 - b1 ** t)) * a / denom
            elif k == "Adagrad":
                a += g * g
                p -= lr * g / (np.sqrt(a) + 1e-10)
            elif k == "RMSprop":
                alpha = self.kw["alpha"]
                a *= alpha
                a += (1 - alpha) * g * g
                p -= lr * g / (np.sqrt(a) + eps)
            elif k == "Adadelta":
                rho = self.kw["rho"]
                a *= rho
                a += (1 - rho) * g * g
                delta = np.sqrt(b + 1e-6) / np.sqrt(a + 1e-6) * g
                b *= rho
                b += (1 - rho) * delta * delta
                p -= lr * delta
            elif k == "Adamax":
                a += (1 - b1) * (g - a)
                np.maximum(b2 * b, np.abs(g) + eps, out=b)
                p -= (lr / (1 - b1 ** t)) * a / b


def _mlp_case(label, kind, kw, flavour, arrays, data):
    """One row: our optimizer, NumPy's textbook class and torch's, each over
    its own copy of the MLP's parameters with fixed gradients."""
    import tinygrad_cn as tg

    params, grads = data
    n = sum(p.size for p in params)
    ours_params = []
    for p, g in zip(params, grads):
        t = tg.nn.Parameter(tg.from_numpy(p.copy()))
        t.grad = tg.from_numpy(g)
        ours_params.append(t)
    ours = getattr(tg.optim, kind)(ours_params, **kw)
    numpy_opt = NumpyTextbook(kind, [p.copy() for p in params], kw)
    torch_fn = None
    if torch is not None:
        tp = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
        for p, g in zip(tp, grads):
            p.grad = torch.from_numpy(g)
        try:
            opt = getattr(torch.optim, kind)(tp, **kw, **{flavour: True})
            opt.step()
            torch_fn = opt.step
        except Exception:
            torch_fn = None
    return Case("%s step, 10M-param MLP [torch %s]" % (label, flavour), ours.step, lambda: numpy_opt.step(grads),
                torch_fn, needs=(ours._kernel,), bytes=arrays * 4 * n,
                note="" if torch_fn or torch is None else "torch %s=True: n/a" % flavour)


def mlp_cases(cfg):
    """Yields one Case at a time (the caller times it and drops it)."""
    rng = np.random.default_rng(20)
    shapes = mlp_shapes()
    params = [(rng.standard_normal(s, dtype=np.float32) * 0.02) for s in shapes]
    grads = [rng.standard_normal(s, dtype=np.float32) * 0.01 for s in shapes]
    n = sum(p.size for p in params)
    cfg.notes.append("MLP rows: %s, %.2fM float32 parameters in %d tensors; GB/s counts the arrays each update "
                     "must read and write (5 for SGD/Adagrad/RMSprop, 7 for the others)."
                     % ("-".join(map(str, MLP_LAYERS)), n / 1e6, len(shapes)))
    for label, (kind, kw, flavour, arrays) in MLP_OPTIMIZERS.items():
        yield _mlp_case(label, kind, kw, flavour, arrays, (params, grads))


def run(cfg):
    """Kernel rows, then the MLP rows one optimizer at a time (memory)."""
    from .suite_common import run_cases

    rows = run_cases("optim", cases(cfg), cfg.threads, cfg.budget, cfg.min_samples)
    for case in mlp_cases(cfg):
        rows += run_cases("optim", [case], cfg.threads, cfg.budget, cfg.min_samples)
        del case
    return rows


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
