"""The pc codec end to end: exact round trips, the shipped models, bad input, damaged streams."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

import lcodec
from lcodec.codecs.pc import weights
from lcodec.codecs.pc.codec import PC, stack, unstack
from lcodec.errors import CorruptFileError, UnsupportedError
from lcodec.formats import Chunk
from lcodec.media import Image

from .helpers import random_tables, random_tree

pytestmark = pytest.mark.native


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    from lcodec.codecs.pc import data

    return data.load("digits")[0]


def roundtrip(pixels: np.ndarray, **options) -> tuple[np.ndarray, int]:
    blob = lcodec.encode(pixels, codec="pc", **options)
    return lcodec.decode(blob), len(blob)


def test_every_digit_round_trips_exactly(digits):
    strip = digits.reshape(-1, 8)
    out, size = roundtrip(strip)
    np.testing.assert_array_equal(out, strip)
    assert size * 8 / strip.size < 2.3  # the shipped model's rate, with container overhead


def test_single_image_and_odd_counts(digits):
    for n in (1, 2, 31, 33):
        strip = digits[:n].reshape(-1, 8)
        np.testing.assert_array_equal(roundtrip(strip)[0], strip)


def test_lfw_round_trips():
    from lcodec.codecs.pc import data

    faces = data.load("lfw")[0]
    strip = faces.reshape(-1, 25)
    np.testing.assert_array_equal(roundtrip(strip, model="lfw")[0], strip)


def test_chunks_of_images(digits, monkeypatch):
    monkeypatch.setattr("lcodec.codecs.pc.codec.IMAGES_PER_CHUNK", 7)
    strip = digits[:30].reshape(-1, 8)
    np.testing.assert_array_equal(roundtrip(strip)[0], strip)


def test_stack_and_unstack(digits):
    image = stack(digits[:5])
    assert image.pixels.shape == (40, 8, 1)
    np.testing.assert_array_equal(unstack(image, 8), digits[:5])


def test_bitstream_is_pinned(digits):
    # Any change to the kernel's arithmetic or the shipped model changes these bytes: bump PC.version.
    codec = PC()
    encoded = codec.encode(stack(digits[:50]))
    payload = b"".join(c.payload for c in encoded.chunks)
    assert hashlib.sha256(payload).hexdigest()[:16] == GOLDEN_DIGITS_50


GOLDEN_DIGITS_50 = "700fede0fa1251c1"


@pytest.mark.parametrize(("pixels", "message"), [
    (np.zeros((16, 9), np.uint8), r"8x8 stacked into \[N\*8, 8, 1\]; got shape \[16, 9, 1\]"),
    (np.zeros((12, 8), np.uint8), r"got shape \[12, 8, 1\]"),
    (np.zeros((8, 8), np.uint16), "got uint16"),
    (np.zeros((8, 8, 3), np.uint8), "3 channel"),
    (np.full((8, 8), 17, np.uint8), "values 0..16; the input holds 17"),
])
def test_bad_input_is_named(pixels, message):
    with pytest.raises(UnsupportedError, match=message):
        lcodec.encode(pixels, codec="pc")


def _encoded(pixels: np.ndarray, **config) -> tuple[PC, dict, list[Chunk]]:
    codec = PC(PC.make_config(config))
    encoded = codec.encode(Image(pixels))
    return codec, encoded.fields, list(encoded.chunks)


def test_damaged_stream_raises(digits):
    codec, fields, chunks = _encoded(digits[:40].reshape(-1, 8))
    payload = bytearray(chunks[0].payload)
    for where in (len(payload) // 2, len(payload) - 6, 20):
        bad = bytearray(payload)
        bad[where] ^= 0x10
        with pytest.raises(CorruptFileError):
            codec.decode(fields, iter([Chunk("DATA", bytes(bad))]))
    with pytest.raises(CorruptFileError):
        codec.decode(fields, iter([Chunk("DATA", bytes(payload[:-9]))]))
    with pytest.raises(CorruptFileError, match="expected 2624"):
        codec.decode({**fields, "images": 41}, iter(chunks))
    with pytest.raises(CorruptFileError, match="truncated"):
        codec.decode(fields, iter([]))


def test_other_weights_are_refused(tmp_path, digits):
    codec, fields, chunks = _encoded(digits[:4].reshape(-1, 8))
    with pytest.raises(UnsupportedError, match="sha256"):
        codec.decode({**fields, "weights_sha256": "0" * 64}, iter(chunks))


def test_user_model_file(tmp_path):
    order, parent = random_tree(12, seed=1)
    tables = random_tables(parent, states=3, values=256, seed=0)
    path = tmp_path / "mine.safetensors"
    sha = weights.save(path, tables, order, 3, 4, 256)
    pixels = np.random.default_rng(0).integers(0, 256, (30, 4), dtype=np.uint8)
    blob = lcodec.encode(pixels, codec="pc", model=str(path))
    info = lcodec.probe(blob)
    assert info["weights"] == {"id": "mine", "sha256": sha}
    np.testing.assert_array_equal(lcodec.decode(blob), pixels)
    weights.save(path, random_tables(parent, states=3, values=256, seed=1), order, 3, 4, 256)
    with pytest.raises(UnsupportedError, match="sha256"):
        lcodec.decode(blob)


def test_coding_imports_no_torch():
    code = ("import sys, numpy as np, lcodec\n"
            "blob = lcodec.encode(np.zeros((16, 8), np.uint8), codec='pc')\n"
            "assert (lcodec.decode(blob) == 0).all()\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
