"""Reports: tables, BD-rate against an anchor, PNG plots, and honest NaN/inf handling."""
import json
import math

import pytest

from lcodec.eval import report


def row(codec, item, point, rate, psnr, ms_ssim=0.9, error=None, modality="image"):
    return {"key": f"{item}|{codec}|{point}", "input": item, "codec": codec, "modality": modality,
            "point": {"q": point}, "options": {}, "rate": rate, "rate_unit": "bpp", "bytes": int(rate * 1000),
            "metrics": {"psnr": psnr, "psnr_y": psnr + 1, "ms_ssim": ms_ssim}, "metric_notes": {},
            "encode_s": 0.01 * point, "decode_s": 0.001 * point, "device": "cpu", "machine": "test", "error": error}


def curves():
    rows = []
    for item in ("a", "b"):
        for q, (rate, psnr) in enumerate([(0.25, 30.0), (0.5, 33.0), (1.0, 36.0), (2.0, 39.0)], 1):
            rows.append(row("anchor", item, q, rate, psnr))
            rows.append(row("half", item, q, rate / 2, psnr, ms_ssim=0.95))  # same quality, half the bits
    return rows


def test_bd_table_against_anchor():
    table = report.bd_table(curves(), "anchor", ["psnr", "psnr_y", "ms_ssim"])
    assert table["half"]["psnr"]["bd_rate"] == pytest.approx(-50.0)
    assert table["half"]["psnr"]["inputs"] == 2 and table["half"]["psnr"]["bd_quality"] > 0
    assert math.isnan(table["half"]["ms_ssim"]["bd_rate"])  # flat MS-SSIM: repeated qualities, reason given
    assert "same value" in table["half"]["ms_ssim"]["reason"]


def test_nan_is_never_averaged_away():
    rows = curves()
    rows[0]["metrics"]["psnr"] = math.nan  # one input's point failed to measure
    summary = report.summarise(rows)
    first = summary["image"]["codecs"]["anchor"][0]
    assert math.isnan(first["metrics"]["psnr"]) and first["inputs"] == 2
    table = report.bd_table(rows, "anchor", ["psnr"])
    assert table["half"]["psnr"]["bd_rate"] == pytest.approx(-50.0)  # nan point left out of its curve, inputs kept


def test_build_writes_markdown_json_and_plots(tmp_path):
    rows = curves()
    for r in rows:
        r["bpp_est"] = r["rate"] * 0.9 if r["codec"] == "half" else None  # a learned codec's own estimate
    rows.append(row("lossless", "a", 1, 8.0, math.inf))
    rows.append(row("broken", "a", 1, 1.0, 0.0, error="UsageError: quality out of range"))
    built = report.build(rows, tmp_path, anchor="anchor")
    md = (tmp_path / "report.md").read_text()
    assert "BD-rate against `anchor`" in md and "-50.00 %" in md
    assert "| q=1 | 2 | 0.2500 | 30.0000" in md
    assert "inf" in md and "broken" in md and "quality out of range" in md
    assert md.count("bpp est") == 1  # only the codec that estimates its rate gets the column
    data = json.loads((tmp_path / "report.json").read_text())
    assert data == built and data["failed"] == 1
    assert data["sections"]["image"]["codecs"]["lossless"][0]["metrics"]["psnr"] == "inf"
    assert "lossless" not in data["sections"]["image"]["bd"]  # one point is no curve: n/a, not nan
    for name in built["plots"]:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"rd_image_psnr.png", "rd_image_ms_ssim.png", "time_image.png"} <= set(built["plots"])


def test_anchor_choice():
    assert report.choose_anchor(["webp", "x264"], None) == "x264"
    assert report.choose_anchor(["mine"], None) == "mine"
    assert report.choose_anchor(["mine"], "x264") is None
