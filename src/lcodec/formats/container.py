"""Reader and writer of ``.lc`` files; ``SPEC.md`` beside this file is the normative layout.

Why PNG-style chunks: each chunk carries its own CRC and sequence number, so damage is reported by
chunk and never decoded into garbage, and a reader can stream a file it cannot seek (stdin). The
writer writes a temporary file and renames it, so a failed encode leaves no partial output.
"""
from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Union

from lcodec.errors import CorruptFileError, OutputError, UnsupportedError

SIGNATURE = b"\x89LCD\r\n\x1a\n"
FORMAT_MAJOR = 1
FORMAT_MINOR = 0
ALIGN = 16
# Header after the signature: u16 major, u16 minor, u32 flags, u64 meta_len, u32 crc32, u32 reserved.
HEADER = struct.Struct("<HHIQII")
# Chunk header: 4-byte type, u32 flags, u64 length, u64 sequence number, u32 stream, u32 crc32.
CHUNK = struct.Struct("<4sIQQII")
# Trailer: 8-byte magic, u64 offset of the index chunk (0: none), u32 chunk count, u32 crc32.
TRAILER = struct.Struct("<8sQII")
TRAILER_MAGIC = b"LCTRAILR"
# Index entry: u64 chunk offset, i64 presentation time (frame or sample), u32 group, u32 stream.
INDEX_ENTRY = struct.Struct("<QqII")
INDEX_HEAD = struct.Struct("<II")

FLAG_CRITICAL = 1
FLAG_KEYFRAME = 2
INDEX_TYPE = "LIDX"
STATS_TYPE = "LSTA"
MAX_META_BYTES = 64 << 20
READ_PIECE = 16 << 20

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]


@dataclass(frozen=True)
class Chunk:
    """One chunk: ``type`` is 4 ASCII characters; ``pts`` (if set) puts it in the seek index.

    ``seq`` and ``offset`` are filled by the reader (file order and byte offset of the chunk header).
    """

    type: str
    payload: bytes
    critical: bool = True
    keyframe: bool = False
    stream: int = 0
    pts: int | None = None
    group: int = 0
    seq: int = -1
    offset: int = -1

    def __post_init__(self) -> None:
        if len(self.type) != 4 or not self.type.isascii() or not self.type.isprintable():
            raise ValueError(f"chunk type must be 4 printable ASCII characters, got {self.type!r}")

    @property
    def flags(self) -> int:
        return (FLAG_CRITICAL if self.critical else 0) | (FLAG_KEYFRAME if self.keyframe else 0)


@dataclass(frozen=True)
class IndexEntry:
    offset: int
    pts: int
    group: int
    stream: int


def _pad(n: int) -> int:
    return -n % ALIGN


class Writer:
    """Streams a ``.lc`` file: header first, then :meth:`add` per chunk, then :meth:`close`.

    ``target`` is a path (written through a temporary file in the same folder, renamed on close)
    or a binary stream such as stdout (written in place). Use as a context manager: an exception
    inside the block removes the temporary file.
    """

    def __init__(self, target: str | os.PathLike | BinaryIO, meta: dict[str, Any], *, overwrite: bool = False) -> None:
        self._path: Path | None = None
        self._tmp: str | None = None
        if isinstance(target, (str, os.PathLike)):
            path = Path(target)
            if path.is_dir():
                raise OutputError(f"output {path} is a directory")
            if path.exists() and not overwrite:
                raise OutputError(f"output {path} exists (use -y to overwrite)")
            folder = path.parent if str(path.parent) else Path(".")
            try:
                fd, self._tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
            except OSError as exc:
                raise OutputError(f"cannot create output in {folder}: {exc.strerror}") from exc
            self._file: BinaryIO = os.fdopen(fd, "wb")
            self._path, self._overwrite = path, overwrite
        else:
            self._file = target
        self._pos = 0
        self._seq = 0
        self._index: list[IndexEntry] = []
        self._closed = False
        meta_bytes = json.dumps(meta, separators=(",", ":"), sort_keys=True).encode()
        fixed = HEADER.pack(FORMAT_MAJOR, FORMAT_MINOR, 0, len(meta_bytes), 0, 0)
        crc = zlib.crc32(meta_bytes, zlib.crc32(fixed[:16]))
        self._write(SIGNATURE + HEADER.pack(FORMAT_MAJOR, FORMAT_MINOR, 0, len(meta_bytes), crc, 0) + meta_bytes)
        self._write(b"\0" * _pad(self._pos))

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._pos += len(data)

    @property
    def bytes_written(self) -> int:
        return self._pos

    def add(self, chunk: Chunk) -> int:
        """Append ``chunk``; returns its sequence number."""
        if chunk.type.startswith("L") and chunk.type not in (STATS_TYPE,):
            raise ValueError(f"chunk types starting with 'L' are reserved for the container, got {chunk.type!r}")
        return self._add(chunk)

    def _add(self, chunk: Chunk) -> int:
        offset, seq = self._pos, self._seq
        payload = bytes(chunk.payload)
        head = CHUNK.pack(chunk.type.encode("ascii"), chunk.flags, len(payload), seq, chunk.stream, 0)
        crc = zlib.crc32(payload, zlib.crc32(head[:28]))
        self._write(head[:28] + struct.pack("<I", crc))
        self._write(payload)
        self._write(b"\0" * _pad(len(payload)))
        if chunk.pts is not None:
            self._index.append(IndexEntry(offset, chunk.pts, chunk.group, chunk.stream))
        self._seq += 1
        return seq

    def close(self) -> None:
        """Write the index (when any chunk had a ``pts``) and the trailer, then publish the file."""
        if self._closed:
            return
        index_offset = 0
        if self._index:
            index_offset = self._pos
            body = INDEX_HEAD.pack(len(self._index), 0) + b"".join(
                INDEX_ENTRY.pack(e.offset, e.pts, e.group, e.stream) for e in self._index)
            self._add(Chunk(INDEX_TYPE, body, critical=False))
        fixed = TRAILER.pack(TRAILER_MAGIC, index_offset, self._seq, 0)[:20]
        self._write(fixed + struct.pack("<I", zlib.crc32(fixed)))
        self._closed = True
        if self._path is None:
            self._file.flush()
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            if self._path.exists() and not self._overwrite:
                raise OutputError(f"output {self._path} appeared while encoding (use -y to overwrite)")
            os.replace(self._tmp, self._path)
        except BaseException:
            self.abort()
            raise
        self._tmp = None

    def abort(self) -> None:
        """Discard a path target's temporary file; nothing is left behind."""
        self._closed = True
        if self._tmp is not None:
            self._file.close()
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass
            self._tmp = None

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class Reader:
    """Reads a ``.lc`` file from a path, bytes or a binary stream (seekable or not).

    The header is parsed and checked on construction; :meth:`chunks` then streams the chunks,
    checking every CRC. Any damage raises :class:`~lcodec.errors.CorruptFileError` naming the
    chunk; a newer major version raises :class:`~lcodec.errors.UnsupportedError`.
    """

    def __init__(self, source: Source) -> None:
        self._owned = False
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._file: BinaryIO = io.BytesIO(bytes(source))
        elif isinstance(source, (str, os.PathLike)):
            self._file = open(source, "rb")  # noqa: SIM115 - closed by close()
            self._owned = True
        else:
            self._file = source
        self._size = self._total_size()
        self._pos = 0
        try:
            self._read_header()
        except BaseException:
            self.close()
            raise
        self._chunks_start = self._pos

    @property
    def size(self) -> int | None:
        """Bytes in the file (``None`` for an unseekable stream)."""
        return self._size

    def _total_size(self) -> int | None:
        try:
            if not self._file.seekable():
                return None
            here = self._file.tell()
            size = self._file.seek(0, io.SEEK_END)
            self._file.seek(here)
            return size - here
        except (OSError, AttributeError, ValueError):
            return None

    def _read(self, n: int, what: str) -> bytes:
        if self._size is not None and self._pos + n > self._size:
            raise CorruptFileError(f"truncated file: {what} needs {n} bytes at offset {self._pos}, "
                                   f"{max(self._size - self._pos, 0)} left")
        parts, left = [], n
        while left:
            piece = self._file.read(min(left, READ_PIECE))
            if not piece:
                raise CorruptFileError(f"truncated file: {what} at offset {self._pos} ends early")
            parts.append(piece)
            left -= len(piece)
        data = b"".join(parts)
        self._pos += n
        return data

    def _read_header(self) -> None:
        sig = self._file.read(len(SIGNATURE))
        self._pos = len(sig)
        if sig != SIGNATURE:
            if not sig:
                raise CorruptFileError("empty file: not an .lc file")
            raise CorruptFileError("not an .lc file (bad signature)")
        fixed = self._read(HEADER.size, "header")
        self.major, self.minor, self.flags, meta_len, crc, _ = HEADER.unpack(fixed)
        if self.major != FORMAT_MAJOR:
            raise UnsupportedError(f"unsupported .lc format version {self.major}.{self.minor} "
                                   f"(this lcodec reads {FORMAT_MAJOR}.x); upgrade lcodec")
        if meta_len > MAX_META_BYTES:
            raise CorruptFileError(f"corrupt header: metadata length {meta_len} is implausible")
        meta = self._read(meta_len, "header metadata")
        if zlib.crc32(meta, zlib.crc32(fixed[:16])) != crc:
            raise CorruptFileError("corrupt header: CRC mismatch")
        try:
            self.meta: dict[str, Any] = json.loads(meta.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptFileError(f"corrupt header: metadata is not JSON ({exc})") from exc
        if not isinstance(self.meta, dict):
            raise CorruptFileError("corrupt header: metadata is not a JSON object")
        self._read(_pad(self._pos), "header padding")

    def chunks(self, *, include_container: bool = False) -> Iterator[Chunk]:
        """Yield chunks in file order, CRC-checked; the container's own chunks only if asked.

        Ends at the trailer; a file that ends without one is reported as truncated.
        """
        if self._pos != self._chunks_start:
            self._seek(self._chunks_start)
        seq = 0
        while True:
            offset = self._pos
            head = self._read_chunk_head(offset)
            if head[:8] == TRAILER_MAGIC:
                self._check_trailer(head, seq)
                return
            chunk = self._finish_chunk(head, offset)
            if chunk.seq != seq:
                raise CorruptFileError(f"corrupt file: chunk at offset {offset} has sequence number "
                                       f"{chunk.seq}, expected {seq}")
            seq += 1
            if chunk.type == INDEX_TYPE:
                self._parse_index(chunk.payload)  # validated even when the caller skips it
            if include_container or not chunk.type.startswith("L") or chunk.type == STATS_TYPE:
                yield chunk

    def _read_chunk_head(self, offset: int) -> bytes:
        """The next 24 bytes if they are the trailer, else the full 32-byte chunk header."""
        if self._size is not None and self._pos >= self._size:
            raise CorruptFileError(f"truncated file: ends at offset {offset} without a trailer")
        first = self._read(TRAILER.size, f"chunk header at offset {offset}")
        if first[:8] == TRAILER_MAGIC:
            return first
        return first + self._read(CHUNK.size - TRAILER.size, f"chunk header at offset {offset}")

    def _finish_chunk(self, head: bytes, offset: int) -> Chunk:
        raw_type, flags, length, seq, stream, crc = CHUNK.unpack(head)
        try:
            ctype = raw_type.decode("ascii")
            if not ctype.isprintable():
                raise UnicodeDecodeError("ascii", raw_type, 0, 4, "unprintable")
        except UnicodeDecodeError:
            raise CorruptFileError(f"corrupt chunk #{seq} at offset {offset}: bad type {raw_type!r}") from None
        what = f"chunk #{seq} ({ctype}) at offset {offset}"
        payload = self._read(length, what)
        if zlib.crc32(payload, zlib.crc32(head[:28])) != crc:
            raise CorruptFileError(f"corrupt {what}: CRC mismatch")
        self._read(_pad(length), f"padding of {what}")
        return Chunk(ctype, payload, critical=bool(flags & FLAG_CRITICAL), keyframe=bool(flags & FLAG_KEYFRAME),
                     stream=stream, seq=seq, offset=offset)

    def _check_trailer(self, raw: bytes, seen: int) -> None:
        magic, index_offset, count, crc = TRAILER.unpack(raw)
        if zlib.crc32(raw[:20]) != crc:
            raise CorruptFileError("corrupt trailer: CRC mismatch")
        if count != seen:
            raise CorruptFileError(f"corrupt file: trailer counts {count} chunks, found {seen}")
        if self._size is not None and self._pos != self._size:
            raise CorruptFileError(f"corrupt file: {self._size - self._pos} unexpected bytes after the trailer")
        self.index_offset = index_offset

    @staticmethod
    def _parse_index(payload: bytes) -> list[IndexEntry]:
        if len(payload) < INDEX_HEAD.size:
            raise CorruptFileError("corrupt index: too short")
        count, _ = INDEX_HEAD.unpack_from(payload)
        if len(payload) != INDEX_HEAD.size + count * INDEX_ENTRY.size:
            raise CorruptFileError("corrupt index: length does not match its entry count")
        return [IndexEntry(*INDEX_ENTRY.unpack_from(payload, INDEX_HEAD.size + i * INDEX_ENTRY.size))
                for i in range(count)]

    def _seek(self, offset: int) -> None:
        if self._size is None:
            raise UnsupportedError("this operation needs a seekable input (a file, not a pipe)")
        self._file.seek(offset - self._pos, io.SEEK_CUR)
        self._pos = offset

    def index(self) -> list[IndexEntry]:
        """The seek index (empty when the file has none); needs a seekable source."""
        if self._size is None or self._size < TRAILER.size:
            raise UnsupportedError("the seek index needs a seekable input (a file, not a pipe)")
        self._seek(self._size - TRAILER.size)
        raw = self._read(TRAILER.size, "trailer")
        magic, index_offset, _, crc = TRAILER.unpack(raw)
        if magic != TRAILER_MAGIC or zlib.crc32(raw[:20]) != crc:
            raise CorruptFileError("corrupt or missing trailer")
        if index_offset == 0:
            return []
        chunk = self.chunk_at(index_offset)
        if chunk.type != INDEX_TYPE:
            raise CorruptFileError(f"corrupt trailer: offset {index_offset} is not the index")
        return self._parse_index(chunk.payload)

    def chunk_at(self, offset: int) -> Chunk:
        """Read and CRC-check the one chunk whose header starts at byte ``offset``."""
        if offset < self._chunks_start or offset % ALIGN or (self._size is not None and offset >= self._size):
            raise CorruptFileError(f"corrupt index: offset {offset} is not a chunk boundary")
        self._seek(offset)
        head = self._read(CHUNK.size, f"chunk header at offset {offset}")
        return self._finish_chunk(head, offset)

    def close(self) -> None:
        if self._owned:
            self._file.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
