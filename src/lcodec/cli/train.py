"""``lcodec train CODEC ...``: train a codec's shared model and write its weights file.

Why a table of module names: each trainer brings its own options and heavy imports (torch); like
the codec registry, ``lcodec --help`` and ``lcodec train --help`` import none of them. A trainer is
a module with two functions:

    add_arguments(parser: argparse.ArgumentParser) -> None   # its options (cheap imports only)
    run(args: argparse.Namespace) -> dict                    # trains, writes the file, returns metrics

Add one line to :data:`TRAINERS` to expose a new one as ``lcodec train <id>``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
from typing import Any

# trainer id -> (module, one-line help)
TRAINERS: dict[str, tuple[str, str]] = {
    "pc": ("lcodec.codecs.pc.train", "HCLT probabilistic circuit for the lossless pc codec"),
}


def add_parser(sub: Any) -> None:
    """Register the ``train`` subcommand on the main parser's subparsers."""
    listing = "\n".join(f"  {name:<8} {text}" for name, (_, text) in TRAINERS.items())
    p = sub.add_parser("train", help="train a codec's model and write its weights (.safetensors)",
                       description="Train a codec's shared model. Use `lcodec train CODEC --help` for its options.",
                       epilog=f"trainers:\n{listing}", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trainer", choices=sorted(TRAINERS), metavar="CODEC", help="which codec's model to train")
    p.add_argument("trainer_args", nargs=argparse.REMAINDER, metavar="...", help="options of that trainer")
    p.set_defaults(verbose=False, json=False)  # the trainer's own parser reads -v and --json


def cmd_train(args: argparse.Namespace) -> int:
    """Parse the trainer's own options, run it, print its metrics (one JSON object with --json)."""
    from lcodec.cli.main import Parser

    module_name, text = TRAINERS[args.trainer]
    module = importlib.import_module(module_name)
    parser = Parser(prog=f"lcodec train {args.trainer}", description=f"Train the {text}.")
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object on stdout")
    parser.add_argument("-v", "--verbose", action="store_true", help="log training progress on stderr")
    module.add_arguments(parser)
    options = parser.parse_args(args.trainer_args)
    if options.verbose:
        logging.getLogger("lcodec").setLevel(logging.INFO)
    metrics = module.run(options)
    if options.json:
        print(json.dumps(metrics, sort_keys=True))
    else:
        print("\n".join(f"{key}: {value}" for key, value in metrics.items()))
    return 0
