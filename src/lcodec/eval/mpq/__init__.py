"""Machine-perceptual quality: how well a downstream model still works on decoded media.

Why: more and more compressed images are looked at by models, not people; a codec that keeps
PSNR but erases faces or digits fails them. A task runs its model on the originals (the
reference score) and on each codec's decoded versions; each row of a sweep is one (task, codec,
quality point) with the rate of a real file, PSNR (SI-SDR for audio), and the task's score.

Why one file per row: task samples are small (32x32 digits, 2 s utterances) and a file per sample
would pay the container header and the codec's own headers (JPEG's tables: ~600 bytes) each time,
~4 bpp on a digit, hiding every difference between codecs. So a task's samples are packed into
one media object and coded once: images as a contact sheet (a grid of equal tiles, spare cells
mid-gray), audio as one recording with 0.25 s of silence between utterances. The model then runs
on the tiles or segments cut back out of the decoded sheet.

Tasks are plugins, registered like codecs (:mod:`lcodec.registry`): built-ins as lazy
``"module:Class"`` strings, third parties in the ``lcodec.mpq_tasks`` entry-point group::

    [project.entry-points."lcodec.mpq_tasks"]
    mytask = "mypkg.task:MyTask"      # a subclass of lcodec.eval.mpq.Task
"""
from __future__ import annotations

import datetime as _dt
import importlib
import json
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lcodec.errors import CodecUnavailableError, UnsupportedError, UsageError

ENTRY_POINT_GROUP = "lcodec.mpq_tasks"
BUILTINS = {
    "faces": "lcodec.eval.mpq.tasks:FaceDetection",
    "digits": "lcodec.eval.mpq.tasks:DigitClassification",
    "ocr": "lcodec.eval.mpq.tasks:OCR",
    "spoken-digits": "lcodec.eval.mpq.tasks:SpokenDigits",
}
# Quality points of image codecs for MPQ: low rates, where tasks start to break.
DEFAULT_POINTS = {"jpeg": ("quality", [1, 3, 6, 12, 25, 50]), "webp": ("quality", [0, 3, 6, 12, 25, 50]),
                  "avif": ("quality", [0, 5, 10, 20, 35, 50]),
                  "opus": ("bitrate", [6, 8, 12, 16, 24]), "mp3": ("bitrate", [8, 16, 24, 32, 48])}


class Task(ABC):
    """A downstream model and its labelled data.

    ``metric`` names the headline score (higher or lower is better as in
    :data:`lcodec.eval.report.METRICS`); :meth:`score` may return more.
    """

    id: ClassVar[str]
    modality: ClassVar[str] = "image"
    metric: ClassVar[str]
    description: ClassVar[str] = ""

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` when the task can run here, else why not (missing binary or package)."""
        return None

    @abstractmethod
    def samples(self, limit: int | None = None) -> list[Any]:
        """The task's inputs as media objects (:class:`lcodec.media.Image` ...), first ``limit`` only."""

    @abstractmethod
    def predict(self, media: Any) -> Any:
        """The model's output on one input (original or decoded)."""

    @abstractmethod
    def score(self, predictions: list[Any], limit: int | None = None) -> dict[str, float]:
        """Scores of ``predictions`` (one per sample, in order) against the labels; ``metric`` among them."""


@lru_cache(maxsize=1)
def _third_party() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTINS}


def get_task(task_id: str) -> type[Task]:
    """The task class for ``task_id``; a clear error naming the known ids when it is unknown."""
    if task_id in BUILTINS:
        module, _, attr = BUILTINS[task_id].partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            raise CodecUnavailableError(f"task {task_id!r} needs a missing package: {exc}") from exc
    ep = _third_party().get(task_id)
    if ep is None:
        raise UsageError(f"unknown task {task_id!r} (known: {', '.join(sorted(set(BUILTINS) | set(_third_party())))})")
    try:
        return ep.load()
    except Exception as exc:
        raise CodecUnavailableError(f"task {task_id!r} from entry point {ep.value} failed to load: {exc}") from exc


def list_tasks() -> list[dict[str, Any]]:
    """Every task with its metric, description and (if it cannot run here) why not."""
    out = []
    for task_id in [*BUILTINS, *sorted(_third_party())]:
        try:
            cls = get_task(task_id)
            out.append({"id": task_id, "metric": cls.metric, "modality": cls.modality,
                        "description": cls.description, "unavailable": cls.unavailable_reason()})
        except Exception as exc:  # a broken plugin must not break the listing
            out.append({"id": task_id, "metric": "?", "modality": "?", "description": "", "unavailable": str(exc)})
    return out


@dataclass(frozen=True)
class MPQTask:
    """One row: ``task``'s samples through ``codec`` at ``point``."""

    task: str
    codec: str
    point: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    limit: int | None = None

    @property
    def key(self) -> str:
        settings = json.dumps({**self.options, **self.point}, sort_keys=True)
        return f"mpq:{self.task}|{self.codec}|{settings}|limit={self.limit}"


def plan(tasks: list[str], codecs: list[str], points: dict[str, list[dict[str, Any]]] | None = None,
         options: dict[str, dict[str, Any]] | None = None, device: str = "cpu",
         limit: int | None = None) -> list[MPQTask]:
    """Every (task, codec, point); tasks that cannot run here are refused with their reason."""
    from lcodec import registry

    points, options = points or {}, options or {}
    modalities = {e.id: e.modality for e in registry.entries()}
    out = []
    for task_id in tasks:
        cls = get_task(task_id)
        reason = cls.unavailable_reason()
        if reason:
            raise CodecUnavailableError(f"task {task_id!r} cannot run here: {reason}")
        for codec in codecs:
            if modalities.get(codec) != cls.modality:
                raise UsageError(f"codec {codec!r} does not compress {cls.modality}, the input of task {task_id!r}")
            knob, values = DEFAULT_POINTS.get(codec, (None, []))
            chosen = points.get(codec) or ([{knob: v} for v in values] if knob else [{}])
            out += [MPQTask(task_id, codec, p, options.get(codec, {}), device, limit) for p in chosen]
    return out


@lru_cache(maxsize=4)
def _reference(task_id: str, limit: int | None) -> tuple[Task, list[Any], dict[str, float]]:
    """The task, its samples and its score on the originals (cached per worker process)."""
    task = get_task(task_id)()
    samples = task.samples(limit)
    return task, samples, task.score([task.predict(s) for s in samples], limit)


GAP_SECONDS = 0.25  # silence between packed utterances, so a codec's frames do not straddle two


@dataclass
class Packed:
    """Samples packed into one media object, and where each one lies in it."""

    media: Any
    places: list[tuple[int, int]]  # images: (row, col) pixel offsets of each tile; audio: (start, length)


def pack(samples: list[Any]) -> Packed:
    """Images of one shape -> a near-square contact sheet; audio of one rate and layout -> one recording."""
    from lcodec.media import Audio, Image

    if not samples:
        raise UsageError("the task has no samples")
    first = samples[0]
    if isinstance(first, Image):
        shape, dtype = first.pixels.shape, first.pixels.dtype
        if any(s.pixels.shape != shape for s in samples):
            raise UnsupportedError("a task's images must share one shape to be packed into a sheet")
        columns = int(np.ceil(np.sqrt(len(samples))))
        rows = -(-len(samples) // columns)
        height, width = shape[:2]
        sheet = np.full((rows * height, columns * width, shape[2]), np.iinfo(dtype).max // 2, dtype)
        places = []
        for index, sample in enumerate(samples):
            top, left = (index // columns) * height, (index % columns) * width
            sheet[top:top + height, left:left + width] = sample.pixels
            places.append((top, left))
        return Packed(Image(sheet), places)
    rate, channels = first.sample_rate, first.channels
    if any(s.sample_rate != rate or s.channels != channels for s in samples):
        raise UnsupportedError("a task's recordings must share one sample rate and channel count to be packed")
    gap = np.zeros((channels, int(GAP_SECONDS * rate)), np.float32)
    pieces, places, at = [], [], 0
    for sample in samples:
        pieces += [sample.samples, gap]
        places.append((at, sample.num_samples))
        at += sample.num_samples + gap.shape[1]
    return Packed(Audio(np.concatenate(pieces, axis=1), rate, subtype=first.subtype), places)


def unpack(decoded: Any, packed: Packed, like: list[Any]) -> list[Any]:
    """Cut the decoded sheet or recording back into samples shaped like ``like``."""
    from lcodec.media import Audio, Image

    if isinstance(decoded, Image):
        if decoded.pixels.shape != packed.media.pixels.shape:
            raise UnsupportedError(f"decoded sheet is {decoded.pixels.shape}, the original {packed.media.pixels.shape}")
        height, width = like[0].pixels.shape[:2]
        return [Image(decoded.pixels[top:top + height, left:left + width]) for top, left in packed.places]
    if decoded.samples.shape != packed.media.samples.shape:
        raise UnsupportedError(f"decoded audio is {decoded.samples.shape}, the original {packed.media.samples.shape}")
    return [Audio(decoded.samples[:, start:start + length], decoded.sample_rate) for start, length in packed.places]


def _fidelity(originals: list[Any], decoded: list[Any]) -> dict[str, float]:
    """PSNR over all tiles (spare cells left out) for images; mean SI-SDR per utterance for audio."""
    from lcodec.eval.metrics import RunningPSNR, si_sdr
    from lcodec.media import Image

    if isinstance(originals[0], Image):
        psnr = RunningPSNR(float(np.iinfo(originals[0].pixels.dtype).max))
        for a, b in zip(originals, decoded):
            psnr.add(a.pixels, b.pixels)
        return {"psnr": psnr.value}
    return {"si_sdr": float(np.mean([si_sdr(a.samples, b.samples) for a, b in zip(originals, decoded)]))}


def run_task(job: MPQTask) -> dict[str, Any]:
    """Pack the task's samples, encode them to one real file, decode, cut, predict and score.

    Errors land in the row's ``error`` field, so one failing codec does not stop a sweep.
    """
    from lcodec import __version__, api
    from lcodec.eval.rd import _json_value, machine, payload_bytes

    row: dict[str, Any] = {"key": job.key, "input": f"mpq/{job.task}", "task": job.task, "modality": "?",
                           "codec": job.codec, "point": job.point, "options": job.options, "device": job.device,
                           "machine": machine(), "lcodec": __version__, "error": None, "metric_notes": {}}
    try:
        task, samples, reference = _reference(job.task, job.limit)
        row["modality"] = task.modality
        packed = pack(samples)
        with tempfile.TemporaryDirectory(prefix="lcodec-mpq-") as scratch:
            path = Path(scratch) / "packed.lc"
            start = time.perf_counter()
            result = api.encode_file(packed.media, path, job.codec, device=job.device, **{**job.options, **job.point})
            encode_s = time.perf_counter() - start
            size, payload = path.stat().st_size, payload_bytes(path)
            start = time.perf_counter()
            decoded = unpack(api.decode(path, device=job.device), packed, samples)
            decode_s = time.perf_counter() - start
        scores = task.score([task.predict(d) for d in decoded], job.limit)
        media = packed.media
        if task.modality == "image":
            rates = {"bpp_real": 8 * size / media.num_pixels, "rate_unit": "bpp"}
        else:
            rates = {"kbps": 8 * size / (media.num_samples / media.sample_rate) / 1000, "rate_unit": "kbps"}
        row.update(codec_version=result.meta["codec"]["version"], config=result.meta["codec"]["config"],
                   samples=len(samples), media=media.describe(), bytes=size,
                   payload_bytes=payload, rate=rates.get("bpp_real", rates.get("kbps")), **rates,
                   encode_s=round(encode_s, 4), decode_s=round(decode_s, 4),
                   metrics={**_fidelity(samples, decoded), **scores}, reference=reference, task_metric=task.metric)
    except Exception as exc:  # noqa: BLE001 - one failing codec must not stop the sweep
        row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    row["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return _json_value(row)
