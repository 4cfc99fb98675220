"""The classic optimizer experiments (as in Dive into Deep Learning, ch. 12),
run with tinygrad_cn.optim and checked for their known qualitative facts.

f(x1, x2) = 0.1 x1^2 + 2 x2^2 is badly conditioned: steep along x2, flat
along x1. Rosenbrock's banana valley is the other classic. Every run starts
from the same point and takes the same number of steps.
"""
import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn import optim

START = (-5.0, -2.0)
ROSEN_START = (-1.5, 2.0)


def f_2d(x):
    return 0.1 * x[0] ** 2 + 2 * x[1] ** 2


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def trajectory(f, start, name, nsteps, **kw):
    """Points x_0 .. x_n (rows) and the optimizer."""
    x = tg.tensor(np.array(start, dtype=np.float64), requires_grad=True)
    opt = getattr(optim, name)([x], **kw)
    points = [x.detach().numpy().copy()]
    for _ in range(nsteps):
        opt.zero_grad()
        f(x).backward()
        opt.step()
        points.append(x.detach().numpy().copy())
    return np.array(points), opt


def test_gradient_descent_oscillates_along_the_steep_axis():
    """lr 0.4: x2 <- (1 - 0.4 * 4) x2 = -0.6 x2, so its sign alternates,
    while x1 <- (1 - 0.4 * 0.2) x1 = 0.92 x1 creeps towards 0."""
    pts, _ = trajectory(f_2d, START, "SGD", 20, lr=0.4)
    signs = np.sign(pts[:, 1])
    assert np.all(signs[1:] == -signs[:-1])
    t = np.arange(21)
    np.testing.assert_allclose(pts[:, 0], -5 * 0.92 ** t, rtol=1e-12)
    np.testing.assert_allclose(pts[:, 1], -2 * (-0.6) ** t, rtol=1e-12, atol=1e-15)


def test_momentum_converges_faster_than_gradient_descent():
    gd, _ = trajectory(f_2d, START, "SGD", 20, lr=0.4)
    mom, _ = trajectory(f_2d, START, "SGD", 20, lr=0.4, momentum=0.5)
    assert np.linalg.norm(mom[-1]) < 0.1 * np.linalg.norm(gd[-1])
    assert f_2d(mom[-1]) < f_2d(gd[-1])


def test_adagrad_effective_step_size_only_shrinks():
    pts, opt = trajectory(f_2d, START, "Adagrad", 1, lr=0.4)
    (x,) = opt.param_groups[0]["params"]
    rates = []
    for _ in range(30):
        s = opt.state[x]["sum"].numpy().copy()
        rates.append(0.4 / (np.sqrt(s) + 1e-10))
        opt.zero_grad()
        f_2d(x).backward()
        opt.step()
    rates = np.array(rates)
    assert np.all(np.diff(rates, axis=0) <= 0)  # per coordinate, never grows
    assert np.all(rates[-1] < rates[0])
    # the shrinking steps stall it far from the minimum (the well-known weakness)
    assert np.linalg.norm(x.detach().numpy()) > 1.0


def test_rmsprop_reaches_the_minimum_neighbourhood():
    pts, _ = trajectory(f_2d, START, "RMSprop", 20, lr=0.4, alpha=0.9)
    assert np.linalg.norm(pts[-1]) < 0.05
    adagrad, _ = trajectory(f_2d, START, "Adagrad", 20, lr=0.4)
    assert np.linalg.norm(pts[-1]) < np.linalg.norm(adagrad[-1])


@pytest.mark.parametrize("lr", [0.4, 0.05])
@pytest.mark.parametrize("start", [START, (0.3, -7.0), (1e-3, 2.0)])
def test_adam_first_step_is_lr_in_each_coordinate(lr, start):
    """Bias correction: m_hat = g and v_hat = g^2 at t = 1, so each
    coordinate moves by lr * g / (|g| + eps), i.e. lr up to eps."""
    pts, _ = trajectory(f_2d, start, "Adam", 1, lr=lr)
    step = np.abs(pts[1] - pts[0])
    g = np.abs([0.2 * start[0], 4 * start[1]])
    np.testing.assert_allclose(step, lr * g / (g + 1e-8), rtol=1e-12)
    assert np.all(step <= lr)
    np.testing.assert_allclose(step, lr, rtol=1e-4)  # eps / |g| <= 5e-5 here


def test_rosenbrock_valley():
    """Plain gradient descent creeps down the curved valley; momentum and
    Adam reach the minimum (1, 1) in the same number of steps."""
    n = 2000
    gd, _ = trajectory(rosenbrock, ROSEN_START, "SGD", n, lr=1e-3)
    values = np.array([rosenbrock(p) for p in gd])
    assert np.all(np.diff(values) <= 1e-12)  # small steps: monotone descent
    assert values[-1] > 0.05  # ... but still far from the minimum
    mom, _ = trajectory(rosenbrock, ROSEN_START, "SGD", n, lr=1e-3, momentum=0.9)
    adam, _ = trajectory(rosenbrock, ROSEN_START, "Adam", n, lr=0.02)
    np.testing.assert_allclose(mom[-1], [1.0, 1.0], atol=1e-3)
    np.testing.assert_allclose(adam[-1], [1.0, 1.0], atol=2e-2)
    assert rosenbrock(mom[-1]) < values[-1] and rosenbrock(adam[-1]) < values[-1]
