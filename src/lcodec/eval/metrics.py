"""Quality metrics on numpy arrays; cheap to import (numpy only).

PSNR is computed against the peak of the original's integer type (255 for uint8, 65535 for
uint16), over all samples together, as the NeRV/HNeRV and CompressAI papers report it.
"""
from __future__ import annotations

import math

import numpy as np


def mse(original: np.ndarray, decoded: np.ndarray) -> float:
    """Mean squared error over all samples; shapes must match exactly."""
    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape} vs decoded {decoded.shape}")
    diff = original.astype(np.float64) - decoded.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(original: np.ndarray, decoded: np.ndarray, peak: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB (``inf`` when identical). Arrays of any shape, same dtype range."""
    if peak is None:
        peak = float(np.iinfo(original.dtype).max) if np.issubdtype(original.dtype, np.integer) else 1.0
    error = mse(original, decoded)
    return math.inf if error == 0 else 10.0 * math.log10(peak * peak / error)


class RunningPSNR:
    """PSNR accumulated frame by frame, so a long clip is never held in memory twice."""

    def __init__(self, peak: float = 255.0) -> None:
        self.peak = peak
        self._sum = 0.0
        self._count = 0

    def add(self, original: np.ndarray, decoded: np.ndarray) -> None:
        self._sum += mse(original, decoded) * original.size
        self._count += original.size

    @property
    def value(self) -> float:
        if self._count == 0:
            raise ValueError("no samples added")
        error = self._sum / self._count
        return math.inf if error == 0 else 10.0 * math.log10(self.peak * self.peak / error)


# Full-range BT.601 luma weights (ITU-R BT.601: Y = 0.299 R + 0.587 G + 0.114 B).
BT601_LUMA = (0.299, 0.587, 0.114)


def luma(rgb: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma of RGB samples [..., 3], float64 on the input's scale."""
    return rgb[..., :3].astype(np.float64) @ np.asarray(BT601_LUMA)


def psnr_y(original: np.ndarray, decoded: np.ndarray, peak: float = 255.0) -> float:
    """PSNR of the BT.601 luma of two RGB arrays [..., 3] (the "Y-PSNR" video papers report)."""
    return psnr(luma(original), luma(decoded), peak)
