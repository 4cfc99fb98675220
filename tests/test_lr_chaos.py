r"""Learning-rate chaos: gradient descent on a slightly anharmonic well is the logistic map.

The loss is a quadratic minimum plus a cubic term,

    f(x) = x^2/2 - x^3/3,    f'(x) = x - x^2,    f''(x) = 1 - 2x,

with its minimum at x* = 0 (curvature f''(0) = 1) and a maximum at x = 1
(f''(1) = -1). Plain gradient descent with learning rate eta iterates

    x_{n+1} = g(x_n) = x_n - eta f'(x_n) = (1 - eta) x_n + eta x_n^2.

**Logistic conjugacy.** With u = 1 - x, g gives 1 - g = u((1 + eta) - eta u),
so y = eta (1 - x) / (1 + eta) obeys y_{n+1} = r y_n (1 - y_n) with
r = 1 + eta: the learning rate plays the logistic parameter shifted by one,
and everything known about the logistic map carries over. Its invariant
interval y in [0, 1] is x in [-1/eta, 1] (for eta <= 3).

**Fixed points.** g(x) = x  <=>  eta x (x - 1) = 0: the minimum x = 0 and
the maximum x = 1. The multiplier at the minimum is

    g'(0) = 1 - eta f''(0) = 1 - eta,

so the minimum attracts iff |1 - eta f''(x*)| < 1, i.e. 0 < eta < 2 = 2/f''(x*)
(the familiar "lr below 2 / curvature"); for 1 < eta < 2 the iterates
approach it oscillating, with error ratio |1 - eta|. At eta = 2 the
multiplier passes -1: a period-doubling (flip) bifurcation.

**The 2-cycle.** A pair p != q with g(p) = q, g(q) = p. Subtracting the two
equations and dividing by p - q gives -1 = 1 - eta + eta (p + q); adding them
gives p + q = (p + q)^2 - 2pq. Hence

    p + q = (eta - 2)/eta,    pq = -(eta - 2)/eta^2,
    p, q = [(eta - 2) +- sqrt((eta - 2)(eta + 2))] / (2 eta),

real exactly when eta > 2 (it is born from x* at the flip). Its multiplier is

    g'(p) g'(q) = (1 - eta)^2 + 2 eta (1 - eta)(p + q) + 4 eta^2 pq = 5 - eta^2,

so the 2-cycle is stable iff |5 - eta^2| < 1: the **period-2 window is
2 < eta < sqrt(6) ~ 2.449**. At sqrt(6) the multiplier reaches -1 and a stable
4-cycle takes over (the real roots of g^4(x) = x that are not of period 1
or 2). The doublings continue at eta ~ 2.5441 (period 8), 2.5644 (16), ...
(the logistic r_n - 1), accumulating at eta_inf ~ 2.5699 with Feigenbaum's
ratio 4.669. Beyond lies chaos, broken by windows (period 3 opens at
eta = sqrt(8) ~ 2.828, where r = 1 + sqrt(8)); at eta = 3 (r = 4) the orbit
is fully chaotic with Lyapunov exponent

    lambda = lim (1/N) sum ln |g'(x_n)| = lim (1/N) sum ln |1 - eta f''(x_n)| = ln 2.

In the 2-cycle the same average is ln|5 - eta^2| / 2 < 0. For eta > 3 the
interval is no longer invariant: the iterate is thrown over the maximum at
x = 1 and runs away down the cubic (f -> -inf).

The gradient in the tests below comes from tinygrad_cn's autograd (a scalar
tensor, ``loss.backward()``, an update under ``no_grad`` or ``optim.SGD``);
the wide lr sweep uses the same map on plain floats (vectorised over eta
with NumPy) to stay fast.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cn
from tinygrad_cn import optim

X0 = 0.3  # a start inside the invariant interval [-1/eta, 1] for every eta <= 3
SQRT6 = math.sqrt(6.0)


def loss_fn(x):
    """f(x) = x^2/2 - x^3/3 on a tensor."""
    return x ** 2 / 2 - x ** 3 / 3


def g(x: float, eta: float) -> float:
    """One gradient-descent step on plain floats, f'(x) = x - x^2 written by hand."""
    return x - eta * (x - x * x)


def orbit(eta: float, n: int, x: float = X0) -> list[float]:
    xs = [x]
    for _ in range(n):
        x = g(x, eta)
        xs.append(x)
    return xs


def autograd_descent(eta: float, n: int, x0: float = X0) -> list[float]:
    """Gradient descent with the gradient from autograd and the update under no_grad."""
    x = tinygrad_cn.tensor(x0, dtype=tinygrad_cn.float64, requires_grad=True)
    xs = [x0]
    for _ in range(n):
        loss_fn(x).backward()
        with tinygrad_cn.no_grad():
            x -= eta * x.grad
        x.grad = None
        xs.append(x.item())
    return xs


def sgd_descent(eta: float, n: int, x0: float = X0) -> list[float]:
    """The same descent through ``optim.SGD``: the library's training loop, verbatim."""
    x = tinygrad_cn.tensor(x0, dtype=tinygrad_cn.float64, requires_grad=True)
    opt = optim.SGD([x], lr=eta)
    xs = [x0]
    for _ in range(n):
        opt.zero_grad()
        loss_fn(x).backward()
        opt.step()
        xs.append(x.item())
    return xs


def two_cycle(eta: float) -> tuple[float, float]:
    """The analytic 2-cycle (p, q), p > q, which exists for eta > 2."""
    root = math.sqrt((eta - 2) * (eta + 2))
    return ((eta - 2) + root) / (2 * eta), ((eta - 2) - root) / (2 * eta)


def period(xs, tol: float = 1e-9, max_period: int = 64):
    """Smallest p such that the sequence repeats with period p to ``tol``, else None."""
    xs = np.asarray(xs)
    for p in range(1, min(max_period, len(xs) // 2) + 1):  # at least p comparisons per candidate
        if np.all(np.abs(xs[p:] - xs[:-p]) < tol):
            return p
    return None


def lyapunov(eta: float, n: int = 20000, burn: int = 1000) -> float:
    """Average log-stretch ln|g'(x)| = ln|1 - eta + 2 eta x| along the orbit."""
    xs = orbit(eta, burn + n)[burn:burn + n]
    return sum(math.log(abs(1 - eta + 2 * eta * x)) for x in xs) / n


# ---------------------------------------------------------------------------
# the loss, through autograd
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("x0", [-0.7, 0.0, 0.3, 1.0, 2.5])
def test_autograd_gradient_and_curvature_of_the_loss(x0):
    x = tinygrad_cn.tensor(x0, dtype=tinygrad_cn.float64, requires_grad=True)
    (grad,) = tinygrad_cn.autograd.grad(loss_fn(x), x, create_graph=True)
    (curv,) = tinygrad_cn.autograd.grad(grad, x)
    assert grad.item() == pytest.approx(x0 - x0 ** 2, abs=1e-15)
    assert curv.item() == pytest.approx(1 - 2 * x0, abs=1e-15)


def test_critical_learning_rate_is_two_over_the_curvature_at_the_minimum():
    """|1 - eta f''(x*)| = 1 at eta = 2/f''(0): f'' from double backward gives eta_c = 2."""
    x = tinygrad_cn.tensor(0.0, dtype=tinygrad_cn.float64, requires_grad=True)
    (grad,) = tinygrad_cn.autograd.grad(loss_fn(x), x, create_graph=True)
    (curv,) = tinygrad_cn.autograd.grad(grad, x)
    assert grad.item() == 0.0  # x = 0 is a critical point
    eta_c = 2.0 / curv.item()
    assert eta_c == 2.0
    assert abs(1 - eta_c * curv.item()) == 1.0


def test_descent_is_the_logistic_map_with_r_equal_one_plus_eta():
    eta = 2.3
    r = 1 + eta
    y = eta * (1 - X0) / (1 + eta)
    for x in autograd_descent(eta, 40)[1:]:
        y = r * y * (1 - y)
        assert eta * (1 - x) / (1 + eta) == pytest.approx(y, abs=1e-12)


# ---------------------------------------------------------------------------
# below eta = 2: convergence to the minimum
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("eta", [0.3, 1.0, 1.5, 1.9])
def test_below_the_threshold_descent_converges_to_the_minimum(eta):
    xs = autograd_descent(eta, 300)
    assert abs(xs[-1]) < 1e-12
    assert period(xs[-20:], tol=1e-12) == 1


@pytest.mark.parametrize("eta", [0.3, 1.5, 1.9])
def test_convergence_rate_is_the_multiplier_one_minus_eta(eta):
    """Near x* the error shrinks by g'(0) = 1 - eta per step (with sign: oscillating above eta = 1)."""
    xs = orbit(eta, 400)
    ratios = [b / a for a, b in zip(xs[150:160], xs[151:161])]
    assert ratios == pytest.approx([1 - eta] * 10, abs=1e-6)


# ---------------------------------------------------------------------------
# 2 < eta < sqrt(6): the analytic 2-cycle
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("eta", [2.05, 2.2, 2.3, 2.4])
def test_period_two_window_alternates_between_the_analytic_cycle(eta):
    p, q = two_cycle(eta)
    late = orbit(eta, 3000)[-40:]
    assert period(late, tol=1e-12) == 2
    assert sorted(late[:2], reverse=True) == pytest.approx([p, q], abs=1e-12)
    assert p - q > 0.1  # a genuine 2-cycle, not the fixed point
    assert g(p, eta) == pytest.approx(q, abs=1e-15) and g(q, eta) == pytest.approx(p, abs=1e-15)


def test_period_two_through_autograd_and_sgd():
    """The framework's own training loop lands on the predicted 2-cycle, and so does its SGD."""
    eta = 2.2
    p, q = two_cycle(eta)
    for xs in (autograd_descent(eta, 300), sgd_descent(eta, 300)):
        late = xs[-10:]
        assert period(late, tol=1e-12) == 2
        assert sorted(late[:2], reverse=True) == pytest.approx([p, q], abs=1e-12)


@pytest.mark.parametrize("eta", [2.2, 2.4])
def test_two_cycle_multiplier_and_lyapunov_exponent(eta):
    p, q = two_cycle(eta)
    multiplier = (1 - eta + 2 * eta * p) * (1 - eta + 2 * eta * q)
    assert multiplier == pytest.approx(5 - eta ** 2, abs=1e-12)
    assert abs(multiplier) < 1
    assert lyapunov(eta, n=2000) == pytest.approx(math.log(abs(5 - eta ** 2)) / 2, abs=1e-6)


# ---------------------------------------------------------------------------
# beyond sqrt(6): period 4, the cascade, chaos
# ---------------------------------------------------------------------------
def _polynomial_cycle_points(eta: float, k: int) -> np.ndarray:
    """Real roots of g^k(x) - x (points of period dividing k), from the composed polynomial."""
    from numpy.polynomial import polynomial as P

    gk = step = np.array([0.0, 1 - eta, eta])
    for _ in range(k - 1):
        composed = np.zeros(1)
        for c in gk[::-1]:  # Horner: gk(step(x))
            composed = P.polyadd(P.polymul(composed, step), [c])
        gk = composed
    roots = P.polyroots(P.polysub(gk, [0.0, 1.0]))
    return np.sort(roots[np.abs(roots.imag) < 1e-7].real)


def test_period_four_just_past_sqrt6_matches_the_roots_of_g4():
    eta = 2.5
    late = orbit(eta, 4000)[-64:]
    assert period(late, tol=1e-12) == 4
    lower = set(np.round(_polynomial_cycle_points(eta, 2), 6))  # the fixed points and the unstable 2-cycle
    cycle4 = [x for x in _polynomial_cycle_points(eta, 4) if round(x, 6) not in lower]
    assert len(cycle4) >= 4
    observed = sorted(late[:4])
    for x in observed:
        assert min(abs(x - c) for c in cycle4) < 1e-7
    multiplier = np.prod([1 - eta + 2 * eta * x for x in observed])
    assert abs(multiplier) < 1  # it is the stable one
    p, q = two_cycle(eta)
    assert abs((1 - eta + 2 * eta * p) * (1 - eta + 2 * eta * q)) > 1  # while the 2-cycle has lost stability


def test_sweep_finds_the_period_doubling_thresholds():
    """Sweep eta on a grid (vectorised), classify the late orbit, and read off where the period doubles."""
    step = 0.005
    etas = np.arange(0.5, 3.0, step) + step / 2  # midpoints: no grid point sits on a bifurcation
    x = np.full(etas.shape, X0)
    for _ in range(6000):  # long transient: convergence is slow next to each bifurcation
        x = x - etas * (x - x * x)
    late = np.empty((64, etas.size))
    for i in range(64):
        x = x - etas * (x - x * x)
        late[i] = x
    periods = [period(late[:, k], tol=1e-7) for k in range(etas.size)]

    def first(p):
        return etas[periods.index(p)]

    assert all(p == 1 for e, p in zip(etas, periods) if e < 2)
    assert np.all(np.abs(late[:, etas < 2]) < 1e-7)  # converged to the minimum
    assert 2.0 < first(2) <= 2.0 + step
    assert SQRT6 < first(4) <= SQRT6 + step
    assert 2.54409 < first(8) <= 2.54409 + step  # logistic r_3 = 3.54409
    # the cascade comes in order 1, 2, 4, 8, 16 before the first aperiodic orbit
    cascade = []
    for p in periods:
        if p is None:
            break
        if not cascade or p != cascade[-1]:
            cascade.append(p)
    assert cascade == [1, 2, 4, 8, 16]
    onset = etas[periods.index(None)]
    assert 2.5699 - step < onset < 2.5699 + step  # the accumulation point eta_inf = r_inf - 1
    # (sqrt6 - 2) / (eta_3 - sqrt6): the first Feigenbaum ratio, already near 4.669
    assert 4.4 < (first(4) - first(2)) / (first(8) - first(4)) < 5.1


def test_period_three_window_opens_at_sqrt8():
    eta = 2.835  # inside the window sqrt(8) < eta < ~2.8415
    assert period(orbit(eta, 5000)[-60:], tol=1e-10) == 3
    assert period(orbit(math.sqrt(8) - 0.01, 5000)[-60:], tol=1e-10) is None


@pytest.mark.parametrize("eta", [2.75, 2.9])
def test_deep_in_the_chaotic_range_the_orbit_fills_many_values(eta):
    late = np.array(orbit(eta, 4000)[-2000:])
    assert period(late, tol=1e-6) is None
    assert len(np.unique(np.round(late, 9))) > 1500
    # the orbit spreads over most of the invariant interval [-1/eta, 1] ...
    assert late.max() - late.min() > 0.6
    # ... and never leaves it
    assert late.min() >= -1 / eta - 1e-12 and late.max() <= 1 + 1e-12
    assert lyapunov(eta) > 0.2


def test_lyapunov_exponent_signs_and_the_r4_value():
    assert lyapunov(1.5) == pytest.approx(math.log(0.5), abs=1e-9)  # at x* the stretch is |1 - eta|
    assert lyapunov(2.9) == pytest.approx(0.494, abs=0.03)  # logistic r = 3.9
    assert lyapunov(3.0) == pytest.approx(math.log(2), abs=0.02)  # r = 4: exactly ln 2


def test_chaotic_orbits_separate_exponentially_through_autograd():
    """Two autograd descents started 1e-10 apart: the gap grows ~ e^(lambda n) until it is O(1)."""
    eta = 2.9
    a = autograd_descent(eta, 80, X0)
    b = autograd_descent(eta, 80, X0 + 1e-10)
    gaps = [abs(u - v) for u, v in zip(a, b)]
    assert gaps[5] < 1e-8
    assert max(gaps[40:]) > 0.1
    # and the same lr in the period-2 window forgets the perturbation instead
    a = autograd_descent(2.2, 80, X0)
    b = autograd_descent(2.2, 80, X0 + 1e-10)
    assert abs(a[-1] - b[-1]) < 1e-15


def test_beyond_three_descent_escapes_over_the_maximum():
    eta = 3.2
    x, n = X0, 0
    while abs(x) < 1e6 and n < 10000:
        x = g(x, eta)
        n += 1
    assert x > 1e6  # thrown past x = 1, then runs down the cubic
