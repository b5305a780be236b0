"""Entropy coding for every lcodec codec (DESIGN.md §4; byte layout in formats/ENTROPY.md).

One rANS engine in C++ (``lcodec.entropy._core``): 32-bit state, 16-bit words, 32 interleaved
lanes, independent chunks coded on several threads (and on CUDA when built with it). Two front
ends share it:

- indexed static tables (compressai's shape): :func:`encode_indexed` / :func:`decode_indexed`
  with :class:`Tables` from :func:`build_tables`, :func:`gaussian_tables`, ... or
  :meth:`Tables.from_cdfs` (compressai's own buffers);
- explicit intervals computed by the caller: :class:`IntervalEncoder` / :class:`IntervalDecoder`
  (peek the slot, search your CDF, advance); :class:`CudaIntervalDecoder` does it in rounds of
  one symbol per lane of every chunk on the GPU.

Arrays go in and out as numpy arrays or torch tensors (zero-copy; results match the input's
kind and device). This module never imports torch itself: tensors are recognised by type.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from lcodec.entropy import _core
from lcodec.entropy._core import FORMAT, StreamError
from lcodec.entropy.tables import (
    Tables,
    build_tables,
    gaussian_tables,
    histogram_tables,
    laplace_tables,
    logistic_tables,
    quantize_pmf,
    scale_indexes,
    scale_levels,
)

__all__ = [
    "FORMAT",
    "StreamError",
    "Tables",
    "build_tables",
    "quantize_pmf",
    "gaussian_tables",
    "laplace_tables",
    "logistic_tables",
    "histogram_tables",
    "scale_levels",
    "scale_indexes",
    "encode_indexed",
    "decode_indexed",
    "encode_intervals",
    "IntervalEncoder",
    "IntervalDecoder",
    "CudaIntervalDecoder",
    "stream_info",
    "cuda_available",
    "DEFAULT_CHUNK_SIZE",
]

DEFAULT_CHUNK_SIZE = 1 << 19
"""Symbols per independent chunk. Each chunk costs ~100 bytes (32 lane states, CRC), so chunks
of 2^19 keep sizes within ~0.06 % of the ideal on 4.6-bit/symbol latents (2^18: 0.1 %, 2^16:
0.3 %) while 4 M symbols still give 8 chunks for threads. Pass a smaller chunk_size (e.g. 2^16)
when the stream will be decoded on a GPU, which wants thousands of chunks."""


def cuda_available() -> bool:
    """True when the CUDA kernels were compiled in (a device is still needed to use them)."""
    return bool(_core.CUDA)


def _is_torch(a: Any) -> bool:
    return type(a).__module__.split(".")[0] == "torch"


def _int_array(a: Any, name: str, dtypes: tuple[str, ...] = ("int32",)) -> Any:
    """Contiguous 1-D view of a numpy array or torch tensor with one of ``dtypes``."""
    if _is_torch(a):
        dt = str(a.dtype).removeprefix("torch.")
        if dt not in dtypes:
            raise TypeError(f"{name} must be a tensor of dtype {' or '.join(dtypes)}, got torch.{dt}")
        return a.detach().contiguous().reshape(-1)
    if isinstance(a, np.ndarray):
        if a.dtype.name not in dtypes:
            raise TypeError(
                f"{name} must have dtype {' or '.join(dtypes)}, got {a.dtype} (convert with .astype(np.{dtypes[0]}))"
            )
        if not a.dtype.isnative:
            a = a.astype(a.dtype.newbyteorder("="))
        return np.ascontiguousarray(a).reshape(-1)
    raise TypeError(f"{name} must be a numpy array or torch tensor, got {type(a).__name__}")


def _is_cuda(a: Any) -> bool:
    return _is_torch(a) and a.device.type == "cuda"


def _need_cuda() -> None:
    if not _core.CUDA:
        raise RuntimeError(
            "lcodec.entropy was built without CUDA kernels: pass CPU arrays, or rebuild with "
            "CMAKE_ARGS=-DLCODEC_CUDA=ON on a machine with nvcc"
        )


def _bytes_view(data: Any) -> np.ndarray:
    if isinstance(data, np.ndarray) and data.dtype == np.uint8:
        return np.ascontiguousarray(data).reshape(-1)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return np.frombuffer(data, np.uint8)
    raise TypeError(f"data must be bytes, bytearray, memoryview or a uint8 array, got {type(data).__name__}")


def _opt(v: int | None) -> int:
    return 0 if v is None else int(v)


def encode_indexed(
    symbols: Any,
    indexes: Any,
    tables: Tables,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    lanes: int | None = None,
    threads: int | None = None,
) -> bytes:
    """Code ``symbols`` (int32 [...], values) with ``tables`` row ``indexes`` (int32, same shape,
    or one int: the same table for every symbol, e.g. a histogram model).

    A value v coded with table k is symbol ``v - offsets[k]``; values outside the table's range
    take its escape symbol plus raw bits. ``lanes`` (1..32) defaults to 32 for large inputs,
    fewer for small ones; ``threads`` defaults to all cores. Bytes depend only on the inputs,
    ``chunk_size`` and ``lanes`` (never on threads or device). CUDA tensors run on the GPU.
    """
    if not isinstance(tables, Tables):
        raise TypeError("tables must be an lcodec.entropy.Tables")
    s = _int_array(symbols, "symbols")
    i = _single_index(indexes, s) if _is_int(indexes) else _int_array(indexes, "indexes")
    if s.shape[0] != i.shape[0] and not _is_int(indexes):
        raise ValueError(f"symbols ({s.shape[0]}) and indexes ({i.shape[0]}) differ in size")
    if _is_cuda(s) or _is_cuda(i):
        _need_cuda()
        if not (_is_cuda(s) and _is_cuda(i)):
            raise ValueError("symbols and indexes must be on the same device")
        if _is_int(indexes):  # the kernels take an index per symbol
            i = i.expand(s.shape[0]).contiguous()
        return _core.cuda_encode_indexed(s, i, tables.native, int(chunk_size), _opt(lanes), _cuda_stream(s))
    return _core.encode_indexed(s, i, tables.native, int(chunk_size), _opt(lanes), _opt(threads))


def decode_indexed(data: Any, indexes: Any, tables: Tables, *, out: Any = None, threads: int | None = None) -> Any:
    """Inverse of :func:`encode_indexed`: int32 values with the shape, kind and device of ``indexes``
    (a numpy array [N] when ``indexes`` is a single int).

    out: optional contiguous int32 array/tensor with one element per symbol (on the indexes'
    device), written in place and returned. Raises :class:`StreamError` (a ValueError) for
    corrupt, truncated or mismatched streams (other tables, other indexes), ValueError for
    indexes out of range.
    """
    if not isinstance(tables, Tables):
        raise TypeError("tables must be an lcodec.entropy.Tables")
    buf = _bytes_view(data)
    if _is_int(indexes):
        shape: tuple = (stream_info(buf)["size"],)
        i = _single_index(indexes, out if out is not None else buf)  # on the device of `out`
        as_torch = _is_torch(out)
    else:
        i = _int_array(indexes, "indexes")
        shape, as_torch = tuple(indexes.shape), _is_torch(indexes)
    n = int(np.prod(shape))
    if out is not None:
        if (_is_torch(out) and not out.is_contiguous()) or (isinstance(out, np.ndarray) and not out.flags.c_contiguous):
            raise ValueError("out must be contiguous")
        flat = _int_array(out, "out")
        if flat.shape[0] != n or _is_cuda(flat) != _is_cuda(i):
            raise ValueError("out must match indexes in size and device")
    if _is_cuda(i):
        _need_cuda()
        import torch  # the caller already has it

        if i.shape[0] != n:  # a single index: the kernels take one per symbol
            i = i.expand(n).contiguous()
        if out is None:
            out = flat = torch.empty(n, dtype=torch.int32, device=i.device)
        _core.cuda_decode_indexed(buf, i, tables.native, flat, _cuda_stream(i))
        return flat.reshape(shape) if out is flat else out
    if out is None:
        out = flat = np.empty(n, np.int32)
        if as_torch:
            import torch  # the caller already has it

            out = torch.from_numpy(flat)
        out = out.reshape(shape)
    _core.decode_indexed(buf, i, tables.native, flat, _opt(threads))
    return out


def _is_int(a: Any) -> bool:
    return isinstance(a, (int, np.integer)) and not isinstance(a, bool)


def _single_index(k: Any, like: Any) -> Any:
    """A one-element int32 index array on the device of ``like`` (the core broadcasts it)."""
    if not -(2**31) <= int(k) < 2**31:
        raise ValueError(f"index {k} is outside int32")
    if _is_torch(like):
        return like.new_full((1,), int(k))
    return np.array([k], np.int32)


def encode_intervals(
    starts: Any,
    freqs: Any,
    precision: int = 15,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    lanes: int | None = None,
    threads: int | None = None,
) -> bytes:
    """Code symbol i as the interval ``[starts[i], starts[i] + freqs[i])`` of ``[0, 2**precision)``.

    starts, freqs: int32/uint32/int64 [N] (numpy or torch; CUDA tensors run on the GPU).
    Decode with :class:`IntervalDecoder`.
    """
    if _is_cuda(starts) or _is_cuda(freqs):
        _need_cuda()
        a = _int_array(starts, "starts", ("int32",))
        b = _int_array(freqs, "freqs", ("int32",))
        if a.shape[0] != b.shape[0]:
            raise ValueError("starts and freqs must have the same length")
        return _core.cuda_encode_intervals(a, b, int(precision), int(chunk_size), _opt(lanes), _cuda_stream(a))
    enc = IntervalEncoder(precision)
    enc.push(starts, freqs)
    return enc.finish(chunk_size=chunk_size, lanes=lanes, threads=threads)


class IntervalEncoder:
    """Collects intervals in decode order; :meth:`finish` codes them (backwards, as rANS must).

    >>> enc = IntervalEncoder(precision=12)
    >>> enc.push(0, 100); enc.push(np.array([5, 9], np.int32), np.array([3, 1], np.int32))
    >>> data = enc.finish()
    """

    def __init__(self, precision: int = 15) -> None:
        self._enc = _core.IntervalEncoder(int(precision))

    @property
    def precision(self) -> int:
        return self._enc.precision

    def __len__(self) -> int:
        return len(self._enc)

    def push(self, start: Any, freq: Any) -> None:
        """Append one interval (two ints) or many (two arrays of equal length, int32/uint32/int64/uint16)."""
        if isinstance(start, (int, np.integer)) and isinstance(freq, (int, np.integer)):
            self._enc.push(int(start), int(freq))
            return
        dt = ("int32", "uint32", "int64", "uint16")
        a = _int_array(start, "starts", dt)
        b = _int_array(freq, "freqs", dt)
        if _is_torch(a):
            a, b = a.cpu().numpy(), b.cpu().numpy()
        if a.dtype != b.dtype:
            b = b.astype(a.dtype)
        self._enc.push_array(a, b)

    def finish(
        self, *, chunk_size: int = DEFAULT_CHUNK_SIZE, lanes: int | None = None, threads: int | None = None
    ) -> bytes:
        """The stream for everything pushed so far; the encoder is empty afterwards."""
        return self._enc.finish(int(chunk_size), _opt(lanes), _opt(threads))


class IntervalDecoder:
    """Decodes an intervals stream symbol by symbol.

    For each symbol: ``slot = dec.peek()`` (in ``[0, 2**precision)``), find the interval
    ``[start, start + freq)`` of your model that contains it, then ``dec.advance(start, freq)``.
    ``peek_many(n)`` / ``advance_many`` do the same for the next n <= :attr:`lanes` symbols at
    once (they sit in different lanes, so their slots do not depend on each other). Each chunk's
    final state is checked as it completes; a mismatch raises :class:`StreamError`.
    """

    def __init__(self, data: Any) -> None:
        self._dec = _core.IntervalDecoder(_bytes_view(data))

    def __len__(self) -> int:
        return len(self._dec)

    @property
    def position(self) -> int:
        """Symbols decoded so far."""
        return self._dec.position

    @property
    def precision(self) -> int:
        return self._dec.precision

    @property
    def lanes(self) -> int:
        return self._dec.lanes

    @property
    def done(self) -> bool:
        return self._dec.position == len(self._dec)

    def peek(self) -> int:
        return self._dec.peek()

    def advance(self, start: int, freq: int) -> None:
        self._dec.advance(int(start), int(freq))

    def peek_many(self, n: int) -> np.ndarray:
        """uint32 [n]: slots of the next n symbols (n <= lanes)."""
        return self._dec.peek_many(int(n))

    def advance_many(self, starts: Any, freqs: Any) -> None:
        """Advance over the next len(starts) symbols (uint32 arrays or anything numpy converts)."""
        self._dec.advance_many(
            np.ascontiguousarray(starts, dtype=np.uint32).reshape(-1),
            np.ascontiguousarray(freqs, dtype=np.uint32).reshape(-1),
        )


class CudaIntervalDecoder:
    """Decodes an intervals stream on a CUDA device, one round at a time.

    Round r decodes, in every chunk, the r-th symbol of each of its lanes, so a model running on
    the GPU answers for up to ``32 * chunks`` symbols per round instead of one::

        dec = CudaIntervalDecoder(data)
        while not dec.done:
            slots, pos = dec.peek()                  # int32 / int64 [chunks, 32], -1 = idle lane
            starts, freqs = my_model(pos, slots)     # int32 [chunks, 32] on the same device
            dec.advance(starts, freqs)

    Errors (a corrupt stream, an interval that misses its slot) raise at construction (CRC),
    after the last round (final-state checks) or on :meth:`verify`. Encode such streams with
    small chunks (e.g. ``chunk_size=2**12``) to get many chunks per round.
    """

    def __init__(self, data: Any, device: Any = "cuda") -> None:
        _need_cuda()
        import torch

        self._device = torch.device(device)
        with torch.cuda.device(self._device):
            self._dec = _core.CudaIntervalDecoder(_bytes_view(data), _cuda_stream(torch.empty(0, device=self._device)))
        n = 32 * self._dec.chunks
        self._slots = torch.empty(n, dtype=torch.int32, device=self._device)
        self._pos = torch.empty(n, dtype=torch.int64, device=self._device)

    def __len__(self) -> int:
        return len(self._dec)

    @property
    def rounds(self) -> int:
        return self._dec.rounds

    @property
    def done(self) -> bool:
        return self._dec.round == self._dec.rounds

    def peek(self) -> tuple[Any, Any]:
        """(slots int32 [chunks, 32], stream positions int64 [chunks, 32]); -1 marks idle lanes."""
        import torch

        with torch.cuda.device(self._device):
            self._dec.peek(self._slots, self._pos)
        return self._slots.view(-1, 32).clone(), self._pos.view(-1, 32).clone()

    def advance(self, starts: Any, freqs: Any) -> None:
        """Intervals (int32 [chunks, 32] CUDA tensors) holding the peeked slots; idle lanes ignored."""
        import torch

        a = _int_array(starts, "starts")
        b = _int_array(freqs, "freqs")
        with torch.cuda.device(self._device):
            self._dec.advance(a, b)

    def verify(self) -> None:
        """Raise now if any chunk has failed so far (costs a device synchronisation)."""
        import torch

        with torch.cuda.device(self._device):
            self._dec.verify()


def stream_info(data: Any) -> dict:
    """Header of a stream (kind, precision, lanes, size, chunk_size, chunks, escapes, digest);
    validates the whole layout, decodes nothing."""
    return _core.stream_info(_bytes_view(data))


def _cuda_stream(t: Any) -> int:
    import torch

    return int(torch.cuda.current_stream(t.device).cuda_stream)
