"""gradcheck / gradgradcheck: pass on correct gradients, fail loudly on wrong ones."""
import math
import re
import warnings

import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.autograd import Function, gradcheck, gradgradcheck
from tinygrad_cn.autograd.gradcheck import GradcheckError


def f64(values, requires_grad=True):
    return tg.tensor(values, dtype=tg.float64, requires_grad=requires_grad)


def randn64(*shape, requires_grad=True):
    rng = np.random.default_rng(sum(shape) + len(shape))
    return tg.from_numpy(rng.standard_normal(shape)).requires_grad_(requires_grad)


# -- deliberately wrong Functions ----------------------------------------------

class ExpOffByFactor(Function):
    """exp whose backward is 10% too large."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y * 1.1


class MulWrongSecondGrad(Function):
    """x * y with the gradient for y off by a factor of 2."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * y, grad * x * 2


class TwoOutputsSecondWrong(Function):
    """(2x, x**2) with the gradient of the second output wrong (x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2, x * x

    @staticmethod
    def backward(ctx, g1, g2):
        (x,) = ctx.saved_tensors
        return g1 * 2 + g2 * x


class IgnoresZeroGrad(Function):
    """2x whose backward returns ones when grad_output is zero: not linear in grad_output."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        if float(grad.abs().sum()) == 0:
            return tg.ones_like(grad)
        return grad * 2


class NoisyBackward(Function):
    """3x with a tiny random term in backward: correct within atol, but not deterministic."""

    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, grad):
        noise = tg.from_numpy(np.random.default_rng().uniform(-1e-9, 1e-9, grad.shape))
        return grad * (3 + noise)


class TwoOutputsRecordingGrads(Function):
    """(2x, 3x) that records which output gradients were undefined (None)."""

    seen = []

    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        TwoOutputsRecordingGrads.seen.append((g1 is None, g2 is None))
        total = None
        for g, k in ((g1, 2), (g2, 3)):
            if g is not None:
                total = g * k if total is None else total + g * k
        return total


class TwoOutputsFailsOnUndefinedAndZero(Function):
    """(2x, 3x) whose backward breaks when one gradient is None and the other all zero:

    a state that only the undefined-gradient check produces (the Jacobian
    rows always carry a one-hot).
    """

    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        present = [g for g in (g1, g2) if g is not None]
        if len(present) == 1 and float(present[0].abs().sum()) == 0:
            raise RuntimeError("no information in the gradients")
        return (g1 * 2 if g1 is not None else 0) + (g2 * 3 if g2 is not None else 0)


class CubeDetachedBackward(Function):
    """x**3 with a right first derivative built from a detached x: second derivative lost."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x.detach() ** 2


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


# -- gradcheck passes on correct functions --------------------------------------

CORRECT = [
    ("exp", lambda x: x.exp(), lambda: (randn64(2, 3),)),
    ("sin_of_square", lambda x: (x * x).sin(), lambda: (randn64(4),)),
    ("broadcast_mul", lambda x, y: x * y, lambda: (randn64(2, 3), randn64(3))),
    ("matmul", lambda a, b: a @ b, lambda: (randn64(2, 3), randn64(3, 4))),
    ("tuple_output", lambda x, y: (x @ y, x.sum(), (x * 2).tanh()), lambda: (randn64(2, 3), randn64(3))),
    ("scalar_input", lambda x: x ** 3, lambda: (f64(0.7),)),
    ("custom_cube", Cube.apply, lambda: (randn64(3),)),
    ("sum_dim", lambda x: x.sum(1), lambda: (randn64(3, 2),)),
]


@pytest.mark.parametrize("name,fn,make", CORRECT, ids=[c[0] for c in CORRECT])
@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradcheck_passes_on_correct_functions(name, fn, make, fast_mode):
    assert gradcheck(fn, make(), fast_mode=fast_mode) is True


def test_gradcheck_accepts_single_tensor_and_non_tensor_args():
    x = randn64(3)
    assert gradcheck(lambda t: t.exp(), x)
    assert gradcheck(lambda t, k: t * k, (x, 2.5))


def test_gradcheck_with_noncontiguous_input():
    x = randn64(3, 4).detach().t().requires_grad_()
    assert not x.is_contiguous()
    assert gradcheck(lambda t: t.exp() * t, (x,))


def test_gradcheck_leaves_inputs_unchanged():
    x = randn64(2, 3)
    before = x.detach().numpy().copy()
    gradcheck(lambda t: t.sin(), (x,))
    np.testing.assert_array_equal(x.detach().numpy(), before)


def test_gradcheck_only_checks_inputs_that_require_grad():
    x, c = randn64(3), randn64(3, requires_grad=False)
    assert gradcheck(lambda a, b: a * b.exp(), (x, c))


# -- gradcheck fails with a clear message ----------------------------------------

MSG_VALUES = re.compile(r"numerical (\S+) vs analytical (\S+),")


def test_wrong_backward_fails_naming_input_output_element_and_values():
    values = np.array([[0.1, -0.5, 0.3], [0.2, 0.4, 1.5]])  # the largest (worst) entry is at (1, 2)
    x = tg.from_numpy(values.copy()).requires_grad_()
    with pytest.raises(GradcheckError) as info:
        gradcheck(ExpOffByFactor.apply, (x,))
    msg = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert msg.startswith("Jacobian mismatch for output 0 with respect to input 0,\n")
    assert "d output[0][1, 2] / d input[0][1, 2]" in msg
    assert "flat output element 5, flat input element 5" in msg
    numerical, analytical = map(float, MSG_VALUES.search(msg).groups())
    assert numerical == pytest.approx(math.exp(1.5), rel=1e-6)
    assert analytical == pytest.approx(1.1 * math.exp(1.5), rel=1e-12)
    assert "6 of 36 Jacobian entries mismatch" in msg
    assert "\nnumerical:" in msg and "\nanalytical:" in msg


def test_wrong_gradient_for_second_input_names_input_1():
    x, y = randn64(2), randn64(2)
    with pytest.raises(GradcheckError, match=r"output 0 with respect to input 1,"):
        gradcheck(MulWrongSecondGrad.apply, (x, y))


def test_input_index_counts_differentiable_inputs_and_names_the_argument():
    c, x, y = randn64(2, requires_grad=False), randn64(2), randn64(2)
    with pytest.raises(GradcheckError, match=r"with respect to input 1 \(argument 2 of func\)"):
        gradcheck(lambda a, b, d: MulWrongSecondGrad.apply(b, d) + a, (c, x, y))


def test_wrong_gradient_of_second_output_names_output_1():
    x = f64([0.5, -1.0, 2.0])
    with pytest.raises(GradcheckError) as info:
        gradcheck(TwoOutputsSecondWrong.apply, (x,))
    msg = str(info.value)
    assert "Jacobian mismatch for output 1 with respect to input 0" in msg
    # d(x**2)/dx at x=2 is 4; the wrong backward says 2.
    numerical, analytical = map(float, MSG_VALUES.search(msg).groups())
    assert (numerical, analytical) == (pytest.approx(4.0, rel=1e-6), pytest.approx(2.0))
    assert "d output[1][2] / d input[0][2]" in msg


def test_raise_exception_false_returns_false():
    x = randn64(3)
    assert gradcheck(ExpOffByFactor.apply, (x,), raise_exception=False) is False
    assert gradcheck(ExpOffByFactor.apply, (x,), raise_exception=False, fast_mode=True) is False
    assert gradcheck(lambda t: t.exp(), (x,), raise_exception=False) is True


def test_fast_mode_failure_reports_slow_mode_details():
    x = randn64(3)
    with pytest.raises(GradcheckError, match=r"(?s)fast mode.*Recomputed in slow mode.*worst element"):
        gradcheck(ExpOffByFactor.apply, (x,), fast_mode=True)


def test_tolerances_decide():
    x = f64([1.0, 2.0])
    assert gradcheck(ExpOffByFactor.apply, (x,), atol=0.0, rtol=0.2)
    assert not gradcheck(ExpOffByFactor.apply, (x,), atol=0.0, rtol=0.05, raise_exception=False)


def test_backward_must_be_multiplied_by_grad_output():
    with pytest.raises(GradcheckError, match="backward not multiplied by grad_output"):
        gradcheck(IgnoresZeroGrad.apply, (randn64(3),))


def test_nondeterministic_backward_is_caught_unless_tolerated():
    x = randn64(3)
    with pytest.raises(GradcheckError, match="not reentrant"):
        gradcheck(NoisyBackward.apply, (x,))
    assert gradcheck(NoisyBackward.apply, (x,), nondet_tol=1e-6)


def test_undefined_output_grad_check_sends_none_for_each_output():
    TwoOutputsRecordingGrads.seen.clear()
    assert gradcheck(TwoOutputsRecordingGrads.apply, (randn64(3),))
    # The Jacobian rows of one output leave the other's gradient undefined, and
    # the undefined-gradient check does the same with zero gradients.
    assert {(False, True), (True, False)} <= set(TwoOutputsRecordingGrads.seen)


def test_undefined_output_grad_must_be_supported():
    x = randn64(3)
    with pytest.raises(GradcheckError, match="undefined output grads"):
        gradcheck(TwoOutputsFailsOnUndefinedAndZero.apply, (x,))
    assert gradcheck(TwoOutputsFailsOnUndefinedAndZero.apply, (x,), check_undefined_grad=False)


def test_batched_grad_check_runs():
    assert gradcheck(lambda a, b: (a @ b).sin(), (randn64(2, 3), randn64(3)), check_batched_grad=True)


def test_warns_for_non_double_inputs():
    x = tg.randn(3, requires_grad=True)  # float32
    with pytest.warns(UserWarning, match="not a double precision"):
        gradcheck(lambda t: t * 2, (x,), eps=1e-3, atol=1e-2, rtol=1e-2)


def test_no_warning_for_double_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradcheck(lambda t: t * 2, (randn64(3),))


def test_requires_some_input_requiring_grad():
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda t: t * 2, (randn64(3, requires_grad=False),))


def test_rejects_stride_zero_inputs():
    x = randn64(3, 1, requires_grad=False).expand(3, 4).requires_grad_()
    with pytest.raises(RuntimeError, match="stride 0"):
        gradcheck(lambda t: t.exp(), (x,))


def test_non_differentiable_output_must_not_vary():
    x = randn64(4)
    assert gradcheck(lambda t: t.argmax(), (x,))
    assert gradcheck(lambda t: t.detach() * 0, (x,))
    with pytest.raises(GradcheckError, match="Numerical gradient for function expected to be zero"):
        gradcheck(lambda t: t.detach() * 2, (x,))


# -- gradgradcheck ------------------------------------------------------------------

SECOND_ORDER = [
    ("cube", lambda x: x ** 3, lambda: (randn64(2, 3),)),
    ("sin", lambda x: x.sin(), lambda: (randn64(4),)),
    ("sigmoid", lambda x: tg.sigmoid(x), lambda: (randn64(3, 2),)),
    ("tanh", lambda x: x.tanh(), lambda: (randn64(5),)),
    ("matmul", lambda a, b: a @ b, lambda: (randn64(2, 3), randn64(3, 2))),
    ("tuple_output", lambda a, b: (a * b, (a ** 2).sum()), lambda: (randn64(3), randn64(3))),
    ("custom_cube", Cube.apply, lambda: (randn64(3),)),
]


@pytest.mark.parametrize("name,fn,make", SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_gradgradcheck_passes(name, fn, make):
    assert gradgradcheck(fn, make()) is True


def test_gradgradcheck_with_given_and_noncontiguous_grad_outputs():
    x = randn64(2, 3)
    g = randn64(2, 3)
    assert gradgradcheck(lambda t: t.sin() * t, (x,), (g,))
    assert gradgradcheck(lambda t: t.sin() * t, (x,), gen_non_contig_grad_outputs=True)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = randn64(3)
    assert gradcheck(CubeDetachedBackward.apply, (x,))  # first order is right
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
        gradgradcheck(CubeDetachedBackward.apply, (x,))
    assert gradgradcheck(CubeDetachedBackward.apply, (x,), raise_exception=False) is False


def test_gradgradcheck_of_linear_function():
    # The gradient does not depend on x: only its dependence on grad_outputs is checked.
    assert gradgradcheck(lambda t: t * 3 + 1, (randn64(3),))


def test_gradcheck_agrees_with_torch_on_a_wrong_function():
    torch = pytest.importorskip("torch")

    class TorchExpOff(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y * 1.1

    values = np.array([0.1, -0.5, 0.3])
    ours = tg.from_numpy(values.copy()).requires_grad_()
    theirs = torch.from_numpy(values.copy()).requires_grad_()
    assert gradcheck(ExpOffByFactor.apply, (ours,), raise_exception=False) is False
    assert torch.autograd.gradcheck(TorchExpOff.apply, (theirs,), raise_exception=False) is False
    with pytest.raises(RuntimeError) as theirs_info:  # torch's GradcheckError
        torch.autograd.gradcheck(TorchExpOff.apply, (theirs,))
    with pytest.raises(GradcheckError) as ours_info:
        gradcheck(ExpOffByFactor.apply, (ours,))
    first_line = "Jacobian mismatch for output 0 with respect to input 0,"
    assert str(theirs_info.value).startswith(first_line) and str(ours_info.value).startswith(first_line)
