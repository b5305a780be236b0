"""The fitting loop every video INR shares: seeded, budgeted, cosine-scheduled, with progress.

A codec supplies ``predict(indices) -> frames`` (its network applied to a batch of frame indices)
and the target frames; the loop minimises the mean squared error (the L2 loss of the HNeRV paper)
with Adam until the budget is spent. Quantisation-aware fine-tuning reuses the same loop with
``predict`` seeing fake-quantised weights (straight-through gradients).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from lcodec.codecs.base import Progress
from lcodec.codecs.inr.budget import Budget, cosine_lr

Predict = Callable[[torch.Tensor], torch.Tensor]
PROGRESS_STEPS = 1000  # progress is reported in thousandths of the budget, so time budgets get an ETA too


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def fit(
    parameters: Iterable[nn.Parameter],
    predict: Predict,
    target: Callable[[torch.Tensor], torch.Tensor],
    num_frames: int,
    budget: Budget,
    *,
    lr: float,
    batch_size: int,
    seed: int,
    progress: Progress | None = None,
    label: str = "fit",
    warmup: float = 0.2,
    after_step: Callable[[], None] | None = None,
) -> float:
    """Minimise MSE between ``predict(idx)`` and ``target(idx)`` over shuffled frame batches.

    ``target(idx)`` returns float frames [B, 3, H, W] in [0, 1]; ``after_step`` runs after every
    optimiser step (pruning re-applies its masks there). Returns the PSNR (dB) of the last epoch's
    running average, as a progress figure (the codec measures the final quality itself).
    """
    generator = seed_everything(seed)
    optimizer = torch.optim.Adam(list(parameters), lr=lr, betas=(0.9, 0.999))
    budget.restart()
    epoch, psnr = 0, float("nan")
    while not budget.done(epoch):
        order = torch.randperm(num_frames, generator=generator)
        total_se, total_n = 0.0, 0
        for start in range(0, num_frames, batch_size):
            idx = order[start:start + batch_size]
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(lr, budget.fraction(epoch), warmup)
            prediction, truth = predict(idx), target(idx)
            loss = torch.mean((prediction - truth) ** 2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if after_step is not None:
                after_step()
            total_se += loss.item() * idx.numel()
            total_n += idx.numel()
        epoch += 1
        mse = total_se / max(total_n, 1)
        psnr = math.inf if mse == 0 else -10 * math.log10(mse)
        if progress is not None:
            progress(int(budget.fraction(epoch) * PROGRESS_STEPS), PROGRESS_STEPS, f"{label} epoch {epoch} {psnr:.2f} dB")
    return psnr


def fake_quantize(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel quantise-dequantise with a straight-through gradient (mirrors inr.quant)."""
    flat = weight.reshape(weight.shape[0], -1)
    lo = flat.min(dim=1).values.half().float()
    step = ((flat.max(dim=1).values - lo) / ((1 << bits) - 1)).half().float()
    step = torch.where(step > 0, step, torch.ones_like(step))
    shape = (-1,) + (1,) * (weight.dim() - 1)
    levels = torch.clamp(torch.round((weight - lo.view(shape)) / step.view(shape)), 0, (1 << bits) - 1)
    quantized = lo.view(shape) + levels * step.view(shape)
    return weight + (quantized - weight).detach()


def prune_masks(module: nn.Module, fraction: float) -> dict[str, torch.Tensor]:
    """Masks keeping the largest-magnitude ``1 - fraction`` of all conv/linear weights (one global threshold)."""
    weights = {n: p for n, p in module.named_parameters() if p.dim() > 1}
    if fraction <= 0 or not weights:
        return {}
    magnitudes = torch.cat([p.detach().abs().flatten() for p in weights.values()])
    k = int(fraction * magnitudes.numel())
    if k == 0:
        return {}
    threshold = torch.kthvalue(magnitudes, k).values
    return {n: (p.detach().abs() > threshold).to(p.dtype) for n, p in weights.items()}


def apply_masks(module: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name in masks:
                param.mul_(masks[name])
