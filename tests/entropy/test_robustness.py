"""Bad input never crashes: wrong dtypes, bad indexes, corrupt, truncated and mismatched streams."""
from __future__ import annotations

import numpy as np
import pytest

from lcodec import entropy as E

from .conftest import gaussian_latents

pytestmark = pytest.mark.native

SCALES8 = E.scale_levels(8, 0.2, 40.0)


def test_wrong_dtypes_and_kinds(gauss8: E.Tables) -> None:
    v = np.zeros(10, np.int32)
    with pytest.raises(TypeError, match="int32"):
        E.encode_indexed(v.astype(np.int64), v, gauss8)
    with pytest.raises(TypeError, match="int32"):
        E.encode_indexed(v, v.astype(np.float32), gauss8)
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        E.encode_indexed([0, 1], v[:2], gauss8)
    with pytest.raises(TypeError, match="Tables"):
        E.encode_indexed(v, v, "tables")
    with pytest.raises(ValueError, match="differ"):
        E.encode_indexed(v, v[:5], gauss8)
    with pytest.raises(TypeError, match="bytes"):
        E.decode_indexed("not bytes", v, gauss8)


def test_index_out_of_range(gauss8: E.Tables) -> None:
    vals, idx = gaussian_latents(5000, SCALES8)
    bad = idx.copy()
    bad[1234] = 8
    with pytest.raises(ValueError, match=r"indexes\[1234\] = 8"):
        E.encode_indexed(vals, bad, gauss8)
    bad[1234] = -1
    with pytest.raises(ValueError, match=r"indexes\[1234\] = -1"):
        E.encode_indexed(vals, bad, gauss8)
    data = E.encode_indexed(vals, idx, gauss8)
    with pytest.raises(ValueError, match=r"indexes\[1234\]"):
        E.decode_indexed(data, bad, gauss8)


def test_mismatches_are_detected(gauss8: E.Tables) -> None:
    vals, idx = gaussian_latents(20_000, SCALES8)
    data = E.encode_indexed(vals, idx, gauss8)
    with pytest.raises(E.StreamError, match="different tables"):
        E.decode_indexed(data, idx, E.gaussian_tables(SCALES8 * 1.01))
    with pytest.raises(ValueError, match="symbols"):
        E.decode_indexed(data, idx[:-1], gauss8)
    shuffled = np.random.default_rng(1).permutation(idx)
    with pytest.raises(E.StreamError):
        E.decode_indexed(data, shuffled, gauss8)
    with pytest.raises(E.StreamError, match="intervals"):
        E.decode_indexed(E.encode_intervals(np.zeros(3, np.int32), np.ones(3, np.int32), 4), idx[:3], gauss8)


@pytest.mark.parametrize("cut", [0, 1, 4, 8, 9, 13, 20, 100, -100, -5, -1])
def test_truncated(gauss8: E.Tables, cut: int) -> None:
    vals, idx = gaussian_latents(3000, SCALES8, spread=2.0)
    data = E.encode_indexed(vals, idx, gauss8, chunk_size=1000)
    with pytest.raises(ValueError):
        E.decode_indexed(data[:cut], idx, gauss8)
    with pytest.raises(ValueError):
        E.decode_indexed(data + b"\0", idx, gauss8)


def test_fuzz_mutated_and_random_streams(gauss8: E.Tables) -> None:
    """Thousands of damaged streams: each raises ValueError (the chunk CRC, layout checks and
    final-state checks); none decodes to wrong values."""
    rng = np.random.default_rng(2024)
    vals, idx = gaussian_latents(600, SCALES8, seed=9, spread=2.0)
    streams = [
        E.encode_indexed(vals, idx, gauss8, chunk_size=cs, lanes=lanes)
        for cs, lanes in [(600, None), (128, 32), (50, 3)]
    ]
    survived = 0
    for trial in range(4000):
        data = bytearray(streams[trial % 3])
        op = trial % 4
        if op == 0:  # flip bits
            for _ in range(1 + trial % 3):
                data[rng.integers(len(data))] ^= 1 << rng.integers(8)
        elif op == 1:  # overwrite a run
            a = rng.integers(len(data))
            data[a : a + 8] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
        elif op == 2:  # insert or delete
            a = rng.integers(len(data))
            data = data[:a] + data[a + 1 :] if trial % 8 < 4 else data[:a] + b"\x55" + data[a:]
        else:  # random bytes after a valid header
            data = data[:12] + rng.integers(0, 256, rng.integers(0, 400), dtype=np.uint8).tobytes()
        try:
            out = E.decode_indexed(bytes(data), idx, gauss8)
        except ValueError:
            continue
        assert np.array_equal(out, vals), f"silent wrong output in trial {trial}"
        survived += 1
    assert survived == 0
    for _ in range(500):  # pure garbage, for both decoders
        junk = rng.integers(0, 256, rng.integers(0, 64), dtype=np.uint8).tobytes()
        for data in (junk, b"LCE\x01" + junk):
            with pytest.raises(ValueError):
                E.decode_indexed(data, idx, gauss8)
            try:
                dec = E.IntervalDecoder(data)
                while not dec.done:
                    s = dec.peek()
                    dec.advance(s, 1)
            except ValueError:
                pass


def test_fuzz_interval_streams() -> None:
    rng = np.random.default_rng(5)
    n = 400
    starts = rng.integers(0, 200, n)
    freqs = rng.integers(1, 57, n)
    data = E.encode_intervals(starts, freqs, 8, chunk_size=100)
    for trial in range(1000):
        d = bytearray(data)
        d[rng.integers(len(d))] ^= 1 << rng.integers(8)
        try:
            dec = E.IntervalDecoder(bytes(d))
            ok = True
            for i in range(n):
                slot = dec.peek()
                if not starts[i] <= slot < starts[i] + freqs[i]:
                    ok = False
                    break
                dec.advance(int(starts[i]), int(freqs[i]))
        except ValueError:
            continue
        assert not ok or dec.done


def test_cuda_tensors_without_cuda_build(gauss8: E.Tables) -> None:
    torch = pytest.importorskip("torch")
    if E.cuda_available() or not torch.cuda.is_available():
        pytest.skip("needs a GPU and a build without the CUDA kernels")
    v = torch.zeros(10, dtype=torch.int32, device="cuda")
    with pytest.raises(RuntimeError, match="without CUDA"):
        E.encode_indexed(v, v, gauss8)


def test_crc32_matches_zlib() -> None:
    import zlib

    from lcodec.entropy import _core

    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, 5000, dtype=np.uint8)
    for n in list(range(0, 200)) + [1023, 1024, 1025, 4999]:
        for seed in (0, 0xDEADBEEF):
            assert _core.crc32(data[:n], seed) == zlib.crc32(data[:n].tobytes(), seed)


@pytest.mark.parametrize("bad_value", [8, -1, 2**31 - 1])
@pytest.mark.parametrize("chunk_size", [10_000, 1 << 19])
def test_index_out_of_range_vector_path(gauss8: E.Tables, bad_value: int, chunk_size: int) -> None:
    vals, idx = gaussian_latents(100_000, SCALES8, spread=2.0)
    data = E.encode_indexed(vals, idx, gauss8, lanes=32, chunk_size=chunk_size)
    bad = idx.copy()
    bad[54_321] = bad_value
    with pytest.raises(ValueError, match=rf"indexes\[54321\] = {bad_value}"):
        E.decode_indexed(data, bad, gauss8, threads=1)
