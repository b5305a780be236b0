"""lcodec: a neural compression toolkit that writes real bitstreams.

The public API is loaded lazily, so ``import lcodec`` costs the standard library and nothing heavy::

    import lcodec
    blob = lcodec.encode("clip.mp4", codec="x264", crf=28)   # bytes of a .lc file
    video = lcodec.decode(blob)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "decode", "encode", "list_codecs", "probe"]

if TYPE_CHECKING:
    from lcodec.api import decode, encode, list_codecs, probe


def __getattr__(name: str) -> Any:
    if name in ("encode", "decode", "probe", "list_codecs"):
        from lcodec import api

        return getattr(api, name)
    raise AttributeError(f"module 'lcodec' has no attribute {name!r}")
