"""Reports of RD and MPQ runs: report.md (tables), report.json (for pipelines), PNG plots.

Why this shape: people choose codecs by curves, so each quality metric gets a rate–quality plot
(rate on a log axis: points of one codec are spaced by factors, not by steps) and a BD-rate table
against one anchor codec; the per-point tables give the numbers behind every marker, with the
time it took to encode and decode. Non-finite values (a lossless point's infinite PSNR, a metric
that failed) stay visible as "inf"/"nan" in the tables and are never averaged into a finite
number; points without a finite value are left out of plots and BD-rate, and the report says so.
"""
from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from lcodec.eval.bdrate import bd_quality, bd_rate

# Metrics in display order: label, direction, and whether BD-rate applies ("bd": continuous quality
# scales; task scores move in steps of one sample, so their curves have ties BD-rate cannot integrate).
METRICS: dict[str, dict[str, Any]] = {
    "psnr": {"label": "PSNR RGB (dB)", "higher": True, "bd": True},
    "psnr_y": {"label": "PSNR Y, BT.601 (dB)", "higher": True, "bd": True},
    "ms_ssim": {"label": "MS-SSIM", "higher": True, "bd": True},
    "si_sdr": {"label": "SI-SDR (dB)", "higher": True, "bd": True},
    "mel_distance": {"label": "log-mel L1 distance", "higher": False},
    "stoi": {"label": "STOI", "higher": True, "bd": True},
    "pesq": {"label": "PESQ wideband (MOS-LQO)", "higher": True, "bd": True},
    "recall": {"label": "face detection recall", "higher": True},
    "false_positive_rate": {"label": "face detections on non-faces", "higher": False},
    "accuracy": {"label": "digit classification accuracy", "higher": True},
    "cer": {"label": "OCR character error rate", "higher": False},
    "wer": {"label": "ASR word error rate", "higher": False},
}
RATE_LABELS = {"bpp": "rate (bits per pixel)", "kbps": "rate (kbit/s)"}
DEFAULT_ANCHORS = ("x264", "x265", "jpeg", "webp", "opus", "mp3")


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{digits}g}" if abs(value) < 1e-3 or abs(value) >= 1e5 else f"{value:.{digits}f}"
    return str(value)


def _mean(values: list[float | None]) -> float | None:
    """Mean that keeps non-finite values visible: any nan -> nan, inf stays inf, all None -> None."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return float(np.mean(present))  # numpy propagates nan and inf as they are


def _point_label(row: dict[str, Any]) -> str:
    settings = {**row.get("options", {}), **row.get("point", {})}
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or "defaults"


def _metric_names(rows: list[dict[str, Any]]) -> list[str]:
    present = {name for r in rows for name, v in (r.get("metrics") or {}).items() if v is not None}
    return [m for m in METRICS if m in present] + sorted(present - set(METRICS))


def section(row: dict[str, Any]) -> str:
    """The part of a report a row belongs to: its modality, or its machine-perception task."""
    return f"task {row['task']}" if row.get("task") else str(row.get("modality", "?"))


def _references(members: list[dict[str, Any]], names: list[str]) -> dict[str, float | None]:
    """Mean task score on the originals (MPQ rows carry it) for each metric that has one."""
    out = {}
    for name in names:
        values = [(m.get("reference") or {}).get(name) for m in members]
        if any(v is not None for v in values):
            out[name] = _mean(values)
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per section (modality or task), per codec, per point: mean rate, metrics and times over the
    inputs that succeeded."""
    out: dict[str, Any] = {}
    by_section: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if not row.get("error"):
            by_section[section(row)].append(row)
    for part, group in by_section.items():
        codecs: dict[str, list[dict[str, Any]]] = {}
        names = _metric_names(group)
        for codec in dict.fromkeys(r["codec"] for r in group):
            points: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in group:
                if r["codec"] == codec:
                    points[_point_label(r)].append(r)
            summary = []
            for label, members in points.items():
                summary.append({
                    "point": label, "inputs": len(members),
                    "rate": _mean([m.get("rate") for m in members]),
                    "bytes": _mean([m.get("bytes") for m in members]),
                    "bpp_est": _mean([m.get("bpp_est") for m in members]),
                    "metrics": {n: _mean([(m.get("metrics") or {}).get(n) for m in members]) for n in names},
                    "reference": _references(members, names),
                    "encode_s": _mean([m.get("encode_s") for m in members]),
                    "decode_s": _mean([m.get("decode_s") for m in members]),
                })
            codecs[codec] = sorted(summary, key=lambda p: (p["rate"] is None, p["rate"] or 0.0))
        out[part] = {"rate_unit": group[0].get("rate_unit", "bpp"), "metrics": names, "codecs": codecs,
                     "inputs": sorted({r["input"] for r in group})}
    return out


def _curve(rows: list[dict[str, Any]], metric: str) -> tuple[list[float], list[float]]:
    pairs = [(r["rate"], r["metrics"][metric]) for r in rows
             if isinstance((r.get("metrics") or {}).get(metric), float) and r.get("rate")
             and math.isfinite(r["metrics"][metric]) and math.isfinite(r["rate"])]
    pairs.sort()
    return [p[0] for p in pairs], [p[1] for p in pairs]


def bd_table(rows: list[dict[str, Any]], anchor: str, metrics: list[str]) -> dict[str, dict[str, Any]]:
    """BD-rate (%) of every codec against ``anchor`` for each higher-is-better metric, averaged over
    inputs (and BD-quality for PSNR). A codec/metric where any input cannot be computed is ``nan``
    with the reason, never an average of the inputs that happened to work."""
    ok = [r for r in rows if not r.get("error")]
    table: dict[str, dict[str, Any]] = {}
    inputs = sorted({r["input"] for r in ok if r["codec"] == anchor})
    for codec in dict.fromkeys(r["codec"] for r in ok):
        if codec == anchor:
            continue
        entry: dict[str, Any] = {}
        for metric in metrics:
            if not METRICS.get(metric, {}).get("bd", False):
                continue
            values, quality, reasons = [], [], []
            for item in inputs:
                ra, qa = _curve([r for r in ok if r["codec"] == anchor and r["input"] == item], metric)
                rt, qt = _curve([r for r in ok if r["codec"] == codec and r["input"] == item], metric)
                if len(rt) < 2 or len(ra) < 2:
                    continue  # no curve here: a single point (lossless codecs) or the codec skipped this input
                try:
                    values.append(bd_rate(ra, qa, rt, qt))
                    if metric in ("psnr", "psnr_y"):
                        quality.append(bd_quality(ra, qa, rt, qt))
                except ValueError as exc:
                    values.append(math.nan)
                    reasons.append(f"{item}: {exc}")
            if not values:
                continue
            bad = [v for v in values if not math.isfinite(v)]
            if bad and not reasons:
                reasons.append(f"{len(bad)} of {len(values)} inputs: curves do not overlap")
            entry[metric] = {"bd_rate": math.nan if bad else float(np.mean(values)), "inputs": len(values),
                             "reason": "; ".join(reasons) or None}
            if quality and not bad:
                entry[metric]["bd_quality"] = float(np.mean(quality))
                if not math.isfinite(entry[metric]["bd_quality"]):
                    entry[metric]["reason"] = "BD-PSNR n/a: the rate ranges do not overlap"
        if entry:
            table[codec] = entry
    return table


def choose_anchor(codecs: Iterable[str], requested: str | None) -> str | None:
    codecs = list(codecs)
    if requested:
        return requested if requested in codecs else None
    return next((c for c in DEFAULT_ANCHORS if c in codecs), codecs[0] if codecs else None)


# --- plots ----------------------------------------------------------------------------------------

def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plain_log_ticks(axis: Any) -> None:
    """Label a log axis 0.5, 1, 2 rather than 5x10^-1, 10^0, 2x10^0, and label minor ticks when
    the axis is short (1 2 3 4 5 7 under one decade, 2 and 5 under two), so it always has numbers."""
    from matplotlib.ticker import FuncFormatter

    def minor(value: float, _: Any) -> str:
        low, high = sorted(axis.get_view_interval())
        if value <= 0 or low <= 0:
            return ""
        leading = round(value / 10 ** math.floor(math.log10(value)))
        wanted = (1, 2, 3, 4, 5, 7) if high / low < 10 else (2, 5) if high / low < 100 else ()
        return f"{value:g}" if leading in wanted else ""

    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(FuncFormatter(minor))


def _style(ax: Any, xlabel: str, ylabel: str, title: str, log_x: bool) -> None:
    if log_x:
        ax.set_xscale("log")
        _plain_log_ticks(ax.xaxis)
    if ax.get_yscale() == "log":
        _plain_log_ticks(ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.15)
    ax.legend(fontsize=9, frameon=True)


def _log_helps(rates: list[float]) -> bool:
    finite = [r for r in rates if r and math.isfinite(r) and r > 0]
    return len(finite) > 1 and max(finite) / min(finite) > 4


def plot_rd(summary: dict[str, Any], part: str, metric: str, path: Path, title: str) -> bool:
    """Rate–quality curves (mean over inputs), one line per codec; returns False when nothing is finite."""
    plt = _pyplot()
    data = summary[part]
    fig, ax = plt.subplots(figsize=(7, 4.6), dpi=110)
    drawn, rates, left_out = False, [], []
    for codec, points in data["codecs"].items():
        xs, ys, labels = [], [], []
        for p in points:
            value = p["metrics"].get(metric)
            if value is None:
                continue
            if p["rate"] is not None and math.isfinite(value) and math.isfinite(p["rate"]):
                xs.append(p["rate"])
                ys.append(value)
                labels.append(p["point"])
            else:
                left_out.append(f"{codec} {p['point']} ({_fmt(value)})")
        if xs:
            name = codec if len(xs) > 1 else f"{codec} ({labels[0]})"  # a lone marker says which point it is
            ax.plot(xs, ys, marker="o", linewidth=1.6, markersize=5, label=name)
            rates += xs
            drawn = True
        for p in points:
            ref = p.get("reference", {}).get(metric)
            if ref is not None and math.isfinite(ref):
                ax.axhline(ref, linestyle="--", color="gray", linewidth=1)
                ax.text(0.01, ref, "on the originals", color="dimgray", fontsize=8, va="bottom", ha="left",
                        transform=ax.get_yaxis_transform())
                break
    if not drawn:
        plt.close(fig)
        return False
    label = METRICS.get(metric, {}).get("label", metric)
    if not METRICS.get(metric, {}).get("higher", True):
        label += " (lower is better)"
    if left_out:
        title += f"\nnot drawn: {', '.join(left_out[:3])}" + (" ..." if len(left_out) > 3 else "")
    _style(ax, RATE_LABELS.get(data["rate_unit"], "rate"), label, title, _log_helps(rates))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def plot_time(summary: dict[str, Any], part: str, path: Path, title: str) -> bool:
    """Encode and decode seconds against rate (log-log), one colour per codec."""
    plt = _pyplot()
    data = summary[part]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110, sharex=True)
    rates: list[float] = []
    for index, (codec, points) in enumerate(data["codecs"].items()):
        colour = f"C{index % 10}"
        for ax, key in zip(axes, ("encode_s", "decode_s")):
            xs = [p["rate"] for p in points if p["rate"] and p[key]]
            ys = [p[key] for p in points if p["rate"] and p[key]]
            ax.plot(xs, ys, marker="o", color=colour, linewidth=1.4, markersize=5, label=codec)
            rates += xs
    if not rates:
        plt.close(fig)
        return False
    xlabel = RATE_LABELS.get(data["rate_unit"], "rate")
    for ax, what in zip(axes, ("encode", "decode")):
        ax.set_yscale("log")
        _style(ax, xlabel, f"{what} seconds per item", f"{what} time", _log_helps(rates))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


# --- writing --------------------------------------------------------------------------------------

def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def _table(header: list[str], lines: list[list[str]], align: str) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|",
            *("| " + " | ".join(cells) + " |" for cells in lines)]


def build(rows: list[dict[str, Any]], out_dir: str | os.PathLike[str], *, anchor: str | None = None,
          title: str = "lcodec rate–distortion report", remarks: list[str] | None = None) -> dict[str, Any]:
    """Write ``report.md``, ``report.json`` and PNG plots for ``rows`` into ``out_dir``; returns the JSON.

    ``remarks`` are lines the caller adds under Notes (e.g. what a benchmark knows about its numbers).
    """
    from lcodec.eval.rd import _json_value

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    failures = [{"key": r["key"], "error": r["error"]} for r in rows if r.get("error")]
    notes = [*(remarks or []),
             *sorted({f"{name}: {why}" for r in rows for name, why in (r.get("metric_notes") or {}).items()})]
    machines = sorted({r.get("machine", "?") for r in rows})
    devices = sorted({r.get("device", "?") for r in rows})
    md = [f"# {title}", "",
          f"{len(rows)} rows ({len(rows) - len(failures)} ok, {len(failures)} failed); machine: {', '.join(machines)}; "
          f"device: {', '.join(devices)}. Every row is a real `.lc` file: encode, write, decode, measure. "
          "Values are means over the inputs of each point.", ""]
    report: dict[str, Any] = {"rows": len(rows), "failed": len(failures), "machines": machines, "devices": devices,
                              "sections": {}, "failures": failures, "notes": notes, "plots": []}
    for part, data in summary.items():
        group = [r for r in rows if section(r) == part]
        chosen = choose_anchor(data["codecs"], anchor)
        bd = bd_table(group, chosen, data["metrics"]) if chosen else {}
        report["sections"][part] = {**data, "anchor": chosen, "bd": bd}
        unit = data["rate_unit"]
        md += [f"## {part}: {len(data['inputs'])} input(s), {len(data['codecs'])} codec(s)", "",
               "Inputs: " + ", ".join(f"`{i}`" for i in data["inputs"]), ""]
        if anchor and chosen is None:
            md += [f"Anchor `{anchor}` has no rows in {part}: no BD-rate.", ""]
        if bd:
            higher = [m for m in data["metrics"] if METRICS.get(m, {}).get("bd")]
            md += [f"### BD-rate against `{chosen}` (pchip; negative = fewer bits for the same quality)", ""]
            lines = []
            for codec, entry in bd.items():
                cells = [codec]
                for m in higher:
                    e = entry.get(m)
                    cells.append("n/a" if e is None else _fmt(e["bd_rate"], 2) + " %"
                                 + (f" ({_fmt(e['bd_quality'], 3)} dB)" if "bd_quality" in e else ""))
                lines.append(cells)
            md += _table(["codec", *(METRICS.get(m, {}).get("label", m) for m in higher)], lines,
                         ["---", *(["---:"] * len(higher))])
            reasons = [f"- {c} / {m}: {e['reason']}" for c, entry in bd.items()
                       for m, e in entry.items() if e["reason"]]
            md += ["", *reasons, ""] if reasons else [""]
        for metric in data["metrics"]:
            name = f"rd_{_slug(part)}_{metric}.png"
            label = METRICS.get(metric, {}).get("label", metric)
            if plot_rd(summary, part, metric, out / name, f"{part}: {label} vs rate"):
                report["plots"].append(name)
                md.append(f"![{metric}]({name})")
        name = f"time_{_slug(part)}.png"
        if plot_time(summary, part, out / name, f"{part}: coding time vs rate"):
            report["plots"].append(name)
            md += ["", f"![time]({name})"]
        md.append("")
        for codec, points in data["codecs"].items():
            md += [f"### {codec}", ""]
            estimated = any(p["bpp_est"] is not None for p in points)  # the codec's own rate estimate
            header = ["point", "inputs", unit, *(["bpp est"] if estimated else []),
                      *data["metrics"], "encode s", "decode s"]
            lines = [[p["point"], str(p["inputs"]), _fmt(p["rate"]), *([_fmt(p["bpp_est"])] if estimated else []),
                      *(_fmt(p["metrics"].get(m)) for m in data["metrics"]), _fmt(p["encode_s"], 3),
                      _fmt(p["decode_s"], 3)] for p in points]
            md += _table(header, lines, ["---", *(["---:"] * (len(header) - 1))])
            refs = {m: v for p in points for m, v in p.get("reference", {}).items()}
            if refs:
                md += ["", "On the originals: " + ", ".join(f"{m} {_fmt(v)}" for m, v in refs.items())]
            md.append("")
    if notes:
        md += ["## Notes", "", *(f"- {n}" for n in notes), ""]
    if failures:
        md += ["## Failures", "", *(f"- `{f['key']}`: {f['error']}" for f in failures), ""]
    (out / "report.md").write_text("\n".join(md).rstrip() + "\n", encoding="utf-8")
    cleaned = _json_value(report)
    (out / "report.json").write_text(json.dumps(cleaned, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return cleaned
