"""CUDA kernels: same bytes as the CPU coder, both directions, and the same error detection."""
from __future__ import annotations

import numpy as np
import pytest

from lcodec import entropy as E

from .conftest import gaussian_latents

pytestmark = [pytest.mark.gpu, pytest.mark.native]

SCALES8 = E.scale_levels(8, 0.2, 40.0)


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    if not E.cuda_available():
        pytest.skip("lcodec.entropy was built without CUDA kernels")
    return torch


@pytest.mark.parametrize("n,chunk_size,lanes", [(1, 1 << 18, None), (1000, 64, 3), (200_003, 1 << 14, None)])
def test_indexed_bytes_match_cpu(torch, gauss8: E.Tables, n: int, chunk_size: int, lanes: int | None) -> None:
    vals, idx = gaussian_latents(n, SCALES8, seed=n, spread=2.0)
    cpu = E.encode_indexed(vals, idx, gauss8, chunk_size=chunk_size, lanes=lanes)
    gv, gi = torch.from_numpy(vals).cuda(), torch.from_numpy(idx).cuda()
    gpu = E.encode_indexed(gv, gi, gauss8, chunk_size=chunk_size, lanes=lanes)
    assert gpu == cpu
    out = E.decode_indexed(cpu, gi, gauss8)
    assert out.is_cuda and out.dtype == torch.int32
    assert np.array_equal(out.cpu().numpy(), vals)


def test_intervals_bytes_match_cpu(torch) -> None:
    rng = np.random.default_rng(1)
    starts = rng.integers(0, 4000, 100_000).astype(np.int32)
    freqs = rng.integers(1, 96, 100_000).astype(np.int32)
    cpu = E.encode_intervals(starts, freqs, 12, chunk_size=5000)
    gpu = E.encode_intervals(torch.from_numpy(starts).cuda(), torch.from_numpy(freqs).cuda(), 12, chunk_size=5000)
    assert gpu == cpu


def test_gpu_errors(torch, gauss8: E.Tables) -> None:
    vals, idx = gaussian_latents(50_000, SCALES8, seed=3)
    data = bytearray(E.encode_indexed(vals, idx, gauss8, chunk_size=4096))
    gi = torch.from_numpy(idx).cuda()
    data[len(data) // 2] ^= 4
    with pytest.raises(E.StreamError):
        E.decode_indexed(bytes(data), gi, gauss8)
    bad = idx.copy()
    bad[777] = 99
    with pytest.raises(ValueError, match="777"):
        E.encode_indexed(torch.from_numpy(vals).cuda(), torch.from_numpy(bad).cuda(), gauss8)
    with pytest.raises(ValueError, match="interval"):
        E.encode_intervals(torch.zeros(4, dtype=torch.int32, device="cuda"),
                           torch.zeros(4, dtype=torch.int32, device="cuda"), 8)


def test_cuda_interval_decoder_rounds(torch) -> None:
    prec = 10
    rng = np.random.default_rng(3)
    n = 5000
    cdf = np.concatenate([[0], np.sort(rng.choice(np.arange(1, 1 << prec), 15, replace=False)), [1 << prec]])
    sym = rng.integers(0, 16, n)
    data = E.encode_intervals(cdf[sym], cdf[sym + 1] - cdf[sym], prec, chunk_size=300)
    dec = E.CudaIntervalDecoder(data)
    gcdf = torch.from_numpy(cdf).cuda()
    out = torch.full((n,), -1, dtype=torch.int64, device="cuda")
    while not dec.done:
        slots, pos = dec.peek()
        s = (torch.searchsorted(gcdf, slots.clamp(min=0).to(torch.int64), right=True) - 1).clamp(0, 15)
        dec.advance((gcdf[s]).to(torch.int32), (gcdf[s + 1] - gcdf[s]).to(torch.int32))
        m = pos >= 0
        out[pos[m]] = s[m]
    assert np.array_equal(out.cpu().numpy(), sym)
    dec = E.CudaIntervalDecoder(data)
    with pytest.raises(ValueError):
        while not dec.done:
            slots, _ = dec.peek()
            dec.advance(torch.zeros_like(slots), torch.ones_like(slots))  # wrong model
