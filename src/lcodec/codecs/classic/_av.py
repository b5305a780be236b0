"""What the ffmpeg-backed classic codecs share: packet tables, availability checks, error mapping.

Why packet tables: these codecs store the raw elementary stream an ffmpeg encoder produces (no
ffmpeg container around it), so each chunk carries its packets' sizes, timestamps and flags, and
decoding feeds the decoder exactly the packets the encoder gave. ``av`` is imported inside the
functions so that importing a codec module (e.g. to read its description) stays cheap.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from lcodec.errors import CodecUnavailableError, CorruptFileError, UnsupportedError
from lcodec.formats import Chunk

# Packet table: varint count, then per packet four varints: size * 2 + keyframe,
# zigzag(pts - previous pts), zigzag(dts - pts), zigzag(duration - (pts - previous pts));
# the packets' bytes follow, concatenated in the same order. Deltas keep the table to a few bytes
# a packet: at Opus's 50 packets a second, fixed 28-byte entries alone cost 11 kbit/s.
_MAX_VARINT_BYTES = 10


def _put_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _zigzag(value: int) -> int:
    return value * 2 if value >= 0 else -value * 2 - 1


def _unzigzag(value: int) -> int:
    return value >> 1 if not value & 1 else -(value >> 1) - 1


class _VarintReader:
    def __init__(self, data: bytes, where: str) -> None:
        self.data, self.pos, self.where = data, 0, where

    def next(self) -> int:
        value = shift = 0
        for _ in range(_MAX_VARINT_BYTES):
            if self.pos >= len(self.data):
                raise CorruptFileError(f"corrupt {self.where}: packet table runs past the chunk")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
        raise CorruptFileError(f"corrupt {self.where}: malformed packet table")


@dataclass(frozen=True)
class Packet:
    """One encoded packet; times are in the encoder's time base (frames for video, samples for audio)."""

    data: bytes
    pts: int
    dts: int
    duration: int
    keyframe: bool


def packet_from_av(packet: Any) -> Packet:
    pts = packet.pts if packet.pts is not None else 0
    dts = packet.dts if packet.dts is not None else pts
    return Packet(bytes(packet), int(pts), int(dts), int(packet.duration or 0), bool(packet.is_keyframe))


def packet_to_av(packet: Packet) -> Any:
    import av

    out = av.Packet(packet.data)
    out.pts, out.dts = packet.pts, packet.dts
    out.duration = packet.duration
    return out


def pack_packets(packets: Iterable[Packet]) -> bytes:
    """Packets -> one chunk payload (table, then data)."""
    packets = list(packets)
    table = bytearray()
    _put_varint(table, len(packets))
    previous = 0
    for p in packets:
        step = p.pts - previous
        _put_varint(table, len(p.data) * 2 + int(p.keyframe))
        for value in (step, p.dts - p.pts, p.duration - step):
            _put_varint(table, _zigzag(value))
        previous = p.pts
    return bytes(table) + b"".join(p.data for p in packets)


def unpack_packets(payload: bytes, where: str) -> list[Packet]:
    """Chunk payload -> packets; a table that does not add up raises :class:`CorruptFileError`."""
    table = _VarintReader(payload, where)
    count = table.next()
    if count > len(payload):
        raise CorruptFileError(f"corrupt {where}: packet table longer than the chunk")
    entries, previous = [], 0
    for _ in range(count):
        size_key, step, offset, extra = (table.next() for _ in range(4))
        pts = previous + _unzigzag(step)
        entries.append((size_key >> 1, pts, pts + _unzigzag(offset), _unzigzag(step) + _unzigzag(extra), size_key & 1))
        previous = pts
    if table.pos + sum(e[0] for e in entries) != len(payload):
        raise CorruptFileError(f"corrupt {where}: packet sizes do not add up to the chunk length")
    packets, start = [], table.pos
    for size, pts, dts, duration, keyframe in entries:
        packets.append(Packet(payload[start:start + size], pts, dts, duration, bool(keyframe)))
        start += size
    return packets


def codec_chunks(chunks: Iterable[Chunk], codec_id: str, types: frozenset[str]) -> Iterator[Chunk]:
    """This codec's chunks: ancillary chunks of other types are skipped, critical ones are refused."""
    for chunk in chunks:
        if chunk.type in types:
            yield chunk
        elif chunk.critical:
            raise UnsupportedError(f"codec {codec_id!r} cannot read critical chunk {chunk.type!r} (#{chunk.seq})")


@contextmanager
def decoding(what: str) -> Iterator[None]:
    """Turn an ffmpeg failure while decoding into :class:`CorruptFileError` naming ``what``."""
    import av

    try:
        yield
    except av.FFmpegError as exc:
        raise CorruptFileError(f"corrupt {what}: ffmpeg says {exc}") from exc


@contextmanager
def encoding(encoder: str) -> Iterator[None]:
    """Turn an ffmpeg failure while opening or feeding ``encoder`` into :class:`UnsupportedError`."""
    import av

    try:
        yield
    except av.FFmpegError as exc:
        reason = exc.strerror if isinstance(exc.strerror, str) else str(exc)
        raise UnsupportedError(f"ffmpeg's {encoder} encoder refused this input or these options: {reason}") from exc


def missing_encoder(name: str) -> str | None:
    """Why ffmpeg encoder ``name`` cannot be used here, or ``None`` when it can."""
    try:
        import av
    except ImportError:
        return "PyAV (the 'av' package) is not installed"
    if name not in av.codecs_available:
        return f"the ffmpeg inside PyAV {av.__version__} has no {name} encoder"
    try:
        av.codec.Codec(name, "w")
    except Exception:
        return f"ffmpeg's {name} cannot encode"
    return None


def pick_decoder(candidates: tuple[str, ...]) -> str:
    """The first of ``candidates`` that this ffmpeg can decode with."""
    import av

    for name in candidates:
        if name in av.codecs_available:
            try:
                av.codec.Codec(name, "r")
                return name
            except Exception:
                continue
    raise CodecUnavailableError(f"the ffmpeg inside PyAV has none of the decoders {', '.join(candidates)}")


def missing_decoder(candidates: tuple[str, ...]) -> str | None:
    try:
        pick_decoder(candidates)
    except Exception as exc:
        return str(exc)
    return None


def to_base64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data else None


def from_base64(text: Any, what: str) -> bytes | None:
    if text is None:
        return None
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CorruptFileError(f"corrupt header: {what} is not base64") from exc


def header_field(fields: dict[str, Any], name: str, kind: type) -> Any:
    """``fields[name]`` as ``kind``; a missing or mistyped field raises :class:`CorruptFileError`."""
    if name not in fields:
        raise CorruptFileError(f"corrupt header: field {name!r} is missing")
    try:
        value = kind(fields[name])
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise CorruptFileError(f"corrupt header: field {name!r}={fields[name]!r} is not a {kind.__name__}") from exc
    if kind is int and value < 0:
        raise CorruptFileError(f"corrupt header: field {name!r} is negative")
    return value


def fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


# --- audio samples <-> av frames ------------------------------------------------------------------

_INT_SCALE = {"s16": 32768.0, "s16p": 32768.0, "s32": 2147483648.0, "s32p": 2147483648.0}


def channel_layout(channels: int) -> Any:
    """ffmpeg's default layout for ``channels`` (mono, stereo, 2.1, ... 7.1; unordered beyond 8)."""
    import av

    return av.AudioLayout(f"{channels}c" if channels <= 8 else f"{channels} channels")


def audio_frame(block: np.ndarray, sample_format: str, layout: Any, rate: int) -> Any:
    """[C, n] samples (float32, or integers already scaled for s16/s32) -> an av audio frame."""
    import av

    dtype = {"s16": np.int16, "s16p": np.int16, "s32": np.int32, "s32p": np.int32, "flt": np.float32,
             "fltp": np.float32}[sample_format]
    block = block.astype(dtype, copy=False)
    if not sample_format.endswith("p"):  # packed formats interleave the channels: [1, n * C]
        block = block.T.reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format=sample_format, layout=layout)
    frame.sample_rate = rate
    return frame


def frame_samples(frame: Any) -> np.ndarray:
    """An av audio frame -> float32 [C, n] in [-1, 1]."""
    array = frame.to_ndarray()
    name = frame.format.name
    if not frame.format.is_planar:
        array = array.reshape(-1, frame.layout.nb_channels).T
    if name in _INT_SCALE:
        return (array.astype(np.float64) / _INT_SCALE[name]).astype(np.float32)
    return array.astype(np.float32, copy=False)


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad [C, n] to exactly ``length`` samples."""
    if samples.shape[1] >= length:
        return samples[:, :length]
    return np.pad(samples, ((0, 0), (0, length - samples.shape[1])))


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """float32 [C, N] at ``source_rate`` -> [C, round(N * target / source)] through swresample.

    swresample keeps time 0 at sample 0 (no filter delay to undo) once flushed.
    """
    import av

    if source_rate == target_rate:
        return samples
    channels = samples.shape[0]
    layout = channel_layout(channels)
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=target_rate)
    pieces = []
    for start in range(0, samples.shape[1], source_rate):
        frame = audio_frame(samples[:, start:start + source_rate], "fltp", layout, source_rate)
        frame.pts = start
        pieces += [frame_samples(f) for f in resampler.resample(frame)]
    pieces += [frame_samples(f) for f in resampler.resample(None)]
    out = np.concatenate(pieces, axis=1) if pieces else np.zeros((channels, 0), np.float32)
    return fit_length(out, round(samples.shape[1] * target_rate / source_rate))
