"""Machine-perceptual quality: task registry, shipped digit weights, real files per row, plugins."""
import hashlib
import re
import sys
import textwrap

import numpy as np
import pytest

from lcodec.errors import CodecUnavailableError, UnsupportedError, UsageError
from lcodec.eval import mpq
from lcodec.eval.mpq import tasks


def test_registry_lists_builtins_and_refuses_unknown():
    ids = {t["id"]: t for t in mpq.list_tasks()}
    assert {"faces", "digits", "ocr"} <= set(ids)
    assert ids["digits"]["metric"] == "accuracy" and ids["digits"]["unavailable"] is None
    with pytest.raises(UsageError, match="unknown task"):
        mpq.get_task("nope")


def test_digit_weights_match_their_model_card():
    card = tasks.DIGITS_WEIGHTS.with_suffix(".md").read_text()
    digest = hashlib.sha256(tasks.DIGITS_WEIGHTS.read_bytes()).hexdigest()
    assert digest in card and "python -m lcodec.eval.mpq.train_digits" in card
    weight, bias, sha = tasks.load_digits_classifier()
    assert weight.shape == (10, 64) and bias.shape == (10,) and sha == digest
    stated = float(re.search(r"test accuracy ([0-9.]+)", card).group(1))
    task = tasks.DigitClassification()
    samples = task.samples()
    assert len(samples) == 360 and samples[0].pixels.shape == (32, 32, 1)
    assert task.score([task.predict(s) for s in samples])["accuracy"] == pytest.approx(stated, abs=1e-4)


def test_faces_on_originals():
    pytest.importorskip("cv2")
    task = tasks.FaceDetection()
    samples = task.samples(limit=20)
    assert len(samples) == 20 and samples[0].pixels.shape == (75, 75, 1)
    score = task.score([task.predict(s) for s in samples])
    assert score["recall"] >= 0.9 and score["false_positive_rate"] <= 0.1


def test_mpq_rows_are_real_files_and_scores_fall_with_rate():
    jobs = mpq.plan(["digits"], ["jpeg"], {"jpeg": [{"quality": 1}, {"quality": 90}]}, limit=60)
    low, high = (mpq.run_task(j) for j in jobs)
    assert low["error"] is None and high["error"] is None
    assert low["bytes"] < high["bytes"] and low["samples"] == 60
    assert low["metrics"]["psnr"] < high["metrics"]["psnr"]
    assert low["metrics"]["accuracy"] <= high["metrics"]["accuracy"] <= 1.0
    assert high["reference"]["accuracy"] >= 0.9 and high["task_metric"] == "accuracy"


def test_mpq_codec_failure_is_recorded():
    job = mpq.plan(["digits"], ["jpeg"], {"jpeg": [{"quality": 1000}]}, limit=4)[0]
    assert "quality" in mpq.run_task(job)["error"]
    with pytest.raises(UsageError, match="does not compress image"):
        mpq.plan(["digits"], ["x264"])


def test_ocr_skips_with_a_notice_without_tesseract(monkeypatch):
    monkeypatch.setattr(tasks.shutil, "which", lambda name: None)
    assert "tesseract" in tasks.OCR.unavailable_reason()
    with pytest.raises(CodecUnavailableError, match="tesseract"):
        mpq.plan(["ocr"], ["jpeg"])


def test_character_error_rate():
    assert tasks.levenshtein("kitten", "sitting") == 3
    assert tasks.character_error_rate(["abcd", "ef"], ["abxd", "ef"]) == pytest.approx(1 / 6)
    assert tasks.character_error_rate(["a  b"], ["a b"]) == 0.0


def test_ocr_end_to_end_when_tesseract_is_installed():
    if tasks.OCR.unavailable_reason():
        pytest.skip(tasks.OCR.unavailable_reason())
    task = tasks.OCR()
    samples = task.samples(limit=2)
    assert task.score([task.predict(s) for s in samples])["cer"] < 0.2


def test_third_party_task_through_entry_point(tmp_path, monkeypatch):
    site = tmp_path / "site"
    info = site / "mytask-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "mytask.py").write_text(textwrap.dedent('''
        import numpy as np
        from lcodec.eval.mpq import Task
        from lcodec.media import Image

        class Brightness(Task):
            id = "bright"
            metric = "accuracy"
            description = "is the image bright?"

            def samples(self, limit=None):
                return [Image(np.full((8, 8, 1), v, np.uint8)) for v in (10, 240)][:limit]

            def predict(self, media):
                return bool(media.pixels.mean() > 128)

            def score(self, predictions, limit=None):
                return {"accuracy": float(np.mean(np.asarray(predictions) == [False, True][:len(predictions)]))}
    '''))
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mytask\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[lcodec.mpq_tasks]\nbright = mytask:Brightness\n")
    monkeypatch.syspath_prepend(str(site))
    mpq._third_party.cache_clear()
    try:
        assert "bright" in {t["id"] for t in mpq.list_tasks()}
        row = mpq.run_task(mpq.plan(["bright"], ["png"])[0])
        assert row["error"] is None and row["metrics"]["accuracy"] == 1.0
    finally:
        mpq._third_party.cache_clear()
        sys.modules.pop("mytask", None)


def test_word_error_rate_matches_jiwer():
    refs = [["one", "two", "three"], ["four", "five"]]
    hyps = [["one", "three"], ["four", "five", "six"]]
    assert tasks.word_error_rate(refs, hyps) == pytest.approx(2 / 5)
    jiwer = pytest.importorskip("jiwer")
    assert tasks.word_error_rate(refs, hyps) == pytest.approx(
        jiwer.wer([" ".join(r) for r in refs], [" ".join(h) for h in hyps]))
    assert tasks.character_error_rate(["kitten sat"], ["sitting sat"]) == pytest.approx(
        jiwer.cer("kitten sat", "sitting sat"))


def test_spoken_digits_through_an_audio_codec():
    if tasks.SpokenDigits.unavailable_reason():
        pytest.skip(tasks.SpokenDigits.unavailable_reason())
    row = mpq.run_task(mpq.plan(["spoken-digits"], ["opus"], {"opus": [{"bitrate": 24}]}, limit=3)[0])
    assert row["error"] is None and row["modality"] == "audio" and row["rate_unit"] == "kbps"
    assert row["rate"] == row["kbps"] and row["payload_bytes"] < row["bytes"] and row["metrics"]["si_sdr"] > 0
    assert 0 <= row["metrics"]["wer"] <= 1.5 and 0 <= row["reference"]["wer"] <= 1


def test_pack_and_unpack_images_and_audio():
    from lcodec.media import Audio, Image

    rng = np.random.default_rng(0)
    images = [Image(rng.integers(0, 255, (6, 5, 1), dtype=np.uint8)) for _ in range(5)]
    packed = mpq.pack(images)
    assert packed.media.pixels.shape == (12, 15, 1)  # 3 columns x 2 rows, one spare cell
    assert packed.media.pixels[6:, 10:].min() == 127  # spare cells are mid-gray
    back = mpq.unpack(packed.media, packed, images)
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(images, back))
    clips = [Audio(rng.normal(0, 0.1, (1, n)).astype(np.float32), 8000) for n in (100, 300)]
    packed = mpq.pack(clips)
    assert packed.media.num_samples == 400 + 2 * int(mpq.GAP_SECONDS * 8000)
    back = mpq.unpack(packed.media, packed, clips)
    assert all(np.array_equal(a.samples, b.samples) for a, b in zip(clips, back))
    with pytest.raises(UnsupportedError, match="one shape"):
        mpq.pack([images[0], Image(np.zeros((7, 5, 1), np.uint8))])
    with pytest.raises(UnsupportedError, match="decoded sheet"):
        mpq.unpack(Image(np.zeros((4, 4, 1), np.uint8)), mpq.pack(images), images)
