"""Anomaly mode (set_detect_anomaly / detect_anomaly) and autograd.profiler.profile."""
import re
import warnings

import numpy as np
import pytest

import tinygrad_cn as torch


def _anomaly_text(fn):
    """Run ``fn``, expect RuntimeError; return its message plus any warnings
    (torch prints the forward traceback as a warning, we put it in the message)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError) as info:
            fn()
    return str(info.value), "\n".join(str(w.message) for w in caught)


def anomaly_enabled():
    # torch spells it torch.is_anomaly_enabled (checked on its own below)
    f = getattr(torch, "is_anomaly_enabled", None) or torch.autograd.is_anomaly_enabled
    return f()


@pytest.fixture(autouse=True)
def _anomaly_off_after_test():
    yield
    torch.autograd.set_detect_anomaly(False)


# --------------------------------------------------------------------------
# anomaly mode
# --------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_off_by_default_nan_grad_passes_silently():
    assert not anomaly_enabled()
    q = torch.tensor([0.0, 4.0], requires_grad=True)
    (torch.sqrt(q) * 0).sum().backward()  # d sqrt(q)/dq at 0 is inf; inf * 0 = nan
    g = q.grad.numpy()
    assert np.isnan(g[0]) and g[1] == 0.0


def test_nan_producing_backward_emits_no_numpy_warning():
    """torch computes inf/nan gradients silently; NumPy's RuntimeWarnings must not leak out."""
    q = torch.tensor([0.0, 4.0], requires_grad=True)
    loss = (torch.sqrt(q) * 0).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        loss.backward()
    assert np.isnan(q.grad.numpy()[0])


def _forward_sqrt_at_zero(q):
    return (torch.sqrt(q) * 0).sum()


def test_detect_anomaly_names_sqrt_backward_and_forward_trace():
    q = torch.tensor([0.0, 4.0], requires_grad=True)

    def run():
        with torch.autograd.detect_anomaly():
            loss = _forward_sqrt_at_zero(q)
            loss.backward()

    msg, warned = _anomaly_text(run)
    assert "SqrtBackward0" in msg
    assert "nan" in msg
    # the forward traceback names the function that ran sqrt
    assert "_forward_sqrt_at_zero" in msg + warned
    assert "test_anomaly_profiler.py" in msg + warned
    assert not anomaly_enabled()


def test_detect_anomaly_zero_over_zero_names_div_backward():
    x = torch.tensor([0.0], dtype=torch.float64)
    y = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)

    def run():
        with torch.autograd.detect_anomaly():
            (x / y).sum().backward()  # d(x/y)/dy = -x / y^2 = -0/0 = nan

    msg, _ = _anomaly_text(run)
    assert "DivBackward0" in msg and "nan" in msg


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_set_detect_anomaly_as_call():
    torch.autograd.set_detect_anomaly(True)
    assert anomaly_enabled()
    q = torch.tensor([0.0], requires_grad=True)
    loss = (torch.sqrt(q) * 0).sum()
    msg, _ = _anomaly_text(loss.backward)
    assert "SqrtBackward0" in msg
    torch.autograd.set_detect_anomaly(False)
    assert not anomaly_enabled()
    q2 = torch.tensor([0.0], requires_grad=True)
    (torch.sqrt(q2) * 0).sum().backward()  # no error once it is off again
    assert np.isnan(q2.grad.numpy()[0])


def test_set_detect_anomaly_as_context_manager_restores():
    with torch.autograd.set_detect_anomaly(True):
        assert anomaly_enabled()
    assert not anomaly_enabled()


def test_detect_anomaly_only_checks_backward_of_recorded_graph():
    """A graph recorded outside anomaly mode has no trace, but NaN is still caught
    if backward runs inside it."""
    q = torch.tensor([0.0], requires_grad=True)
    loss = (torch.sqrt(q) * 0).sum()

    def run():
        with torch.autograd.detect_anomaly():
            loss.backward()

    msg, _ = _anomaly_text(run)
    assert "SqrtBackward0" in msg


def test_detect_anomaly_finite_backward_is_untouched():
    x = torch.tensor([1.0, 4.0], dtype=torch.float64, requires_grad=True)
    with torch.autograd.detect_anomaly():
        (x.sqrt() * x).sum().backward()  # d/dx x^1.5 = 1.5 sqrt(x)
    np.testing.assert_allclose(x.grad.numpy(), [1.5, 3.0])


def test_detect_anomaly_names_custom_function():
    class NanOut(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = torch.tensor([1.0], requires_grad=True)

    def run():
        with torch.autograd.detect_anomaly():
            NanOut.apply(x).sum().backward()

    msg, _ = _anomaly_text(run)
    assert "NanOut" in msg and "nan" in msg


def test_is_anomaly_enabled_at_top_level():
    assert torch.is_anomaly_enabled() is False
    with torch.autograd.detect_anomaly():
        assert torch.is_anomaly_enabled() is True
    assert torch.is_anomaly_enabled() is False


# --------------------------------------------------------------------------
# profiler
# --------------------------------------------------------------------------
def _profile_exp_graph():
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    with torch.autograd.profiler.profile() as prof:
        y = x.exp() + x.exp() + x.exp()
        y.sum().backward()
    return prof


def _forward_key(keys, op):
    """The forward op's event: 'aten::exp' in torch, 'Exp' here."""
    found = [k for k in keys if k.split("::")[-1].lower() == op]
    assert len(found) == 1, (op, keys)
    return found[0]


def test_profile_records_forward_ops_and_backward_nodes_with_counts():
    prof = _profile_exp_graph()
    events = {e.key: e for e in prof.key_averages()}
    assert events["ExpBackward0"].count == 3
    assert events["AddBackward0"].count == 2
    assert events["SumBackward0"].count == 1
    exp_key = _forward_key(events, "exp")
    assert events[exp_key].count == 3
    add_key = _forward_key(events, "add")
    assert events[add_key].count >= 2
    for e in events.values():
        assert e.self_cpu_time_total >= 0 and e.cpu_time_total >= e.self_cpu_time_total * 0.999


def test_profile_table_sorted_by_self_cpu_time():
    prof = _profile_exp_graph()
    events = {e.key: e for e in prof.key_averages()}
    table = prof.key_averages().table(sort_by="self_cpu_time_total")
    assert isinstance(table, str)
    assert "ExpBackward0" in table and _forward_key(events, "exp") in table
    assert "Self CPU" in table
    names = []
    for line in table.splitlines():
        first = re.split(r"\s{2,}", line.strip())[0] if line.strip() else ""
        if first in events:
            names.append(first)
    assert len(names) >= 5, table
    times = [events[n].self_cpu_time_total for n in names]
    assert times == sorted(times, reverse=True), list(zip(names, times))


def test_profile_table_row_limit():
    prof = _profile_exp_graph()
    events = {e.key for e in prof.key_averages()}
    table = prof.key_averages().table(sort_by="count", row_limit=2)
    rows = [ln for ln in table.splitlines() if re.split(r"\s{2,}", ln.strip())[0] in events]
    assert len(rows) == 2


def test_profile_table_invalid_sort_by_raises():
    prof = _profile_exp_graph()
    with pytest.raises((AttributeError, ValueError, KeyError)):
        prof.key_averages().table(sort_by="no_such_column")


def test_profile_records_only_inside_context():
    x = torch.ones(2, requires_grad=True)
    x.exp()
    with torch.autograd.profiler.profile() as prof:
        x.tanh()
    x.exp()
    keys = [e.key for e in prof.key_averages()]
    assert not any("exp" in k.lower() for k in keys), keys
    assert any("tanh" in k.lower() for k in keys), keys


def test_profile_without_grad_still_records_forward():
    x = torch.ones(2)
    with torch.autograd.profiler.profile() as prof:
        for _ in range(4):
            x.exp()
    events = {e.key: e for e in prof.key_averages()}
    assert events[_forward_key(events, "exp")].count == 4
    assert not any("Backward" in k for k in events)


def test_record_function_label_and_table_default_order():
    x = torch.ones(4, requires_grad=True)
    with torch.autograd.profiler.profile() as prof:
        for _ in range(2):
            with torch.autograd.profiler.record_function("my_block"):
                (x * 2).sum().backward()
    events = {e.key: e for e in prof.key_averages()}
    assert events["my_block"].count == 2
    table = prof.key_averages().table()
    assert "my_block" in table and "MulBackward0" in table


def test_anomaly_mode_restored_after_error_in_block():
    with pytest.raises(KeyError):
        with torch.autograd.detect_anomaly():
            raise KeyError("x")
    assert not anomaly_enabled()


def test_self_time_excludes_nested_events():
    a = torch.randn(200, 200)
    with torch.autograd.profiler.profile() as prof:
        with torch.autograd.profiler.record_function("outer"):
            for _ in range(5):
                a.exp().sum()
    events = {e.key: e for e in prof.key_averages()}
    outer = events["outer"]
    inner = events[_forward_key(events, "exp")]
    assert outer.cpu_time_total >= inner.cpu_time_total * 0.99
    # the wrapper's own time is small: "self" excludes the ops run inside it
    assert outer.self_cpu_time_total < 0.5 * outer.cpu_time_total
    assert inner.self_cpu_time_total > outer.self_cpu_time_total
