"""The command line as a user meets it: exit codes, one-line errors, no partial outputs, no torch."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from lcodec.cli import main
from lcodec.formats import Chunk, Writer

NO_HEAVY_IMPORTS = (
    "import sys; from lcodec.cli import main\n"
    "try:\n    rc = main({argv!r})\nexcept SystemExit as e:\n    rc = e.code\n"
    "heavy = [m for m in ('torch', 'compressai', 'av', 'PIL', 'lcodec.codecs.classic') if m in sys.modules]\n"
    "assert not heavy, heavy\nsys.exit(rc)\n"
)


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def lc_file(path, codec_id="rawimage", chunks=(Chunk("PIXL", b"x"),)):
    with Writer(path, {"codec": {"id": codec_id, "version": 1, "config": {}},
                       "media": {"kind": "image", "height": 2, "width": 2}}) as writer:
        for chunk in chunks:
            writer.add(chunk)
    return path


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["encode", "--help"], ["decode", "--help"]])
def test_help_and_list_import_nothing_heavy(argv):
    subprocess.run([sys.executable, "-c", NO_HEAVY_IMPORTS.format(argv=argv)], check=True, capture_output=True)


def test_info_and_verify_import_nothing_heavy(tmp_path):
    path = str(lc_file(tmp_path / "a.lc"))
    for argv in (["info", path], ["verify", path], ["info", "--json", path]):
        proc = subprocess.run([sys.executable, "-c", NO_HEAVY_IMPORTS.format(argv=argv)], capture_output=True, text=True)
        assert proc.returncode in (0, 65), proc.stderr  # 65: codec not installed in this process
        assert "Traceback" not in proc.stderr


def test_list_json(capsys):
    rc, out, _ = run(["list", "--json"], capsys)
    ids = {c["id"]: c for c in json.loads(out)["codecs"]}
    assert rc == 0 and ids["x264"]["modality"] == "video" and ids["flac"]["builtin"]


def test_no_command_is_a_usage_error(capsys):
    rc, _, err = run([], capsys)
    assert rc == 2 and "usage" in err


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["decode", "--bogus", "x.lc"])
    assert exc.value.code == 2


@pytest.mark.parametrize("command", ["decode", "info", "verify"])
def test_missing_input_exits_66(command, capsys, tmp_path):
    rc, out, err = run([command, str(tmp_path / "nope.lc")], capsys)
    said = out + err  # verify reports each file on stdout, like `sha256sum -c`
    assert rc == 66 and said.count("\n") == 1 and "no such file" in said and "Traceback" not in said


def test_missing_input_on_encode_exits_66(capsys, tmp_path):
    rc, _, err = run(["encode", str(tmp_path / "nope.png"), "-o", str(tmp_path / "x.lc")], capsys)
    assert rc == 66 and "no such file" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"hello, world", "not an .lc file"),
])
@pytest.mark.parametrize("command", ["decode", "info", "verify"])
def test_garbage_input_exits_65(command, content, message, capsys, tmp_path):
    bad = tmp_path / "bad.lc"
    bad.write_bytes(content)
    rc, out, err = run([command, str(bad), *(["-o", str(tmp_path / "out.png")] if command == "decode" else [])], capsys)
    assert rc == 65 and message in out + err and "Traceback" not in out + err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.lc"]


def test_damaged_and_truncated_files_exit_65(capsys, tmp_path):
    good = lc_file(tmp_path / "good.lc").read_bytes()
    damaged = bytearray(good)
    damaged[-40] ^= 0x40  # the payload byte: 24-byte trailer, 15 bytes of padding before it
    (tmp_path / "damaged.lc").write_bytes(bytes(damaged))
    (tmp_path / "cut.lc").write_bytes(good[:-10])
    for name, message in (("damaged.lc", "corrupt"), ("cut.lc", "truncated")):
        rc, _, err = run(["decode", str(tmp_path / name), "-o", str(tmp_path / "out.png")], capsys)
        assert rc == 65 and message in err
        rc, out, _ = run(["verify", "--json", str(tmp_path / name)], capsys)
        assert rc == 65 and json.loads(out)["ok"] is False
    assert not (tmp_path / "out.png").exists()


def test_unknown_codec_in_file_is_named(capsys, tmp_path):
    path = lc_file(tmp_path / "ghost.lc", codec_id="ghost")
    rc, _, err = run(["decode", str(path), "-o", str(tmp_path / "x.png")], capsys)
    assert rc == 65 and "unknown codec 'ghost'" in err
    rc, out, err = run(["info", str(path)], capsys)
    assert rc == 0 and "not installed here" in out
    rc, out, err = run(["verify", str(path)], capsys)
    assert rc == 65 and "'ghost' is not installed" in out + err


def test_future_version_exits_65(capsys, tmp_path):
    data = bytearray(lc_file(tmp_path / "a.lc").read_bytes())
    data[8] = 9
    (tmp_path / "a.lc").write_bytes(bytes(data))
    rc, _, err = run(["info", str(tmp_path / "a.lc")], capsys)
    assert rc == 65 and "unsupported .lc format version 9" in err


def test_directory_as_input(capsys, tmp_path):
    rc, _, err = run(["info", str(tmp_path)], capsys)
    assert rc == 2 and "directory" in err


# --- round trips with the test plugin codec (needs media I/O for PNG) ---------------------------

@pytest.fixture
def png(tmp_path):
    from lcodec import media

    pixels = np.random.default_rng(1).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    return media.write(media.Image(pixels), tmp_path / "in.png"), pixels


def test_encode_decode_info_verify(plugin_site, png, capsys, tmp_path):
    path, pixels = png
    out = tmp_path / "in.lc"
    rc, stdout, _ = run(["encode", str(path), "-c", "rawimage", "--level", "1", "--json"], capsys)
    summary = json.loads(stdout)
    assert rc == 0 and summary["output"] == str(out) and summary["bytes"] == out.stat().st_size
    assert summary["bpp"] == pytest.approx(8 * out.stat().st_size / (12 * 20))
    rc, stdout, _ = run(["info", str(out), "--json"], capsys)
    info = json.loads(stdout)
    assert info["codec"]["config"] == {"level": 1} and info["media"]["width"] == 20
    rc, stdout, _ = run(["info", str(out)], capsys)
    assert rc == 0 and "rawimage v1" in stdout and "bpp" in stdout
    rc, stdout, _ = run(["verify", str(out)], capsys)
    assert rc == 0 and "ok" in stdout
    rc, stdout, _ = run(["decode", str(out), "-o", str(tmp_path / "back.png")], capsys)
    from lcodec import media

    assert rc == 0 and np.array_equal(media.read(tmp_path / "back.png").pixels, pixels)


def test_refuses_to_overwrite_without_y(plugin_site, png, capsys, tmp_path):
    path, _ = png
    out = tmp_path / "x.lc"
    out.write_bytes(b"precious")
    rc, _, err = run(["encode", str(path), "-c", "rawimage", "-o", str(out)], capsys)
    assert rc == 73 and "exists" in err and out.read_bytes() == b"precious"
    rc, _, _ = run(["encode", str(path), "-c", "rawimage", "-o", str(out), "-y"], capsys)
    assert rc == 0 and out.read_bytes()[:4] == b"\x89LCD"
    rc, _, err = run(["encode", str(path), "-c", "rawimage", "-o", str(tmp_path)], capsys)
    assert rc == 73 and "directory" in err
    rc, _, err = run(["decode", str(out), "-o", str(path)], capsys)
    assert rc == 73 and "exists" in err


def test_codec_options(plugin_site, png, capsys, tmp_path):
    path, _ = png
    rc, _, err = run(["encode", str(path), "-c", "rawimage", "-O", "colour=blue", "-o", str(tmp_path / "a.lc")], capsys)
    assert rc == 2 and "no option colour" in err
    rc, _, err = run(["encode", str(path), "-c", "rawimage", "-O", "broken", "-o", str(tmp_path / "a.lc")], capsys)
    assert rc == 2 and "KEY=VALUE" in err
    rc, _, err = run(["encode", str(path), "-c", "nope", "-o", str(tmp_path / "a.lc")], capsys)
    assert rc == 2 and "unknown codec 'nope'" in err
    assert not (tmp_path / "a.lc").exists()
    with pytest.raises(SystemExit) as exc:
        main(["encode", str(path), "-c", "rawimage", "--help"])
    assert exc.value.code == 0 and "rawimage options" in capsys.readouterr().out


def test_stdin_and_stdout(plugin_site, png, tmp_path):
    path, pixels = png
    env_cmd = [sys.executable, "-m", "lcodec"]
    lc = subprocess.run([*env_cmd, "encode", "-", "-c", "rawimage", "-o", "-"], input=path.read_bytes(),
                        capture_output=True, check=True).stdout
    assert lc[:4] == b"\x89LCD"
    png_bytes = subprocess.run([*env_cmd, "decode", "-", "-o", "-", "-f", "png"], input=lc,
                               capture_output=True, check=True).stdout
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes))), pixels)


# --- every built-in classic codec through the real command line ---------------------------------

def _inputs(tmp_path):
    from lcodec import media

    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:32, 0:48]
    image = np.stack([x * 5, y * 7, (x + y) * 3], -1).astype(np.uint8)
    frames = np.stack([np.roll(image, 2 * t, axis=1) for t in range(6)])
    t = np.arange(8000) / 16000
    audio = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 660 * t)]).astype(np.float32)
    audio += 0.01 * rng.standard_normal(audio.shape).astype(np.float32)
    return {
        "image": media.write(media.Image(image), tmp_path / "in.png"),
        "video": media.write(media.Video(frames, fps=24), tmp_path / "in.mkv"),
        "audio": media.write(media.Audio(audio, 16000, subtype="PCM_16"), tmp_path / "in.wav"),
    }


CLASSIC = [("png", "image", [], 99), ("jpeg", "image", ["-q", "90"], 30), ("webp", "image", ["-q", "90"], 30),
           ("avif", "image", ["-q", "90"], 30), ("x264", "video", ["--crf", "18", "--preset", "ultrafast"], 30),
           ("x265", "video", ["--crf", "18", "--preset", "ultrafast"], 30),
           ("svtav1", "video", ["--crf", "20", "--preset", "12"], 28), ("vp9", "video", ["--crf", "20"], 28),
           ("opus", "audio", ["-b", "96k"], None), ("mp3", "audio", ["-b", "128k"], None), ("flac", "audio", [], 99)]


@pytest.mark.parametrize("codec, kind, options, min_psnr", CLASSIC, ids=[c[0] for c in CLASSIC])
def test_classic_codec_through_the_cli(codec, kind, options, min_psnr, capsys, tmp_path):
    from lcodec import media
    from lcodec.eval.metrics import psnr

    source = _inputs(tmp_path)[kind]
    out = tmp_path / "out.lc"
    rc, stdout, err = run(["encode", str(source), "-c", codec, *options, "-o", str(out), "--json"], capsys)
    assert rc == 0, err
    assert json.loads(stdout)["bytes"] == out.stat().st_size
    rc, stdout, _ = run(["info", str(out), "--json"], capsys)
    assert rc == 0 and json.loads(stdout)["codec"]["id"] == codec
    back = tmp_path / f"back{media.default_extension(media.read(source))}"
    rc, _, err = run(["decode", str(out), "-o", str(back)], capsys)
    assert rc == 0, err
    original, decoded = media.read(source), media.read(back)
    if kind == "image":
        a, b = original.pixels, decoded.pixels
    elif kind == "video":
        a, b = original.to_array(), decoded.to_array()
    else:
        assert decoded.sample_rate == original.sample_rate and decoded.samples.shape == original.samples.shape
        a, b = original.samples, decoded.samples
        snr = 10 * np.log10(np.sum(a.astype(np.float64) ** 2) / max(np.sum((a - b).astype(np.float64) ** 2), 1e-20))
        assert snr > (90 if codec == "flac" else 5), snr
        return
    assert a.shape == b.shape
    assert psnr(a, b) >= min_psnr
