"""Per-channel weight quantisation shared by the INR codecs.

Each output channel of a tensor gets its own minimum and step, stored as float16 so they cost 4
bytes per channel; values map to ``2**bits - 1`` levels with clamping (the NeRV/HNeRV recipe).
The encoder dequantises with the float16-rounded parameters exactly as the decoder does, so the
quality it measures is the quality the file decodes to.

Shapes: ``values`` float32 [C, ...]; ``levels`` int32 [C, ...]; ``minimum``/``step`` float16 [C].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class QuantizedTensor:
    levels: np.ndarray  # int32, same shape as the tensor, values in [0, 2**bits - 1]
    minimum: np.ndarray  # float16 [C]
    step: np.ndarray  # float16 [C]
    bits: int

    def dequantize(self) -> np.ndarray:
        """float32 values, computed the same way on every machine (float16 params, float32 math)."""
        shape = (-1,) + (1,) * (self.levels.ndim - 1)
        lo = self.minimum.astype(np.float32).reshape(shape)
        step = self.step.astype(np.float32).reshape(shape)
        return (lo + self.levels.astype(np.float32) * step).astype(np.float32)


def quantize(values: np.ndarray, bits: int) -> QuantizedTensor:
    """Quantise ``values`` [C, ...] per channel (axis 0) to ``bits`` bits (1..16)."""
    if not 1 <= bits <= 16:
        raise ValueError(f"bits must be in 1..16, got {bits}")
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 0:
        values = values.reshape(1)
    flat = values.reshape(values.shape[0], -1)
    top = (1 << bits) - 1
    lo = flat.min(axis=1).astype(np.float16)
    span = flat.max(axis=1) - lo.astype(np.float32)
    step = (span / top).astype(np.float16)
    # A constant channel, or a step too small for float16, still needs a usable positive step.
    step = np.where((step > 0) & np.isfinite(step), step, np.float16(1.0)).astype(np.float16)
    levels = np.rint((flat - lo.astype(np.float32)[:, None]) / step.astype(np.float32)[:, None])
    levels = np.clip(levels, 0, top).astype(np.int32).reshape(values.shape)
    return QuantizedTensor(levels, lo, step, bits)
