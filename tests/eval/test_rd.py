"""RD sweeps: real files per row, resume, errors recorded per row, parsing, inputs, -j 2."""
import json
import math

import numpy as np
import pytest

from lcodec import media
from lcodec.errors import MissingInputError, UsageError
from lcodec.eval import inputs, rd
from lcodec.parallel import LocalExecutor


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 172)[None, :, None]
    for name, size in (("big.png", 172), ("small.png", 48)):
        pixels = np.clip(ramp[:, :size] + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
        media.write(media.Image(pixels), folder / name)
    (folder / "notes.txt").write_text("not media")
    return folder


def test_parse_points_and_options():
    assert rd.parse_points(["x264:crf=23,28", "jpeg:quality=50"]) == {
        "x264": [{"crf": 23}, {"crf": 28}], "jpeg": [{"quality": 50}]}
    assert rd.parse_points(["hnerv:preset=0.35M,1.5M:time_budget=30s"])["hnerv"] == [
        {"preset": "0.35M", "time_budget": "30s"}, {"preset": "1.5M", "time_budget": "30s"}]
    assert rd.parse_options(["x264:preset=fast", "x264:gop=12"]) == {"x264": {"preset": "fast", "gop": 12}}
    for bad in (["x264"], ["x264:crf"], [":crf=1"]):
        with pytest.raises(UsageError):
            rd.parse_points(bad)
    with pytest.raises(UsageError):
        rd.parse_options(["x264=fast"])


def test_plan_matches_modalities_and_rejects_mistakes(photos):
    items = inputs.resolve([str(photos)], photos)
    assert [i.id for i in items] == ["big.png", "small.png"]
    tasks = rd.plan(items, ["jpeg", "png"], rd.parse_points(["jpeg:quality=40,80"]))
    assert len(tasks) == 2 * 2 + 1 * 2 and len({t.key for t in tasks}) == len(tasks)
    with pytest.raises(UsageError, match="no input is video"):
        rd.plan(items, ["x264"])
    with pytest.raises(UsageError, match="unknown codec"):
        rd.plan(items, ["nope"])
    with pytest.raises(UsageError, match="not among the codecs"):
        rd.plan(items, ["png"], rd.parse_points(["jpeg:quality=1"]))


def test_inputs_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingInputError, match="holds no"):
        inputs.resolve([str(tmp_path / "empty")], tmp_path)
    with pytest.raises(MissingInputError, match="no such input"):
        inputs.resolve([str(tmp_path / "missing.png")], tmp_path)
    with pytest.raises(UsageError):
        inputs.resolve([], tmp_path)


def test_named_sets_resolve(tmp_path):
    items = inputs.resolve(["skimage", "tones"], tmp_path)
    assert [i.modality for i in items] == ["image"] * 4 + ["audio"] * 2
    assert all(__import__("os").path.exists(i.path) for i in items)


def test_sweep_rows_resume_and_errors(photos, tmp_path):
    items = inputs.resolve([str(photos)], photos)
    tasks = rd.plan(items, ["jpeg", "png"], rd.parse_points(["jpeg:quality=60,1000"]))
    out = tmp_path / "run.jsonl"
    summary = rd.run_sweep(tasks, out)
    assert (summary.total, summary.done, summary.failed) == (6, 6, 2)
    rows = rd.load_rows(out)
    failed = [r for r in rows if r["error"]]
    assert len(failed) == 2 and all("quality" in r["error"] for r in failed)  # quality=1000 is refused per row
    good = {(r["input"], r["codec"], json.dumps(r["point"])): r for r in rows if not r["error"]}
    big = good[("big.png", "jpeg", '{"quality": 60}')]
    assert big["bytes"] > 0 and big["bpp_real"] == pytest.approx(8 * big["bytes"] / 172**2)
    assert big["rate_unit"] == "bpp" and big["codec_version"] == 1 and big["config"]["quality"] == 60
    assert 0 < big["bytes"] - big["payload_bytes"] < 2000  # the .lc header, chunk headers, stats
    assert 20 < big["metrics"]["psnr"] < 60 and 0.5 < big["metrics"]["ms_ssim"] < 1
    small = good[("small.png", "jpeg", '{"quality": 60}')]
    assert small["metrics"]["ms_ssim"] is None and "161" in small["metric_notes"]["ms_ssim"]
    lossless = good[("big.png", "png", '{"compress_level": 6}')]
    assert lossless["metrics"]["psnr"] == math.inf  # written as "inf", read back as a float
    assert '"psnr": "inf"' in out.read_text()
    # Rerun: finished rows are skipped, failed rows are tried again (and fail again).
    again = rd.run_sweep(tasks, out)
    assert (again.skipped, again.done, again.failed) == (4, 2, 2)
    assert len(rd.load_rows(out)) == 6


def test_truncated_last_line_is_recomputed(photos, tmp_path):
    tasks = rd.plan(inputs.resolve([str(photos / "small.png")], photos), ["png"])
    out = tmp_path / "run.jsonl"
    rd.run_sweep(tasks, out)
    text = out.read_text()
    out.write_text(text + text[: len(text) // 2])  # a crash mid-write
    assert len(rd.load_rows(out)) == 1
    with pytest.raises(UsageError, match="not an lcodec RD row"):
        (tmp_path / "bad.jsonl").write_text('{"a": 1}\n')
        rd.load_rows(tmp_path / "bad.jsonl")


def test_shape_mismatch_is_an_error_row():
    with pytest.raises(ValueError, match="different number of frames"):
        rd.visual_metrics([np.zeros((4, 4, 3), np.uint8)] * 2, [np.zeros((4, 4, 3), np.uint8)], {})
    with pytest.raises(ValueError, match="decoded frame"):
        rd.visual_metrics([np.zeros((4, 4, 3), np.uint8)], [np.zeros((4, 5, 3), np.uint8)], {})


def test_audio_and_video_rows(tmp_path):
    items = inputs.resolve(["tones"], tmp_path)[:1]
    clip = tmp_path / "clip.mkv"
    frames = np.random.default_rng(0).integers(0, 255, (3, 32, 48, 3), dtype=np.uint8)
    media.write(media.Video(frames, 10), clip)
    items += inputs.resolve([str(clip)], tmp_path)
    tasks = rd.plan(items, ["flac", "x264"], rd.parse_points(["x264:crf=30"]))
    rows = [rd.run_task(t) for t in tasks]
    audio, video = rows
    assert audio["error"] is None and audio["rate_unit"] == "kbps" and audio["kbps"] > 0
    # FLAC of 16-bit PCM is lossless: infinite SI-SDR, written as the string "inf" in the row.
    assert audio["metrics"]["si_sdr"] == "inf" and audio["metrics"]["mel_distance"] == 0.0
    assert video["error"] is None and video["media"]["frames"] == 3
    assert 10 < video["metrics"]["psnr"] < 60 and video["metrics"]["psnr_y"] is not None


def test_parallel_sweep_equals_inline(photos, tmp_path):
    tasks = rd.plan(inputs.resolve([str(photos)], photos), ["jpeg"], rd.parse_points(["jpeg:quality=30,70"]))
    with LocalExecutor(2) as executor:
        rd.run_sweep(tasks, tmp_path / "par.jsonl", executor=executor)
    rd.run_sweep(tasks, tmp_path / "seq.jsonl")

    def key(rows):
        return {r["key"]: (r["bytes"], r["metrics"]["psnr"]) for r in rows}

    assert key(rd.load_rows(tmp_path / "par.jsonl")) == key(rd.load_rows(tmp_path / "seq.jsonl"))
