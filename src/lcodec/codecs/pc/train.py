"""Training an HCLT for the pc codec: structure from mutual information, parameters by EM.

``lcodec train pc --data digits -o pc-digits.safetensors`` (see :func:`add_arguments`) runs
:func:`train` and writes the integer model file with :func:`lcodec.codecs.pc.weights.save`.
Rates are reported three ways: the float model's bits/dim, the shipped integer tables' bits/dim
(what the coder actually spends, from the kernel's frequencies) and real file sizes are left to
the benchmark.
"""
from __future__ import annotations

import argparse
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lcodec.codecs.pc import data as datasets
from lcodec.codecs.pc import structure, weights
from lcodec.errors import OutputError, UsageError

log = logging.getLogger("lcodec.pc.train")


@dataclass
class Trained:
    """A trained model ready to save: integer tables, coding order, geometry and metrics."""

    tables: dict[str, np.ndarray]
    order: np.ndarray
    height: int
    width: int
    values: int
    metrics: dict[str, Any] = field(default_factory=dict)


def shifted(images: np.ndarray, shift: int) -> np.ndarray:
    """images [N, h, w] plus copies moved by up to ``shift`` pixels in each direction (zero fill):
    [N * (2 shift + 1)^2, h, w]. Centred data such as digits gain examples of small offsets."""
    n, h, w = images.shape
    padded = np.pad(images, ((0, 0), (shift, shift), (shift, shift)))
    copies = [padded[:, shift + dy:shift + dy + h, shift + dx:shift + dx + w]
              for dy in range(-shift, shift + 1) for dx in range(-shift, shift + 1)]
    return np.concatenate(copies)


def train(images: np.ndarray, values: int, *, states: int = 16, steps: int = 60, batch_size: int = 0,
          pseudocount: float = 0.1, shared_emission: bool = False, shift: int = 0, seed: int = 0,
          test: np.ndarray | None = None) -> Trained:
    """Learn an HCLT on uint8 [N, h, w] images with values in ``[0, values)``.

    ``batch_size`` 0 is full-batch EM; otherwise stochastic EM with a decaying step. With
    ``shared_emission`` all pixels share one emission table (K x V), which keeps 8-bit models
    small. ``shift`` > 0 trains on shifted copies too (:func:`shifted`). ``test`` images, if given,
    are scored after training.
    """
    import torch

    from lcodec.codecs.pc.model import HCLT

    if images.ndim != 3 or len(images) < 2:
        raise UsageError(f"need at least two images [N, h, w] to train, got shape {images.shape}")
    if int(images.max()) >= values:
        raise UsageError(f"values must be < {values}, the data holds {int(images.max())}")
    torch.manual_seed(seed)
    if shift:
        images = shifted(images, shift)
    n, h, w = images.shape
    d = h * w
    flat = images.reshape(n, d).astype(np.int64)
    start = time.perf_counter()
    order, parent = structure.preorder(structure.chow_liu_tree(structure.mutual_information(flat, values)))
    x = torch.from_numpy(flat[:, order])
    emit_of = np.zeros(d, np.int64) if shared_emission else None
    model = HCLT(parent, states, values, emit_of, seed=seed)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        if batch_size and batch_size < n:
            idx = torch.from_numpy(rng.choice(n, batch_size, replace=False))
            ll = model.em_step(x[idx], pseudocount, step=min(1.0, 2.0 / (step + 2) ** 0.6))
        else:
            ll = model.em_step(x, pseudocount)
        if step % 10 == 0 or step == steps - 1:
            log.info("step %d/%d: %.4f bits/dim (train)", step + 1, steps, -ll / d / math.log(2))
    tables = model.quantized()
    metrics: dict[str, Any] = {"train_images": n, "states": states, "steps": steps, "batch_size": batch_size,
                               "pseudocount": pseudocount, "shared_emission": shared_emission, "shift": shift, "seed": seed,
                               "train_seconds": round(time.perf_counter() - start, 1)}
    with torch.no_grad():
        metrics["train_bpd_float"] = _bpd(model, x)
        if test is not None and len(test):
            xt = torch.from_numpy(test.reshape(len(test), d).astype(np.int64)[:, order])
            metrics["test_images"] = len(test)
            metrics["test_bpd_float"] = _bpd(model, xt)
    trained = Trained(tables, order, h, w, values, metrics)
    if test is not None and len(test):
        metrics["test_bpd_fixed_point"] = fixed_point_bpd(trained, test)
    return trained


def _bpd(model: Any, x: Any) -> float:
    return round(float(-model.log_likelihood(x).mean()) / x.shape[1] / math.log(2), 4)


def fixed_point_bpd(trained: Trained, images: np.ndarray) -> float:
    """Bits/dim the integer tables spend on ``images`` (sum of -log2 freq / 2^precision)."""
    from lcodec.codecs.pc import _pc

    t = trained.tables
    kernel = _pc.Model(t["parent"], t["prior"], t["trans"], t["emit"], t["emit_of"], weights.PRECISION)
    batch = np.ascontiguousarray(images.reshape(len(images), -1)[:, trained.order])
    starts = np.empty(batch.size, np.uint32)
    freqs = np.empty(batch.size, np.uint32)
    kernel.encode(batch, starts, freqs)
    return round(float(np.mean(weights.PRECISION - np.log2(freqs))), 4)


# --- command line ------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``lcodec train pc``."""
    parser.add_argument("--data", required=True,
                        help="training images: 'digits' (sklearn, 8x8, 17 levels), 'lfw' (skimage faces, 25x25, "
                             "8-bit) or a folder of same-size 8-bit grayscale images")
    parser.add_argument("-o", "--output", required=True, help="model file to write (.safetensors)")
    parser.add_argument("-y", "--overwrite", action="store_true", help="overwrite the output if it exists")
    parser.add_argument("--states", type=int, default=16, help="hidden states per pixel, K (default: 16)")
    parser.add_argument("--steps", type=int, default=60, help="EM steps (default: 60)")
    parser.add_argument("--batch-size", type=int, default=0, help="images per EM step; 0 = all (default)")
    parser.add_argument("--pseudocount", type=float, default=0.1, help="Laplace smoothing of EM counts (default: 0.1)")
    parser.add_argument("--shared-emission", action="store_true",
                        help="one emission table for all pixels (small 8-bit models)")
    parser.add_argument("--shift", type=int, default=0,
                        help="also train on copies shifted by up to SHIFT pixels (zero fill; default: 0)")
    parser.add_argument("--holdout", type=float, default=0.2,
                        help="fraction of the data held out and scored (default: 0.2; fixed seeded split)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, initialisation and batches")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train and write the model file; returns the metrics (with the file's sha256)."""
    output = Path(args.output)
    if output.suffix != ".safetensors":
        raise UsageError(f"the model file must end in .safetensors, got {output}")
    if output.exists() and not args.overwrite:
        raise OutputError(f"{output} exists (use -y to overwrite)")
    if not 1 <= args.states <= 256:
        raise UsageError(f"--states must be in 1..256, got {args.states}")
    images, values = datasets.load(args.data)
    train_set, test_set = datasets.split(images, args.holdout, args.seed)
    trained = train(train_set, values, states=args.states, steps=args.steps, batch_size=args.batch_size,
                    pseudocount=args.pseudocount, shared_emission=args.shared_emission, shift=args.shift,
                    seed=args.seed,
                    test=test_set)
    sha = weights.save(output, trained.tables, trained.order, trained.height, trained.width, values)
    return {"output": str(output), "sha256": sha, "bytes": output.stat().st_size, "data": args.data,
            "height": trained.height, "width": trained.width, "values": values, **trained.metrics}
