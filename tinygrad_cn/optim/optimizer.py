"""``Optimizer``: the base class of every optimizer, with torch's behaviour.

It owns ``param_groups`` (a list of dicts: ``"params"`` plus per-group
options), ``defaults`` (the constructor's options) and ``state`` (a
``defaultdict(dict)`` keyed by the parameter tensor, as torch's). A subclass
writes ``step``. ``state_dict()`` / ``load_state_dict()`` use torch's format,
so a checkpoint looks the same in both libraries::

    {"state": {0: {"step": tensor(3.), "exp_avg": ...}, ...},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}]}
"""
from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import numpy as np

from .. import _dtype
from ..nn.modules.module import RemovableHandle
from ..tensor import Tensor

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]

_global_optimizer_pre_hooks: Dict[int, Callable] = OrderedDict()
_global_optimizer_post_hooks: Dict[int, Callable] = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Register a pre-step hook common to all optimizers:
    ``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``."""
    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Register a post-step hook common to all optimizers: ``hook(optimizer, args, kwargs) -> None``."""
    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _hooked_step(step: Callable) -> Callable:
    """Wrap a subclass's ``step`` so the pre- and post-step hooks run around it
    (global pre hooks, then the optimizer's; the optimizer's post hooks,
    then the global ones), once even when a ``step`` calls ``super().step``."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if self.__dict__.get("_in_step"):
            return step(self, *args, **kwargs)
        for hook in (*_global_optimizer_pre_hooks.values(), *self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{hook} must return None or a tuple of (new_args, new_kwargs), "
                                       f"but got {result}.")
        self._in_step = True
        try:
            out = step(self, *args, **kwargs)
        finally:
            self._in_step = False
        for hook in (*self._optimizer_step_post_hooks.values(), *_global_optimizer_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    wrapper._hooked = True
    return wrapper

ParamsT = Union[Iterable[Tensor], Iterable[Dict[str, Any]]]


class _RequiredParameter:
    """Singleton class representing a required parameter for an Optimizer."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj: Any) -> str:
    """torch.typename: the qualified class name of obj."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in ("builtins", None) else f"{module}.{name}"


def _get_scalar_dtype(is_fused: Optional[bool] = None) -> np.dtype:
    """dtype of the ``step`` (and NAdam's ``mu_product``) state scalars:
    float32, or float64 under ``set_default_dtype(float64)``, as in torch."""
    if is_fused:
        return np.dtype(np.float32)
    return np.dtype(np.float64) if _dtype.get_default_dtype() == _dtype.float64 else np.dtype(np.float32)


def _scalar(value: float, dtype: np.dtype) -> Tensor:
    """A 0-d state tensor (``tensor(0.)``) of the given dtype."""
    return Tensor._make(np.array(value, dtype=dtype))


def _to_float(x: Any) -> Any:
    """A 1-element Tensor hyper-parameter (``lr=tensor(0.1)``) as a Python float."""
    if isinstance(x, Tensor):
        if x.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        return float(x._data.reshape(()))
    return x


class Optimizer:
    """Base class for all optimizers.

    Args:
        params: an iterable of Tensors, or of dicts defining parameter groups
            (each with a ``"params"`` entry and any per-group options).
        defaults: default values of the options, used by groups that do not
            set them.

    Example::

        >>> w = tinygrad_cn.zeros(3, requires_grad=True)
        >>> opt = tinygrad_cn.optim.SGD([w], lr=0.1)
        >>> (w - 1).pow(2).sum().backward()
        >>> opt.step(); opt.zero_grad()
        >>> w
        tensor([0.2000, 0.2000, 0.2000], requires_grad=True)
    """

    #: State entries that have the parameter's shape (checked by load_state_dict).
    _param_shaped_state: tuple = ()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked", False):
            cls.step = _hooked_step(step)

    def __init__(self, params: ParamsT, defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        self._init_hooks()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got " + _typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: List[Dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # -- pickling / copying --------------------------------------------------
    def __getstate__(self) -> Dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    # Options a group pickled by an older version may lack, with the values
    # torch's __setstate__ of each optimizer fills in.
    _setstate_defaults: Dict[str, Any] = {}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_optimizer_step_pre_hooks" not in self.__dict__:  # unpickled
            self._init_hooks()
        for group in self.param_groups:
            for name, value in self._setstate_defaults.items():
                group.setdefault(name, value)
        self._invalidate()

    def _init_hooks(self) -> None:
        self._optimizer_step_pre_hooks: Dict[int, Callable] = OrderedDict()
        self._optimizer_step_post_hooks: Dict[int, Callable] = OrderedDict()
        self._optimizer_state_dict_pre_hooks: Dict[int, Callable] = OrderedDict()
        self._optimizer_state_dict_post_hooks: Dict[int, Callable] = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: Dict[int, Callable] = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: Dict[int, Callable] = OrderedDict()

    # -- hooks (torch's API) -------------------------------------------------
    @staticmethod
    def _register(hooks: Dict[int, Callable], hook: Callable, prepend: bool = False) -> RemovableHandle:
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``
        runs before each ``step``. Returns a handle whose ``remove()`` drops it."""
        return self._register(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs) -> None`` runs after each ``step``."""
        return self._register(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer) -> None`` runs before ``state_dict()`` builds the dict."""
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer, state_dict) -> state_dict or None`` runs on the
        dict ``state_dict()`` returns (a returned dict replaces it)."""
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer, state_dict) -> state_dict or None`` runs before
        ``load_state_dict`` (a returned dict is loaded instead)."""
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer) -> None`` runs after ``load_state_dict``."""
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    def _invalidate(self) -> None:
        """Forget cached per-group plans (subclasses keep them for speed)."""

    def __repr__(self) -> str:
        format_string = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            format_string += "\n"
            format_string += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    format_string += f"    {key}: {group[key]}\n"
        format_string += ")"
        return format_string

    # -- groups --------------------------------------------------------------
    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Add a param group to the optimizer's ``param_groups`` (for example
        layers unfrozen during fine tuning). Options it leaves out take the
        optimizer's ``defaults``.

        Example::

            >>> opt.add_param_group({"params": head.parameters(), "lr": 1e-2})
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):  # named parameters: (name, tensor)
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + _typename(param))
            if not self.defaults.get("differentiable", None) and not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)

        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; "
                          "see github.com/pytorch/pytorch/issues/40967 for more information", stacklevel=3)

        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {txt} to the optimizer")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)
        self._invalidate()

    # -- gradients -----------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: set them to None
        (the default, as torch) or fill them with zeros.

        Example::

            >>> opt.zero_grad()            # p.grad is None afterwards
            >>> opt.zero_grad(False)       # p.grad is all zeros
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    # as torch: detach a grad that is part of a graph, then zero it in place
                    if g.grad_fn is not None:
                        g = g.detach()
                        p._grad = g
                    else:
                        g._requires_grad = False
                    if not g._data.flags.writeable:
                        g._data = np.zeros_like(g._data)
                    else:
                        g._data[...] = 0
                    g._vc[0] += 1

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Optional[Any]:
        """Perform a single optimization step (update the parameters).

        Args:
            closure: a callable that re-evaluates the model and returns the
                loss; optional for most optimizers, required by LBFGS.
        """
        raise NotImplementedError

    # -- checkpoints ---------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """The optimizer's state as a dict, in torch's format:
        ``{"state": {index: {name: value}}, "param_groups": [{..., "params": [indices]}]}``.
        Parameters are numbered in the order of the groups. The state tensors
        are the optimizer's own (not copies), as in torch; save the dict with
        ``tinygrad_cn.save``.

        Example::

            >>> tinygrad_cn.save(opt.state_dict(), "opt.tgcn")
        """
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        param_mappings: Dict[int, int] = {}
        start_index = 0

        def pack_group(group: Dict[str, Any]) -> Dict[str, Any]:
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            param_mappings.update({id(p): i for i, p in enumerate(group["params"], start_index)
                                   if id(p) not in param_mappings})
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Load the optimizer state from ``state_dict`` (as returned by
        ``state_dict()``, possibly through ``tinygrad_cn.save`` / ``load``).
        Continuing after a round trip follows the same trajectory.

        Raises ValueError when the number of groups, a group's size or the
        shape of a per-parameter state tensor differs.

        Example::

            >>> opt.load_state_dict(tinygrad_cn.load("opt.tgcn"))
        """
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = self._cast_state(param, k, v)
            else:
                state[k] = v

        def update_group(group: Dict[str, Any], new_group: Dict[str, Any]) -> Dict[str, Any]:
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    def _cast_state(self, param: Tensor, index: int, value: Any, key: Any = None) -> Any:
        """A copy of one parameter's saved state: tensors become fresh
        C-contiguous writeable arrays (in the parameter's dtype, except the
        scalar ``step`` and ``mu_product``), so the fused kernels can update
        them in place."""
        if isinstance(value, Tensor):
            arr = value._data
            if key in self._param_shaped_state and arr.shape != param._data.shape:
                raise ValueError(f"loaded state dict has a state tensor '{key}' of shape {tuple(arr.shape)} for "
                                 f"parameter {index} of shape {tuple(param._data.shape)}")
            # torch also casts NAdam's 0-d mu_product to the parameter dtype, which changes the
            # trajectory after a round trip; the scalar counters keep their dtype here
            if key not in ("step", "mu_product") and param._data.dtype.kind == "f" and arr.dtype.kind == "f":
                arr = arr.astype(param._data.dtype)
            return Tensor._make(np.array(arr, order="C", copy=True))
        if isinstance(value, dict):
            return {k: self._cast_state(param, index, v, key=k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._cast_state(param, index, v) for v in value)
        return value
