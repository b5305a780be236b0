"""The fixed-point HCLT kernel: exact conditionals (against brute force), valid intervals, errors."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from lcodec.entropy import IntervalDecoder, IntervalEncoder

from .helpers import intervals, kernel, random_tables, random_tree

pytestmark = pytest.mark.native


def brute_force_joint(tables: dict[str, np.ndarray], values: int) -> np.ndarray:
    """p(x) over every x in [0, V)^D (coding order), from the integer tables renormalised in float."""
    parent = tables["parent"]
    d, k = len(parent), len(tables["prior"])
    prior = tables["prior"] / tables["prior"].sum()
    trans = tables["trans"] / tables["trans"].sum(axis=2, keepdims=True)
    emit = tables["emit"] / tables["emit"].sum(axis=1, keepdims=True)
    emit = emit[tables["emit_of"]]  # [D, V, K]
    joint = np.zeros((values,) * d)
    for h in itertools.product(range(k), repeat=d):
        ph = prior[h[0]] * np.prod([trans[t, h[parent[t]], h[t]] for t in range(1, d)])
        e = [emit[t, :, h[t]] for t in range(d)]  # each [V]
        joint += ph * np.einsum(",".join("abcdefgh"[:d]) + "->" + "abcdefgh"[:d], *e)
    return joint


def test_conditionals_match_brute_force():
    values, d = 4, 5
    order, parent = random_tree(d, seed=3)
    tables = random_tables(parent, states=3, values=values, seed=1)
    joint = brute_force_joint(tables, values)
    xs = np.array(list(itertools.product(range(values), repeat=d)), np.uint8)
    _, freqs = intervals(kernel(tables), xs)
    bits_kernel = (16 - np.log2(freqs.reshape(d, -1))).sum(axis=0)
    bits_exact = -np.log2(joint[tuple(xs.T)])
    # Fixed point costs at most ~V / 2^16 of probability mass per symbol, plus rounding.
    assert np.max(np.abs(bits_kernel - bits_exact)) < 0.01
    assert abs(np.sum(joint[tuple(xs.T)] * (bits_kernel - bits_exact))) < 1e-3  # expected overhead


def test_frequencies_partition_the_range():
    order, parent = random_tree(40, seed=0)
    tables = random_tables(parent, states=7, values=17, seed=2)
    model = kernel(tables)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 17, (20, 40), dtype=np.uint8)
    starts, freqs = intervals(model, pixels)
    assert freqs.min() >= 1 and (starts + freqs).max() <= 1 << 16
    # Decoding with the kernel's own decoder reproduces every pixel.
    from lcodec.codecs.pc import _pc

    enc = IntervalEncoder(16)
    enc.push(starts, freqs)
    dec = IntervalDecoder(enc.finish())
    kdec = _pc.Decoder(model, 20)
    s, f = np.empty(1, np.uint32), np.empty(1, np.uint32)
    while not dec.done:
        kdec.step(np.array([dec.peek()], np.uint32), s, f)
        dec.advance(int(s[0]), int(f[0]))
    out = np.empty((20, 40), np.uint16)
    kdec.pixels(out)
    np.testing.assert_array_equal(out, pixels)


def test_naive_pass_agrees_with_incremental():
    order, parent = random_tree(30, seed=5)
    tables = random_tables(parent, states=6, values=9, seed=4)
    model = kernel(tables)
    pixels = np.random.default_rng(1).integers(0, 9, (8, 30), dtype=np.uint8)
    _, fast = intervals(model, pixels)
    _, naive = intervals(model, pixels, naive=True)
    diff = np.abs(np.log2(fast.astype(float)) - np.log2(naive.astype(float)))
    assert diff.max() < 0.01  # the same model, rounded in another order


def test_shared_emission_tables():
    order, parent = random_tree(12, seed=2)
    tables = random_tables(parent, states=4, values=256, seed=0, shared_emission=True)
    pixels = np.random.default_rng(2).integers(0, 256, (3, 12), dtype=np.uint8)
    starts, freqs = intervals(kernel(tables), pixels)
    assert freqs.min() >= 1 and (starts + freqs).max() <= 1 << 16


def test_rejects_bad_models_and_pixels():
    order, parent = random_tree(6, seed=0)
    tables = random_tables(parent, states=2, values=5)
    model = kernel(tables)
    with pytest.raises(ValueError, match="outside the model's range 0..4"):
        intervals(model, np.full((1, 6), 5, np.uint8))
    bfs = dict(tables, parent=np.array([-1, 0, 0, 1, 1, 2], np.int32))  # parents first, but not a pre-order
    with pytest.raises(ValueError, match="pre-order"):
        kernel(bfs)
    with pytest.raises(ValueError, match=">= 1"):
        kernel(dict(tables, emit=np.zeros_like(tables["emit"])))
    with pytest.raises(ValueError, match="disagree"):
        kernel(dict(tables, trans=np.ascontiguousarray(tables["trans"][:, :1])))
