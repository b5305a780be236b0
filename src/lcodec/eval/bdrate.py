"""Bjøntegaard delta rate and delta quality between two rate–quality curves.

Why both interpolations: VCEG-M33 (Bjøntegaard 2001) fits one cubic polynomial through the points
("cubic"); the JCT-VC common-test-conditions sheet replaced it by piecewise cubic Hermite
interpolation ("pchip") because a single cubic overshoots on some curves. Both integrate over the
interval where the two curves overlap, rate on a log10 axis, exactly as the ``bjontegaard``
package (the reference the tests compare with) does.

Sign convention: BD-rate is the average rate change of ``test`` against ``anchor`` at equal
quality, in percent (negative = ``test`` needs fewer bits); BD-quality is the average quality
change at equal rate (positive = ``test`` is better).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

METHODS = ("pchip", "cubic")


class _Curve:
    """A function y(x) through sorted points, with an exact integral, for one method."""

    def __init__(self, x: np.ndarray, y: np.ndarray, method: str) -> None:
        if method == "cubic":
            coeffs = np.polyfit(x, y, min(3, len(x) - 1))
            self._antiderivative = np.polyint(coeffs)
            self._pchip = None
        elif method == "pchip":
            from scipy.interpolate import PchipInterpolator

            self._pchip = PchipInterpolator(x, y)
        else:
            raise ValueError(f"unknown interpolation {method!r} (use one of {', '.join(METHODS)})")

    def integral(self, lo: float, hi: float) -> float:
        if self._pchip is not None:
            return float(self._pchip.integrate(lo, hi))
        return float(np.polyval(self._antiderivative, hi) - np.polyval(self._antiderivative, lo))


def _points(x: Sequence[float], y: Sequence[float], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Finite points sorted by ``x``; at least two, ``x`` strictly increasing after sorting."""
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(f"{name}: rates and qualities must be 1-D and of equal length")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError(f"{name}: rates and qualities must be finite (a lossless point has infinite PSNR)")
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    if len(xs) < 2:
        raise ValueError(f"{name}: needs at least two points, got {len(xs)}")
    if np.any(np.diff(xs) <= 0):
        raise ValueError(f"{name}: two points share the same value on the integration axis")
    return xs, ys


def _delta(x_anchor: np.ndarray, y_anchor: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
           method: str) -> float:
    """Mean of (y_test - y_anchor) over the overlap of the two x ranges; ``nan`` when they do not overlap."""
    lo = max(x_anchor[0], x_test[0])
    hi = min(x_anchor[-1], x_test[-1])
    if hi <= lo:
        return math.nan
    anchor = _Curve(x_anchor, y_anchor, method).integral(lo, hi)
    test = _Curve(x_test, y_test, method).integral(lo, hi)
    return (test - anchor) / (hi - lo)


def bd_rate(rate_anchor: Sequence[float], quality_anchor: Sequence[float], rate_test: Sequence[float],
            quality_test: Sequence[float], method: str = "pchip") -> float:
    """BD-rate of ``test`` against ``anchor`` in percent (negative: ``test`` saves bits).

    Each curve is log10(rate) as a function of quality, integrated over the quality range both
    cover. Rates must be positive (bpp, kbps, bytes: any unit, the same for both). Returns ``nan``
    when the quality ranges do not overlap. Raises ``ValueError`` for fewer than two points,
    non-finite values or repeated qualities.
    """
    r_a = np.asarray(rate_anchor, dtype=np.float64)
    r_t = np.asarray(rate_test, dtype=np.float64)
    if np.any(r_a <= 0) or np.any(r_t <= 0):
        raise ValueError("rates must be positive for BD-rate (it integrates log rate)")
    q_a, lr_a = _points(quality_anchor, np.log10(r_a), "anchor")
    q_t, lr_t = _points(quality_test, np.log10(r_t), "test")
    average = _delta(q_a, lr_a, q_t, lr_t, method)
    return (10.0 ** average - 1.0) * 100.0 if math.isfinite(average) else math.nan


def bd_quality(rate_anchor: Sequence[float], quality_anchor: Sequence[float], rate_test: Sequence[float],
               quality_test: Sequence[float], method: str = "pchip") -> float:
    """BD-quality (BD-PSNR when the quality is PSNR): mean quality gain of ``test`` at equal rate.

    Each curve is quality as a function of log10(rate), integrated over the rate range both cover.
    """
    r_a = np.asarray(rate_anchor, dtype=np.float64)
    r_t = np.asarray(rate_test, dtype=np.float64)
    if np.any(r_a <= 0) or np.any(r_t <= 0):
        raise ValueError("rates must be positive for BD-quality (it integrates over log rate)")
    lr_a, q_a = _points(np.log10(r_a), quality_anchor, "anchor")
    lr_t, q_t = _points(np.log10(r_t), quality_test, "test")
    return _delta(lr_a, q_a, lr_t, q_t, method)


bd_psnr = bd_quality
