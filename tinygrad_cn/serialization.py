"""``tinygrad_cn.save`` / ``tinygrad_cn.load``: tensors and nested containers in a
file of our own format. No pickle: loading reads data, never runs code.

What can be saved: Tensors (and ``nn.Parameter``), and dict / OrderedDict /
list / tuple nests of them together with Python ``int``, ``float``, ``str``,
``bool``, ``None`` and ``tinygrad_cn.dtype`` values (dict keys: str, int,
float, bool, None or tuples of those). A tensor saved twice in one object (the
same Python object) is stored once and loaded as one object again.

File format (version 1), all integers little-endian::

    offset 0   8 bytes   magic  b"TGCNSAVE"
    offset 8   4 bytes   uint32 format version (1)
    offset 12  8 bytes   uint64 H, the length of the header
    offset 20  H bytes   the header: UTF-8 JSON (described below)
    then       zero padding up to a multiple of 64 bytes from the file start
    then       the data section: each tensor's elements, C-order, little-endian,
               bool as one byte 0/1, each tensor starting on a 64-byte boundary
               (offsets are relative to the start of the data section)

The header is a JSON object::

    {"format": "tinygrad_cn", "version": 1,
     "data_size": <bytes in the data section>, "data_crc32": <zlib.crc32 of it>,
     "tensors": [{"dtype": "float32", "shape": [2, 3], "offset": 0, "nbytes": 24,
                  "requires_grad": false, "parameter": false}, ...],
     "root": <node>}

A node is a JSON object with a type tag ``"t"``:

    {"t": "tensor", "i": <index into "tensors">}
    {"t": "none"} | {"t": "bool", "v": true} | {"t": "str", "v": "..."}
    {"t": "int", "v": "<decimal digits>"}        (a string: ints of any size)
    {"t": "float", "v": "<repr(float)>"}         (a string: nan and inf survive)
    {"t": "dtype", "v": "float32"}
    {"t": "list", "items": [<node>, ...]} | {"t": "tuple", "items": [...]}
    {"t": "dict" | "odict", "keys": [<node>, ...], "values": [<node>, ...]}

dtypes: float16, float32, float64, int8, int16, int32, int64, uint8, bool.

Saving to a path is atomic: the bytes go to a temporary file in the same
directory, which is flushed, fsync'ed and then ``os.replace``'d over the
target, so a crash mid-save leaves any previous file intact. Loading checks
the magic, version, header, every tensor's dtype/shape/extent and the data
checksum, and raises ``RuntimeError`` naming the problem for a truncated,
corrupt, foreign (pickle, torch zip) or malicious file.
"""
from __future__ import annotations

import json
import math
import os
import struct
import tempfile
import zlib
from collections import OrderedDict
from typing import Any, BinaryIO, Union

import numpy as np

from . import _dtype
from .tensor import Tensor

__all__ = ["save", "load"]

MAGIC = b"TGCNSAVE"
VERSION = 1
ALIGN = 64
_PREFIX = struct.Struct("<8sIQ")  # magic, version, header length
_MAX_DEPTH = 256
_DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64, "int8": np.int8,
           "int16": np.int16, "int32": np.int32, "int64": np.int64, "uint8": np.uint8, "bool": np.bool_}


def _pad(n: int) -> int:
    return (-n) % ALIGN


# -- encoding -----------------------------------------------------------------------------------
class _Encoder:
    def __init__(self):
        self.tensors = []   # header entries
        self.arrays = []    # little-endian contiguous arrays, in order
        self.by_id = {}
        self.keep = []      # keep saved objects alive so ids stay unique
        self.offset = 0

    def tensor(self, t: Tensor) -> dict:
        idx = self.by_id.get(id(t))
        if idx is None:
            arr = t._data
            name = arr.dtype.name if arr.dtype != np.bool_ else "bool"
            if name not in _DTYPES:
                raise TypeError(f"save: unsupported tensor dtype {arr.dtype}")
            le = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
            from .nn.parameter import Parameter
            self.tensors.append({"dtype": name, "shape": list(arr.shape), "offset": self.offset,
                                 "nbytes": int(le.nbytes), "requires_grad": bool(t.requires_grad),
                                 "parameter": isinstance(t, Parameter)})
            self.arrays.append(le)
            self.offset += le.nbytes + _pad(le.nbytes)
            idx = self.by_id[id(t)] = len(self.tensors) - 1
            self.keep.append(t)
        return {"t": "tensor", "i": idx}

    def node(self, obj: Any, depth: int = 0) -> dict:
        if depth > _MAX_DEPTH:
            raise ValueError(f"save: object nested more than {_MAX_DEPTH} levels deep")
        if isinstance(obj, Tensor):
            return self.tensor(obj)
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, bool):
            return {"t": "bool", "v": obj}
        if isinstance(obj, int) and type(obj) is int:
            return {"t": "int", "v": str(obj)}
        if isinstance(obj, float) and type(obj) is float:
            return {"t": "float", "v": repr(obj)}
        if isinstance(obj, str):
            return {"t": "str", "v": str(obj)}
        if isinstance(obj, _dtype.dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple) or type(obj).__name__ == "Size":
            kind = "list" if type(obj) is list else "tuple"
            return {"t": kind, "items": [self.node(x, depth + 1) for x in obj]}
        if isinstance(obj, dict) and type(obj) in (dict, OrderedDict):
            keys, values = [], []
            for k, v in obj.items():
                keys.append(self.key(k))
                values.append(self.node(v, depth + 1))
            return {"t": "odict" if type(obj) is OrderedDict else "dict", "keys": keys, "values": values}
        raise TypeError(f"save: cannot save an object of type {type(obj).__module__}.{type(obj).__qualname__}; "
                        "supported are Tensors and dict/OrderedDict/list/tuple nests of tensors, int, float, str, "
                        "bool, None and dtypes")

    def key(self, k: Any) -> dict:
        if k is None or type(k) in (str, int, float, bool):
            return self.node(k)
        if type(k) is tuple:
            return {"t": "tuple", "items": [self.key(x) for x in k]}
        raise TypeError(f"save: unsupported dict key type {type(k).__name__}")


def _write_payload(fh: BinaryIO, header: bytes, arrays) -> None:
    """Write the whole file to ``fh`` (the one place bytes are written)."""
    fh.write(_PREFIX.pack(MAGIC, VERSION, len(header)))
    fh.write(header)
    fh.write(b"\0" * _pad(_PREFIX.size + len(header)))
    for a in arrays:
        fh.write(memoryview(a).cast("B") if a.nbytes else b"")
        fh.write(b"\0" * _pad(a.nbytes))


def _encode(obj: Any):
    enc = _Encoder()
    root = enc.node(obj)
    crc = 0
    for a in enc.arrays:
        if a.nbytes:
            crc = zlib.crc32(memoryview(a).cast("B"), crc)
        crc = zlib.crc32(b"\0" * _pad(a.nbytes), crc)
    header = {"format": "tinygrad_cn", "version": VERSION, "data_size": enc.offset, "data_crc32": crc,
              "tensors": enc.tensors, "root": root}
    return json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8"), enc.arrays


def save(obj: Any, f: Union[str, os.PathLike, BinaryIO], pickle_module=None, pickle_protocol=None,
         _use_new_zipfile_serialization=True) -> None:
    """Save ``obj`` (tensors in nested dicts/lists/tuples) to the path or binary file ``f``.

    Example::

        >>> tinygrad_cn.save(model.state_dict(), "model.pt")
        >>> model.load_state_dict(tinygrad_cn.load("model.pt"))
    """
    if pickle_module is not None:
        raise ValueError("tinygrad_cn.save does not use pickle; pickle_module is not supported")
    header, arrays = _encode(obj)
    if isinstance(f, (str, bytes, os.PathLike)):
        path = os.fspath(f)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                _write_payload(fh, header, arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        try:  # make the rename itself durable where the platform allows it
            dfd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
    elif hasattr(f, "write"):
        _write_payload(f, header, arrays)
        if hasattr(f, "flush"):
            f.flush()
    else:
        raise TypeError(f"save: f must be a path or a binary file object, got {type(f).__name__}")


# -- decoding -----------------------------------------------------------------------------------
def _bad(msg: str) -> RuntimeError:
    return RuntimeError(f"tinygrad_cn.load: {msg}")


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


class _Decoder:
    def __init__(self, header: dict, data: memoryview, map_location):
        self.header = header
        self.data = data
        self.loaded = {}
        entries = header.get("tensors")
        if not isinstance(entries, list):
            raise _bad("corrupt header: 'tensors' is not a list")
        self.entries = entries

    def tensor(self, i) -> Tensor:
        if not _is_int(i) or not 0 <= i < len(self.entries):
            raise _bad(f"corrupt header: tensor index {i!r} out of range")
        if i in self.loaded:
            return self.loaded[i]
        e = self.entries[i]
        if not isinstance(e, dict):
            raise _bad(f"corrupt header: tensor entry {i} is not an object")
        name = e.get("dtype")
        if name not in _DTYPES:
            raise _bad(f"corrupt header: tensor {i} has unknown dtype {name!r}")
        shape = e.get("shape")
        if not isinstance(shape, list) or len(shape) > 64 or not all(_is_int(s) and s >= 0 for s in shape):
            raise _bad(f"corrupt header: tensor {i} has an invalid shape {shape!r}")
        npd = np.dtype(_DTYPES[name]).newbyteorder("<")
        count = math.prod(shape)
        nbytes, offset = e.get("nbytes"), e.get("offset")
        if not _is_int(nbytes) or nbytes != count * npd.itemsize:
            raise _bad(f"corrupt header: tensor {i} has {nbytes!r} bytes for shape {shape} of {name}")
        if not _is_int(offset) or offset < 0 or offset + nbytes > len(self.data):
            raise _bad(f"corrupt header: tensor {i} lies outside the data section "
                       f"(offset {offset!r}, {nbytes} bytes, data section {len(self.data)} bytes)")
        arr = np.frombuffer(self.data, dtype=npd, count=count, offset=offset).reshape(shape)
        arr = arr.astype(npd.newbyteorder("="), copy=True)
        if name == "bool":
            arr = arr.view(np.uint8)
            if arr.size and arr.max() > 1:
                raise _bad(f"corrupt data: bool tensor {i} holds bytes other than 0 and 1")
            arr = arr.view(np.bool_)
        requires_grad = e.get("requires_grad", False) is True
        if e.get("parameter", False) is True:
            from .nn.parameter import Parameter
            t = Parameter(Tensor._make(arr), requires_grad=requires_grad and name in ("float16", "float32",
                                                                                      "float64"))
        else:
            t = Tensor._make(arr)
            if requires_grad:
                if name not in ("float16", "float32", "float64"):
                    raise _bad(f"corrupt header: tensor {i} of dtype {name} marked requires_grad")
                t.requires_grad_(True)
        self.loaded[i] = t
        return t

    def node(self, n, depth: int = 0):
        if depth > _MAX_DEPTH:
            raise _bad(f"corrupt header: structure nested more than {_MAX_DEPTH} levels deep")
        if not isinstance(n, dict) or not isinstance(n.get("t"), str):
            raise _bad(f"corrupt header: malformed node {str(n)[:80]!r}")
        t = n["t"]
        if t == "tensor":
            return self.tensor(n.get("i"))
        if t == "none":
            return None
        if t == "bool":
            v = n.get("v")
            if not isinstance(v, bool):
                raise _bad("corrupt header: bool node without a boolean value")
            return v
        if t == "str":
            v = n.get("v")
            if not isinstance(v, str):
                raise _bad("corrupt header: str node without a string value")
            return v
        if t == "int":
            v = n.get("v")
            if not isinstance(v, str) or len(v) > 4300:
                raise _bad("corrupt header: int node without a decimal string")
            try:
                return int(v, 10)
            except ValueError:
                raise _bad(f"corrupt header: bad int {v[:40]!r}") from None
        if t == "float":
            v = n.get("v")
            if not isinstance(v, str) or len(v) > 64:
                raise _bad("corrupt header: float node without a string value")
            try:
                return float(v)
            except ValueError:
                raise _bad(f"corrupt header: bad float {v!r}") from None
        if t == "dtype":
            v = n.get("v")
            if v not in _DTYPES:
                raise _bad(f"corrupt header: unknown dtype {v!r}")
            return _dtype._NAMES[v]
        if t in ("list", "tuple"):
            items = n.get("items")
            if not isinstance(items, list):
                raise _bad(f"corrupt header: {t} node without items")
            out = [self.node(x, depth + 1) for x in items]
            return out if t == "list" else tuple(out)
        if t in ("dict", "odict"):
            keys, values = n.get("keys"), n.get("values")
            if not isinstance(keys, list) or not isinstance(values, list) or len(keys) != len(values):
                raise _bad(f"corrupt header: {t} node with mismatched keys and values")
            out = OrderedDict() if t == "odict" else {}
            for k, v in zip(keys, values):
                key = self.node(k, depth + 1)
                try:
                    hash(key)
                except TypeError:
                    raise _bad(f"corrupt header: unhashable dict key of type {type(key).__name__}") from None
                if isinstance(key, Tensor):
                    raise _bad("corrupt header: tensor used as a dict key")
                out[key] = self.node(v, depth + 1)
            return out
        raise _bad(f"corrupt header: unknown node type {t[:40]!r}")


def _read_all(f) -> bytes:
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as fh:
            return fh.read()
    if hasattr(f, "read"):
        raw = f.read()
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise TypeError("load: the file object must be opened in binary mode")
        return bytes(raw)
    raise TypeError(f"load: f must be a path or a binary file object, got {type(f).__name__}")


def load(f: Union[str, os.PathLike, BinaryIO], map_location=None, pickle_module=None, *, weights_only=True,
         mmap=None, **pickle_load_args) -> Any:
    """Load what ``save`` wrote. Never unpickles and never runs code from the file.

    ``map_location`` may be None, 'cpu' or a CPU device; ``weights_only`` is accepted
    (loading is always data-only)."""
    if map_location is not None and not callable(map_location) and not isinstance(map_location, dict):
        from .tensor import check_device
        check_device(map_location)
    raw = _read_all(f)
    if not raw:
        raise _bad("empty file")
    if len(raw) < _PREFIX.size and MAGIC.startswith(raw[:8]):
        raise _bad(f"truncated file: {len(raw)} bytes, shorter than the {_PREFIX.size}-byte preamble")
    magic = raw[:8]
    if magic != MAGIC:
        if raw[:1] == b"\x80" or raw[:1] in (b"(", b"c", b"]", b"}"):
            raise _bad("this looks like a pickle file; tinygrad_cn never unpickles (it could run arbitrary "
                       "code). Re-save the object with tinygrad_cn.save")
        if raw[:4] == b"PK\x03\x04":
            raise _bad("this looks like a zip archive (a torch.save checkpoint?); tinygrad_cn.load reads only "
                       "files written by tinygrad_cn.save")
        raise _bad(f"not a tinygrad_cn file (bad magic bytes {raw[:8]!r})")
    _, version, hlen = _PREFIX.unpack_from(raw, 0)
    if version != VERSION:
        raise _bad(f"unsupported format version {version} (this tinygrad_cn reads version {VERSION})")
    start = _PREFIX.size
    if hlen > len(raw) - start:
        raise _bad(f"truncated file: header of {hlen} bytes announced, {len(raw) - start} bytes present")
    try:
        header = json.loads(raw[start:start + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _bad(f"corrupt header ({type(e).__name__}: {str(e)[:100]})") from None
    if not isinstance(header, dict) or header.get("format") != "tinygrad_cn":
        raise _bad("corrupt header: not a tinygrad_cn header object")
    if header.get("version") != VERSION:
        raise _bad(f"corrupt header: version {header.get('version')!r} disagrees with the preamble")
    data_start = start + hlen + _pad(start + hlen)
    size = header.get("data_size")
    if not _is_int(size) or size < 0:
        raise _bad("corrupt header: invalid data_size")
    present = len(raw) - data_start
    if present < size:
        raise _bad(f"truncated file: data section of {size} bytes announced, {max(present, 0)} bytes present")
    if present > size:
        raise _bad(f"corrupt file: {present - size} unexpected trailing bytes after the data section")
    data = memoryview(raw)[data_start:data_start + size]
    if zlib.crc32(data) != header.get("data_crc32"):
        raise _bad("corrupt data: checksum mismatch (the tensor bytes were altered or damaged)")
    try:
        return _Decoder(header, data, map_location).node(header.get("root"))
    except RecursionError:
        raise _bad("corrupt header: structure nested too deeply") from None
    except (ValueError, OverflowError, MemoryError, TypeError) as e:
        raise _bad(f"corrupt header: {type(e).__name__}: {str(e)[:100]}") from None
