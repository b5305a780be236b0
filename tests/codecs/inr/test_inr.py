"""Video INR codecs (HNeRV, NeRV++): shared machinery, real bitstreams, exact decode."""
from __future__ import annotations

import math

import numpy as np
import pytest

import lcodec
from lcodec.codecs.inr import weights
from lcodec.codecs.inr.budget import Budget, cosine_lr, parse_duration
from lcodec.codecs.inr.codec import parse_size
from lcodec.codecs.inr.geometry import plan
from lcodec.codecs.inr.quant import quantize
from lcodec.errors import CorruptFileError, UsageError
from lcodec.eval.metrics import psnr
from lcodec.formats import Reader
from lcodec.media import Video

FAST = {"epochs": 4, "preset": "20k", "batch_size": 4}


def clip(frames: int = 6, height: int = 24, width: int = 32) -> Video:
    """A smooth moving pattern that small networks can fit."""
    t = np.arange(frames)[:, None, None]
    y = np.arange(height)[None, :, None]
    x = np.arange(width)[None, None, :]
    shape = (frames, height, width)
    channels = [(x * 6 + t * 4) % 256, (y * 7 + t * 3) % 256, (x + y) * 2 + 0 * t]
    return Video(np.stack([np.broadcast_to(c, shape) for c in channels], -1).astype(np.uint8), fps=24)


@pytest.mark.parametrize("height, width", [(720, 1280), (640, 1280), (144, 176), (1, 1), (37, 91), (1080, 1920)])
def test_geometry_covers_the_frame(height, width):
    g = plan(height, width)
    ph, pw = g.padded
    assert ph >= height and pw >= width and ph - height < g.scale and pw - width < g.scale
    assert all(s in (2, 3, 4, 5) for s in g.strides)


def test_geometry_matches_hnerv_bunny():
    """HNeRV's Bunny set-up: 640x1280 frames, strides 5,4,4,2,2 and a 2x4 embedding grid."""
    g = plan(640, 1280)
    assert g.strides == (5, 4, 4, 2, 2) and g.grid == (2, 4)
    assert plan(720, 1280).grid == (2, 4)


def test_quantize_error_is_half_a_step():
    values = np.random.default_rng(0).normal(size=(8, 3, 3, 3)).astype(np.float32)
    q = quantize(values, 6)
    assert q.levels.min() >= 0 and q.levels.max() <= 63
    error = np.abs(q.dequantize() - values).reshape(8, -1).max(axis=1)
    assert np.all(error <= q.step.astype(np.float32) * 0.5 + 1e-3)
    constant = quantize(np.full((2, 5), 3.25, np.float32), 8)
    assert np.allclose(constant.dequantize(), 3.25)


def test_weights_pack_round_trip_and_damage():
    rng = np.random.default_rng(1)
    tensors = [rng.normal(size=(16, 4, 3, 3)).astype(np.float32), rng.normal(size=16).astype(np.float32)]
    payload, restored = weights.pack(tensors, 8)
    back = weights.unpack(payload, [t.shape for t in tensors])
    for a, b in zip(back, restored, strict=True):
        assert np.array_equal(a, b)
    raw_bits = sum(t.size for t in tensors) * 8
    assert len(payload) * 8 < raw_bits * 1.2  # entropy-coded levels plus small per-channel ranges
    with pytest.raises(CorruptFileError):
        weights.unpack(payload, [(16, 4, 3, 3), (17,)])
    with pytest.raises(CorruptFileError):
        weights.unpack(payload[:-3], [t.shape for t in tensors])
    with pytest.raises(CorruptFileError):
        weights.unpack(payload + b"\0", [t.shape for t in tensors])


def test_budgets():
    assert parse_duration("90") == 90 and parse_duration("5m") == 300 and parse_duration("1h30m") == 5400
    for bad in ("", "abc", "5x", "0s"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert parse_size("1.5M") == 1_500_000 and parse_size("500k") == 500_000
    with pytest.raises(UsageError):
        parse_size("big")
    assert cosine_lr(1.0, 0.0) == pytest.approx(0.1)
    assert cosine_lr(1.0, 0.2) == pytest.approx(1.0) and cosine_lr(1.0, 1.0) == pytest.approx(0.0)
    budget = Budget(epochs=10)
    assert budget.fraction(5) == 0.5 and budget.done(10)


@pytest.mark.parametrize("codec", ["hnerv", "nervpp"])
def test_decode_reproduces_what_the_encoder_measured(codec):
    video = clip()
    blob = lcodec.encode(video, codec=codec, **{**FAST, "epochs": 40})
    info = lcodec.probe(blob)
    decoded = lcodec.decode(blob)
    assert decoded.frames.shape == video.frames.shape and decoded.fps == video.fps
    measured = psnr(video.frames, decoded.frames)
    assert info["stats"]["psnr"] == pytest.approx(measured, abs=1e-3)
    flat = np.broadcast_to(video.frames.mean(axis=(0, 1, 2)).round().astype(np.uint8), video.frames.shape)
    assert measured > psnr(video.frames, flat) + 1.5  # it learned the clip, not just its mean colour
    assert info["entropy"] == lcodec.entropy.FORMAT and info["stats"]["params"] > 0
    assert lcodec.decode(blob).frames.tobytes() == decoded.frames.tobytes()  # deterministic


def test_encoding_is_deterministic_for_a_seed():
    video = clip(frames=3)

    def coded(blob: bytes) -> list[bytes]:  # all but the encoder's timing statistics
        with Reader(blob) as reader:
            return [c.payload for c in reader.chunks() if c.type != "LSTA"]

    assert coded(lcodec.encode(video, codec="nervpp", **FAST)) == coded(lcodec.encode(video, codec="nervpp", **FAST))


def test_odd_sizes_single_frame_and_segments():
    one = clip(frames=1, height=17, width=23)
    out = lcodec.decode(lcodec.encode(one, codec="hnerv", **FAST))
    assert out.frames.shape == (1, 17, 23, 3)
    video = clip(frames=11)
    blob = lcodec.encode(video, codec="hnerv", segment_frames=5, **FAST)
    with Reader(blob) as reader:
        index = reader.index()
        types = [c.type for c in reader.chunks()]
    # 3 segments: WGHT + one EMBD per group of 8 frames each; every chunk is in the seek index.
    assert types == ["WGHT", "EMBD", "WGHT", "EMBD", "WGHT", "EMBD", "LSTA"]
    assert [e.pts for e in index] == [0, 0, 5, 5, 10, 10]
    assert lcodec.decode(blob).frames.shape == video.frames.shape


def test_prune_and_quantisation_aware_finetune():
    video = clip(frames=4)
    blob = lcodec.encode(video, codec="hnerv", prune=0.3, finetune_epochs=2, bits=6, embed_bits=6, **FAST)
    info = lcodec.probe(blob)
    assert info["codec"]["config"]["prune"] == 0.3
    assert info["stats"]["psnr"] == pytest.approx(psnr(video.frames, lcodec.decode(blob).frames), abs=1e-3)


def test_time_budget():
    blob = lcodec.encode(clip(frames=2), codec="nervpp", time_budget="1s", preset="20k")
    assert math.isfinite(lcodec.probe(blob)["stats"]["psnr"])


@pytest.mark.parametrize("options, message", [
    ({"preset": "huge"}, "preset"), ({"time_budget": "soon"}, "duration"), ({"bits": 1}, "bits"),
    ({"prune": 1.5}, "prune"), ({"embed_bits": 40}, "embed_bits"), ({"epochs": 0}, "epochs"),
])
def test_bad_options_are_usage_errors(options, message):
    with pytest.raises(UsageError, match=message):
        lcodec.encode(clip(frames=1), codec="hnerv", **options)


def test_damaged_weights_are_reported():
    blob = bytearray(lcodec.encode(clip(frames=2), codec="nervpp", **FAST))
    with Reader(bytes(blob)) as reader:
        chunk = next(reader.chunks())
    from lcodec.formats import Writer  # rewrite the chunk with garbage but a valid CRC
    import io
    out = io.BytesIO()
    with Reader(bytes(blob)) as reader, Writer(out, reader.meta) as writer:
        for c in reader.chunks():
            payload = c.payload[:10] + bytes(len(c.payload) - 10) if c.type == "WGHT" else c.payload
            writer.add(type(c)(c.type, payload, critical=c.critical, keyframe=c.keyframe))
    with pytest.raises(CorruptFileError):
        lcodec.decode(out.getvalue())
    assert chunk.type == "WGHT"


class CountingAccess:
    """Wraps a Reader to record which chunks a range decode reads."""

    def __init__(self, reader: Reader) -> None:
        self.reader, self.read = reader, []

    def index(self):
        return self.reader.index()

    def chunk_at(self, offset: int):
        chunk = self.reader.chunk_at(offset)
        self.read.append(chunk.type)
        return chunk


@pytest.mark.parametrize("codec, expected_reads", [("hnerv", ["WGHT", "EMBD"]), ("nervpp", ["WGHT"])])
def test_frame_range_reads_only_what_it_needs(codec, expected_reads):
    video = clip(frames=20)
    blob = lcodec.encode(video, codec=codec, segment_frames=10, **FAST)
    full = lcodec.decode(blob).frames
    part = lcodec.decode(blob, frames=(12, 15)).frames
    assert np.array_equal(part, full[12:15])
    assert np.array_equal(lcodec.decode(blob, frames=(7, None)).frames, full[7:])
    from lcodec import registry

    cls = registry.get(codec)
    with Reader(blob) as reader:
        access = CountingAccess(reader)
        out = cls(cls.make_config(reader.meta["codec"]["config"])).decode_range(reader.meta["fields"], access, 12, 15)
    assert np.array_equal(out.frames, full[12:15]) and access.read == expected_reads
    with pytest.raises(UsageError, match="outside"):
        lcodec.decode(blob, frames=(15, 25))
