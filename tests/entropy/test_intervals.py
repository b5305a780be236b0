"""Explicit intervals: buffered reverse encoder, peek/advance decoder, reference bytes."""
from __future__ import annotations

import numpy as np
import pytest

from lcodec import entropy as E
from lcodec.entropy import reference as R

pytestmark = pytest.mark.native


def _model(n: int, precision: int, seed: int):
    """A per-position CDF (as an autoregressive model would give) and symbols drawn from it."""
    rng = np.random.default_rng(seed)
    nsym = 6
    freqs = rng.integers(1, 100, (n, nsym))
    freqs = (freqs * ((1 << precision) - nsym) // freqs.sum(1, keepdims=True)) + 1
    freqs[:, -1] += (1 << precision) - freqs.sum(1)
    cdf = np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(freqs, 1)], 1)
    sym = rng.integers(0, nsym, n)
    return cdf, sym


@pytest.mark.parametrize("n", [0, 1, 40, 3000])
@pytest.mark.parametrize("chunk_size", [7, 1 << 19])
def test_peek_advance_roundtrip(n: int, chunk_size: int) -> None:
    prec = 12
    cdf, sym = _model(n, prec, n)
    starts = cdf[np.arange(n), sym].astype(np.int32)
    freqs = (cdf[np.arange(n), sym + 1] - cdf[np.arange(n), sym]).astype(np.int32)
    enc = E.IntervalEncoder(prec)
    half = n // 2
    for i in range(half):  # scalar pushes, then one array push
        enc.push(int(starts[i]), int(freqs[i]))
    enc.push(starts[half:], freqs[half:])
    assert len(enc) == n
    data = enc.finish(chunk_size=chunk_size)
    assert data == R.encode_intervals(starts, freqs, prec, chunk_size=chunk_size)
    assert data == E.encode_intervals(starts, freqs, prec, chunk_size=chunk_size)
    dec = E.IntervalDecoder(data)
    assert len(dec) == n and dec.precision == prec
    out = []
    while not dec.done:
        i = dec.position
        slot = dec.peek()
        s = int(np.searchsorted(cdf[i], slot, side="right")) - 1  # the caller's own CDF search
        dec.advance(int(cdf[i, s]), int(cdf[i, s + 1] - cdf[i, s]))
        out.append(s)
    assert out == sym.tolist()


def test_peek_many_advance_many() -> None:
    prec = 10
    n = 5000
    cdf, sym = _model(n, prec, 1)
    r = np.arange(n)
    data = E.encode_intervals(cdf[r, sym], cdf[r, sym + 1] - cdf[r, sym], prec, chunk_size=1000)
    dec = E.IntervalDecoder(data)
    assert dec.lanes == 4
    out = []
    while not dec.done:
        k = min(dec.lanes, n - dec.position)
        pos = np.arange(dec.position, dec.position + k)
        slots = dec.peek_many(k)
        assert slots.dtype == np.uint32 and slots.shape == (k,)
        s = np.array([np.searchsorted(cdf[p], sl, side="right") - 1 for p, sl in zip(pos, slots)])
        dec.advance_many(cdf[pos, s], cdf[pos, s + 1] - cdf[pos, s])
        out.extend(s.tolist())
    assert out == sym.tolist()
    with pytest.raises(ValueError):
        dec.peek()


def test_uniform_bypass_and_full_precision() -> None:
    """Raw bits through intervals of freq 2**(p - b); freq = 2**16 (certain symbol) at p = 16."""
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 256, 1000)
    enc = E.IntervalEncoder(16)
    for b in bits.tolist():
        enc.push(b << 8, 1 << 8)
        enc.push(0, 1 << 16)
    data = enc.finish()
    dec = E.IntervalDecoder(data)
    for b in bits.tolist():
        assert dec.peek() >> 8 == b
        dec.advance(b << 8, 1 << 8)
        dec.advance(0, 1 << 16)
    assert dec.done
    assert len(data) < 1000 + 64


def test_reference_decoder_agrees() -> None:
    prec = 8
    cdf, sym = _model(500, prec, 9)
    r = np.arange(500)
    data = E.encode_intervals(cdf[r, sym], cdf[r, sym + 1] - cdf[r, sym], prec, lanes=3)
    got = []

    def lookup(i: int, slot: int):
        s = int(np.searchsorted(cdf[i], slot, side="right")) - 1
        got.append(s)
        return int(cdf[i, s]), int(cdf[i, s + 1] - cdf[i, s])

    assert R.decode_intervals(data, lookup) == 500 and got == sym.tolist()


def test_interval_errors() -> None:
    enc = E.IntervalEncoder(8)
    for start, freq in [(0, 0), (-1, 2), (200, 57), (256, 1)]:
        with pytest.raises(ValueError, match="interval"):
            enc.push(start, freq)
    with pytest.raises(ValueError, match="interval 1 "):
        enc.push(np.array([0, 250], np.int32), np.array([1, 7], np.int32))
    assert len(enc) == 0
    with pytest.raises(TypeError):
        enc.push(np.array([0.5]), np.array([1.0]))
    with pytest.raises(ValueError, match="precision"):
        E.IntervalEncoder(0)
    enc.push(10, 20)
    dec = E.IntervalDecoder(enc.finish())
    with pytest.raises(ValueError, match="does not contain"):
        dec.advance(0, 5)
    dec.advance(10, 20)
    assert dec.done
    with pytest.raises(ValueError, match="intervals stream|indexed"):
        E.IntervalDecoder(E.encode_indexed(np.zeros(3, np.int32), np.zeros(3, np.int32), E.build_tables([[1.0]])))


def test_wrong_model_is_detected() -> None:
    prec = 12
    cdf, sym = _model(2000, prec, 4)
    r = np.arange(2000)
    data = E.encode_intervals(cdf[r, sym], cdf[r, sym + 1] - cdf[r, sym], prec)
    dec = E.IntervalDecoder(data)
    with pytest.raises(ValueError):
        while not dec.done:  # decode with a uniform model instead of the real one
            s = dec.peek()
            dec.advance(s, 1)
