"""The ``.lc`` container: reader and writer of the byte layout in ``SPEC.md`` (DESIGN.md §3).

It knows nothing about codecs: a header with JSON metadata, CRC-checked chunks, an optional seek
index. Import cost is the standard library only, so ``lcodec info`` and ``verify`` stay fast.
"""
from lcodec.formats.container import (
    FLAG_CRITICAL,
    FLAG_KEYFRAME,
    FORMAT_MAJOR,
    FORMAT_MINOR,
    INDEX_TYPE,
    SIGNATURE,
    STATS_TYPE,
    Chunk,
    IndexEntry,
    Reader,
    Writer,
)

__all__ = [
    "FLAG_CRITICAL", "FLAG_KEYFRAME", "FORMAT_MAJOR", "FORMAT_MINOR", "INDEX_TYPE", "SIGNATURE",
    "STATS_TYPE", "Chunk", "IndexEntry", "Reader", "Writer",
]
