"""argparse application: parses arguments, calls :mod:`lcodec.api`, maps errors to exit codes.

Conventions (ffmpeg-like): direction and codec are inferred where obvious, ``-o`` names the output,
``-y`` allows overwriting, ``-`` is stdin/stdout, progress and logs go to stderr, ``--json`` puts one
JSON object on stdout. ``--help``, ``list``, ``info`` and ``verify`` never import torch: codec
modules are imported only to encode/decode or to show one codec's options.

Exit codes: 0 ok, 2 usage, 65 corrupt or unsupported input, 66 missing input, 69 codec unavailable,
73 cannot create output, 70 internal error (a bug: please report it).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lcodec import __version__
from lcodec.cli import bench as bench_cli  # argparse only: its handlers import the heavy parts
from lcodec.cli import train as train_cli  # argparse only: trainers are imported when run
from lcodec.errors import LcodecError, MissingInputError, UnsupportedError, UsageError

EX_SOFTWARE = 70
log = logging.getLogger("lcodec")
def _kbps(text: str) -> int:
    """A bitrate in kbit/s, ffmpeg style: "64k", "1.5M", or a plain number (bit/s from 1000 up)."""
    value = text.strip().lower()
    try:
        if value.endswith("k"):
            return round(float(value[:-1]))
        if value.endswith("m"):
            return round(float(value[:-1]) * 1000)
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a bitrate: {text!r} (use e.g. 64k)") from None
    return round(number / 1000) if number >= 1000 else round(number)


# Shortcut flags shared by many codecs; each maps onto the Config field of the same name.
COMMON_OPTIONS = {"quality": ("-q", int), "crf": (None, float), "bitrate": ("-b", _kbps), "preset": (None, str)}


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, like the rest of our errors
        self.exit(2, f"{self.prog}: error: {message}\n")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("-v", "--verbose", action="store_true", help="more logging on stderr")


def build_parser() -> Parser:
    parser = Parser(prog="lcodec", description="Neural compression toolkit that writes real bitstreams (.lc files).")
    parser.add_argument("--version", action="version", version=f"lcodec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    enc = sub.add_parser("encode", help="compress media into an .lc file",
                         description="Compress an image, video or audio file into an .lc file. "
                                     "Use `lcodec encode -c CODEC --help` to see that codec's options.")
    enc.add_argument("input", help="media file ('-' reads stdin)")
    enc.add_argument("-o", "--output", help="output .lc file ('-' writes stdout; default: INPUT with .lc)")
    enc.add_argument("-c", "--codec", help="codec id (see `lcodec list`; default depends on the input)")
    enc.add_argument("-y", "--overwrite", action="store_true", help="overwrite the output if it exists")
    enc.add_argument("-O", "--option", action="append", default=[], metavar="KEY=VALUE",
                     help="set any codec option (repeatable)")
    for name, (short, kind) in COMMON_OPTIONS.items():
        flags = [short, f"--{name}"] if short else [f"--{name}"]
        enc.add_argument(*flags, type=kind, dest=f"common_{name}",
                         help=f"codec {name} (where the codec has one)" + (", e.g. 64k" if name == "bitrate" else ""))
    enc.add_argument("--fps", type=float, help="frame rate for inputs that have none (image sequences)")
    enc.add_argument("--device", default="cpu", help="where learned codecs run: cpu, cuda, cuda:1 (default: cpu)")
    _add_common(enc)

    dec = sub.add_parser("decode", help="decode an .lc file back to media")
    dec.add_argument("input", help=".lc file ('-' reads stdin)")
    dec.add_argument("-o", "--output", help="output media file; the extension picks the format "
                     "(.png .mkv .mp4 .y4m frames/%%04d.png .wav .flac ...; '-' writes stdout)")
    dec.add_argument("-f", "--format", help="output format when writing to stdout (e.g. wav, png, mkv)")
    dec.add_argument("-y", "--overwrite", action="store_true", help="overwrite the output if it exists")
    dec.add_argument("--device", default="cpu", help="where learned codecs run: cpu, cuda (default: cpu)")
    dec.add_argument("--frames", type=_frame_range, metavar="START:STOP",
                     help="decode only frames START..STOP-1 of a video (STOP may be left out)")
    _add_common(dec)

    info = sub.add_parser("info", help="describe an .lc file (like ffprobe; no decoding)")
    info.add_argument("input", help=".lc file ('-' reads stdin)")
    _add_common(info)

    ver = sub.add_parser("verify", help="check .lc files' integrity (every CRC, the index, the trailer)")
    ver.add_argument("inputs", nargs="+", help=".lc files")
    _add_common(ver)

    lst = sub.add_parser("list", help="list the codecs")
    _add_common(lst)
    bench_cli.add_parser(sub)
    train_cli.add_parser(sub)
    return parser


def _codec_group(parser: argparse.ArgumentParser, codec_id: str) -> None:
    """Add one codec's Config fields as ``--field`` flags (imports that codec's module only)."""
    from lcodec import registry

    cls = registry.get(codec_id)
    group = parser.add_argument_group(f"{codec_id} options", cls.description or None)
    existing = {a.dest for a in parser._actions}
    for f in dataclasses.fields(cls.Config):
        if f"common_{f.name}" in existing:
            continue
        default = getattr(cls.Config(), f.name)
        kind = type(default) if isinstance(default, (int, float, str)) and not isinstance(default, bool) else str
        if isinstance(default, bool):
            group.add_argument(f"--{f.name.replace('_', '-')}", dest=f"codec_{f.name}",
                               type=_parse_bool, metavar="{true,false}", help=f"(default: {default})")
        else:
            group.add_argument(f"--{f.name.replace('_', '-')}", dest=f"codec_{f.name}", type=kind,
                               help=f"(default: {default})")


def _frame_range(text: str) -> tuple[int, int | None]:
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(start or 0), (int(stop) if stop else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:STOP frame numbers, got {text!r}") from None


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _guess_codec(argv: Sequence[str]) -> str | None:
    """The codec an ``encode`` command line will use: ``-c`` if given, else the input's default."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("command", nargs="?")
    pre.add_argument("input", nargs="?")
    pre.add_argument("-c", "--codec")
    known, _ = pre.parse_known_args(argv)
    if known.command != "encode":
        return None
    if known.codec:
        return known.codec
    if known.input and known.input != "-":
        from lcodec import media, registry

        kind = media.kind_of_path(known.input)
        return registry.DEFAULT_CODECS.get(kind) if kind else None
    return None


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"-O expects KEY=VALUE, got {item!r}")
        options[key.replace("-", "_")] = _literal(value)
    for name, value in vars(args).items():
        if value is None:
            continue
        if name.startswith("common_"):
            options[name.removeprefix("common_")] = value
        elif name.startswith("codec_"):
            options[name.removeprefix("codec_")] = value
    return options


def _literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _progress(enabled: bool) -> Callable[[int, int | None, str], None] | None:
    """A tqdm bar on stderr driven by the codec's progress callback."""
    if not enabled:
        return None
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int | None, label: str) -> None:
        if "bar" not in bar:
            # Units differ between codecs (frames, thousandths of a time budget): show share and ETA only.
            bar["bar"] = tqdm(total=total, desc=label, file=sys.stderr, leave=False, dynamic_ncols=True,
                              bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")
        b = bar["bar"]
        b.set_description(label, refresh=False)
        if total is not None and b.total != total:
            b.total = total
        b.update(done - b.n)
        if total is not None and done >= total:
            b.close()
            bar.clear()

    return update


def _emit(args: argparse.Namespace, obj: dict[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(obj, sort_keys=True))
    else:
        print(text)


def _fmt_rate(info: dict[str, Any]) -> str:
    if "bpp" in info:
        return f"{info['bpp']:.4f} bpp"
    if "kbps" in info:
        return f"{info['kbps']:.2f} kbps"
    return ""


def cmd_encode(args: argparse.Namespace) -> int:
    from lcodec import api

    options = _options(args)
    fps = args.fps
    with tempfile.TemporaryDirectory() as scratch:
        source = args.input
        if source == "-":
            source = os.path.join(scratch, "stdin")
            with open(source, "wb") as spool:
                shutil.copyfileobj(sys.stdin.buffer, spool)
        elif not os.path.exists(source):
            raise MissingInputError(f"no such file: {source}")
        output = args.output or str(Path(args.input).with_suffix(".lc"))
        if args.input == "-" and not args.output:
            raise UsageError("reading stdin needs -o (a file or '-')")
        target = sys.stdout.buffer if output == "-" else output
        progress = _progress(not args.json and sys.stderr.isatty())
        result = api.encode_file(source, target, args.codec, overwrite=args.overwrite, fps=fps,
                                 device=args.device, progress=progress, **options)
    summary = result.summary()
    if output != "-":
        _emit(args, summary, f"{args.input} -> {output}: {summary['bytes']} bytes, {_fmt_rate(summary)}, "
                             f"{summary['encode_seconds']:.2f} s ({summary['codec']})")
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    from lcodec import api

    progress = _progress(not args.json and sys.stderr.isatty())
    if args.output == "-":
        suffix = "." + (args.format or "").lstrip(".") if args.format else api.output_extension(args.input)
        api.decode_to_stream(args.input, sys.stdout.buffer, suffix, device=args.device, frames=args.frames,
                             progress=progress)
        return 0
    if args.output:
        output = args.output
    elif args.input == "-":
        raise UsageError("reading stdin needs -o (a file or '-')")
    else:
        output = str(Path(args.input).with_suffix(api.output_extension(args.input)))
    result = api.decode_file(args.input, output, overwrite=args.overwrite, device=args.device, frames=args.frames,
                             progress=progress)
    obj = {"output": str(result.path), "decode_seconds": round(result.seconds, 4), "media": result.media}
    _emit(args, obj, f"{args.input} -> {result.path}: {result.seconds:.2f} s")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from lcodec import api

    info = api.probe(args.input)
    media = info["media"]
    lines = [
        f"{args.input}: lcodec file format {info['format']}, {info['size']} bytes",
        f"  codec    {info['codec']['id']} v{info['codec']['version']}"
        + ("" if info["codec"]["known"] else " (not installed here)"),
        f"  config   {json.dumps(info['codec'].get('config', {}), sort_keys=True)}",
        "  media    " + ", ".join(f"{k}={v}" for k, v in media.items() if k not in ("origin", "array_ndim", "meta")),
        f"  rate     {_fmt_rate(info)}",
        f"  chunks   {info['chunks']['count']} ("
        + ", ".join(f"{t}: {v['count']} x, {v['bytes']} B" for t, v in info["chunks"]["by_type"].items()) + ")",
    ]
    if info["index_entries"]:
        lines.append(f"  index    {info['index_entries']} entries")
    if info["stats"]:
        lines.append("  encoder  " + ", ".join(f"{k}={v}" for k, v in sorted(info["stats"].items())))
    _emit(args, info, "\n".join(lines))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from lcodec import api

    results, worst = [], 0
    for path in args.inputs:
        try:
            results.append({"input": path, **api.verify(path)})
        except LcodecError as exc:
            results.append({"input": path, "ok": False, "error": str(exc)})
            worst = worst or exc.exit_code
    text = "\n".join(f"{r['input']}: " + ("ok" if r["ok"] else f"FAILED: {r['error']}") for r in results)
    _emit(args, {"ok": worst == 0, "files": results}, text)
    return worst


def cmd_list(args: argparse.Namespace) -> int:
    from lcodec import api

    codecs = api.list_codecs()
    width = max(len(c["id"]) for c in codecs)
    text = "\n".join(f"{c['id']:<{width}}  {c['modality']:<6}  {c['description']}" for c in codecs)
    _emit(args, {"codecs": codecs}, text)
    return 0


COMMANDS = {"encode": cmd_encode, "decode": cmd_decode, "info": cmd_info, "verify": cmd_verify, "list": cmd_list,
            "bench": bench_cli.run, "train": train_cli.cmd_train}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        codec_id = _guess_codec(argv)
        if codec_id:
            encode_parser = parser._subparsers._group_actions[0].choices["encode"]  # type: ignore[union-attr]
            try:
                _codec_group(encode_parser, codec_id)
            except UnsupportedError as exc:  # an unknown -c is a usage mistake
                raise UsageError(str(exc)) from None
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help(sys.stderr)
            return 2
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="lcodec: %(message)s", stream=sys.stderr)
        return COMMANDS[args.command](args)
    except LcodecError as exc:
        print(f"lcodec: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lcodec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # a bug, not a user mistake: keep the traceback for the report
        log.exception("internal error (please report this with the command line you used)")
        return EX_SOFTWARE
