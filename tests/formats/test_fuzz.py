"""Mutated .lc files must give CorruptFileError/UnsupportedError, never a crash or a hang."""
from __future__ import annotations

import io
import random

from lcodec.errors import CorruptFileError, UnsupportedError
from lcodec.formats import Chunk, Reader, Writer


def write_bytes(chunks: list[Chunk]) -> bytes:
    buffer = io.BytesIO()
    with Writer(buffer, {"codec": {"id": "fuzz", "version": 1}}) as writer:
        for chunk in chunks:
            writer.add(chunk)
    return buffer.getvalue()


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(5)
        pos = rng.randrange(len(out) + 1)
        if kind == 0 and out:
            out[min(pos, len(out) - 1)] = rng.randrange(256)
        elif kind == 1:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        elif kind == 2:
            del out[pos:pos + rng.randint(1, 40)]
        elif kind == 3:
            out = out[:pos]
        else:  # a large length or count written over an aligned field
            field = pos - pos % 8
            out[field:field + 8] = rng.choice([2**63 - 1, 2**32, 2**64 - 1, 0]).to_bytes(8, "little")
    return bytes(out)


def test_fuzz_reader():
    rng = random.Random(1234)
    seeds = [
        write_bytes([Chunk("HEAD", b"h" * 5), Chunk("GOPS", b"g" * 40, pts=0), Chunk("NOTE", b"n", critical=False)]),
        write_bytes([Chunk("DATA", bytes(range(256)) * 4, pts=0)]),
    ]
    outcomes = {"ok": 0, "error": 0}
    for _ in range(4000):
        data = mutate(rng.choice(seeds), rng)
        try:
            with Reader(data) as reader:
                for _chunk in reader.chunks(include_container=True):
                    pass
                for entry in reader.index():
                    reader.chunk_at(entry.offset)
            outcomes["ok"] += 1
        except (CorruptFileError, UnsupportedError):
            outcomes["error"] += 1
    assert outcomes["error"] > 3000
