"""Classic still-image codecs through pillow: PNG, JPEG, WebP and AVIF, the RD baselines.

The payload of the single ``DATA`` chunk is exactly the file pillow writes (for 16-bit colour or
alpha PNG, which pillow cannot hold, the file ffmpeg's PNG encoder writes), so a payload can be
saved with the format's extension and opened by any viewer. Formats that change the channel count
(WebP stores gray as RGB, gray+alpha as RGBA) are mapped back to the source's channels on decode.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from lcodec.codecs.base import Codec, Encoded, Progress
from lcodec.errors import CodecUnavailableError, CorruptFileError, UnsupportedError, UsageError
from lcodec.formats import Chunk
from lcodec.media import Image, Media, decode_image_bytes, encode_image_bytes

CHUNK_TYPE = "DATA"
JPEG_SUBSAMPLING = ("4:4:4", "4:2:2", "4:2:0")
AVIF_SUBSAMPLING = ("4:4:4", "4:2:2", "4:2:0", "4:0:0")


@dataclass
class PNGConfig:
    """``compress_level``: zlib level, 0 (none) .. 9 (smallest); lossless at every level."""

    compress_level: int = 6


@dataclass
class JPEGConfig:
    """``quality``: 1 .. 100 (pillow's scale, 95 is near-transparent); ``subsampling``: chroma
    subsampling, 4:4:4 | 4:2:2 | 4:2:0."""

    quality: int = 75
    subsampling: str = "4:2:0"


@dataclass
class WebPConfig:
    """``quality``: 0 .. 100 (lossy), or effort when ``lossless``; ``method``: 0 (fast) .. 6 (small)."""

    quality: int = 80
    lossless: bool = False
    method: int = 4


@dataclass
class AVIFConfig:
    """``quality``: 0 .. 100 (libavif's scale; 100 is lossless with 4:4:4); ``speed``: 0 (slow) ..
    10 (fast); ``subsampling``: 4:4:4 | 4:2:2 | 4:2:0 | 4:0:0."""

    quality: int = 75
    speed: int = 6
    subsampling: str = "4:2:0"


def _gray(pixels: np.ndarray) -> np.ndarray:
    """RGB(A) uint8 [H, W, 3|4] -> luma [H, W, 1] with the BT.601 weights pillow uses for 'L'."""
    rgb = pixels[:, :, :3].astype(np.float64)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    return np.clip(np.round(luma), 0, 255).astype(np.uint8)[:, :, None]


def restore_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """Map decoded [H, W, C'] back to the source's ``channels`` (gray stored as RGB, LA as RGBA)."""
    have = pixels.shape[2]
    if have == channels:
        return pixels
    colour = pixels[:, :, :3] if have >= 3 else np.repeat(pixels[:, :, :1], 3, axis=2)
    alpha = pixels[:, :, have - 1:] if have in (2, 4) else np.full(pixels.shape[:2] + (1,), 255, pixels.dtype)
    if channels == 1:
        return _gray(colour) if have >= 3 else pixels[:, :, :1]
    if channels == 2:
        return np.concatenate([_gray(colour) if have >= 3 else pixels[:, :, :1], alpha], axis=2)
    if channels == 3:
        return np.ascontiguousarray(colour)
    return np.concatenate([colour, alpha], axis=2)


class _PillowCodec(Codec):
    """Shared encode/decode; subclasses name the pillow format and map ``Config`` to save options."""

    modality = "image"
    extension = ".png"  # decoded pixels are written losslessly, whatever the codec
    chunk_types = frozenset({CHUNK_TYPE})
    pillow_format: ClassVar[str]
    pillow_feature: ClassVar[str | None] = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            from PIL import features
        except ImportError:
            return "pillow is not installed"
        if cls.pillow_feature and not features.check(cls.pillow_feature):
            return f"this pillow build has no {cls.pillow_format} support (pillow >= 11.3 wheels carry it)"
        return None

    def save_options(self) -> dict[str, Any]:
        """pillow ``Image.save`` keyword arguments, from ``self.config``."""
        raise NotImplementedError

    def check_image(self, image: Image) -> None:
        """Raise :class:`UnsupportedError` for images this format cannot store."""

    def encode(self, media: Media, progress: Progress | None = None) -> Encoded:
        if not isinstance(media, Image):
            raise UsageError(f"codec {self.id!r} encodes images, got {media.modality}")
        reason = self.unavailable_reason()
        if reason:
            raise CodecUnavailableError(f"codec {self.id!r} is unavailable: {reason}")
        self.check_image(media)
        payload = encode_image_bytes(media, self.pillow_format, **self.save_options())
        if progress:
            progress(1, 1, "image")
        fields = {"width": media.width, "height": media.height, "channels": media.channels,
                  "bit_depth": media.bit_depth, "format": self.pillow_format}
        return Encoded(fields, iter([Chunk(CHUNK_TYPE, payload)]))

    def decode(self, fields: dict[str, Any], chunks: Iterator[Chunk], progress: Progress | None = None) -> Image:
        try:
            width, height = int(fields["width"]), int(fields["height"])
            channels, bit_depth = int(fields["channels"]), int(fields["bit_depth"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptFileError(f"corrupt header: image fields missing or malformed ({exc})") from exc
        payload = None
        for chunk in chunks:
            if chunk.type == CHUNK_TYPE:
                if payload is not None:
                    raise CorruptFileError(f"corrupt file: a second {CHUNK_TYPE} chunk (#{chunk.seq}) in an image")
                payload = chunk.payload
            elif chunk.critical:
                raise UnsupportedError(f"codec {self.id!r} cannot read critical chunk {chunk.type!r} (#{chunk.seq})")
        if payload is None:
            raise CorruptFileError(f"corrupt file: no {CHUNK_TYPE} chunk")
        try:
            decoded = decode_image_bytes(payload)
        except UnsupportedError as exc:
            raise CorruptFileError(f"corrupt {self.id} payload: {exc}") from exc
        pixels = decoded.pixels
        if pixels.shape[:2] != (height, width) or decoded.bit_depth != bit_depth or not 1 <= channels <= 4:
            raise CorruptFileError(f"{self.id} payload decodes to {pixels.shape[1]}x{pixels.shape[0]} "
                                   f"{decoded.bit_depth}-bit, the header says {width}x{height} {bit_depth}-bit")
        if progress:
            progress(1, 1, "image")
        return Image(restore_channels(pixels, channels), meta={"format": self.pillow_format})


def _check_range(codec_id: str, name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise UsageError(f"codec {codec_id!r}: {name} must be in {low}..{high}, got {value}")


def _require_8bit(codec_id: str, image: Image) -> None:
    if image.bit_depth != 8:
        raise UnsupportedError(f"codec {codec_id!r} stores 8-bit images only, got {image.bit_depth}-bit (use png)")


class PNG(_PillowCodec):
    id = "png"
    version = 1
    description = "PNG (lossless, pillow)"
    Config = PNGConfig
    pillow_format = "PNG"

    @classmethod
    def validate_config(cls, config: PNGConfig) -> None:
        _check_range(cls.id, "compress_level", config.compress_level, 0, 9)

    def save_options(self) -> dict[str, Any]:
        return {"compress_level": self.config.compress_level}


class JPEG(_PillowCodec):
    id = "jpeg"
    version = 1
    description = "JPEG (pillow / libjpeg)"
    Config = JPEGConfig
    pillow_format = "JPEG"

    @classmethod
    def validate_config(cls, config: JPEGConfig) -> None:
        _check_range(cls.id, "quality", config.quality, 1, 100)
        if config.subsampling not in JPEG_SUBSAMPLING:
            raise UsageError(f"codec 'jpeg': subsampling must be one of {', '.join(JPEG_SUBSAMPLING)}")

    def check_image(self, image: Image) -> None:
        _require_8bit(self.id, image)
        if image.channels in (2, 4):
            raise UnsupportedError("codec 'jpeg' has no alpha channel (use png, webp or avif)")

    def save_options(self) -> dict[str, Any]:
        return {"quality": self.config.quality, "subsampling": self.config.subsampling}


class WebP(_PillowCodec):
    id = "webp"
    version = 1
    description = "WebP (pillow / libwebp)"
    Config = WebPConfig
    pillow_format = "WEBP"
    pillow_feature = "webp"

    @classmethod
    def validate_config(cls, config: WebPConfig) -> None:
        _check_range(cls.id, "quality", config.quality, 0, 100)
        _check_range(cls.id, "method", config.method, 0, 6)

    def check_image(self, image: Image) -> None:
        _require_8bit(self.id, image)

    def save_options(self) -> dict[str, Any]:
        # "exact" keeps colour under transparent pixels, so lossless WebP is lossless for RGBA too.
        return {"quality": self.config.quality, "lossless": self.config.lossless, "method": self.config.method,
                "exact": self.config.lossless}


class AVIF(_PillowCodec):
    id = "avif"
    version = 1
    description = "AVIF (pillow / libavif)"
    Config = AVIFConfig
    pillow_format = "AVIF"
    pillow_feature = "avif"

    @classmethod
    def validate_config(cls, config: AVIFConfig) -> None:
        _check_range(cls.id, "quality", config.quality, 0, 100)
        _check_range(cls.id, "speed", config.speed, 0, 10)
        if config.subsampling not in AVIF_SUBSAMPLING:
            raise UsageError(f"codec 'avif': subsampling must be one of {', '.join(AVIF_SUBSAMPLING)}")

    def check_image(self, image: Image) -> None:
        _require_8bit(self.id, image)

    def save_options(self) -> dict[str, Any]:
        # One encoder thread: libavif's output must not depend on the machine's core count.
        return {"quality": self.config.quality, "speed": self.config.speed,
                "subsampling": self.config.subsampling, "max_threads": 1}
