"""Integer-exact probability tables for the rANS coder.

Why integers: a stream decodes only if the decoder uses bit-identical frequencies, so everything
that reaches the coder is an integer table (DESIGN.md §4, determinism contract). Floats appear
only here, on the way in: a pmf is normalised with ``math.fsum``, fixed to 40-bit integers, and
apportioned to ``2**precision`` slots by integer arithmetic. The integers are what a codec
ships or transmits (:meth:`Tables.to_bytes`); every stream records a digest of its tables, so a
decoder holding different tables fails loudly instead of producing garbage.
"""
from __future__ import annotations

import hashlib
import heapq
import math
from functools import cached_property
from statistics import NormalDist
from typing import Any, Sequence

import numpy as np

__all__ = [
    "Tables",
    "build_tables",
    "quantize_pmf",
    "gaussian_tables",
    "laplace_tables",
    "logistic_tables",
    "histogram_tables",
    "scale_levels",
    "scale_indexes",
]

_FIXED_BITS = 40  # pmfs become integers of this many bits before apportioning
_TABLES_MAGIC = b"LCT\x01"


def _as_numpy(a: Any, dtype: Any = None) -> np.ndarray:
    """numpy view of a numpy array, torch tensor (any device) or sequence."""
    if type(a).__module__.startswith("torch"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=dtype)


def _int32(a: Any, name: str) -> np.ndarray:
    """Contiguous int32 copy of an integer array, refusing values that would wrap."""
    a = _as_numpy(a)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers, got dtype {a.dtype}")
    if a.size and (a.min() < -(2**31) or a.max() > 2**31 - 1):
        raise ValueError(f"{name} has values outside int32")
    return np.ascontiguousarray(a, dtype=np.int32)


def quantize_pmf(pmf: Any, precision: int = 15) -> np.ndarray:
    """Integer frequencies for a pmf: every entry >= 1, sum exactly ``2**precision``.

    pmf: float [n], non-negative, any positive total (all zeros means uniform).
    Returns int64 [n]. Deterministic: the result depends only on the float64 values, through
    correctly rounded operations (fsum, division, rint) and integer arithmetic. Apportionment is
    Sainte-Laguë's divisor method with a floor of one, which nearly minimises the cross-entropy
    ``-sum p log2(f / 2**precision)``.
    """
    p = _as_numpy(pmf, np.float64).ravel()
    n = p.size
    total = 1 << precision
    if n == 0 or n > total:
        raise ValueError(f"a table needs between 1 and 2**precision = {total} symbols, got {n}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("pmf values must be finite and non-negative")
    s = math.fsum(p.tolist())
    q = np.ones(n, np.int64) if s <= 0 else np.rint(p / s * float(1 << _FIXED_BITS)).astype(np.int64)
    qs = int(q.sum())
    if qs == 0:
        q, qs = np.ones(n, np.int64), n
    f = np.maximum(1, (2 * q * total + qs) // (2 * qs))
    diff = total - int(f.sum())
    if diff > 0:  # give a slot to the symbol with the largest q / (2f + 1)
        heap = [(-(qi / (2 * fi + 1)), i) for i, (qi, fi) in enumerate(zip(q.tolist(), f.tolist()))]
        heapq.heapify(heap)
        for _ in range(diff):
            _, i = heapq.heappop(heap)
            f[i] += 1
            heapq.heappush(heap, (-(int(q[i]) / (2 * int(f[i]) + 1)), i))
    elif diff < 0:  # take a slot from the symbol (with f > 1) with the smallest q / (2f - 1)
        heap = [(qi / (2 * fi - 1), -i) for i, (qi, fi) in enumerate(zip(q.tolist(), f.tolist())) if fi > 1]
        heapq.heapify(heap)
        for _ in range(-diff):
            _, j = heapq.heappop(heap)
            i = -j
            f[i] -= 1
            if f[i] > 1:
                heapq.heappush(heap, (int(q[i]) / (2 * int(f[i]) - 1), j))
    return f


class Tables:
    """K static tables in compressai's layout, validated and ready for the coder.

    cdfs: int32 [K, W]; row k holds ``cdf_lengths[k]`` entries ``0 = c_0 < c_1 < ... = 2**precision``;
        symbol j of table k owns slots ``[c_j, c_{j+1})``; the last symbol (j = cdf_lengths[k] - 2)
        is the escape symbol for values outside the table.
    cdf_lengths: int32 [K], ``number of regular symbols + 2``.
    offsets: int32 [K], the value coded by symbol 0 of each table.

    Tables are immutable, hashable and compare by :attr:`digest` (sha256 of :meth:`to_bytes`).
    """

    def __init__(self, cdfs: Any, cdf_lengths: Any, offsets: Any, precision: int = 15) -> None:
        cdfs = _int32(cdfs, "cdfs")
        if cdfs.ndim != 2:
            raise ValueError(f"cdfs must be 2-D [K, W], got shape {cdfs.shape}")
        self.cdfs = cdfs
        self.cdf_lengths = _int32(cdf_lengths, "cdf_lengths").reshape(-1)
        self.offsets = _int32(offsets, "offsets").reshape(-1)
        self.precision = int(precision)
        for a in (self.cdfs, self.cdf_lengths, self.offsets):
            a.setflags(write=False)
        self.native  # validate now, not at first use

    @classmethod
    def from_cdfs(cls, cdfs: Any, cdf_lengths: Any, offsets: Any, precision: int | None = None) -> "Tables":
        """Tables from compressai's ``(quantized_cdf, cdf_length, offset)`` buffers (or lists).

        compressai's EntropyBottleneck / GaussianConditional use 16-bit tables; the precision is
        read from the cdf's final value when not given.
        """
        if isinstance(cdfs, (list, tuple)) and cdfs and not np.isscalar(cdfs[0]):
            width = max(len(r) for r in cdfs)
            cdfs = np.array([list(r) + [0] * (width - len(r)) for r in cdfs], np.int64)
        cdfs = _as_numpy(cdfs, np.int64)
        lengths = _as_numpy(cdf_lengths, np.int64).reshape(-1)
        if precision is None:
            last = int(cdfs[0, int(lengths[0]) - 1]) if cdfs.size and lengths.size else 0
            precision = last.bit_length() - 1
            if last <= 0 or last != 1 << precision:
                raise ValueError(f"cannot infer precision: cdf ends at {last}, not a power of two")
        return cls(cdfs, lengths, offsets, precision)

    @classmethod
    def from_freqs(cls, freqs: Sequence[Any], offsets: Any, precision: int) -> "Tables":
        """Tables from per-table integer frequencies (int [n_k] each; the last is the escape)."""
        rows = [np.asarray(f, np.int64) for f in freqs]
        width = max(r.size for r in rows) + 1
        cdfs = np.zeros((len(rows), width), np.int64)
        for k, r in enumerate(rows):
            cdfs[k, 1 : r.size + 1] = np.cumsum(r)
        return cls(cdfs, [r.size + 1 for r in rows], offsets, precision)

    @property
    def num_tables(self) -> int:
        return int(self.cdf_lengths.size)

    @property
    def sizes(self) -> np.ndarray:
        """int32 [K]: regular symbols per table (values ``offsets[k] .. offsets[k] + sizes[k] - 1``)."""
        return self.cdf_lengths - 2

    def freqs(self, k: int) -> np.ndarray:
        """int64 [sizes[k] + 1]: frequencies of table k, escape last."""
        c = self.cdfs[k, : int(self.cdf_lengths[k])].astype(np.int64)
        return np.diff(c)

    def to_bytes(self) -> bytes:
        """Compact, canonical serialisation (formats/ENTROPY.md §Tables): varints of freq - 1."""
        out = bytearray(_TABLES_MAGIC)
        out.append(self.precision)
        _put_varint(out, self.num_tables)
        for k in range(self.num_tables):
            off = int(self.offsets[k])
            _put_varint(out, (off << 1) ^ (off >> 63))
            _put_varint(out, int(self.cdf_lengths[k]) - 2)
            for f in (self.freqs(k) - 1).tolist():
                _put_varint(out, f)
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Tables":
        """Inverse of :meth:`to_bytes`; raises ValueError on malformed input."""
        mv = memoryview(data)
        if bytes(mv[:4]) != _TABLES_MAGIC or len(mv) < 5:
            raise ValueError("not serialised lcodec tables (bad magic)")
        precision = mv[4]
        if not 1 <= precision <= 16:
            raise ValueError("bad precision in serialised tables")
        pos = 5
        k_count, pos = _get_varint(mv, pos)
        if k_count < 1 or k_count > len(mv):
            raise ValueError("bad table count in serialised tables")
        freqs, offsets = [], []
        for _ in range(k_count):
            z, pos = _get_varint(mv, pos)
            n, pos = _get_varint(mv, pos)
            if n + 1 > 1 << precision or n + 1 > len(mv) - pos:
                raise ValueError("bad table size in serialised tables")
            offsets.append((z >> 1) ^ -(z & 1))
            row = []
            for _ in range(n + 1):
                f, pos = _get_varint(mv, pos)
                row.append(f + 1)
            freqs.append(row)
        if pos != len(mv):
            raise ValueError("trailing bytes after serialised tables")
        if any(sum(r) != 1 << precision for r in freqs):
            raise ValueError("serialised table frequencies do not sum to 2**precision")
        if any(not -(2**31) <= o < 2**31 for o in offsets):
            raise ValueError("serialised table offset outside int32")
        return cls.from_freqs(freqs, offsets, precision)

    @cached_property
    def digest(self) -> bytes:
        """sha256 of :meth:`to_bytes`; streams carry its first 4 bytes."""
        return hashlib.sha256(self.to_bytes()).digest()

    @cached_property
    def native(self) -> Any:
        """The validated C++ tables (lcodec.entropy._core.Tables)."""
        from lcodec.entropy import _core

        if not 1 <= self.precision <= 16:
            raise ValueError(f"precision must be in [1, 16], got {self.precision}")
        native = _core.Tables(self.cdfs, self.cdf_lengths, self.offsets, self.precision, 0)
        native.digest = int.from_bytes(self.digest[:4], "little")  # to_bytes needs validated tables
        return native

    def code_length(self, symbols: Any, indexes: Any) -> float:
        """Ideal code length in bits of ``symbols`` (int [N]) with table ``indexes`` (int [N]):
        ``-log2(freq / 2**precision)`` per symbol, plus the raw bits of escaped values."""
        v = _as_numpy(symbols, np.int64).ravel()
        idx = _as_numpy(indexes, np.int64).ravel()
        n = self.sizes.astype(np.int64)[idx]
        d = v - self.offsets.astype(np.int64)[idx]
        esc = (d < 0) | (d >= n)
        s = np.where(esc, n, d)
        c = self.cdfs.astype(np.int64)
        bits = float(np.sum(self.precision - np.log2(c[idx, s + 1] - c[idx, s])))
        u = np.where(d[esc] < 0, -2 * d[esc] - 1, 2 * (d[esc] - n[esc]))
        return bits + float(sum(int(x).bit_length() for x in u.tolist()))

    def __hash__(self) -> int:
        return hash(self.digest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tables) and self.digest == other.digest

    def __repr__(self) -> str:
        return f"Tables(K={self.num_tables}, precision={self.precision}, digest={self.digest[:4].hex()})"

    def __getstate__(self) -> dict:
        return {"data": self.to_bytes()}

    def __setstate__(self, state: dict) -> None:
        t = Tables.from_bytes(state["data"])
        self.__dict__.update({k: t.__dict__[k] for k in ("cdfs", "cdf_lengths", "offsets", "precision")})


def _put_varint(out: bytearray, v: int) -> None:
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _get_varint(mv: memoryview, pos: int) -> tuple[int, int]:
    v, shift = 0, 0
    while True:
        if pos >= len(mv) or shift > 63:
            raise ValueError("truncated or malformed varint in serialised tables")
        b = mv[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, pos
        shift += 7


def build_tables(pmfs: Any, lengths: Any = None, offsets: Any = None, precision: int = 15) -> Tables:
    """Tables from float pmfs.

    pmfs: float [K, L] (numpy or torch); row k uses its first ``lengths[k]`` entries (default L).
        Whatever mass a row lacks below 1 (the tail) becomes the escape symbol's probability;
        rows summing to more than 1 (e.g. raw counts) are normalised and get no tail.
    offsets: int [K], value of symbol 0 of each table (default 0).
    Every symbol, the escape included, gets a frequency >= 1 (see :func:`quantize_pmf`).
    """
    p = _as_numpy(pmfs, np.float64)
    if p.ndim == 1:
        p = p[None]
    if p.ndim != 2:
        raise ValueError(f"pmfs must be [K, L], got shape {p.shape}")
    K, L = p.shape
    lens = np.full(K, L, np.int64) if lengths is None else _as_numpy(lengths, np.int64).reshape(-1)
    offs = np.zeros(K, np.int64) if offsets is None else _as_numpy(offsets, np.int64).reshape(-1)
    if lens.size != K or offs.size != K:
        raise ValueError("lengths and offsets need one entry per table")
    if np.any(lens < 1) or np.any(lens > L):
        raise ValueError(f"lengths must be in [1, {L}]")
    freqs = []
    for k in range(K):
        row = p[k, : lens[k]]
        tail = max(0.0, 1.0 - math.fsum(row.tolist()))
        freqs.append(quantize_pmf(np.append(row, tail), precision))
    return Tables.from_freqs(freqs, offs, precision)


def scale_levels(levels: int = 64, lo: float = 0.11, hi: float = 256.0) -> np.ndarray:
    """float64 [levels]: log-spaced scales, compressai's default scale table for 64 levels."""
    return np.exp(np.linspace(math.log(lo), math.log(hi), levels))


def scale_indexes(scales: Any, levels: Any) -> np.ndarray:
    """int32 [...]: for each scale, the index of the table to code it with (as compressai's
    ``build_indexes``: the number of ``levels[:-1]`` at or below the scale)."""
    s = _as_numpy(scales, np.float64)
    lv = _as_numpy(levels, np.float64).reshape(-1)
    return np.searchsorted(lv[:-1], s, side="right").astype(np.int32)


def _family_tables(scales: Any, tail_mass: float, precision: int, upper_tail, radius) -> Tables:
    """Symmetric discretised distributions: symbol values -R..R, bin k = [k - 1/2, k + 1/2)."""
    sc = _as_numpy(scales, np.float64).reshape(-1)
    if sc.size == 0 or not np.all(np.isfinite(sc)) or np.any(sc <= 0):
        raise ValueError("scales must be finite and positive")
    if not 0 < tail_mass < 1:
        raise ValueError("tail_mass must be in (0, 1)")
    freqs, offsets = [], []
    for s in sc.tolist():
        r = max(1, min(int(math.ceil(radius(s))), ((1 << precision) - 2) // 2))
        tails = [upper_tail((k + 0.5) / s) for k in range(r + 1)]  # P(X > k + 1/2)
        half = [tails[k - 1] - tails[k] for k in range(1, r + 1)]
        centre = 1.0 - 2.0 * tails[0]
        pmf = half[::-1] + [centre] + half + [2.0 * tails[r]]
        freqs.append(quantize_pmf(np.array(pmf), precision))
        offsets.append(-r)
    return Tables.from_freqs(freqs, offsets, precision)


def gaussian_tables(scales: Any, precision: int = 15, tail_mass: float = 1e-4) -> Tables:
    """One table per scale: zero-mean Gaussian N(0, s^2) discretised to integers (compressai's
    GaussianConditional). Values beyond the ``tail_mass`` quantile escape.

    scales: float [K]. Returns Tables with offsets ``-R_k``. The default tail mass (1e-4, where
    compressai uses 1e-9) keeps out symbols rarer than one slot in 2**15, which would otherwise
    each take a slot from the likely ones (about 0.15 % of rate on typical latents).
    """
    z = NormalDist().inv_cdf(1.0 - tail_mass / 2)
    return _family_tables(
        scales, tail_mass, precision, lambda a: 0.5 * math.erfc(a / math.sqrt(2.0)), lambda s: s * z
    )


def laplace_tables(scales: Any, precision: int = 15, tail_mass: float = 1e-4) -> Tables:
    """One table per scale b: zero-mean Laplace(0, b) discretised to integers."""
    return _family_tables(
        scales, tail_mass, precision, lambda a: 0.5 * math.exp(-a), lambda b: b * math.log(1.0 / tail_mass)
    )


def logistic_tables(scales: Any, precision: int = 15, tail_mass: float = 1e-4) -> Tables:
    """One table per scale s: zero-mean logistic(0, s) discretised to integers."""
    return _family_tables(
        scales, tail_mass, precision, lambda a: 1.0 / (1.0 + math.exp(a)), lambda s: s * math.log(2.0 / tail_mass)
    )


def histogram_tables(values: Any, precision: int = 15) -> Tables:
    """A single table fitted to the histogram of integer ``values`` (e.g. quantised weights).

    values: integer array of any shape. The table covers ``min..max``; symbols that never occur
    still get frequency 1. Transmit it with :meth:`Tables.to_bytes` (about 1-3 bytes per symbol).
    """
    v = _as_numpy(values)
    if v.dtype.kind not in "iu":
        raise TypeError(f"histogram_tables needs integer values, got dtype {v.dtype}")
    v = v.reshape(-1).astype(np.int64)
    if v.size == 0:
        raise ValueError("histogram_tables needs at least one value")
    lo, hi = int(v.min()), int(v.max())
    if hi - lo + 2 > 1 << precision:
        raise ValueError(f"value range {lo}..{hi} needs more than 2**precision = {1 << precision} symbols")
    counts = np.bincount(v - lo, minlength=hi - lo + 1).astype(np.float64)
    freqs = quantize_pmf(np.append(counts, 0.0), precision)
    return Tables.from_freqs([freqs], [lo], precision)
