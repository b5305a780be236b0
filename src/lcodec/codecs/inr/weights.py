"""Bytes of quantised tensors: per-channel float16 ranges plus entropy-coded levels.

Layout of one packed list of tensors (shapes are implied by the architecture, which both sides
build from the header; element counts are checked)::

    per tensor: u32 numel, u8 bits, u16 channels, float16 minimum[channels], float16 step[channels],
                u8 mode, then
                mode 0 (coded): u32 table_len, table (lcodec.entropy.Tables bytes), u32 data_len, rANS data
                mode 1 (raw):   the levels as ``bits``-bit fields, least significant bit first

Each coded tensor gets its own integer frequency table, transmitted with it, so decoding is exact
on any machine (the determinism rule of DESIGN.md §4). Small tensors (biases, one GOP of
embeddings) would pay more for their table than they save, so the encoder keeps whichever of the
two modes is smaller.
"""
from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from lcodec import entropy
from lcodec.codecs.inr.quant import QuantizedTensor, quantize
from lcodec.errors import CorruptFileError

HEAD = struct.Struct("<IBH")
LENGTH = struct.Struct("<I")
CODED, RAW = 0, 1


def _bit_pack(levels: np.ndarray, bits: int) -> bytes:
    planes = (levels[:, None].astype(np.uint32) >> np.arange(bits, dtype=np.uint32)) & 1
    return np.packbits(planes.astype(np.uint8).ravel(), bitorder="little").tobytes()


def _bit_unpack(data: bytes, count: int, bits: int) -> np.ndarray:
    if len(data) != -(-count * bits // 8):
        raise CorruptFileError("weights payload: raw levels have the wrong length")
    planes = np.unpackbits(np.frombuffer(data, np.uint8), count=count * bits, bitorder="little")
    return (planes.reshape(count, bits).astype(np.int32) << np.arange(bits, dtype=np.int32)).sum(axis=1)


def channels_view(values: np.ndarray) -> np.ndarray:
    """[C, ...] tensors are quantised per output channel; vectors and scalars as one channel."""
    return values.reshape(values.shape[0], -1) if values.ndim >= 2 else values.reshape(1, -1)


def pack(tensors: Sequence[np.ndarray], bits: int) -> tuple[bytes, list[np.ndarray]]:
    """Quantise and code ``tensors`` (float32, any shapes); also return what the decoder will get."""
    out = bytearray()
    restored = []
    for values in tensors:
        q = quantize(channels_view(np.asarray(values, np.float32)), bits)
        levels = np.ascontiguousarray(q.levels.ravel(), dtype=np.int32)
        tables = entropy.histogram_tables(levels)
        table = tables.to_bytes()
        data = entropy.encode_indexed(levels, 0, tables)
        coded = LENGTH.pack(len(table)) + table + LENGTH.pack(len(data)) + data
        raw = _bit_pack(levels, bits)
        out += HEAD.pack(values.size, bits, q.levels.shape[0])
        out += q.minimum.astype("<f2").tobytes() + q.step.astype("<f2").tobytes()
        out += bytes([CODED]) + coded if len(coded) < len(raw) else bytes([RAW]) + raw
        restored.append(q.dequantize().reshape(values.shape))
    return bytes(out), restored


def unpack(payload: bytes, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    """Inverse of :func:`pack` for tensors of the given shapes; damage raises CorruptFileError."""
    view = memoryview(payload)
    pos = 0

    def take(n: int) -> memoryview:
        nonlocal pos
        if pos + n > len(view):
            raise CorruptFileError("weights payload ends early")
        pos += n
        return view[pos - n:pos]

    tensors = []
    for shape in shapes:
        numel, bits, channels = HEAD.unpack(take(HEAD.size))
        expected = int(np.prod(shape))
        if numel != expected or not 1 <= bits <= 16 or channels == 0 or expected % channels:
            raise CorruptFileError(f"weights payload does not match the architecture (tensor of shape {shape})")
        minimum = np.frombuffer(take(2 * channels), "<f2").astype(np.float16)
        step = np.frombuffer(take(2 * channels), "<f2").astype(np.float16)
        mode = take(1)[0]
        if mode == RAW:
            levels = _bit_unpack(bytes(take(-(-numel * bits // 8))), numel, bits)
        elif mode == CODED:
            table = bytes(take(LENGTH.unpack(take(4))[0]))
            data = bytes(take(LENGTH.unpack(take(4))[0]))
            try:
                levels = entropy.decode_indexed(data, 0, entropy.Tables.from_bytes(table))
            except ValueError as exc:
                raise CorruptFileError(f"weights payload: {exc}") from exc
        else:
            raise CorruptFileError(f"weights payload: unknown mode {mode}")
        if levels.size and (levels.min() < 0 or levels.max() >= 1 << bits):
            raise CorruptFileError("weights payload: level out of range")
        q = QuantizedTensor(np.asarray(levels, np.int32).reshape(channels, -1), minimum, step, bits)
        tensors.append(q.dequantize().reshape(shape))
    if pos != len(view):
        raise CorruptFileError("weights payload has trailing bytes")
    return tensors
