"""SPEC.md is normative: a parser written from the spec alone reads what the writer writes,
and a file built by hand from the spec is read by lcodec.formats.Reader."""
from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

from lcodec.formats import Chunk, Reader, Writer

SPEC = Path(__file__).parents[2] / "src" / "lcodec" / "formats" / "SPEC.md"


def spec_parse(data: bytes) -> dict:
    """Parse an .lc file by following SPEC.md (no lcodec code)."""
    assert data[:8] == bytes.fromhex("89 4C 43 44 0D 0A 1A 0A".replace(" ", ""))
    major, minor, flags, meta_len, crc, reserved = struct.unpack_from("<HHIQII", data, 8)
    assert (major, flags, reserved) == (1, 0, 0)
    meta = data[32:32 + meta_len]
    assert zlib.crc32(data[8:24] + meta) == crc
    pos = 32 + meta_len
    pos += -pos % 16
    chunks = []
    while data[pos:pos + 8] != b"LCTRAILR":
        ctype, cflags, length, seq, stream, ccrc = struct.unpack_from("<4sIQQII", data, pos)
        payload = data[pos + 32:pos + 32 + length]
        assert zlib.crc32(data[pos:pos + 28] + payload) == ccrc
        assert seq == len(chunks)
        chunks.append({"offset": pos, "type": ctype.decode(), "critical": bool(cflags & 1),
                       "keyframe": bool(cflags & 2), "stream": stream, "payload": payload})
        pos += 32 + length
        pos += -pos % 16
    magic, index_offset, count, tcrc = struct.unpack_from("<8sQII", data, pos)
    assert zlib.crc32(data[pos:pos + 20]) == tcrc and count == len(chunks)
    assert pos + 24 == len(data)
    index = []
    if index_offset:
        lidx = next(c for c in chunks if c["offset"] == index_offset)
        assert lidx["type"] == "LIDX" and not lidx["critical"]
        n, _ = struct.unpack_from("<II", lidx["payload"])
        index = [struct.unpack_from("<QqII", lidx["payload"], 8 + 24 * i) for i in range(n)]
    return {"version": (major, minor), "meta": json.loads(meta), "chunks": chunks, "index": index}


def test_spec_documents_the_constants():
    text = SPEC.read_text()
    for needle in ("89 4C 43 44 0D 0A 1A 0A", "LCTRAILR", "LIDX", "LSTA", "u64 meta_len", "pad16"):
        assert needle in text


def test_writer_output_follows_the_spec():
    buffer = io.BytesIO()
    meta = {"codec": {"id": "x", "version": 3, "config": {"q": 1}}, "media": {"kind": "video"}}
    with Writer(buffer, meta) as writer:
        writer.add(Chunk("HEAD", b"abc"))
        writer.add(Chunk("GOPS", b"\x01" * 33, keyframe=True, pts=0, group=0))
        writer.add(Chunk("GOPS", b"\x02" * 16, keyframe=True, pts=30, group=1, stream=1))
        writer.add(Chunk("LSTA", b"{}", critical=False))
    parsed = spec_parse(buffer.getvalue())
    assert parsed["version"] == (1, 0) and parsed["meta"] == meta
    assert [c["type"] for c in parsed["chunks"]] == ["HEAD", "GOPS", "GOPS", "LSTA", "LIDX"]
    gops = parsed["chunks"][1:3]
    assert parsed["index"] == [(gops[0]["offset"], 0, 0, 0), (gops[1]["offset"], 30, 1, 1)]
    assert gops[0]["keyframe"] and gops[1]["stream"] == 1


def test_hand_built_file_is_read_by_the_reader():
    """Build a file byte by byte from SPEC.md and read it with lcodec."""
    meta = json.dumps({"codec": {"id": "hand", "version": 1, "config": {}}}).encode()
    fixed = struct.pack("<HHIQ", 1, 0, 0, len(meta))
    out = bytearray(bytes.fromhex("894C43440D0A1A0A") + fixed + struct.pack("<II", zlib.crc32(fixed + meta), 0) + meta)
    out += bytes(-len(out) % 16)
    head = struct.pack("<4sIQQI", b"DATA", 1, 5, 0, 0)
    out += head + struct.pack("<I", zlib.crc32(head + b"hello")) + b"hello"
    out += bytes(-len(out) % 16)
    tail = b"LCTRAILR" + struct.pack("<QI", 0, 1)
    out += tail + struct.pack("<I", zlib.crc32(tail))
    with Reader(bytes(out)) as reader:
        assert reader.meta["codec"]["id"] == "hand"
        chunks = list(reader.chunks())
        assert [(c.type, c.payload, c.critical) for c in chunks] == [("DATA", b"hello", True)]
