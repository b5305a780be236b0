"""Still-image baselines: JPEG, WebP and AVIF on scikit-image's photos, plus machine perception.

Every point is a real ``.lc`` file (encode -> file -> decode -> PSNR, Y-PSNR, MS-SSIM); then the
same codecs at low rates under two downstream models (Haar face detection on lfw_subset, the
shipped digit classifier). Writes rows (JSONL, resumable), report.md, report.json and PNG plots:

    python benchmarks/rd_images.py                 # -> benchmarks/results/rd_images/, rd_images_mpq/
    python benchmarks/rd_images.py -j 2 --codecs jpeg,webp --no-mpq

No learned image codec is registered yet; add its id to --codecs when one is.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from lcodec.eval import inputs, mpq, rd, report
from lcodec.parallel import get_executor

RESULTS = Path(__file__).parent / "results"
SCRATCH = Path(tempfile.gettempdir()) / "lcodec-bench-inputs"  # synthesised sets; not committed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", default="skimage", help="comma-separated files, folders or sets")
    parser.add_argument("--codecs", default="jpeg,webp,avif")
    parser.add_argument("--anchor", default="jpeg")
    parser.add_argument("--tasks", default="faces,digits", help="MPQ tasks")
    parser.add_argument("--no-mpq", action="store_true")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "rd_images")
    args = parser.parse_args()

    codecs = args.codecs.split(",")
    items = inputs.resolve(args.inputs.split(","), SCRATCH)
    with get_executor("local", args.jobs) as executor:
        summary = rd.run_sweep(rd.plan(items, codecs), args.out / "rows.jsonl", executor=executor)
        print(f"rd: {summary.as_dict()}")
        report.build(rd.load_rows(args.out / "rows.jsonl"), args.out, anchor=args.anchor,
                     title="Still images: classic codecs on scikit-image photos")
        if not args.no_mpq:
            out = args.out.with_name(args.out.name + "_mpq")
            summary = rd.run_sweep(mpq.plan(args.tasks.split(","), codecs), out / "rows.jsonl",
                                   executor=executor, work=mpq.run_task)
            print(f"mpq: {summary.as_dict()}")
            report.build(rd.load_rows(out / "rows.jsonl"), out, anchor=args.anchor,
                         title="Machine-perceptual quality: task scores against rate")
    print(f"wrote {args.out}/report.md")


if __name__ == "__main__":
    main()
