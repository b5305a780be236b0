"""Shared fixtures for the classic codec tests: synthetic media and a full .lc round trip."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from lcodec.codecs.base import Codec, Encoded
from lcodec.formats import STATS_TYPE, Chunk, Reader, Writer
from lcodec.media import Media


@dataclass
class RoundTrip:
    encoded: Encoded
    blob: bytes          # the whole .lc file
    chunks: list[Chunk]  # as the reader returned them
    index: list[Any]
    decoded: Media


def lc_roundtrip(codec: Codec, media: Media) -> RoundTrip:
    """Codec.encode -> formats.Writer -> formats.Reader -> Codec.decode, as the API wires them."""
    encoded = codec.encode(media)
    buffer = io.BytesIO()
    meta = {"codec": codec.id, "version": codec.version, "config": codec.config_dict(), "fields": encoded.fields}
    with Writer(buffer, meta) as writer:
        for chunk in encoded.chunks:
            writer.add(chunk)
    blob = buffer.getvalue()
    with Reader(blob) as reader:
        fields = reader.meta["fields"]
        chunks = [c for c in reader.chunks() if c.type != STATS_TYPE]
        index = reader.index()
    decoded = codec.decode(fields, iter(chunks))
    if decoded.modality == "video":
        decoded.frames = decoded.to_array()
    return RoundTrip(encoded, blob, chunks, index, decoded)


def psnr(reference: np.ndarray, test: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB over all samples of two equally shaped arrays (inf when identical)."""
    mse = np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(peak ** 2 / mse))


def textured_image(height: int = 48, width: int = 64, channels: int = 3, seed: int = 0) -> np.ndarray:
    """uint8 [H, W, C]: gradients plus mild noise, so lossy codecs neither ace nor wreck it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    planes = [xx * 255 / width, yy * 255 / height, (xx + yy) * 127 / (width + height) + 64,
              128 + 100 * np.sin(xx / 5.0) * np.cos(yy / 7.0)]
    image = np.stack(planes[:channels], axis=-1) + rng.normal(0, 6, (height, width, channels))
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def moving_clip(frames: int = 8, height: int = 64, width: int = 80) -> np.ndarray:
    """uint8 [T, H, W, 3]: a textured image panning right, the kind of motion codecs predict."""
    wide = textured_image(height, width + 2 * frames, 3, seed=1)
    return np.stack([wide[:, 2 * t:2 * t + width] for t in range(frames)])


def pcm16_tones(channels: int = 2, rate: int = 44100, seconds: float = 0.5) -> np.ndarray:
    """float32 [C, N] tone bursts, quantised to 16 bits (as if read from a PCM_16 file)."""
    t = np.arange(int(rate * seconds)) / rate
    envelope = np.exp(-((t - seconds / 2) / (seconds / 4)) ** 2)
    tones = np.stack([0.3 * np.sin(2 * np.pi * (220 * (c + 1)) * t) * envelope for c in range(channels)])
    return (np.round(tones * 32768) / 32768).astype(np.float32)


@pytest.fixture
def roundtrip():
    return lc_roundtrip


@pytest.fixture
def measure_psnr():
    return psnr


@pytest.fixture
def make_image():
    return textured_image


@pytest.fixture
def make_clip():
    return moving_clip


@pytest.fixture
def make_tones():
    return pcm16_tones
