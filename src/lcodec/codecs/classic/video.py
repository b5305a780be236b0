"""Classic video codecs through ffmpeg (PyAV): x264, x265, SVT-AV1 and VP9, the RD baselines.

Each codec stores the raw elementary stream its encoder produces (no ffmpeg container), one chunk
per GOP: a chunk starts at a keyframe, holds the GOP's packets behind a packet table, and enters the
seek index with the GOP's first frame number, so a reader can start decoding at any chunk (GOPs
are closed and stream headers are repeated at every keyframe for that reason).

Colour: RGB frames become yuv420p through swscale's defaults (BT.601 matrix, limited range) and
come back the same way. Odd sizes are padded to even by repeating the edge (and frames smaller
than an encoder accepts, up to its minimum), then cropped after decoding. Encoding streams: frames are pulled one at a time and only one GOP of packets is held.
Decoding returns a :class:`Video` whose frames are a :class:`DecodedFrames` source that pulls
chunks from the iterator it was given while it is iterated (once); :meth:`decode_range` reads
only the GOPs a frame range needs, through the seek index.
"""
from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from lcodec.codecs.base import ChunkAccess, Codec, Encoded, Progress
from lcodec.codecs.classic import _av
from lcodec.errors import CodecUnavailableError, CorruptFileError, UsageError
from lcodec.formats import Chunk
from lcodec.media import Media, Video

PIX_FMT = "yuv420p"
CHUNK_TYPE = "DATA"
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                "veryslow", "placebo")


@dataclass
class X264Config:
    """``crf``: quality, 0 (best) .. 51; ``preset``: x264 speed preset; ``gop``: keyframe interval (frames)."""

    crf: float = 23.0
    preset: str = "medium"
    gop: int = 250


@dataclass
class X265Config:
    """``crf``: quality, 0 (best) .. 51; ``preset``: x265 speed preset; ``gop``: keyframe interval (frames)."""

    crf: float = 28.0
    preset: str = "medium"
    gop: int = 250


@dataclass
class SVTAV1Config:
    """``crf``: quality, 1 (best) .. 63; ``preset``: 0 (slowest) .. 13 (fastest); ``gop``: keyframe interval."""

    crf: int = 35
    preset: int = 8
    gop: int = 250


@dataclass
class VP9Config:
    """``crf``: quality, 0 (best) .. 63; ``deadline``: good | best | realtime; ``speed``: libvpx
    cpu-used, 0 (slowest) .. 8; ``gop``: keyframe interval (frames)."""

    crf: int = 31
    deadline: str = "good"
    speed: int = 4
    gop: int = 250


def _even(n: int) -> int:
    return n + (n & 1)


class DecodedFrames:
    """Frames decoded on the fly from a classic codec's chunks (a :class:`~lcodec.media.FrameSource`).

    Decodes the chunks in order, drops the first ``skip`` frames (a range that starts inside a GOP)
    and yields exactly ``num_frames`` uint8 [H, W, 3] RGB frames. It reads the chunk iterator it was
    given, so it can be iterated once; use ``Video.to_array()`` to keep the frames.
    """

    def __init__(self, codec_id: str, decoder: str, extradata: bytes | None, chunks: Iterable[Chunk],
                 num_frames: int, height: int, width: int, progress: Progress | None, skip: int = 0) -> None:
        self.num_frames, self.height, self.width = num_frames, height, width
        self._codec_id, self._decoder, self._extradata = codec_id, decoder, extradata
        self._chunks: Iterable[Chunk] | None = chunks
        self._progress = progress
        self._skip = skip

    def __len__(self) -> int:
        return self.num_frames

    def __iter__(self) -> Iterator[np.ndarray]:
        import av

        if self._chunks is None:
            raise UsageError("decoded frames can be iterated only once (use Video.to_array() to keep them)")
        chunks, self._chunks = self._chunks, None
        context = av.CodecContext.create(self._decoder, "r")
        if self._extradata:
            context.extradata = self._extradata
        wanted = self._skip + self.num_frames
        done = 0  # frames decoded, skipped ones included
        with _av.decoding(f"{self._codec_id} stream"):
            for chunk in _av.codec_chunks(chunks, self._codec_id, frozenset({CHUNK_TYPE})):
                for packet in _av.unpack_packets(chunk.payload, f"chunk #{chunk.seq}"):
                    for frame in context.decode(_av.packet_to_av(packet)):
                        if self._skip <= done < wanted:
                            yield self._rgb(frame)
                        done += 1
                if self._progress:
                    self._progress(min(max(done - self._skip, 0), self.num_frames), self.num_frames, "frames")
            for frame in context.decode(None):
                if self._skip <= done < wanted:
                    yield self._rgb(frame)
                done += 1
        if done < wanted:
            raise CorruptFileError(f"{self._codec_id} stream holds {done} frames, the header says {wanted}")

    def _rgb(self, frame: Any) -> np.ndarray:
        """Decoded YUV frame -> uint8 [H, W, 3] RGB, cropped to the source size."""
        rgb = frame.to_ndarray(format="rgb24")
        return np.ascontiguousarray(rgb[:self.height, :self.width])


class _FFmpegVideoCodec(Codec):
    """Shared encode/decode; subclasses name the ffmpeg encoder, decoders and option mapping."""

    modality = "video"
    extension = ".mkv"
    chunk_types = frozenset({CHUNK_TYPE})
    encoder: ClassVar[str]
    decoders: ClassVar[tuple[str, ...]]
    min_size: ClassVar[int] = 2  # smallest width/height the encoder takes (smaller frames are padded)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return _av.missing_encoder(cls.encoder) or _av.missing_decoder(cls.decoders)

    @abstractmethod
    def encoder_options(self) -> dict[str, str]:
        """ffmpeg AVOptions for the encoder, from ``self.config``."""

    def open_encoder(self, width: int, height: int, fps: Fraction) -> Any:
        """An opened ffmpeg encoder for yuv420p frames of ``width`` x ``height`` (both even)."""
        import av

        context = av.CodecContext.create(self.encoder, "w")
        context.width, context.height = width, height
        context.pix_fmt = PIX_FMT
        context.time_base = 1 / fps
        context.framerate = fps
        context.gop_size = int(self.config.gop)
        context.options = self.encoder_options()
        with _av.encoding(self.encoder):
            context.open()
        return context

    def encode(self, media: Media, progress: Progress | None = None) -> Encoded:
        if not isinstance(media, Video):
            raise UsageError(f"codec {self.id!r} encodes video, got {media.modality}")
        reason = self.unavailable_reason()
        if reason:
            raise CodecUnavailableError(f"codec {self.id!r} is unavailable: {reason}")
        coded_width = max(_even(media.width), self.min_size)
        coded_height = max(_even(media.height), self.min_size)
        context = self.open_encoder(coded_width, coded_height, media.fps)
        fields = {
            "width": media.width, "height": media.height, "frames": media.num_frames,
            "fps": _av.fraction_text(media.fps), "pix_fmt": PIX_FMT, "source_pix_fmt": media.pix_fmt,
            "coded_width": coded_width, "coded_height": coded_height, "encoder": self.encoder,
            "extradata": _av.to_base64(context.extradata),
        }
        stats: dict[str, Any] = {}
        return Encoded(fields, self._gop_chunks(context, media, progress, stats), stats)

    def _gop_chunks(self, context: Any, video: Video, progress: Progress | None,
                    stats: dict[str, Any]) -> Iterator[Chunk]:
        """One chunk per GOP: a new chunk starts at every keyframe packet."""
        gop: list[_av.Packet] = []
        groups = packets = 0
        for packet in self._packets(context, video, progress):
            if packet.keyframe and gop:
                yield self._gop_chunk(gop, groups)
                groups, gop = groups + 1, []
            gop.append(packet)
            packets += 1
        if gop:
            yield self._gop_chunk(gop, groups)
            groups += 1
        stats.update(gops=groups, packets=packets)

    @staticmethod
    def _gop_chunk(packets: list[_av.Packet], group: int) -> Chunk:
        first_frame = min(p.pts for p in packets)
        return Chunk(CHUNK_TYPE, _av.pack_packets(packets), keyframe=True, pts=first_frame, group=group)

    def _packets(self, context: Any, video: Video, progress: Progress | None) -> Iterator[_av.Packet]:
        import av

        total = video.num_frames
        shape = (video.height, video.width, 3)
        pad = ((0, context.height - video.height), (0, context.width - video.width), (0, 0))
        index = -1
        for index, rgb in enumerate(video.iter_frames()):
            rgb = np.asarray(rgb)
            if index >= total:
                raise UsageError(f"the video yields more frames than the {total} it declares")
            if rgb.shape != shape or rgb.dtype != np.uint8:
                raise UsageError(f"video frame {index} must be uint8 {list(shape)}, got {rgb.dtype} {list(rgb.shape)}")
            if pad[0][1] or pad[1][1]:
                rgb = np.pad(rgb, pad, mode="edge")
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format=PIX_FMT)
            frame.pts = index
            with _av.encoding(self.encoder):
                packets = context.encode(frame)
            yield from (_av.packet_from_av(p) for p in packets if p.size)
            if progress:
                progress(index + 1, total, "frames")
        if index + 1 != total:
            raise UsageError(f"the video yields {index + 1} frames, it declares {total}")
        with _av.encoding(self.encoder):
            packets = context.encode(None)
        yield from (_av.packet_from_av(p) for p in packets if p.size)

    def decode(self, fields: dict[str, Any], chunks: Iterator[Chunk], progress: Progress | None = None) -> Video:
        return self._decoded(fields, chunks, progress)

    def decode_range(self, fields: dict[str, Any], access: ChunkAccess, start: int, stop: int,
                     progress: Progress | None = None) -> Video | None:
        """Frames ``start .. stop - 1``, decoding from the GOP that holds ``start`` to the one holding ``stop - 1``."""
        gops = sorted((e for e in access.index() if e.stream == 0), key=lambda e: e.pts)
        if not gops or gops[0].pts != 0:
            return None  # no usable seek index: the caller decodes everything and cuts
        first = max((e for e in gops if e.pts <= start), key=lambda e: e.pts)
        needed = [e.offset for e in gops if first.pts <= e.pts < stop]
        chunks = (access.chunk_at(offset) for offset in needed)
        return self._decoded(fields, chunks, progress, skip=start - first.pts, count=stop - start)

    def _decoded(self, fields: dict[str, Any], chunks: Iterable[Chunk], progress: Progress | None,
                 skip: int = 0, count: int | None = None) -> Video:
        width = _av.header_field(fields, "width", int)
        height = _av.header_field(fields, "height", int)
        frames = _av.header_field(fields, "frames", int)
        fps = _av.header_field(fields, "fps", Fraction)
        if not width or not height or not frames or fps <= 0:
            raise CorruptFileError(f"corrupt header: impossible video {width}x{height}, {frames} frames at {fps} fps")
        extradata = _av.from_base64(fields.get("extradata"), "extradata")
        source = DecodedFrames(self.id, _av.pick_decoder(self.decoders), extradata, chunks,
                               frames if count is None else count, height, width, progress, skip=skip)
        return Video(source, fps=fps, pix_fmt=str(fields.get("source_pix_fmt", PIX_FMT)))


def _check_range(codec_id: str, name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise UsageError(f"codec {codec_id!r}: {name} must be in {low:g}..{high:g}, got {value:g}")


def _check_gop(codec_id: str, gop: int) -> None:
    if gop < 1:
        raise UsageError(f"codec {codec_id!r}: gop must be at least 1, got {gop}")


class X264(_FFmpegVideoCodec):
    id = "x264"
    version = 1
    description = "H.264 (ffmpeg libx264)"
    Config = X264Config
    encoder = "libx264"
    decoders = ("h264",)

    @classmethod
    def validate_config(cls, config: X264Config) -> None:
        _check_range(cls.id, "crf", config.crf, 0, 51)
        if config.preset not in X26X_PRESETS:
            raise UsageError(f"codec 'x264': preset must be one of {', '.join(X26X_PRESETS)}")
        _check_gop(cls.id, config.gop)

    def encoder_options(self) -> dict[str, str]:
        # Without a global header, x264 repeats SPS/PPS at every IDR, so each GOP decodes alone.
        return {"crf": f"{self.config.crf:g}", "preset": self.config.preset}


class X265(_FFmpegVideoCodec):
    id = "x265"
    version = 1
    description = "HEVC (ffmpeg libx265)"
    Config = X265Config
    encoder = "libx265"
    decoders = ("hevc",)
    min_size = 64  # libx265 refuses pictures under 16 and corrupted its heap on some small ones (32x48)

    @classmethod
    def validate_config(cls, config: X265Config) -> None:
        _check_range(cls.id, "crf", config.crf, 0, 51)
        if config.preset not in X26X_PRESETS:
            raise UsageError(f"codec 'x265': preset must be one of {', '.join(X26X_PRESETS)}")
        _check_gop(cls.id, config.gop)

    def encoder_options(self) -> dict[str, str]:
        # Closed GOPs and headers at every keyframe: each chunk decodes on its own.
        return {"crf": f"{self.config.crf:g}", "preset": self.config.preset,
                "x265-params": "log-level=error:open-gop=0:repeat-headers=1"}


class SVTAV1(_FFmpegVideoCodec):
    id = "svtav1"
    version = 1
    description = "AV1 (ffmpeg libsvtav1)"
    Config = SVTAV1Config
    encoder = "libsvtav1"
    decoders = ("libdav1d", "libaom-av1", "av1")
    min_size = 64  # SVT-AV1 refuses (below 4) or hangs on (e.g. 72x16) small pictures

    @classmethod
    def validate_config(cls, config: SVTAV1Config) -> None:
        _check_range(cls.id, "crf", config.crf, 1, 63)
        _check_range(cls.id, "preset", config.preset, 0, 13)
        _check_gop(cls.id, config.gop)

    def encoder_options(self) -> dict[str, str]:
        return {"crf": str(self.config.crf), "preset": str(self.config.preset)}

    def open_encoder(self, width: int, height: int, fps: Fraction) -> Any:
        # SVT-AV1 prints its whole configuration on stderr unless told otherwise (1: errors only).
        os.environ.setdefault("SVT_LOG", "1")
        return super().open_encoder(width, height, fps)


class VP9(_FFmpegVideoCodec):
    id = "vp9"
    version = 1
    description = "VP9 (ffmpeg libvpx-vp9)"
    Config = VP9Config
    encoder = "libvpx-vp9"
    decoders = ("vp9", "libvpx-vp9")

    @classmethod
    def validate_config(cls, config: VP9Config) -> None:
        _check_range(cls.id, "crf", config.crf, 0, 63)
        if config.deadline not in ("good", "best", "realtime"):
            raise UsageError("codec 'vp9': deadline must be good, best or realtime")
        _check_range(cls.id, "speed", config.speed, -8, 8)
        _check_gop(cls.id, config.gop)

    def encoder_options(self) -> dict[str, str]:
        # b=0 makes crf a constant-quality mode rather than a cap on a target bitrate.
        return {"crf": str(self.config.crf), "b": "0", "deadline": self.config.deadline,
                "cpu-used": str(self.config.speed), "row-mt": "1"}
