"""``nn.utils.rnn``: padding and packing of variable-length sequences, as torch has them.

Example::

    >>> from tinygrad_cn.nn.utils.rnn import pad_sequence, pack_padded_sequence, pad_packed_sequence
    >>> x = pad_sequence([tinygrad_cn.ones(3, 2), tinygrad_cn.ones(1, 2)])      # (3, 2, 2)
    >>> packed = pack_padded_sequence(x, [3, 1])
    >>> packed.batch_sizes
    tensor([2, 1, 1])
"""
from __future__ import annotations

from collections import namedtuple

from ... import _dtype
from ...creation import as_tensor, full
from ...ops.movement import cat, stack
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]

_PackedSequenceBase = namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(_PackedSequenceBase):
    """The steps of a batch of sequences, time-major, each step holding only the sequences still running.

    ``data`` is (sum(lengths), *), ``batch_sizes`` (max_len,) int64 the number of sequences at each step,
    ``sorted_indices`` / ``unsorted_indices`` the permutation to/from decreasing-length order (or None).
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            raise RuntimeError("PackedSequence: batch_sizes is required (build one with pack_padded_sequence)")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False

    def to(self, *args, **kwargs) -> "PackedSequence":
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self) -> "PackedSequence":
        return self

    def _cast(self, dtype) -> "PackedSequence":
        return type(self)(self.data.to(dtype), self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def double(self):
        return self._cast(_dtype.to_dtype("float64"))

    def float(self):
        return self._cast(_dtype.to_dtype("float32"))


def invert_permutation(permutation):
    """The inverse of an index permutation (None stays None)."""
    if permutation is None:
        return None
    p = [int(i) for i in permutation.tolist()]
    inv = [0] * len(p)
    for k, i in enumerate(p):
        inv[i] = k
    return as_tensor(inv, dtype=_dtype.to_dtype("int64"))


def _lengths_list(lengths) -> list:
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.dim()}D tensor")
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in lengths]


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shape (L_i, *) into (T, B, *) (or (B, T, *)), padding with ``padding_value``."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if len(sequences) == 0:
        raise RuntimeError("received an empty list of sequences")
    max_len = max(s.shape[0] for s in sequences)
    trailing = tuple(sequences[0].shape[1:])
    padded = []
    for s in sequences:
        n = max_len - s.shape[0]
        if n == 0:
            padded.append(s)
            continue
        pad = full((n,) + trailing, padding_value, dtype=s.dtype)
        padded.append(cat([s, pad], 0) if padding_side == "right" else cat([pad, s], 0))
    return stack(padded, 0 if batch_first else 1)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, B, *) (or (B, T, *)) batch of sequences with the given lengths."""
    lens = _lengths_list(lengths)
    if enforce_sorted:
        if any(lens[k] < lens[k + 1] for k in range(len(lens) - 1)):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
        sorted_indices = None
    else:
        order = sorted(range(len(lens)), key=lambda k: -lens[k])
        sorted_indices = as_tensor(order, dtype=_dtype.to_dtype("int64"))
        lens = [lens[k] for k in order]
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if batch_first:
        input = input.transpose(0, 1)
    if len(lens) != input.shape[1]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
                           f"(batch_size={input.shape[1]})")
    if lens and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    max_len = lens[0] if lens else 0
    if max_len > input.shape[0]:
        raise RuntimeError(f"Expected sequence length to be larger than or equal to max length "
                           f"{max_len}, got {input.shape[0]}")
    batch_sizes = [sum(1 for L in lens if L > t) for t in range(max_len)]
    data = cat([input[t, :b] for t, b in enumerate(batch_sizes)], 0)
    return PackedSequence(data, as_tensor(batch_sizes, dtype=_dtype.to_dtype("int64")), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None):
    """Undo ``pack_padded_sequence``: (padded (T, B, *) or (B, T, *), lengths int64 tensor)."""
    data, batch_sizes = sequence.data, [int(b) for b in sequence.batch_sizes.tolist()]
    max_len = len(batch_sizes)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_len}")
    else:
        total_length = max_len
    B = batch_sizes[0] if batch_sizes else 0
    trailing = tuple(data.shape[1:])
    steps, off = [], 0
    for b in batch_sizes:
        chunk = data[off:off + b]
        off += b
        if b < B:
            chunk = cat([chunk, full((B - b,) + trailing, padding_value, dtype=data.dtype)], 0)
        steps.append(chunk)
    for _ in range(total_length - max_len):
        steps.append(full((B,) + trailing, padding_value, dtype=data.dtype))
    out = stack(steps, 0)
    lengths = [sum(1 for b in batch_sizes if b > k) for k in range(B)]
    if sequence.unsorted_indices is not None:
        out = out.index_select(1, sequence.unsorted_indices)
        lengths = [lengths[int(k)] for k in sequence.unsorted_indices.tolist()]
    if batch_first:
        out = out.transpose(0, 1)
    return out, as_tensor(lengths, dtype=_dtype.to_dtype("int64"))


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors: ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """Split a padded batch back into the list of its (L_i, *) sequences."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:L] for seq, L in zip(padded_sequences.unbind(0), _lengths_list(lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """Split a PackedSequence back into the list of its (L_i, *) sequences."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
