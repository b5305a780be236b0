"""HNeRV as an lcodec codec: fit encoder + decoder to a segment, ship the decoder and embeddings.

Bitstream (chunk layout in :mod:`lcodec.codecs.inr.codec`): WGHT is the decoder packed by
:func:`inr.network.pack_network`; EMBD holds one GOP's embeddings [n, 16, gh, gw], quantised per
frame to ``embed_bits``. torch is imported only when coding.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lcodec.codecs.base import Progress
from lcodec.codecs.inr.codec import GOP_FRAMES, INRConfig, SegmentDecoder, VideoINRCodec, parse_size
from lcodec.codecs.inr.geometry import Geometry
from lcodec.errors import UsageError


@dataclass
class Config(INRConfig):
    embed_bits: int = 8


class HNeRV(VideoINRCodec):
    id = "hnerv"
    version = 1
    Config = Config
    description = "HNeRV video INR (Chen et al., CVPR 2023)"

    @classmethod
    def validate_config(cls, config: Config) -> None:
        super().validate_config(config)
        if not 2 <= config.embed_bits <= 16:
            raise UsageError(f"embed_bits must be in 2..16, got {config.embed_bits}")

    def fit_segment(self, frames: np.ndarray, geometry: Geometry, progress: Progress | None,
                    label: str) -> tuple[bytes, list[bytes], dict[str, Any]]:
        import torch

        from lcodec.codecs.hnerv.model import EMBED_CHANNELS, Decoder, Encoder, pad_frames
        from lcodec.codecs.inr import weights
        from lcodec.codecs.inr.fit import fit, seed_everything
        from lcodec.codecs.inr.network import finetune, pack_network, torch_device
        from lcodec.codecs.inr.sizing import parameter_count, width_for_budget

        cfg, device = self.config, torch_device(self.device)
        count = len(frames)
        gh, gw = geometry.grid
        width = width_for_budget(lambda w: Decoder(geometry, w), parse_size(cfg.preset),
                                 fixed=count * EMBED_CHANNELS * gh * gw)
        seed_everything(cfg.seed)
        encoder, decoder = Encoder(geometry.strides).to(device), Decoder(geometry, width).to(device)
        video = torch.from_numpy(frames).to(device).permute(0, 3, 1, 2)

        def target(idx: torch.Tensor) -> torch.Tensor:
            return video[idx.to(device)].float() / 255

        def predict(idx: torch.Tensor) -> torch.Tensor:
            return decoder(encoder(pad_frames(target(idx), geometry)))

        fit([*encoder.parameters(), *decoder.parameters()], predict, target, count, self.budget(),
            lr=cfg.lr, batch_size=cfg.batch_size, seed=cfg.seed, progress=progress, label=label)

        latents, restored = [], []
        with torch.no_grad():
            for start in range(0, count, GOP_FRAMES):
                gop = torch.arange(start, min(start + GOP_FRAMES, count))
                embedding = encoder(pad_frames(target(gop), geometry)).cpu().numpy()
                payload, (values,) = weights.pack([embedding], cfg.embed_bits)
                latents.append(payload)
                restored.append(values)
        # The decoder is fine-tuned on the embeddings it will really receive.
        received = torch.from_numpy(np.concatenate(restored)).to(device)
        finetune(decoder, lambda idx: received[idx.to(device)], target, count, bits=cfg.bits, prune=cfg.prune,
                 epochs=cfg.finetune_epochs, lr=cfg.lr * 0.1, batch_size=cfg.batch_size, seed=cfg.seed + 1,
                 progress=progress, label=label)
        stats = {"params": parameter_count(decoder) + int(received.numel()), "width": width}
        return pack_network(decoder, width, cfg.bits), latents, stats

    def segment_decoder(self, fields: dict[str, Any], weights: bytes, count: int) -> SegmentDecoder:
        return _HNeRVSegment(fields, weights, self.device)


class _HNeRVSegment(SegmentDecoder):
    def __init__(self, fields: dict[str, Any], payload: bytes, device: str) -> None:
        from lcodec.codecs.hnerv.model import EMBED_CHANNELS, Decoder
        from lcodec.codecs.inr.network import load_network

        geometry = Geometry(int(fields["height"]), int(fields["width"]), tuple(fields["strides"]))
        self.decoder = load_network(lambda w: Decoder(geometry, w), payload, device)
        self.embed_shape = (EMBED_CHANNELS, *geometry.grid)

    def frames(self, first: int, count: int, latents: bytes | None) -> np.ndarray:
        import torch

        from lcodec.codecs.inr import weights
        from lcodec.codecs.inr.sizing import to_uint8_frames

        (embeddings,) = weights.unpack(latents or b"", [(count, *self.embed_shape)])
        with torch.no_grad():
            return to_uint8_frames(self.decoder(torch.from_numpy(embeddings).to(self.decoder.head.weight.device)))
