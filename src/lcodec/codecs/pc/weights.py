"""PC model files: the integer tables of an HCLT in a safetensors file, named by id + sha256.

Why integers on disk: the kernel computes with exactly these numbers, so a model file pins every
probability the coder will see (DESIGN.md §4); its sha256 in the .lc header lets decode refuse a
different model. Layout (all arrays in coding-position order, see csrc/hclt.hpp):

    order   int32  [D]        raster pixel index at each position (a pre-order of the tree)
    parent  int32  [D]        parent position, -1 at position 0
    prior   uint16 [K]        p(h_0) * 2^16
    trans   uint16 [D, K, K]  p(h_t | h_parent) * 2^16 (row 0 unused)
    emit    uint16 [B, V, K]  p(x | h) * 2^16 (shared by the positions that name it)
    emit_of int32  [D]
    metadata: format=lcodec-pc-hclt/1, height, width, values, precision
No torch is imported here.
"""
from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from lcodec.errors import CodecUnavailableError, CorruptFileError, UsageError

FORMAT = "lcodec-pc-hclt/1"
PRECISION = 16  # bits of the frequencies handed to the interval coder
SHIPPED = ("digits", "lfw")


@dataclass(frozen=True)
class PCModel:
    """A loaded model: its identity, geometry and the native kernel built from its tables."""

    id: str
    sha256: str
    height: int
    width: int
    values: int
    order: np.ndarray  # int32 [D]
    kernel: object  # lcodec.codecs.pc._pc.Model

    @property
    def pixels(self) -> int:
        return self.height * self.width


def shipped_path(name: str) -> Path:
    """Path of a shipped model ``pc-<name>.safetensors`` inside the installed package."""
    return Path(str(resources.files("lcodec") / "weights" / f"pc-{name}.safetensors"))


def resolve(model: str) -> Path:
    """A shipped model name ("digits", "lfw") or the path of a user's .safetensors file."""
    if model in SHIPPED:
        return shipped_path(model)
    path = Path(model)
    if path.suffix != ".safetensors":
        raise UsageError(f"pc model must be one of {', '.join(SHIPPED)} or a .safetensors file, got {model!r}")
    return path


def model_id(model: str) -> str:
    return f"pc-{model}" if model in SHIPPED else Path(model).stem


def save(path: str | Path, tables: dict[str, np.ndarray], order: np.ndarray, height: int, width: int,
         values: int) -> str:
    """Write a model file; returns its sha256 (hex)."""
    from safetensors.numpy import save_file

    arrays = {"order": np.asarray(order, np.int32), **{k: np.ascontiguousarray(v) for k, v in tables.items()}}
    meta = {"format": FORMAT, "height": str(height), "width": str(width), "values": str(values),
            "precision": str(PRECISION)}
    save_file(arrays, str(path), metadata=meta)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load(model: str) -> PCModel:
    """Load a model by name or path (cached by content hash); CodecUnavailableError when it is missing."""
    path = resolve(model)
    if not path.is_file():
        raise CodecUnavailableError(f"pc model file {path} does not exist")
    blob = path.read_bytes()
    return _load(hashlib.sha256(blob).hexdigest(), model_id(model), blob)


@lru_cache(maxsize=8)
def _load(sha256: str, ident: str, blob: bytes) -> PCModel:
    from safetensors import SafetensorError
    from safetensors.numpy import load as load_arrays

    from lcodec.codecs.pc import _pc

    try:
        arrays = load_arrays(blob)
        meta = _metadata(blob)
    except (SafetensorError, ValueError) as exc:
        raise CorruptFileError(f"model {ident} is not a readable safetensors file: {exc}") from exc
    if meta.get("format") != FORMAT:
        raise UsageError(f"model {ident} is not a pc model (format {meta.get('format')!r}, expected {FORMAT})")
    try:
        height, width, values = int(meta["height"]), int(meta["width"]), int(meta["values"])
        kernel = _pc.Model(arrays["parent"], arrays["prior"], arrays["trans"], arrays["emit"], arrays["emit_of"],
                           int(meta["precision"]))
        order = arrays["order"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(f"model {ident} is damaged: {exc}") from exc
    if kernel.D != height * width or kernel.V != values or sorted(order.tolist()) != list(range(kernel.D)):
        raise CorruptFileError(f"model {ident} is damaged: geometry and tables disagree")
    return PCModel(ident, sha256, height, width, values, order, kernel)


def _metadata(blob: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file held in memory (8-byte length, then JSON)."""
    (length,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + length]).get("__metadata__") or {}
