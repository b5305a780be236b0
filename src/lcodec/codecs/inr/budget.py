"""Fitting budgets: a number of epochs or a wall-clock time, and the cosine schedule tied to it.

Why a time budget: an INR's quality depends on how long it is fitted, and users think in minutes
("fit this clip in 5 minutes"); the learning rate then follows a cosine over the budget's
fraction spent, whichever of epochs or seconds defines it.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

_UNITS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """Seconds in "90", "90s", "5m", "1.5h", "1h30m"; raises ValueError otherwise."""
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(min|[smh]?)", text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s+", "", text.strip().lower()):
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 5m, 1h)")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return seconds


@dataclass
class Budget:
    """Stop after ``epochs`` epochs or ``seconds`` of fitting, whichever is set (both: first reached)."""

    epochs: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.epochs is None and self.seconds is None:
            raise ValueError("a budget needs epochs or seconds")
        self._start = time.perf_counter()

    def restart(self) -> None:
        self._start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def fraction(self, epochs_done: int) -> float:
        """How much of the budget is spent, in [0, 1]."""
        parts = []
        if self.epochs is not None:
            parts.append(epochs_done / max(self.epochs, 1))
        if self.seconds is not None:
            parts.append(self.elapsed / self.seconds)
        return min(max(parts), 1.0)

    def done(self, epochs_done: int) -> bool:
        return self.fraction(epochs_done) >= 1.0


def cosine_lr(base_lr: float, fraction: float, warmup: float = 0.2, floor: float = 0.0) -> float:
    """Linear warm-up over the first ``warmup`` of the budget, then cosine decay to ``floor``.

    HNeRV trains with a 0.2 warm-up then cosine decay (HNeRV repository, ``--lr_type cosine_0.1_1_0.1``
    family); we tie both to the budget's fraction so a time budget gets the whole schedule.
    """
    if fraction < warmup:
        return base_lr * (0.1 + 0.9 * fraction / warmup)
    progress = (fraction - warmup) / max(1 - warmup, 1e-9)
    return floor + (base_lr - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
