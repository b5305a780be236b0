"""Integer table construction: exactness, determinism, families, serialisation."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from lcodec import entropy as E

# sha256 prefix of gaussian_tables(scale_levels(64)).to_bytes(): codecs rebuild these tables on
# both ends, so the float-to-integer recipe must not drift.
GAUSS64_SHA = "40fc374a24faa815"


@pytest.mark.parametrize("n", [1, 2, 3, 17, 256, 4096])
@pytest.mark.parametrize("precision", [12, 15, 16])
def test_quantize_sums_and_floors(n: int, precision: int) -> None:
    rng = np.random.default_rng(n * 100 + precision)
    p = rng.dirichlet(np.full(n, 0.3))
    p[rng.random(n) < 0.2] = 0.0  # zero-probability symbols still get one slot
    f = E.quantize_pmf(p, precision)
    assert f.dtype == np.int64 and f.shape == (n,)
    assert int(f.sum()) == 1 << precision and int(f.min()) >= 1


def test_quantize_near_optimal() -> None:
    """Cross-entropy of the integer table is within 0.1 % of the pmf's entropy for a smooth pmf."""
    x = np.arange(-60, 61)
    p = np.exp(-0.5 * (x / 12.0) ** 2)
    p /= p.sum()
    f = E.quantize_pmf(p, 15)
    h = -(p * np.log2(p)).sum()
    ce = -(p * np.log2(f / 2**15)).sum()
    assert ce < h * 1.001


def test_quantize_golden() -> None:
    """The recipe is part of the format's determinism: a change here must be deliberate."""
    f = E.quantize_pmf([0.5, 0.25, 0.125, 0.0625, 0.0625 - 1e-6, 1e-6, 0.0], 10)
    assert f.tolist() == [511, 255, 128, 64, 64, 1, 1]
    t = E.gaussian_tables(E.scale_levels(64))
    assert hashlib.sha256(t.to_bytes()).hexdigest()[:16] == GAUSS64_SHA


def test_quantize_rejects_bad_pmfs() -> None:
    with pytest.raises(ValueError):
        E.quantize_pmf([0.5, -0.1])
    with pytest.raises(ValueError):
        E.quantize_pmf([np.nan, 1.0])
    with pytest.raises(ValueError):
        E.quantize_pmf(np.ones(17), precision=4)
    assert E.quantize_pmf([0.0, 0.0], 4).tolist() == [8, 8]  # all zero: uniform


def test_build_tables_shapes_and_escape() -> None:
    pmfs = np.array([[0.2, 0.3, 0.5, 0.0], [0.25, 0.25, 0.0, 0.0]])
    t = E.build_tables(pmfs, lengths=[3, 2], offsets=[-1, 5], precision=12)
    assert t.cdfs.dtype == np.int32 and t.cdfs.shape == (2, 5)
    assert t.cdf_lengths.tolist() == [5, 4] and t.sizes.tolist() == [3, 2]
    assert t.offsets.tolist() == [-1, 5]
    assert t.freqs(0)[-1] == 1  # no tail mass: escape keeps the minimum
    assert t.freqs(1)[-1] > 1000  # half the mass is missing: escape gets it
    assert all(int(t.freqs(k).sum()) == 4096 for k in range(2))


def test_tables_hash_eq_and_bytes_roundtrip(gauss8: E.Tables) -> None:
    t2 = E.Tables.from_bytes(gauss8.to_bytes())
    assert t2 == gauss8 and hash(t2) == hash(gauss8)
    assert np.array_equal(t2.cdfs, gauss8.cdfs)
    assert E.gaussian_tables(E.scale_levels(8, 0.2, 40.0)) == gauss8  # deterministic
    assert E.gaussian_tables(E.scale_levels(8, 0.2, 41.0)) != gauss8
    import pickle

    assert pickle.loads(pickle.dumps(gauss8)) == gauss8


@pytest.mark.parametrize("bad", [b"", b"LCT\x01", b"LCT\x01\x0f\x01\x00\x01\x00", b"XXXX\x0f\x01"])
def test_tables_from_bytes_rejects(bad: bytes) -> None:
    with pytest.raises(ValueError):
        E.Tables.from_bytes(bad)


@pytest.mark.parametrize("family", [E.gaussian_tables, E.laplace_tables, E.logistic_tables])
def test_families(family) -> None:
    t = family([0.05, 1.0, 7.5, 300.0])
    assert t.num_tables == 4
    for k in range(4):
        f = t.freqs(k)
        assert int(f.sum()) == 1 << 15 and f.min() >= 1
        assert np.abs(f[:-1] - f[:-1][::-1]).max() <= 1  # symmetric up to tie-breaking
        assert int(t.offsets[k]) == -(int(t.sizes[k]) // 2)
    assert t.sizes[0] < t.sizes[1] < t.sizes[2] < t.sizes[3]


def test_from_cdfs_compressai_shape() -> None:
    """compressai's buffers: 16-bit cdfs padded to a common width, lengths = symbols + 2."""
    cdfs = np.array([[0, 30000, 65535, 65536, 0], [0, 100, 40000, 65000, 65536]], np.int32)
    t = E.Tables.from_cdfs(cdfs, np.array([4, 5]), np.array([-1, -2]))
    assert t.precision == 16 and t.sizes.tolist() == [2, 3]
    t2 = E.Tables.from_cdfs([[0, 30000, 65535, 65536], [0, 100, 40000, 65000, 65536]], [4, 5], [-1, -2])
    assert t2 == t


def test_histogram_tables() -> None:
    rng = np.random.default_rng(3)
    w = np.clip(np.round(rng.laplace(0, 6, 20000)), -90, 90).astype(np.int8)
    t = E.histogram_tables(w)
    assert t.num_tables == 1 and int(t.offsets[0]) == int(w.min())
    blob = t.to_bytes()
    assert len(blob) < 3 * (int(w.max()) - int(w.min()) + 2) + 16
    assert E.Tables.from_bytes(blob) == t
    data = E.encode_indexed(w.astype(np.int32), np.zeros(w.size, np.int32), t)
    assert np.array_equal(E.decode_indexed(data, np.zeros(w.size, np.int32), t), w)
    with pytest.raises(TypeError):
        E.histogram_tables(np.array([0.5]))


def test_scale_indexes() -> None:
    lv = E.scale_levels(64)
    idx = E.scale_indexes(np.array([0.0, 0.11, 0.2, 255.0, 1e9]), lv)
    assert idx.dtype == np.int32
    assert idx[0] == 0 and idx[-1] == 63 and np.all(np.diff(idx) >= 0)


def test_native_validation() -> None:
    with pytest.raises(ValueError, match="zero"):
        E.Tables(np.array([[0, 5, 5, 16]]), [4], [0], precision=4)
    with pytest.raises(ValueError, match="end at"):
        E.Tables(np.array([[0, 5, 9, 15]]), [4], [0], precision=4)
    with pytest.raises(ValueError, match="start at 0"):
        E.Tables(np.array([[1, 5, 9, 16]]), [4], [0], precision=4)
    with pytest.raises(ValueError, match="length"):
        E.Tables(np.array([[0, 5, 9, 16]]), [5], [0], precision=4)
    with pytest.raises(ValueError, match="overflows"):
        E.Tables(np.array([[0, 5, 9, 16]]), [4], [2**31 - 1], precision=4)
    with pytest.raises(ValueError, match="precision"):
        E.Tables(np.array([[0, 5, 9, 16]]), [4], [0], precision=17)
