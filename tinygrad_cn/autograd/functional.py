"""Higher-level autograd: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``.

torch.autograd.functional's signatures, return nesting and error messages.
There is no forward-mode AD: ``jvp``, ``hvp`` and ``strategy="forward-mode"``
use the double-backward trick (differentiate the vector-Jacobian product with
respect to its vector), so they need ``func``'s backward to be differentiable,
as torch's ``jvp`` does. ``vectorize`` is accepted; there is no vmap, so the
rows are computed one by one either way, with the same results.
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import numpy as np

from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _Tensor():
    from ..tensor import Tensor
    return Tensor


def _autograd_grad_fn(*args, **kwargs):
    from .engine import grad
    return grad(*args, **kwargs)


# -- tuple helpers (as torch's) --------------------------------------------------------

def _as_tuple(inp, arg_name: str, fn_name: str) -> Tuple[bool, tuple]:
    """Return whether ``inp`` was a tuple, and ``inp`` as a tuple of Tensors."""
    Tensor = _Tensor()
    is_tuple = isinstance(inp, tuple)
    if not is_tuple:
        inp = (inp,)
    for i, el in enumerate(inp):
        if not isinstance(el, Tensor):
            if is_tuple:
                raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors "
                                f"but the value at index {i} has type {type(el)}.")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
                            f"the given {arg_name} has type {type(el)}.")
    return is_tuple, inp


def _tuple_postprocess(res, to_unpack):
    """Undo ``_as_tuple``: unwrap one or two levels of tuple nesting."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _grad_preprocess(inputs, create_graph: bool, need_graph: bool) -> tuple:
    # Always new Tensor objects: the engine must tell the inputs given here
    # apart from the same tensors captured by the user's function (torch #32576).
    res = []
    for inp in inputs:
        if create_graph and inp.requires_grad:
            res.append(inp.view_as(inp))  # differentiable shallow copy
        else:
            res.append(inp.detach().requires_grad_(need_graph))
    return tuple(res)


def _grad_postprocess(inputs, create_graph: bool):
    Tensor = _Tensor()
    if isinstance(inputs[0], Tensor):
        return inputs if create_graph else tuple(inp.detach() for inp in inputs)
    return tuple(_grad_postprocess(inp, create_graph) for inp in inputs)


def _validate_v(v, other, is_other_tuple: bool) -> None:
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.size()} but got {el_v.size()}.")


def _check_requires_grad(inputs, input_type: str, strict: bool) -> None:
    if not strict:
        return
    for i, inp in enumerate(inputs):
        if inp is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is not "
                               "allowed in strict mode.")
        if inp.requires_grad:
            continue
        if input_type == "hessian":
            raise RuntimeError(f"The hessian of the user-provided function with respect to input {i} is independent "
                               "of the input. This is not allowed in strict mode. You should ensure that your "
                               "function is thrice differentiable and that the hessian depends on the inputs.")
        if input_type == "jacobian":
            raise RuntimeError("While computing the hessian, found that the jacobian of the user-provided function "
                               f"with respect to input {i} is independent of the input. This is not allowed in "
                               "strict mode. You should ensure that your function is twice differentiable and that "
                               "the jacobian depends on the inputs (this would be violated by a linear function for "
                               "example).")
        if input_type == "grad_inputs":
            raise RuntimeError(f"The gradient with respect to input {i} is independent of the inputs of the "
                               "user-provided function. This is not allowed in strict mode.")
        raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The outputs must "
                           "be computed in a differentiable manner from the input when running in strict mode.")


def _autograd_grad(outputs: tuple, inputs: tuple, grad_outputs=None, create_graph: bool = False,
                   retain_graph: Optional[bool] = None) -> tuple:
    """``autograd.grad`` that skips outputs which are None or need no grad."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    new_outputs, new_grad_outputs = [], []
    for out, g in zip(outputs, grad_outputs):
        if out is not None and out.requires_grad:
            new_outputs.append(out)
            new_grad_outputs.append(g)
    if not new_outputs:
        return (None,) * len(inputs)
    return _autograd_grad_fn(tuple(new_outputs), inputs, tuple(new_grad_outputs), allow_unused=True,
                             create_graph=create_graph, retain_graph=retain_graph)


_FILL_MSGS = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in strict "
            "mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs when using "
                  "the double backward trick to compute forward mode gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not allowed in "
                   "strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the grad_jacobian. "
                         "This is not allowed in strict mode as it prevents from using the double backward trick to "
                         "replace forward mode AD.",
}


def _zeros_like(t):
    return _Tensor()._make(np.zeros(t._data.shape, dtype=t._data.dtype))


def _fill_in_zeros(grads, refs, strict: bool, create_graph: bool, stage: str) -> tuple:
    """Replace missing gradients by zeros, or raise in strict mode."""
    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_FILL_MSGS[stage].format(i=i))
            g = _zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. This is "
                               "not allowed in strict mode when create_graph=True.")
        res.append(g)
    return tuple(res)


def _prepare_v(v, reference, is_reference_tuple: bool, fn_name: str, create_graph: bool, none_msg: str):
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
        _validate_v(v, reference, is_reference_tuple)
        return v
    if len(reference) != 1 or reference[0].nelement() != 1:
        raise RuntimeError(none_msg)
    return None


# -- vjp / jvp ----------------------------------------------------------------------------------

def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """Vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Returns ``(func_output, vjp)``; ``vjp`` has the inputs' structure (a
    Tensor, or a tuple when ``inputs`` is a tuple). ``v`` has the outputs'
    structure; it may be omitted when the output is a single element.

    Example::

        >>> x = tinygrad_cn.tensor([1.0, 2.0], dtype=tinygrad_cn.float64)
        >>> out, g = vjp(lambda t: (t ** 2).sum(), x)
        >>> g
        tensor([2., 4.], dtype=tinygrad_cn.float64)
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "vjp")
        _check_requires_grad(outputs, "outputs", strict=strict)
        v = _prepare_v(v, outputs, is_outputs_tuple, "vjp", create_graph,
                       "The vector v can only be None if the user-provided function returns a single Tensor with "
                       "a single element.")
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "back")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(result, is_inputs_tuple)


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """Jacobian-vector product ``J v`` of ``func`` at ``inputs``.

    Returns ``(func_output, jvp)``; ``jvp`` has the outputs' structure. ``v``
    has the inputs' structure; it may be omitted for a single one-element
    input. Computed with the double-backward trick, as torch's.

    Example::

        >>> x = tinygrad_cn.tensor([1.0, 2.0], dtype=tinygrad_cn.float64)
        >>> out, g = jvp(lambda t: t ** 2, x, tinygrad_cn.ones(2, dtype=tinygrad_cn.float64))
        >>> g
        tensor([2., 4.], dtype=tinygrad_cn.float64)
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, "jvp", create_graph,
                       "The vector v can only be None if the input to the user-provided function is a single "
                       "Tensor with a single element.")
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "jvp")
        _check_requires_grad(outputs, "outputs", strict=strict)
        # Backward is linear in grad_outputs, so their value does not matter;
        # zeros keep inf and nan out of the double-backward graph.
        grad_outputs = tuple(_zeros_like(out).requires_grad_(True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, outputs, strict, create_graph, "back_trick")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(result, is_outputs_tuple)


# -- jacobian / hessian ------------------------------------------------------------------------------

def _one_hot(t, k: int):
    arr = np.zeros(t._data.size, dtype=t._data.dtype)
    arr[k] = 1
    return _Tensor()._make(arr.reshape(t._data.shape))


def _assemble(rows, out_shape, inp, create_graph: bool):
    """Stack per-output-element gradients into one ``out_shape + inp.shape`` tensor."""
    Tensor = _Tensor()
    shape = tuple(out_shape) + tuple(inp.shape)
    if not rows:  # an empty output: torch.stack would refuse the empty list
        return Tensor._make(np.zeros(shape, dtype=inp._data.dtype))
    if create_graph:
        from .. import stack
        return stack(rows, dim=0).reshape(shape)
    return Tensor._make(np.stack([r._data for r in rows], axis=0).reshape(shape))


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``.

    For output shape O and input shape I the block has shape ``O + I``.
    Nesting as torch: a Tensor for one input and one output; a tuple over
    inputs (or outputs) when only that side is a tuple; ``result[i][j]`` for
    output i and input j when both are tuples.

    Example::

        >>> A = tinygrad_cn.randn(2, 3, dtype=tinygrad_cn.float64)
        >>> x = tinygrad_cn.randn(3, dtype=tinygrad_cn.float64)
        >>> J = jacobian(lambda t: A @ t, x)      # equals A
        >>> J.shape
        tinygrad_cn.Size([2, 3])
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError("torch.autograd.functional.jacobian: `create_graph=True` and "
                                      '`strategy="forward-mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        return _jacfwd(func, inputs, strict)
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "jacobian")
        _check_requires_grad(outputs, "outputs", strict=strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                               "supported together. Please either set `strict=False` or `vectorize=False`.")
        jac = []
        for i, out in enumerate(outputs):
            rows = tuple([] for _ in inputs)
            for k in range(out.nelement()):
                # A one-hot grad_output picks row k; same as grad of out.reshape(-1)[k].
                vj = _autograd_grad((out,), inputs, (_one_hot(out, k),), retain_graph=True,
                                    create_graph=create_graph)
                for el_idx, (rows_el, vj_el, inp_el) in enumerate(zip(rows, vj, inputs)):
                    if vj_el is not None:
                        if strict and create_graph and not vj_el.requires_grad:
                            raise RuntimeError("The jacobian of the user-provided function is independent of "
                                               f"input {i}. This is not allowed in strict mode when "
                                               "create_graph=True.")
                        rows_el.append(vj_el)
                    else:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is independent of input "
                                               f"{el_idx}. This is not allowed in strict mode.")
                        rows_el.append(_zeros_like(inp_el))
            jac.append(tuple(_assemble(rows_el, out.shape, inputs[el_idx], create_graph)
                             for el_idx, rows_el in enumerate(rows)))
        jac = _grad_postprocess(tuple(jac), create_graph)
        return _tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))


def _jacfwd(func: Callable, inputs, strict: bool):
    """Forward-mode Jacobian by columns: the jvp of each one-hot input direction."""
    if strict:
        raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are not '
                           'supported together (yet). Please either set `strict=False` or '
                           '`strategy="reverse-mode"`.')
    Tensor = _Tensor()
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=False, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "jacobian")
        grad_outputs = tuple(_zeros_like(out).requires_grad_(True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
    blocks = [[np.zeros((out._data.size, inp._data.size), dtype=out._data.dtype) for inp in inputs]
              for out in outputs]
    for j, inp in enumerate(inputs):
        for m in range(inp._data.size):
            directions = tuple(_one_hot(t, m) if jj == j else _zeros_like(t) for jj, t in enumerate(inputs))
            cols = _autograd_grad(grad_inputs, grad_outputs, directions, retain_graph=True)
            for i, col in enumerate(cols):
                if col is not None:
                    blocks[i][j][:, m] = col._data.reshape(-1)
    # Lists, not tuples: torch's forward-mode jacobian returns lists here too.
    jac = [[Tensor._make(blocks[i][j].reshape(tuple(out.shape) + tuple(inp.shape))) for j, inp in enumerate(inputs)]
           for i, out in enumerate(outputs)]
    return _tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar-valued ``func`` at ``inputs``.

    For one input of shape I the result has shape ``I + I``; for a tuple of
    inputs, ``result[i][j]`` is the block for inputs i and j.

    Example::

        >>> x = tinygrad_cn.tensor([1.0, 2.0], dtype=tinygrad_cn.float64)
        >>> hessian(lambda t: (t ** 3).sum(), x)      # diag(6 x)
        tensor([[ 6.,  0.],
                [ 0., 12.]], dtype=tinygrad_cn.float64)
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    Tensor = _Tensor()

    def ensure_single_output_function(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict=strict)
        if is_out_tuple or not isinstance(out, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.nelement() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        return out.squeeze()

    def jac_func(*inp):
        if outer_jacobian_strategy == "forward-mode":
            inp = tuple(t.requires_grad_(True) for t in inp)
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


# -- hvp / vhp ---------------------------------------------------------------------------------------

def _scalar_output(func, inputs, fn_name: str, strict: bool):
    outputs = func(*inputs)
    is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", fn_name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    if is_outputs_tuple or not isinstance(outputs[0], _Tensor()):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single element")
    return is_outputs_tuple, outputs


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """Vector-Hessian product ``v^T H`` of a scalar-valued ``func``.

    Returns ``(func_output, vhp)``; ``vhp`` has the inputs' structure.

    Example::

        >>> x = tinygrad_cn.tensor([1.0, 2.0], dtype=tinygrad_cn.float64)
        >>> _, r = vhp(lambda t: (t ** 3).sum(), x, tinygrad_cn.ones(2, dtype=tinygrad_cn.float64))
        >>> r                                    # 6 x * v
        tensor([ 6., 12.], dtype=tinygrad_cn.float64)
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, "vhp", create_graph,
                       "The vector v can only be None if the input to the user-provided function is a single "
                       "Tensor with a single element.")
        is_outputs_tuple, outputs = _scalar_output(func, inputs, "vhp", strict)
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(result, is_inputs_tuple)


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """Hessian-vector product ``H v`` of a scalar-valued ``func`` (double-backward trick).

    Returns ``(func_output, hvp)``; ``hvp`` has the inputs' structure. Equal
    to :func:`vhp` for twice continuously differentiable functions.

    Example::

        >>> x = tinygrad_cn.tensor([1.0, 2.0], dtype=tinygrad_cn.float64)
        >>> _, r = hvp(lambda t: (t ** 3).sum(), x, tinygrad_cn.ones(2, dtype=tinygrad_cn.float64))
        >>> r
        tensor([ 6., 12.], dtype=tinygrad_cn.float64)
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, "hvp", create_graph,
                       "The vector v can only be None if the input to the user-provided function is a single "
                       "Tensor with a single element.")
        is_outputs_tuple, outputs = _scalar_output(func, inputs, "hvp", strict)
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        grad_jac = tuple(_zeros_like(inp).requires_grad_(True) for inp in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(double_back, grad_jac, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back_trick")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(result, is_inputs_tuple)
