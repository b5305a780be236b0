"""Sizing INR decoders to a parameter budget.

NeRV-family decoders shrink their channels by a constant ratio per upsampling stage, with a
floor, so parameters spread evenly over stages (HNeRV repository: ``--reduce 1.2 --lower_width 12``);
the first width is then the one knob that sets the model size.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

REDUCTION = 1.2
MIN_WIDTH = 12


def stage_widths(first: int, stages: int, reduction: float = REDUCTION, floor: int = MIN_WIDTH) -> list[int]:
    """Channel widths before each stage and after the last: ``stages + 1`` numbers."""
    widths = [first]
    for _ in range(stages):
        widths.append(max(round(widths[-1] / reduction), floor))
    return widths


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def width_for_budget(build: Callable[[int], nn.Module], budget: int, fixed: int = 0) -> int:
    """The largest first width whose ``build(width)`` has at most ``budget - fixed`` parameters.

    Modules are built on the meta device, so sizing allocates no memory.
    """
    with torch.device("meta"):
        lo, hi = MIN_WIDTH, 4096
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if parameter_count(build(mid)) + fixed <= budget:
                lo = mid
            else:
                hi = mid - 1
    return lo


def to_uint8_frames(frames: torch.Tensor) -> np.ndarray:
    """Network output [B, 3, H, W] in [0, 1] -> uint8 frames [B, H, W, 3], rounded as a decoder must."""
    return (frames * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().cpu().numpy()
