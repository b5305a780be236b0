"""NeRV++ as an lcodec codec: one network per segment, driven by the frame index alone.

Bitstream: WGHT is the network packed by :func:`inr.network.pack_network`; there are no per-frame
latents (a frame is decoded from its index), so any frame decodes on its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lcodec.codecs.base import Progress
from lcodec.codecs.inr.codec import INRConfig, SegmentDecoder, VideoINRCodec, parse_size
from lcodec.codecs.inr.geometry import Geometry

if TYPE_CHECKING:
    import torch


@dataclass
class Config(INRConfig):
    pass


def frame_times(first: int, count: int, total: int) -> torch.Tensor:
    """Normalised times t = i / total of frames first .. first + count - 1 of a segment."""
    import torch

    return torch.arange(first, first + count, dtype=torch.float32) / total


class NeRVPlusPlus(VideoINRCodec):
    id = "nervpp"
    version = 1
    Config = Config
    description = "NeRV++ video INR (Ghorbel et al.)"
    uses_latents = False

    def fit_segment(self, frames: np.ndarray, geometry: Geometry, progress: Progress | None,
                    label: str) -> tuple[bytes, list[bytes], dict[str, Any]]:
        import torch

        from lcodec.codecs.inr.fit import fit, seed_everything
        from lcodec.codecs.inr.network import finetune, pack_network, torch_device
        from lcodec.codecs.inr.sizing import parameter_count, width_for_budget
        from lcodec.codecs.nervpp.model import NeRVPP

        cfg, device = self.config, torch_device(self.device)
        count = len(frames)
        width = width_for_budget(lambda w: NeRVPP(geometry, w), parse_size(cfg.preset))
        seed_everything(cfg.seed)
        net = NeRVPP(geometry, width).to(device)
        video = torch.from_numpy(frames).to(device).permute(0, 3, 1, 2)
        times = frame_times(0, count, count).to(device)

        def target(idx: torch.Tensor) -> torch.Tensor:
            return video[idx.to(device)].float() / 255

        def inputs(idx: torch.Tensor) -> torch.Tensor:
            return times[idx.to(device)]

        fit(net.parameters(), lambda idx: net(inputs(idx)), target, count, self.budget(), lr=cfg.lr,
            batch_size=cfg.batch_size, seed=cfg.seed, progress=progress, label=label)
        finetune(net, inputs, target, count, bits=cfg.bits, prune=cfg.prune, epochs=cfg.finetune_epochs,
                 lr=cfg.lr * 0.1, batch_size=cfg.batch_size, seed=cfg.seed + 1, progress=progress, label=label)
        return pack_network(net, width, cfg.bits), [], {"params": parameter_count(net), "width": width}

    def segment_decoder(self, fields: dict[str, Any], weights: bytes, count: int) -> SegmentDecoder:
        return _NeRVPPSegment(fields, weights, count, self.device)


class _NeRVPPSegment(SegmentDecoder):
    def __init__(self, fields: dict[str, Any], payload: bytes, count: int, device: str) -> None:
        from lcodec.codecs.inr.network import load_network
        from lcodec.codecs.nervpp.model import NeRVPP

        geometry = Geometry(int(fields["height"]), int(fields["width"]), tuple(fields["strides"]))
        self.count = count
        self.net = load_network(lambda w: NeRVPP(geometry, w), payload, device)

    def frames(self, first: int, count: int, latents: bytes | None) -> np.ndarray:
        import torch

        from lcodec.codecs.inr.sizing import to_uint8_frames

        with torch.no_grad():
            return to_uint8_frames(self.net(frame_times(first, count, self.count).to(self.net.head.weight.device)))
