"""Library calls used by pipelines and by the CLI.

This layer only wires media I/O, the registry and the container (DESIGN.md §2 data path)::

    encode: media.read -> registry.get(id) -> Codec.encode -> formats.Writer (temp file, rename)
    decode: formats.Reader (checks every CRC first) -> registry.get(header codec) -> Codec.decode -> media

Arrays keep their kind: numpy in, numpy out; torch in, torch out; a path or media object in, a
media object out.
"""
from __future__ import annotations

import io
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, Union

import numpy as np

from lcodec import __version__, media as media_io, registry
from lcodec.codecs.base import Codec, Progress
from lcodec.errors import CodecUnavailableError, CorruptFileError, MissingInputError, UnsupportedError, UsageError
from lcodec.formats import STATS_TYPE, Chunk, Reader, Writer
from lcodec.formats.container import Source
from lcodec.media import Audio, Image, Media, Video

MediaLike = Union[Media, str, os.PathLike, np.ndarray, Any]


@dataclass
class EncodeResult:
    """What :func:`encode_file` wrote: the file, its size, the header metadata and encoder stats."""

    path: Path | None
    size: int
    seconds: float
    meta: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"output": str(self.path) if self.path else "-", "bytes": self.size,
                "encode_seconds": round(self.seconds, 4), **rate_of(self.size, self.meta["media"]),
                "codec": self.meta["codec"]["id"], "stats": self.stats}


@dataclass
class DecodeResult:
    path: Path | None
    seconds: float
    media: dict[str, Any]


def rate_of(size: int, media: dict[str, Any]) -> dict[str, float]:
    """Bits per pixel for images and video, kilobits per second for audio, from a real byte count."""
    bits = 8 * size
    if media.get("kind") == "image":
        return {"bpp": bits / (media["height"] * media["width"])}
    if media.get("kind") == "video":
        return {"bpp": bits / (media["frames"] * media["height"] * media["width"])}
    if media.get("kind") == "audio":
        return {"kbps": bits / (media["samples"] / media["sample_rate"]) / 1000}
    return {}


def list_codecs() -> list[dict[str, Any]]:
    """Every registered codec as ``{"id", "modality", "description", "builtin"}``; imports no codec."""
    return [{"id": e.id, "modality": e.modality, "description": e.description, "builtin": e.builtin}
            for e in registry.entries()]


def _origin(obj: Any) -> str:
    module = type(obj).__module__ or ""
    if module.startswith("torch"):
        return "torch"
    if isinstance(obj, np.ndarray):
        return "numpy"
    return "media"


def as_media(obj: MediaLike, *, sample_rate: int | None = None,
             fps: float | Fraction | None = None) -> tuple[Media, dict[str, Any]]:
    """Turn a path, media object, numpy array or torch tensor into a media object.

    Arrays: [T, H, W, 3] is video (``fps``, default 25), [H, W] / [H, W, C] an image, and anything
    with ``sample_rate`` given is audio [C, N] or [N]. Returns the media and a note of where it came
    from (``{"origin": "path" | "media" | "numpy" | "torch", "array_ndim": ...}``) for decode.
    """
    if isinstance(obj, (Image, Video, Audio)):
        return obj, {"origin": "media"}
    if isinstance(obj, (str, os.PathLike)):
        return media_io.read(obj), {"origin": "path"}
    origin = _origin(obj)
    if origin == "torch":
        array = obj.detach().cpu().numpy()
    elif origin == "numpy":
        array = obj
    else:
        raise UsageError(f"cannot encode a {type(obj).__name__}: give a path, an Image/Video/Audio, a numpy array or a torch tensor")
    source = {"origin": origin, "array_ndim": int(array.ndim)}
    try:
        if sample_rate is not None:
            return Audio(array.astype(np.float32, copy=False), int(sample_rate)), source
        if array.ndim == 4:
            return Video(array, Fraction(fps or 25)), source
        return Image(array), source
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _codec_class(codec_id: str) -> type[Codec]:
    cls = registry.get(codec_id)
    reason = cls.unavailable_reason()
    if reason:
        raise CodecUnavailableError(f"codec {codec_id!r} is unavailable here: {reason}")
    return cls


def _prepare(media: Media, codec_id: str | None, options: dict[str, Any], device: str) -> Codec:
    codec_id = codec_id or registry.DEFAULT_CODECS[media.modality]
    try:
        cls = _codec_class(codec_id)
    except UnsupportedError as exc:  # naming a codec that does not exist is a usage error when encoding
        raise UsageError(str(exc)) from exc
    if cls.modality != media.modality:
        raise UsageError(f"codec {codec_id!r} compresses {cls.modality}, but the input is {media.modality}")
    return cls(cls.make_config(options), device=device)


def _write(target: str | os.PathLike | BinaryIO, media: Media, source: dict[str, Any], codec: Codec,
           overwrite: bool, progress: Progress | None) -> EncodeResult:
    start = time.perf_counter()
    encoded = codec.encode(media, progress)
    meta = {
        "lcodec": __version__,
        "codec": {"id": codec.id, "version": codec.version, "config": codec.config_dict()},
        "fields": encoded.fields,
        "media": {**media.describe(), **source, "meta": media.meta},
        "weights": codec.weights_info(),
        "entropy": codec.entropy_format,
    }
    with Writer(target, meta, overwrite=overwrite) as writer:
        for chunk in encoded.chunks:
            writer.add(chunk)
        stats = {**encoded.stats, "encode_seconds": round(time.perf_counter() - start, 4)}
        writer.add(Chunk(STATS_TYPE, json.dumps(stats, sort_keys=True).encode(), critical=False))
    path = Path(target) if isinstance(target, (str, os.PathLike)) else None
    return EncodeResult(path, writer.bytes_written, time.perf_counter() - start, meta, stats)


def encode(obj: MediaLike, codec: str | None = None, *, sample_rate: int | None = None,
           fps: float | Fraction | None = None, device: str = "cpu", progress: Progress | None = None,
           **options: Any) -> bytes:
    """Compress media into the bytes of a ``.lc`` file.

    ``codec`` defaults to the modality's default (see :data:`lcodec.registry.DEFAULT_CODECS`);
    ``options`` are the codec's ``Config`` fields (e.g. ``quality=80``, ``crf=28``); ``device``
    is where learned codecs run ("cpu", "cuda").
    """
    media, source = as_media(obj, sample_rate=sample_rate, fps=fps)
    buffer = io.BytesIO()
    _write(buffer, media, source, _prepare(media, codec, options, device), True, progress)
    return buffer.getvalue()


def encode_file(obj: MediaLike, output: str | os.PathLike | BinaryIO, codec: str | None = None, *,
                overwrite: bool = False, sample_rate: int | None = None, fps: float | Fraction | None = None,
                device: str = "cpu", progress: Progress | None = None, **options: Any) -> EncodeResult:
    """Compress media into a ``.lc`` file (atomically: temp file + rename) or a binary stream."""
    media, source = as_media(obj, sample_rate=sample_rate, fps=fps)
    return _write(output, media, source, _prepare(media, codec, options, device), overwrite, progress)


def _open(source: Source) -> Reader:
    if isinstance(source, (str, os.PathLike)):
        if str(source) == "-":
            return Reader(sys.stdin.buffer.read())
        if not Path(source).exists():
            raise MissingInputError(f"no such file: {source}")
        if Path(source).is_dir():
            raise UsageError(f"{source} is a directory, not an .lc file")
    elif hasattr(source, "read") and not (hasattr(source, "seekable") and source.seekable()):
        return Reader(source.read())  # a pipe: .lc files are small, and a seekable copy lets us verify first
    return Reader(source)


@dataclass
class Scan:
    """One CRC-checked pass over a file: counts by chunk type, the encoder's stats, the index size."""

    chunks: int = 0
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    index_entries: int = 0


def _scan(reader: Reader) -> Scan:
    scan = Scan()
    for chunk in reader.chunks(include_container=True):
        scan.chunks += 1
        entry = scan.by_type.setdefault(chunk.type, {"count": 0, "bytes": 0})
        entry["count"] += 1
        entry["bytes"] += len(chunk.payload)
        if chunk.type == STATS_TYPE:
            try:
                scan.stats = json.loads(chunk.payload)
            except ValueError:
                scan.stats = {"error": "unreadable encoder statistics"}
    scan.index_entries = len(reader.index()) if scan.by_type.get("LIDX") else 0
    return scan


def _check_meta(meta: dict[str, Any]) -> tuple[str, int]:
    try:
        codec = meta["codec"]
        return str(codec["id"]), int(codec["version"])
    except (KeyError, TypeError, ValueError):
        raise CorruptFileError("corrupt header: no codec id/version in the metadata") from None


def probe(source: Source) -> dict[str, Any]:
    """Describe a ``.lc`` file like ffprobe: codec, config, media, rate, chunks, encoder stats.

    Reads and CRC-checks every chunk but imports no codec (and so no torch).
    """
    with _open(source) as reader:
        codec_id, version = _check_meta(reader.meta)
        scan = _scan(reader)
        size = reader.size
    meta = reader.meta
    known = codec_id in {e.id for e in registry.entries()}
    return {
        "size": size, "format": f"{reader.major}.{reader.minor}",
        "codec": {**meta["codec"], "known": known}, "media": meta.get("media", {}),
        "fields": meta.get("fields", {}), "weights": meta.get("weights"), "entropy": meta.get("entropy"),
        "lcodec": meta.get("lcodec"), **rate_of(size, meta.get("media", {})),
        "stats": scan.stats, "chunks": {"count": scan.chunks, "by_type": scan.by_type},
        "index_entries": scan.index_entries,
    }


def verify(source: Source) -> dict[str, Any]:
    """Check a file's integrity without decoding: signature, header, every CRC, chunk order, trailer, index."""
    info = probe(source)
    if not info["codec"]["known"]:
        raise UnsupportedError(f"file is intact but its codec {info['codec']['id']!r} is not installed")
    return {"ok": True, "size": info["size"], "chunks": info["chunks"]["count"], "codec": info["codec"]["id"]}


def _codec_chunks(reader: Reader, cls: type[Codec]) -> Iterator[Chunk]:
    for chunk in reader.chunks():
        if chunk.type in cls.chunk_types:
            yield chunk
        elif chunk.critical:
            raise UnsupportedError(f"chunk #{chunk.seq} has type {chunk.type!r}, unknown to codec "
                                   f"{cls.id!r} version {cls.version}; upgrade lcodec")


def _drain(chunks: Iterator[Chunk]) -> None:
    for _ in chunks:
        pass


def _start_decode(reader: Reader, progress: Progress | None, device: str,
                  frames: tuple[int, int | None] | None = None) -> tuple[Media, Iterator[Chunk], dict[str, Any]]:
    codec_id, version = _check_meta(reader.meta)
    _scan(reader)  # every CRC and the trailer checked before any byte reaches a decoder
    cls = _codec_class(codec_id)
    if version != cls.version:
        raise UnsupportedError(f"file was written by codec {codec_id!r} version {version}; "
                               f"this lcodec has version {cls.version}")
    codec = cls(cls.make_config(reader.meta["codec"].get("config") or {}), device=device)
    wanted, have = reader.meta.get("weights"), codec.weights_info()
    if wanted and wanted != have:
        found = f"this lcodec has {have['id']} sha256 {have['sha256'][:12]}…" if have else "this lcodec has none"
        raise UnsupportedError(f"file needs weights {wanted.get('id')} sha256 {str(wanted.get('sha256'))[:12]}…; {found}")
    description = reader.meta.get("media") or {}
    fields = reader.meta.get("fields") or {}
    if frames is not None:
        return _decode_range(reader, codec, fields, description, frames, progress)
    chunks = _codec_chunks(reader, cls)
    return codec.decode(fields, chunks, progress), chunks, description


def _decode_range(reader: Reader, codec: Codec, fields: dict[str, Any], description: dict[str, Any],
                  frames: tuple[int, int | None], progress: Progress | None) -> tuple[Media, Iterator[Chunk], dict[str, Any]]:
    """Frames ``start:stop`` of a video: through the codec's seek path when it has one, else cut."""
    total = int(description.get("frames", 0)) if description.get("kind") == "video" else 0
    if not total:
        raise UsageError("--frames applies to video files only")
    start, stop = frames[0], total if frames[1] is None else frames[1]
    if not 0 <= start < stop <= total:
        raise UsageError(f"frame range {start}:{stop} is outside the video's 0:{total}")
    media = codec.decode_range(fields, reader, start, stop, progress)
    if media is None:
        chunks = _codec_chunks(reader, type(codec))
        full = codec.decode(fields, chunks, progress)
        media = Video(np.stack(list(itertools.islice(full.iter_frames(), start, stop))), full.fps, full.pix_fmt)
    description = {**description, "frames": stop - start, "first_frame": start}
    return media, iter(()), description


def _restore_meta(media: Media, description: dict[str, Any]) -> Media:
    """Give decoded media what the source's reader kept (e.g. a batch's size), under the codec's own."""
    if description.get("meta"):
        media.meta = {**description["meta"], **media.meta}
    return media


def _as_origin(media: Media, description: dict[str, Any]) -> Any:
    media = _restore_meta(media, description)
    origin = description.get("origin", "media")
    if origin in ("media", "path"):
        return media
    if isinstance(media, Image):
        array = media.pixels[:, :, 0] if description.get("array_ndim") == 2 else media.pixels
    elif isinstance(media, Video):
        array = media.to_array()
    else:
        array = media.samples
    if origin == "torch":
        import torch

        return torch.from_numpy(np.ascontiguousarray(array))
    return array


def decode(source: Source, *, frames: tuple[int, int | None] | None = None, device: str = "cpu",
           progress: Progress | None = None) -> Any:
    """Decode a ``.lc`` file (path, bytes or stream) into the same kind of object that was encoded.

    ``frames=(start, stop)`` decodes only those frames of a video (``stop`` None: to the end).
    """
    with _open(source) as reader:
        media, chunks, description = _start_decode(reader, progress, device, frames)
        if isinstance(media, Video):
            media = Video(media.to_array(), media.fps, media.pix_fmt, media.meta)
        _drain(chunks)
    return _as_origin(media, description)


def output_extension(source: Source) -> str:
    """The default file extension for decoding ``source`` (".png", ".mkv", ".wav"), from its header alone."""
    with _open(source) as reader:
        kind = (reader.meta.get("media") or {}).get("kind")
    return media_io.DEFAULT_EXTENSIONS.get(kind, "")


def decode_file(source: Source, output: str | os.PathLike, *, overwrite: bool = False, device: str = "cpu",
                frames: tuple[int, int | None] | None = None, progress: Progress | None = None) -> DecodeResult:
    """Decode a ``.lc`` file into a media file; streaming codecs write frames as they decode.

    The output appears only when decoding succeeded (media writers use temp file + rename).
    """
    start = time.perf_counter()
    with _open(source) as reader:
        media, chunks, description = _start_decode(reader, progress, device, frames)
        path = media_io.write(_restore_meta(media, description), output, overwrite=overwrite)
        _drain(chunks)
    return DecodeResult(Path(path), time.perf_counter() - start, description)


def decode_to_stream(source: Source, stream: BinaryIO, suffix: str, *, device: str = "cpu",
                     frames: tuple[int, int | None] | None = None, progress: Progress | None = None) -> DecodeResult:
    """Decode into a binary stream (stdout) in the format named by ``suffix``, via a temporary file."""
    with tempfile.TemporaryDirectory() as folder:
        result = decode_file(source, Path(folder) / f"out{suffix}", device=device, frames=frames, progress=progress)
        with open(result.path, "rb") as data:
            while piece := data.read(1 << 20):
                stream.write(piece)
    stream.flush()
    return DecodeResult(None, result.seconds, result.media)
