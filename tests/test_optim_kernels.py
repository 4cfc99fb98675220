"""Fused optimizer steps (csrc/optim.c) against their NumPy reference, an
independent float64 implementation written here from the textbook formulas,
and torch.optim (foreach=False), over 20 steps for every option combination.

The compiled kernels follow torch's single-tensor formulas operation by
operation, as the reference does, so compiled and reference must agree bit
for bit at every SIMD level, on 1 and 2 threads and whatever the split of the
call. Compiled tests skip when the extension is not in use, unless
TINYGRAD_CN_REQUIRE_C=1 turns that into a failure. Torch tests skip without
torch.
"""

import functools
import itertools

import numpy as np
import pytest

from tinygrad_cn.testing import require_compiled as _require_compiled

import tinygrad_cn._C as C
from tinygrad_cn._C import kernels, reference

try:
    import torch
except ImportError:  # torch is an oracle only
    torch = None

LEVELS = ("generic", "avx2", "avx512")
DTYPES = (np.float32, np.float64)
NSTEPS = 20
# Several tensors per call: empty, one element, odd, and a total above the
# parallel threshold (16384) so that 2 threads split the call inside a tensor.
SIZES_BIG = (0, 1, 7, 1000, 9011, 3, 0, 7345)
SIZES_SMALL = (0, 1, 7, 33, 130)
NAMES = ("sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam")


# --------------------------------------------------------------------------
# option combinations (our keyword arguments; "init" is Adagrad's
# initial_accumulator_value, applied by the runner)
# --------------------------------------------------------------------------

def _grid(base, **axes):
    keys = list(axes)
    return [dict(base, **dict(zip(keys, vals))) for vals in itertools.product(*(axes[k] for k in keys))]


def _sgd_combos():
    out = []
    for wd, mx in itertools.product((0.0, 0.01), (False, True)):
        base = dict(lr=0.05, weight_decay=wd, maximize=mx)
        out.append(dict(base, momentum=0.0))
        out.append(dict(base, momentum=0.9, dampening=0.0, nesterov=False))
        out.append(dict(base, momentum=0.9, dampening=0.0, nesterov=True))
        out.append(dict(base, momentum=0.8, dampening=0.3, nesterov=False))
    return out


COMBOS = {
    "sgd": _sgd_combos(),
    "adam": _grid(dict(lr=0.01, beta2=0.999, eps=1e-8), beta1=(0.9, 0.3), amsgrad=(False, True),
                  maximize=(False, True), weight_decay=(0.0, 0.05), decoupled_weight_decay=(False, True)),
    "rmsprop": _grid(dict(lr=0.01, eps=1e-8), alpha=(0.99, 0.4), centered=(False, True), momentum=(0.0, 0.9),
                     weight_decay=(0.0, 0.01), maximize=(False, True)),
    "adagrad": _grid(dict(lr=0.05, eps=1e-10), lr_decay=(0.0, 0.01), weight_decay=(0.0, 0.01),
                     maximize=(False, True), init=(0.0, 0.1)),
    "adadelta": _grid(dict(lr=1.0, eps=1e-6), rho=(0.9, 0.3), weight_decay=(0.0, 0.01), maximize=(False, True)),
    "adamax": _grid(dict(lr=0.002, beta2=0.999, eps=1e-8), beta1=(0.9, 0.3), weight_decay=(0.0, 0.01),
                    maximize=(False, True)),
    "nadam": _grid(dict(lr=0.002, beta2=0.999, eps=1e-8, momentum_decay=0.004), beta1=(0.9, 0.3),
                   weight_decay=(0.0, 0.01), decoupled_weight_decay=(False, True), maximize=(False, True)),
}
# decoupled_weight_decay only matters with weight_decay != 0: drop duplicates
for _name in ("adam", "nadam"):
    COMBOS[_name] = [o for o in COMBOS[_name] if o["weight_decay"] != 0 or not o["decoupled_weight_decay"]]

CASES = [(name, i) for name in NAMES for i in range(len(COMBOS[name]))]


def _case_id(case):
    name, i = case
    o = COMBOS[name][i]
    flags = [k[:4] + ("" if v is True else "=%g" % v) for k, v in sorted(o.items())
             if v is not False and k not in ("lr", "eps", "beta2", "momentum_decay") and v != 0]
    return name + "-" + "-".join(flags)


# --------------------------------------------------------------------------
# runners: 20 steps of one optimizer through an implementation `impl`
# (kernels, reference, or the independent float64 one below); returns the
# final params and state arrays, in a fixed order, plus NAdam's mu_products
# --------------------------------------------------------------------------

def _zeros(ps):
    return [np.zeros_like(p) for p in ps]


def run(name, impl, P, Gs, opts, per_param_steps=False):
    o = dict(opts)
    p = [x.copy() for x in P]
    n = len(p)

    def steps(s):
        return [s] * n if per_param_steps else s

    if name == "sgd":
        bufs = _zeros(p) if o.get("momentum", 0.0) != 0 else None
        for s, g in enumerate(Gs):
            impl.sgd_step(p, g, bufs, first_step=(s == 0), **o)
        return p + (bufs or [])
    if name == "adam":
        m, v = _zeros(p), _zeros(p)
        vm = _zeros(p) if o["amsgrad"] else None
        for s, g in enumerate(Gs):
            impl.adam_step(p, g, m, v, vm, steps(s + 1), **o)
        return p + m + v + (vm or [])
    if name == "rmsprop":
        sq = _zeros(p)
        ga = _zeros(p) if o["centered"] else None
        bufs = _zeros(p) if o["momentum"] > 0 else None
        for g in Gs:
            impl.rmsprop_step(p, g, sq, ga, bufs, **o)
        return p + sq + (ga or []) + (bufs or [])
    if name == "adagrad":
        init = o.pop("init")
        sums = [np.full_like(x, init) for x in p]
        for s, g in enumerate(Gs):
            impl.adagrad_step(p, g, sums, steps(s + 1), **o)
        return p + sums
    if name == "adadelta":
        sa, ad = _zeros(p), _zeros(p)
        for g in Gs:
            impl.adadelta_step(p, g, sa, ad, **o)
        return p + sa + ad
    if name == "adamax":
        m, u = _zeros(p), _zeros(p)
        for s, g in enumerate(Gs):
            impl.adamax_step(p, g, m, u, steps(s + 1), **o)
        return p + m + u
    if name == "nadam":
        m, v = _zeros(p), _zeros(p)
        mu = [1.0] * n
        for s, g in enumerate(Gs):
            impl.nadam_step(p, g, m, v, mu, steps(s + 1), **o)
        return p + m + v + [np.array(mu, dtype=np.float64)]
    raise AssertionError(name)


@functools.lru_cache(maxsize=None)
def _data(sizes, dtype_name, seed):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype_name)
    P = [rng.standard_normal(n).astype(dtype) for n in sizes]
    Gs = [[rng.standard_normal(n).astype(dtype) for n in sizes] for _ in range(NSTEPS)]
    for a in P + [g for gs in Gs for g in gs]:
        a.flags.writeable = False  # shared between tests: runs copy params, never write grads
    return P, Gs


def make_data(sizes, dtype, seed):
    """Initial params and NSTEPS lists of grads (cached, read-only)."""
    return _data(tuple(sizes), np.dtype(dtype).name, seed)


@functools.lru_cache(maxsize=None)
def reference_result(name, i, dtype_name, sizes):
    """The NumPy reference's result for a case (shared by the SIMD levels)."""
    P, Gs = make_data(sizes, dtype_name, seed=1000 + NAMES.index(name))
    return P, Gs, run(name, reference, P, Gs, COMBOS[name][i])


# --------------------------------------------------------------------------
# independent float64 implementation, written from the textbook formulas
# --------------------------------------------------------------------------

class Independent:
    """Same calls as the kernels, computed plainly (no attempt at torch's
    operation order), in float64. Used only on float64 arrays."""

    @staticmethod
    def _g(g, p, maximize, weight_decay):
        g = -g if maximize else g
        return g + weight_decay * p

    @staticmethod
    def sgd_step(params, grads, bufs, *, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
                 maximize=False, first_step=False):
        for i, p in enumerate(params):
            d = Independent._g(grads[i], p, maximize, weight_decay)
            if momentum != 0:
                bufs[i][:] = d if first_step else momentum * bufs[i] + (1 - dampening) * d
                d = d + momentum * bufs[i] if nesterov else bufs[i]
            p -= lr * d

    @staticmethod
    def adam_step(params, grads, ms, vs, vmaxs, step, *, lr, beta1, beta2, eps, weight_decay=0.0, amsgrad=False,
                  maximize=False, decoupled_weight_decay=False):
        t = step[0] if isinstance(step, list) else step
        for i, p in enumerate(params):
            if decoupled_weight_decay:
                p *= 1 - lr * weight_decay
                g = Independent._g(grads[i], p, maximize, 0.0)
            else:
                g = Independent._g(grads[i], p, maximize, weight_decay)
            ms[i][:] = beta1 * ms[i] + (1 - beta1) * g
            vs[i][:] = beta2 * vs[i] + (1 - beta2) * g * g
            vhat = vs[i]
            if amsgrad:
                vmaxs[i][:] = np.maximum(vmaxs[i], vs[i])
                vhat = vmaxs[i]
            mhat = ms[i] / (1 - beta1 ** t)
            p -= lr * mhat / (np.sqrt(vhat / (1 - beta2 ** t)) + eps)

    @staticmethod
    def rmsprop_step(params, grads, sqs, gas, bufs, *, lr, alpha, eps, weight_decay=0.0, momentum=0.0,
                     centered=False, maximize=False):
        for i, p in enumerate(params):
            g = Independent._g(grads[i], p, maximize, weight_decay)
            sqs[i][:] = alpha * sqs[i] + (1 - alpha) * g * g
            var = sqs[i]
            if centered:
                gas[i][:] = alpha * gas[i] + (1 - alpha) * g
                var = var - gas[i] ** 2
            step = g / (np.sqrt(var) + eps)
            if momentum > 0:
                bufs[i][:] = momentum * bufs[i] + step
                step = bufs[i]
            p -= lr * step

    @staticmethod
    def adagrad_step(params, grads, sums, step, *, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=False):
        t = step[0] if isinstance(step, list) else step
        for i, p in enumerate(params):
            g = Independent._g(grads[i], p, maximize, weight_decay)
            sums[i] += g * g
            p -= lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(sums[i]) + eps)

    @staticmethod
    def adadelta_step(params, grads, sas, ads, *, lr, rho, eps, weight_decay=0.0, maximize=False):
        for i, p in enumerate(params):
            g = Independent._g(grads[i], p, maximize, weight_decay)
            sas[i][:] = rho * sas[i] + (1 - rho) * g * g
            delta = np.sqrt(ads[i] + eps) / np.sqrt(sas[i] + eps) * g
            ads[i][:] = rho * ads[i] + (1 - rho) * delta * delta
            p -= lr * delta

    @staticmethod
    def adamax_step(params, grads, ms, us, step, *, lr, beta1, beta2, eps, weight_decay=0.0, maximize=False):
        t = step[0] if isinstance(step, list) else step
        for i, p in enumerate(params):
            g = Independent._g(grads[i], p, maximize, weight_decay)
            ms[i][:] = beta1 * ms[i] + (1 - beta1) * g
            us[i][:] = np.maximum(beta2 * us[i], np.abs(g) + eps)
            p -= lr / (1 - beta1 ** t) * ms[i] / us[i]

    @staticmethod
    def nadam_step(params, grads, ms, vs, mu_products, step, *, lr, beta1, beta2, eps, weight_decay=0.0,
                   momentum_decay=0.004, maximize=False, decoupled_weight_decay=False):
        t = step[0] if isinstance(step, list) else step
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_t1 = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        for i, p in enumerate(params):
            if decoupled_weight_decay:
                p *= 1 - lr * weight_decay
                g = Independent._g(grads[i], p, maximize, 0.0)
            else:
                g = Independent._g(grads[i], p, maximize, weight_decay)
            mu_products[i] *= mu_t
            prod = mu_products[i]
            ms[i][:] = beta1 * ms[i] + (1 - beta1) * g
            vs[i][:] = beta2 * vs[i] + (1 - beta2) * g * g
            vhat = vs[i] / (1 - beta2 ** t)
            num = (1 - mu_t) / (1 - prod) * g + mu_t1 / (1 - prod * mu_t1) * ms[i]
            p -= lr * num / (np.sqrt(vhat) + eps)


# --------------------------------------------------------------------------
# torch
# --------------------------------------------------------------------------

def run_torch(name, P, Gs, opts):
    """torch.optim.<X>(foreach=False) for 20 steps; same output order as run()."""
    o = dict(opts)
    ts = [torch.tensor(x) for x in P]
    for t in ts:
        t.requires_grad_(True)
    if name == "sgd":
        opt = torch.optim.SGD(ts, foreach=False, **o)
        keys = ["momentum_buffer"] if o.get("momentum", 0.0) != 0 else []
    elif name == "adam":
        b1, b2 = o.pop("beta1"), o.pop("beta2")
        opt = torch.optim.Adam(ts, betas=(b1, b2), foreach=False, **o)
        keys = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if o["amsgrad"] else [])
    elif name == "rmsprop":
        opt = torch.optim.RMSprop(ts, foreach=False, **o)
        keys = ["square_avg"] + (["grad_avg"] if o["centered"] else []) + (["momentum_buffer"] if o["momentum"] > 0
                                                                            else [])
    elif name == "adagrad":
        init = o.pop("init")
        opt = torch.optim.Adagrad(ts, initial_accumulator_value=init, foreach=False, **o)
        keys = ["sum"]
    elif name == "adadelta":
        opt = torch.optim.Adadelta(ts, foreach=False, **o)
        keys = ["square_avg", "acc_delta"]
    elif name == "adamax":
        b1, b2 = o.pop("beta1"), o.pop("beta2")
        opt = torch.optim.Adamax(ts, betas=(b1, b2), foreach=False, **o)
        keys = ["exp_avg", "exp_inf"]
    elif name == "nadam":
        b1, b2 = o.pop("beta1"), o.pop("beta2")
        opt = torch.optim.NAdam(ts, betas=(b1, b2), foreach=False, **o)
        keys = ["exp_avg", "exp_avg_sq"]
    for gs in Gs:
        for t, g in zip(ts, gs):
            t.grad = torch.tensor(g)
        opt.step()
    out = [t.detach().numpy() for t in ts]
    for k in keys:
        out += [opt.state[t][k].numpy() for t in ts]
    if name == "nadam":
        out.append(np.array([float(opt.state[t]["mu_product"]) for t in ts]))
    return out


# --------------------------------------------------------------------------
# helpers and fixtures
# --------------------------------------------------------------------------

def _ext():
    from tinygrad_cn._C import _kernels
    return _kernels


def assert_all_equal(got, want, what):
    assert len(got) == len(want)
    for k, (a, b) in enumerate(zip(got, want)):
        assert a.dtype == b.dtype and a.shape == b.shape, (what, k)
    if np.array_equal(np.concatenate([a.ravel() for a in got]), np.concatenate([b.ravel() for b in want]),
                      equal_nan=True):
        return
    for k, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(a, b, err_msg="%s: array %d" % (what, k))


def assert_all_close(got, want, rtol, what, floor=1e-30):
    """Each array within rtol of the other, relative to the array's largest
    magnitude (states like v are tiny where g is), or to `floor` if larger
    (float32: parameters are O(1), and one that cancels to ~0 keeps an
    absolute error of O(ulp(1)))."""
    assert len(got) == len(want)
    for k, (a, b) in enumerate(zip(got, want)):
        assert a.shape == b.shape, (what, k)
        if a.size == 0:
            continue
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        scale = max(float(np.max(np.abs(b))), floor)
        err = float(np.max(np.abs(a - b))) / scale
        assert err <= rtol, "%s: array %d differs by %.3g (relative to max %.3g), tolerance %.3g" % (
            what, k, err, scale, rtol)


# --------------------------------------------------------------------------
# compiled == reference, bit for bit
# --------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_compiled_matches_reference(case, level, threads_restored):
    """float32 and float64, 1 and 2 threads (steps as one int, then as a list)."""
    name, i = case
    opts = COMBOS[name][i]
    for dtype in DTYPES:
        P, Gs, want = reference_result(name, i, np.dtype(dtype).name, SIZES_BIG)
        for threads in (1, 2):
            C.set_num_threads(threads)
            got = run(name, kernels, P, Gs, opts, per_param_steps=(threads == 2))
            assert_all_equal(got, want, "%s %s %s threads=%d" % (name, np.dtype(dtype).name, level, threads))


@pytest.mark.parametrize("parts", (2, 3, 7))
@pytest.mark.parametrize("name", NAMES)
def test_any_split_gives_the_same_bits(name, parts, threads_restored):
    """The call cut into `parts` pieces (as `parts` threads would cut it, the
    cuts falling inside and between tensors) updates every element once."""
    _require_compiled()
    ext = _ext()
    sizes = (5, 0, 64, 1, 130, 63, 65, 200)
    C.set_num_threads(1)
    i = len(COMBOS[name]) - 1
    P, Gs = make_data(sizes, np.float32, seed=7)
    want = run(name, reference, P, Gs, COMBOS[name][i])
    prev = ext.optim_set_serial_parts(parts)
    try:
        got = run(name, kernels, P, Gs, COMBOS[name][i])
    finally:
        ext.optim_set_serial_parts(prev)
    assert_all_equal(got, want, "%s parts=%d" % (name, parts))


def test_parallel_threshold_is_exposed():
    _require_compiled()
    assert _ext().optim_parallel_min_elements == 16384
    assert sum(SIZES_BIG) > _ext().optim_parallel_min_elements


# --------------------------------------------------------------------------
# both backends against an independent float64 implementation, and torch
# --------------------------------------------------------------------------

BACKENDS = ("reference", "compiled")


def _impl(backend):
    if backend == "compiled":
        _require_compiled()
        return kernels
    return reference


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_independent_formulas(case, backend):
    name, i = case
    impl = _impl(backend)
    opts = COMBOS[name][i]
    P64, Gs64 = make_data(SIZES_SMALL, np.float64, seed=2000 + i)
    want = run(name, Independent, P64, Gs64, opts)
    assert_all_close(run(name, impl, P64, Gs64, opts), want, 1e-10, "%s float64" % name)
    P32 = [p.astype(np.float32) for p in P64]
    Gs32 = [[g.astype(np.float32) for g in gs] for gs in Gs64]
    got32 = run(name, impl, P32, Gs32, opts)
    assert all(a.dtype == np.float32 for a in got32[:len(P32)])
    assert_all_close(got32, want, 1e-4, "%s float32" % name, floor=1.0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_torch_float64(case, backend):
    if torch is None:
        pytest.skip("torch not installed")
    name, i = case
    impl = _impl(backend)
    opts = COMBOS[name][i]
    P, Gs = make_data(SIZES_SMALL, np.float64, seed=3000 + i)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch's NAdam mu_product in double, as our Python floats
    try:
        want = run_torch(name, P, Gs, opts)
    finally:
        torch.set_default_dtype(prev)
    assert_all_close(run(name, impl, P, Gs, opts), want, 1e-10, "%s vs torch" % name)


@pytest.mark.parametrize("name", NAMES)
def test_matches_torch_float32(name):
    """float32 against torch under its default dtype (float32 NAdam
    mu_product, emulated with np.float32 entries): torch's vectorised lerp and
    add may use FMA, so a few ulps of drift over 20 steps are allowed."""
    if torch is None:
        pytest.skip("torch not installed")
    for backend in BACKENDS:
        if backend == "compiled" and not kernels.compiled:
            continue
        impl = _impl(backend)
        for i, opts in enumerate(COMBOS[name]):
            P, Gs = make_data(SIZES_SMALL, np.float32, seed=4000 + i)
            assert torch.get_default_dtype() == torch.float32
            want = run_torch(name, P, Gs, opts)
            if name == "nadam":
                p = [x.copy() for x in P]
                m, v = _zeros(p), _zeros(p)
                mu = [np.float32(1.0)] * len(p)
                for s, g in enumerate(Gs):
                    impl.nadam_step(p, g, m, v, mu, s + 1, **opts)
                got = p + m + v + [np.array(mu, dtype=np.float64)]
            else:
                got = run(name, impl, P, Gs, opts)
            assert all(a.dtype == np.float32 for a in got[:len(P)])
            assert_all_close(got, want, 1e-6, "%s float32 vs torch, %s" % (name, opts), floor=1.0)


# --------------------------------------------------------------------------
# details of the API
# --------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_nadam_mu_products_updated_in_place(backend):
    impl = _impl(backend)
    p = [np.ones(3), np.ones(0)]
    g = [np.full(3, 0.5), np.ones(0)]
    m, v = _zeros(p), _zeros(p)
    mu = [1.0, 1.0]
    assert impl.nadam_step(p, g, m, v, mu, [1, 1], lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8) is None
    want = 0.9 * (1.0 - 0.5 * 0.96 ** 0.004)
    assert mu == [want, want] and all(type(x) is float for x in mu)
    mu32 = [np.float32(1.0)] * 2
    impl.nadam_step(p, g, m, v, mu32, 2, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    assert all(type(x) is np.float32 for x in mu32)
    with pytest.raises(TypeError):
        impl.nadam_step(p, g, m, v, (1.0, 1.0), 1, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    with pytest.raises(ValueError):
        impl.nadam_step(p, g, m, v, [1.0], 1, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_list_and_none_states(backend):
    impl = _impl(backend)
    assert impl.adam_step([], [], [], [], None, 1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8) is None
    assert impl.sgd_step([], [], None, lr=0.1) is None
    p, g = [np.ones(4, np.float32)], [np.ones(4, np.float32)]
    impl.sgd_step(p, g, None, lr=0.5)  # momentum 0: no buffers needed
    np.testing.assert_array_equal(p[0], np.full(4, 0.5, np.float32))
    impl.rmsprop_step(p, g, _zeros(p), None, None, lr=0.1, alpha=0.9, eps=1e-8)


def _adam(impl, p, g, m, v, steps=1, **kw):
    kw = dict(dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8), **kw)
    return impl.adam_step(p, g, m, v, kw.pop("vmax", None), steps, **kw)


@pytest.mark.parametrize("backend", BACKENDS)
def test_errors(backend):
    impl = _impl(backend)
    f4, f8 = np.float32, np.float64

    def arrs(n=2, dt=f8, size=5):
        return [np.zeros(size, dt) for _ in range(n)]

    # mismatched list lengths
    with pytest.raises(ValueError, match="grads"):
        _adam(impl, arrs(2), arrs(3), arrs(2), arrs(2))
    with pytest.raises(ValueError, match="exp_avg_sqs"):
        _adam(impl, arrs(2), arrs(2), arrs(2), arrs(1))
    with pytest.raises(ValueError, match="steps"):
        _adam(impl, arrs(2), arrs(2), arrs(2), arrs(2), steps=[1, 2, 3])
    # dtype mix, within a list and across lists
    with pytest.raises(TypeError, match="dtype"):
        _adam(impl, [np.zeros(5, f4), np.zeros(5, f8)], arrs(2), arrs(2), arrs(2))
    with pytest.raises(TypeError, match="dtype"):
        _adam(impl, arrs(2, f4), arrs(2, f8), arrs(2, f4), arrs(2, f4))
    with pytest.raises(TypeError, match="float32 or float64"):
        impl.sgd_step(arrs(1, np.float16), arrs(1, np.float16), None, lr=0.1)
    with pytest.raises(TypeError, match="float32 or float64"):
        impl.sgd_step([np.zeros(3, np.int64)], [np.zeros(3, np.int64)], None, lr=0.1)
    # not arrays / not lists
    with pytest.raises(TypeError):
        impl.sgd_step([[1.0, 2.0]], [[1.0, 2.0]], None, lr=0.1)
    with pytest.raises(TypeError, match="list"):
        impl.sgd_step(np.zeros(3), np.zeros(3), None, lr=0.1)
    # non-contiguous, shape mismatch, read-only, byte-swapped
    with pytest.raises(ValueError, match="contiguous"):
        impl.sgd_step([np.zeros(10)[::2]], [np.zeros(5)], None, lr=0.1)
    with pytest.raises(ValueError, match="contiguous"):
        impl.sgd_step([np.zeros(5)], [np.zeros(10)[::2]], None, lr=0.1)
    with pytest.raises(ValueError, match="contiguous"):
        impl.sgd_step([np.zeros((4, 4)).T], [np.zeros((4, 4))], None, lr=0.1)
    with pytest.raises(ValueError, match="shape"):
        impl.sgd_step([np.zeros((2, 3))], [np.zeros((3, 2))], None, lr=0.1)
    ro = np.zeros(5)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        impl.sgd_step([ro], [np.zeros(5)], None, lr=0.1)
    with pytest.raises(ValueError, match="read-only"):
        _adam(impl, arrs(1), arrs(1), [ro], arrs(1))
    impl.sgd_step([np.zeros(5)], [ro], None, lr=0.1)  # grads are only read
    with pytest.raises(ValueError, match="byte order"):
        impl.sgd_step([np.zeros(5, ">f8")], [np.zeros(5, ">f8")], None, lr=0.1)
    # missing state lists, bad steps
    with pytest.raises(ValueError, match="momentum_buffers"):
        impl.sgd_step(arrs(1), arrs(1), None, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="max_exp_avg_sqs"):
        _adam(impl, arrs(1), arrs(1), arrs(1), arrs(1), amsgrad=True)
    with pytest.raises(ValueError, match="grad_avgs"):
        impl.rmsprop_step(arrs(1), arrs(1), arrs(1), None, None, lr=0.1, alpha=0.9, eps=1e-8, centered=True)
    with pytest.raises(ValueError, match="steps"):
        _adam(impl, arrs(1), arrs(1), arrs(1), arrs(1), steps=0)
    with pytest.raises(TypeError):
        _adam(impl, arrs(1), arrs(1), arrs(1), arrs(1), steps=1.5)
    # keyword-only hyper-parameters
    with pytest.raises(TypeError):
        impl.sgd_step(arrs(1), arrs(1), None, 0.1)
    # nothing was updated by a failing call
    p = arrs(1)
    with pytest.raises(ValueError):
        _adam(impl, p, [np.ones(5)], arrs(1), arrs(2))
    assert not p[0].any()


def test_kernel_names_exported():
    for name in NAMES:
        assert name + "_step" in C.KERNEL_NAMES
        assert callable(getattr(kernels, name + "_step"))
