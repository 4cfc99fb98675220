"""Recurrent layers, as torch has them: ``RNN``, ``LSTM``, ``GRU`` and the cells ``RNNCell``,
``LSTMCell``, ``GRUCell``.

Parameters are named and laid out as torch's (``weight_ih_l{k}{_reverse}``, ``weight_hh_l{k}``,
``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}``; gates i,f,g,o for LSTM and r,z,n for GRU), so
state dicts load both ways. The input projection of a whole sequence is one GEMM (``F.linear`` on the
(T*N, in) rows); only the hidden-to-hidden product runs step by step. A ``PackedSequence`` input runs
each step on its active batch prefix.

Example::

    >>> lstm = tinygrad_cn.nn.LSTM(10, 20, num_layers=2)
    >>> out, (h, c) = lstm(tinygrad_cn.randn(5, 3, 10))
    >>> out.shape, h.shape
    (tinygrad_cn.Size([5, 3, 20]), tinygrad_cn.Size([2, 3, 20]))
"""
from __future__ import annotations

import math
import numbers

from ... import _dtype
from ...creation import empty, zeros
from ...ops.movement import cat, stack
from ...tensor import Tensor, check_device
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


# --------------------------------------------------------------------------
# one step of each cell type; x_proj = x @ W_ih^T + b_ih (precomputed)
# --------------------------------------------------------------------------
def _rnn_step(x_proj, h, w_hh, b_hh, act):
    return act(x_proj + F.linear(h, w_hh, b_hh))


def _lstm_step(x_proj, h, c, w_hh, b_hh, w_hr=None):
    gates = x_proj + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    c = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
    h = F.sigmoid(o) * F.tanh(c)
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_step(x_proj, h, w_hh, b_hh):
    gh = F.linear(h, w_hh, b_hh)
    xr, xz, xn = x_proj.chunk(3, -1)
    hr, hz, hn = gh.chunk(3, -1)
    r = F.sigmoid(xr + hr)
    z = F.sigmoid(xz + hz)
    n = F.tanh(xn + r * hn)
    return n + z * (h - n)


# --------------------------------------------------------------------------
# cells
# --------------------------------------------------------------------------
class RNNCellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None):
        super().__init__()
        check_device(device)
        dt = _dtype.to_dtype(dtype) if dtype is not None else None
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), dtype=dt))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), dtype=dt))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dt))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prep(self, input: Tensor, hx, name: str):
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected {self.input_size}")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        return input, batched

    def _zeros(self, input: Tensor) -> Tensor:
        return zeros((input.shape[0], self.hidden_size), dtype=input.dtype)


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu), as ``torch.nn.RNNCell``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, batched = self._prep(input, hx, "RNNCell")
        hx = self._zeros(input) if hx is None else (hx if batched else hx.unsqueeze(0))
        act = F.tanh if self.nonlinearity == "tanh" else F.relu
        h = _rnn_step(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh, self.bias_hh, act)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o), as ``torch.nn.LSTMCell``; returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx=None):
        input, batched = self._prep(input, None if hx is None else hx[0], "LSTMCell")
        if hx is None:
            z = self._zeros(input)
            hx = (z, z)
        elif not batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        h, c = _lstm_step(F.linear(input, self.weight_ih, self.bias_ih), hx[0], hx[1], self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n; n = tanh(W_in x + b_in + r*(W_hn h + b_hn))), as ``torch.nn.GRUCell``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, batched = self._prep(input, hx, "GRUCell")
        hx = self._zeros(input) if hx is None else (hx if batched else hx.unsqueeze(0))
        h = _gru_step(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)


# --------------------------------------------------------------------------
# multi-layer recurrent modules
# --------------------------------------------------------------------------
class RNNBase(Module):
    """The shared machinery of ``RNN``, ``LSTM`` and ``GRU`` (``mode`` one of LSTM, GRU, RNN_TANH, RNN_RELU)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__()
        check_device(device)
        dt = _dtype.to_dtype(dtype) if dtype is not None else None
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool)):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if dropout > 0 and num_layers == 1:
            import warnings
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                params = [Parameter(empty((gate_size, layer_input), dtype=dt)),
                          Parameter(empty((gate_size, real_hidden), dtype=dt))]
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                if bias:
                    params += [Parameter(empty(gate_size, dtype=dt)), Parameter(empty(gate_size, dtype=dt))]
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                if proj_size > 0:
                    params.append(Parameter(empty((proj_size, hidden_size), dtype=dt)))
                    names.append(f"weight_hr_l{layer}{suffix}")
                for n, p in zip(names, params):
                    setattr(self, n, p)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op here (torch packs cuDNN weights); kept for API compatibility."""

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ------------------------------------------------------------------
    def _layer_dir(self, x2d: Tensor, batch_sizes: list, layer: int, direction: int, h0, c0):
        """Run one direction of one layer over time-major rows ``x2d`` (sum(batch_sizes), in).

        Returns (out rows (sum(batch_sizes), H_out), h_n (B, H_out), c_n or None)."""
        sfx = "_reverse" if direction == 1 else ""
        w_ih = getattr(self, f"weight_ih_l{layer}{sfx}")
        w_hh = getattr(self, f"weight_hh_l{layer}{sfx}")
        b_ih = getattr(self, f"bias_ih_l{layer}{sfx}", None) if self.bias else None
        b_hh = getattr(self, f"bias_hh_l{layer}{sfx}", None) if self.bias else None
        w_hr = getattr(self, f"weight_hr_l{layer}{sfx}") if self.proj_size > 0 else None
        xp = F.linear(x2d, w_ih, b_ih)  # the whole sequence's input projection: one GEMM
        offsets = [0]
        for b in batch_sizes:
            offsets.append(offsets[-1] + b)
        T = len(batch_sizes)
        lstm = self.mode == "LSTM"
        if self.mode == "RNN_TANH":
            act = F.tanh
        elif self.mode == "RNN_RELU":
            act = F.relu
        else:
            act = None

        def step(xt, h, c):
            if lstm:
                return _lstm_step(xt, h, c, w_hh, b_hh, w_hr)
            if act is not None:
                return _rnn_step(xt, h, w_hh, b_hh, act), None
            return _gru_step(xt, h, w_hh, b_hh), None

        outs = [None] * T
        if direction == 0:
            B = batch_sizes[0]
            h, c = h0, c0
            done_h, done_c = [], []  # final states of the sequences that stop, last-ending first
            cur = B
            for t in range(T):
                b = batch_sizes[t]
                if b < cur:
                    done_h.append(h[b:cur])
                    if lstm:
                        done_c.append(c[b:cur])
                    h = h[:b]
                    if lstm:
                        c = c[:b]
                    cur = b
                h, c = step(xp[offsets[t]:offsets[t + 1]], h, c)
                outs[t] = h
            done_h.append(h)
            if lstm:
                done_c.append(c)
            h_n = done_h[0] if len(done_h) == 1 else cat(done_h[::-1], 0)
            c_n = (done_c[0] if len(done_c) == 1 else cat(done_c[::-1], 0)) if lstm else None
        else:
            cur = batch_sizes[-1]
            h = h0[:cur]
            c = c0[:cur] if lstm else None
            for t in range(T - 1, -1, -1):
                b = batch_sizes[t]
                if b > cur:
                    h = cat([h, h0[cur:b]], 0)
                    if lstm:
                        c = cat([c, c0[cur:b]], 0)
                    cur = b
                h, c = step(xp[offsets[t]:offsets[t + 1]], h, c)
                outs[t] = h
            h_n, c_n = h, c
        out = outs[0] if T == 1 else cat(outs, 0)
        return out, h_n, c_n

    def _run(self, input, hx):
        lstm = self.mode == "LSTM"
        num_directions = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        packed = isinstance(input, PackedSequence)
        if packed:
            data, bs_t, sorted_indices, unsorted_indices = input
            batch_sizes = [int(b) for b in bs_t.tolist()]
            B = batch_sizes[0]
            x2d = data
            batched = True
        else:
            sorted_indices = unsorted_indices = None
            if input.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D instead")
            batched = input.dim() == 3
            if not batched:
                input = input.unsqueeze(1)
            elif self.batch_first:
                input = input.transpose(0, 1)
            T, B = input.shape[0], input.shape[1]
            batch_sizes = [B] * T
            x2d = input.reshape(T * B, input.shape[2])
        if x2d.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {x2d.shape[-1]}")
        # initial states: (L*D, B, H)
        if hx is None:
            h0 = zeros((self.num_layers * num_directions, B, real_hidden), dtype=x2d.dtype)
            c0 = zeros((self.num_layers * num_directions, B, self.hidden_size), dtype=x2d.dtype) if lstm else None
        else:
            if lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise RuntimeError("LSTM: Expected hx to be a tuple (h_0, c_0)")
                h0, c0 = hx
            else:
                if isinstance(hx, (tuple, list)):
                    raise RuntimeError(f"{type(self).__name__}: Expected hx to be a Tensor, not a tuple")
                h0, c0 = hx, None
            want = 3 if packed or batched else 2
            if h0.dim() != want:
                if batched:
                    raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {h0.dim()}-D tensor")
                raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {h0.dim()}-D tensor")
            if not packed and not batched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if lstm else None
            exp_h = (self.num_layers * num_directions, B, real_hidden)
            if tuple(h0.shape) != exp_h:
                raise RuntimeError(f"Expected hidden size {exp_h}, got {list(h0.shape)}")
            if lstm:
                exp_c = (self.num_layers * num_directions, B, self.hidden_size)
                if tuple(c0.shape) != exp_c:
                    raise RuntimeError(f"Expected hidden size {exp_c}, got {list(c0.shape)}")
            if sorted_indices is not None:
                h0 = h0.index_select(1, sorted_indices)
                c0 = c0.index_select(1, sorted_indices) if lstm else None
        h_ns, c_ns = [], []
        layer_in = x2d
        for layer in range(self.num_layers):
            dir_outs = []
            for d in range(num_directions):
                k = layer * num_directions + d
                out, h_n, c_n = self._layer_dir(layer_in, batch_sizes, layer, d, h0[k],
                                                c0[k] if lstm else None)
                dir_outs.append(out)
                h_ns.append(h_n)
                c_ns.append(c_n)
            layer_in = dir_outs[0] if num_directions == 1 else cat(dir_outs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, training=True)
        h_n = stack(h_ns, 0)
        c_n = stack(c_ns, 0) if lstm else None
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            c_n = c_n.index_select(1, unsorted_indices) if lstm else None
        if packed:
            output = PackedSequence(layer_in, bs_t, sorted_indices, unsorted_indices)
        else:
            output = layer_in.reshape(T, B, layer_in.shape[-1])
            if not batched:
                output = output.squeeze(1)
                h_n = h_n.squeeze(1)
                c_n = c_n.squeeze(1) if lstm else None
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, h_n, c_n

    def forward(self, input, hx=None):
        output, h_n, c_n = self._run(input, hx)
        return (output, (h_n, c_n)) if self.mode == "LSTM" else (output, h_n)


class RNN(RNNBase):
    """Elman RNN, h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), as ``torch.nn.RNN``.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``; forward(input, hx=None) -> (output, h_n).
    """

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o), as ``torch.nn.LSTM``, with ``proj_size``;
    forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n), as ``torch.nn.GRU``; forward(input, hx=None) -> (output, h_n)."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)
