"""The .lc container: round trips, streaming, atomic writes and every kind of damage."""
from __future__ import annotations

import io
import os
import struct

import pytest

from lcodec.errors import CorruptFileError, OutputError, UnsupportedError
from lcodec.formats import INDEX_TYPE, Chunk, Reader, Writer

META = {"codec": {"id": "test", "version": 1, "config": {}}, "media": {"kind": "image"}}


def sample_chunks() -> list[Chunk]:
    return [
        Chunk("HEAD", b"h" * 5),
        Chunk("GOP0", bytes(range(40)), keyframe=True, pts=0, group=0),
        Chunk("GOP0", b"", keyframe=True, pts=8, group=1, stream=2),
        Chunk("NOTE", b"ancillary", critical=False),
    ]


def write_bytes(chunks=None, meta=META) -> bytes:
    buffer = io.BytesIO()
    with Writer(buffer, meta) as writer:
        for chunk in sample_chunks() if chunks is None else chunks:
            writer.add(chunk)
    return buffer.getvalue()


class Pipe(io.RawIOBase):
    """A non-seekable stream, like stdin."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        piece = self._data.read(len(buffer))
        buffer[: len(piece)] = piece
        return len(piece)


def test_round_trip_keeps_everything():
    data = write_bytes()
    assert len(data) % 16 == 8  # everything aligned to 16, then the 24-byte trailer
    with Reader(data) as reader:
        assert reader.meta == META and (reader.major, reader.minor) == (1, 0)
        chunks = list(reader.chunks())
        for got, want in zip(chunks, sample_chunks(), strict=True):
            assert (got.type, got.payload, got.critical, got.keyframe, got.stream) == \
                   (want.type, want.payload, want.critical, want.keyframe, want.stream)
        assert [c.seq for c in chunks] == [0, 1, 2, 3]
        index = reader.index()
        assert [(e.offset, e.pts, e.group, e.stream) for e in index] == [
            (chunks[1].offset, 0, 0, 0), (chunks[2].offset, 8, 1, 2)]
        assert reader.chunk_at(index[1].offset).payload == b""
        assert [c.type for c in reader.chunks(include_container=True)][-1] == INDEX_TYPE


def test_no_index_without_pts():
    data = write_bytes([Chunk("DATA", b"x")])
    with Reader(data) as reader:
        assert [c.payload for c in reader.chunks()] == [b"x"]
        assert reader.index() == []


def test_streaming_read_from_a_pipe():
    data = write_bytes()
    reader = Reader(io.BufferedReader(Pipe(data)))
    assert [c.payload for c in reader.chunks()] == [c.payload for c in sample_chunks()]
    with pytest.raises(UnsupportedError, match="seekable"):
        reader.index()


def test_path_writer_is_atomic(tmp_path):
    out = tmp_path / "out.lc"
    with pytest.raises(RuntimeError):
        with Writer(out, META) as writer:
            writer.add(Chunk("DATA", b"x"))
            raise RuntimeError("encoder failed")
    assert list(tmp_path.iterdir()) == []
    with Writer(out, META) as writer:
        writer.add(Chunk("DATA", b"x"))
    assert [p.name for p in tmp_path.iterdir()] == ["out.lc"]
    with Reader(out) as reader:
        assert [c.payload for c in reader.chunks()] == [b"x"]


def test_writer_refuses_existing_output_and_directories(tmp_path):
    out = tmp_path / "out.lc"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputError, match="exists"):
        Writer(out, META)
    assert out.read_bytes() == b"keep me"
    with Writer(out, META, overwrite=True) as writer:
        writer.add(Chunk("DATA", b"new"))
    assert out.read_bytes() != b"keep me"
    with pytest.raises(OutputError, match="directory"):
        Writer(tmp_path, META)
    with pytest.raises(OutputError, match="cannot create"):
        Writer(tmp_path / "missing" / "out.lc", META)


def test_reserved_chunk_types_and_bad_names():
    with pytest.raises(ValueError, match="reserved"):
        with Writer(io.BytesIO(), META) as writer:
            writer.add(Chunk("LIDX", b""))
    with pytest.raises(ValueError, match="4 printable"):
        Chunk("TOOLONG", b"")


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"),
    (b"GIF89a\0\0\0\0", "bad signature"),
    (b"\x89LCD\r\n\x1a\n\x01", "truncated"),
])
def test_not_lc_files(data, message):
    with pytest.raises(CorruptFileError, match=message):
        Reader(data)


def test_future_major_version_is_refused_and_minor_accepted():
    data = bytearray(write_bytes())
    future = bytearray(data)
    future[8:10] = struct.pack("<H", 2)
    with pytest.raises(UnsupportedError, match="version 2"):
        Reader(bytes(future))
    # A newer minor version is readable, once its header CRC is right.
    import zlib

    newer = bytearray(data)
    newer[10:12] = struct.pack("<H", 7)
    meta_len = struct.unpack_from("<Q", newer, 16)[0]
    crc = zlib.crc32(bytes(newer[32:32 + meta_len]), zlib.crc32(bytes(newer[8:24])))
    newer[24:28] = struct.pack("<I", crc)
    with Reader(bytes(newer)) as reader:
        assert reader.minor == 7 and len(list(reader.chunks())) == 4


def read_all(data: bytes) -> list[Chunk]:
    with Reader(data) as reader:
        chunks = list(reader.chunks(include_container=True))
        reader.index()
        return chunks


def test_every_truncation_is_reported():
    data = write_bytes()
    for cut in range(len(data)):
        with pytest.raises(CorruptFileError):
            read_all(data[:cut])


def test_every_bit_flip_is_caught_or_harmless():
    """A flipped bit is either reported, or it hit padding and the content read back is unchanged."""
    data = write_bytes()
    good = read_all(data)
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 1 << (position % 8)
        try:
            chunks = read_all(bytes(damaged))
        except (CorruptFileError, UnsupportedError):
            continue
        assert [(c.type, c.payload) for c in chunks] == [(c.type, c.payload) for c in good], position


def test_damaged_chunk_is_named_by_sequence_number():
    data = bytearray(write_bytes())
    with Reader(bytes(data)) as reader:
        target = list(reader.chunks())[1]
    data[target.offset + 32] ^= 0xFF  # first payload byte of chunk #1
    with pytest.raises(CorruptFileError, match=r"chunk #1 \(GOP0\).*CRC"):
        read_all(bytes(data))


def test_trailing_garbage_is_reported():
    with pytest.raises(CorruptFileError, match="after the trailer"):
        read_all(write_bytes() + b"\0")


def test_large_declared_length_does_not_allocate():
    """A chunk claiming 2^60 bytes in a small file fails at once instead of reading forever."""
    data = bytearray(write_bytes([Chunk("DATA", b"abc")]))
    with Reader(bytes(data)) as reader:
        offset = next(reader.chunks()).offset
    data[offset + 8: offset + 16] = struct.pack("<Q", 1 << 60)
    with pytest.raises(CorruptFileError, match="truncated"):
        read_all(bytes(data))
    reader = Reader(io.BufferedReader(Pipe(bytes(data))))
    with pytest.raises(CorruptFileError):
        list(reader.chunks())


def test_file_on_disk_can_be_read_by_path(tmp_path):
    path = tmp_path / "x.lc"
    path.write_bytes(write_bytes())
    with Reader(path) as reader:
        assert reader.size == os.path.getsize(path)
        assert len(list(reader.chunks())) == 4
