"""``gradcheck`` and ``gradgradcheck``: autograd against finite differences.

torch's semantics and signatures. The numerical Jacobian perturbs each element
of each input that requires grad by ``±eps`` in place (central differences,
values taken in float64); the analytical Jacobian is built row by row from
``autograd.grad`` with one-hot ``grad_outputs``. Jacobians are laid out as
torch's: ``J[input_element, output_element]``.

A mismatch raises :class:`GradcheckError` naming the output, the input, the
worst element (flat and multi-index) and both values, or returns False with
``raise_exception=False``.
"""
from __future__ import annotations

import warnings
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` and :func:`gradgradcheck` when a check fails."""


def _Tensor():
    from ..tensor import Tensor
    return Tensor


def _grad(*args, **kwargs):
    from .engine import grad
    return grad(*args, **kwargs)


def _as_tuple(x) -> tuple:
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _is_tensor(x) -> bool:
    return isinstance(x, _Tensor())


def _differentiable_outputs(out) -> tuple:
    return tuple(o for o in _as_tuple(out) if _is_tensor(o) and o.requires_grad)


def _diff_inputs(tupled_inputs) -> List[Tuple[int, object]]:
    """(argument position, tensor) of each input that requires grad."""
    return [(i, t) for i, t in enumerate(tupled_inputs) if _is_tensor(t) and t.requires_grad]


# -- checks on the arguments ---------------------------------------------------

def _check_inputs(tupled_inputs) -> None:
    any_requires_grad = False
    for idx, inp in enumerate(tupled_inputs):
        if not (_is_tensor(inp) and inp.requires_grad):
            continue
        if inp._data.dtype != np.float64:
            warnings.warn(f"Input #{idx} requires gradient and is not a double precision floating point or "
                          "complex. This check will likely fail if all the inputs are not of double precision "
                          "floating point or complex. ", UserWarning, stacklevel=4)
        arr = inp._data
        if arr.size and not all(st != 0 or sz <= 1 for st, sz in zip(arr.strides, arr.shape)):
            # Perturbing one element of such an array would perturb several.
            raise RuntimeError(f"The {idx}th input has a dimension with stride 0. gradcheck only supports inputs "
                               "that are non-overlapping to be able to compute the numerical gradients correctly. "
                               "You should call .contiguous on the input before passing it to gradcheck.")
        any_requires_grad = True
    if not any_requires_grad:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of them "
                         "have requires_grad=True.")


# -- numerical Jacobian ----------------------------------------------------------

def _output_arrays(out) -> List[Optional[np.ndarray]]:
    """Float64 copies of the float tensor outputs (None for anything else).

    Copied at once: an output may alias an input that is perturbed next.
    """
    res = []
    for o in _as_tuple(out):
        if _is_tensor(o) and o._data.dtype.kind == "f":
            res.append(np.array(o._data, dtype=np.float64))
        else:
            res.append(None)
    return res


class _Perturbable:
    """Gives in-place write access to an input's array, and puts it back after.

    A read-only array (a broadcast or a frombuffer view) is swapped for a
    writable copy while perturbed; the original object returns afterwards.
    """

    def __init__(self, tensor):
        self.tensor = tensor
        self.original = tensor._data

    def __enter__(self) -> np.ndarray:
        if not self.original.flags.writeable:
            self.tensor._data = np.array(self.original)
        return self.tensor._data

    def __exit__(self, *exc):
        self.tensor._data = self.original
        return False


def _check_same_shape(base: List[Optional[np.ndarray]], new: List[Optional[np.ndarray]], eps, idx) -> None:
    for b, n in zip(base, new):
        if (b is None) != (n is None) or (b is not None and b.shape != n.shape):
            raise AssertionError(f"Expected `func` to return outputs with the same shape when inputs are perturbed "
                                 f"on index {idx} by {eps}, but got: shapes "
                                 f"{None if b is None else list(b.shape)} and {None if n is None else list(n.shape)}.")


def _numerical_jacobian(func, tupled_inputs, input_tensor, outputs_ref, eps) -> List[Optional[np.ndarray]]:
    """Per output, the (numel_in, numel_out) central-difference Jacobian wrt ``input_tensor``."""
    n_in = input_tensor._data.size
    jac = [None if o is None else np.zeros((n_in, o.size)) for o in outputs_ref]
    with _Perturbable(input_tensor) as arr:
        for flat, idx in enumerate(np.ndindex(*arr.shape)):
            orig = arr[idx].copy()
            arr[idx] = orig - eps
            lo = _output_arrays(func(*tupled_inputs))
            arr[idx] = orig + eps
            hi = _output_arrays(func(*tupled_inputs))
            arr[idx] = orig
            _check_same_shape(outputs_ref, lo, eps, idx)
            _check_same_shape(outputs_ref, hi, eps, idx)
            for k, (a, b) in enumerate(zip(lo, hi)):
                if a is not None:
                    jac[k][flat] = ((b - a) / (2 * eps)).reshape(-1)
    return jac


def _numerical_jvp(func, tupled_inputs, input_tensor, u: np.ndarray, outputs_ref, eps) -> List[Optional[np.ndarray]]:
    """Per output, J @ u by central differences along the direction ``u`` (fast mode)."""
    with _Perturbable(input_tensor) as arr:
        orig = arr.copy()
        step = (eps * u).reshape(arr.shape).astype(arr.dtype)
        arr[...] = orig - step
        lo = _output_arrays(func(*tupled_inputs))
        arr[...] = orig + step
        hi = _output_arrays(func(*tupled_inputs))
        arr[...] = orig
    _check_same_shape(outputs_ref, lo, eps, "(fast mode)")
    _check_same_shape(outputs_ref, hi, eps, "(fast mode)")
    return [None if a is None else ((b - a) / (2 * eps)).reshape(-1) for a, b in zip(lo, hi)]


# -- analytical Jacobian -----------------------------------------------------------

def _vjp_rows(output, diff_inputs, grad_outputs: Sequence[np.ndarray]) -> Tuple[List[np.ndarray], bool, bool]:
    """Stack ``v^T J`` for each ``v`` in ``grad_outputs``: one (len(grad_outputs), numel) block per input.

    Returns the blocks transposed to torch's (numel_in, n) layout, and whether
    every gradient had the input's shape and dtype.
    """
    Tensor = _Tensor()
    blocks = [np.zeros((t._data.size, len(grad_outputs))) for t in diff_inputs]
    sizes_ok = types_ok = True
    for col, v in enumerate(grad_outputs):
        g_out = Tensor._make(np.array(v.reshape(output._data.shape), dtype=output._data.dtype, order="C"))
        grads = _grad(output, diff_inputs, g_out, retain_graph=True, allow_unused=True)
        for j, (g, t) in enumerate(zip(grads, diff_inputs)):
            if g is None:
                continue
            if g._data.shape != t._data.shape:
                sizes_ok = False
                continue
            if g._data.dtype != t._data.dtype:
                types_ok = False
            blocks[j][:, col] = np.asarray(g._data, dtype=np.float64).reshape(-1)
    return blocks, sizes_ok, types_ok


_NONDET_MSG = ("Backward is not reentrant, i.e., running backward with same input and grad_output multiple times "
               "gives different values, although analytical gradient matches numerical gradient. "
               "The tolerance for nondeterminism was {tol}.")


def _analytical_vjps(output, diff_inputs, grad_outputs, nondet_tol, check_grad_dtypes) -> List[np.ndarray]:
    """The analytical rows, computed twice to catch a non-deterministic backward, as torch does."""
    first, sizes_ok, types_ok = _vjp_rows(output, diff_inputs, grad_outputs)
    second, _, _ = _vjp_rows(output, diff_inputs, grad_outputs)
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    for a, b in zip(first, second):
        if a.size and np.max(np.abs(a - b)) > nondet_tol:
            raise GradcheckError(_NONDET_MSG.format(tol=nondet_tol))
    return first


def _one_hots(n: int) -> List[np.ndarray]:
    eye = np.eye(n)
    return [eye[k] for k in range(n)]


# -- reporting -------------------------------------------------------------------------

def _mismatch_msg(analytical: np.ndarray, numerical: np.ndarray, out_idx: int, in_idx: int, arg_idx: int,
                  in_shape, out_shape, rtol: float, atol: float) -> str:
    """torch's message, preceded by the worst element and both of its values."""
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = np.abs(analytical - numerical) / (atol + rtol * np.abs(numerical))
    excess = np.where(np.isnan(excess), np.inf, excess)
    m, k = np.unravel_index(int(np.argmax(excess)), excess.shape)
    in_multi = tuple(int(i) for i in np.unravel_index(m, in_shape))
    out_multi = tuple(int(i) for i in np.unravel_index(k, out_shape))
    n_val, a_val = float(numerical[m, k]), float(analytical[m, k])
    n_bad = int(np.sum(excess > 1))
    where = f" (argument {arg_idx} of func)" if arg_idx != in_idx else ""
    with np.printoptions(precision=6, threshold=200, linewidth=120):
        return (f"Jacobian mismatch for output {out_idx:d} with respect to input {in_idx:d}{where},\n"
                f"worst element: d output[{out_idx}]{list(out_multi)} / d input[{in_idx}]{list(in_multi)} "
                f"(flat output element {k}, flat input element {m}): "
                f"numerical {n_val!r} vs analytical {a_val!r}, "
                f"difference {abs(a_val - n_val):.6g} > allowed {atol + rtol * abs(n_val):.6g} "
                f"(atol={atol}, rtol={rtol}); {n_bad} of {numerical.size} Jacobian entries mismatch.\n"
                f"numerical:{numerical}\nanalytical:{analytical}\n")


def _allclose(a: np.ndarray, n: np.ndarray, rtol: float, atol: float) -> bool:
    # torch.allclose(analytical, numerical): |a - n| <= atol + rtol * |n|, NaN never close.
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.abs(a - n) <= atol + rtol * np.abs(n)))


# -- the checks --------------------------------------------------------------------------

def _check_no_differentiable_outputs(func, tupled_inputs, func_out, eps) -> None:
    ref = _output_arrays(func_out)
    for _, t in _diff_inputs(tupled_inputs):
        for jac in _numerical_jacobian(func, tupled_inputs, t, ref, eps):
            if jac is not None and np.any(jac != 0):
                raise GradcheckError("Numerical gradient for function expected to be zero")


def _slow_gradcheck(func, func_out, tupled_inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol) -> None:
    diff = _diff_inputs(tupled_inputs)
    diff_tensors = [t for _, t in diff]
    ref = _output_arrays(func_out)
    # Numerical Jacobians of the differentiable outputs only, indexed as torch's.
    diff_positions = [k for k, o in enumerate(_as_tuple(func_out)) if _is_tensor(o) and o.requires_grad]
    numerical = [[None] * len(diff) for _ in outputs]
    for j, (_, t) in enumerate(diff):
        per_output = _numerical_jacobian(func, tupled_inputs, t, ref, eps)
        for i, pos in enumerate(diff_positions):
            numerical[i][j] = per_output[pos]
    for i, o in enumerate(outputs):
        analytical = _analytical_vjps(o, diff_tensors, _one_hots(o._data.size), nondet_tol, check_grad_dtypes)
        for j, (arg_idx, t) in enumerate(diff):
            a, n = analytical[j], numerical[i][j]
            if not _allclose(a, n, rtol, atol):
                raise GradcheckError(_mismatch_msg(a, n, i, j, arg_idx, t._data.shape, o._data.shape, rtol, atol))


def _random_unit(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.random(n)
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


def _fast_gradcheck(func, func_out, tupled_inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol) -> None:
    """Compare ``v^T J u`` (analytical) with ``v^T (J u)`` (finite differences) for random u, v."""
    # A private generator: gradcheck must not move the user's random state.
    rng = np.random.default_rng(0)
    diff = _diff_inputs(tupled_inputs)
    diff_tensors = [t for _, t in diff]
    ref = _output_arrays(func_out)
    diff_positions = [k for k, o in enumerate(_as_tuple(func_out)) if _is_tensor(o) and o.requires_grad]
    all_u = [_random_unit(t._data.size, rng) for t in diff_tensors]
    all_v = [_random_unit(o._data.size, rng) for o in outputs]
    for j, (arg_idx, t) in enumerate(diff):
        jvps = _numerical_jvp(func, tupled_inputs, t, all_u[j], ref, eps)
        for i, o in enumerate(outputs):
            numerical = float(all_v[i] @ jvps[diff_positions[i]])
            vj = _analytical_vjps(o, diff_tensors, [all_v[i]], nondet_tol, check_grad_dtypes)[j][:, 0]
            analytical = float(vj @ all_u[j])
            adjusted_atol = atol * float(all_u[j].sum()) * float(all_v[i].sum())
            if not _allclose(np.array(analytical), np.array(numerical), rtol, adjusted_atol):
                # The projection hides which element is wrong: recompute in slow mode to say.
                try:
                    _slow_gradcheck(func, func_out, tupled_inputs, outputs, eps, rtol, atol, check_grad_dtypes,
                                    nondet_tol)
                except GradcheckError as slow:
                    raise GradcheckError(f"Jacobian mismatch for output {i:d} with respect to input {j:d} "
                                         f"(fast mode): v^T J u numerical {numerical!r} vs analytical "
                                         f"{analytical!r}.\nRecomputed in slow mode:\n{slow}") from None
                raise GradcheckError(f"Jacobian mismatch for output {i:d} with respect to input {j:d} (fast mode): "
                                     f"v^T J u numerical {numerical!r} vs analytical {analytical!r}; the slow mode "
                                     "check passes, so fast mode's tolerance may be too tight for this function.")


def _check_backward_mul_by_grad_output(outputs, tupled_inputs) -> None:
    """A zero grad_output must give exactly zero input gradients, of the input's shape and dtype."""
    Tensor = _Tensor()
    diff_tensors = [t for _, t in _diff_inputs(tupled_inputs)]
    zeros = [Tensor._make(np.zeros(o._data.shape, dtype=o._data.dtype)) for o in outputs]
    grads = _grad(outputs, diff_tensors, zeros, allow_unused=True)
    for g, t in zip(grads, diff_tensors):
        if g is None:
            continue
        if not np.all(g._data == 0):
            raise GradcheckError("backward not multiplied by grad_output")
        if g._data.dtype != t._data.dtype:
            raise GradcheckError("grad is incorrect type")
        if g._data.shape != t._data.shape:
            raise GradcheckError("grad is incorrect size")


def _undefined_grad():
    """An identity Function whose backward sends back no gradient (torch's UndefinedGrad)."""
    from .function import Function

    class UndefinedGrad(Function):
        @staticmethod
        def forward(ctx, x):
            return x._data

        @staticmethod
        def backward(ctx, grad):
            return None

    return UndefinedGrad


def _check_undefined_grad(func, tupled_inputs) -> None:
    """Backward must cope when the gradient of some outputs is undefined (None).

    Each differentiable output in turn is routed through an op whose backward
    returns None, so the node that made it sees an undefined gradient there.
    """
    diff_tensors = [t for _, t in _diff_inputs(tupled_inputs)]
    undefined = _undefined_grad()
    n_outputs = len(_differentiable_outputs(func(*tupled_inputs)))
    cases = [None] if n_outputs == 1 else [None] + list(range(n_outputs))
    for undef_idx in cases:
        outs = _differentiable_outputs(func(*tupled_inputs))
        outs = [undefined.apply(o) if undef_idx is None or k == undef_idx else o for k, o in enumerate(outs)]
        Tensor = _Tensor()
        zeros = [Tensor._make(np.zeros(o._data.shape, dtype=o._data.dtype)) for o in outs]
        try:
            grads = _grad(outs, diff_tensors, zeros, allow_unused=True)
        except Exception as e:  # a TypeError from `None * 2` is the usual symptom
            raise GradcheckError("Expected backward function to handle undefined output grads. Please look at "
                                 "\"Notes about undefined output gradients\" in torch's "
                                 "\"tools/autograd/derivatives.yaml\"") from e
        for g in grads:
            if g is not None and not np.all(g._data == 0):
                raise GradcheckError("Expected all input grads to be undefined or zero when all output grads are "
                                     "undefined or zero.")


def _check_batched_grad(outputs, tupled_inputs) -> None:
    """There is no vmap: check instead that backward is linear in grad_output.

    ``vjp(a*v1 + b*v2) == a*vjp(v1) + b*vjp(v2)`` is what batching the
    grad_outputs relies on.
    """
    rng = np.random.default_rng(1)
    diff_tensors = [t for _, t in _diff_inputs(tupled_inputs)]
    for i, o in enumerate(outputs):
        v1, v2 = rng.standard_normal(o._data.size), rng.standard_normal(o._data.size)
        rows, _, _ = _vjp_rows(o, diff_tensors, [v1, v2, 2.0 * v1 - 3.0 * v2])
        for j, r in enumerate(rows):
            combined = 2.0 * r[:, 0] - 3.0 * r[:, 1]
            if not np.allclose(r[:, 2], combined, rtol=1e-6, atol=1e-8):
                raise GradcheckError(f"For output {i} and input {j}: backward is not linear in grad_output, "
                                     f"so batched gradients would be wrong.\nExpected:\n{combined}\nGot:\n{r[:, 2]}")


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked: Optional[bool] = None) -> bool:
    """Check autograd's gradients of ``func`` against central finite differences.

    ``func`` takes the ``inputs`` (a Tensor or a tuple, non-tensors passed
    through) and returns a Tensor or a tuple of Tensors. Every element of
    every input that requires grad is perturbed by ``±eps``; the analytical
    Jacobian comes from ``autograd.grad`` with one-hot ``grad_outputs``.
    Entries pass when ``|analytical - numerical| <= atol + rtol * |numerical|``.
    Use float64 inputs (others draw a UserWarning, as in torch).

    Also checked, as torch does: backward is deterministic (``nondet_tol``),
    a zero ``grad_output`` gives zero gradients, and (``check_undefined_grad``)
    backward copes with undefined output gradients. ``fast_mode`` compares
    ``v^T J u`` for random ``u, v`` instead of whole Jacobians.
    ``check_batched_grad`` checks that backward is linear in grad_output
    (there is no vmap). There is no forward-mode AD, so ``check_forward_ad``
    and ``check_batched_forward_grad`` are accepted but check nothing more.
    ``masked`` concerns sparse tensors, which do not exist here.

    Returns True, or raises :class:`GradcheckError` (False with
    ``raise_exception=False``).

    Example::

        >>> x = tinygrad_cn.randn(3, dtype=tinygrad_cn.float64, requires_grad=True)
        >>> gradcheck(lambda t: (t * t).sin(), (x,))
        True
    """
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError("Setting check_batched_grad=True requires check_backward_ad to be True")
    try:
        return _gradcheck_helper(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
                                 check_grad_dtypes, check_batched_grad, fast_mode)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _gradcheck_helper(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes,
                      check_batched_grad, fast_mode) -> bool:
    tupled_inputs = _as_tuple(inputs)
    _check_inputs(tupled_inputs)
    func_out = func(*tupled_inputs)
    outputs = _differentiable_outputs(func_out)
    if not outputs:
        _check_no_differentiable_outputs(func, tupled_inputs, func_out, eps)
        return True
    check = _fast_gradcheck if fast_mode else _slow_gradcheck
    check(func, func_out, tupled_inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol)
    if check_batched_grad:
        _check_batched_grad(outputs, tupled_inputs)
    _check_backward_mul_by_grad_output(outputs, tupled_inputs)
    if check_undefined_grad:
        _check_undefined_grad(func, tupled_inputs)
    return True


# -- gradgradcheck ------------------------------------------------------------------------

def _random_grad_output(out, noncontiguous: bool, rng: np.random.Generator):
    """A uniform(-1, 1) tensor like ``out`` that requires grad (torch's make_tensor)."""
    Tensor = _Tensor()
    dtype = out._data.dtype if out._data.dtype.kind == "f" else np.float64
    values = rng.uniform(-1.0, 1.0, size=out._data.shape).astype(dtype)
    if noncontiguous and values.size > 1:
        # Every other element of a buffer twice as long along the last axis.
        buf = np.zeros(values.shape[:-1] + (2 * values.shape[-1],), dtype=dtype)
        view = buf[..., ::2]
        view[...] = values
        values = view
    return Tensor._make(values).requires_grad_(True)


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False) -> bool:
    """Check second derivatives: gradcheck of the vector-Jacobian product of ``func``.

    The checked function maps ``(inputs..., grad_outputs...)`` to
    ``autograd.grad(func(inputs), inputs, grad_outputs, create_graph=True)``,
    so both the dependence on the inputs (the Hessian-vector part) and on
    ``grad_outputs`` (the backward being linear) are checked. Without
    ``grad_outputs``, uniform(-1, 1) ones that require grad are drawn (laid
    out non-contiguously with ``gen_non_contig_grad_outputs``).

    Example::

        >>> x = tinygrad_cn.randn(4, dtype=tinygrad_cn.float64, requires_grad=True)
        >>> gradgradcheck(lambda t: t ** 3, (x,))
        True
    """
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError("Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_undefined_grad=True requires check_rev_over_rev to be True")
    tupled_inputs = _as_tuple(inputs)
    if grad_outputs is None:
        rng = np.random.default_rng()
        outputs = _differentiable_outputs(func(*tupled_inputs))
        tupled_grad_outputs = tuple(_random_grad_output(o, gen_non_contig_grad_outputs, rng) for o in outputs)
    else:
        tupled_grad_outputs = _as_tuple(grad_outputs)
    num_outputs = len(tupled_grad_outputs)
    diff_input_indices = {i for i, x in enumerate(tupled_inputs) if _is_tensor(x) and x.requires_grad}

    def vjp_of_func(*args):
        input_args = args[:len(args) - num_outputs] if num_outputs else args
        outputs = _differentiable_outputs(func(*input_args))
        grad_outs = args[len(args) - num_outputs:] if num_outputs else ()
        diff_args = tuple(x for i, x in enumerate(input_args) if i in diff_input_indices)
        if not outputs:
            return ()
        grads = _grad(outputs, diff_args, grad_outs, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(vjp_of_func, tupled_inputs + tupled_grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad, check_grad_dtypes=check_grad_dtypes,
                     check_batched_grad=check_batched_grad, check_forward_ad=check_fwd_over_rev,
                     check_backward_ad=check_rev_over_rev, fast_mode=fast_mode, masked=masked)
