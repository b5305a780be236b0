"""One registry: lazy built-ins, third-party codecs through the `lcodec.codecs` entry-point group."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import lcodec
from lcodec import registry
from lcodec.errors import UnsupportedError, UsageError


def test_builtins_are_listed_without_importing_them():
    code = ("import sys, lcodec; ids = [c['id'] for c in lcodec.list_codecs()]; "
            "assert 'x264' in ids and 'png' in ids, ids; "
            "assert not [m for m in sys.modules if m.startswith(('lcodec.codecs.classic', 'torch', 'av'))]")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_codec_names_the_id():
    with pytest.raises(UnsupportedError, match="unknown codec 'nope'"):
        registry.get("nope")
    with pytest.raises(UsageError, match="unknown codec 'nope'"):
        lcodec.encode(np.zeros((4, 4, 3), np.uint8), codec="nope")


def test_entry_point_plugin_round_trip(plugin_site):
    assert "rawimage" in [c["id"] for c in lcodec.list_codecs()]
    pixels = np.random.default_rng(0).integers(0, 256, (17, 9, 3), dtype=np.uint8)
    blob = lcodec.encode(pixels, codec="rawimage", level=9)
    out = lcodec.decode(blob)
    assert isinstance(out, np.ndarray) and np.array_equal(out, pixels)
    info = lcodec.probe(blob)
    assert info["codec"] == {"id": "rawimage", "version": 1, "config": {"level": 9}, "known": True}
    assert info["stats"]["raw_bytes"] == pixels.nbytes
    assert info["bpp"] == pytest.approx(8 * len(blob) / (17 * 9))


def test_plugin_options_are_checked(plugin_site):
    with pytest.raises(UsageError, match="no option quality"):
        lcodec.encode(np.zeros((4, 4, 3), np.uint8), codec="rawimage", quality=3)
    with pytest.raises(UsageError, match="not a int"):
        lcodec.encode(np.zeros((4, 4, 3), np.uint8), codec="rawimage", level="high")


def test_arrays_keep_their_kind(plugin_site):
    gray = np.arange(12, dtype=np.uint16).reshape(3, 4)
    assert np.array_equal(lcodec.decode(lcodec.encode(gray, codec="rawimage")), gray)
    torch = pytest.importorskip("torch")
    tensor = torch.arange(24, dtype=torch.uint8).reshape(2, 4, 3)
    out = lcodec.decode(lcodec.encode(tensor, codec="rawimage"))
    assert isinstance(out, torch.Tensor) and torch.equal(out, tensor)


def test_config_values_are_coerced_to_the_option_types():
    from lcodec.codecs.classic.image import WebP

    assert WebP.make_config({"lossless": "false"}).lossless is False
    assert WebP.make_config({"lossless": "true", "quality": "70"}).lossless is True
    assert WebP.make_config({"quality": "70"}).quality == 70
    with pytest.raises(UsageError, match="not a bool"):
        WebP.make_config({"lossless": "maybe"})


def test_decode_refuses_other_weights(plugin_site):
    """A file names its weights by id + sha256; a codec holding other weights must refuse it."""
    import lcodec_rawimage

    from lcodec.formats import Reader, Writer

    blob = lcodec.encode(np.zeros((4, 4, 3), np.uint8), codec="rawimage")
    with Reader(blob) as reader:
        meta, chunks = reader.meta, list(reader.chunks())
    import io

    out = io.BytesIO()
    with Writer(out, {**meta, "weights": {"id": "raw-v2", "sha256": "ab" * 32}}) as writer:
        for chunk in chunks:
            writer.add(type(chunk)(chunk.type, chunk.payload, critical=chunk.critical))
    with pytest.raises(UnsupportedError, match="needs weights raw-v2"):
        lcodec.decode(out.getvalue())
    assert lcodec_rawimage.RawImage().weights_info() is None
