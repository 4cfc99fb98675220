"""``autograd.profiler.profile``: time spent in each op, forward and backward.

Example::

    with tinygrad_cn.autograd.profiler.profile() as prof:
        loss = model(x).sum()
        loss.backward()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))
"""
from __future__ import annotations

import time
from typing import Optional

from . import _hooks


class FunctionEventAvg:
    """Totals for one op name (times in microseconds, as torch reports them)."""

    def __init__(self, key: str):
        self.key = key
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0  # without the events nested inside
        self.input_shapes = None

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} count={self.count} "
                f"cpu_time_total={self.cpu_time_total:.3f}us>")


class EventList(list):
    """A list of per-op averages with torch's ``table()``."""

    _SORT_KEYS = {"self_cpu_time_total": "self_cpu_time_total", "cpu_time_total": "cpu_time_total",
                  "cpu_time": "cpu_time", "count": "count", "self_cpu_time": "cpu_time"}

    def table(self, sort_by: Optional[str] = None, row_limit: int = 100, header: Optional[str] = None,
              **_ignored) -> str:
        rows = list(self)
        if sort_by is not None:
            attr = self._SORT_KEYS.get(sort_by)
            if attr is None:
                raise ValueError(f"sort_by must be one of {sorted(self._SORT_KEYS)}, got {sort_by!r}")
            rows.sort(key=lambda e: getattr(e, attr), reverse=True)
        if row_limit is not None and row_limit >= 0:
            rows = rows[:row_limit]
        total = sum(e.self_cpu_time_total for e in self) or 1.0
        name_w = max([len("Name")] + [len(e.key) for e in rows]) + 2
        cols = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
        line = "-" * name_w + "  " + "  ".join("-" * 12 for _ in cols)
        out = [header] if header else []
        out += [line, f"{'Name':>{name_w}}  " + "  ".join(f"{c:>12}" for c in cols), line]
        for e in rows:
            self_pct = 100.0 * e.self_cpu_time_total / total
            pct = 100.0 * e.cpu_time_total / total
            vals = [f"{self_pct:.2f}%", _fmt_us(e.self_cpu_time_total), f"{pct:.2f}%", _fmt_us(e.cpu_time_total),
                    _fmt_us(e.cpu_time), str(e.count)]
            out.append(f"{e.key:>{name_w}}  " + "  ".join(f"{v:>12}" for v in vals))
        out += [line, f"Self CPU time total: {_fmt_us(total)}"]
        return "\n".join(out) + "\n"

    def total_average(self) -> FunctionEventAvg:
        t = FunctionEventAvg("Total")
        for e in self:
            t.count += e.count
            t.cpu_time_total += e.cpu_time_total
            t.self_cpu_time_total += e.self_cpu_time_total
        return t


def _fmt_us(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


class profile:
    """Record the time of every op (forward) and every backward node."""


    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, record_shapes: bool = False,
                 with_stack: bool = False, profile_memory: bool = False, **_ignored):
        if use_cuda:
            raise RuntimeError("tinygrad_cn runs on the CPU only; use_cuda=True is not available")
        self.enabled = enabled
        self.record_shapes = record_shapes
        self._stats: dict = {}
        self._prev = None
        self._children: list = []  # time spent in nested events, per open event

    def __enter__(self):
        if self.enabled:
            self._prev = _hooks.profiler
            _hooks.profiler = self
        return self

    def __exit__(self, *exc):
        if self.enabled:
            _hooks.profiler = self._prev
        return False

    def begin(self):
        """Open an event; returns the token ``end`` needs."""
        self._children.append(0.0)
        return (len(self._children), time.perf_counter())

    def end(self, name: str, token) -> None:
        depth, t0 = token
        total = time.perf_counter() - t0
        del self._children[depth:]  # events left open by an exception inside this one
        nested = self._children.pop()
        if self._children:
            self._children[-1] += total
        ev = self._stats.get(name)
        if ev is None:
            ev = self._stats[name] = FunctionEventAvg(name)
        ev.count += 1
        ev.cpu_time_total += total * 1e6
        ev.self_cpu_time_total += (total - nested) * 1e6

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        return EventList(self._stats.values())

    def table(self, sort_by=None, row_limit=100, **kw) -> str:
        return self.key_averages().table(sort_by=sort_by, row_limit=row_limit, **kw)

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self._stats.values())

    def __str__(self) -> str:
        return self.table()


class record_function:
    """Label a block of user code in the profile (``with record_function("step"):``)."""

    def __init__(self, name: str, args: Optional[str] = None):
        self.name = name

    def __enter__(self):
        self.prof = _hooks.profiler
        if self.prof is not None:
            self.token = self.prof.begin()
        return self

    def __exit__(self, *exc):
        if self.prof is not None:
            self.prof.end(self.name, self.token)
        return False
