"""End-to-end training step of a small CNN on a 64x1x28x28 float32 batch:

    Conv2d(1, 8, 3, padding=1) ReLU MaxPool2d(2)
    Conv2d(8, 16, 3, padding=1) ReLU MaxPool2d(2)
    Flatten Linear(16*7*7, 10)

with softmax cross-entropy and plain SGD (lr 0.01), in three libraries from
the same initial weights:

  ours  -- tinygrad_cn.nn modules, F.cross_entropy, loss.backward(),
           p.sub_(p.grad, alpha=lr) under no_grad;
  numpy -- the same step written by hand on the NumPy reference kernels of
           tinygrad_cn._C.ref_conv (im2col + np.matmul) and NumPy for the
           rest (BLAS threads limited to the row's count with threadpoolctl);
  torch -- torch.nn modules, nn.CrossEntropyLoss and optim.SGD.

Before timing, two steps of each are run on copies of the same weights and
their losses compared (the second loss checks gradients and update too).
"""

import numpy as np

import tinygrad_cn as tg
import tinygrad_cn.nn.functional as F
from tinygrad_cn._C import ref_conv

from .suite_common import Case, same_weights_check, torch, torch_sgd_step

TITLE = "Small-CNN training step (conv 1-8-16, max-pool, linear; batch 64x1x28x28)"
BATCH, LR = 64, 0.01
PAD = ((1, 1), (1, 1))


def _problem(seed=0):
    """Pixel-like inputs, labels and weights initialised as torch's layers do
    (uniform +-1/sqrt(fan_in)), in parameter order."""
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    weights = []
    for shape in ((8, 1, 3, 3), (16, 8, 3, 3), (10, 16 * 7 * 7)):
        bound = 1 / np.sqrt(np.prod(shape[1:]))
        weights.append(rng.uniform(-bound, bound, shape).astype(np.float32))
        weights.append(rng.uniform(-bound, bound, shape[0]).astype(np.float32))
    return x, y, weights


def _flops():
    """Multiply-adds x 2 of the convolutions and the linear layer, forward and
    backward (no input gradient for the first convolution)."""
    c1 = 2 * BATCH * 28 * 28 * 8 * 9
    c2 = 2 * BATCH * 14 * 14 * 16 * 72
    fc = 2 * BATCH * 784 * 10
    return 2 * c1 + 3 * c2 + 3 * fc


def _model(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


def make_ours(x, y, weights):
    model = _model(tg)
    params = list(model.parameters())
    with tg.no_grad():
        for p, w in zip(params, weights):
            p.copy_(tg.from_numpy(w.copy()))
    tx, ty = tg.from_numpy(x), tg.from_numpy(y)

    def step():
        for p in params:
            p.grad = None
        loss = F.cross_entropy(model(tx), ty)
        loss.backward()
        with tg.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=LR)
        return loss
    return step


def make_numpy(x, y, weights):
    W1, b1, W2, b2, W3, b3 = (w.copy() for w in weights)
    rows, n = np.arange(len(y)), len(y)
    geo = ((1, 1), PAD, (1, 1), 1)
    pool = ((2, 2), (2, 2), (0, 0), (1, 1))

    def step():
        z1 = ref_conv.conv2d_forward(x, W1, b1, *geo)
        h1 = np.maximum(z1, 0)
        p1, i1 = ref_conv.max_pool2d(h1, *pool, (14, 14))
        z2 = ref_conv.conv2d_forward(p1, W2, b2, *geo)
        h2 = np.maximum(z2, 0)
        p2, i2 = ref_conv.max_pool2d(h2, *pool, (7, 7))
        f = p2.reshape(n, -1)
        logits = f @ W3.T + b3
        shifted = logits - logits.max(1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) - shifted[rows, y])
        dlogits = e / s
        dlogits[rows, y] -= 1
        dlogits /= n
        gW3, gb3 = dlogits.T @ f, dlogits.sum(0)
        dp2 = (dlogits @ W3).reshape(p2.shape)
        dz2 = ref_conv.max_pool2d_backward(dp2, i2, h2.shape) * (z2 > 0)
        gW2, gb2 = ref_conv.conv2d_backward_weight(p1, dz2, W2.shape, *geo), dz2.sum((0, 2, 3))
        dp1 = ref_conv.conv2d_backward_input(dz2, W2, p1.shape, *geo)
        dz1 = ref_conv.max_pool2d_backward(dp1, i1, h1.shape) * (z1 > 0)
        gW1, gb1 = ref_conv.conv2d_backward_weight(x, dz1, W1.shape, *geo), dz1.sum((0, 2, 3))
        for p, g in ((W1, gW1), (b1, gb1), (W2, gW2), (b2, gb2), (W3, gW3), (b3, gb3)):
            p -= LR * g
        return loss
    return step


def make_torch(x, y, weights):
    return torch_sgd_step(_model(torch), x, y, weights, LR)


def _verify(x, y, weights, ours_ok):
    makers = {"numpy": lambda: make_numpy(x, y, weights)}
    if ours_ok:
        makers["ours"] = lambda: make_ours(x, y, weights)
    if torch is not None:
        makers["torch"] = lambda: make_torch(x, y, weights)
    return same_weights_check(makers)


def cases(cfg):
    x, y, weights = _problem()
    try:
        make_ours(x, y, weights)()
        ours_ok, why = True, ""
    except Exception as exc:  # a tree without conv/pool layers yet
        ours_ok, why = False, "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0][:100])
        cfg.log("  [cnn] ours does not run here (%s)" % why)
    losses, verdict = _verify(x, y, weights, ours_ok)
    check = "same-weights check, loss before / after one step: %s -> %s" % (
        ", ".join("%s %.6f / %.6f" % (lib, *v) for lib, v in losses.items()), verdict)
    cfg.log("  [cnn] " + check, flush=True)
    cfg.notes.append("SGD lr=%g, float32. Ours: tinygrad_cn.nn layers (conv and max-pool on the C kernels of "
                     "csrc/im2col.c), F.cross_entropy, p.grad = None / backward / p.sub_(p.grad, alpha=lr) under "
                     "no_grad. NumPy: the same step by hand on the reference kernels (im2col + np.matmul). "
                     "GFLOP/s counts the convolutions and the linear layer, forward and backward (%.1f MFLOP)."
                     % (LR, _flops() / 1e6))
    cfg.notes.append(check[0].upper() + check[1:] + ".")
    ours = make_ours(x, y, weights) if ours_ok else None
    torch_fn = make_torch(x, y, weights) if torch is not None else None
    return [Case("CNN conv(1-8)-pool-conv(8-16)-pool-linear SGD step, batch %d" % BATCH, ours,
                 make_numpy(x, y, weights), torch_fn, flops=_flops(), numpy_blas=True,
                 note="" if ours_ok else "skipped: " + why)]
