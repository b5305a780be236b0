"""Indexed static tables: round trips, byte equality with the reference, golden bytes, rate."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from lcodec import entropy as E
from lcodec.entropy import reference as R

from .conftest import gaussian_latents

pytestmark = pytest.mark.native

SCALES8 = E.scale_levels(8, 0.2, 40.0)


@pytest.mark.parametrize("nsym", [1, 2, 3, 5, 16, 255, 1000, 32767])
def test_roundtrip_random_tables_every_size(nsym: int) -> None:
    rng = np.random.default_rng(nsym)
    K = 3
    pmfs = rng.dirichlet(np.full(nsym, 0.5), size=K)
    offs = rng.integers(-50, 50, K)
    t = E.build_tables(pmfs, offsets=offs, precision=15)
    n = 3000
    idx = rng.integers(0, K, n).astype(np.int32)
    vals = np.array([rng.choice(nsym, p=pmfs[k]) for k in idx], np.int32) + offs[idx].astype(np.int32)
    vals[::101] += 10**6  # escapes in both directions
    vals[::103] -= 10**6
    data = E.encode_indexed(vals, idx, t)
    assert np.array_equal(E.decode_indexed(data, idx, t), vals)
    assert data == R.encode_indexed(vals, idx, t)


@pytest.mark.parametrize(
    "n,chunk_size",
    [(n, cs) for n in (0, 1, 31, 32, 33, 1000, 5000) for cs in (1, 50, 1 << 19) if (n, cs) != (5000, 1)],
)
@pytest.mark.parametrize("lanes", [None, 1, 7, 32])
def test_matches_reference_bytes(gauss8: E.Tables, n: int, lanes: int | None, chunk_size: int) -> None:
    vals, idx = gaussian_latents(n, SCALES8, seed=n, spread=1.5)
    data = E.encode_indexed(vals, idx, gauss8, chunk_size=chunk_size, lanes=lanes)
    assert data == R.encode_indexed(vals, idx, gauss8, chunk_size=chunk_size, lanes=lanes)
    assert np.array_equal(E.decode_indexed(data, idx, gauss8), vals)
    if n <= 1000:
        assert np.array_equal(R.decode_indexed(data, idx, gauss8), vals)


def test_extreme_values_escape(gauss8: E.Tables) -> None:
    vals = np.array([2**31 - 1, -(2**31), 0, 1, -1, 2**30, -(2**30)] * 5, np.int32)
    idx = np.arange(vals.size, dtype=np.int32) % 8
    data = E.encode_indexed(vals, idx, gauss8)
    assert np.array_equal(E.decode_indexed(data, idx, gauss8), vals)
    assert data == R.encode_indexed(vals, idx, gauss8)
    assert E.stream_info(data)["escapes"] >= 20


@pytest.mark.parametrize("precision", [1, 4, 8, 16])
def test_precisions(precision: int) -> None:
    rng = np.random.default_rng(precision)
    nsym = min(5, (1 << precision) - 1)
    t = E.build_tables(rng.dirichlet(np.ones(nsym), size=2), precision=precision)
    idx = rng.integers(0, 2, 4000).astype(np.int32)
    vals = rng.integers(-2, nsym + 2, 4000).astype(np.int32)
    data = E.encode_indexed(vals, idx, t)
    assert np.array_equal(E.decode_indexed(data, idx, t), vals)
    assert data == R.encode_indexed(vals, idx, t)


def test_single_symbol_full_precision() -> None:
    """freq = 2**16 at precision 16 (an escape-only table): the state never moves."""
    t = E.Tables(np.array([[0, 65536]]), [2], [0], precision=16)
    vals = np.arange(-5, 5, dtype=np.int32)
    idx = np.zeros(10, np.int32)
    data = E.encode_indexed(vals, idx, t)
    assert np.array_equal(E.decode_indexed(data, idx, t), vals)


def test_threads_and_layout_independence(gauss8: E.Tables) -> None:
    vals, idx = gaussian_latents(300_000, SCALES8, seed=5)
    a = E.encode_indexed(vals, idx, gauss8, chunk_size=20_000, threads=1)
    b = E.encode_indexed(vals, idx, gauss8, chunk_size=20_000, threads=4)
    assert a == b
    for th in (1, 3):
        assert np.array_equal(E.decode_indexed(a, idx, gauss8, threads=th), vals)
    info = E.stream_info(a)
    assert info["lanes"] == 32 and info["chunks"] == 15 and info["size"] == 300_000


def test_shapes_and_kinds(gauss8: E.Tables) -> None:
    vals, idx = gaussian_latents(2 * 3 * 5 * 7, SCALES8, seed=2)
    v4, i4 = vals.reshape(2, 3, 5, 7), idx.reshape(2, 3, 5, 7)
    data = E.encode_indexed(v4, i4, gauss8)
    out = E.decode_indexed(bytearray(data), i4, gauss8)
    assert out.shape == (2, 3, 5, 7) and out.dtype == np.int32 and np.array_equal(out, v4)
    assert np.array_equal(E.decode_indexed(memoryview(data), idx, gauss8), vals)
    # non-contiguous input is accepted (copied)
    assert E.encode_indexed(np.ascontiguousarray(v4.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3), i4, gauss8) == data


def test_torch_cpu_tensors(gauss8: E.Tables) -> None:
    torch = pytest.importorskip("torch")
    vals, idx = gaussian_latents(10_000, SCALES8, seed=3)
    tv, ti = torch.from_numpy(vals), torch.from_numpy(idx)
    data = E.encode_indexed(tv, ti, gauss8)
    assert data == E.encode_indexed(vals, idx, gauss8)
    out = E.decode_indexed(data, ti.reshape(100, 100), gauss8)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int32 and out.shape == (100, 100)
    assert torch.equal(out.reshape(-1), tv)
    with pytest.raises(TypeError, match="int32"):
        E.encode_indexed(tv.long(), ti, gauss8)


# Golden streams: fixed inputs -> fixed bytes. A format change must update these deliberately
# (and bump the stream version byte).
def _golden_inputs():
    rng = np.random.default_rng(20241127)
    idx = rng.integers(0, 8, 20_000).astype(np.int32)
    vals = np.round(rng.normal(0, SCALES8[idx] * 1.3)).astype(np.int32)
    return vals, idx


def test_golden_bytes(gauss8: E.Tables) -> None:
    t = E.build_tables(np.array([[0.5, 0.3, 0.2]]), precision=4)
    data = E.encode_indexed(np.array([0, 1, 2, 0, 5], np.int32), np.zeros(5, np.int32), t)
    assert data.hex() == GOLDEN_SMALL_HEX
    vals, idx = _golden_inputs()
    data = E.encode_indexed(vals, idx, gauss8, chunk_size=4096)
    assert hashlib.sha256(data).hexdigest() == GOLDEN_GAUSS_SHA256
    data = E.encode_intervals(np.arange(3000, dtype=np.int32) % 200, np.arange(3000, dtype=np.int32) % 50 + 1, 8)
    assert hashlib.sha256(data).hexdigest() == GOLDEN_INTERVALS_SHA256


# magic+version | kind prec lanes flags | N=5 | chunk 2^19 | digest | dir: 0 words, 1 escape |
# lane state | escape block: width 3, value 4 (= 2 * (5 - 3): 5 is two above the 3-symbol table) |
# CRC-32 of header + directory + chunk
GOLDEN_SMALL_HEX = "4c434501" "01040100" "05" "808020" "ece1b9f3" "0001" "c5a69205" "0304" "2613e167"
GOLDEN_GAUSS_SHA256 = "ec716bc3e67599f0671782d88e747102eddff6d0422aa77781e93be304dfb5d1"
GOLDEN_INTERVALS_SHA256 = "cc8d1624dd9c007f7ca1ee774be23eee36b9fa5f06677e5faf15a3ecf0310675"


def test_rate_within_0p1_percent_of_ideal() -> None:
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.full(256, 0.5))
    t = E.build_tables(p[None], precision=15)
    n = 1_000_000
    vals = rng.choice(256, n, p=p).astype(np.int32)
    idx = np.zeros(n, np.int32)
    data = E.encode_indexed(vals, idx, t)
    assert len(data) * 8 < t.code_length(vals, idx) * 1.001
    # latents: 64 scale tables, per-symbol indexes
    t64 = E.gaussian_tables(E.scale_levels(64))
    idx = rng.integers(0, 64, n).astype(np.int32)
    vals = np.round(rng.normal(0, E.scale_levels(64)[idx])).astype(np.int32)
    data = E.encode_indexed(vals, idx, t64)
    assert len(data) * 8 < t64.code_length(vals, idx) * 1.001


def test_cross_check_constriction() -> None:
    """Same probabilities, same ideal: constriction's single-lane ANS and ours differ by about
    our fixed overhead (header + 4 bytes per lane state)."""
    constriction = pytest.importorskip("constriction")
    rng = np.random.default_rng(11)
    p = rng.dirichlet(np.full(64, 0.7))
    t = E.build_tables(p[None], precision=15)
    q = t.freqs(0)[:-1] / 2**15  # the integer model, escape mass dropped
    n = 200_000
    vals = rng.choice(64, n, p=p).astype(np.int32)
    ours = len(E.encode_indexed(vals, np.zeros(n, np.int32), t))
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(vals, constriction.stream.model.Categorical(q / q.sum(), perfect=False))
    theirs = coder.get_compressed().nbytes
    assert -16 <= ours - theirs <= 32 + 4 * 32


@pytest.mark.parametrize("ntables", [1, 8])  # the vector path's small- and large-table layouts
def test_vector_and_scalar_decoders_agree(ntables: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The AVX2 path (when the CPU has it) and the scalar path decode the same values and
    reject the same damage; escapes and short tails exercise the hand-over between them."""
    gauss8 = E.gaussian_tables(SCALES8[:ntables])
    vals, idx = gaussian_latents(100_003, SCALES8[:ntables], seed=8, spread=2.5)
    data = E.encode_indexed(vals, idx, gauss8, chunk_size=30_000)
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x10
    results = []
    for flag in ("", "1"):
        monkeypatch.setenv("LCODEC_NO_SIMD", flag) if flag else monkeypatch.delenv("LCODEC_NO_SIMD", raising=False)
        for threads in (1, 2):  # 1 thread: chunks are decoded in pairs, side by side
            results.append(E.decode_indexed(data, idx, gauss8, threads=threads))
        with pytest.raises(E.StreamError):
            E.decode_indexed(bytes(bad), idx, gauss8)
    assert all(np.array_equal(r, vals) for r in results)


def test_vector_and_scalar_agree_on_damage_past_the_crc(gauss8: E.Tables, monkeypatch: pytest.MonkeyPatch) -> None:
    """Damaged words with a recomputed CRC reach the decoders' final-state checks."""
    import zlib

    vals, idx = gaussian_latents(50_000, SCALES8, seed=4, spread=1.5)
    data = E.encode_indexed(vals, idx, gauss8)  # one chunk: its CRC covers everything before it
    rng = np.random.default_rng(0)
    for _ in range(20):
        bad = bytearray(data[:-4])
        bad[rng.integers(200, len(bad) - 200)] ^= 1 << rng.integers(8)
        bad += zlib.crc32(bad).to_bytes(4, "little")
        outcomes = []
        for flag in ("", "1"):
            monkeypatch.setenv("LCODEC_NO_SIMD", flag) if flag else monkeypatch.delenv("LCODEC_NO_SIMD", raising=False)
            try:
                outcomes.append(E.decode_indexed(bytes(bad), idx, gauss8).tobytes())
            except E.StreamError as e:
                outcomes.append(str(e))
        assert outcomes[0] == outcomes[1]


def test_decode_into_out(gauss8: E.Tables) -> None:
    vals, idx = gaussian_latents(5000, SCALES8, seed=6)
    data = E.encode_indexed(vals, idx, gauss8)
    out = np.full((50, 100), -7, np.int32)
    assert E.decode_indexed(data, idx, gauss8, out=out) is out
    assert np.array_equal(out.reshape(-1), vals)
    with pytest.raises(ValueError, match="match"):
        E.decode_indexed(data, idx, gauss8, out=np.empty(10, np.int32))
    with pytest.raises(ValueError, match="contiguous"):
        E.decode_indexed(data, idx, gauss8, out=np.empty((100, 100), np.int32)[:, ::2])


def test_single_index_for_all_symbols() -> None:
    """One table for every symbol (histogram models): same bytes as a full index array."""
    rng = np.random.default_rng(12)
    t = E.build_tables(rng.dirichlet(np.ones(40), size=3), offsets=[0, -20, 5])
    vals = rng.integers(-30, 60, 70_000).astype(np.int32)
    full = np.full(vals.size, 1, np.int32)
    data = E.encode_indexed(vals, 1, t)
    assert data == E.encode_indexed(vals, full, t) == E.encode_indexed(vals, np.int64(1), t)
    out = E.decode_indexed(data, 1, t)
    assert out.shape == (vals.size,) and np.array_equal(out, vals)
    assert np.array_equal(E.decode_indexed(data, full, t), vals)
    buf = np.empty(vals.size, np.int32)
    assert E.decode_indexed(data, 1, t, out=buf) is buf and np.array_equal(buf, vals)
    with pytest.raises(E.StreamError):
        E.decode_indexed(data, 2, t)
    with pytest.raises(ValueError, match="outside"):
        E.encode_indexed(vals, 3, t)
    with pytest.raises(ValueError, match="outside"):
        E.decode_indexed(data, -1, t)
    with pytest.raises(ValueError, match="symbols but 1 indexes"):
        E.decode_indexed(data, np.array([1], np.int32), t)


def test_vector_and_scalar_encoders_agree(gauss8: E.Tables, monkeypatch: pytest.MonkeyPatch) -> None:
    """The AVX2 encoder (when the CPU has it) writes the scalar encoder's bytes: several tables,
    one table for all, escapes in both directions, a partial last group."""
    vals, idx = gaussian_latents(70_001, SCALES8, seed=13, spread=2.5)
    vals[::997] = 2**31 - 1
    vals[::991] = -(2**31)
    cases = [(vals, idx, gauss8), (vals, 3, gauss8)]
    outs = []
    for flag in ("", "1"):
        monkeypatch.setenv("LCODEC_NO_SIMD", flag) if flag else monkeypatch.delenv("LCODEC_NO_SIMD", raising=False)
        outs.append([E.encode_indexed(v, i, t, chunk_size=20_000) for v, i, t in cases])
    assert outs[0] == outs[1]
    assert outs[0][0] == R.encode_indexed(vals, idx, gauss8, chunk_size=20_000)
    for (v, i, t), data in zip(cases, outs[0]):
        assert np.array_equal(E.decode_indexed(data, i, t), v)
