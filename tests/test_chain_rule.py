"""Autograd against gradients derived by hand, for a few classic models.

Every model is built from raw tensor ops (matmul, relu, sigmoid, tanh, log,
exp, sum, mean, logsumexp) in float64. The comment above each check writes the
derivation out step by step; the expected gradients are then computed with
NumPy from those formulas, independently of the library.

Notation: n = batch size, ⊙ = element-wise product, 1[.] = indicator,
σ(z) = 1 / (1 + e^-z), Σ_i = sum over the batch (rows).
"""
import numpy as np
import pytest

import tinygrad_cn as torch

RTOL = 1e-10
ATOL = 1e-12


def leaf(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def const(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def grad_np(t):
    assert t.grad is not None
    assert t.grad.dtype == torch.float64
    assert tuple(t.grad.shape) == tuple(t.shape)
    return np.asarray(t.grad.numpy())


def sigmoid_np(z):
    return 1.0 / (1.0 + np.exp(-z))


# ==========================================================================
# (1) logistic regression: sigmoid + binary cross-entropy + L2 penalty
# ==========================================================================
def test_logistic_regression_bce_l2():
    rng = np.random.default_rng(0)
    n, d = 16, 5
    Xv = rng.standard_normal((n, d))
    yv = (rng.random(n) > 0.5).astype(np.float64)
    wv = rng.standard_normal(d) * 0.5
    bv = np.array(0.3)

    X, y = const(Xv), const(yv)
    w, b = leaf(wv), leaf(bv)

    z = X @ w + b                                        # (n,)
    p = z.sigmoid()
    bce = -(y * p.log() + (1 - y) * (1 - p).log()).mean()
    loss = bce + 0.01 * (w ** 2).sum()
    loss.backward()

    # Forward, per sample i:
    #   z_i = x_i·w + b,   p_i = σ(z_i)
    #   L   = -(1/n) Σ_i [ y_i log p_i + (1 - y_i) log(1 - p_i) ] + 0.01 Σ_j w_j²
    # Backward:
    #   ∂L/∂p_i = -(1/n) [ y_i / p_i - (1 - y_i) / (1 - p_i) ]
    #           = (1/n) (p_i - y_i) / (p_i (1 - p_i))
    #   ∂p_i/∂z_i = σ'(z_i) = p_i (1 - p_i)
    #   ⇒ ∂L/∂z_i = (1/n) (p_i - y_i)              (the p(1-p) factors cancel)
    #   ∂z_i/∂w = x_i,  ∂z_i/∂b = 1,  ∂(0.01 Σ w²)/∂w = 0.02 w
    #   ⇒ ∂L/∂w = Xᵀ (p - y) / n + 0.02 w
    #   ⇒ ∂L/∂b = (1/n) Σ_i (p_i - y_i) = mean(p - y)
    pv = sigmoid_np(Xv @ wv + bv)
    dw = Xv.T @ (pv - yv) / n + 0.02 * wv
    db = np.mean(pv - yv)

    loss_np = -np.mean(yv * np.log(pv) + (1 - yv) * np.log(1 - pv)) + 0.01 * np.sum(wv ** 2)
    np.testing.assert_allclose(loss.item(), loss_np, rtol=RTOL)
    np.testing.assert_allclose(grad_np(w), dw, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad_np(b), db, rtol=RTOL, atol=ATOL)


# ==========================================================================
# (2) Linear - ReLU - Linear - MSE
# ==========================================================================
def test_linear_relu_linear_mse():
    rng = np.random.default_rng(1)
    n, d, h, k = 8, 4, 6, 3
    Xv = rng.standard_normal((n, d))
    Tv = rng.standard_normal((n, k))
    W1v = rng.standard_normal((d, h)) * 0.7
    b1v = rng.standard_normal(h) * 0.1
    W2v = rng.standard_normal((h, k)) * 0.7
    b2v = rng.standard_normal(k) * 0.1
    Zv = Xv @ W1v + b1v
    assert np.abs(Zv).min() > 1e-6  # keep away from relu's kink

    X, T = leaf(Xv), const(Tv)
    W1, b1, W2, b2 = leaf(W1v), leaf(b1v), leaf(W2v), leaf(b2v)

    Z = X @ W1 + b1
    H = Z.relu()
    Yhat = H @ W2 + b2
    loss = ((Yhat - T) ** 2).mean()
    loss.backward()

    # Forward:  Z = X W1 + b1,  H = relu(Z),  Ŷ = H W2 + b2,
    #           L = (1/(n k)) Σ_{i,j} (Ŷ_ij - T_ij)²
    # Backward, one step at a time:
    #   dŶ  = ∂L/∂Ŷ = 2 (Ŷ - T) / (n k)
    #   dW2 = Hᵀ dŶ                       (Ŷ = H W2: ∂/∂W2 picks Hᵀ on the left)
    #   db2 = Σ_i dŶ_i                    (b2 is broadcast over the rows)
    #   dH  = dŶ W2ᵀ
    #   dZ  = dH ⊙ 1[Z > 0]               (relu'(z) = 1 for z > 0, else 0)
    #   dW1 = Xᵀ dZ
    #   db1 = Σ_i dZ_i
    #   dX  = dZ W1ᵀ
    Hv = np.maximum(Zv, 0)
    Yv = Hv @ W2v + b2v
    dY = 2 * (Yv - Tv) / (n * k)
    dW2 = Hv.T @ dY
    db2 = dY.sum(0)
    dH = dY @ W2v.T
    dZ = dH * (Zv > 0)
    dW1 = Xv.T @ dZ
    db1 = dZ.sum(0)
    dX = dZ @ W1v.T

    np.testing.assert_allclose(loss.item(), np.mean((Yv - Tv) ** 2), rtol=RTOL)
    for t, expected in ((W2, dW2), (b2, db2), (W1, dW1), (b1, db1), (X, dX)):
        np.testing.assert_allclose(grad_np(t), expected, rtol=RTOL, atol=ATOL)


# ==========================================================================
# (3) two-layer softmax classifier with cross-entropy
# ==========================================================================
def test_two_layer_softmax_classifier_cross_entropy():
    rng = np.random.default_rng(2)
    n, d, h, c = 10, 4, 5, 3
    Xv = rng.standard_normal((n, d))
    labels = rng.integers(0, c, n)
    onehot_v = np.eye(c)[labels]
    W1v = rng.standard_normal((d, h)) * 0.8
    b1v = rng.standard_normal(h) * 0.2
    W2v = rng.standard_normal((h, c)) * 0.8
    b2v = rng.standard_normal(c) * 0.2

    X, Y = const(Xv), const(onehot_v)
    W1, b1, W2, b2 = leaf(W1v), leaf(b1v), leaf(W2v), leaf(b2v)

    A = X @ W1 + b1
    H = A.tanh()
    S = H @ W2 + b2                                      # logits (n, c)
    # cross-entropy = mean_i [ logsumexp(S_i) - S_i,y_i ]
    loss = (S.logsumexp(dim=1) - (S * Y).sum(dim=1)).mean()
    loss.backward()

    # Forward:  A = X W1 + b1,  H = tanh(A),  S = H W2 + b2,
    #           P = softmax(S) row-wise,  L = (1/n) Σ_i [ log Σ_c e^{S_ic} - S_i,y_i ]
    # Backward:
    #   ∂/∂S_ic log Σ_c' e^{S_ic'} = e^{S_ic} / Σ_c' e^{S_ic'} = P_ic
    #   ∂/∂S_ic S_i,y_i = onehot_ic
    #   ⇒ dS  = (P - onehot) / n
    #   dW2 = Hᵀ dS,   db2 = Σ_i dS_i
    #   dH  = dS W2ᵀ
    #   dA  = dH ⊙ (1 - H²)               (tanh' = 1 - tanh²)
    #   dW1 = Xᵀ dA,   db1 = Σ_i dA_i
    Av = Xv @ W1v + b1v
    Hv = np.tanh(Av)
    Sv = Hv @ W2v + b2v
    Pv = np.exp(Sv - Sv.max(1, keepdims=True))
    Pv /= Pv.sum(1, keepdims=True)
    dS = (Pv - onehot_v) / n
    dW2 = Hv.T @ dS
    db2 = dS.sum(0)
    dH = dS @ W2v.T
    dA = dH * (1 - Hv ** 2)
    dW1 = Xv.T @ dA
    db1 = dA.sum(0)

    loss_np = np.mean(-np.log(Pv[np.arange(n), labels]))
    np.testing.assert_allclose(loss.item(), loss_np, rtol=RTOL)
    for t, expected in ((W2, dW2), (b2, db2), (W1, dW1), (b1, db1)):
        np.testing.assert_allclose(grad_np(t), expected, rtol=RTOL, atol=ATOL)


def test_softmax_cross_entropy_logit_gradient_rows_sum_to_zero():
    # From dS = (P - onehot)/n: each row sums to (1 - 1)/n = 0.
    rng = np.random.default_rng(3)
    Sv = rng.standard_normal((6, 4)) * 3
    Yv = np.eye(4)[rng.integers(0, 4, 6)]
    S = leaf(Sv)
    (S.logsumexp(dim=1) - (S * const(Yv)).sum(dim=1)).mean().backward()
    np.testing.assert_allclose(grad_np(S).sum(1), np.zeros(6), atol=1e-15)


# ==========================================================================
# (4) tanh / sigmoid chains
# ==========================================================================
def test_tanh_sigmoid_chain():
    xv = np.array([-1.3, -0.2, 0.4, 1.7])
    x = leaf(xv)
    u = x.tanh()
    v = (2 * u).sigmoid()
    w = (v * u).tanh()
    w.sum().backward()

    # Forward:  u = tanh(x),  v = σ(2u),  w = tanh(v u),  L = Σ w
    # Backward (element-wise):
    #   ∂L/∂w = 1
    #   ∂w/∂(vu) = 1 - w²                              (d tanh = 1 - tanh²)
    #   vu depends on u twice: directly (∂(vu)/∂u = v) and through v (∂(vu)/∂v = u)
    #   ∂v/∂u = 2 σ'(2u) = 2 v (1 - v)                 (d sigmoid = s (1 - s))
    #   ⇒ ∂L/∂u = (1 - w²) (v + u · 2 v (1 - v))
    #   ∂u/∂x = 1 - u²
    #   ⇒ ∂L/∂x = (1 - w²) (v + 2 u v (1 - v)) (1 - u²)
    uv = np.tanh(xv)
    vv = sigmoid_np(2 * uv)
    wv = np.tanh(vv * uv)
    dx = (1 - wv ** 2) * (vv + 2 * uv * vv * (1 - vv)) * (1 - uv ** 2)
    np.testing.assert_allclose(grad_np(x), dx, rtol=RTOL, atol=ATOL)


def test_deep_sigmoid_chain_is_product_of_local_derivatives():
    xv = np.array([-2.0, 0.0, 0.5, 3.0])
    x = leaf(xv)
    y = x
    for _ in range(6):
        y = y.sigmoid()
    y.sum().backward()

    # s_0 = x, s_k = σ(s_{k-1}) for k = 1..6
    # ∂s_k/∂s_{k-1} = s_k (1 - s_k)  ⇒  ∂s_6/∂x = Π_{k=1..6} s_k (1 - s_k)
    s = xv.copy()
    prod = np.ones_like(xv)
    for _ in range(6):
        s = sigmoid_np(s)
        prod *= s * (1 - s)
    np.testing.assert_allclose(grad_np(x), prod, rtol=RTOL, atol=ATOL)


def test_tanh_second_derivative_by_hand():
    xv = np.array([-0.8, 0.3, 1.1])
    x = leaf(xv)
    (g,) = torch.autograd.grad(x.tanh().sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    # t = tanh x;  t' = 1 - t²;  t'' = d(1 - t²)/dx = -2 t t' = -2 t (1 - t²)
    t = np.tanh(xv)
    np.testing.assert_allclose(np.asarray(g.detach().numpy()), 1 - t ** 2, rtol=RTOL)
    np.testing.assert_allclose(np.asarray(h.numpy()), -2 * t * (1 - t ** 2), rtol=RTOL)


def test_sigmoid_second_derivative_by_hand():
    xv = np.array([-1.5, 0.0, 2.2])
    x = leaf(xv)
    (g,) = torch.autograd.grad(x.sigmoid().sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    # s' = s (1 - s);  s'' = s' (1 - s) - s s' = s (1 - s) (1 - 2 s)
    s = sigmoid_np(xv)
    np.testing.assert_allclose(np.asarray(g.detach().numpy()), s * (1 - s), rtol=RTOL)
    np.testing.assert_allclose(np.asarray(h.numpy()), s * (1 - s) * (1 - 2 * s), rtol=RTOL, atol=ATOL)


# ==========================================================================
# (5) BatchNorm-style normalisation over the batch
# ==========================================================================
def _batchnorm_expected(Xv, gv, Gv, eps):
    # Forward (per feature column, over the n rows):
    #   μ = (1/n) Σ_i x_i
    #   σ² = (1/n) Σ_i (x_i - μ)²            (biased variance, as BatchNorm uses)
    #   x̂_i = (x_i - μ) / sqrt(σ² + ε)
    #   y_i = γ x̂_i + β,     L = Σ_i Σ_j G_ij y_ij   ⇒ dY = G
    # Backward:
    #   dβ = Σ_i dy_i
    #   dγ = Σ_i dy_i ⊙ x̂_i
    #   dx̂ = dy ⊙ γ
    #   x̂ depends on x_i directly, through μ and through σ²:
    #   dσ² = Σ_i dx̂_i (x_i - μ) · (-1/2) (σ² + ε)^(-3/2)
    #   dμ  = Σ_i dx̂_i · (-1/sqrt(σ² + ε)) + dσ² · (-2/n) Σ_i (x_i - μ)   (the last sum is 0)
    #   dx_i = dx̂_i / sqrt(σ² + ε) + dσ² · 2 (x_i - μ) / n + dμ / n
    #   which simplifies to the closed form
    #   dx = (1/n) / sqrt(σ² + ε) · ( n dx̂ - Σ_i dx̂_i - x̂ ⊙ Σ_i (dx̂_i ⊙ x̂_i) )
    n = Xv.shape[0]
    mu = Xv.mean(0)
    var = ((Xv - mu) ** 2).mean(0)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (Xv - mu) * inv_std
    dbeta = Gv.sum(0)
    dgamma = (Gv * xhat).sum(0)
    dxhat = Gv * gv
    dX = (inv_std / n) * (n * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0))

    # the same gradient the long way, to check the simplification above
    dvar = (dxhat * (Xv - mu)).sum(0) * -0.5 * (var + eps) ** -1.5
    dmu = (-dxhat * inv_std).sum(0) + dvar * (-2.0 / n) * (Xv - mu).sum(0)
    dX_long = dxhat * inv_std + dvar * 2 * (Xv - mu) / n + dmu / n
    np.testing.assert_allclose(dX, dX_long, rtol=1e-10, atol=1e-12)
    return dX, dgamma, dbeta


@pytest.mark.parametrize("variance", ["mean_of_squares", "var_unbiased_false"])
def test_batchnorm_closed_form_gradient(variance):
    rng = np.random.default_rng(4)
    n, d, eps = 12, 5, 1e-5
    Xv = rng.standard_normal((n, d)) * 2 + 1
    gv = rng.standard_normal(d)
    bv = rng.standard_normal(d)
    Gv = rng.standard_normal((n, d))

    X, gamma, beta = leaf(Xv), leaf(gv), leaf(bv)
    mu = X.mean(dim=0)
    if variance == "mean_of_squares":
        var = ((X - mu) ** 2).mean(dim=0)
    else:
        var = X.var(dim=0, unbiased=False)
    xhat = (X - mu) / (var + eps).sqrt()
    Y = gamma * xhat + beta
    (Y * const(Gv)).sum().backward()

    dX, dgamma, dbeta = _batchnorm_expected(Xv, gv, Gv, eps)
    np.testing.assert_allclose(grad_np(beta), dbeta, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad_np(gamma), dgamma, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad_np(X), dX, rtol=1e-9, atol=1e-11)


def test_batchnorm_input_gradient_sums_to_zero_per_feature():
    # From the closed form: Σ_i dx_i ∝ n Σ dx̂ - n Σ dx̂ - (Σ_i x̂_i) (...) = 0, since Σ_i x̂_i = 0.
    rng = np.random.default_rng(5)
    Xv = rng.standard_normal((9, 3))
    X = leaf(Xv)
    mu = X.mean(dim=0)
    xhat = (X - mu) / (((X - mu) ** 2).mean(dim=0) + 1e-5).sqrt()
    (xhat * const(rng.standard_normal((9, 3)))).sum().backward()
    np.testing.assert_allclose(grad_np(X).sum(0), np.zeros(3), atol=1e-12)
