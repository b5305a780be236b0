"""``lcodec bench``: rate–distortion sweeps, reports, and machine-perceptual quality.

    lcodec bench rd -c x264 -c x265 -i carphone --points x264:crf=23,28,33 -o run.jsonl -j 2   # + run_report/
    lcodec bench report run.jsonl -o report/ --anchor x264
    lcodec bench mpq --task faces -c jpeg -c webp -o mpq.jsonl --report mpq/
    lcodec bench tasks

Heavy modules (torch, av, matplotlib) are imported inside the handlers: building the parser for
``lcodec --help`` imports nothing but argparse.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _codecs(values: list[str]) -> list[str]:
    return list(dict.fromkeys(c.strip() for v in values for c in v.split(",") if c.strip()))


def add_parser(sub: Any) -> None:
    """Register ``bench`` and its subcommands on the main parser's subparsers."""
    bench = sub.add_parser("bench", help="RD sweeps, BD-rate reports, machine-perceptual quality",
                           description="Measure codecs on real files: RD sweeps (JSONL rows), reports "
                                       "(Markdown, JSON, PNG plots) and machine-perception tasks.")
    inner = bench.add_subparsers(dest="bench_command", metavar="SUBCOMMAND", parser_class=type(bench))

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        p.add_argument("-v", "--verbose", action="store_true", help="more logging on stderr")

    def sweep_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("-c", "--codec", action="append", default=[], required=True,
                       help="codec id (repeatable, or comma-separated)")
        p.add_argument("--points", action="append", default=[], metavar="CODEC:KEY=V1,V2",
                       help="quality points of a codec, e.g. x264:crf=23,28,33 (default: a built-in sweep)")
        p.add_argument("-O", "--option", action="append", default=[], metavar="CODEC:KEY=VALUE",
                       help="an option fixed for every point of a codec, e.g. x264:preset=fast")
        p.add_argument("-j", "--jobs", type=int, default=1, help="items run in parallel (default 1)")
        p.add_argument("--executor", default="local", choices=("local", "ray"),
                       help="local process pool (default) or Ray (pip install 'lcodec[ray]')")
        p.add_argument("--device", default="cpu", help="where learned codecs run (default: cpu)")
        p.add_argument("--report", metavar="DIR",
                       help="write the report (Markdown, JSON, PNG) into DIR when done (default: OUTPUT without "
                            ".jsonl, plus _report)")
        p.add_argument("--no-report", action="store_true", help="write the JSONL rows only")
        p.add_argument("--anchor", help="BD-rate anchor codec of the report")

    rd = inner.add_parser("rd", help="rate-distortion sweep: codecs x points x inputs -> JSONL rows",
                          description="Encode every input with every codec at every quality point, "
                                      "write the .lc file, decode it and measure. Rows are appended to "
                                      "OUTPUT as they finish; rerunning skips finished rows.")
    rd.add_argument("-i", "--input", action="append", default=[], required=True,
                    help="file, folder, or named set: skimage (kodim), carphone, bunny, bikes, speech, tones")
    sweep_options(rd)
    rd.add_argument("--frames", type=int, help="video: use only the first N frames")
    rd.add_argument("-o", "--output", default="rd.jsonl", help="JSONL file of rows (default rd.jsonl)")
    common(rd)

    rep = inner.add_parser("report", help="Markdown + JSON + PNG report of a JSONL run")
    rep.add_argument("runs", nargs="+", help="JSONL files written by `bench rd` or `bench mpq`")
    rep.add_argument("-o", "--output", default="report", help="output folder (default report/)")
    rep.add_argument("--anchor", help="BD-rate anchor codec (default: x264, x265, jpeg, webp, opus or mp3 if present)")
    rep.add_argument("--title", help="report title")
    common(rep)

    mpq = inner.add_parser("mpq", help="machine-perceptual quality: a task model's score against rate",
                           description="Run a downstream model (face detector, digit classifier, OCR, ...) "
                                       "on the originals and on each codec's decoded versions.")
    mpq.add_argument("-t", "--task", action="append", default=[], required=True,
                     help="task id (see `lcodec bench tasks`; repeatable)")
    sweep_options(mpq)
    mpq.add_argument("--limit", type=int, help="use only the first N samples of the task's data")
    mpq.add_argument("-o", "--output", default="mpq.jsonl", help="JSONL file of rows (default mpq.jsonl)")
    common(mpq)

    tasks = inner.add_parser("tasks", help="list the machine-perception tasks")
    common(tasks)
    bench.set_defaults(bench_parser=bench, json=False, verbose=False)


def _progress(enabled: bool, total: int) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="row", file=sys.stderr, leave=False, dynamic_ncols=True)


def _sweep(args: argparse.Namespace, tasks: list[Any], work: Any) -> dict[str, Any]:
    from lcodec.eval import rd
    from lcodec.parallel import get_executor

    bar = _progress(not args.json and sys.stderr.isatty(), len(tasks))

    def on_row(row: dict[str, Any]) -> None:
        if bar is not None:
            bar.update(1)
        if row.get("error"):
            print(f"lcodec: {row['key']}: {row['error']}", file=sys.stderr)

    with get_executor(args.executor, args.jobs) as executor:
        summary = rd.run_sweep(tasks, args.output, executor=executor, work=work, on_row=on_row)
    if bar is not None:
        bar.close()
    result: dict[str, Any] = {"output": str(args.output), **summary.as_dict()}
    if not args.no_report:
        from lcodec.eval import report

        folder = args.report or str(Path(args.output).with_suffix("")) + "_report"
        built = report.build(rd.load_rows(args.output), folder, anchor=args.anchor)
        result["report"] = {"folder": folder, "plots": built["plots"]}
    return result


def _print(args: argparse.Namespace, result: dict[str, Any], text: str) -> None:
    print(json.dumps(result, sort_keys=True) if args.json else text)


def _summary_text(result: dict[str, Any]) -> str:
    text = (f"{result['output']}: {result['done']} rows written ({result['failed']} failed), "
            f"{result['skipped']} already done, {result['total']} in the sweep")
    if "report" in result:
        text += f"\nreport: {result['report']['folder']}/report.md"
    return text


def cmd_rd(args: argparse.Namespace) -> int:
    from lcodec.eval import inputs, rd

    items = inputs.resolve(args.input, Path(args.output).parent / (Path(args.output).stem + ".inputs"))
    tasks = rd.plan(items, _codecs(args.codec), rd.parse_points(args.points), rd.parse_options(args.option),
                    args.device, args.frames)
    result = _sweep(args, tasks, rd.run_task)
    _print(args, result, _summary_text(result))
    return 0


def cmd_mpq(args: argparse.Namespace) -> int:
    from lcodec.eval import mpq, rd

    tasks = mpq.plan(args.task, _codecs(args.codec), rd.parse_points(args.points), rd.parse_options(args.option),
                     args.device, args.limit)
    result = _sweep(args, tasks, mpq.run_task)
    _print(args, result, _summary_text(result))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from lcodec.errors import MissingInputError
    from lcodec.eval import rd, report

    rows = []
    for run in args.runs:
        if not Path(run).is_file():
            raise MissingInputError(f"no such file: {run}")
        rows += rd.load_rows(run)
    if not rows:
        from lcodec.errors import UsageError

        raise UsageError(f"{', '.join(args.runs)} holds no rows")
    built = report.build(rows, args.output, anchor=args.anchor, title=args.title or "lcodec rate–distortion report")
    _print(args, {"output": args.output, "rows": built["rows"], "failed": built["failed"], "plots": built["plots"]},
           f"{args.output}/report.md: {built['rows']} rows ({built['failed']} failed), {len(built['plots'])} plots")
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from lcodec.eval import mpq

    tasks = mpq.list_tasks()
    width = max(len(t["id"]) for t in tasks)
    text = "\n".join(f"{t['id']:<{width}}  {t['metric']:<8}  {t['description']}"
                     + (f"  [unavailable: {t['unavailable']}]" if t["unavailable"] else "") for t in tasks)
    _print(args, {"tasks": tasks}, text)
    return 0


HANDLERS = {"rd": cmd_rd, "report": cmd_report, "mpq": cmd_mpq, "tasks": cmd_tasks}


def run(args: argparse.Namespace) -> int:
    """The ``bench`` command: dispatch to its subcommand (usage error when none is given)."""
    if not args.bench_command:
        args.bench_parser.print_help(sys.stderr)
        return 2
    return HANDLERS[args.bench_command](args)
