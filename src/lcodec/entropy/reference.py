"""Slow, plain-Python reference of the entropy stream format (formats/ENTROPY.md).

Why it exists: it is a second, independent reading of the spec. It uses true division where the
C++ engine uses reciprocals, walks symbols one by one where the engine interleaves and threads,
and packs bytes by hand. Tests check that both produce the same bytes; nothing in lcodec calls
it on real data (it codes some tens of thousands of symbols per second).
"""
from __future__ import annotations

import struct
import zlib
from typing import Any, Callable

import numpy as np

from lcodec.entropy.tables import Tables

__all__ = [
    "default_lanes",
    "encode_indexed",
    "decode_indexed",
    "encode_intervals",
    "decode_intervals",
]

L = 1 << 16  # lower end of the state interval [L, 2**32)
MAGIC = b"LCE\x01"
INDEXED, INTERVALS = 1, 2


def default_lanes(n: int) -> int:
    """Largest power of two <= 32 with at least 1024 symbols per lane (1 for small inputs)."""
    w = 1
    while w < 32 and 2 * w * 1024 <= n:
        w *= 2
    return w


def _varint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    v = shift = 0
    while True:
        b = data[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, pos
        shift += 7


def _encode_chunk(intervals: list[tuple[int, int]], lanes: int, precision: int) -> tuple[list[int], list[int]]:
    """rANS-code one chunk; symbol t goes to lane t % lanes. Returns (final states, words in
    stream order)."""
    x = [L] * lanes
    words: list[int] = []  # emitted in encode order; the stream holds them reversed
    for t in range(len(intervals) - 1, -1, -1):
        j = t % lanes
        start, freq = intervals[t]
        if x[j] >= freq << (32 - precision):
            words.append(x[j] & 0xFFFF)
            x[j] >>= 16
        x[j] = (x[j] // freq << precision) + x[j] % freq + start
    return x, words[::-1]


def _stream(kind: int, precision: int, lanes: int, n: int, chunk_size: int, digest: bytes | None,
            chunks: list[tuple[list[int], list[int], list[int]]]) -> bytes:
    out = bytearray(MAGIC)
    out += bytes([kind, precision, lanes, 0])
    out += _varint(n) + _varint(chunk_size)
    if kind == INDEXED:
        out += digest
    for _, words, esc in chunks:
        out += _varint(len(words))
        if kind == INDEXED:
            out += _varint(len(esc))
    prefix_crc = zlib.crc32(out)
    for states, words, esc in chunks:
        at = len(out)
        out += struct.pack(f"<{len(states)}I", *states)
        out += struct.pack(f"<{len(words)}H", *words)
        if esc:
            width = max(esc).bit_length()
            bits = sum(u << (i * width) for i, u in enumerate(esc))
            out.append(width)
            out += bits.to_bytes((len(esc) * width + 7) // 8, "little")
        out += struct.pack("<I", zlib.crc32(out[at:], prefix_crc))
    return bytes(out)


def _table_rows(tables: Tables) -> list[tuple[int, list[int]]]:
    return [
        (int(tables.offsets[k]), [int(c) for c in tables.cdfs[k, : int(tables.cdf_lengths[k])]])
        for k in range(tables.num_tables)
    ]


def encode_indexed(symbols: Any, indexes: Any, tables: Tables, chunk_size: int = 1 << 19,
                   lanes: int | None = None) -> bytes:
    """Reference of :func:`lcodec.entropy.encode_indexed` (int32 [N] values and table indexes)."""
    vals = [int(v) for v in np.asarray(symbols).reshape(-1)]
    idx = [int(i) for i in np.asarray(indexes).reshape(-1)]
    n = len(vals)
    lanes = lanes or default_lanes(n)
    rows = _table_rows(tables)
    chunks = []
    for first in range(0, n, chunk_size):
        intervals, esc = [], []
        for t in range(first, min(first + chunk_size, n)):
            off, cdf = rows[idx[t]]
            nsym = len(cdf) - 2
            d = vals[t] - off
            if not 0 <= d < nsym:
                esc.append(-2 * d - 1 if d < 0 else 2 * (d - nsym))
                d = nsym
            intervals.append((cdf[d], cdf[d + 1] - cdf[d]))
        states, words = _encode_chunk(intervals, min(lanes, len(intervals)), tables.precision)
        chunks.append((states, words, esc))
    return _stream(INDEXED, tables.precision, lanes, n, chunk_size, tables.digest[:4], chunks)


def encode_intervals(starts: Any, freqs: Any, precision: int = 15, chunk_size: int = 1 << 19,
                     lanes: int | None = None) -> bytes:
    """Reference of :func:`lcodec.entropy.encode_intervals`."""
    iv = [(int(s), int(f)) for s, f in zip(np.asarray(starts).reshape(-1), np.asarray(freqs).reshape(-1))]
    n = len(iv)
    lanes = lanes or default_lanes(n)
    chunks = []
    for first in range(0, n, chunk_size):
        part = iv[first : first + chunk_size]
        states, words = _encode_chunk(part, min(lanes, len(part)), precision)
        chunks.append((states, words, []))
    return _stream(INTERVALS, precision, lanes, n, chunk_size, None, chunks)


def _parse(data: bytes) -> tuple[dict, list[dict], int]:
    if data[:4] != MAGIC:
        raise ValueError("bad magic")
    kind, precision, lanes, flags = data[4:8]
    pos = 8
    n, pos = _read_varint(data, pos)
    chunk_size, pos = _read_varint(data, pos)
    digest = None
    if kind == INDEXED:
        digest = data[pos : pos + 4]
        pos += 4
    chunks = []
    for first in range(0, n, chunk_size):
        nw, pos = _read_varint(data, pos)
        ne = 0
        if kind == INDEXED:
            ne, pos = _read_varint(data, pos)
        m = min(chunk_size, n - first)
        chunks.append(dict(first=first, n=m, lanes=min(lanes, m), n_words=nw, n_esc=ne))
    head = dict(kind=kind, precision=precision, lanes=lanes, n=n, chunk_size=chunk_size, digest=digest)
    return head, chunks, pos


def _decode_chunks(data: bytes, head: dict, chunks: list[dict], pos: int,
                   lookup: Callable[[int, int], tuple[int, int, int, int | None]]) -> list[int]:
    """Decode every chunk. lookup(t, slot) -> (start, freq, value, nsym): nsym is None for a
    regular symbol; for an escape, value is the table offset and nsym its size."""
    prec = head["precision"]
    out: list[int] = []
    prefix_crc = zlib.crc32(data[:pos])
    for c in chunks:
        at = pos
        states = list(struct.unpack_from(f"<{c['lanes']}I", data, pos))
        pos += 4 * c["lanes"]
        words = list(struct.unpack_from(f"<{c['n_words']}H", data, pos))
        pos += 2 * c["n_words"]
        esc: list[int] = []
        if c["n_esc"]:
            width = data[pos]
            nbytes = (c["n_esc"] * width + 7) // 8
            bits = int.from_bytes(data[pos + 1 : pos + 1 + nbytes], "little")
            esc = [(bits >> (i * width)) & ((1 << width) - 1) for i in range(c["n_esc"])]
            pos += 1 + nbytes
        if struct.unpack_from("<I", data, pos)[0] != zlib.crc32(data[at:pos], prefix_crc):
            raise ValueError("chunk CRC mismatch")
        pos += 4
        w = e = 0
        for t in range(c["n"]):
            j = t % c["lanes"]
            x = states[j]
            slot = x & ((1 << prec) - 1)
            start, freq, value, nsym = lookup(c["first"] + t, slot)
            x = freq * (x >> prec) + slot - start
            if x < L:
                x = (x << 16) | words[w]
                w += 1
            states[j] = x
            if nsym is not None:  # odd codes count down from offset - 1, even up from offset + nsym
                u = esc[e]
                e += 1
                value = value - 1 - (u >> 1) if u & 1 else value + nsym + (u >> 1)
            out.append(value)
        if w != len(words) or e != len(esc) or any(s != L for s in states):
            raise ValueError("final state check failed")
    if pos != len(data):
        raise ValueError("trailing bytes")
    return out


def decode_indexed(data: bytes, indexes: Any, tables: Tables) -> np.ndarray:
    """Reference of :func:`lcodec.entropy.decode_indexed`; linear CDF search (it is slow anyway)."""
    head, chunks, pos = _parse(data)
    if head["kind"] != INDEXED or head["digest"] != tables.digest[:4]:
        raise ValueError("not an indexed stream for these tables")
    idx = [int(i) for i in np.asarray(indexes).reshape(-1)]
    rows = _table_rows(tables)

    def lookup(t: int, slot: int) -> tuple[int, int, int, int | None]:
        off, cdf = rows[idx[t]]
        s = next(s for s in range(len(cdf) - 1) if cdf[s] <= slot < cdf[s + 1])
        nsym = len(cdf) - 2
        return cdf[s], cdf[s + 1] - cdf[s], off + s if s < nsym else off, nsym if s == nsym else None

    return np.array(_decode_chunks(data, head, chunks, pos, lookup), np.int32)


def decode_intervals(data: bytes, lookup: Callable[[int, int], tuple[int, int]]) -> int:
    """Reference decoder of an intervals stream: ``lookup(position, slot) -> (start, freq)``
    is called for every symbol in order. Returns the number of symbols."""
    head, chunks, pos = _parse(data)
    if head["kind"] != INTERVALS:
        raise ValueError("not an intervals stream")
    return len(_decode_chunks(data, head, chunks, pos, lambda t, slot: (*lookup(t, slot), 0, None)))
