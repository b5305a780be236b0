"""Media I/O: every format round-trips with its metadata, and user mistakes raise lcodec errors."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from PIL import Image as PILImage

from lcodec import media
from lcodec.errors import MissingInputError, OutputError, UnsupportedError, UsageError
from lcodec.media import Audio, Image, ImageSequenceFrames, Video, VideoFileFrames


def _random(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=np.int64).astype(dtype)


def _clip(frames=6, height=24, width=32):
    return _random((frames, height, width, 3), np.uint8, seed=frames)


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- stills -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_lossless_stills_round_trip_exactly(suffix, channels, dtype, tmp_path):
    pixels = _random((17, 23, channels), dtype)
    out = media.write(Image(pixels), tmp_path / f"x{suffix}")
    back = media.read(out)
    assert back.pixels.dtype == dtype and back.bit_depth == pixels.itemsize * 8
    np.testing.assert_array_equal(back.pixels, pixels)
    assert back.meta["format"] == ("PNG" if suffix == ".png" else "TIFF")


def test_16_bit_rgb_png_is_a_real_16_bit_png(tmp_path):
    pixels = _random((9, 7, 3), np.uint16)
    out = media.write(Image(pixels), tmp_path / "deep.png")
    head = out.read_bytes()[:26]
    assert head[24] == 16 and head[25] == 2  # IHDR: bit depth 16, colour type RGB
    with av.open(str(out)) as container:  # another reader sees the same samples
        frame = next(container.decode(video=0))
        assert frame.format.name == "rgb48be"
        np.testing.assert_array_equal(frame.to_ndarray(), pixels)


@pytest.mark.parametrize(("suffix", "channels_back"), [(".jpg", 3), (".jpeg", 3), (".webp", 3), (".avif", 3)])
def test_lossy_stills_round_trip_closely(suffix, channels_back, tmp_path):
    yy, xx = np.mgrid[0:32, 0:48]
    pixels = np.stack([xx * 5, yy * 7, (xx + yy) * 3], axis=-1).astype(np.uint8)
    back = media.read(media.write(Image(pixels), tmp_path / f"x{suffix}"))
    assert back.pixels.shape == (32, 48, channels_back) and back.pixels.dtype == np.uint8
    assert _psnr(pixels, back.pixels) > 35


def test_pillow_written_files_read_with_their_layout(tmp_path):
    PILImage.new("P", (5, 4), 3).save(tmp_path / "palette.png")
    PILImage.new("1", (5, 4), 1).save(tmp_path / "bilevel.png")
    PILImage.new("CMYK", (5, 4), (0, 0, 0, 0)).save(tmp_path / "cmyk.jpg")
    assert media.read(tmp_path / "palette.png").pixels.shape == (4, 5, 3)
    assert media.read(tmp_path / "bilevel.png").pixels.shape == (4, 5, 1)
    assert media.read(tmp_path / "cmyk.jpg").pixels.shape == (4, 5, 3)


def test_16_bit_to_jpeg_is_refused_and_leaves_nothing(tmp_path):
    with pytest.raises(UnsupportedError, match="16-bit"):
        media.write(Image(np.zeros((4, 4, 3), np.uint16)), tmp_path / "x.jpg")
    assert list(tmp_path.iterdir()) == []


# --- video ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_lossless_video_is_exact_and_keeps_fps(suffix, tmp_path):
    clip = _clip()
    fps = Fraction(30000, 1001)
    out = media.write(Video(clip, fps=fps), tmp_path / f"clip{suffix}")
    back = media.read(out)
    assert isinstance(back.frames, VideoFileFrames)
    assert (back.num_frames, back.height, back.width, back.fps) == (6, 24, 32, fps)
    np.testing.assert_array_equal(back.to_array(), clip)
    np.testing.assert_array_equal(back.to_array(), clip)  # a file source can be read again
    codec = "ffv1" if suffix == ".mkv" else "h264"
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == codec


def test_y4m_is_yuv_and_close(tmp_path):
    yy, xx = np.mgrid[0:24, 0:32]
    frame = np.stack([xx * 7, yy * 9, (xx + yy) * 4], axis=-1).astype(np.uint8)
    clip = np.stack([frame, frame[::-1], frame[:, ::-1]])
    back = media.read(media.write(Video(clip, fps=Fraction(24), pix_fmt="yuv420p"), tmp_path / "clip.y4m"))
    assert back.pix_fmt == "yuv420p" and back.fps == 24 and back.num_frames == 3
    assert _psnr(clip, back.to_array()) > 30
    back = media.read(media.write(Video(clip, pix_fmt="rgb24"), tmp_path / "full.y4m"))
    assert back.pix_fmt == "yuv444p"  # RGB sources keep full chroma


def test_png_sequence_round_trip(tmp_path):
    clip = _clip(frames=3)
    pattern = tmp_path / "frames" / "f_%04d.png"
    assert media.write(Video(clip), pattern) == pattern
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["f_0001.png", "f_0002.png", "f_0003.png"]
    for source in (pattern, tmp_path / "frames"):  # the pattern, or the folder itself
        back = media.read(source)
        assert isinstance(back.frames, ImageSequenceFrames) and back.fps == media.SEQUENCE_FPS
        np.testing.assert_array_equal(back.to_array(), clip)


def test_png_sequence_refuses_existing_frames(tmp_path):
    pattern = tmp_path / "%03d.png"
    media.write(Video(_clip(frames=2)), pattern)
    before = (tmp_path / "001.png").read_bytes()
    with pytest.raises(OutputError, match="exists"):
        media.write(Video(_clip(frames=2, height=8)), pattern)
    assert (tmp_path / "001.png").read_bytes() == before and _leftovers(tmp_path) == []
    media.write(Video(_clip(frames=2, height=8)), pattern, overwrite=True)
    assert media.read(pattern).height == 8


def _mux(path, frames, pts, fps=25, with_audio=False):
    """A clip with chosen timestamps (time base 1/1000) and optionally a silent audio track."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "bgr0"
        stream.time_base = Fraction(1, 1000)
        if with_audio:
            audio = container.add_stream("pcm_s16le", rate=8000, layout="mono")
            silence = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
            silence.sample_rate, silence.pts = 8000, 0
            container.mux(audio.encode(silence))
            container.mux(audio.encode(None))
        for rgb, stamp in zip(frames, pts):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = stamp, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def test_audio_in_a_video_is_ignored_with_a_notice(tmp_path, caplog):
    clip = _clip(frames=4)
    _mux(tmp_path / "talk.mkv", clip, [0, 40, 80, 120], with_audio=True)
    with caplog.at_level(logging.WARNING, logger="lcodec.media"):
        back = media.read(tmp_path / "talk.mkv")
    assert "audio" in caplog.text
    assert back.fps == 25 and not back.meta
    np.testing.assert_array_equal(back.to_array(), clip)


def test_variable_frame_rate_keeps_every_frame_at_the_average_rate(tmp_path, caplog):
    clip = _clip(frames=5)
    _mux(tmp_path / "vfr.mkv", clip, [0, 40, 120, 130, 200])
    with caplog.at_level(logging.WARNING, logger="lcodec.media"):
        back = media.read(tmp_path / "vfr.mkv")
    assert back.meta == {"variable_frame_rate": True} and "variable frame rate" in caplog.text
    assert 20 <= float(back.fps) <= 30
    np.testing.assert_array_equal(back.to_array(), clip)


def test_writing_a_lazy_video_iterates_it_once(tmp_path):
    clip = _clip(frames=3)
    passes = []

    class Source:
        num_frames, height, width = clip.shape[:3]

        def __iter__(self):
            passes.append(1)
            return iter(clip)

    media.write(Video(Source()), tmp_path / "lazy.mkv")
    assert passes == [1]
    np.testing.assert_array_equal(media.read(tmp_path / "lazy.mkv").to_array(), clip)


def test_a_failing_video_leaves_no_partial_output(tmp_path):
    clip = _clip(frames=4)

    class Broken:
        num_frames, height, width = clip.shape[:3]

        def __iter__(self):
            yield clip[0]
            yield clip[1]
            raise RuntimeError("camera unplugged")

    for target in (tmp_path / "broken.mkv", tmp_path / "seq" / "%02d.png"):
        with pytest.raises(UnsupportedError, match="camera unplugged"):
            media.write(Video(Broken()), target)
    assert list(tmp_path.iterdir()) == []


def test_frames_of_the_wrong_shape_are_a_usage_error(tmp_path):
    class Wrong:
        num_frames, height, width = 1, 8, 8

        def __iter__(self):
            yield np.zeros((8, 9, 3), np.uint8)

    with pytest.raises(UsageError, match="frame"):
        media.write(Video(Wrong()), tmp_path / "x.mkv")
    assert list(tmp_path.iterdir()) == []


# --- audio ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("suffix", "subtype"), [(".wav", "PCM_16"), (".wav", "PCM_24"), (".wav", "FLOAT"),
                                                 (".flac", "PCM_16"), (".flac", "PCM_24")])
@pytest.mark.parametrize(("channels", "rate"), [(1, 8000), (2, 44100), (6, 48000)])
def test_lossless_audio_keeps_samples_rate_and_subtype(suffix, subtype, channels, rate, tmp_path):
    bits = {"PCM_16": 16, "PCM_24": 24, "FLOAT": 24}[subtype]
    ints = np.random.default_rng(channels).integers(-2 ** (bits - 1), 2 ** (bits - 1), (channels, rate // 10))
    samples = (ints / 2 ** (bits - 1)).astype(np.float32)
    out = media.write(Audio(samples, rate, subtype=subtype), tmp_path / f"a{suffix}")
    back = media.read(out)
    assert (back.channels, back.num_samples, back.sample_rate, back.subtype) == (channels, rate // 10, rate, subtype)
    np.testing.assert_array_equal(back.samples, samples)
    assert sf.info(str(out)).subtype == subtype


def test_ogg_is_vorbis_at_the_same_rate(tmp_path):
    t = np.arange(22050) / 22050
    samples = (0.3 * np.sin(2 * np.pi * 440 * t))[None].astype(np.float32)
    back = media.read(media.write(Audio(samples, 22050, subtype="PCM_16"), tmp_path / "a.ogg"))
    assert (back.channels, back.num_samples, back.sample_rate, back.subtype) == (1, 22050, 22050, "VORBIS")


def test_out_of_range_samples_are_clipped_not_wrapped(tmp_path):
    samples = np.array([[1.5, -1.5, 0.5]], np.float32)
    back = media.read(media.write(Audio(samples, 8000, subtype="PCM_16"), tmp_path / "a.wav"))
    assert back.samples[0, 0] > 0.99 and back.samples[0, 1] == -1.0


# --- paths and errors -------------------------------------------------------------------------------

def test_kind_and_default_extension(tmp_path):
    assert media.kind_of_path("a.PNG") == "image" and media.kind_of_path("b.tiff") == "image"
    assert media.kind_of_path("c.mp4") == "video" and media.kind_of_path("frames/%04d.png") == "video"
    assert media.kind_of_path("d.flac") == "audio" and media.kind_of_path("e.lc") is None
    assert media.kind_of_path(tmp_path) == "video"
    assert media.default_extension(Image(np.zeros((2, 2, 3), np.uint8))) == ".png"
    assert media.default_extension(Video(_clip(frames=1))) == ".mkv"
    assert media.default_extension(Audio(np.zeros((1, 4)), 8000)) == ".wav"


def test_missing_inputs(tmp_path):
    for missing in (tmp_path / "nope.png", tmp_path / "nope", tmp_path / "nope" / "%04d.png"):
        with pytest.raises(MissingInputError):
            media.read(missing)
    with pytest.raises(MissingInputError, match="no images"):
        media.read(tmp_path)


@pytest.mark.parametrize("name", ["bad.png", "bad.mp4", "bad.wav", "bad.bin", "empty.jpg"])
def test_garbage_inputs_are_unsupported(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(b"" if name.startswith("empty") else b"this is not media at all " * 40)
    with pytest.raises(UnsupportedError, match="cannot read"):
        media.read(path)


def test_outputs_are_refused_when_they_exist_or_are_folders(tmp_path):
    image = Image(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(OutputError, match="directory"):
        media.write(image, tmp_path)
    (tmp_path / "taken.png").write_bytes(b"keep me")
    with pytest.raises(OutputError, match="exists"):
        media.write(image, tmp_path / "taken.png")
    assert (tmp_path / "taken.png").read_bytes() == b"keep me"
    media.write(image, tmp_path / "taken.png", overwrite=True)
    assert media.read(tmp_path / "taken.png").pixels.shape == (4, 4, 3)
    with pytest.raises(OutputError, match="does not exist"):
        media.write(image, tmp_path / "no" / "such" / "x.png")
    assert _leftovers(tmp_path) == []


def test_unknown_output_extension_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="frames/%04d.png"):
        media.write(Video(_clip(frames=1)), tmp_path / "x.png")
    with pytest.raises(UsageError):
        media.write(Audio(np.zeros((1, 4)), 8000), tmp_path / "x.mp3")


def test_import_is_cheap():
    code = "import sys, lcodec.media; print(sorted(m for m in ('av', 'PIL', 'soundfile', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.stdout.strip() == "[]"


def test_npy_batches_round_trip_through_an_lc_file(tmp_path):
    """[N, H, W] .npy arrays are batches of gray images, kept as a batch through encode and decode."""
    import lcodec
    from lcodec import api
    from lcodec.errors import UnsupportedError

    batch = np.random.default_rng(0).integers(0, 17, (5, 8, 8), dtype=np.uint8)
    np.save(tmp_path / "digits.npy", batch)
    image = media.read(tmp_path / "digits.npy")
    assert image.pixels.shape == (40, 8, 1) and image.meta["batch"] == 5
    api.encode_file(tmp_path / "digits.npy", tmp_path / "d.lc", "png")
    api.decode_file(tmp_path / "d.lc", tmp_path / "back.npy")
    assert np.array_equal(np.load(tmp_path / "back.npy"), batch)
    assert np.array_equal(lcodec.decode(tmp_path / "d.lc").pixels, image.pixels)
    np.save(tmp_path / "float.npy", batch.astype(np.float32))
    with pytest.raises(UnsupportedError, match="integers"):
        media.read(tmp_path / "float.npy")
