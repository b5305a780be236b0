"""Entropy coding for every lcodec codec (see DESIGN.md §4).

The engine is C++ (``lcodec.entropy._core``); this package is its Python face.
"""
from __future__ import annotations

from lcodec.entropy._core import FORMAT

__all__ = ["FORMAT"]
