"""Entropy-coder benchmark: lcodec vs constriction vs compressai's rANS vs zstd, one process.

Why: issue 3's targets (>= 100 Msym/s per core and >= 10x constriction/compressai on latents;
decode at least as fast as zstd -3 with smaller output on bytes; sizes within 0.1 % of ideal)
are claims about relative speed on the same machine, so every coder runs here on the same data.

Cases:
  a) 4 M quantised-Gaussian latents, 64 scale tables (compressai's default scale levels),
     a table index per symbol;
  b) 4 M i.i.d. bytes from a fixed 256-symbol categorical.

Writes benchmarks/results/entropy.json and entropy.md. Usage: python benchmarks/entropy.py [--n N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from lcodec import entropy as E

from _timing import best_time  # benchmarks/ is on sys.path when run as a script

RESULTS = Path(__file__).parent / "results"



FLOAT_IDEAL: dict[str, float] = {}  # case -> ideal bits under the float model


def row(case: str, coder: str, n: int, nbytes: int, ideal_bits: float, enc_s: float | None,
        dec_s: float | None, ok: bool, note: str = "") -> dict:
    return {
        "case": case,
        "coder": coder,
        "symbols": n,
        "bytes": nbytes,
        "ideal_bytes": ideal_bits / 8,
        "overhead_pct": 100 * (nbytes * 8 / ideal_bits - 1),
        "overhead_vs_float_model_pct": 100 * (nbytes * 8 / FLOAT_IDEAL[case] - 1),
        "encode_msym_s": n / enc_s / 1e6 if enc_s else None,
        "decode_msym_s": n / dec_s / 1e6 if dec_s else None,
        "roundtrip_ok": ok,
        "note": note,
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def gaussian_bits(vals: np.ndarray, scales: np.ndarray) -> float:
    """-sum log2 P(v) under the float model: N(0, s^2) integrated over [v - 1/2, v + 1/2)."""
    from scipy.special import ndtr

    a = np.abs(vals).astype(np.float64)
    p = ndtr(-(a - 0.5) / scales) - ndtr(-(a + 0.5) / scales)  # upper tail differences: accurate
    p = np.where(a == 0, 1.0 - 2.0 * ndtr(-0.5 / scales), p)
    return float(-np.sum(np.log2(p)))


def bench_lcodec(case: str, vals: np.ndarray, idx: np.ndarray | int, tables: E.Tables, ideal: float, threads: int,
                 repeat: int) -> dict:
    enc_s, data = best_time(lambda: E.encode_indexed(vals, idx, tables, threads=threads), repeat)
    # Decoding into a reused array (out=): a fresh 16 MB array costs page faults (~3 ms here)
    # that have nothing to do with the coder.
    buf = np.empty(vals.size, np.int32)
    dec_s, out = best_time(lambda: E.decode_indexed(data, idx, tables, out=buf, threads=threads), repeat)
    note = "decode into a reused array" + ("" if isinstance(idx, np.ndarray) else "; one table index for all")
    return row(case, f"lcodec ({threads} thread{'s' if threads > 1 else ''})", vals.size, len(data), ideal,
               enc_s, dec_s, bool(np.array_equal(out, vals)), note)


def bench_compressai(case: str, vals: np.ndarray, idx: np.ndarray, tables16: E.Tables, ideal: float) -> list[dict]:
    """compressai's C++ rANS takes Python lists; end to end includes the list conversion a
    caller with arrays pays, 'core' times the call alone."""
    from compressai.ans import RansDecoder, RansEncoder

    cdfs = [tables16.cdfs[k, : int(tables16.cdf_lengths[k])].tolist() for k in range(tables16.num_tables)]
    lens, offs = tables16.cdf_lengths.tolist(), tables16.offsets.tolist()
    t0 = time.perf_counter()
    vl, il = vals.tolist(), idx.tolist()
    t1 = time.perf_counter()
    data = RansEncoder().encode_with_indexes(vl, il, cdfs, lens, offs)
    t2 = time.perf_counter()
    il = idx.tolist()
    t3 = time.perf_counter()
    out = RansDecoder().decode_with_indexes(data, il, cdfs, lens, offs)
    t4 = time.perf_counter()
    out = np.asarray(out, np.int32)
    t5 = time.perf_counter()
    ok = bool(np.array_equal(out, vals))
    return [
        row(case, "compressai rANS (end to end)", vals.size, len(data), ideal, t2 - t0, (t4 - t2) + (t5 - t4), ok,
            "16-bit tables; lists in and out"),
        row(case, "compressai rANS (C++ call only)", vals.size, len(data), ideal, t2 - t1, t4 - t3, ok),
    ]


def bench_constriction_gaussian(case: str, vals: np.ndarray, scales: np.ndarray, ideal: float) -> dict:
    import constriction

    r = int(np.abs(vals).max()) + 1
    model = constriction.stream.model.QuantizedGaussian(-r, r)
    means = np.zeros(vals.size)
    std = scales.astype(np.float64)

    def enc():
        c = constriction.stream.stack.AnsCoder()
        c.encode_reverse(vals, model, means, std)
        return c.get_compressed()

    enc_s, comp = best_time(enc, 1)

    def dec():
        return constriction.stream.stack.AnsCoder(comp).decode(model, means, std)

    dec_s, out = best_time(dec, 1)
    return row(case, "constriction ANS", vals.size, comp.nbytes, ideal, enc_s, dec_s,
               bool(np.array_equal(out, vals)), "QuantizedGaussian, per-symbol std")


def bench_constriction_categorical(case: str, vals: np.ndarray, p: np.ndarray, ideal: float) -> dict:
    import constriction

    model = constriction.stream.model.Categorical(p, perfect=False)

    def enc():
        c = constriction.stream.stack.AnsCoder()
        c.encode_reverse(vals, model)
        return c.get_compressed()

    enc_s, comp = best_time(enc, 1)
    dec_s, out = best_time(lambda: constriction.stream.stack.AnsCoder(comp).decode(model, vals.size), 1)
    return row(case, "constriction ANS", vals.size, comp.nbytes, ideal, enc_s, dec_s,
               bool(np.array_equal(out, vals)))


def bench_zstd(case: str, raw: bytes, n: int, ideal: float, repeat: int, note: str) -> dict:
    import zstandard

    c = zstandard.ZstdCompressor(level=3)
    d = zstandard.ZstdDecompressor()
    enc_s, comp = best_time(lambda: c.compress(raw), repeat)
    dec_s, out = best_time(lambda: d.decompress(comp), repeat)
    return row(case, "zstd -3", n, len(comp), ideal, enc_s, dec_s, out == raw, note)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-compressai", action="store_true", help="skip the ~20 s compressai import")
    args = ap.parse_args()
    n, rep = args.n, args.repeat
    threads = os.cpu_count() or 1
    rng = np.random.default_rng(1234)
    rows: list[dict] = []

    # (a) latents: y ~ N(0, s) rounded, s one of the 64 table scales
    levels = E.scale_levels(64)
    tables = E.gaussian_tables(levels)
    idx = rng.integers(0, 64, n).astype(np.int32)
    vals = np.round(rng.normal(0.0, levels[idx])).astype(np.int32)
    ideal_int = tables.code_length(vals, idx)
    FLOAT_IDEAL["a"] = gaussian_bits(vals, levels[idx])
    for th in sorted({1, threads}):
        rows.append(bench_lcodec("a", vals, idx, tables, ideal_int, th, rep))
    rows.append(bench_constriction_gaussian("a", vals, levels[idx], ideal_int))
    if not args.skip_compressai:
        rows += bench_compressai("a", vals, idx, E.gaussian_tables(levels, precision=16), ideal_int)
    rows.append(bench_zstd("a", vals.astype(np.int16).tobytes(), n, ideal_int, rep, "values as int16"))

    # (b) bytes from a fixed categorical
    p = np.random.default_rng(7).dirichlet(np.full(256, 0.5))
    tb = E.build_tables(p[None], precision=15)
    b = rng.choice(256, n, p=p).astype(np.int32)
    zero = np.zeros(n, np.int32)
    ideal_b = tb.code_length(b, zero)
    FLOAT_IDEAL["b"] = float(-np.sum(np.log2(p[b])))
    for th in sorted({1, threads}):  # one table for all symbols: a single index, no index array
        rows.append(bench_lcodec("b", b, 0, tb, ideal_b, th, rep))
    rows.append(bench_constriction_categorical("b", b, p, ideal_b))
    if not args.skip_compressai:
        rows += bench_compressai("b", b, zero, E.build_tables(p[None], precision=16), ideal_b)
    rows.append(bench_zstd("b", b.astype(np.uint8).tobytes(), n, ideal_b, rep, "the raw bytes"))

    meta = {
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, {platform.machine()}, no GPU used",
        "symbols": n,
        "threads_all": threads,
        "ideal": "bytes of -sum log2(freq / 2^precision) under lcodec's 15-bit integer tables",
        "float_model": "(a) the discretised Gaussian N(0, s^2) itself, (b) the categorical's float pmf",
        "float_ideal_bytes": {k: v / 8 for k, v in FLOAT_IDEAL.items()},
        "lcodec_format": E.FORMAT,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "entropy.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    (RESULTS / "entropy.md").write_text(markdown(meta, rows))
    print(markdown(meta, rows))


def markdown(meta: dict, rows: list[dict]) -> str:
    names = {"a": "(a) 4 M Gaussian latents, 64 tables", "b": "(b) 4 M i.i.d. bytes, 256-symbol categorical"}
    out = [
        "# Entropy coder benchmark",
        "",
        f"Machine: {meta['machine']}. Symbols per case: {meta['symbols']:,}.",
        f"Ideal (int tables): {meta['ideal']}. Float model: {meta['float_model']}.",
        "Speeds are best of several runs (constriction and compressai: one run), in million symbols/s.",
        "",
    ]
    for case in ("a", "b"):
        title = names[case].replace("4 M", f"{meta['symbols'] / 1e6:g} M")
        out += [f"## {title}", "",
                "| coder | bytes | vs ideal (int tables) | vs float model | encode Msym/s | decode Msym/s | round trip | note |",
                "|---|---:|---:|---:|---:|---:|:-:|---|"]
        for r in rows:
            if r["case"] != case:
                continue
            f = lambda v: "-" if v is None else f"{v:,.1f}"
            out.append(f"| {r['coder']} | {r['bytes']:,} | {r['overhead_pct']:+.3f} % | "
                       f"{r['overhead_vs_float_model_pct']:+.3f} % | {f(r['encode_msym_s'])} | "
                       f"{f(r['decode_msym_s'])} | {'ok' if r['roundtrip_ok'] else 'FAIL'} | {r['note']} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    main()
