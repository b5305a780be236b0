"""HNeRV networks: a ConvNeXt encoder that turns each frame into a tiny embedding, and the decoder
that grows it back into the frame.

Architecture after Chen et al., "HNeRV: A Hybrid Neural Representation for Videos" (CVPR 2023)
and its repository (facts used: ConvNeXt encoder blocks with 64 channels then 16 for the
embedding, ``--enc_dim 64_16``; decoder kernel sizes growing 1, 3, 5, 5, 5 (``--ks 0_1_5``);
channels divided by 1.2 per stage with a floor of 12 (``--reduce 1.2 --lower_width 12``);
PixelShuffle upsampling with GELU; a 3×3 head with ``tanh(x) / 2 + 1/2`` output). Only the decoder
and the embeddings are transmitted; the encoder exists to fit them.

Shapes: frames [B, 3, H, W] float in [0, 1]; embeddings [B, E, gh, gw]; see :class:`Geometry`.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from lcodec.codecs.inr.geometry import Geometry
from lcodec.codecs.inr.sizing import stage_widths

ENCODER_WIDTH = 64
EMBED_CHANNELS = 16
MAX_KERNEL = 5


class ChannelNorm(nn.Module):
    """LayerNorm over channels of an NCHW tensor (ConvNeXt's channels-first LayerNorm)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """Depthwise 7×7 conv, LayerNorm, 4× pointwise MLP with GELU, layer scale, residual."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.expand = nn.Linear(channels, 4 * channels)
        self.project = nn.Linear(4 * channels, channels)
        self.scale = nn.Parameter(torch.full((channels,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.depthwise(x).permute(0, 2, 3, 1)
        y = self.project(F.gelu(self.expand(self.norm(y)))) * self.scale
        return x + y.permute(0, 3, 1, 2)


class Encoder(nn.Module):
    """Frames [B, 3, gh*P, gw*P] -> embeddings [B, E, gh, gw]; one downsampling stage per stride."""

    def __init__(self, strides: tuple[int, ...], width: int = ENCODER_WIDTH, embed: int = EMBED_CHANNELS) -> None:
        super().__init__()
        stages: list[nn.Module] = []
        channels = 3
        for i, stride in enumerate(reversed(strides)):  # the decoder's last upsampling is the first downsampling
            out = embed if i == len(strides) - 1 else width
            down = [nn.Conv2d(channels, out, stride, stride=stride)]
            down = [ChannelNorm(channels), *down] if i else [*down, ChannelNorm(out)]
            stages.append(nn.Sequential(*down, ConvNeXtBlock(out)))
            channels = out
        self.stages = nn.Sequential(*stages)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.stages(frames)


class Decoder(nn.Module):
    """Embeddings [B, E, gh, gw] -> frames [B, 3, H, W] in [0, 1] (cropped from the padded grid)."""

    def __init__(self, geometry: Geometry, width: int, embed: int = EMBED_CHANNELS) -> None:
        super().__init__()
        self.geometry = geometry
        widths = stage_widths(width, len(geometry.strides))
        self.stem = nn.Conv2d(embed, width, 1)
        self.blocks = nn.ModuleList()
        for i, stride in enumerate(geometry.strides):
            kernel = min(1 + 2 * i, MAX_KERNEL)
            self.blocks.append(nn.Sequential(
                nn.Conv2d(widths[i], widths[i + 1] * stride * stride, kernel, padding=kernel // 2),
                nn.PixelShuffle(stride),
            ))
        self.head = nn.Conv2d(widths[-1], 3, 3, padding=1)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.stem(embeddings))
        for block in self.blocks:
            x = F.gelu(block(x))
        x = torch.tanh(self.head(x)) * 0.5 + 0.5
        return x[:, :, : self.geometry.height, : self.geometry.width]


def pad_frames(frames: torch.Tensor, geometry: Geometry) -> torch.Tensor:
    """Replicate-pad frames [B, 3, H, W] to the grid's padded size so the encoder sees whole cells."""
    ph, pw = geometry.padded
    return F.pad(frames, (0, pw - geometry.width, 0, ph - geometry.height), mode="replicate")
