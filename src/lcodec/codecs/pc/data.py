"""Training and benchmark data for the pc codec, all available offline (DESIGN.md §8).

- ``digits``: scikit-learn's ``load_digits``, 1797 images of 8x8 with values 0..16 (17 levels);
- ``lfw``: scikit-image's ``lfw_subset``, 200 faces of 25x25, quantised to 8-bit gray;
- a folder of same-size grayscale images (PNG, ...), 8-bit.

The held-out split is a fixed seeded permutation, so the benchmark measures images the shipped
models never saw.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lcodec.errors import MissingInputError, UnsupportedError, UsageError

BUILTIN_SETS = ("digits", "lfw")


def load(source: str) -> tuple[np.ndarray, int]:
    """Images uint8 [N, h, w] and the number of levels ``V`` (values are in ``[0, V)``).

    ``source``: "digits", "lfw" or a folder of same-size gray images.
    """
    if source == "digits":
        from sklearn.datasets import load_digits

        return load_digits().images.astype(np.uint8), 17
    if source == "lfw":
        from skimage.data import lfw_subset

        return np.rint(lfw_subset() * 255).astype(np.uint8), 256
    return load_folder(source), 256


def load_folder(folder: str | Path) -> np.ndarray:
    """Every image file of ``folder`` (sorted by name) as uint8 [N, h, w]; all must be gray, one size."""
    from lcodec import media

    folder = Path(folder)
    if not folder.is_dir():
        raise MissingInputError(f"{folder} is not a folder (nor one of {', '.join(BUILTIN_SETS)})")
    files = sorted(p for p in folder.iterdir() if media.kind_of_path(p) == "image")
    if not files:
        raise MissingInputError(f"{folder} holds no images")
    images = []
    for path in files:
        image = media.read(path)
        if image.pixels.dtype != np.uint8 or image.channels != 1:
            raise UnsupportedError(f"{path}: pc trains on 8-bit grayscale images, got {image.channels} channel(s) "
                                   f"of {image.pixels.dtype}")
        if images and image.pixels.shape != images[0].shape:
            raise UnsupportedError(f"{path}: size {image.height}x{image.width} differs from the first image's "
                                   f"{images[0].shape[0]}x{images[0].shape[1]}")
        images.append(image.pixels)
    return np.stack(images)[:, :, :, 0]


def split(images: np.ndarray, holdout: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, test): a seeded permutation, the last ``holdout`` fraction held out."""
    if not 0 <= holdout < 1:
        raise UsageError(f"holdout must be in [0, 1), got {holdout}")
    perm = np.random.default_rng(seed).permutation(len(images))
    n_test = int(round(len(images) * holdout))
    return images[perm[:len(images) - n_test]], images[perm[len(images) - n_test:]]
