"""One registry of codecs: built-ins as lazy ``"module:Class"`` strings, third parties by entry point.

Why strings: importing a codec may import torch or ffmpeg bindings; ``lcodec list``, ``info`` and
``--help`` must not pay for that. Built-ins carry their modality and description here so listing
imports nothing. Third-party packages register in the ``lcodec.codecs`` entry-point group::

    [project.entry-points."lcodec.codecs"]
    mycodec = "mypkg.codec:MyCodec"
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from lcodec.errors import CodecUnavailableError, UnsupportedError

if TYPE_CHECKING:
    from lcodec.codecs.base import Codec

ENTRY_POINT_GROUP = "lcodec.codecs"
# The codec `lcodec encode` uses for each modality when none is given.
DEFAULT_CODECS = {"video": "hnerv", "image": "png", "audio": "flac"}
DEFAULT_VIDEO_CODEC = DEFAULT_CODECS["video"]


@dataclass(frozen=True)
class CodecEntry:
    id: str
    target: str  # "package.module:Class"
    modality: str
    description: str
    builtin: bool = True


_CLASSIC = "lcodec.codecs.classic"
BUILTINS: dict[str, CodecEntry] = {e.id: e for e in [
    CodecEntry("png", f"{_CLASSIC}.image:PNG", "image", "PNG (lossless, pillow)"),
    CodecEntry("jpeg", f"{_CLASSIC}.image:JPEG", "image", "JPEG (pillow / libjpeg)"),
    CodecEntry("webp", f"{_CLASSIC}.image:WebP", "image", "WebP (pillow / libwebp)"),
    CodecEntry("avif", f"{_CLASSIC}.image:AVIF", "image", "AVIF (pillow / libavif)"),
    CodecEntry("x264", f"{_CLASSIC}.video:X264", "video", "H.264 (ffmpeg libx264)"),
    CodecEntry("x265", f"{_CLASSIC}.video:X265", "video", "HEVC (ffmpeg libx265)"),
    CodecEntry("svtav1", f"{_CLASSIC}.video:SVTAV1", "video", "AV1 (ffmpeg libsvtav1)"),
    CodecEntry("vp9", f"{_CLASSIC}.video:VP9", "video", "VP9 (ffmpeg libvpx-vp9)"),
    CodecEntry("opus", f"{_CLASSIC}.audio:Opus", "audio", "Opus (ffmpeg libopus)"),
    CodecEntry("mp3", f"{_CLASSIC}.audio:MP3", "audio", "MP3 (ffmpeg libmp3lame)"),
    CodecEntry("flac", f"{_CLASSIC}.audio:FLAC", "audio", "FLAC (lossless, ffmpeg)"),
    CodecEntry("hnerv", "lcodec.codecs.hnerv.codec:HNeRV", "video", "HNeRV video INR (Chen et al., CVPR 2023)"),
    CodecEntry("nervpp", "lcodec.codecs.nervpp.codec:NeRVPlusPlus", "video", "NeRV++ video INR (Ghorbel et al.)"),
    CodecEntry("pc", "lcodec.codecs.pc.codec:PC", "image", "lossless probabilistic-circuit (HCLT) coder (Liu et al., ICLR 2022)"),
]}


@lru_cache(maxsize=1)
def _third_party() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTINS}


def entries() -> list[CodecEntry]:
    """Every codec known, without importing any built-in (third-party classes are loaded to describe them)."""
    out = list(BUILTINS.values())
    for name, ep in sorted(_third_party().items()):
        try:
            cls = ep.load()
            out.append(CodecEntry(name, ep.value, getattr(cls, "modality", "?"),
                                  getattr(cls, "description", ""), builtin=False))
        except Exception as exc:  # a broken plugin must not break `lcodec list`
            out.append(CodecEntry(name, ep.value, "?", f"(failed to load: {exc})", builtin=False))
    return out


def get(codec_id: str) -> type[Codec]:
    """The codec class for ``codec_id``; raises a clear error naming the id if it is unknown."""
    if codec_id in BUILTINS:
        module_name, _, attr = BUILTINS[codec_id].target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise CodecUnavailableError(f"codec {codec_id!r} needs a missing package: {exc}") from exc
        return getattr(module, attr)
    ep = _third_party().get(codec_id)
    if ep is None:
        known = ", ".join(sorted(set(BUILTINS) | set(_third_party())))
        raise UnsupportedError(f"unknown codec {codec_id!r} (known: {known})")
    try:
        return ep.load()
    except Exception as exc:
        raise CodecUnavailableError(f"codec {codec_id!r} from entry point {ep.value} failed to load: {exc}") from exc
