"""Realistic PyTorch programs, written as a PyTorch user writes them, run on tinygrad_cn.

Each program is a function ``prog(torch)`` that takes the module (``torch`` or
``tinygrad_cn``) and uses only tensors and autograd: hand-written training loops
with SGD / momentum / Adam updates under ``no_grad``, manual LSTM and GRU cells,
attention, layer and batch norm by hand, convolution via ``unfold`` and
``as_strided``, embeddings by indexing, custom ``autograd.Function``s,
Hessian-vector products, hooks, in-place idioms, dtype mixes ...

All data comes from NumPy with fixed seeds, so the same program gives the same
numbers on both libraries. A program returns a dict of results (tensors, floats,
ints, bools, strings, lists of floats).

Two tests per program:
  * ``test_program_matches_torch`` runs it on torch (skipped when torch is not
    installed) and on tinygrad_cn and compares every result (values, shapes,
    tensor dtypes; strings and ints exactly);
  * ``test_program_self_consistent`` runs it on tinygrad_cn alone and checks
    facts that hold without an oracle: losses go down, gradients agree with
    finite differences (float64 ``gradcheck`` on a small version), shapes.
"""
import math

import numpy as np
import pytest

import tinygrad_cn

PROGRAMS = {}


def program(facts, rtol=1e-4, atol=1e-5, marks=()):
    """Register ``fn`` as a program; ``facts(out, torch)`` checks tinygrad_cn's results alone."""
    def deco(fn):
        PROGRAMS[fn.__name__] = dict(fn=fn, facts=facts, rtol=rtol, atol=atol, marks=marks)
        return fn
    return deco


def gradcheck(torch, fn, *shapes, seed=0, gradgrad=False, scale=1.0):
    """float64 finite-difference check of ``fn`` on random inputs of ``shapes``."""
    rng = np.random.default_rng(seed)
    inputs = [torch.tensor(rng.standard_normal(s) * scale, dtype=torch.float64, requires_grad=True)
              for s in shapes]
    assert torch.autograd.gradcheck(fn, inputs)
    if gradgrad:
        assert torch.autograd.gradgradcheck(fn, inputs)


def decreasing(losses, factor=1.0):
    assert all(math.isfinite(x) for x in losses), losses
    assert losses[-1] < losses[0] * factor, (losses[0], losses[-1])


def f32(a):
    return np.asarray(a, dtype=np.float32)


# ==========================================================================
# 1. logistic regression, plain SGD: w -= lr * w.grad; w.grad.zero_()
# ==========================================================================
def _bce_with_logits(torch, logits, y):
    # the numerically stable form: max(z, 0) - z*y + log(1 + exp(-|z|))
    return (torch.clamp(logits, min=0) - logits * y + torch.log1p(torch.exp(-logits.abs()))).mean()


def _logreg_facts(out, torch):
    decreasing(out["losses"], 0.7)
    assert out["acc"] > 0.85
    assert out["w"].shape == (5,)
    gradcheck(torch, lambda X, w: _bce_with_logits(torch, X @ w, (X[:, 0] > 0).double()), (6, 3), (3,))


@program(_logreg_facts)
def logistic_regression_sgd(torch):
    rng = np.random.default_rng(0)
    n, d = 64, 5
    X = f32(rng.standard_normal((n, d)))
    true_w = f32(rng.standard_normal(d))
    y = f32(X @ true_w + 0.3 * rng.standard_normal(n) > 0)
    X, y = torch.from_numpy(X), torch.from_numpy(y)

    w = torch.zeros(d, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    lr = 0.5
    losses = []
    for step in range(30):
        logits = X @ w + b
        loss = _bce_with_logits(torch, logits, y)
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad.zero_()
            b.grad.zero_()
        losses.append(loss.item())
    with torch.no_grad():
        acc = ((torch.sigmoid(X @ w + b) > 0.5).float() == y).float().mean().item()
    return dict(losses=losses, w=w, b=b, acc=acc, log=f"step {step}: loss {losses[-1]:.3f} acc {acc:.2f}",
                fmt_tensor=f"{loss:.3f}", requires_grad=w.requires_grad, is_leaf=w.is_leaf,
                grad_fn=type(loss.grad_fn).__name__)


# ==========================================================================
# 2. softmax regression, cross-entropy via log_softmax + gather, momentum SGD
# ==========================================================================
def _ce(torch, logits, y):
    logp = torch.log_softmax(logits, dim=1)
    return -logp.gather(1, y.unsqueeze(1)).squeeze(1).mean()


def _softmax_facts(out, torch):
    decreasing(out["losses"], 0.5)
    assert out["acc"] > 0.9
    assert out["pred"].dtype == np.int64
    y = torch.tensor([0, 2, 1, 1])
    gradcheck(torch, lambda z: _ce(torch, z, y), (4, 3))


@program(_softmax_facts)
def softmax_regression_momentum(torch):
    rng = np.random.default_rng(1)
    n, d, k = 90, 4, 3
    centers = rng.standard_normal((k, d)) * 3
    labels = np.repeat(np.arange(k), n // k)
    X = torch.tensor(centers[labels] + rng.standard_normal((n, d)), dtype=torch.float32)
    y = torch.from_numpy(labels)                          # int64 labels
    W = torch.tensor(rng.standard_normal((d, k)) * 0.01, dtype=torch.float32, requires_grad=True)
    b = torch.zeros(k, requires_grad=True)
    params = [W, b]
    velocity = [torch.zeros_like(p) for p in params]
    lr, mom = 0.1, 0.9
    losses = []
    for epoch in range(25):
        logits = X @ W + b
        loss = _ce(torch, logits, y)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p, v in zip(params, velocity):
                v.mul_(mom).add_(p.grad)
                p.add_(v, alpha=-lr)
        losses.append(float(loss.detach()))
    pred = logits.argmax(dim=1)
    acc = (pred == y).float().mean().item()
    correct = int((pred == y).sum())
    return dict(losses=losses, W=W, b=b, pred=pred, acc=acc, correct=correct, v0=velocity[0])


# ==========================================================================
# 3. two-layer MLP regression with a hand-written Adam (addcmul_, bias correction)
# ==========================================================================
def _mlp(torch, X, W1, b1, W2, b2):
    return torch.relu(X @ W1 + b1) @ W2 + b2


def _adam_facts(out, torch):
    decreasing(out["losses"], 0.5)
    assert out["m0"].shape == out["W1"].shape
    gradcheck(torch, lambda X, W1, b1, W2, b2: ((_mlp(torch, X, W1, b1, W2, b2) - 1) ** 2).mean(),
              (5, 3), (3, 4), (4,), (4, 1), (1,))


@program(_adam_facts, rtol=2e-4, atol=2e-5)
def mlp_adam(torch):
    rng = np.random.default_rng(2)
    n, d, h = 128, 1, 16
    x = np.linspace(-3, 3, n, dtype=np.float32).reshape(n, d)
    X, Y = torch.from_numpy(x), torch.from_numpy(np.sin(x))
    W1 = torch.tensor(f32(rng.standard_normal((d, h)) * math.sqrt(2 / d)), requires_grad=True)
    b1 = torch.zeros(h, requires_grad=True)
    W2 = torch.tensor(f32(rng.standard_normal((h, 1)) * math.sqrt(1 / h)), requires_grad=True)
    b2 = torch.zeros(1, requires_grad=True)
    params = [W1, b1, W2, b2]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    lr, beta1, beta2, eps = 0.02, 0.9, 0.999, 1e-8
    losses = []
    for t in range(1, 61):
        loss = ((_mlp(torch, X, *params) - Y) ** 2).mean()
        for p in params:
            if p.grad is not None:
                p.grad.zero_()
        loss.backward()
        with torch.no_grad():
            for p, m_, v_ in zip(params, m, v):
                g = p.grad
                m_.mul_(beta1).add_(g, alpha=1 - beta1)
                v_.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                m_hat = m_ / (1 - beta1 ** t)
                v_hat = v_ / (1 - beta2 ** t)
                p -= lr * m_hat / (v_hat.sqrt() + eps)
        losses.append(loss.item())
    return dict(losses=losses, W1=W1, b2=b2, m0=m[0], v3=v[3])


# ==========================================================================
# 4. gradient clipping by global norm (torch.nn.utils.clip_grad_norm_ by hand)
# ==========================================================================
def _clip_grad_norm_(torch, params, max_norm):
    grads = [p.grad for p in params if p.grad is not None]
    total_norm = torch.norm(torch.stack([torch.norm(g.detach(), 2.0) for g in grads]), 2.0)
    clip_coef = max_norm / (total_norm + 1e-6)
    clip_coef_clamped = torch.clamp(clip_coef, max=1.0)
    for g in grads:
        g.detach().mul_(clip_coef_clamped)
    return total_norm


def _clip_facts(out, torch):
    assert all(n <= 1.0 + 1e-5 for n in out["clipped_norms"])
    assert max(out["norms"]) > 1.0
    decreasing(out["losses"])
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    (w * w).sum().backward()
    total = _clip_grad_norm_(torch, [w], 1.0)
    assert abs(total.item() - 10.0) < 1e-5 and abs(w.grad.norm().item() - 1.0) < 1e-5


@program(_clip_facts)
def grad_clip_by_norm(torch):
    rng = np.random.default_rng(3)
    X = torch.tensor(f32(rng.standard_normal((32, 6)) * 4))
    y = torch.tensor(f32(rng.standard_normal((32, 1))))
    W1 = torch.tensor(f32(rng.standard_normal((6, 8))), requires_grad=True)
    W2 = torch.tensor(f32(rng.standard_normal((8, 1))), requires_grad=True)
    params = [W1, W2]
    norms, clipped, losses = [], [], []
    for step in range(10):
        for p in params:
            p.grad = None
        loss = ((torch.tanh(X @ W1) @ W2 - y) ** 2).mean()
        loss.backward()
        norms.append(_clip_grad_norm_(torch, params, max_norm=1.0).item())
        clipped.append(torch.sqrt(sum((p.grad ** 2).sum() for p in params)).item())
        with torch.no_grad():
            for p in params:
                p.sub_(0.1 * p.grad)
        losses.append(loss.item())
    return dict(norms=norms, clipped_norms=clipped, losses=losses, W1=W1)


# ==========================================================================
# 5. LSTM unrolled by hand (chunk gates, stack outputs), BPTT in float64
# ==========================================================================
def _lstm(torch, x, W_ih, W_hh, b, h, c):
    outs = []
    for t in range(x.shape[0]):
        gates = x[t] @ W_ih.t() + h @ W_hh.t() + b
        i, f, g, o = gates.chunk(4, dim=1)
        i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
        g = torch.tanh(g)
        c = f * c + i * g
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs), (h, c)


def _lstm_facts(out, torch):
    assert out["out"].shape == (6, 3, 5)
    assert out["hT"].shape == (3, 5)
    np.testing.assert_allclose(out["out"][-1], out["hT"])
    H = 2
    gradcheck(torch, lambda x, wi, wh, b: _lstm(torch, x, wi, wh, b, torch.zeros(1, H, dtype=torch.float64),
                                                 torch.zeros(1, H, dtype=torch.float64))[0].sum(),
              (3, 1, 2), (4 * H, 2), (4 * H, H), (4 * H,))


@program(_lstm_facts, rtol=1e-10, atol=1e-12)
def lstm_manual_bptt(torch):
    rng = np.random.default_rng(4)
    T, B, I, H = 6, 3, 4, 5
    x = torch.tensor(rng.standard_normal((T, B, I)))
    k = 1 / math.sqrt(H)
    W_ih = torch.tensor(rng.uniform(-k, k, (4 * H, I)), requires_grad=True)
    W_hh = torch.tensor(rng.uniform(-k, k, (4 * H, H)), requires_grad=True)
    b = torch.tensor(rng.uniform(-k, k, 4 * H), requires_grad=True)
    W_out = torch.tensor(rng.standard_normal((H, 2)), requires_grad=True)
    h0 = torch.zeros(B, H, dtype=torch.float64)
    c0 = torch.zeros(B, H, dtype=torch.float64)
    out, (hT, cT) = _lstm(torch, x, W_ih, W_hh, b, h0, c0)
    loss = (out[-1] @ W_out).pow(2).sum() + out.mean()
    loss.backward()
    return dict(out=out, hT=hT, cT=cT, loss=loss, gW_ih=W_ih.grad, gW_hh=W_hh.grad, gb=b.grad,
                gW_out=W_out.grad)


# ==========================================================================
# 6. GRU cell by hand, sequence classification trained with SGD (float32)
# ==========================================================================
def _gru_step(torch, x, h, W_x, W_h, b_x, b_h):
    H = h.shape[1]
    gx = x @ W_x + b_x
    gh = h @ W_h + b_h
    rx, zx, nx = torch.split(gx, H, dim=1)
    rh, zh, nh = gh.split(H, dim=1)
    r = torch.sigmoid(rx + rh)
    z = torch.sigmoid(zx + zh)
    n = torch.tanh(nx + r * nh)
    return (1 - z) * n + z * h


def _gru_facts(out, torch):
    decreasing(out["losses"], 0.9)
    H = 2
    gradcheck(torch, lambda x, h, wx, wh: _gru_step(torch, x, h, wx, wh, 0.1, -0.2).sum(),
              (2, 3), (2, H), (3, 3 * H), (H, 3 * H), gradgrad=True)


@program(_gru_facts, rtol=1e-4, atol=1e-5)
def gru_sequence_classifier(torch):
    rng = np.random.default_rng(5)
    B, T, I, H, K = 16, 7, 3, 8, 2
    xs = f32(rng.standard_normal((B, T, I)))
    ys = (xs[:, :, 0].sum(1) > 0).astype(np.int64)    # label: sign of the running sum of feature 0
    x, y = torch.from_numpy(xs), torch.from_numpy(ys)
    W_x = torch.tensor(f32(rng.standard_normal((I, 3 * H)) * 0.3), requires_grad=True)
    W_h = torch.tensor(f32(rng.standard_normal((H, 3 * H)) * 0.3), requires_grad=True)
    b_x = torch.zeros(3 * H, requires_grad=True)
    b_h = torch.zeros(3 * H, requires_grad=True)
    W_o = torch.tensor(f32(rng.standard_normal((H, K)) * 0.3), requires_grad=True)
    params = [W_x, W_h, b_x, b_h, W_o]
    losses = []
    for it in range(15):
        h = torch.zeros(B, H)
        for t in range(T):
            h = _gru_step(torch, x[:, t, :], h, W_x, W_h, b_x, b_h)
        logits = h @ W_o
        loss = -torch.log_softmax(logits, -1)[torch.arange(B), y].mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= 0.5 * g
        losses.append(loss.item())
    return dict(losses=losses, h=h, W_h=W_h, gW_x=grads[0])


# ==========================================================================
# 7. multi-head causal self-attention (view/transpose, masked_fill(-inf), softmax)
# ==========================================================================
def _attention(torch, x, Wq, Wk, Wv, Wo, n_head):
    B, T, C = x.shape
    hd = C // n_head
    q = (x @ Wq).view(B, T, n_head, hd).transpose(1, 2)       # (B, nh, T, hd)
    k = (x @ Wk).view(B, T, n_head, hd).transpose(1, 2)
    v = (x @ Wv).view(B, T, n_head, hd).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
    mask = torch.tril(torch.ones(T, T)).view(1, 1, T, T)
    att = att.masked_fill(mask == 0, float("-inf"))
    att = torch.softmax(att, dim=-1)
    y = att @ v
    y = y.transpose(1, 2).contiguous().view(B, T, C)
    return y @ Wo, att


def _attn_facts(out, torch):
    att = out["att"]
    np.testing.assert_allclose(att.sum(-1), 1.0, rtol=1e-12)
    assert (np.triu(att[0, 0], 1) == 0).all()
    assert att[0, 0, 0, 0] == 1.0
    gradcheck(torch, lambda x, wq, wk, wv: _attention(torch, x, wq, wk, wv, wv, 2)[0].sum(),
              (1, 3, 4), (4, 4), (4, 4), (4, 4))


@program(_attn_facts, rtol=1e-10, atol=1e-12)
def causal_self_attention(torch):
    rng = np.random.default_rng(6)
    B, T, C, nh = 2, 5, 8, 2
    x = torch.tensor(rng.standard_normal((B, T, C)), requires_grad=True)
    Wq, Wk, Wv, Wo = [torch.tensor(rng.standard_normal((C, C)) / math.sqrt(C), requires_grad=True)
                      for _ in range(4)]
    y, att = _attention(torch, x, Wq, Wk, Wv, Wo, nh)
    loss = y.pow(2).mean()
    loss.backward()
    return dict(y=y, att=att, loss=loss, gx=x.grad, gWq=Wq.grad, gWk=Wk.grad, gWv=Wv.grad, gWo=Wo.grad)


# ==========================================================================
# 8. pre-LN transformer MLP block: layer norm by hand, tanh-GELU and erf-GELU, residual
# ==========================================================================
def _layer_norm(torch, x, gamma, beta, eps=1e-5):
    mu = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=False)
    return (x - mu) / torch.sqrt(var + eps) * gamma + beta


def _gelu_tanh(torch, x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def _gelu_erf(torch, x):
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _block(torch, x, gamma, beta, W1, W2):
    h = _layer_norm(torch, x, gamma, beta)
    return x + _gelu_erf(torch, _gelu_tanh(torch, h @ W1)) @ W2


def _ln_facts(out, torch):
    ln = out["ln"]
    np.testing.assert_allclose(ln.mean(-1), 0, atol=1e-10)
    np.testing.assert_allclose(ln.std(-1), 1, rtol=1e-4)
    gradcheck(torch, lambda x, g, b, w1, w2: _block(torch, x, g, b, w1, w2).sum(),
              (2, 4), (4,), (4,), (4, 6), (6, 4), gradgrad=True)


@program(_ln_facts, rtol=1e-10, atol=1e-12)
def layernorm_gelu_block(torch):
    rng = np.random.default_rng(7)
    x = torch.tensor(rng.standard_normal((3, 5, 8)) * 2 + 1, requires_grad=True)
    gamma = torch.ones(8, dtype=torch.float64, requires_grad=True)
    beta = torch.zeros(8, dtype=torch.float64, requires_grad=True)
    W1 = torch.tensor(rng.standard_normal((8, 16)) * 0.3, requires_grad=True)
    W2 = torch.tensor(rng.standard_normal((16, 8)) * 0.3, requires_grad=True)
    y = _block(torch, x, gamma, beta, W1, W2)
    loss = (y * torch.linspace(-1, 1, 8, dtype=torch.float64)).sum()
    loss.backward()
    with torch.no_grad():
        ln = _layer_norm(torch, x, torch.ones(8, dtype=torch.float64), torch.zeros(8, dtype=torch.float64), 0)
    return dict(y=y, ln=ln, gx=x.grad, ggamma=gamma.grad, gbeta=beta.grad, gW1=W1.grad, gW2=W2.grad)


# ==========================================================================
# 9. batch norm training by hand, running stats updated in place under no_grad
# ==========================================================================
def _bn2d(torch, x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), keepdim=True, unbiased=False)
    return (x - mean) * torch.rsqrt(var + eps) * gamma.view(1, -1, 1, 1) + beta.view(1, -1, 1, 1), mean, var


def _bn_facts(out, torch):
    decreasing(out["losses"])
    assert out["running_mean"].shape == (3,)
    gradcheck(torch, lambda x, g, b: (_bn2d(torch, x, g, b)[0] ** 3).sum(), (3, 2, 2, 2), (2,), (2,))


@program(_bn_facts, rtol=1e-4, atol=1e-5)
def batchnorm_running_stats(torch):
    rng = np.random.default_rng(8)
    N, C, H, W = 8, 3, 4, 4
    gamma = torch.ones(C, requires_grad=True)
    beta = torch.zeros(C, requires_grad=True)
    running_mean, running_var = torch.zeros(C), torch.ones(C)
    momentum = 0.1
    target = torch.tensor(f32(rng.standard_normal((1, C, 1, 1))))
    losses = []
    for step in range(8):
        x = torch.tensor(f32(rng.standard_normal((N, C, H, W)) * 3 + 2))
        y, mean, var = _bn2d(torch, x, gamma, beta)
        with torch.no_grad():
            n = x.numel() / x.size(1)
            running_mean.mul_(1 - momentum).add_(momentum * mean.squeeze())
            running_var.mul_(1 - momentum).add_(momentum * var.squeeze() * n / (n - 1))
        loss = ((y - target) ** 2).mean()
        gamma.grad = beta.grad = None
        loss.backward()
        with torch.no_grad():
            gamma -= 0.3 * gamma.grad
            beta -= 0.3 * beta.grad
        losses.append(loss.item())
    # eval mode: normalise with the running statistics
    with torch.no_grad():
        x_eval = torch.tensor(f32(rng.standard_normal((2, C, H, W))))
        y_eval = (x_eval - running_mean[None, :, None, None]) / torch.sqrt(running_var[None, :, None, None] + 1e-5)
    return dict(losses=losses, running_mean=running_mean, running_var=running_var, gamma=gamma, beta=beta,
                y_eval=y_eval)


# ==========================================================================
# 10. conv2d + max-pool via Tensor.unfold and einsum, checked against explicit loops
# ==========================================================================
def _conv2d_unfold(torch, x, w, b):
    kh, kw = w.shape[2:]
    patches = x.unfold(2, kh, 1).unfold(3, kw, 1)                 # (N, C, H', W', kh, kw)
    return torch.einsum("nchwij,ocij->nohw", patches, w) + b.view(1, -1, 1, 1)


def _conv2d_loops(torch, x, w, b):
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    rows = []
    for i in range(H - kh + 1):
        cols = []
        for j in range(W - kw + 1):
            patch = x[:, :, i:i + kh, j:j + kw].reshape(N, -1)    # (N, C*kh*kw)
            cols.append(patch @ w.reshape(O, -1).T + b)
        rows.append(torch.stack(cols, dim=-1))
    return torch.stack(rows, dim=-2)


def _maxpool2(torch, x):
    return x.unfold(2, 2, 2).unfold(3, 2, 2).amax(dim=(-2, -1))


def _conv_facts(out, torch):
    np.testing.assert_allclose(out["y"], out["y_loops"], rtol=1e-12)
    np.testing.assert_allclose(out["gw"], out["gw_loops"], rtol=1e-10)
    assert out["pooled"].shape == (2, 4, 2, 2)
    gradcheck(torch, lambda x, w, b: _maxpool2(torch, _conv2d_unfold(torch, x, w, b)).sum(),
              (1, 2, 5, 5), (2, 2, 2, 2), (2,))


@program(_conv_facts, rtol=1e-10, atol=1e-12)
def conv2d_unfold_maxpool(torch):
    rng = np.random.default_rng(9)
    x = torch.tensor(rng.standard_normal((2, 3, 6, 6)), requires_grad=True)
    w = torch.tensor(rng.standard_normal((4, 3, 3, 3)) * 0.2, requires_grad=True)
    b = torch.tensor(rng.standard_normal(4), requires_grad=True)
    y = _conv2d_unfold(torch, x, w, b)
    pooled = _maxpool2(torch, torch.relu(y))
    loss = pooled.sum() + (y ** 2).mean()
    loss.backward()
    gx, gw, gb = x.grad.clone(), w.grad.clone(), b.grad.clone()
    x.grad = w.grad = b.grad = None
    y2 = _conv2d_loops(torch, x, w, b)
    (_maxpool2(torch, torch.relu(y2)).sum() + (y2 ** 2).mean()).backward()
    return dict(y=y, y_loops=y2, pooled=pooled, gx=gx, gw=gw, gb=gb, gw_loops=w.grad, gx_loops=x.grad)


# ==========================================================================
# 11. conv1d via as_strided im2col, and via a loop over positions with torch.stack
# ==========================================================================
def _conv1d_strided(torch, x, w, stride=1):
    N, C, L = x.shape
    O, _, K = w.shape
    Lout = (L - K) // stride + 1
    x = x.contiguous()
    sN, sC, sL = x.stride()
    cols = x.as_strided((N, Lout, C, K), (sN, stride * sL, sC, sL))    # (N, Lout, C, K)
    return (cols.reshape(N, Lout, C * K) @ w.reshape(O, C * K).t()).permute(0, 2, 1)


def _conv1d_loop(torch, x, w, stride=1):
    K = w.shape[-1]
    outs = [(x[:, None, :, i:i + K] * w).sum(dim=(2, 3)) for i in range(0, x.shape[-1] - K + 1, stride)]
    return torch.stack(outs, dim=2)


def _conv1d_facts(out, torch):
    np.testing.assert_allclose(out["y_strided"], out["y_loop"], rtol=1e-12)
    np.testing.assert_allclose(out["gx_strided"], out["gx_loop"], rtol=1e-12)
    assert out["y_strided"].shape == (2, 4, 4)
    gradcheck(torch, lambda x, w: _conv1d_strided(torch, x, w, 2).sum(), (1, 2, 7), (3, 2, 3))


@program(_conv1d_facts, rtol=1e-10, atol=1e-12)
def conv1d_as_strided(torch):
    rng = np.random.default_rng(10)
    x = torch.tensor(rng.standard_normal((2, 3, 9)), requires_grad=True)
    w = torch.tensor(rng.standard_normal((4, 3, 3)), requires_grad=True)
    y1 = _conv1d_strided(torch, x, w, stride=2)
    (y1.tanh().sum()).backward()
    gx1, gw1 = x.grad, w.grad
    x.grad = None
    w.grad = None
    y2 = _conv1d_loop(torch, x, w, stride=2)
    (y2.tanh().sum()).backward()
    return dict(y_strided=y1, y_loop=y2, gx_strided=gx1, gx_loop=x.grad, gw_strided=gw1, gw_loop=w.grad,
                strides=list(x.stride()))


# ==========================================================================
# 12. embedding-bag text classifier: E[tokens], padding mask, logsumexp cross-entropy
# ==========================================================================
def _bag_logits(torch, E, W, tokens):
    emb = E[tokens]                                            # (B, L, D)
    mask = (tokens != 0).unsqueeze(-1).float()                 # token 0 is padding
    pooled = (emb * mask).sum(1) / mask.sum(1).clamp(min=1)
    return pooled @ W


def _emb_facts(out, torch):
    decreasing(out["losses"], 0.8)
    assert (out["gE_pad"] == 0).all()
    assert out["used_rows"] > 0
    toks = torch.tensor([[1, 2, 2, 0], [3, 1, 0, 0]])
    gradcheck(torch, lambda E, W: _bag_logits(torch, E, W, toks).sum(), (4, 3), (3, 2))


@program(_emb_facts)
def embedding_bag_classifier(torch):
    rng = np.random.default_rng(11)
    V, D, K, B, L = 20, 6, 3, 12, 5
    tokens_np = rng.integers(1, V, (B, L))
    tokens_np[:, 3:] *= rng.random((B, 2)) > 0.5              # ragged: some padding at the end
    y_np = tokens_np[:, 0] % K
    tokens, y = torch.tensor(tokens_np), torch.tensor(y_np)
    E = torch.tensor(f32(rng.standard_normal((V, D))), requires_grad=True)
    W = torch.tensor(f32(rng.standard_normal((D, K)) * 0.1), requires_grad=True)
    losses = []
    for step in range(20):
        logits = _bag_logits(torch, E, W, tokens)
        loss = (torch.logsumexp(logits, dim=1) - logits[torch.arange(B), y]).mean()
        E.grad = None
        W.grad = None
        loss.backward()
        gE_pad = E.grad[0].clone()
        with torch.no_grad():
            used = torch.unique(tokens)
            E[used] -= 1.0 * E.grad[used]                      # "sparse" update of the rows in the batch
            W.sub_(W.grad, alpha=1.0)
        losses.append(loss.item())
    return dict(losses=losses, E=E, W=W, gE_pad=gE_pad, used_rows=int(used.numel()),
                sel=torch.index_select(E, 0, tokens[0]))


# ==========================================================================
# 13. Hessian-vector products (double backward), full Hessian by rows, Newton step
# ==========================================================================
def _logreg_l2(torch, w, X, y, lam):
    z = X @ w
    return (torch.log1p(torch.exp(-y * z))).mean() + 0.5 * lam * (w * w).sum()


def _hvp_facts(out, torch):
    H = out["H"]
    np.testing.assert_allclose(H, H.T, rtol=1e-12)
    np.testing.assert_allclose(H, out["H_analytic"], rtol=1e-10)
    np.testing.assert_allclose(out["Hv"], H @ out["v"], rtol=1e-10)
    np.testing.assert_allclose(out["H_functional"], H, rtol=1e-10)
    assert out["loss_after_newton"] < out["loss"]


@program(_hvp_facts, rtol=1e-10, atol=1e-12)
def hessian_vector_product(torch):
    rng = np.random.default_rng(12)
    n, d, lam = 40, 4, 0.1
    Xn = rng.standard_normal((n, d))
    yn = np.sign(Xn[:, 0] + 0.5 * rng.standard_normal(n))
    X, y = torch.tensor(Xn), torch.tensor(yn)
    w = torch.tensor(rng.standard_normal(d) * 0.1, requires_grad=True)
    v = torch.tensor(rng.standard_normal(d))

    loss = _logreg_l2(torch, w, X, y, lam)
    g, = torch.autograd.grad(loss, w, create_graph=True)
    Hv, = torch.autograd.grad(g @ v, w, retain_graph=True)
    H = torch.stack([torch.autograd.grad(g[i], w, retain_graph=True)[0] for i in range(d)])
    H_functional = torch.autograd.functional.hessian(lambda w_: _logreg_l2(torch, w_, X, y, lam), w.detach())
    with torch.no_grad():
        p = torch.sigmoid(y * (X @ w))
        H_analytic = (X.T * (p * (1 - p))) @ X / n + lam * torch.eye(d, dtype=torch.float64)
        step = torch.from_numpy(np.linalg.solve(H.numpy(), g.detach().numpy()))
        w_new = w - step
        loss_after = _logreg_l2(torch, w_new, X, y, lam).item()
    return dict(loss=loss.item(), g=g, Hv=Hv, H=H, H_functional=H_functional, H_analytic=H_analytic, v=v,
                loss_after_newton=loss_after, g_requires_grad=g.requires_grad)


# ==========================================================================
# 14. custom autograd.Function: straight-through estimator for a binarised layer
# ==========================================================================
def _make_ste(torch):
    class BinarizeSTE(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.sign(x)

        @staticmethod
        def backward(ctx, grad_output):
            x, = ctx.saved_tensors
            return grad_output * (x.abs() <= 1).to(grad_output.dtype)
    return BinarizeSTE


def _ste_facts(out, torch):
    decreasing(out["losses"])
    assert set(np.unique(out["wb"])) <= {-1.0, 1.0}
    ste = _make_ste(torch)
    x = torch.tensor([-2.0, -0.5, 0.3, 1.5], requires_grad=True)
    ste.apply(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 0.0]


@program(_ste_facts)
def straight_through_estimator(torch):
    rng = np.random.default_rng(13)
    ste = _make_ste(torch)
    X = torch.tensor(f32(rng.standard_normal((64, 8))))
    w_true = np.sign(rng.standard_normal(8)).astype(np.float32)
    y = torch.from_numpy(X.numpy() @ w_true)
    w = torch.tensor(f32(rng.uniform(-0.5, 0.5, 8)), requires_grad=True)
    losses = []
    for step in range(20):
        wb = ste.apply(w)
        loss = ((X @ wb - y) ** 2).mean()
        w.grad = None
        loss.backward()
        with torch.no_grad():
            w -= 0.01 * w.grad
            w.clamp_(-1, 1)
        losses.append(loss.item())
    return dict(losses=losses, w=w, wb=ste.apply(w).detach(), grad_fn=type(wb.grad_fn).__name__)


# ==========================================================================
# 15. custom Functions: clamp with pass-through grad, twice-differentiable softplus,
#     needs_input_grad, mark_non_differentiable on an index output
# ==========================================================================
def _make_functions(torch):
    class ClampPassThrough(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, lo, hi):
            return x.clamp(lo, hi)

        @staticmethod
        def backward(ctx, g):
            return g, None, None

    class Softplus(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, beta):
            ctx.save_for_backward(x)
            ctx.beta = beta
            return torch.log1p(torch.exp(beta * x)) / beta

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * torch.sigmoid(ctx.beta * x), None     # differentiable: double backward works

    class ScaledMax(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            values, idx = x.max(dim=1)
            ctx.save_for_backward(values, idx, scale)
            ctx.mark_non_differentiable(idx)
            ctx.shape = x.shape
            return values * scale, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            values, idx, scale = ctx.saved_tensors
            gx = gscale = None
            if ctx.needs_input_grad[0]:
                gx = torch.zeros(ctx.shape, dtype=g.dtype)
                gx.scatter_(1, idx.unsqueeze(1), (g * scale).unsqueeze(1))
            if ctx.needs_input_grad[1]:
                gscale = (g * values).sum()
            return gx, gscale
    return ClampPassThrough, Softplus, ScaledMax


def _functions_facts(out, torch):
    np.testing.assert_allclose(out["g_clamp"], 2.0)
    assert out["idx_requires_grad"] is False or out["idx_requires_grad"] == 0
    _, Softplus, _ = _make_functions(torch)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal(5), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: Softplus.apply(t, 2.0), (x,))
    assert torch.autograd.gradgradcheck(lambda t: Softplus.apply(t, 2.0), (x,))


@program(_functions_facts, rtol=1e-10, atol=1e-12)
def custom_functions(torch):
    ClampPassThrough, Softplus, ScaledMax = _make_functions(torch)
    rng = np.random.default_rng(14)
    x = torch.tensor(rng.standard_normal((3, 4)) * 2, requires_grad=True)
    y = ClampPassThrough.apply(x, -0.5, 0.5)
    (2 * y).sum().backward()
    g_clamp = x.grad.clone()
    x.grad = None

    s = Softplus.apply(x, 1.5)
    gs, = torch.autograd.grad(s.sum(), x, create_graph=True)
    ggs, = torch.autograd.grad(gs.sum(), x)

    scale = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    vals, idx = ScaledMax.apply(x, scale)
    (vals ** 2).sum().backward()
    return dict(y=y, g_clamp=g_clamp, s=s, gs=gs, ggs=ggs, vals=vals, idx=idx, gx=x.grad, gscale=scale.grad,
                idx_requires_grad=idx.requires_grad, vals_requires_grad=vals.requires_grad)


# ==========================================================================
# 16. in-place idioms on non-leaf tensors: x[mask] = 0, x[:, 0] += 1, masked_fill_, index_add_
# ==========================================================================
def _inplace_net(torch, x):
    y = x * 2
    y[y < 0] = 0                        # relu by masked assignment
    y[:, 0] += 1
    y[1] *= 3
    z = y.clone()
    z.masked_fill_(z > 2.5, 2.5)
    z.index_add_(0, torch.tensor([0, 2, 2]), x[:3])
    z[..., -1] = x[:, 0] ** 2
    z[2:, 1:3].mul_(x[2:, 1:3])
    return z


def _inplace_facts(out, torch):
    assert out["version_bumped"]
    assert out["leaf_error"]
    gradcheck(torch, lambda x: (_inplace_net(torch, x) ** 2).sum(), (4, 5), scale=0.7)


@program(_inplace_facts, rtol=1e-10, atol=1e-12)
def inplace_idioms(torch):
    rng = np.random.default_rng(15)
    x = torch.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    z = _inplace_net(torch, x)
    loss = (z ** 2).sum()
    loss.backward()
    y = x.detach().clone()
    v0 = y._version
    y.add_(1)
    y[0, 0] = 5
    try:
        with torch.enable_grad():
            x.add_(1)
        leaf_error = False
    except RuntimeError:
        leaf_error = True
    # the classic in-place parameter update and gradient reset
    w = torch.ones(3, requires_grad=True)
    (w * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    w.data -= 0.1 * w.grad.data
    w.grad.data.zero_()
    return dict(z=z, gx=x.grad, loss=loss, version_bumped=y._version > v0, leaf_error=leaf_error, w=w,
                wgrad=w.grad, grad_fn=type(z.grad_fn).__name__)


# ==========================================================================
# 17. hooks: register_hook on intermediates and leaves, retain_grad, grad recording
# ==========================================================================
def _hooks_facts(out, torch):
    np.testing.assert_allclose(out["gW_hooked"], 2 * out["gW_plain"], rtol=1e-12)
    assert len(out["norms"]) == 1
    assert np.abs(out["gb"]).max() <= 0.01 + 1e-7
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert x.grad.tolist() == [30.0, 30.0]


@program(_hooks_facts, rtol=1e-10, atol=1e-12)
def hooks_and_retain_grad(torch):
    rng = np.random.default_rng(16)
    X = torch.tensor(rng.standard_normal((6, 3)))
    W = torch.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = torch.tensor(rng.standard_normal(2), requires_grad=True)

    h = X @ W
    (h.tanh() + b).pow(2).sum().backward()
    gW_plain = W.grad.clone()
    W.grad = None
    b.grad = None

    norms = []
    h = X @ W
    handle = h.register_hook(lambda g: g * 2)
    h.retain_grad()
    W.register_hook(lambda g: norms.append(g.norm().item()))
    b.register_hook(lambda g: g.clamp(-0.01, 0.01))
    a = h.tanh()
    a.retain_grad()
    loss = (a + b).pow(2).sum()
    loss.backward()
    handle.remove()
    return dict(gW_plain=gW_plain, gW_hooked=W.grad, h_grad=h.grad, a_grad=a.grad, gb=b.grad, norms=norms,
                retains=h.retains_grad, leaf_grad_none=h.is_leaf)


# ==========================================================================
# 18. einsum-heavy: bilinear layer, batched matmuls, traces and diagonals
# ==========================================================================
def _einsum_model(torch, x1, x2, W, A):
    bil = torch.einsum("bi,oij,bj->bo", x1, W, x2)
    gram = torch.einsum("bi,bj->bij", x1, x1)
    bmm = torch.einsum("bij,jk->bik", gram, A)
    tr = torch.einsum("bii->b", bmm)
    diag = torch.einsum("ii->i", A)
    return bil.sum(1) + tr + torch.einsum("i,i->", diag, diag)


def _einsum_facts(out, torch):
    np.testing.assert_allclose(out["bil"], np.einsum("bi,oij,bj->bo", out["x1"], out["W"], out["x2"]), rtol=1e-12)
    gradcheck(torch, lambda a, b, w, A: _einsum_model(torch, a, b, w, A).sum(), (2, 3), (2, 4), (2, 3, 4), (3, 3))


@program(_einsum_facts, rtol=1e-10, atol=1e-12)
def einsum_bilinear(torch):
    rng = np.random.default_rng(17)
    x1 = torch.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    x2 = torch.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    W = torch.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    A = torch.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    y = _einsum_model(torch, x1, x2, W, A)
    y.pow(2).sum().backward()
    bil = torch.einsum("bi,oij,bj->bo", x1, W, x2)
    return dict(y=y, bil=bil, x1=x1, x2=x2, W=W, gx1=x1.grad, gx2=x2.grad, gW=W.grad, gA=A.grad,
                outer=torch.einsum("i,j->ij", x1[0], x2[0]), ein_mm=torch.einsum("ij,jk", A, A))


# ==========================================================================
# 19. robust regression: Huber / quantile losses with torch.where, clamp, maximum
# ==========================================================================
def _huber(torch, pred, target, delta=1.0):
    err = pred - target
    abs_err = err.abs()
    return torch.where(abs_err < delta, 0.5 * err ** 2, delta * (abs_err - 0.5 * delta)).mean()


def _quantile(torch, pred, target, q=0.9):
    e = target - pred
    return torch.maximum((q - 1) * e, q * e).mean()


def _robust_facts(out, torch):
    decreasing(out["huber_losses"], 0.5)
    decreasing(out["quantile_losses"])
    assert 0.8 <= out["frac_below"] <= 1.0
    gradcheck(torch, lambda p, t: _huber(torch, p, t) + _quantile(torch, p, t), (7,), (7,), scale=2.0)


@program(_robust_facts)
def robust_regression(torch):
    rng = np.random.default_rng(18)
    n = 100
    x = torch.tensor(f32(rng.uniform(-2, 2, n)))
    noise = rng.standard_normal(n)
    noise[:5] = 20                                          # outliers
    y = 3 * x + 1 + torch.tensor(f32(noise))
    a = torch.zeros((), requires_grad=True)
    c = torch.zeros((), requires_grad=True)
    hl, ql = [], []
    for step in range(40):
        loss = _huber(torch, a * x + c, y)
        a.grad = c.grad = None
        loss.backward()
        with torch.no_grad():
            a -= 0.2 * a.grad
            c -= 0.2 * c.grad
        hl.append(loss.item())
    qc = torch.tensor(0.0, requires_grad=True)
    for step in range(40):
        loss = _quantile(torch, a.detach() * x + qc, y)
        qc.grad = None
        loss.backward()
        with torch.no_grad():
            qc -= 0.5 * qc.grad
        ql.append(loss.item())
    resid = y - (a.detach() * x + qc.detach())
    frac_below = (resid <= 0).float().mean().item()
    y_pos = torch.where(y > 0, y, 0.0)
    y_clip = y.clamp(min=-1.0, max=5.0)
    return dict(huber_losses=hl, quantile_losses=ql, a=a, c=c, qc=qc, frac_below=frac_below, y_pos=y_pos,
                y_clip=y_clip)


# ==========================================================================
# 20. ranking: top-k accuracy, sort / argsort, pairwise hinge loss, gradients through topk
# ==========================================================================
def _pairwise_hinge(torch, scores, rel):
    diff = scores.unsqueeze(1) - scores.unsqueeze(0)             # s_i - s_j
    better = (rel.unsqueeze(1) > rel.unsqueeze(0)).to(scores.dtype)
    return (torch.clamp(1 - diff, min=0) * better).sum() / better.sum()


def _rank_facts(out, torch):
    assert 0 <= out["top1"] <= out["top3"] <= 1
    assert (np.diff(out["sorted"], axis=1) <= 0).all()
    decreasing(out["losses"])
    gradcheck(torch, lambda s: s.topk(2, dim=1).values.pow(2).sum() + s.sort(dim=1)[0][:, 0].sum(), (3, 5))
    gradcheck(torch, lambda s: _pairwise_hinge(torch, s, torch.tensor([3, 1, 2, 0])), (4,), scale=0.2)


@program(_rank_facts, rtol=1e-10, atol=1e-12)
def ranking_topk_sort(torch):
    rng = np.random.default_rng(19)
    logits = torch.tensor(rng.standard_normal((20, 6)), requires_grad=True)
    labels = torch.tensor(rng.integers(0, 6, 20))
    top3 = logits.topk(3, dim=1).indices
    top1_acc = (logits.argmax(1) == labels).float().mean().item()
    top3_acc = (top3 == labels[:, None]).any(dim=1).float().mean().item()
    sorted_vals, order = torch.sort(logits, dim=1, descending=True)
    ranks = torch.argsort(order, dim=1)                           # rank of each class
    label_rank = ranks.gather(1, labels[:, None]).squeeze(1)
    (sorted_vals[:, :2].sum() + logits.topk(2, dim=1)[0].pow(2).sum()).backward()

    scores = torch.tensor(rng.standard_normal(8) * 0.1, requires_grad=True)
    rel = torch.tensor([3, 0, 2, 1, 0, 3, 1, 2])
    losses = []
    for _ in range(15):
        loss = _pairwise_hinge(torch, scores, rel)
        scores.grad = None
        loss.backward()
        with torch.no_grad():
            scores -= 0.5 * scores.grad
        losses.append(loss.item())
    kth = torch.kthvalue(logits.detach(), 2, dim=1)
    med = logits.detach().median(dim=1)
    return dict(top1=top1_acc, top3=top3_acc, sorted=sorted_vals, order=order, label_rank=label_rank,
                g=logits.grad, losses=losses, scores=scores, final_order=torch.argsort(scores, descending=True),
                kth_values=kth.values, kth_idx=kth.indices, med=med.values)


# ==========================================================================
# 21. dtype mixes: float64 parameters, float32 inputs, int labels, int arithmetic
# ==========================================================================
def _dtype_facts(out, torch):
    assert out["W_dtype"] == "float64" and out["logits_dtype"] == "float64"
    assert out["correct"] == int(round(out["acc"] * 30))
    decreasing(out["losses"])


@program(_dtype_facts)
def dtype_mixes(torch):
    rng = np.random.default_rng(20)
    X32 = torch.tensor(f32(rng.standard_normal((30, 4))))
    labels = (torch.arange(30) % 3)                                 # int64
    X32 = X32 + labels.unsqueeze(1)                                 # float32 + int64 -> float32
    W = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    losses = []
    for _ in range(10):
        logits = X32.double() @ W                                   # float64
        loss = -(torch.log_softmax(logits, 1) * (labels[:, None] == torch.arange(3)).to(torch.float64)).sum(1).mean()
        W.grad = None
        loss.backward()
        with torch.no_grad():
            W -= 0.1 * W.grad
        losses.append(loss.item())
    pred = logits.argmax(1)
    correct = 0
    correct += (pred == labels).sum().item()
    acc = correct / labels.numel()
    half = torch.tensor(3) * 0.5                                    # int tensor * float -> default float
    ratio = torch.tensor([7, 8]) / torch.tensor([2, 2])             # true division of ints -> float
    floor = torch.tensor([7, -8]) // 3
    mask_count = (X32 > 0).sum()                                    # bool sum -> int64
    mixed = X32[:2].to(torch.float64) + torch.ones(2, 4, dtype=torch.float32)
    return dict(losses=losses, W=W, W_dtype=str(W.dtype).split(".")[-1],
                logits_dtype=str(logits.dtype).split(".")[-1], correct=correct, acc=acc, half=half, ratio=ratio,
                floor=floor, mask_count=mask_count, mixed=mixed, mean_int=labels.float().mean(),
                type_as=labels.type_as(X32), item_type=type(labels[0].item()).__name__,
                float_item_type=type(X32[0, 0].item()).__name__)


# ==========================================================================
# 22. polynomial regression: features x ** arange(k), full-batch GD vs normal equations
# ==========================================================================
def _poly_facts(out, torch):
    decreasing(out["losses"], 0.2)
    np.testing.assert_allclose(out["coef"], out["coef_lstsq"], atol=0.1)
    gradcheck(torch, lambda x, c: ((x.unsqueeze(-1) ** torch.arange(4)) @ c).sum(), (5,), (4,))


@program(_poly_facts, rtol=1e-7, atol=1e-9)
def polynomial_regression(torch):
    rng = np.random.default_rng(21)
    x = torch.linspace(-1, 1, 50, dtype=torch.float64)
    true = torch.tensor([0.5, -1.0, 2.0, 0.7], dtype=torch.float64)
    feats = x.unsqueeze(-1) ** torch.arange(4)                     # (50, 4) Vandermonde
    y = feats @ true + 0.05 * torch.tensor(rng.standard_normal(50))
    coef = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    losses = []
    for _ in range(2000):
        loss = ((feats @ coef - y) ** 2).mean()
        coef.grad = None
        loss.backward()
        coef.data.add_(coef.grad, alpha=-0.5)
        losses.append(loss.item())
    coef_lstsq = torch.from_numpy(np.linalg.lstsq(feats.numpy(), y.numpy(), rcond=None)[0])
    return dict(losses=losses[::100], coef=coef, coef_lstsq=coef_lstsq, feats_dtype=str(feats.dtype).split(".")[-1])


# ==========================================================================
# 23. gradient accumulation over micro-batches equals one full-batch step
# ==========================================================================
def _accum_facts(out, torch):
    np.testing.assert_allclose(out["g_accum"], out["g_full"], rtol=1e-12)
    np.testing.assert_allclose(out["g_double"], 2 * out["g_full"], rtol=1e-12)


@program(_accum_facts, rtol=1e-10, atol=1e-12)
def gradient_accumulation(torch):
    rng = np.random.default_rng(22)
    X = torch.tensor(rng.standard_normal((24, 5)))
    y = torch.tensor(rng.standard_normal(24))
    w = torch.tensor(rng.standard_normal(5), requires_grad=True)

    loss = ((torch.sigmoid(X @ w) - y) ** 2).mean()
    loss.backward()
    g_full = w.grad.clone()

    w.grad.zero_()
    accum = 4
    for xb, yb in zip(X.chunk(accum), torch.split(y, 6)):
        (((torch.sigmoid(xb @ w) - yb) ** 2).mean() / accum).backward()
    g_accum = w.grad.clone()
    ((torch.sigmoid(X @ w) - y) ** 2).mean().backward()      # forgot zero_grad: grads add up
    return dict(g_full=g_full, g_accum=g_accum, g_double=w.grad)


# ==========================================================================
# 24. VAE-style reparameterisation trick with KL term, trained with Adam-less SGD
# ==========================================================================
def _vae_loss(torch, x, eps, We, Wd):
    mu, logvar = (x @ We).chunk(2, dim=-1)
    std = torch.exp(0.5 * logvar)
    z = mu + eps * std
    p = torch.sigmoid(z @ Wd).clamp(1e-6, 1 - 1e-6)
    rec = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(-1).mean()
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1).mean()
    return rec + kl, rec, kl


def _vae_facts(out, torch):
    decreasing(out["losses"], 0.9)
    assert out["kl"] >= 0
    gradcheck(torch, lambda x, eps, We, Wd: _vae_loss(torch, torch.sigmoid(x), eps, We, Wd)[0],
              (3, 4), (3, 2), (4, 4), (2, 4), scale=0.5)


@program(_vae_facts, rtol=2e-4, atol=1e-5)
def vae_reparameterisation(torch):
    rng = np.random.default_rng(23)
    N, D, Z = 32, 10, 3
    protos = rng.random((2, D)) > 0.5                      # two binary prototypes, 5% of bits flipped
    x = torch.tensor(f32(protos[rng.integers(0, 2, N)] ^ (rng.random((N, D)) < 0.05)))
    We = torch.tensor(f32(rng.standard_normal((D, 2 * Z)) * 0.1), requires_grad=True)
    Wd = torch.tensor(f32(rng.standard_normal((Z, D)) * 0.1), requires_grad=True)
    losses = []
    for step in range(30):
        eps = torch.tensor(f32(rng.standard_normal((N, Z))))
        loss, rec, kl = _vae_loss(torch, x, eps, We, Wd)
        We.grad, Wd.grad = None, None
        loss.backward()
        with torch.no_grad():
            for p in (We, Wd):
                p.add_(p.grad, alpha=-0.2)
        losses.append(loss.item())
    return dict(losses=losses, rec=rec.item(), kl=kl.item(), We=We, Wd=Wd)


# ==========================================================================
# 25. word2vec skip-gram with negative sampling: bmm, log-sigmoid, embedding rows
# ==========================================================================
def _logsigmoid(torch, x):
    return -torch.logaddexp(torch.zeros_like(x), -x)


def _sgns_loss(torch, Ein, Eout, center, pos, neg):
    c = Ein[center]                                             # (B, D)
    pos_score = (c * Eout[pos]).sum(-1)                         # (B,)
    neg_score = torch.bmm(Eout[neg], c.unsqueeze(2)).squeeze(2) # (B, K)
    return -(_logsigmoid(torch, pos_score) + _logsigmoid(torch, -neg_score).sum(1)).mean()


def _w2v_facts(out, torch):
    decreasing(out["losses"], 0.95)
    c, p, n = torch.tensor([0, 1]), torch.tensor([2, 0]), torch.tensor([[1, 3], [3, 3]])
    gradcheck(torch, lambda a, b: _sgns_loss(torch, a, b, c, p, n), (4, 3), (4, 3))


@program(_w2v_facts)
def word2vec_negative_sampling(torch):
    rng = np.random.default_rng(24)
    V, D, B, K = 30, 8, 16, 4
    Ein = torch.tensor(f32(rng.uniform(-0.5, 0.5, (V, D)) / D), requires_grad=True)
    Eout = torch.tensor(f32(rng.standard_normal((V, D)) * 0.1), requires_grad=True)
    losses = []
    for step in range(40):
        center = torch.tensor(rng.integers(0, V, B))
        pos = (center + 1) % V
        neg = torch.tensor(rng.integers(0, V, (B, K)))
        loss = _sgns_loss(torch, Ein, Eout, center, pos, neg)
        Ein.grad = Eout.grad = None
        loss.backward()
        with torch.no_grad():
            Ein.sub_(5.0 * Ein.grad)
            Eout.sub_(5.0 * Eout.grad)
        losses.append(loss.item())
    sims = (Ein @ Ein.T) / (Ein.norm(dim=1, keepdim=True) * Ein.norm(dim=1))
    return dict(losses=losses[::5], Ein=Ein, Eout=Eout, nearest=sims.fill_diagonal_(-2).argmax(1))


# ==========================================================================
# 26. k-means with no autograd: pairwise distances, argmin, index_add_, bincount
# ==========================================================================
def _kmeans_facts(out, torch):
    assert out["inertia"][-1] <= out["inertia"][0] + 1e-9
    assert sorted(out["counts"].tolist()) == [20, 20, 20]


@program(_kmeans_facts, rtol=1e-10, atol=1e-12)
def kmeans(torch):
    rng = np.random.default_rng(25)
    centers_true = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    X = torch.tensor(np.concatenate([c + rng.standard_normal((20, 2)) for c in centers_true]))
    C = X[torch.tensor([0, 20, 40])].clone()
    inertia = []
    for it in range(6):
        d2 = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)      # (N, k)
        assign = d2.argmin(dim=1)
        inertia.append(d2.min(dim=1).values.sum().item())
        sums = torch.zeros_like(C).index_add_(0, assign, X)
        counts = torch.bincount(assign, minlength=3)
        C = sums / counts.clamp(min=1).unsqueeze(1)
    sums2 = torch.zeros(3, 2, dtype=torch.float64).scatter_add_(0, assign[:, None].expand(-1, 2), X)
    return dict(inertia=inertia, C=C, counts=counts, assign=assign, same=torch.allclose(sums, sums2),
                converged=bool(torch.equal(assign, d2.argmin(1))))


# ==========================================================================
# 27. molecular dynamics: Lennard-Jones energy, forces = -dE/dx, gradient-descent relaxation
# ==========================================================================
def _lj_energy(torch, pos):
    n = pos.shape[0]
    i, j = torch.triu_indices(n, n, offset=1)
    r = (pos[i] - pos[j]).norm(dim=-1)
    inv6 = r.pow(-6)
    return (4 * (inv6 * inv6 - inv6)).sum()


def _lj_facts(out, torch):
    decreasing(out["energies"])
    np.testing.assert_allclose(out["forces"].sum(0), 0, atol=1e-10)          # Newton's third law
    gradcheck(torch, lambda p: _lj_energy(torch, p + torch.tensor([[0., 0.], [1.2, 0.], [0., 1.1]],
                                                                 dtype=torch.float64)), (3, 2), scale=0.05)


@program(_lj_facts, rtol=1e-8, atol=1e-10)
def lennard_jones_relaxation(torch):
    rng = np.random.default_rng(26)
    grid = np.stack(np.meshgrid(np.arange(3), np.arange(3)), -1).reshape(-1, 2) * 1.15
    pos = torch.tensor(grid + 0.05 * rng.standard_normal(grid.shape), requires_grad=True)
    energies = []
    for step in range(30):
        E = _lj_energy(torch, pos)
        forces = -torch.autograd.grad(E, pos)[0]
        with torch.no_grad():
            pos += 0.002 * forces.clamp(-50, 50)
        energies.append(E.item())
    E = _lj_energy(torch, pos)
    forces = -torch.autograd.grad(E, pos)[0]
    return dict(energies=energies, forces=forces, pos=pos, max_force=forces.abs().max().item())


# ==========================================================================
# 28. Jacobians: row-by-row autograd.grad vs autograd.functional (jacobian, vjp, jvp, hvp)
# ==========================================================================
def _field(torch, x):
    return torch.stack([x[0] * x[1], torch.sin(x[1]) + x[2] ** 2, torch.exp(x[0] - x[2])])


def _jac_facts(out, torch):
    np.testing.assert_allclose(out["J_loop"], out["J_func"], rtol=1e-12)
    np.testing.assert_allclose(out["vjp"], out["v"] @ out["J_loop"], rtol=1e-12)
    np.testing.assert_allclose(out["jvp"], out["J_loop"] @ out["u"], rtol=1e-12)


@program(_jac_facts, rtol=1e-10, atol=1e-12)
def jacobians(torch):
    rng = np.random.default_rng(27)
    x = torch.tensor(rng.standard_normal(3), requires_grad=True)
    y = _field(torch, x)
    J = torch.stack([torch.autograd.grad(y[i], x, retain_graph=True)[0] for i in range(3)])
    J_func = torch.autograd.functional.jacobian(lambda t: _field(torch, t), x.detach())
    v = torch.tensor(rng.standard_normal(3))
    u = torch.tensor(rng.standard_normal(3))
    _, vjp = torch.autograd.functional.vjp(lambda t: _field(torch, t), x.detach(), v)
    _, jvp = torch.autograd.functional.jvp(lambda t: _field(torch, t), x.detach(), u)
    _, hvp = torch.autograd.functional.hvp(lambda t: _field(torch, t).sum(), x.detach(), u)
    return dict(J_loop=J, J_func=J_func, vjp=vjp, jvp=jvp, hvp=hvp, v=v, u=u)


# ==========================================================================
# 29. flat parameter vector: cat of views, unflatten by split/view_as, backtracking line search
# ==========================================================================
def _flat_facts(out, torch):
    decreasing(out["losses"], 0.7)
    assert out["n_params"] == 4 * 3 + 3 + 3
    assert all(s in (1.0, 0.5, 0.25, 0.125, 0.0625) for s in out["steps"])


@program(_flat_facts)
def flat_params_line_search(torch):
    rng = np.random.default_rng(28)
    X = torch.tensor(f32(rng.standard_normal((40, 4))))
    y = torch.tensor(f32(rng.standard_normal((40, 1))))
    W = torch.tensor(f32(rng.standard_normal((4, 3)) * 0.5), requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    v = torch.tensor(f32(rng.standard_normal((3, 1)) * 0.5), requires_grad=True)
    params = [W, b, v]

    def closure():
        return ((torch.tanh(X @ W + b) @ v - y) ** 2).mean()

    def flat(ts):
        return torch.cat([t.reshape(-1) for t in ts])

    def assign(vec):
        chunks = torch.split(vec, [p.numel() for p in params])
        with torch.no_grad():
            for p, c in zip(params, chunks):
                p.copy_(c.view_as(p))

    losses, steps = [], []
    for it in range(12):
        loss = closure()
        grads = torch.autograd.grad(loss, params)
        g = flat(grads)
        x0 = flat(params).detach()
        step = 1.0
        while True:                           # Armijo backtracking
            assign(x0 - step * g)
            with torch.no_grad():
                if closure() <= loss - 1e-4 * step * g.dot(g) or step < 0.1:
                    break
            step /= 2
        steps.append(step)
        losses.append(loss.item())
    return dict(losses=losses, steps=steps, n_params=flat(params).numel(), W=W, v=v)


# ==========================================================================
# 30. padded-sequence attention pooling: lengths -> mask via arange, masked mean/max
# ==========================================================================
def _attn_pool(torch, h, lengths, q):
    B, T, _ = h.shape
    mask = torch.arange(T)[None, :] < lengths[:, None]          # (B, T) bool
    scores = (h @ q).masked_fill(~mask, -1e9)
    alpha = scores.softmax(dim=1)
    pooled = (alpha.unsqueeze(-1) * h).sum(1)
    mean = (h * mask.unsqueeze(-1)).sum(1) / lengths.unsqueeze(1)
    mx = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(dim=1).values
    return pooled, mean, mx, alpha


def _pool_facts(out, torch):
    alpha = out["alpha"]
    assert (alpha[1, 2:] == 0).all()
    np.testing.assert_allclose(alpha.sum(1), 1, rtol=1e-12)
    lengths = torch.tensor([3, 1])
    gradcheck(torch, lambda h, q: sum(t.sum() for t in _attn_pool(torch, h, lengths, q)[:3]), (2, 4, 3), (3,))


@program(_pool_facts, rtol=1e-10, atol=1e-12)
def padded_attention_pooling(torch):
    rng = np.random.default_rng(29)
    h = torch.tensor(rng.standard_normal((3, 5, 4)), requires_grad=True)
    q = torch.tensor(rng.standard_normal(4), requires_grad=True)
    lengths = torch.tensor([5, 2, 4])
    pooled, mean, mx, alpha = _attn_pool(torch, h, lengths, q)
    (pooled.pow(2).sum() + mean.sum() + mx.sum()).backward()
    return dict(pooled=pooled, mean=mean, mx=mx, alpha=alpha, gh=h.grad, gq=q.grad)


# ==========================================================================
# 31. seeding: torch.manual_seed makes initialisation and dropout masks reproducible
# ==========================================================================
def _seed_facts(out, torch):
    assert out["same_init"] and out["same_mask"] and not out["diff_after"]
    assert out["keep_frac_ok"] and out["dropout_mean_ok"]


@program(_seed_facts, rtol=0, atol=0)
def seeded_dropout(torch):
    def init():
        torch.manual_seed(0)
        W = torch.randn(8, 8) * 0.1
        mask = (torch.rand(64, 8) > 0.5).float()
        return W, mask
    W1, m1 = init()
    W2, m2 = init()
    W3 = torch.randn(8, 8)
    x = torch.ones(64, 8)
    dropped = x * m1 / 0.5
    return dict(same_init=torch.equal(W1, W2), same_mask=bool((m1 == m2).all()), diff_after=torch.equal(W1, W3),
                keep_frac_ok=abs(m1.mean().item() - 0.5) < 0.1, dropout_mean_ok=abs(dropped.mean().item() - 1) < 0.2,
                shape=tuple(W1.shape), seed=torch.initial_seed())


# ==========================================================================
# 33. contrastive embeddings: InfoNCE on cosine_similarity, triplet loss on cdist, diag positives;
#     RBF features on a meshgrid of centres
# ==========================================================================
def _contrastive(torch, x1, x2, W, tau=0.5, margin=1.0):
    z1, z2 = x1 @ W, x2 @ W
    sim = torch.cosine_similarity(z1.unsqueeze(1), z2.unsqueeze(0), dim=-1) / tau     # (B, B)
    info_nce = (torch.logsumexp(sim, dim=1) - torch.diag(sim)).mean()
    d = torch.cdist(z1, z2)
    pos = d.diag()
    neg = (d + torch.eye(d.shape[0], dtype=d.dtype) * 1e9).min(dim=1).values
    triplet = torch.clamp(pos - neg + margin, min=0).mean()
    return info_nce + triplet, sim


def _rbf_features(torch, x, n=4, gamma=2.0):
    gx, gy = torch.meshgrid(torch.linspace(-1, 1, n, dtype=x.dtype), torch.linspace(-1, 1, n, dtype=x.dtype),
                            indexing="ij")
    centres = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)                    # (n*n, 2)
    return torch.exp(-gamma * torch.cdist(x, centres) ** 2)


def _contrastive_facts(out, torch):
    decreasing(out["losses"], 0.9)
    assert out["rbf"].shape == (30, 16) and (out["rbf"] > 0).all()
    gradcheck(torch, lambda a, b, W: _contrastive(torch, a, b, W)[0], (4, 3), (4, 3), (3, 2))
    gradcheck(torch, lambda x: _rbf_features(torch, x, 3).sum(), (5, 2))


@program(_contrastive_facts, rtol=1e-8, atol=1e-10)
def contrastive_cosine_cdist(torch):
    rng = np.random.default_rng(30)
    B, D, E = 12, 6, 4
    base = rng.standard_normal((B, D))
    x1 = torch.tensor(base + 0.1 * rng.standard_normal((B, D)))
    x2 = torch.tensor(base + 0.1 * rng.standard_normal((B, D)))
    W = torch.tensor(rng.standard_normal((D, E)) * 0.3, requires_grad=True)
    losses = []
    for step in range(15):
        loss, sim = _contrastive(torch, x1, x2, W)
        W.grad = None
        loss.backward()
        with torch.no_grad():
            W -= 0.5 * W.grad
        losses.append(loss.item())
    acc = (sim.argmax(1) == torch.arange(B)).double().mean().item()
    pts = torch.tensor(rng.uniform(-1, 1, (30, 2)), requires_grad=True)
    rbf = _rbf_features(torch, pts)
    (rbf @ torch.linspace(0, 1, 16, dtype=torch.float64)).sum().backward()
    return dict(losses=losses, W=W, sim=sim, acc=acc, rbf=rbf, gpts=pts.grad)


# ==========================================================================
# 34. attention with an additive relative-position bias via baddbmm, ALiBi-style
# ==========================================================================
def _biased_attention(torch, q, k, v, slopes):
    BH, T, hd = q.shape
    pos = torch.arange(T)
    rel = (pos[None, :] - pos[:, None]).clamp(max=0).to(q.dtype)                 # (T, T), <= 0
    bias = slopes.view(-1, 1, 1) * rel                                            # (BH, T, T)
    scores = torch.baddbmm(bias, q, k.transpose(1, 2), beta=1.0, alpha=1 / math.sqrt(hd))
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    return torch.bmm(scores.masked_fill(causal, float("-inf")).softmax(-1), v)


def _baddbmm_facts(out, torch):
    np.testing.assert_allclose(out["y"][:, 0], out["v0"], rtol=1e-12)               # first token sees itself
    gradcheck(torch, lambda q, k, v, s: _biased_attention(torch, q, k, v, s).sum(), (2, 3, 2), (2, 3, 2), (2, 3, 2),
              (2,))


@program(_baddbmm_facts, rtol=1e-10, atol=1e-12)
def alibi_attention_baddbmm(torch):
    rng = np.random.default_rng(31)
    BH, T, hd = 4, 6, 8
    q, k, v = [torch.tensor(rng.standard_normal((BH, T, hd)), requires_grad=True) for _ in range(3)]
    slopes = torch.tensor([2.0 ** -(i + 1) for i in range(BH)], dtype=torch.float64, requires_grad=True)
    y = _biased_attention(torch, q, k, v, slopes)
    (y ** 2).sum().backward()
    return dict(y=y, v0=v[:, 0], gq=q.grad, gk=k.grad, gv=v.grad, gslopes=slopes.grad)


# ==========================================================================
# 32. retain_grad registered before a tensor hook: torch runs retains_grad hooks last,
#     so .grad holds the hooked gradient whatever the registration order
# ==========================================================================
def _retain_order_facts(out, torch):
    np.testing.assert_allclose(out["h_grad"], 2 * out["plain"])


@program(_retain_order_facts, rtol=1e-12, atol=0)
def retain_grad_before_hook(torch):
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    h = x * x
    h.retain_grad()
    h.register_hook(lambda g: g * 2)
    (h * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    return dict(h_grad=h.grad, gx=x.grad, plain=torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))


# --------------------------------------------------------------------------
# the runner
# --------------------------------------------------------------------------
def _to_np(v):
    if hasattr(v, "detach") and hasattr(v, "numpy"):
        return np.array(v.detach().numpy())
    return v


def _dtype_name(v):
    return str(v.dtype).split(".")[-1] if hasattr(v, "detach") else None


def _compare(name, ours, theirs, rtol, atol):
    assert set(ours) == set(theirs), (set(ours) ^ set(theirs))
    for key in theirs:
        a, b = ours[key], theirs[key]
        where = f"{name}[{key!r}]"
        assert _dtype_name(a) == _dtype_name(b), f"{where}: dtype {_dtype_name(a)} vs torch {_dtype_name(b)}"
        a, b = _to_np(a), _to_np(b)
        if isinstance(b, (str, bool, int)) and not isinstance(b, float):
            assert type(a) is type(b) and a == b, f"{where}: {a!r} vs torch {b!r}"
        elif isinstance(b, tuple) and all(isinstance(t, int) for t in b):
            assert tuple(a) == b, f"{where}: {a!r} vs torch {b!r}"
        else:
            a, b = np.asarray(a), np.asarray(b)
            assert a.shape == b.shape, f"{where}: shape {a.shape} vs torch {b.shape}"
            if b.dtype.kind in "biu":
                np.testing.assert_array_equal(a, b, err_msg=where)
            else:
                np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=where)


def _params():
    return [pytest.param(name, id=name, marks=list(spec["marks"])) for name, spec in PROGRAMS.items()]


@pytest.mark.parametrize("name", _params())
def test_program_matches_torch(name):
    torch = pytest.importorskip("torch")
    spec = PROGRAMS[name]
    theirs = spec["fn"](torch)
    ours = spec["fn"](tinygrad_cn)
    _compare(name, ours, theirs, spec["rtol"], spec["atol"])


@pytest.mark.parametrize("name", _params())
def test_program_self_consistent(name):
    spec = PROGRAMS[name]
    out = {k: _to_np(v) for k, v in spec["fn"](tinygrad_cn).items()}
    spec["facts"](out, tinygrad_cn)


# --------------------------------------------------------------------------
# focused regression tests for the fixes these programs led to
# --------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["triu_indices", "tril_indices"])
@pytest.mark.parametrize("args", [(3, 3), (3, 3, 1), (4, 3, -1), (2, 5, 2), (0, 0), (3, 4, -5), (3, 4, 10)])
def test_tri_indices(fn, args):
    got = getattr(tinygrad_cn, fn)(*args)
    np_fn = np.triu_indices if fn == "triu_indices" else np.tril_indices
    row, col, *off = args
    want = np.stack(np_fn(row, off[0] if off else 0, col)).reshape(2, -1)
    assert got.dtype == tinygrad_cn.int64 and tuple(got.shape) == want.shape
    np.testing.assert_array_equal(got.numpy(), want)
    assert getattr(tinygrad_cn, fn)(3, 3, dtype=tinygrad_cn.int32).dtype == tinygrad_cn.int32
    with pytest.raises(NotImplementedError):
        getattr(tinygrad_cn, fn)(3, 3, dtype=tinygrad_cn.float32)


@pytest.mark.parametrize("name", ["addcmul_", "addcdiv_", "atan2_", "hypot_", "xlogy_", "asin_", "sgn_"])
def test_missing_inplace_methods(name):
    rng = np.random.default_rng(0)
    a = tinygrad_cn.tensor(rng.uniform(0.1, 0.9, 4), requires_grad=True)
    b = tinygrad_cn.tensor(rng.uniform(0.1, 0.9, 4))
    c = tinygrad_cn.tensor(rng.uniform(0.1, 0.9, 4))
    args = {"addcmul_": (b, c), "addcdiv_": (b, c), "atan2_": (b,), "hypot_": (b,), "xlogy_": (b,)}.get(name, ())
    kwargs = {"value": 0.5} if name in ("addcmul_", "addcdiv_") else {}
    y = a * 1
    v = y._version
    r = getattr(y, name)(*args, **kwargs)
    assert r is y and y._version > v
    want = getattr(a * 1, name[:-1])(*args, **kwargs)
    np.testing.assert_allclose(y.detach().numpy(), want.detach().numpy(), rtol=1e-15)
    g_in, = tinygrad_cn.autograd.grad(y.sum(), a)
    g_out, = tinygrad_cn.autograd.grad(want.sum(), a)
    np.testing.assert_allclose(g_in.numpy(), g_out.numpy(), rtol=1e-15)


def test_bucketize_isin_bincount_dtype():
    tg = tinygrad_cn
    b = tg.tensor([0.0, 1.0, 2.0])
    assert tg.bucketize(tg.tensor([[0.5, 1.0, 3.0]]), b).tolist() == [[1, 1, 3]]
    assert tg.bucketize(tg.tensor([0.5, 1.0, 3.0]), b, right=True).tolist() == [1, 2, 3]
    assert tg.bucketize(tg.tensor([1.0]), b, out_int32=True).dtype == tg.int32
    assert tg.isin(tg.tensor([[1, 2], [3, 4]]), tg.tensor([2, 4])).tolist() == [[False, True], [False, True]]
    assert tg.isin(tg.tensor([1, 2]), tg.tensor([2]), invert=True).tolist() == [True, False]
    idx = tg.tensor([0, 1, 1])
    assert tg.bincount(idx).dtype == tg.int64
    assert tg.bincount(idx, weights=tg.tensor([1.0, 2.0, 3.0])).dtype == tg.float32      # as torch
    assert tg.bincount(idx, weights=tg.tensor([1, 2, 3])).dtype == tg.float64


@pytest.mark.parametrize("op", ["addmm", "addmv", "addr", "baddbmm", "addbmm"])
def test_beta_zero_gives_input_a_zero_gradient(op):
    """torch: with beta=0 the input's values are ignored (nan too) but it still gets a zero gradient."""
    tg = tinygrad_cn
    shapes = {"addmm": ((2, 2), (2, 3), (3, 2)), "addmv": ((2,), (2, 3), (3,)), "addr": ((2, 3), (2,), (3,)),
              "baddbmm": ((4, 2, 2), (4, 2, 3), (4, 3, 2)), "addbmm": ((2, 2), (4, 2, 3), (4, 3, 2))}[op]
    inp = tg.full(shapes[0], float("nan"), dtype=tg.float64, requires_grad=True)
    a, b = (tg.ones(s, dtype=tg.float64) for s in shapes[1:])
    y = getattr(tg, op)(inp, a, b, beta=0)
    assert not y.isnan().any()
    y.sum().backward()
    assert inp.grad is not None and (inp.grad == 0).all()


def test_diag_meshgrid_cdist_cosine_similarity():
    tg = tinygrad_cn
    v = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    assert tg.diag(v, 1).tolist() == [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    assert tg.diag(tg.diag(v, -1), -1).tolist() == [1, 2]
    assert tg.autograd.gradgradcheck(lambda t: tg.diag(t, 1), [v])
    x = tg.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    assert tuple(tg.diag_embed(x, 1, 0, 2).shape) == (5, 2, 5, 3)
    assert tg.autograd.gradcheck(lambda t: tg.diag_embed(t, -1, 1, 0), [x])
    g = tg.meshgrid(tg.arange(3), tg.arange(2), indexing="xy")
    assert g[0].tolist() == [[0, 1, 2], [0, 1, 2]] and g[1].tolist() == [[0, 0, 0], [1, 1, 1]]
    with pytest.raises(RuntimeError, match="same dtype"):
        tg.meshgrid(tg.arange(3), tg.tensor([1.0]))
    p = tg.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=tg.float64, requires_grad=True)
    d = tg.cdist(p, p)
    assert d.tolist() == [[0, 5], [5, 0]]
    d.sum().backward()
    assert not p.grad.isnan().any()                          # zero distances: zero gradient, not nan
    c = tg.cosine_similarity(tg.tensor([[0.0, 0.0]]), tg.tensor([[1.0, 0.0]]))
    assert c.tolist() == [0.0]
