"""The bitstream and codec skeleton shared by the video INR codecs.

A video is cut into segments of at most ``segment_frames`` frames (so memory stays bounded on
long clips); each segment gets its own fitted network. Per segment the stream holds::

    WGHT  the quantised, entropy-coded decoder weights         (keyframe, indexed by first frame)
    EMBD  per-frame latents of up to GOP_FRAMES frames, if any (indexed by first frame)

The encoder measures quality by running the very decoder code on the very payloads it writes, so
the PSNR stored in the file is what decoding reproduces.
"""
from __future__ import annotations

import math
import re
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from lcodec.codecs.base import ChunkAccess, Codec, Encoded, Progress
from lcodec.codecs.inr.budget import Budget, parse_duration
from lcodec.codecs.inr.geometry import Geometry, plan
from lcodec.errors import CorruptFileError, UsageError
from lcodec.eval.metrics import RunningPSNR
from lcodec.formats import Chunk
from lcodec.media import Video

GOP_FRAMES = 8
# Parameter budgets of the presets (decoder weights plus transmitted latents), after HNeRV's model sizes.
PRESETS = {"0.35M": 350_000, "0.75M": 750_000, "1.5M": 1_500_000, "3M": 3_000_000}


def parse_size(text: str) -> int:
    """A parameter budget: a preset name ("1.5M") or a count ("500k", "120000")."""
    if text in PRESETS:
        return PRESETS[text]
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not match:
        raise UsageError(f"preset must be one of {', '.join(PRESETS)} or a parameter count like 500k, got {text!r}")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


@dataclass
class INRConfig:
    """Options every video INR codec has (the codecs extend it).

    Fitting stops after ``epochs`` or ``time_budget`` (e.g. "3m"; "" for none), whichever comes
    first. The default keeps a small clip to a few minutes on a 2-core CPU; on a GPU, or for the
    quality of the papers (300+ epochs), raise or clear the time budget.
    """

    preset: str = "0.35M"
    epochs: int = 300
    time_budget: str = "3m"
    bits: int = 8
    lr: float = 1e-3
    batch_size: int = 2
    prune: float = 0.0
    finetune_epochs: int = 0
    segment_frames: int = 600
    seed: int = 0


class SegmentDecoder:
    """Turns one segment's payloads into frames; built from the segment's WGHT payload."""

    @abstractmethod
    def frames(self, first: int, count: int, latents: bytes | None) -> np.ndarray:
        """uint8 frames [count, H, W, 3] for frame indices ``first .. first + count - 1`` of the segment."""


class VideoINRCodec(Codec):
    """Base of HNeRV and NeRV++: segmenting, budgets, measuring, chunk layout, lazy decoding."""

    modality = "video"
    chunk_types = frozenset({"WGHT", "EMBD"})
    uses_latents: bool = True

    @property
    def entropy_format(self) -> str:  # type: ignore[override]
        from lcodec import entropy

        return entropy.FORMAT

    @classmethod
    def validate_config(cls, config: INRConfig) -> None:
        parse_size(config.preset)
        if config.time_budget:
            try:
                parse_duration(config.time_budget)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        if config.epochs < 1:
            raise UsageError("epochs must be at least 1")
        if not 2 <= config.bits <= 16:
            raise UsageError(f"bits must be in 2..16, got {config.bits}")
        if not 0 <= config.prune < 1:
            raise UsageError(f"prune must be a fraction in [0, 1), got {config.prune}")
        if config.segment_frames < 1 or config.batch_size < 1 or config.lr <= 0:
            raise UsageError("segment_frames, batch_size and lr must be positive")

    def budget(self) -> Budget:
        """Fit for ``epochs``, or for ``time_budget`` if that comes first (per segment)."""
        seconds = parse_duration(self.config.time_budget) if self.config.time_budget else None
        return Budget(epochs=self.config.epochs, seconds=seconds)

    # --- what each codec implements -------------------------------------------------------------

    @abstractmethod
    def fit_segment(self, frames: np.ndarray, geometry: Geometry, progress: Progress | None,
                    label: str) -> tuple[bytes, list[bytes], dict[str, Any]]:
        """Fit frames uint8 [T, H, W, 3]; return the WGHT payload, one latent payload per GOP
        (empty when the codec has none) and statistics (e.g. ``params``)."""

    @abstractmethod
    def segment_decoder(self, fields: dict[str, Any], weights: bytes, count: int) -> SegmentDecoder:
        """The decoder of one segment of ``count`` frames from its WGHT payload."""

    # --- shared -----------------------------------------------------------------------------------

    def encode(self, media: Video, progress: Progress | None = None) -> Encoded:
        geometry = plan(media.height, media.width)
        fields = {"height": media.height, "width": media.width, "frames": media.num_frames,
                  "fps": str(media.fps), "pix_fmt": media.pix_fmt, "strides": list(geometry.strides),
                  "segment_frames": self.config.segment_frames, "gop_frames": GOP_FRAMES}
        stats: dict[str, Any] = {}
        return Encoded(fields, self._encode_chunks(media, fields, geometry, progress, stats), stats)

    def _encode_chunks(self, media: Video, fields: dict[str, Any], geometry: Geometry,
                       progress: Progress | None, stats: dict[str, Any]) -> Iterator[Chunk]:
        measured = RunningPSNR()
        params = 0
        segments = math.ceil(media.num_frames / self.config.segment_frames)
        for segment, (first, frames) in enumerate(_segments(media.iter_frames(), self.config.segment_frames)):
            label = f"{self.id} {segment + 1}/{segments}" if segments > 1 else self.id
            weights, latents, seg_stats = self.fit_segment(frames, geometry, progress, label)
            params += seg_stats.get("params", 0)
            yield Chunk("WGHT", weights, keyframe=True, pts=first, group=segment)
            for g, payload in enumerate(latents):
                yield Chunk("EMBD", payload, pts=first + g * GOP_FRAMES, group=segment)
            decoder = self.segment_decoder(fields, weights, len(frames))
            for g, start in enumerate(range(0, len(frames), GOP_FRAMES)):
                count = min(GOP_FRAMES, len(frames) - start)
                decoded = decoder.frames(start, count, latents[g] if self.uses_latents else None)
                measured.add(frames[start:start + count], decoded)
        stats.update({"psnr": round(measured.value, 4), "params": params, "segments": segments})

    def decode(self, fields: dict[str, Any], chunks: Iterator[Chunk], progress: Progress | None = None) -> Video:
        return Video(_LazyFrames(self, fields, chunks, progress), Fraction(fields["fps"]), fields.get("pix_fmt", "rgb24"))

    def decode_frames(self, fields: dict[str, Any], chunks: Iterator[Chunk],
                      progress: Progress | None) -> Iterator[np.ndarray]:
        total, per_segment = int(fields["frames"]), int(fields["segment_frames"])
        done = 0
        for first in range(0, total, per_segment):
            count = min(per_segment, total - first)
            weights = _expect(chunks, "WGHT", first)
            decoder = self.segment_decoder(fields, weights.payload, count)
            for start in range(0, count, GOP_FRAMES):
                n = min(GOP_FRAMES, count - start)
                latents = _expect(chunks, "EMBD", first + start).payload if self.uses_latents else None
                yield from decoder.frames(start, n, latents)
                done += n
                if progress is not None:
                    progress(done, total, f"{self.id} decode")


    def decode_range(self, fields: dict[str, Any], access: ChunkAccess, start: int, stop: int,
                     progress: Progress | None = None) -> Video:
        """Frames ``start .. stop - 1`` read through the seek index: one WGHT chunk per segment
        touched, and only the GOPs (and their EMBD chunks) that overlap the range."""
        frames = list(self._range_frames(fields, access, start, stop))
        return Video(np.stack(frames), Fraction(fields["fps"]), fields.get("pix_fmt", "rgb24"))

    def _range_frames(self, fields: dict[str, Any], access: ChunkAccess, start: int, stop: int) -> Iterator[np.ndarray]:
        total, per_segment = int(fields["frames"]), int(fields["segment_frames"])
        by_pts: dict[int, list[int]] = {}
        for entry in access.index():
            by_pts.setdefault(entry.pts, []).append(entry.offset)

        def chunk(kind: str, pts: int) -> Chunk:
            # A segment's WGHT and its first EMBD share a pts; WGHT comes first in the file.
            offsets = by_pts.get(pts, [])
            found = access.chunk_at(offsets[0] if kind == "WGHT" else offsets[-1]) if offsets else None
            if found is None or found.type != kind:
                raise CorruptFileError(f"seek index has no {kind} chunk for frame {pts}")
            return found

        for first in range(start - start % per_segment, stop, per_segment):
            count = min(per_segment, total - first)
            decoder = self.segment_decoder(fields, chunk("WGHT", first).payload, count)
            lo, hi = max(start, first) - first, min(stop, first + count) - first
            # Whole GOPs, batched as the full decode batches them: a network's float results may
            # depend on the batch, and a range must decode to exactly the frames of a full decode.
            for gop in range(lo - lo % GOP_FRAMES, hi, GOP_FRAMES):
                n = min(GOP_FRAMES, count - gop)
                latents = chunk("EMBD", first + gop).payload if self.uses_latents else None
                yield from decoder.frames(gop, n, latents)[max(lo - gop, 0):min(hi - gop, n)]


def _expect(chunks: Iterator[Chunk], kind: str, frame: int) -> Chunk:
    chunk = next(chunks, None)
    if chunk is None or chunk.type != kind:
        found = "end of file" if chunk is None else f"chunk #{chunk.seq} of type {chunk.type}"
        raise CorruptFileError(f"expected a {kind} chunk for frame {frame}, found {found}")
    return chunk


def _segments(frames: Iterator[np.ndarray], size: int) -> Iterator[tuple[int, np.ndarray]]:
    """Group a frame iterator into uint8 [T, H, W, 3] arrays of at most ``size`` frames."""
    batch: list[np.ndarray] = []
    first = 0
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield first, np.stack(batch)
            first += len(batch)
            batch = []
    if batch:
        yield first, np.stack(batch)


class _LazyFrames:
    """A FrameSource over a codec's chunk iterator: frames are decoded as they are read."""

    def __init__(self, codec: VideoINRCodec, fields: dict[str, Any], chunks: Iterator[Chunk],
                 progress: Progress | None) -> None:
        self._iter = codec.decode_frames(fields, chunks, progress)
        self.num_frames, self.height, self.width = int(fields["frames"]), int(fields["height"]), int(fields["width"])

    def __iter__(self) -> Iterator[np.ndarray]:
        return self._iter
