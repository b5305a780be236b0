"""GPU entropy-coder check and throughput (issue 3): run it whenever a CUDA device is at hand.

1. CPU <-> GPU byte equality: GPU encode == CPU encode, CPU-encoded streams decode on the GPU and
   GPU-encoded ones on the CPU, for indexed tables (with escapes) and explicit intervals.
2. Throughput on a batch large enough to fill a GPU: case (a) of benchmarks/entropy.py
   (quantised Gaussian latents, 64 scale tables, per-symbol indexes) with 2^16-symbol chunks,
   i.e. thousands of 32-lane streams. Target: >= 20 Gsym/s decode on an H100-class GPU.

Writes benchmarks/results/entropy_gpu.{json,md}. Runs in about a minute.
Usage: python benchmarks/entropy_gpu.py [--log2n 28]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from lcodec import entropy as E

RESULTS = Path(__file__).parent / "results"


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    out, best = None, float("inf")
    for _ in range(repeat):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best, out


def equality_checks(tables: E.Tables, levels: np.ndarray) -> dict:
    rng = np.random.default_rng(0)
    res = {}
    for n, cs in [(1000, 100), (1_000_003, 1 << 16), (4_000_000, 1 << 18)]:
        idx = rng.integers(0, 64, n).astype(np.int32)
        vals = np.round(rng.normal(0, levels[idx] * 1.2)).astype(np.int32)  # some escapes
        cpu = E.encode_indexed(vals, idx, tables, chunk_size=cs)
        gv, gi = torch.from_numpy(vals).cuda(), torch.from_numpy(idx).cuda()
        gpu = E.encode_indexed(gv, gi, tables, chunk_size=cs)
        dec_gpu = E.decode_indexed(cpu, gi, tables).cpu().numpy()
        dec_cpu = E.decode_indexed(gpu, idx, tables)
        res[f"indexed n={n} chunk={cs}"] = bool(
            gpu == cpu and np.array_equal(dec_gpu, vals) and np.array_equal(dec_cpu, vals))
    starts = rng.integers(0, 3000, 1_000_000).astype(np.int32)
    freqs = rng.integers(1, 1000, 1_000_000).astype(np.int32)
    cpu = E.encode_intervals(starts, freqs, 12, chunk_size=1 << 15)
    gpu = E.encode_intervals(torch.from_numpy(starts).cuda(), torch.from_numpy(freqs).cuda(), 12, chunk_size=1 << 15)
    res["intervals n=1000000"] = gpu == cpu
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log2n", type=int, default=28, help="symbols in the throughput batch (2^28 = 268 M)")
    ap.add_argument("--chunk", type=int, default=1 << 16)
    args = ap.parse_args()
    assert torch.cuda.is_available() and E.cuda_available(), "needs a CUDA device and the CUDA build"
    levels = E.scale_levels(64)
    tables = E.gaussian_tables(levels)
    eq = equality_checks(tables, levels)
    print("byte equality:", eq)

    n = 1 << args.log2n
    g = torch.Generator(device="cuda").manual_seed(1)
    idx = torch.randint(0, 64, (n,), device="cuda", dtype=torch.int32, generator=g)
    lv = torch.tensor(levels, device="cuda", dtype=torch.float32)
    vals = torch.round(torch.randn(n, device="cuda", generator=g) * lv[idx]).to(torch.int32)
    enc_s, data = timed(lambda: E.encode_indexed(vals, idx, tables, chunk_size=args.chunk), 3)
    dec_s, out = timed(lambda: E.decode_indexed(data, idx, tables), 5)
    ok = bool(torch.equal(out, vals))
    info = E.stream_info(data)
    ideal = tables.code_length(vals[: 1 << 22].cpu().numpy(), idx[: 1 << 22].cpu().numpy()) * (n >> 22)
    res = {
        "device": torch.cuda.get_device_name(),
        "byte_equality": eq,
        "symbols": n,
        "chunk_size": args.chunk,
        "chunks": info["chunks"],
        "bytes": len(data),
        "overhead_vs_ideal_pct_estimate": 100 * (len(data) * 8 / ideal - 1),
        "encode_gsym_s_end_to_end": n / enc_s / 1e9,
        "decode_gsym_s_end_to_end": n / dec_s / 1e9,
        "roundtrip_ok": ok,
        "note": "end to end: includes host<->device copies of the stream bytes and header parsing",
    }
    print(json.dumps(res, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "entropy_gpu.json").write_text(json.dumps(res, indent=2) + "\n")
    md = [
        "# GPU entropy coder",
        "",
        f"Device: {res['device']}. {n:,} symbols, case (a) latents, {info['chunks']} chunks of {args.chunk:,}.",
        "",
        "| check | result |",
        "|---|---|",
        *[f"| bytes equal: {k} | {'ok' if v else 'FAIL'} |" for k, v in eq.items()],
        f"| round trip | {'ok' if ok else 'FAIL'} |",
        f"| encode (end to end) | {res['encode_gsym_s_end_to_end']:.2f} Gsym/s |",
        f"| decode (end to end) | {res['decode_gsym_s_end_to_end']:.2f} Gsym/s |",
        "",
    ]
    (RESULTS / "entropy_gpu.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()
