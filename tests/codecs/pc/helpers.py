"""Small random HCLTs as integer tables (numpy only), for the kernel and codec tests."""
from __future__ import annotations

import numpy as np

from lcodec.codecs.pc import structure


def random_tables(parent: np.ndarray, states: int, values: int, seed: int = 0,
                  shared_emission: bool = False) -> dict[str, np.ndarray]:
    """Integer tables (probabilities x 2^16, rows ~ Dirichlet) for a tree given as pre-order parents."""
    rng = np.random.default_rng(seed)
    d = len(parent)

    def q(p: np.ndarray, axis: int) -> np.ndarray:
        p = p / p.sum(axis=axis, keepdims=True)
        return np.clip(np.rint(p * 65536), 1, 65535).astype(np.uint16)

    b = 1 if shared_emission else d
    return {"parent": np.asarray(parent, np.int32),
            "prior": q(rng.gamma(1.0, size=states), 0),
            "trans": q(rng.gamma(0.5, size=(d, states, states)), 2),
            "emit": q(rng.gamma(0.5, size=(b, values, states)), 1),
            "emit_of": np.zeros(d, np.int32) if shared_emission else np.arange(d, dtype=np.int32)}


def random_tree(d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(order, parent positions) of a random tree over d pixels."""
    rng = np.random.default_rng(seed)
    parent = np.array([-1] + [int(rng.integers(0, i)) for i in range(1, d)])
    perm = rng.permutation(d)  # relabel pixels so the pre-order is not the identity
    relabelled = np.full(d, -1)
    relabelled[perm] = np.where(parent < 0, -1, perm[np.maximum(parent, 0)])
    return structure.preorder(relabelled)


def kernel(tables: dict[str, np.ndarray]):
    from lcodec.codecs.pc import _pc

    t = tables
    return _pc.Model(t["parent"], t["prior"], t["trans"], t["emit"], t["emit_of"], 16)


def intervals(model, pixels: np.ndarray, naive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(starts, freqs) uint32 [N * D] in stream order for uint8 pixels [N, D] in coding order."""
    starts = np.empty(pixels.size, np.uint32)
    freqs = np.empty(pixels.size, np.uint32)
    model.encode(np.ascontiguousarray(pixels), starts, freqs, naive=naive)
    return starts, freqs
