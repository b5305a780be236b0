"""Rate–distortion sweeps: codecs x quality points x inputs, one real file per row (DESIGN.md §5).

Why rows of real files: a rate is only honest when it is the size of a file a decoder can read,
so every row is encode -> ``.lc`` on disk -> decode -> metrics. Rows are appended to a JSONL file
as they finish: an interrupted sweep resumes where it stopped (finished rows are skipped), rows
from many machines concatenate, and a codec that fails on one item records the error in its row
while the sweep goes on.

A row::

    {"key", "input", "input_path", "modality", "media", "codec", "codec_version", "point", "options",
     "config", "bytes", "payload_bytes", "bpp_real" | "kbps", "bpp_est", "rate", "rate_unit",
     "metrics": {...}, "metric_notes": {...}, "encode_s", "decode_s", "device", "machine", "lcodec",
     "finished", "error"}

``rate`` is ``bpp_real`` (images, video) or ``kbps`` (audio): the whole file, container included;
``payload_bytes`` is what the codec's chunks alone hold. A metric that cannot run is ``None`` with
the reason in ``metric_notes`` (MS-SSIM on frames under 161 px, PESQ without the ``pesq`` package).

Non-finite metric values are written as the strings "inf", "-inf", "nan" (JSON has no such numbers)
and read back as floats by :func:`load_rows`.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lcodec.errors import UsageError
from lcodec.eval.inputs import InputItem

# Quality points used when a sweep names a codec without --points: the codec's knob over its useful range.
DEFAULT_POINTS: dict[str, tuple[str, list[Any]]] = {
    "jpeg": ("quality", [20, 40, 60, 80, 95]),
    "webp": ("quality", [20, 40, 60, 80, 95]),
    "avif": ("quality", [20, 40, 60, 80, 95]),
    "png": ("compress_level", [6]),
    "x264": ("crf", [23, 28, 33, 38]),
    "x265": ("crf", [24, 29, 34, 39]),
    "svtav1": ("crf", [30, 38, 46, 54]),
    "vp9": ("crf", [30, 38, 46, 54]),
    "opus": ("bitrate", [8, 16, 32, 64]),
    "mp3": ("bitrate", [32, 64, 128, 192]),
    "flac": ("compression_level", [5]),
    # Fitting INRs costs minutes per point on a CPU: one short point unless asked for more.
    "hnerv": ("time_budget", ["30s"]),
    "nervpp": ("time_budget", ["30s"]),
}
NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


@dataclass(frozen=True)
class RDTask:
    """One row to compute: ``input`` encoded by ``codec`` at ``point`` (plus fixed ``options``)."""

    input: InputItem
    codec: str
    point: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    frames: int | None = None  # video: use the first N frames only

    @property
    def key(self) -> str:
        settings = json.dumps({**self.options, **self.point}, sort_keys=True)
        limit = f"|frames={self.frames}" if self.frames else ""
        return f"{self.input.id}|{self.codec}|{settings}{limit}"


def _literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_points(specs: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """``["x264:crf=23,28,33", "jpeg:quality=50,90"]`` -> ``{"x264": [{"crf": 23}, ...], ...}``.

    Several ``KEY=V1,V2`` parts joined by ``:`` make the product (``hnerv:preset=0.35M,1.5M:time_budget=30s``).
    """
    points: dict[str, list[dict[str, Any]]] = {}
    for spec in specs:
        codec, *parts = spec.split(":")
        if not codec or not parts:
            raise UsageError(f"--points expects CODEC:KEY=V1,V2,..., got {spec!r}")
        axes = []
        for part in parts:
            key, sep, values = part.partition("=")
            if not sep or not key or not values:
                raise UsageError(f"--points expects CODEC:KEY=V1,V2,..., got {spec!r}")
            axes.append([(key.replace("-", "_"), _literal(v)) for v in values.split(",") if v != ""])
        points.setdefault(codec, []).extend(dict(combo) for combo in itertools.product(*axes))
    return points


def parse_options(specs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``["x264:preset=fast"]`` -> ``{"x264": {"preset": "fast"}}``: options fixed for every point."""
    options: dict[str, dict[str, Any]] = {}
    for spec in specs:
        codec, sep, rest = spec.partition(":")
        key, eq, value = rest.partition("=")
        if not sep or not eq or not codec or not key:
            raise UsageError(f"-O expects CODEC:KEY=VALUE, got {spec!r}")
        options.setdefault(codec, {})[key.replace("-", "_")] = _literal(value)
    return options


def default_points(codec: str) -> list[dict[str, Any]]:
    """The built-in sweep for ``codec``, or one point at the codec's defaults."""
    if codec not in DEFAULT_POINTS:
        return [{}]
    knob, values = DEFAULT_POINTS[codec]
    return [{knob: v} for v in values]


def plan(inputs: list[InputItem], codecs: list[str], points: dict[str, list[dict[str, Any]]] | None = None,
         options: dict[str, dict[str, Any]] | None = None, device: str = "cpu",
         frames: int | None = None) -> list[RDTask]:
    """Every (codec, point, input) task whose codec handles the input's modality.

    Raises :class:`UsageError` for an unknown codec, or a codec that matches no input.
    """
    from lcodec import registry

    points, options = points or {}, options or {}
    modalities = {e.id: e.modality for e in registry.entries()}
    for codec in set(codecs) | set(points) | set(options):
        if codec not in modalities:
            raise UsageError(f"unknown codec {codec!r} (see `lcodec list`)")
    for codec in set(points) - set(codecs):
        raise UsageError(f"--points names {codec!r}, which is not among the codecs swept (-c {codec})")
    tasks = []
    for codec in codecs:
        matching = [item for item in inputs if item.modality == modalities[codec]]
        if not matching:
            raise UsageError(f"codec {codec!r} compresses {modalities[codec]}, but no input is {modalities[codec]}")
        for point in points.get(codec) or default_points(codec):
            for item in matching:
                tasks.append(RDTask(item, codec, point, options.get(codec, {}), device, frames))
    return tasks


# --- one row --------------------------------------------------------------------------------------

def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        return _json_value(value.item())
    return value


def machine() -> str:
    """A short description of this host, e.g. "x86_64, 2 cores, Linux"."""
    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}"


def _load(task: RDTask) -> Any:
    from lcodec import media
    from lcodec.media import Video

    loaded = media.read(task.input.path)
    if task.frames and isinstance(loaded, Video):
        frames = np.stack(list(itertools.islice(loaded.iter_frames(), task.frames)))
        loaded = Video(frames, loaded.fps, loaded.pix_fmt, loaded.meta)
    return loaded


def visual_metrics(original_frames: Iterable[np.ndarray], decoded_frames: Iterable[np.ndarray],
                   notes: dict[str, str]) -> dict[str, float | None]:
    """PSNR (RGB), Y-PSNR (BT.601, colour only) and MS-SSIM over frames [H, W, C], frame by frame."""
    from lcodec.eval.metrics import RunningMSSSIM, RunningPSNR, luma

    rgb, y, ssim = None, None, RunningMSSSIM()
    for a, b in itertools.zip_longest(original_frames, decoded_frames):
        if a is None or b is None:
            raise ValueError("decoded media has a different number of frames than the original")
        if a.shape != b.shape:
            raise ValueError(f"decoded frame is {b.shape}, the original {a.shape}")
        peak = float(np.iinfo(a.dtype).max) if np.issubdtype(a.dtype, np.integer) else 1.0
        rgb = rgb or RunningPSNR(peak)
        rgb.add(a, b)
        if a.shape[-1] >= 3:
            y = y or RunningPSNR(peak)
            y.add(luma(a), luma(b))
        ssim.add(a, b)
    if rgb is None:
        raise ValueError("no frames to compare")
    if ssim.reason:
        notes["ms_ssim"] = ssim.reason
    return {"psnr": rgb.value, "psnr_y": y.value if y else None, "ms_ssim": ssim.value}


def audio_metrics(original: np.ndarray, decoded: np.ndarray, sample_rate: int,
                  notes: dict[str, str]) -> dict[str, float | None]:
    """SI-SDR, log-mel distance, STOI and wideband PESQ; a metric that cannot run is ``None`` with a note."""
    from lcodec.eval import metrics

    if original.shape != decoded.shape:
        raise ValueError(f"decoded audio is {decoded.shape}, the original {original.shape}")
    values: dict[str, float | None] = {
        "si_sdr": metrics.si_sdr(original, decoded),
        "mel_distance": metrics.mel_distance(original, decoded, sample_rate),
    }
    for name, fn in (("stoi", metrics.stoi), ("pesq", metrics.pesq)):
        try:
            values[name] = fn(original, decoded, sample_rate)
        except ImportError as exc:
            values[name] = None
            notes[name] = f"not installed: {exc.name or exc}"
        except ValueError as exc:
            values[name] = None
            notes[name] = str(exc)
    return values


def payload_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes of a ``.lc`` file's codec chunks, without the container's header, chunk headers,
    encoder statistics and seek index (what the codec itself spent)."""
    from lcodec import api
    from lcodec.formats import INDEX_TYPE, STATS_TYPE

    chunks = api.probe(path)["chunks"]["by_type"]
    return sum(v["bytes"] for kind, v in chunks.items() if kind not in (INDEX_TYPE, STATS_TYPE))


def run_task(task: RDTask) -> dict[str, Any]:
    """Encode, write, decode and measure one task; errors land in the row's ``error`` field.

    Top-level so process pools and Ray can pickle it.
    """
    from lcodec import __version__, api
    from lcodec.media import Audio, Image, Video

    row: dict[str, Any] = {
        "key": task.key, "input": task.input.id, "input_path": task.input.path, "modality": task.input.modality,
        "codec": task.codec, "point": task.point, "options": task.options, "device": task.device,
        "machine": machine(), "lcodec": __version__, "error": None,
    }
    notes: dict[str, str] = {}
    try:
        original = _load(task)
        with tempfile.TemporaryDirectory(prefix="lcodec-rd-") as scratch:
            path = Path(scratch) / "out.lc"
            start = time.perf_counter()
            result = api.encode_file(original, path, task.codec, device=task.device,
                                     **{**task.options, **task.point})
            encode_s = time.perf_counter() - start
            size = path.stat().st_size
            payload = payload_bytes(path)
            start = time.perf_counter()
            decoded = api.decode(path, device=task.device)
            decode_s = time.perf_counter() - start
        described = result.meta["media"]
        row.update(codec_version=result.meta["codec"]["version"], config=result.meta["codec"]["config"],
                   media={k: v for k, v in described.items() if k not in ("origin", "array_ndim")},
                   bytes=size, payload_bytes=payload, encode_s=round(encode_s, 4), decode_s=round(decode_s, 4),
                   bpp_est=result.stats.get("bpp_est"))
        if isinstance(original, Audio):
            row["kbps"] = row["rate"] = 8 * size / (original.num_samples / original.sample_rate) / 1000
            row["rate_unit"] = "kbps"
            row["metrics"] = audio_metrics(original.samples, decoded.samples, original.sample_rate, notes)
        else:
            pixels = original.num_pixels
            row["bpp_real"] = row["rate"] = 8 * size / pixels
            row["rate_unit"] = "bpp"
            if isinstance(original, Image):
                row["metrics"] = visual_metrics([original.pixels], [decoded.pixels], notes)
            else:
                assert isinstance(original, Video) and isinstance(decoded, Video)
                row["metrics"] = visual_metrics(original.iter_frames(), decoded.iter_frames(), notes)
    except Exception as exc:  # noqa: BLE001 - one failing item must not stop the sweep
        row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    row["metric_notes"] = notes
    row["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return _json_value(row)


# --- the sweep ------------------------------------------------------------------------------------

def _restore(value: Any) -> Any:
    return NON_FINITE.get(value, value) if isinstance(value, str) else value


def load_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a JSONL run file, the last row per key winning (a rerun replaces a failed row).

    Non-finite metrics come back as floats; a truncated last line (a crash mid-write) is ignored.
    """
    rows: dict[str, dict[str, Any]] = {}
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a partial line left by a killed writer; the row will be recomputed
            if not isinstance(row, dict) or "key" not in row:
                raise UsageError(f"{path}:{number} is not an lcodec RD row")
            for group in ("metrics", "reference"):
                if isinstance(row.get(group), dict):
                    row[group] = {k: _restore(v) for k, v in row[group].items()}
            for name in ("rate", "bpp_real", "kbps"):
                if name in row:
                    row[name] = _restore(row[name])
            rows[row["key"]] = row
    return list(rows.values())


@dataclass
class SweepSummary:
    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_sweep(tasks: list[RDTask], output: str | os.PathLike[str], *, executor: Any = None,
              work: Callable[[RDTask], dict[str, Any]] = run_task,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> SweepSummary:
    """Run ``tasks`` not yet finished in ``output`` (JSONL), appending each row as it completes.

    ``executor`` is a :class:`lcodec.parallel.Executor` (default: inline). Rows that recorded an
    error are run again; rows without one are skipped.
    """
    from lcodec.parallel import Executor

    output = Path(output)
    finished = {r["key"] for r in load_rows(output) if not r.get("error")} if output.exists() else set()
    todo = [t for t in tasks if t.key not in finished]
    summary = SweepSummary(total=len(tasks), skipped=len(tasks) - len(todo))
    executor = executor or Executor()
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "a", encoding="utf-8") as sink:
        for row in executor.map_unordered(work, todo):
            sink.write(json.dumps(row, sort_keys=True) + "\n")
            sink.flush()
            os.fsync(sink.fileno())
            summary.done += 1
            if row.get("error"):
                summary.failed += 1
                summary.errors.append(f"{row['key']}: {row['error']}")
            if on_row:
                on_row(row)
    return summary
