"""Audio baselines: Opus and MP3 (FLAC as the lossless reference) on offline speech.

Speech is spoken by espeak-ng at 16 kHz when the Debian package is installed (the 'speech' set),
else the synthetic voiced 'tones' set is used. Every point is a real ``.lc`` file (encode -> file
-> decode -> SI-SDR, log-mel distance, STOI, wideband PESQ).
Then machine perception: pocketsphinx's word error rate on spoken digits through Opus and MP3
(benchmarks/results/rd_audio_mpq/; needs espeak-ng). Writes rows (JSONL, resumable), report.md,
report.json and PNG plots into benchmarks/results/rd_audio/.

No learned audio codec is registered yet; add its id to --codecs when one is.

    python benchmarks/rd_audio.py
    python benchmarks/rd_audio.py --inputs tones,my_speech.wav
"""
from __future__ import annotations

import argparse
import tempfile
import shutil
from pathlib import Path

from lcodec.eval import inputs, mpq, rd, report
from lcodec.parallel import get_executor

RESULTS = Path(__file__).parent / "results"
REMARKS = ["Rates are whole .lc files: codec packets plus lcodec's packet table (a few bytes per packet, "
           "delta-coded) and the container's header, CRCs and seek index."]
SCRATCH = Path(tempfile.gettempdir()) / "lcodec-bench-inputs"  # synthesised sets; not committed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", default="speech" if shutil.which("espeak-ng") else "tones",
                        help="comma-separated files, folders or sets (default: speech, or tones without espeak-ng)")
    parser.add_argument("--codecs", default="opus,mp3,flac")
    parser.add_argument("--anchor", default="mp3")
    parser.add_argument("--no-mpq", action="store_true", help="skip the spoken-digits task")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "rd_audio")
    args = parser.parse_args()

    items = inputs.resolve(args.inputs.split(","), SCRATCH)
    points = {"opus": [{"bitrate": b} for b in (6, 12, 24, 48)], "mp3": [{"bitrate": b} for b in (16, 32, 64, 128)]}
    tasks = rd.plan(items, args.codecs.split(","), {c: p for c, p in points.items() if c in args.codecs.split(",")})
    with get_executor("local", args.jobs) as executor:
        summary = rd.run_sweep(tasks, args.out / "rows.jsonl", executor=executor)
        print(f"rd: {summary.as_dict()}")
        report.build(rd.load_rows(args.out / "rows.jsonl"), args.out, anchor=args.anchor,
                     title=f"Audio: classic codecs on {args.inputs}", remarks=REMARKS)
        reason = mpq.get_task("spoken-digits").unavailable_reason()
        if not args.no_mpq and not reason:
            out = args.out.with_name(args.out.name + "_mpq")
            lossy = [c for c in args.codecs.split(",") if c in ("opus", "mp3")]
            summary = rd.run_sweep(mpq.plan(["spoken-digits"], lossy), out / "rows.jsonl", executor=executor,
                                   work=mpq.run_task)
            print(f"mpq: {summary.as_dict()}")
            report.build(rd.load_rows(out / "rows.jsonl"), out, anchor=args.anchor,
                         title="Machine-perceptual quality: spoken-digit WER against rate", remarks=REMARKS)
        elif reason:
            print(f"mpq skipped: {reason}")
    print(f"wrote {args.out}/report.md")


if __name__ == "__main__":
    main()
