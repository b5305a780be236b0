"""Metrics against hand-computed values."""
import math

import numpy as np
import pytest

from lcodec.eval.metrics import RunningPSNR, psnr, psnr_y


def test_psnr_known_values():
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    assert psnr(a, b) == math.inf
    b[0, 0] = 16  # MSE = 256 / 16 = 16 -> 10 log10(255^2 / 16)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 16))
    assert psnr(a.astype(np.uint16), b.astype(np.uint16)) == pytest.approx(10 * math.log10(65535**2 / 16))
    with pytest.raises(ValueError, match="shape"):
        psnr(a, b[:2])


def test_running_psnr_equals_whole_clip():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    y = np.clip(x.astype(int) + rng.integers(-9, 10, x.shape), 0, 255).astype(np.uint8)
    running = RunningPSNR()
    for a, b in zip(x, y):
        running.add(a, b)
    assert running.value == pytest.approx(psnr(x, y))


def test_psnr_y_weights():
    a = np.zeros((1, 1, 3), np.uint8)
    b = np.array([[[100, 0, 0]]], np.uint8)  # luma differs by 29.9
    assert psnr_y(a, b) == pytest.approx(10 * math.log10(255**2 / 29.9**2))
