"""Start-up time of the command line: `lcodec --help`, `list`, `info` next to bare `python -c pass`.

Goal (issue 2): under 0.3 s more than bare Python. Writes benchmarks/results/startup.{json,md}.
Usage: python benchmarks/startup.py [--repeat N]
"""
from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def wall(argv: list[str], repeat: int) -> float:
    """Median wall time of ``repeat`` runs, after one warm-up run."""
    subprocess.run(argv, check=True, capture_output=True)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sample_file(folder: Path) -> Path:
    from lcodec.formats import Chunk, Writer

    path = folder / "sample.lc"
    with Writer(path, {"codec": {"id": "png", "version": 1, "config": {}},
                       "media": {"kind": "image", "height": 8, "width": 8}}) as writer:
        writer.add(Chunk("DATA", b"\0" * 100))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    lcodec = [sys.executable, "-m", "lcodec"]
    with tempfile.TemporaryDirectory() as folder:
        sample = str(sample_file(Path(folder)))
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "lcodec --help": [*lcodec, "--help"],
            "lcodec list": [*lcodec, "list"],
            "lcodec info": [*lcodec, "info", sample],
            "lcodec verify": [*lcodec, "verify", sample],
        }
        rows = {name: wall(argv, args.repeat) for name, argv in cases.items()}
    base = rows["python -c pass"]
    result = {
        "machine": f"{platform.machine()} {platform.processor() or ''} ({platform.system()}), "
                   f"Python {platform.python_version()}",
        "repeat": args.repeat, "goal_extra_seconds": 0.3,
        "rows": [{"command": name, "seconds": round(s, 4), "extra_seconds": round(s - base, 4)}
                 for name, s in rows.items()],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.json").write_text(json.dumps(result, indent=2) + "\n")
    out = io.StringIO()
    out.write(f"# CLI start-up time\n\n{result['machine']}; median of {args.repeat} runs. "
              f"Goal: under {result['goal_extra_seconds']} s more than bare Python.\n\n")
    out.write("| command | wall s | extra over python |\n|---|---:|---:|\n")
    for row in result["rows"]:
        out.write(f"| `{row['command']}` | {row['seconds']:.3f} | {row['extra_seconds']:+.3f} |\n")
    (RESULTS / "startup.md").write_text(out.getvalue())
    print(out.getvalue())


if __name__ == "__main__":
    main()
