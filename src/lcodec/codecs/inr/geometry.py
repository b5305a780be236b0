"""Which upsampling strides a video INR uses for a given frame size.

NeRV-family decoders grow a small grid by PixelShuffle stages whose strides multiply to ``P``, so
they produce ``(gh * P, gw * P)`` pixels. HNeRV uses strides (5, 4, 4, 2, 2) for 640×1280 Bunny
(HNeRV repository, ``--dec_strds``), a 2×4 grid. For any other size we pick strides from
{5, 4, 3, 2}, largest first, so the grid's short side is about 2 cells, the padding the decoder
must produce beyond the frame (cropped away) is small, and there are about five stages.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

STRIDE_CHOICES = (5, 4, 3, 2)
TARGET_GRID_SIDE = 2
TARGET_STAGES = 5  # as HNeRV's five decoder blocks; a tie-break only


@dataclass(frozen=True)
class Geometry:
    """Frame size, strides (first applied first) and the grid they grow from."""

    height: int
    width: int
    strides: tuple[int, ...]

    @property
    def scale(self) -> int:
        return math.prod(self.strides)

    @property
    def grid(self) -> tuple[int, int]:
        return -(-self.height // self.scale), -(-self.width // self.scale)

    @property
    def padded(self) -> tuple[int, int]:
        gh, gw = self.grid
        return gh * self.scale, gw * self.scale


def plan(height: int, width: int, max_stages: int = 6) -> Geometry:
    """Strides for a ``height`` × ``width`` frame: short grid side near 2, little padding."""
    if height < 1 or width < 1:
        raise ValueError(f"frame size must be positive, got {height}x{width}")
    best: tuple[float, Geometry] | None = None
    for stages in range(1, max_stages + 1):
        for strides in itertools.combinations_with_replacement(STRIDE_CHOICES, stages):
            geometry = Geometry(height, width, strides)
            gh, gw = geometry.grid
            ph, pw = geometry.padded
            waste = ph * pw / (height * width) - 1
            side = min(gh, gw)
            score = waste + 0.5 * abs(math.log2(side / TARGET_GRID_SIDE)) + 0.01 * abs(stages - TARGET_STAGES)
            if best is None or score < best[0] - 1e-9:
                best = (score, geometry)
    assert best is not None
    return best[1]
