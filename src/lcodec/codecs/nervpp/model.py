"""NeRV++ network: frame index -> positional encoding -> MLP -> grid -> upsampling stages -> frame.

After Ghorbel et al., "NeRV++: An Enhanced Implicit Neural Video Representation": a NeRV-style
decoder driven by the frame index alone, where every upsampling block is sandwiched between two
separable-convolution residual blocks and a bilinear skip path carries the coarse image across
each upsampling. The positional encoding follows NeRV (Chen et al., NeurIPS 2021: base 1.25,
80 frequencies). Channel widths shrink by 1.2 per stage as in HNeRV (see inr.sizing).

Shapes: t float [B] in [0, 1); output frames [B, 3, H, W] in [0, 1].
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from lcodec.codecs.inr.geometry import Geometry
from lcodec.codecs.inr.sizing import stage_widths

PE_BASE = 1.25
PE_LEVELS = 80
MLP_HIDDEN = 256
SEPARABLE_KERNEL = 5


def positional_encoding(t: torch.Tensor, base: float = PE_BASE, levels: int = PE_LEVELS) -> torch.Tensor:
    """t [B] -> [B, 2 * levels]: sin and cos of ``base**l * pi * t``."""
    freqs = base ** torch.arange(levels, dtype=torch.float32, device=t.device) * math.pi
    angles = t[:, None].float() * freqs
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class SeparableResBlock(nn.Module):
    """Depthwise k×k conv, pointwise 1×1 conv, GELU, residual."""

    def __init__(self, channels: int, kernel: int = SEPARABLE_KERNEL) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, groups=channels)
        self.pointwise = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.gelu(self.pointwise(self.depthwise(x)))


class UpsampleBlock(nn.Module):
    """3×3 conv + PixelShuffle + GELU, plus a bilinear skip of a 1×1 projection of the input."""

    def __init__(self, channels: int, out: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(channels, out * stride * stride, 3, padding=1)
        self.shuffle = nn.PixelShuffle(stride)
        self.skip = nn.Conv2d(channels, out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = F.interpolate(self.skip(x), scale_factor=self.stride, mode="bilinear", align_corners=False)
        return F.gelu(self.shuffle(self.conv(x))) + skip


class NeRVPP(nn.Module):
    def __init__(self, geometry: Geometry, width: int) -> None:
        super().__init__()
        self.geometry = geometry
        gh, gw = geometry.grid
        widths = stage_widths(width, len(geometry.strides))
        self.mlp = nn.Sequential(nn.Linear(2 * PE_LEVELS, MLP_HIDDEN), nn.GELU(),
                                 nn.Linear(MLP_HIDDEN, width * gh * gw), nn.GELU())
        self.stages = nn.ModuleList(
            nn.Sequential(SeparableResBlock(widths[i]), UpsampleBlock(widths[i], widths[i + 1], stride),
                          SeparableResBlock(widths[i + 1]))
            for i, stride in enumerate(geometry.strides))
        self.head = nn.Conv2d(widths[-1], 3, 3, padding=1)
        self.width = width

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        gh, gw = self.geometry.grid
        x = self.mlp(positional_encoding(t)).view(-1, self.width, gh, gw)
        for stage in self.stages:
            x = stage(x)
        x = torch.tanh(self.head(x)) * 0.5 + 0.5
        return x[:, :, : self.geometry.height, : self.geometry.width]
