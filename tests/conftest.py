"""Shared fixtures: a tiny third-party codec installed through a real entry point."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN_MODULE = '''
"""A third-party codec used by the tests: raw pixels, zlib-compressed."""
import zlib
from dataclasses import dataclass

import numpy as np

from lcodec.codecs.base import Codec, Encoded
from lcodec.formats import Chunk
from lcodec.media import Image


@dataclass
class Config:
    level: int = 6


class RawImage(Codec):
    id = "rawimage"
    version = 1
    modality = "image"
    Config = Config
    chunk_types = frozenset({"PIXL"})
    description = "raw pixels + zlib (test plugin)"

    def encode(self, media, progress=None):
        pixels = np.ascontiguousarray(media.pixels)
        fields = {"shape": list(pixels.shape), "dtype": str(pixels.dtype)}
        return Encoded(fields, [Chunk("PIXL", zlib.compress(pixels.tobytes(), self.config.level))],
                       stats={"raw_bytes": pixels.nbytes})

    def decode(self, fields, chunks, progress=None):
        data = b"".join(zlib.decompress(c.payload) for c in chunks)
        return Image(np.frombuffer(data, dtype=fields["dtype"]).reshape(fields["shape"]).copy())
'''


def install_plugin(site: Path) -> Path:
    """Lay out the plugin as pip would install it: the module plus a ``*.dist-info`` with entry points."""
    info = site / "lcodec_rawimage-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "lcodec_rawimage.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lcodec-rawimage\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[lcodec.codecs]\nrawimage = lcodec_rawimage:RawImage\n")
    return site


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """The test plugin, importable and discoverable by ``lcodec.registry`` for this test."""
    from lcodec import registry

    site = install_plugin(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    registry._third_party.cache_clear()
    yield site
    registry._third_party.cache_clear()
    sys.modules.pop("lcodec_rawimage", None)
