"""BD-rate / BD-PSNR against the bjontegaard package, on its published example and on exact cases."""
import math

import numpy as np
import pytest

from lcodec.eval.bdrate import bd_psnr, bd_quality, bd_rate

# The worked example of the bjontegaard package's README (libx265 at two presets, measured with ffmpeg).
RATE1 = [9487.76, 4593.60, 2486.44, 1358.24]
PSNR1 = [40.037, 38.615, 36.845, 34.851]
RATE2 = [9787.80, 4469.00, 2451.52, 1356.24]
PSNR2 = [40.121, 38.651, 36.970, 34.987]


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_matches_the_reference_package(method):
    bd = pytest.importorskip("bjontegaard")
    assert bd_rate(RATE1, PSNR1, RATE2, PSNR2, method) == pytest.approx(
        bd.bd_rate(RATE1, PSNR1, RATE2, PSNR2, method=method), rel=1e-9)
    assert bd_psnr(RATE1, PSNR1, RATE2, PSNR2, method) == pytest.approx(
        bd.bd_psnr(RATE1, PSNR1, RATE2, PSNR2, method=method), rel=1e-9)


def test_published_example_sign_and_size():
    # The second preset reaches each PSNR with slightly fewer bits: a small saving, a small gain.
    assert -5 < bd_rate(RATE1, PSNR1, RATE2, PSNR2) < 0
    assert 0 < bd_psnr(RATE1, PSNR1, RATE2, PSNR2) < 0.3


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_identity_and_exact_shifts(method):
    assert bd_rate(RATE1, PSNR1, RATE1, PSNR1, method) == pytest.approx(0.0, abs=1e-12)
    assert bd_psnr(RATE1, PSNR1, RATE1, PSNR1, method) == pytest.approx(0.0, abs=1e-12)
    # Same qualities at 80 % of the rate: exactly -20 %; at equal rate the curve is 0 dB shifted.
    assert bd_rate(RATE1, PSNR1, [0.8 * r for r in RATE1], PSNR1, method) == pytest.approx(-20.0)
    # +0.5 dB everywhere at the same rates: BD-PSNR is exactly 0.5 dB.
    assert bd_psnr(RATE1, PSNR1, RATE1, [p + 0.5 for p in PSNR1], method) == pytest.approx(0.5)


def test_symmetric():
    forward = bd_rate(RATE1, PSNR1, RATE2, PSNR2)
    backward = bd_rate(RATE2, PSNR2, RATE1, PSNR1)
    # Log-rate differences are antisymmetric: (1 + a)(1 + b) = 1.
    assert (1 + forward / 100) * (1 + backward / 100) == pytest.approx(1.0)
    assert bd_quality(RATE1, PSNR1, RATE2, PSNR2) == pytest.approx(-bd_quality(RATE2, PSNR2, RATE1, PSNR1))


def test_point_order_does_not_matter():
    order = [2, 0, 3, 1]
    assert bd_rate(np.take(RATE1, order), np.take(PSNR1, order), RATE2, PSNR2) == pytest.approx(
        bd_rate(RATE1, PSNR1, RATE2, PSNR2))


def test_bad_curves():
    assert math.isnan(bd_rate([1, 2], [30, 31], [1, 2], [40, 41]))  # no overlap in quality
    with pytest.raises(ValueError, match="at least two"):
        bd_rate([1], [30], [1, 2], [30, 31])
    with pytest.raises(ValueError, match="finite"):
        bd_rate([1, 2], [30, math.inf], [1, 2], [30, 31])
    with pytest.raises(ValueError, match="positive"):
        bd_rate([0, 2], [30, 31], [1, 2], [30, 31])
    with pytest.raises(ValueError, match="same value"):
        bd_rate([1, 2], [30, 30], [1, 2], [30, 31])
    with pytest.raises(ValueError, match="unknown interpolation"):
        bd_rate(RATE1, PSNR1, RATE2, PSNR2, method="akima")
