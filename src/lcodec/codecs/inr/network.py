"""Fine-tuning, packing and loading a fitted INR network (torch side of the shared machinery).

WGHT payloads start with ``u16 width`` (the one size knob, see :mod:`inr.sizing`), then the packed
tensors of ``module.parameters()`` in order (see :mod:`inr.weights`).
"""
from __future__ import annotations

import struct
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call

from lcodec.codecs.base import Progress
from lcodec.codecs.inr import weights
from lcodec.codecs.inr.budget import Budget
from lcodec.codecs.inr.fit import apply_masks, fake_quantize, fit, prune_masks
from lcodec.errors import CodecUnavailableError, CorruptFileError, UsageError

WIDTH = struct.Struct("<H")


def torch_device(name: str) -> torch.device:
    """``torch.device(name)``, with clear errors for a malformed name or a missing GPU."""
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UsageError(f"not a device: {name!r} (use cpu, cuda or cuda:N)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CodecUnavailableError(f"device {name!r} asked for, but no CUDA GPU is available here")
    return device


def finetune(net: nn.Module, inputs: Callable[[torch.Tensor], torch.Tensor],
             target: Callable[[torch.Tensor], torch.Tensor], count: int, *, bits: int, prune: float,
             epochs: int, lr: float, batch_size: int, seed: int, progress: Progress | None, label: str) -> None:
    """Magnitude-prune ``prune`` of the weights, then (if ``epochs``) fine-tune through fake-quantised
    weights with straight-through gradients, keeping pruned weights at zero."""
    masks = prune_masks(net, prune)
    apply_masks(net, masks)
    if epochs <= 0:
        return

    def predict_quantized(idx: torch.Tensor) -> torch.Tensor:
        params = {n: fake_quantize(p, bits) if p.dim() > 1 else p for n, p in net.named_parameters()}
        return functional_call(net, params, (inputs(idx),))

    fit(net.parameters(), predict_quantized, target, count, Budget(epochs=epochs), lr=lr, batch_size=batch_size,
        seed=seed, progress=progress, label=f"{label} fine-tune", warmup=0.0, after_step=lambda: apply_masks(net, masks))


def pack_network(net: nn.Module, width: int, bits: int) -> bytes:
    packed, _ = weights.pack([p.detach().cpu().numpy() for p in net.parameters()], bits)
    return WIDTH.pack(width) + packed


def load_network(build: Callable[[int], nn.Module], payload: bytes, device: str) -> nn.Module:
    """Build the network for the payload's width and load its tensors; ready for inference."""
    if len(payload) < WIDTH.size:
        raise CorruptFileError("weights chunk is too short")
    (width,) = WIDTH.unpack_from(payload)
    net = build(width)
    params = list(net.parameters())
    tensors = weights.unpack(payload[WIDTH.size:], [tuple(p.shape) for p in params])
    with torch.no_grad():
        for param, values in zip(params, tensors, strict=True):
            param.copy_(torch.from_numpy(values))
    return net.to(torch_device(device)).eval()
