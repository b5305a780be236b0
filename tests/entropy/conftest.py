"""Shared fixtures for the entropy tests: small deterministic data, no downloads."""
from __future__ import annotations

import numpy as np
import pytest

from lcodec import entropy as E


@pytest.fixture(scope="session")
def gauss8() -> E.Tables:
    """8 Gaussian scale tables (0.2 .. 40) at the default precision."""
    return E.gaussian_tables(E.scale_levels(8, 0.2, 40.0))


def gaussian_latents(n: int, tables_scales: np.ndarray, seed: int = 0, spread: float = 1.0):
    """(values int32 [n], indexes int32 [n]) drawn from the scale tables, `spread` widens them
    so some values escape."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(tables_scales), n).astype(np.int32)
    vals = np.round(rng.normal(0.0, tables_scales[idx] * spread)).astype(np.int32)
    return vals, idx
