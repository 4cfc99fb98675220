"""Collation: merging a list of samples into a batch (``default_collate``) and
converting NumPy data to tensors without batching (``default_convert``), as torch does.
"""
from __future__ import annotations

import collections.abc
import copy
import re
from typing import Callable, Dict, Optional, Tuple, Type, Union

import numpy as np

from ... import creation
from ..._dtype import float64
from ...ops.movement import stack
from ...tensor import Tensor

__all__ = ["collate", "default_collate", "default_convert", "default_collate_fn_map"]

# NumPy dtypes that cannot become tensors: bytes, unicode and Python objects.
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                                  "dicts or lists; found {}")

CollateFnMap = Dict[Union[Type, Tuple[Type, ...]], Callable]


def default_convert(data):
    """Turn NumPy arrays and scalars (also inside dicts, lists, tuples) into tensors; leave the rest.

    Used instead of :func:`default_collate` when automatic batching is off (``batch_size=None``).

    Example::

        >>> default_convert({"x": np.array([0, 1]), "name": "a"})
        {'x': tensor([0, 1]), 'name': 'a'}
    """
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if elem_type.__name__ == "ndarray" and np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return creation.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, as torch (backwards compatibility there)
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(elem, converted: dict):
    """A mapping of ``elem``'s own type holding ``converted``; a plain dict if that type cannot be built."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(converted)
            return clone
        return type(elem)(converted)
    except TypeError:
        return converted


def _rebuild_sequence(elem, items: list):
    """A sequence of ``elem``'s own type holding ``items``; a plain list if that type cannot be built."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(elem)(items)
    except TypeError:
        return items


def collate(batch, *, collate_fn_map: Optional[CollateFnMap] = None):
    """Collate ``batch`` (a list of samples) by element type, recursing into dicts and sequences.

    ``collate_fn_map`` maps a type (or tuple of types) to ``fn(batch, *, collate_fn_map)``;
    an exact type match wins, then the first ``isinstance`` match in insertion order.

    Example::

        >>> collate([(1, "a"), (2, "b")], collate_fn_map=default_collate_fn_map)
        [tensor([1, 2]), ('a', 'b')]
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                                       for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # torch gives a list for tuples
        return _rebuild_sequence(elem, columns)
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map: Optional[CollateFnMap] = None) -> Tensor:
    return stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map: Optional[CollateFnMap] = None):
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([creation.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map: Optional[CollateFnMap] = None) -> Tensor:
    # np.stack keeps the scalars' common NumPy dtype (float32 stays float32), as torch.as_tensor does.
    return creation.as_tensor(np.stack(batch))


def collate_float_fn(batch, *, collate_fn_map: Optional[CollateFnMap] = None) -> Tensor:
    return creation.tensor(batch, dtype=float64)


def collate_int_fn(batch, *, collate_fn_map: Optional[CollateFnMap] = None) -> Tensor:
    return creation.tensor(batch)


def collate_str_fn(batch, *, collate_fn_map: Optional[CollateFnMap] = None):
    return batch


default_collate_fn_map: CollateFnMap = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """Stack a list of samples into a batch with a new leading dimension, as torch's ``default_collate``.

    Tensors and NumPy arrays are stacked; Python ints become an int64 tensor, floats a
    float64 tensor, bools a bool tensor; strings and bytes stay a list; dicts, namedtuples
    and sequences are collated field by field (a tuple of fields comes back as a list).

    Example::

        >>> default_collate([0, 1, 2])
        tensor([0, 1, 2])
        >>> default_collate([{"a": 0.5, "s": "x"}, {"a": 1.5, "s": "y"}])
        {'a': tensor([0.5000, 1.5000], dtype=tinygrad_cn.float64), 's': ['x', 'y']}
        >>> default_collate([(0, 1), (2, 3)])
        [tensor([0, 2]), tensor([1, 3])]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
