"""Media objects every codec consumes and produces, and reading/writing them from files.

Why dataclasses around plain arrays: codecs need the metadata a round trip needs (fps, sample
rate, bit depth, pixel format) next to the samples, and the API must hand back the same kind of
object it was given. Arrays are numpy; the API converts torch tensors at its boundary.

Shapes:
    Image.pixels   uint8 | uint16 [H, W, C], C in {1, 2, 3, 4} (gray, gray+alpha, RGB, RGBA)
    Video.frames   uint8 [T, H, W, 3] RGB, or a lazy :class:`FrameSource` yielding [H, W, 3] frames
    Audio.samples  float32 [C, N] in [-1, 1]

File I/O (:func:`read`, :func:`write`) goes through pillow (stills), av/ffmpeg (video, and 16-bit
RGB/alpha stills pillow cannot hold) and soundfile (audio). Those libraries are imported inside the
functions: ``lcodec info`` and ``--help`` import this module and must stay fast. Every user mistake
(missing file, garbage input, unwritable output) raises an :mod:`lcodec.errors` class with one line.
"""
from __future__ import annotations

import io
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol, Union

import numpy as np

from lcodec.errors import LcodecError, MissingInputError, OutputError, UnsupportedError, UsageError

log = logging.getLogger(__name__)

IMAGE_CHANNELS = {1: "gray", 2: "gray+alpha", 3: "rgb", 4: "rgba"}


class FrameSource(Protocol):
    """A lazily decoded clip: streaming codecs iterate it once without holding every frame."""

    num_frames: int
    height: int
    width: int

    def __iter__(self) -> Iterator[np.ndarray]: ...


@dataclass
class Image:
    """A still image. ``meta`` keeps source details a round trip needs (e.g. ``{"format": "PNG"}``)."""

    pixels: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    modality = "image"

    def __post_init__(self) -> None:
        if self.pixels.ndim == 2:
            self.pixels = self.pixels[:, :, None]
        if self.pixels.ndim != 3 or self.pixels.shape[2] not in IMAGE_CHANNELS:
            raise ValueError(f"image pixels must be [H, W, C] with C in 1..4, got shape {self.pixels.shape}")
        if self.pixels.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"image pixels must be uint8 or uint16, got {self.pixels.dtype}")

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def num_pixels(self) -> int:
        return self.height * self.width

    def describe(self) -> dict[str, Any]:
        return {"kind": "image", "height": self.height, "width": self.width, "channels": self.channels,
                "bit_depth": self.bit_depth, **self.meta}


@dataclass
class Video:
    """A clip of RGB frames at ``fps``; ``pix_fmt`` is the source's pixel format (kept for output)."""

    frames: Union[np.ndarray, FrameSource]
    fps: Fraction = Fraction(25)
    pix_fmt: str = "rgb24"
    meta: dict[str, Any] = field(default_factory=dict)
    modality = "video"

    def __post_init__(self) -> None:
        self.fps = Fraction(self.fps).limit_denominator(1_000_000)
        if isinstance(self.frames, np.ndarray):
            if self.frames.ndim != 4 or self.frames.shape[3] != 3 or self.frames.dtype != np.uint8:
                raise ValueError(f"video frames must be uint8 [T, H, W, 3], got {self.frames.dtype} {self.frames.shape}")
            if self.frames.shape[0] == 0:
                raise ValueError("video has no frames")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")

    @property
    def num_frames(self) -> int:
        f = self.frames
        return int(f.shape[0]) if isinstance(f, np.ndarray) else int(f.num_frames)

    @property
    def height(self) -> int:
        f = self.frames
        return int(f.shape[1]) if isinstance(f, np.ndarray) else int(f.height)

    @property
    def width(self) -> int:
        f = self.frames
        return int(f.shape[2]) if isinstance(f, np.ndarray) else int(f.width)

    @property
    def num_pixels(self) -> int:
        return self.num_frames * self.height * self.width

    def iter_frames(self) -> Iterator[np.ndarray]:
        """Yield uint8 [H, W, 3] frames in order, decoding lazily when the source is a reader."""
        yield from iter(self.frames)

    def to_array(self) -> np.ndarray:
        """All frames as one uint8 [T, H, W, 3] array (materialises a lazy source)."""
        if isinstance(self.frames, np.ndarray):
            return self.frames
        return np.stack(list(self.iter_frames()))

    def describe(self) -> dict[str, Any]:
        return {"kind": "video", "frames": self.num_frames, "height": self.height, "width": self.width,
                "fps": str(self.fps), "pix_fmt": self.pix_fmt, **self.meta}


@dataclass
class Audio:
    """Float32 samples [C, N] at ``sample_rate``; ``subtype`` is the source sample format (e.g. PCM_16)."""

    samples: np.ndarray
    sample_rate: int
    subtype: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    modality = "audio"

    def __post_init__(self) -> None:
        if self.samples.ndim == 1:
            self.samples = self.samples[None, :]
        if self.samples.ndim != 2:
            raise ValueError(f"audio samples must be [C, N], got shape {self.samples.shape}")
        self.samples = np.ascontiguousarray(self.samples, dtype=np.float32)
        if self.sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, got {self.sample_rate}")

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate

    def describe(self) -> dict[str, Any]:
        return {"kind": "audio", "channels": self.channels, "samples": self.num_samples,
                "sample_rate": self.sample_rate, "subtype": self.subtype, **self.meta}


Media = Union[Image, Video, Audio]


# --------------------------------------------------------------------------------------------------
# Paths and formats

# Output suffix -> pillow format name; the same formats are read back.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF",
                 ".tiff": "TIFF", ".avif": "AVIF", ".npy": "NPY"}
_IMAGE_READ_ONLY = {".bmp", ".gif", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".jp2", ".j2k"}
# Output suffix -> (av container format, encoder, pix_fmt, encoder options). RGB in, RGB out exactly,
# except y4m, which is YUV by definition (its pix_fmt is chosen per clip in _write_video_file).
VIDEO_FORMATS = {
    ".mkv": ("matroska", "ffv1", "bgr0", {}),
    ".mp4": ("mp4", "libx264rgb", "rgb24", {"qp": "0", "preset": "veryfast"}),
    ".y4m": ("yuv4mpegpipe", "rawvideo", "", {}),
}
_VIDEO_READ_ONLY = {".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".flv",
                    ".wmv", ".ogv", ".nut", ".264", ".h264", ".265", ".hevc", ".ivf", ".obu"}
_Y4M_PIX_FMTS = ("yuv420p", "yuv422p", "yuv444p", "gray")
# Output suffix -> soundfile format name.
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
_AUDIO_READ_ONLY = {".mp3", ".aif", ".aiff", ".au", ".oga", ".opus", ".w64", ".caf"}
DEFAULT_EXTENSIONS = {"image": ".png", "video": ".mkv", "audio": ".wav"}
SEQUENCE_FPS = Fraction(25)  # image sequences carry no timing; ffmpeg's image2 default

# A printf frame-number field such as %d or %04d in a file name marks an image sequence.
_FRAME_NUMBER = re.compile(r"%0?\d*d")


def _frame_field(path: Path) -> re.Match[str] | None:
    return _FRAME_NUMBER.search(path.name)


def kind_of_path(path: str | os.PathLike[str]) -> str | None:
    """``"image"``, ``"video"`` or ``"audio"`` from the file extension, ``None`` when it says nothing.

    A printf pattern (``frames/%04d.png``) or an existing directory is an image sequence: ``"video"``.
    """
    path = Path(path)
    if _frame_field(path):
        return "video"
    suffix = path.suffix.lower()
    if suffix in IMAGE_FORMATS or suffix in _IMAGE_READ_ONLY:
        return "image"
    if suffix in VIDEO_FORMATS or suffix in _VIDEO_READ_ONLY:
        return "video"
    if suffix in AUDIO_FORMATS or suffix in _AUDIO_READ_ONLY:
        return "audio"
    if path.is_dir():
        return "video"
    return None


def default_extension(media: Media) -> str:
    """The suffix :func:`write` uses when the user names none: ``.png``, ``.mkv`` or ``.wav``."""
    return DEFAULT_EXTENSIONS[media.modality]


def _first_line(exc: BaseException) -> str:
    """A library exception as one short line (ffmpeg's errno prefix and file name dropped)."""
    strerror = getattr(exc, "strerror", None)
    text = strerror if isinstance(strerror, str) and strerror else str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------------------------------
# Reading

def read(path: str | os.PathLike[str]) -> Media:
    """Read an image, video or audio file (or an image sequence) into a media object.

    Images come back as uint8/uint16 [H, W, C]; video as a :class:`Video` whose ``frames`` is a lazy
    :class:`VideoFileFrames` (frames are decoded while iterating); audio as float32 [C, N] with its
    ``subtype``. The kind comes from the extension; an unknown extension is sniffed.
    """
    path = Path(path)
    if _frame_field(path):
        return _read_sequence(_pattern_files(path))
    if path.is_dir():
        return _read_sequence(_directory_files(path))
    if not path.exists():
        raise MissingInputError(f"input {path} does not exist")
    if not os.access(path, os.R_OK):
        raise MissingInputError(f"input {path} cannot be read (permission denied)")
    if path.stat().st_size == 0:
        raise UnsupportedError(f"cannot read {path}: the file is empty")
    readers = {"image": _read_image, "video": _read_video, "audio": _read_audio}
    kind = kind_of_path(path)
    if kind is not None:
        try:
            return readers[kind](path)
        except LcodecError:
            raise
        except Exception as exc:  # library errors (pillow, av, soundfile) become one clear line
            raise UnsupportedError(f"cannot read {path} as {kind}: {_first_line(exc)}") from exc
    for reader in (_read_image, _read_audio, _read_video):  # no telling extension: sniff
        try:
            return reader(path)
        except Exception:
            continue
    raise UnsupportedError(f"cannot read {path}: not an image, audio or video format lcodec understands")


def _read_image(path: Path) -> Image:
    if path.suffix.lower() == ".npy":
        return _read_npy(path)
    try:
        return decode_image_bytes(path.read_bytes())
    except UnsupportedError as exc:
        raise UnsupportedError(f"cannot read {path} as image: {exc}") from exc


def _read_audio(path: Path) -> Audio:
    import soundfile as sf

    info = sf.info(str(path))
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    if data.shape[0] == 0:
        raise UnsupportedError(f"cannot read {path}: the audio has no samples")
    return Audio(data.T, int(rate), subtype=info.subtype, meta={"format": info.format})


# --- stills ---------------------------------------------------------------------------------------

# Packed pixel formats av uses for stills -> (channels, numpy dtype with byte order).
_PACKED_FORMATS = {
    "gray": (1, "u1"), "ya8": (2, "u1"), "rgb24": (3, "u1"), "rgba": (4, "u1"),
    "gray16be": (1, ">u2"), "ya16be": (2, ">u2"), "rgb48be": (3, ">u2"), "rgba64be": (4, ">u2"),
    "gray16le": (1, "<u2"), "ya16le": (2, "<u2"), "rgb48le": (3, "<u2"), "rgba64le": (4, "<u2"),
}
# 16-bit formats pillow cannot hold, written through ffmpeg's png/tiff encoders: (format, C) -> pix_fmt.
_AV_STILL_PIX_FMTS = {("PNG", 2): "ya16be", ("PNG", 3): "rgb48be", ("PNG", 4): "rgba64be",
                      ("TIFF", 2): "ya16le", ("TIFF", 3): "rgb48le", ("TIFF", 4): "rgba64le"}
_PIL_MODES = {(1, 8): "L", (2, 8): "LA", (3, 8): "RGB", (4, 8): "RGBA", (1, 16): "I;16"}
# pillow modes that hold the same samples in another layout -> the mode we keep.
_PIL_CONVERT = {"1": "L", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB", "PA": "RGBA", "CMYK": "RGB",
                "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}


def decode_image_bytes(data: bytes) -> Image:
    """Decode an encoded still (PNG, JPEG, WebP, TIFF, AVIF, ...) held in memory.

    Returns uint8 or uint16 [H, W, C] with C in 1..4; ``meta["format"]`` names the source format.
    16-bit PNG/TIFF with colour or alpha go through ffmpeg's decoders, because pillow would
    truncate them to 8 bits.
    """
    from PIL import Image as PILImage

    try:
        with PILImage.open(io.BytesIO(data)) as im:
            fmt = im.format or "unknown"
            if _needs_av_for_16bit(data, im):
                pixels = _decode_still_with_av(data, "png" if fmt == "PNG" else "tiff")
            else:
                pixels = _pil_to_array(im)
    except LcodecError:
        raise
    except Exception as exc:  # PIL.UnidentifiedImageError, OSError, SyntaxError, ...
        fmt = _still_signature(data)
        reason = "unknown or damaged image data" if type(exc).__name__ == "UnidentifiedImageError" else _first_line(exc)
        if fmt is None:
            raise UnsupportedError(reason) from exc
        try:  # pillow does not know every layout ffmpeg writes (16-bit gray+alpha TIFF)
            pixels = _decode_still_with_av(data, fmt.lower())
        except Exception:
            raise UnsupportedError(reason) from exc
    return Image(pixels, meta={"format": fmt})


def _still_signature(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] in (b"II*\0", b"MM\0*"):
        return "TIFF"
    return None


def _needs_av_for_16bit(data: bytes, im: Any) -> bool:
    if im.format == "PNG":  # IHDR is always the first chunk: bit depth at byte 24, colour type at 25
        return len(data) > 25 and data[24] == 16 and data[25] != 0
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        return max(bits) == 16 and int(im.tag_v2.get(277, 1)) > 1
    return False


def _pil_to_array(im: Any) -> np.ndarray:
    """pillow image -> uint8/uint16 [H, W] or [H, W, C]."""
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in _PIL_CONVERT:
        im = im.convert(_PIL_CONVERT[im.mode])
    if im.mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(im, dtype=np.uint8)
    if im.mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16)
    if im.mode == "I":  # 32-bit integer gray; fine when the values fit 16 bits (old 16-bit PNG path)
        pixels = np.asarray(im)
        if pixels.min() >= 0 and pixels.max() < 65536:
            return pixels.astype(np.uint16)
    raise UnsupportedError(f"pillow mode {im.mode!r} ({im.format}) is not supported (need 8/16-bit gray, RGB, RGBA)")


def _array_to_pil(pixels: np.ndarray) -> Any:
    from PIL import Image as PILImage

    bits = 16 if pixels.dtype == np.uint16 else 8
    mode = _PIL_MODES.get((pixels.shape[2], bits))
    if mode is None:
        raise UnsupportedError(f"pillow cannot hold {bits}-bit images with {pixels.shape[2]} channels")
    # fromarray picks L / LA / RGB / RGBA / I;16 from the shape and dtype (its mode argument is deprecated).
    plane = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
    return PILImage.fromarray(np.ascontiguousarray(plane))


def _decode_still_with_av(data: bytes, decoder: str) -> np.ndarray:
    import av

    context = av.CodecContext.create(decoder, "r")
    frames = list(context.decode(av.Packet(data))) + list(context.decode(None))
    if not frames:
        raise UnsupportedError(f"ffmpeg's {decoder} decoder returned no picture")
    return _packed_to_array(frames[0])


def _packed_to_array(frame: Any) -> np.ndarray:
    """av frame in a packed format -> [H, W, C] (uint8 or native-order uint16).

    Reads plane 0 directly, since ``to_ndarray`` does not support every packed format (ya16).
    """
    if frame.format.name not in _PACKED_FORMATS:
        has_alpha = any(c.is_alpha for c in frame.format.components)
        frame = frame.reformat(format="rgba64le" if has_alpha else "rgb48le")
    channels, dtype = _PACKED_FORMATS[frame.format.name]
    dtype = np.dtype(dtype)
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8)[:frame.height * plane.line_size].reshape(frame.height, plane.line_size)
    row_bytes = frame.width * channels * dtype.itemsize
    pixels = np.ascontiguousarray(rows[:, :row_bytes]).view(dtype).reshape(frame.height, frame.width, channels)
    return pixels.astype(dtype.newbyteorder("="))


def _packed_frame(pixels: np.ndarray, pix_fmt: str) -> Any:
    """[H, W, C] -> an av frame in packed ``pix_fmt`` (rows padded to the plane's line size)."""
    import av

    channels, dtype = _PACKED_FORMATS[pix_fmt]
    height, width = pixels.shape[:2]
    frame = av.VideoFrame(width, height, pix_fmt)
    plane = frame.planes[0]
    raw = np.ascontiguousarray(pixels.astype(dtype)).view(np.uint8).reshape(height, -1)
    rows = np.zeros((height, plane.line_size), np.uint8)
    rows[:, :raw.shape[1]] = raw
    plane.update(rows.tobytes())
    return frame


def _encode_still_with_av(pixels: np.ndarray, fmt: str, options: dict[str, Any]) -> bytes:
    import av

    encoder = "png" if fmt == "PNG" else "tiff"
    context = av.CodecContext.create(encoder, "w")
    context.width, context.height = pixels.shape[1], pixels.shape[0]
    context.pix_fmt = _AV_STILL_PIX_FMTS[(fmt, pixels.shape[2])]
    context.time_base = Fraction(1, 1)
    if "compress_level" in options:  # pillow's name -> ffmpeg's (0..9 for png)
        context.options = {"compression_level": str(int(options["compress_level"]))}
    frame = _packed_frame(pixels, context.pix_fmt)
    frame.pts = 0
    packets = list(context.encode(frame)) + list(context.encode(None))
    return b"".join(bytes(p) for p in packets)


def encode_image_bytes(image: Image, fmt: str, **options: Any) -> bytes:
    """Encode ``image`` as ``fmt`` ("PNG", "JPEG", "WEBP", "TIFF", "AVIF") with pillow's save options.

    Exactly the bytes pillow writes, except 16-bit gray+alpha/RGB/RGBA PNG and TIFF, which pillow
    cannot hold and ffmpeg's png/tiff encoders write instead. Raises
    :class:`~lcodec.errors.UnsupportedError` for what the format cannot store (16-bit JPEG, alpha
    in JPEG).
    """
    fmt = {"JPG": "JPEG", "TIF": "TIFF"}.get(fmt.upper(), fmt.upper())
    if image.bit_depth == 16 and fmt not in ("PNG", "TIFF"):
        raise UnsupportedError(f"{fmt} cannot store 16-bit images (use PNG or TIFF)")
    if fmt == "JPEG" and image.channels in (2, 4):
        raise UnsupportedError("JPEG has no alpha channel (use PNG, WebP or AVIF)")
    if image.bit_depth == 16 and image.channels > 1:
        return _encode_still_with_av(image.pixels, fmt, options)
    buffer = io.BytesIO()
    _array_to_pil(image.pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


# --- video ----------------------------------------------------------------------------------------

class VideoFileFrames:
    """Frames of a video file, decoded while iterating (a :class:`FrameSource`).

    Iterating yields exactly ``num_frames`` uint8 [H, W, 3] RGB frames, each pass re-opening the
    file, so a long clip never sits in memory. Frames are kept as decoded (no drop or duplicate
    for variable frame rate); a frame whose size changes mid-stream is scaled to the first size.
    """

    def __init__(self, path: Path, num_frames: int, height: int, width: int) -> None:
        self.path, self.num_frames, self.height, self.width = path, num_frames, height, width

    def __iter__(self) -> Iterator[np.ndarray]:
        import av

        done = 0
        last: np.ndarray | None = None
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                for frame in container.decode(stream):
                    if done == self.num_frames:
                        break
                    # swscale assumes limited range unless told; full-range (yuvj) sources say so per frame.
                    last = frame.to_ndarray(format="rgb24", width=self.width, height=self.height,
                                            src_color_range=frame.color_range)
                    yield last
                    done += 1
        except av.FFmpegError as exc:
            raise UnsupportedError(f"cannot decode {self.path} after {done} frames: {_first_line(exc)}") from exc
        except OSError as exc:
            raise MissingInputError(f"cannot read {self.path}: {_first_line(exc)}") from exc
        if done < self.num_frames:  # the packet count promised more frames than the decoder gave
            if last is None:
                raise UnsupportedError(f"cannot decode any frame of {self.path}")
            log.warning("%s: decoder gave %d of %d frames; repeating the last one", self.path, done, self.num_frames)
            for _ in range(self.num_frames - done):
                yield last

    def __len__(self) -> int:
        return self.num_frames


def _read_video(path: Path) -> Video:
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise UnsupportedError(f"cannot read {path}: it has no video stream")
        stream = container.streams.video[0]
        if len(container.streams.video) > 1:
            log.warning("%s: reading the first of %d video streams", path, len(container.streams.video))
        if container.streams.audio:
            log.warning("%s: ignoring %d audio stream(s); lcodec reads the video only", path,
                        len(container.streams.audio))
        context = stream.codec_context
        width, height, pix_fmt = context.width, context.height, context.pix_fmt or "unknown"
        if not width or not height:
            raise UnsupportedError(f"cannot read {path}: the video stream has no frame size")
        count, variable = _count_frames(container, stream)
        if count == 0:
            raise UnsupportedError(f"cannot read {path}: the video stream has no frames")
        # r_frame_rate (guessed_rate) is the exact rate for constant-rate clips; the average suits VFR.
        rate = (stream.average_rate if variable else stream.guessed_rate) or stream.average_rate or stream.base_rate
    fps = Fraction(rate) if rate else SEQUENCE_FPS
    if variable:
        log.warning("%s: variable frame rate; frames kept as decoded and timed at the average %.3f fps",
                    path, float(fps))
    meta = {"variable_frame_rate": True} if variable else {}
    return Video(VideoFileFrames(path, count, height, width), fps=fps, pix_fmt=pix_fmt, meta=meta)


def _count_frames(container: Any, stream: Any) -> tuple[int, bool]:
    """Demux (no decoding) to count the stream's frames and tell whether their spacing varies."""
    stamps = []
    for packet in container.demux(stream):
        if packet.size and packet.pts is not None:
            stamps.append(packet.pts)
        elif packet.size:
            stamps.append(None)
    timed = sorted(p for p in stamps if p is not None)
    steps = np.diff(np.asarray(timed, dtype=np.int64)) if len(timed) > 2 else np.zeros(0)
    variable = bool(steps.size) and int(steps.max()) - int(steps.min()) > max(1, int(steps.min()) // 100)
    return len(stamps), variable


# --- image sequences ------------------------------------------------------------------------------

class ImageSequenceFrames:
    """Frames of an image sequence, read while iterating (a :class:`FrameSource`).

    Every file must have the size of the first; gray and alpha become RGB, 16-bit becomes 8-bit.
    """

    def __init__(self, files: list[Path]) -> None:
        from PIL import Image as PILImage

        self.files = files
        self.num_frames = len(files)
        try:
            with PILImage.open(files[0]) as first:
                self.width, self.height = first.size
        except Exception as exc:
            raise UnsupportedError(f"cannot read {files[0]} as an image: {_first_line(exc)}") from exc

    def __iter__(self) -> Iterator[np.ndarray]:
        for file in self.files:
            try:
                pixels = decode_image_bytes(file.read_bytes()).pixels
            except OSError as exc:
                raise MissingInputError(f"cannot read {file}: {exc.strerror}") from exc
            except UnsupportedError as exc:
                raise UnsupportedError(f"cannot read {file}: {exc}") from exc
            if pixels.shape[:2] != (self.height, self.width):
                raise UnsupportedError(f"{file} is {pixels.shape[1]}x{pixels.shape[0]}, "
                                       f"the sequence is {self.width}x{self.height}")
            yield _to_rgb8(pixels)

    def __len__(self) -> int:
        return self.num_frames


def _to_rgb8(pixels: np.ndarray) -> np.ndarray:
    """[H, W, C] uint8/uint16, C in 1..4 -> uint8 [H, W, 3] (alpha dropped, gray repeated)."""
    if pixels.dtype == np.uint16:
        pixels = ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    colour = pixels[:, :, :3] if pixels.shape[2] >= 3 else np.repeat(pixels[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(colour)


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _directory_files(folder: Path) -> list[Path]:
    files = sorted((f for f in folder.iterdir() if f.suffix.lower() in IMAGE_FORMATS and f.is_file()),
                   key=_natural_key)
    if not files:
        raise MissingInputError(f"input folder {folder} holds no images ({', '.join(sorted(IMAGE_FORMATS))})")
    return files


def _pattern_files(pattern: Path) -> list[Path]:
    """Files matching a printf pattern such as ``frames/%04d.png``, in frame-number order."""
    field_ = _frame_field(pattern)
    assert field_ is not None
    head, tail = pattern.name[:field_.start()], pattern.name[field_.end():]
    matcher = re.compile(re.escape(head) + r"(\d+)" + re.escape(tail) + r"\Z")
    folder = pattern.parent
    if not folder.is_dir():
        raise MissingInputError(f"input folder {folder} does not exist")
    numbered = [(int(m.group(1)), f) for f in folder.iterdir() if (m := matcher.match(f.name))]
    if not numbered:
        raise MissingInputError(f"no files match {pattern}")
    return [f for _, f in sorted(numbered)]


def _read_sequence(files: list[Path]) -> Video:
    return Video(ImageSequenceFrames(files), fps=SEQUENCE_FPS, pix_fmt="rgb24")


# --------------------------------------------------------------------------------------------------
# Writing

def write(media: Media, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write ``media`` to ``path``, the format chosen by extension; returns the path written.

    Images: .png .jpg/.jpeg .webp .tif/.tiff .avif (JPEG at quality 95, WebP lossless, AVIF at
    quality 90). Video: .mkv (FFV1, lossless RGB), .mp4 (libx264rgb at qp 0, lossless RGB), .y4m
    (YUV: the clip's pix_fmt when y4m has it, else yuv444p) or a printf pattern such as
    ``frames/%04d.png`` (numbered from 1, like ffmpeg). Audio: .wav .flac .ogg, keeping
    ``subtype`` when the format has it. A lazy video is iterated once.

    The file is written under a temporary name in the same folder and renamed when complete, so a
    failure leaves nothing behind. An existing output is refused unless ``overwrite``.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"output {path} is a directory")
    if isinstance(media, Video) and _frame_field(path):
        return _write_sequence(media, path, overwrite)
    suffix = path.suffix.lower()
    writers = {"image": (IMAGE_FORMATS, _write_image_file), "video": (VIDEO_FORMATS, _write_video_file),
               "audio": (AUDIO_FORMATS, _write_audio_file)}
    formats, writer = writers[media.modality]
    if suffix not in formats:
        hint = ", ".join(sorted(formats)) + (", or a pattern like frames/%04d.png" if media.modality == "video" else "")
        raise UsageError(f"cannot write {media.modality} to {path.name!r}: use one of {hint}")
    with _atomic_output(path, overwrite) as temporary:
        writer(media, temporary, suffix)
    return path


def _check_output(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise OutputError(f"output {path} is a directory")
    if path.exists() and not overwrite:
        raise OutputError(f"output {path} exists (use -y / overwrite=True to replace it)")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"cannot create {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot create {path}: folder {folder} is not writable")


def _write_error(path: Path, exc: Exception) -> LcodecError:
    if isinstance(exc, LcodecError):
        return exc
    if isinstance(exc, OSError) and exc.strerror:  # disk full, permission denied, ...
        return OutputError(f"cannot write {path}: {exc.strerror}")
    return UnsupportedError(f"cannot write {path}: {_first_line(exc)}")


@contextmanager
def _atomic_output(path: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success, delete it on failure."""
    _check_output(path, overwrite)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(4)}.part"
    try:
        yield temporary
        if path.exists() and not overwrite:
            raise OutputError(f"output {path} appeared while writing (use -y / overwrite=True to replace it)")
        os.replace(temporary, path)
    except Exception as exc:
        temporary.unlink(missing_ok=True)
        error = _write_error(path, exc)
        if error is exc:
            raise
        raise error from exc
    except BaseException:  # KeyboardInterrupt: clean up, propagate as is
        temporary.unlink(missing_ok=True)
        raise


# "exact" keeps the colour under fully transparent pixels, which lossless WebP would otherwise drop.
_WRITE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True, "exact": True}, "AVIF": {"quality": 90}}


def _write_image_file(image: Image, temporary: Path, suffix: str) -> None:
    fmt = IMAGE_FORMATS[suffix]
    if fmt == "NPY":
        with open(temporary, "wb") as out:
            np.save(out, _npy_array(image), allow_pickle=False)
        return
    temporary.write_bytes(encode_image_bytes(image, fmt, **_WRITE_OPTIONS.get(fmt, {})))


# .npy arrays: [H, W] or [H, W, C] (C <= 4) is one image; [N, H, W] or [N, H, W, C] is a batch of
# same-size images, held as one strip [N*H, W, C] with meta["batch"] = N (the shape batch coders
# such as the probabilistic-circuit codec consume).
def _read_npy(path: Path) -> Image:
    array = np.load(path, allow_pickle=False)
    if array.dtype.kind not in "iub" or array.size == 0:
        raise UnsupportedError(f"cannot read {path}: .npy images must hold integers, got {array.dtype} {array.shape}")
    if array.min() < 0 or array.max() > 65535:
        raise UnsupportedError(f"cannot read {path}: values {array.min()}..{array.max()} do not fit 16-bit pixels")
    pixels = array.astype(np.uint8 if array.max() <= 255 else np.uint16)
    if pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] <= 4):
        return Image(pixels, meta={"format": "NPY"})
    if pixels.ndim == 3:
        pixels = pixels[..., None]
    if pixels.ndim != 4 or pixels.shape[3] > 4:
        raise UnsupportedError(f"cannot read {path}: expected [H, W], [H, W, C], [N, H, W] or [N, H, W, C], got {array.shape}")
    n, h, w, c = pixels.shape
    return Image(pixels.reshape(n * h, w, c), meta={"format": "NPY", "batch": n})


def _npy_array(image: Image) -> np.ndarray:
    pixels = image.pixels
    batch = int(image.meta.get("batch", 1))
    if batch > 1 and image.height % batch == 0:
        pixels = pixels.reshape(batch, image.height // batch, image.width, image.channels)
    return pixels[..., 0] if image.channels == 1 else pixels


def _write_audio_file(audio: Audio, temporary: Path, suffix: str) -> None:
    import soundfile as sf

    fmt = AUDIO_FORMATS[suffix]
    subtype = audio.subtype if audio.subtype and sf.check_format(fmt, audio.subtype) else sf.default_subtype(fmt)
    samples = audio.samples.T
    if subtype.startswith("PCM") or subtype in ("ULAW", "ALAW"):
        samples = np.clip(samples, -1.0, 1.0)  # libsndfile wraps out-of-range samples around
    sf.write(str(temporary), samples, audio.sample_rate, subtype=subtype, format=fmt)


def _checked_frames(video: Video) -> Iterator[np.ndarray]:
    """The clip's frames, each checked to be uint8 [H, W, 3] of the declared size."""
    shape = (video.height, video.width, 3)
    for rgb in video.iter_frames():
        rgb = np.asarray(rgb)
        if rgb.shape != shape or rgb.dtype != np.uint8:
            raise UsageError(f"video frame must be uint8 {list(shape)}, got {rgb.dtype} {list(rgb.shape)}")
        yield rgb


def _write_video_file(video: Video, temporary: Path, suffix: str) -> None:
    import av

    container_format, encoder, pix_fmt, options = VIDEO_FORMATS[suffix]
    if suffix == ".y4m":
        pix_fmt = video.pix_fmt if video.pix_fmt in _Y4M_PIX_FMTS else "yuv444p"
    time_base = 1 / video.fps
    with av.open(str(temporary), "w", format=container_format) as container:
        stream = container.add_stream(encoder, rate=video.fps, options=dict(options))
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, pix_fmt
        for index, rgb in enumerate(_checked_frames(video)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = index, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _write_sequence(video: Video, pattern: Path, overwrite: bool) -> Path:
    """Write frames as numbered images; all appear together (a folder rename or per-file renames)."""
    field_ = _frame_field(pattern)
    assert field_ is not None
    fmt = IMAGE_FORMATS.get(pattern.suffix.lower(), "PNG")
    names = [pattern.name[:field_.start()] + field_.group() % number + pattern.name[field_.end():]
             for number in range(1, video.num_frames + 1)]
    folder = pattern.parent
    new_folder = not folder.exists()
    if new_folder:
        _check_output(folder, overwrite=False)
        staging = folder.parent / f".{folder.name}.{secrets.token_hex(4)}.part"
    else:
        if not folder.is_dir():
            raise OutputError(f"cannot write {pattern}: {folder} is not a folder")
        for name in names:
            _check_output(folder / name, overwrite)
        staging = folder / f".{pattern.stem.replace('%', '')}.{secrets.token_hex(4)}.part"
    try:
        staging.mkdir()
        for name, rgb in zip(names, _checked_frames(video)):
            (staging / name).write_bytes(encode_image_bytes(Image(rgb), fmt))
        if new_folder:
            os.replace(staging, folder)
        else:
            for name in names:
                os.replace(staging / name, folder / name)
            staging.rmdir()
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        error = _write_error(pattern, exc)
        if error is exc:
            raise
        raise error from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return pattern
