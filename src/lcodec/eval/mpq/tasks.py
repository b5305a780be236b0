"""Built-in machine-perception tasks; every one runs offline (DESIGN.md §8).

    faces   OpenCV's Haar frontal-face cascade (opencv-python-headless ships the XML) on
            scikit-image's lfw_subset: 100 faces and 100 non-faces, 25x25, upscaled 3x to 75x75
            before coding (the cascade's smallest window is 24x24). Score: recall on the faces,
            and the false-positive rate on the non-faces.
    digits  A logistic-regression classifier trained here on scikit-learn's digits (weights ship as
            digits_logreg.npz; model card digits_logreg.md), on the 360 held-out test digits,
            upscaled 4x to 32x32. Score: accuracy.
    ocr     The system ``tesseract`` binary on rendered English lines. Score: character error rate.
            Unavailable (the sweep refuses it with the reason) when tesseract is not installed.
    spoken-digits
            pocketsphinx (its English model ships in the wheel) with a digits grammar, on 24 strings
            of five digits spoken by espeak-ng at 16 kHz. Score: word error rate. Unavailable
            without the espeak-ng binary or pocketsphinx.
"""
from __future__ import annotations

import hashlib
import importlib
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any
from collections.abc import Sequence

import numpy as np

from lcodec.eval.mpq import Task
from lcodec.media import Image

HERE = Path(__file__).parent
DIGITS_WEIGHTS = HERE / "digits_logreg.npz"
DIGITS_SCALE = 4
FACES_SCALE = 3


def missing_modules(modules: tuple[str, ...], install: str) -> str | None:
    """Why a task cannot run (the first of ``modules`` that fails to import), or ``None``."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            return f"needs {exc.name or name}: {install}"
    return None


def _to_uint8(values: np.ndarray, peak: float) -> np.ndarray:
    """Samples on [0, peak] -> uint8 [0, 255], rounded."""
    return np.clip(np.round(values * (255.0 / peak)), 0, 255).astype(np.uint8)


def _upscale(gray: np.ndarray, factor: int) -> np.ndarray:
    """uint8 [H, W] -> [H*f, W*f] with bicubic interpolation (what a viewer would show)."""
    import cv2

    return cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)


def _gray(image: Image) -> np.ndarray:
    pixels = image.pixels
    if pixels.shape[2] >= 3:
        return np.round(pixels[:, :, :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    return pixels[:, :, 0]


class FaceDetection(Task):
    id = "faces"
    metric = "recall"
    description = "OpenCV Haar face detection on lfw_subset (recall on 100 faces, false positives on 100 non-faces)"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return missing_modules(("cv2", "skimage"), "pip install 'lcodec[eval,data]'")

    def __init__(self) -> None:
        import cv2

        self._cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        if self._cascade.empty():
            raise RuntimeError("OpenCV's haarcascade_frontalface_default.xml did not load")

    @staticmethod
    def _order(limit: int | None) -> np.ndarray:
        """Indices of the first ``limit`` samples, half faces (0..99) and half non-faces (100..199)."""
        half = 100 if limit is None else max(1, min(100, limit // 2))
        return np.concatenate([np.arange(half), 100 + np.arange(half)])

    def samples(self, limit: int | None = None) -> list[Image]:
        from skimage.data import lfw_subset

        faces = lfw_subset()  # float64 [200, 25, 25] in [0, 1]
        return [Image(_upscale(_to_uint8(faces[i], 1.0), FACES_SCALE)) for i in self._order(limit)]

    def predict(self, media: Image) -> bool:
        import cv2

        padded = cv2.copyMakeBorder(_gray(media), 20, 20, 20, 20, cv2.BORDER_REPLICATE)  # faces fill the frame
        return len(self._cascade.detectMultiScale(padded, scaleFactor=1.1, minNeighbors=3, minSize=(30, 30))) > 0

    def score(self, predictions: list[Any], limit: int | None = None) -> dict[str, float]:
        hits = np.asarray(predictions, dtype=bool)
        half = len(hits) // 2
        return {"recall": float(hits[:half].mean()), "false_positive_rate": float(hits[half:].mean())}


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 1797 digits split without shuffling: every 5th is a test digit (360), the rest train.

    Returns images float64 [N, 8, 8] on 0..16 and labels int [N] for train, then test.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    test = np.arange(len(data.target)) % 5 == 0
    return data.images[~test], data.target[~test], data.images[test], data.target[test]


def digit_features(gray: np.ndarray) -> np.ndarray:
    """uint8 [8*s, 8*s] (or [8, 8]) -> float64 [64] in [0, 1]: mean over s x s blocks, as the classifier expects."""
    size = gray.shape[0] // 8
    blocks = gray.astype(np.float64).reshape(8, size, 8, size).mean(axis=(1, 3))
    return blocks.reshape(64) / 255.0


@lru_cache(maxsize=1)
def load_digits_classifier() -> tuple[np.ndarray, np.ndarray, str]:
    """The shipped weights: W float32 [10, 64], b float32 [10], and the file's sha256."""
    data = DIGITS_WEIGHTS.read_bytes()
    with np.load(DIGITS_WEIGHTS) as npz:
        return npz["weight"], npz["bias"], hashlib.sha256(data).hexdigest()


class DigitClassification(Task):
    id = "digits"
    metric = "accuracy"
    description = "logistic regression (shipped weights) on the 360 held-out scikit-learn digits, 32x32"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return missing_modules(("cv2", "sklearn"), "pip install 'lcodec[eval]'")

    def samples(self, limit: int | None = None) -> list[Image]:
        _, _, images, _ = digits_split()
        return [Image(_upscale(_to_uint8(image, 16.0), DIGITS_SCALE)) for image in images[:limit]]

    def predict(self, media: Image) -> int:
        weight, bias, _ = load_digits_classifier()
        return int(np.argmax(weight @ digit_features(_gray(media)) + bias))

    def score(self, predictions: list[Any], limit: int | None = None) -> dict[str, float]:
        _, _, _, labels = digits_split()
        return {"accuracy": float(np.mean(np.asarray(predictions) == labels[:len(predictions)]))}


OCR_LINES = (
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs.",
    "Sphinx of black quartz, judge my vow.",
    "How vexingly quick daft zebras jump!",
    "Compression keeps the bits that matter 2026.",
    "Bright vixens jump; dozy fowl quack.",
)


def levenshtein(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Edit distance between two sequences (characters of strings, or lists of words)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Total edits / total reference characters over all lines (whitespace runs collapsed)."""
    def clean(text: str) -> str:
        return " ".join(text.split())

    edits = sum(levenshtein(clean(r), clean(h)) for r, h in zip(references, hypotheses))
    return edits / max(1, sum(len(clean(r)) for r in references))


class OCR(Task):
    id = "ocr"
    metric = "cer"
    description = "tesseract OCR on rendered English lines (character error rate)"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if shutil.which("tesseract") is None:
            return "the tesseract binary is not installed (apt-get install tesseract-ocr)"
        return None

    def samples(self, limit: int | None = None) -> list[Image]:
        from PIL import Image as PILImage, ImageDraw, ImageFont

        font = ImageFont.load_default(size=22)
        out = []
        for line in OCR_LINES[:limit]:
            canvas = PILImage.new("L", (640, 48), 255)
            ImageDraw.Draw(canvas).text((12, 10), line, fill=0, font=font)
            out.append(Image(np.asarray(canvas)))
        return out

    def predict(self, media: Image) -> str:
        from PIL import Image as PILImage

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "line.png"
            PILImage.fromarray(_gray(media)).save(path)
            done = subprocess.run(["tesseract", str(path), "stdout", "--psm", "7"], capture_output=True,
                                  text=True, timeout=60)
        return done.stdout.strip()

    def score(self, predictions: list[Any], limit: int | None = None) -> dict[str, float]:
        return {"cer": character_error_rate(list(OCR_LINES[:len(predictions)]), predictions)}


DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPOKEN_DIGITS = 24


def word_error_rate(references: list[list[str]], hypotheses: list[list[str]]) -> float:
    """Total word edits / total reference words over all utterances."""
    edits = sum(levenshtein(r, h) for r, h in zip(references, hypotheses))
    return edits / max(1, sum(len(r) for r in references))


class SpokenDigits(Task):
    id = "spoken-digits"
    modality = "audio"
    metric = "wer"
    description = "pocketsphinx digit recognition on espeak-ng speech (word error rate)"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if shutil.which("espeak-ng") is None:
            return "the espeak-ng binary is not installed (apt-get install espeak-ng)"
        return missing_modules(("pocketsphinx",), "pip install pocketsphinx")

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=16000, loglevel="FATAL")
        grammar = "#JSGF V1.0;\ngrammar digits;\npublic <digits> = ( " + " | ".join(DIGIT_WORDS) + " )+ ;\n"
        self._decoder.add_jsgf_string("digits", grammar)
        self._decoder.activate_search("digits")

    @staticmethod
    def transcripts() -> list[list[str]]:
        """The utterances' words: 24 strings of five digits from a fixed seed."""
        rng = np.random.default_rng(2026)
        return [[DIGIT_WORDS[k] for k in rng.integers(0, 10, 5)] for _ in range(SPOKEN_DIGITS)]

    def samples(self, limit: int | None = None) -> list[Any]:
        import io

        import soundfile as sf

        from lcodec.eval.metrics import resample
        from lcodec.media import Audio

        out = []
        for words in self.transcripts()[:limit]:
            wav = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-g", "4", "--stdout", " ".join(words)],
                                 check=True, capture_output=True, timeout=60).stdout
            samples, rate = sf.read(io.BytesIO(wav), dtype="float64")
            speech = np.clip(resample(samples, rate, 16000), -1, 1)
            out.append(Audio(np.round(speech * 32767).astype(np.float32)[None] / 32767, 16000, subtype="PCM_16"))
        return out

    def predict(self, media: Any) -> list[str]:
        pcm = np.round(np.clip(media.samples.mean(axis=0), -1, 1) * 32767).astype(np.int16)
        self._decoder.start_utt()
        self._decoder.process_raw(pcm.tobytes(), full_utt=True)
        self._decoder.end_utt()
        hypothesis = self._decoder.hyp()
        return hypothesis.hypstr.split() if hypothesis is not None else []

    def score(self, predictions: list[Any], limit: int | None = None) -> dict[str, float]:
        return {"wer": word_error_rate(self.transcripts()[:len(predictions)], predictions)}
