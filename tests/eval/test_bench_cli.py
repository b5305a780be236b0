"""`lcodec bench` as a user meets it: rd -> JSONL -> report, mpq, exit codes, --json, no heavy imports."""
import json
import subprocess
import sys

import numpy as np
import pytest

from lcodec import media
from lcodec.cli import main

NO_HEAVY_IMPORTS = (
    "import sys; from lcodec.cli import main\n"
    "try:\n    rc = main({argv!r})\nexcept SystemExit as e:\n    rc = e.code\n"
    "heavy = [m for m in ('torch', 'av', 'PIL', 'matplotlib', 'cv2', 'lcodec.eval.rd') if m in sys.modules]\n"
    "assert not heavy, heavy\nsys.exit(rc)\n"
)


@pytest.mark.parametrize("argv", [["bench", "--help"], ["bench", "rd", "--help"], ["bench", "report", "--help"]])
def test_help_imports_nothing_heavy(argv):
    subprocess.run([sys.executable, "-c", NO_HEAVY_IMPORTS.format(argv=argv)], check=True, capture_output=True)


def test_rd_then_report(tmp_path, capsys):
    rng = np.random.default_rng(0)
    image = tmp_path / "img.png"
    media.write(media.Image(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)), image)
    run = tmp_path / "run.jsonl"
    argv = ["bench", "rd", "-c", "jpeg,webp", "-i", str(image), "--points", "jpeg:quality=20,50,90",
            "--points", "webp:quality=20,50,90", "-o", str(run), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["done"], result["failed"], result["total"]) == (6, 0, 6)
    assert (tmp_path / "run_report" / "report.md").exists()  # the default report folder
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == 6
    assert main(["bench", "report", str(run), "-o", str(tmp_path / "rep"), "--anchor", "jpeg"]) == 0
    out = capsys.readouterr().out
    assert "report.md" in out and (tmp_path / "rep" / "rd_image_psnr.png").exists()
    assert "BD-rate against `jpeg`" in (tmp_path / "rep" / "report.md").read_text()


def test_mpq_and_tasks(tmp_path, capsys):
    assert main(["bench", "tasks", "--json"]) == 0
    assert "digits" in {t["id"] for t in json.loads(capsys.readouterr().out)["tasks"]}
    out = tmp_path / "mpq.jsonl"
    assert main(["bench", "mpq", "-t", "digits", "-c", "png", "--limit", "10", "-o", str(out),
                 "--report", str(tmp_path / "rep")]) == 0
    text = capsys.readouterr().out
    assert "1 rows written" in text and (tmp_path / "rep" / "rd_task_digits_accuracy.png").exists()


@pytest.mark.parametrize("argv, code, message", [
    (["bench", "rd", "-c", "jpeg", "-i", "/nonexistent/x.png"], 66, "no such input"),
    (["bench", "rd", "-c", "nope", "-i", "skimage"], 2, "unknown codec"),
    (["bench", "rd", "-c", "jpeg", "-i", "skimage", "--points", "jpeg"], 2, "--points expects"),
    (["bench", "report", "/nonexistent.jsonl"], 66, "no such file"),
    (["bench", "mpq", "-t", "nope", "-c", "jpeg"], 2, "unknown task"),
])
def test_errors_are_one_line_with_exit_codes(argv, code, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_bench_without_subcommand_is_usage(capsys):
    assert main(["bench"]) == 2
