"""End-to-end training step of an MLP 784-256-10 (relu), batch 128, float32,
softmax cross-entropy, plain SGD lr 0.01, in three libraries from the same
initial weights:

  ours  -- tinygrad_cn tensors: F.linear_relu, F.linear, a cross-entropy
           loss, loss.backward(), p.sub_(p.grad, alpha=lr) under no_grad;
  numpy -- the forward, the softmax cross-entropy gradient and the backward
           matmuls written by hand, updated in place (BLAS threads limited
           to the same count with threadpoolctl);
  torch -- nn.Linear / nn.ReLU / nn.CrossEntropyLoss / optim.SGD.

Before timing, two steps of each are run on copies of the same weights and
their losses compared (the second loss checks gradients and update too).
"""

import numpy as np

import tinygrad_cn as tg
import tinygrad_cn.nn.functional as F

from .suite_common import Case, same_weights_check, torch, torch_sgd_step

TITLE = "MLP training step (784-256-10, batch 128)"
BATCH, SIZES, LR = 128, (784, 256, 10), 0.01


def _problem(seed=0):
    """Inputs, labels and weights initialised as torch's nn.Linear does."""
    rng = np.random.default_rng(seed)
    # pixel-like inputs in [0, 1), as MNIST's: with standard-normal inputs the
    # thousands of timed steps on one batch diverge (logits of +-1000), the
    # softmax gradient fills with subnormal floats and every library's GEMM
    # slows down 5x on them, which measures the regime, not the libraries
    x = rng.random((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[2], BATCH).astype(np.int64)
    weights = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        weights.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return x, y, weights


def _flops():
    (d0, d1, d2), m = SIZES, BATCH
    forward = 2 * m * (d0 * d1 + d1 * d2)
    backward = 2 * m * (d0 * d1 + d1 * d2) + 2 * m * d2 * d1  # both weight grads + grad of h
    return forward + backward


# --------------------------------------------------------------------------
# ours: the loss is the first formulation that works on this tree
# --------------------------------------------------------------------------

def _loss_cross_entropy(logits, t, idx):
    return F.cross_entropy(logits, t)


def _loss_log_softmax(logits, t, idx):
    return -(logits.log_softmax(1)[idx, t]).mean()


def _loss_composite(logits, t, idx):
    z = logits - logits.max(1, keepdim=True).values.detach()
    return -((z - z.exp().sum(1, keepdim=True).log())[idx, t]).mean()


OUR_LOSSES = (("F.cross_entropy", _loss_cross_entropy),
              ("-(logits.log_softmax(1)[arange, y]).mean()", _loss_log_softmax),
              ("max-shifted exp/sum/log composite", _loss_composite))


def make_ours(x, y, weights, loss_fn):
    params = [tg.from_numpy(w.copy()).requires_grad_() for w in weights]
    W1, b1, W2, b2 = params
    tx, ty, idx = tg.from_numpy(x), tg.from_numpy(y), tg.arange(len(y))

    def step():
        for p in params:
            p.grad = None
        loss = loss_fn(F.linear(F.linear_relu(tx, W1, b1), W2, b2), ty, idx)
        loss.backward()
        with tg.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=LR)
        return loss
    return step


def _pick_loss(x, y, weights, log):
    """(label, loss_fn) of the first formulation whose step runs."""
    for label, fn in OUR_LOSSES:
        try:
            make_ours(x, y, weights, fn)()
            return label, fn
        except Exception as exc:
            log("  [mlp] ours: %s does not work here (%s: %s)" % (label, type(exc).__name__,
                                                                  str(exc).splitlines()[0][:100]))
    return None, None


# --------------------------------------------------------------------------
# NumPy by hand, torch as a user writes it
# --------------------------------------------------------------------------

def make_numpy(x, y, weights):
    W1, b1, W2, b2 = (w.copy() for w in weights)
    rows, n = np.arange(len(y)), len(y)

    def step():
        z1 = x @ W1.T + b1
        h = np.maximum(z1, 0)
        logits = h @ W2.T + b2
        shifted = logits - logits.max(1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) - shifted[rows, y])
        dlogits = e / s  # softmax - one_hot, over the batch
        dlogits[rows, y] -= 1
        dlogits /= n
        gW2, gb2 = dlogits.T @ h, dlogits.sum(0)
        dz1 = (dlogits @ W2) * (z1 > 0)
        gW1, gb1 = dz1.T @ x, dz1.sum(0)
        for p, g in ((W1, gW1), (b1, gb1), (W2, gW2), (b2, gb2)):
            p -= LR * g
        return loss
    return step


def make_torch(x, y, weights):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Linear(SIZES[1], SIZES[2]))
    return torch_sgd_step(model, x, y, weights, LR)


def _verify(x, y, weights, our_loss):
    makers = {"numpy": lambda: make_numpy(x, y, weights)}
    if our_loss is not None:
        makers["ours"] = lambda: make_ours(x, y, weights, our_loss)
    if torch is not None:
        makers["torch"] = lambda: make_torch(x, y, weights)
    return same_weights_check(makers)


def cases(cfg):
    x, y, weights = _problem()
    label, our_loss = _pick_loss(x, y, weights, cfg.log)
    losses, verdict = _verify(x, y, weights, our_loss)
    check = "same-weights check, loss before / after one step: %s -> %s" % (
        ", ".join("%s %.6f / %.6f" % (lib, *v) for lib, v in losses.items()), verdict)
    cfg.log("  [mlp] " + check, flush=True)
    cfg.notes.append("SGD lr=%g, float32. Ours computes the loss as `%s`; each step sets p.grad = None, runs "
                     "backward and p.sub_(p.grad, alpha=lr) under no_grad. NumPy's BLAS and torch run on the "
                     "row's thread count. GFLOP/s counts the five matmuls of a step (%.1f MFLOP) against the "
                     "BLAS peak." % (LR, label or "n/a", _flops() / 1e6))
    cfg.notes.append(check[0].upper() + check[1:] + ".")
    ours = make_ours(x, y, weights, our_loss) if our_loss is not None else None
    torch_fn = make_torch(x, y, weights) if torch is not None else None
    case = Case("MLP 784-256-10 SGD step, batch %d" % BATCH, ours, make_numpy(x, y, weights), torch_fn,
                flops=_flops(), numpy_blas=True,
                note="" if ours else "skipped: no loss formulation works on this tree")
    return [case]
