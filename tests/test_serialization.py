"""tinygrad_cn.save / tinygrad_cn.load: round trips, the file format, corrupt and
malicious files, atomic saves."""
import io
import json
import math
import os
import pickle
import struct
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_cn
from tinygrad_cn import nn, serialization


def _np(t):
    return np.asarray(t.detach()._data)


def _same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, tinygrad_cn.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        assert np.array_equal(_np(a), _np(b), equal_nan=a.is_floating_point())
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def _sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) * 50
    return tinygrad_cn.tensor(a.astype(np.bool_ if dtype == "bool" else dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (2, 3, 4)])
def test_round_trip_dtypes_and_shapes(tmp_path, dtype, shape):
    t = _sample(dtype, shape)
    path = tmp_path / "t.tg"
    tinygrad_cn.save(t, path)
    r = tinygrad_cn.load(path)
    _same(t, r)
    assert r._data.flags.c_contiguous and r._data.flags.writeable and r._data.dtype.isnative


def test_round_trip_non_contiguous_and_views(tmp_path):
    base = tinygrad_cn.arange(24, dtype=tinygrad_cn.float32).reshape(2, 3, 4)
    obj = {"t": base.transpose(0, 2), "slice": base[:, ::2, 1:], "exp": tinygrad_cn.ones(3, 1).expand(3, 5),
           "neg": tinygrad_cn.from_numpy(np.arange(6.0)[::-2])}
    tinygrad_cn.save(obj, tmp_path / "v.tg")
    r = tinygrad_cn.load(tmp_path / "v.tg")
    for k in obj:
        _same(obj[k].contiguous(), r[k])
        assert r[k].shape == obj[k].shape


def test_round_trip_nested_structure(tmp_path):
    p = nn.Parameter(tinygrad_cn.randn(2, 2))
    g = tinygrad_cn.ones(3, requires_grad=True)
    obj = OrderedDict([
        ("epoch", 7), ("big", 2 ** 80), ("neg", -3), ("lr", 1e-3), ("nan", float("nan")), ("inf", -math.inf),
        ("name", "résumé ✓"), ("flag", False), ("none", None), ("dt", tinygrad_cn.float16),
        ("nested", {"list": [1, [2, (3, "x")], {}], "tuple": (), "empty": []}),
        ("keys", {1: "int key", 2.5: "float", None: "none", True: "bool", ("a", 1): "tuple"}),
        ("param", p), ("leaf", g), ("plain", tinygrad_cn.zeros(2)),
    ])
    buf = io.BytesIO()
    tinygrad_cn.save(obj, buf)
    buf.seek(0)
    r = tinygrad_cn.load(buf)
    _same(obj, r)
    assert isinstance(r["param"], nn.Parameter) and r["param"].requires_grad
    assert r["leaf"].requires_grad and r["leaf"].is_leaf and not r["plain"].requires_grad
    assert r["dt"] is tinygrad_cn.float16


def test_shared_tensor_saved_once_loaded_as_one(tmp_path):
    t = tinygrad_cn.randn(1000)
    tinygrad_cn.save({"a": t, "b": t, "c": [t]}, tmp_path / "s.tg")
    r = tinygrad_cn.load(tmp_path / "s.tg")
    assert r["a"] is r["b"] is r["c"][0]
    assert os.path.getsize(tmp_path / "s.tg") < 1000 * 4 * 2


def test_model_checkpoint_round_trip(tmp_path):
    tinygrad_cn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    model.register_buffer("steps", tinygrad_cn.tensor(12))
    ckpt = {"model": model.state_dict(), "epoch": 3, "opt": {"lr": 0.1, "momentum": [tinygrad_cn.zeros(8, 4)]}}
    tinygrad_cn.save(ckpt, str(tmp_path / "ckpt.pt"))
    tinygrad_cn.manual_seed(1)
    fresh = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    fresh.register_buffer("steps", tinygrad_cn.tensor(0))
    loaded = tinygrad_cn.load(str(tmp_path / "ckpt.pt"))
    assert isinstance(loaded["model"], OrderedDict) and loaded["epoch"] == 3
    fresh.load_state_dict(loaded["model"])
    x = tinygrad_cn.randn(5, 4)
    assert np.array_equal(_np(model(x)), _np(fresh(x)))
    assert fresh.steps.item() == 12


def test_file_layout_is_as_documented(tmp_path):
    t = tinygrad_cn.tensor([1.0, 2.0], dtype=tinygrad_cn.float64)
    tinygrad_cn.save({"w": t, "n": 1}, tmp_path / "f.tg")
    raw = (tmp_path / "f.tg").read_bytes()
    magic, version, hlen = struct.unpack_from("<8sIQ", raw, 0)
    assert magic == b"TGCNSAVE" and version == 1
    header = json.loads(raw[20:20 + hlen])
    assert header["format"] == "tinygrad_cn" and header["tensors"][0]["dtype"] == "float64"
    assert header["tensors"][0]["shape"] == [2] and header["root"]["t"] == "dict"
    start = 20 + hlen + (-(20 + hlen)) % 64
    off = header["tensors"][0]["offset"]
    assert np.frombuffer(raw[start + off:start + off + 16], dtype="<f8").tolist() == [1.0, 2.0]


def test_unsupported_objects_are_refused(tmp_path):
    class Thing:
        pass

    for bad in (Thing(), np.float64(1.0), {"a": np.zeros(2)}, {1, 2}, b"bytes", {tinygrad_cn.zeros(1): 1}):
        with pytest.raises(TypeError, match="save:"):
            tinygrad_cn.save(bad, tmp_path / "bad.tg")
    assert not os.path.exists(tmp_path / "bad.tg")
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary files left behind


# ==========================================================================
# corrupt, foreign and malicious files
# ==========================================================================
def _good_bytes():
    buf = io.BytesIO()
    tinygrad_cn.save({"w": tinygrad_cn.arange(10, dtype=tinygrad_cn.float32), "k": [1, "a"]}, buf)
    return buf.getvalue()


def _load_bytes(raw):
    return tinygrad_cn.load(io.BytesIO(raw))


def _rewrite_header(raw, fn):
    _, version, hlen = struct.unpack_from("<8sIQ", raw, 0)
    header = json.loads(raw[20:20 + hlen])
    data_start = 20 + hlen + (-(20 + hlen)) % 64
    data = raw[data_start:]
    header = fn(header)
    h = json.dumps(header).encode()
    out = struct.pack("<8sIQ", b"TGCNSAVE", version, len(h)) + h
    out += b"\0" * ((-len(out)) % 64)
    return out + data


@pytest.mark.parametrize("cut", [0, 5, 19, 30, -1, -41])
def test_truncated_file(cut):
    raw = _good_bytes()
    with pytest.raises(RuntimeError, match="tinygrad_cn.load: (truncated|empty)"):
        _load_bytes(raw[:cut])


def test_garbage_and_foreign_files(tmp_path):
    with pytest.raises(RuntimeError, match="not a tinygrad_cn file"):
        _load_bytes(os.urandom(300).replace(b"\x80", b"\x81").replace(b"PK", b"QK") + b"x")
    with pytest.raises(RuntimeError, match="zip archive"):
        _load_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(RuntimeError, match="empty file"):
        _load_bytes(b"")
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.zeros(2)}, tmp_path / "torch.pt")
    with pytest.raises(RuntimeError, match="zip archive"):
        tinygrad_cn.load(tmp_path / "torch.pt")


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pickle_bytes_are_never_unpickled(tmp_path, monkeypatch):
    payload = pickle.dumps({"w": _Boom()}, protocol=2)
    others = [pickle.dumps(_Boom(), protocol=proto) for proto in (0, 4, 5)]
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    path = tmp_path / "evil.pt"
    path.write_bytes(payload)
    with pytest.raises(RuntimeError, match="pickle"):
        tinygrad_cn.load(path)
    for other in others:
        with pytest.raises(RuntimeError, match="pickle|not a tinygrad_cn file"):
            _load_bytes(other)
    # pickle bytes smuggled inside a valid container are only ever data
    raw = _rewrite_header(_good_bytes(), lambda h: {**h, "root": {"t": "str", "v": payload.decode("latin1")}})
    assert _load_bytes(raw) == payload.decode("latin1")
    assert calls == []


def test_corrupt_data_detected_by_checksum():
    raw = bytearray(_good_bytes())
    raw[-5] ^= 0xFF
    with pytest.raises(RuntimeError, match="checksum"):
        _load_bytes(bytes(raw))


def test_trailing_bytes_and_bad_version():
    raw = _good_bytes()
    with pytest.raises(RuntimeError, match="trailing bytes"):
        _load_bytes(raw + b"\0")
    bad = bytearray(raw)
    bad[8:12] = struct.pack("<I", 99)
    with pytest.raises(RuntimeError, match="unsupported format version 99"):
        _load_bytes(bytes(bad))


MALICIOUS = {
    "bad_json": None,
    "dtype": lambda h: (h["tensors"][0].update(dtype="object"), h)[1],
    "shape": lambda h: (h["tensors"][0].update(shape=[-1, 10]), h)[1],
    "nbytes": lambda h: (h["tensors"][0].update(nbytes=4), h)[1],
    "out_of_range": lambda h: (h["tensors"][0].update(offset=10 ** 12), h)[1],
    "huge_shape": lambda h: (h["tensors"][0].update(shape=[2 ** 40, 2 ** 40], nbytes=4 * 2 ** 80), h)[1],
    "empty_huge": lambda h: (h["tensors"][0].update(shape=[0, 2 ** 70], nbytes=0), h)[1],
    "many_dims": lambda h: (h["tensors"][0].update(shape=[1] * 100, nbytes=4), h)[1],
    "index": lambda h: {**h, "root": {"t": "tensor", "i": 5}},
    "node": lambda h: {**h, "root": {"t": "__import__", "v": "os"}},
    "node_type": lambda h: {**h, "root": [1, 2]},
    "tensor_list": lambda h: {**h, "tensors": {"a": 1}},
    "dict_mismatch": lambda h: {**h, "root": {"t": "dict", "keys": [{"t": "none"}], "values": []}},
    "unhashable": lambda h: {**h, "root": {"t": "dict", "keys": [{"t": "list", "items": []}],
                                           "values": [{"t": "none"}]}},
    "deep": lambda h: {**h, "root": _deep(300)},
    "format": lambda h: {**h, "format": "other"},
    "int": lambda h: {**h, "root": {"t": "int", "v": "12ab"}},
    "grad_int": lambda h: (h["tensors"][0].update(dtype="int32", requires_grad=True), h)[1],
}


def _deep(n):
    node = {"t": "none"}
    for _ in range(n):
        node = {"t": "list", "items": [node]}
    return node


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_headers_give_clear_errors(case):
    raw = _good_bytes()
    if case == "bad_json":
        _, _, hlen = struct.unpack_from("<8sIQ", raw, 0)
        raw = raw[:20] + b"{" * hlen + raw[20 + hlen:]
    else:
        raw = _rewrite_header(raw, MALICIOUS[case])
    with pytest.raises(RuntimeError, match="tinygrad_cn.load: corrupt"):
        _load_bytes(raw)


def test_bool_bytes_validated():
    buf = io.BytesIO()
    tinygrad_cn.save(tinygrad_cn.tensor([True, False]), buf)
    raw = buf.getvalue()
    h = json.loads(raw[20:20 + struct.unpack_from("<Q", raw, 12)[0]])
    start = len(raw) - h["data_size"]
    bad = bytearray(raw)
    bad[start] = 7
    import zlib
    h["data_crc32"] = zlib.crc32(bytes(bad[start:]))
    with pytest.raises(RuntimeError, match="bool tensor"):
        _load_bytes(_rewrite_header(bytes(bad), lambda _: h))


# ==========================================================================
# atomic save
# ==========================================================================
def test_crash_mid_save_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.tg"
    old = {"w": tinygrad_cn.ones(1000)}
    tinygrad_cn.save(old, path)
    before = path.read_bytes()
    real = serialization._write_payload

    def crashing(fh, header, arrays):
        real(fh, header, arrays[:1])  # part of the file...
        fh.flush()
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(serialization, "_write_payload", crashing)
    with pytest.raises(OSError, match="simulated"):
        tinygrad_cn.save({"w": tinygrad_cn.zeros(1000), "v": tinygrad_cn.zeros(5000)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.tg"]  # temporary file removed
    _same(tinygrad_cn.load(path), old)

    monkeypatch.setattr(serialization, "_write_payload", real)
    tinygrad_cn.save({"w": tinygrad_cn.zeros(3)}, path)
    assert tinygrad_cn.load(path)["w"].shape == (3,)


def test_crash_inside_replace_is_clean(tmp_path, monkeypatch):
    path = tmp_path / "x.tg"
    tinygrad_cn.save([1, 2], path)

    def bad_replace(src, dst):
        raise OSError("rename failed (simulated)")

    monkeypatch.setattr(serialization.os, "replace", bad_replace)
    with pytest.raises(OSError, match="simulated"):
        tinygrad_cn.save([3], path)
    monkeypatch.undo()
    assert tinygrad_cn.load(path) == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["x.tg"]


def test_fsync_is_called(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(serialization.os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    tinygrad_cn.save(tinygrad_cn.ones(2), tmp_path / "y.tg")
    assert synced


def test_file_objects_and_pathlike(tmp_path):
    t = tinygrad_cn.randn(3, 2)
    with open(tmp_path / "a.bin", "wb") as fh:
        tinygrad_cn.save(t, fh)
    with open(tmp_path / "a.bin", "rb") as fh:
        _same(tinygrad_cn.load(fh), t)
    with pytest.raises(TypeError):
        tinygrad_cn.save(t, 42)
    with pytest.raises(RuntimeError, match="CPU only"):
        tinygrad_cn.load(tmp_path / "a.bin", map_location="cuda")
    _same(tinygrad_cn.load(tmp_path / "a.bin", map_location="cpu"), t)
