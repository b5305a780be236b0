"""Media objects every codec consumes and produces, and reading/writing them from files.

Why dataclasses around plain arrays: codecs need the metadata a round trip needs (fps, sample
rate, bit depth, pixel format) next to the samples, and the API must hand back the same kind of
object it was given. Arrays are numpy; the API converts torch tensors at its boundary.

Shapes:
    Image.pixels   uint8 | uint16 [H, W, C], C in {1, 2, 3, 4} (gray, gray+alpha, RGB, RGBA)
    Video.frames   uint8 [T, H, W, 3] RGB, or a lazy :class:`FrameSource` yielding [H, W, 3] frames
    Audio.samples  float32 [C, N] in [-1, 1]
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, Union

import numpy as np

IMAGE_CHANNELS = {1: "gray", 2: "gray+alpha", 3: "rgb", 4: "rgba"}


class FrameSource(Protocol):
    """A lazily decoded clip: streaming codecs iterate it once without holding every frame."""

    num_frames: int
    height: int
    width: int

    def __iter__(self) -> Iterator[np.ndarray]: ...


@dataclass
class Image:
    """A still image. ``meta`` keeps source details a round trip needs (e.g. ``{"format": "PNG"}``)."""

    pixels: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    modality = "image"

    def __post_init__(self) -> None:
        if self.pixels.ndim == 2:
            self.pixels = self.pixels[:, :, None]
        if self.pixels.ndim != 3 or self.pixels.shape[2] not in IMAGE_CHANNELS:
            raise ValueError(f"image pixels must be [H, W, C] with C in 1..4, got shape {self.pixels.shape}")
        if self.pixels.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"image pixels must be uint8 or uint16, got {self.pixels.dtype}")

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def num_pixels(self) -> int:
        return self.height * self.width

    def describe(self) -> dict[str, Any]:
        return {"kind": "image", "height": self.height, "width": self.width, "channels": self.channels,
                "bit_depth": self.bit_depth, **self.meta}


@dataclass
class Video:
    """A clip of RGB frames at ``fps``; ``pix_fmt`` is the source's pixel format (kept for output)."""

    frames: Union[np.ndarray, FrameSource]
    fps: Fraction = Fraction(25)
    pix_fmt: str = "rgb24"
    meta: dict[str, Any] = field(default_factory=dict)
    modality = "video"

    def __post_init__(self) -> None:
        self.fps = Fraction(self.fps).limit_denominator(1_000_000)
        if isinstance(self.frames, np.ndarray):
            if self.frames.ndim != 4 or self.frames.shape[3] != 3 or self.frames.dtype != np.uint8:
                raise ValueError(f"video frames must be uint8 [T, H, W, 3], got {self.frames.dtype} {self.frames.shape}")
            if self.frames.shape[0] == 0:
                raise ValueError("video has no frames")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")

    @property
    def num_frames(self) -> int:
        f = self.frames
        return int(f.shape[0]) if isinstance(f, np.ndarray) else int(f.num_frames)

    @property
    def height(self) -> int:
        f = self.frames
        return int(f.shape[1]) if isinstance(f, np.ndarray) else int(f.height)

    @property
    def width(self) -> int:
        f = self.frames
        return int(f.shape[2]) if isinstance(f, np.ndarray) else int(f.width)

    @property
    def num_pixels(self) -> int:
        return self.num_frames * self.height * self.width

    def iter_frames(self) -> Iterator[np.ndarray]:
        """Yield uint8 [H, W, 3] frames in order, decoding lazily when the source is a reader."""
        yield from iter(self.frames)

    def to_array(self) -> np.ndarray:
        """All frames as one uint8 [T, H, W, 3] array (materialises a lazy source)."""
        if isinstance(self.frames, np.ndarray):
            return self.frames
        return np.stack(list(self.iter_frames()))

    def describe(self) -> dict[str, Any]:
        return {"kind": "video", "frames": self.num_frames, "height": self.height, "width": self.width,
                "fps": str(self.fps), "pix_fmt": self.pix_fmt, **self.meta}


@dataclass
class Audio:
    """Float32 samples [C, N] at ``sample_rate``; ``subtype`` is the source sample format (e.g. PCM_16)."""

    samples: np.ndarray
    sample_rate: int
    subtype: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    modality = "audio"

    def __post_init__(self) -> None:
        if self.samples.ndim == 1:
            self.samples = self.samples[None, :]
        if self.samples.ndim != 2:
            raise ValueError(f"audio samples must be [C, N], got shape {self.samples.shape}")
        self.samples = np.ascontiguousarray(self.samples, dtype=np.float32)
        if self.sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, got {self.sample_rate}")

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate

    def describe(self) -> dict[str, Any]:
        return {"kind": "audio", "channels": self.channels, "samples": self.num_samples,
                "sample_rate": self.sample_rate, "subtype": self.subtype, **self.meta}


Media = Union[Image, Video, Audio]
