"""Training: structure learning, EM, sampling, the model file, and ``lcodec train pc``."""
from __future__ import annotations

import json

import numpy as np
import pytest

import lcodec
from lcodec.cli.main import main
from lcodec.codecs.pc import structure
from lcodec.codecs.pc.codec import PC
from lcodec.codecs.pc.train import train
from lcodec.media import Image, write


def correlated_images(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """Blurry random blobs: neighbouring pixels are strongly dependent."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 4, (n, h // 2 + 1, w // 2 + 1))
    up = base.repeat(2, axis=1).repeat(2, axis=2)[:, :h, :w]
    return (up * 60 + rng.integers(0, 8, (n, h, w))).astype(np.uint8)


def test_chow_liu_tree_links_dependent_pixels():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 500)
    data = np.stack([a, rng.integers(0, 4, 500), a, (a + 1) % 4], axis=1)
    mi = structure.mutual_information(data, 4)
    assert np.allclose(mi, mi.T) and mi[0, 2] > 1 and mi[0, 1] < 0.05
    parent = structure.chow_liu_tree(mi)
    edges = {frozenset((u, int(p))) for u, p in enumerate(parent) if p >= 0}
    strong = {frozenset((0, 2)), frozenset((0, 3)), frozenset((2, 3))}
    assert len(edges) == 3 and len(edges & strong) == 2  # the copies of `a` form a chain, the noise hangs on
    order, parent_pos = structure.preorder(parent)
    assert sorted(order) == [0, 1, 2, 3] and parent_pos[0] == -1 and all(parent_pos[1:] < np.arange(1, 4))


def test_em_improves_and_samples_look_like_data():
    import torch

    from lcodec.codecs.pc.model import HCLT

    images = correlated_images(200, 6, 6)
    flat = images.reshape(200, -1).astype(np.int64)
    order, parent = structure.preorder(structure.chow_liu_tree(structure.mutual_information(flat, 256)))
    model = HCLT(parent, 4, 256, np.zeros(36, np.int64))
    x = torch.from_numpy(flat[:, order])
    lls = [model.em_step(x, 0.1) for _ in range(6)]
    assert all(b >= a - 1e-6 for a, b in zip(lls, lls[1:]))  # EM never decreases the likelihood
    samples = model.sample(50).numpy()
    assert samples.shape == (50, 36) and samples.max() < 256
    assert abs(samples.mean() - flat.mean()) < 30


def test_trained_model_codes_held_out_images(tmp_path):
    from lcodec.codecs.pc import weights

    images = correlated_images(160, 6, 5)
    trained = train(images[:120], 256, states=4, steps=8, shared_emission=True, test=images[120:])
    m = trained.metrics
    assert m["test_bpd_fixed_point"] == pytest.approx(m["test_bpd_float"], abs=0.02)
    assert m["test_bpd_float"] < 6.5  # far below 8: the model learned the blobs
    path = tmp_path / "blobs.safetensors"
    weights.save(path, trained.tables, trained.order, 6, 5, 256)
    strip = images[120:].reshape(-1, 5)
    blob = lcodec.encode(strip, codec="pc", model=str(path))
    np.testing.assert_array_equal(lcodec.decode(blob), strip)
    codec = PC(PC.make_config({"model": str(path)}))
    payload = sum(len(c.payload) for c in codec.encode(Image(strip)).chunks)
    ideal = m["test_bpd_fixed_point"] * strip.size / 8
    assert ideal < payload < ideal + 32  # the coder reaches the model, plus the stream's fixed ~23 bytes


def test_cli_trains_on_a_folder(tmp_path, capsys):
    folder = tmp_path / "faces"
    folder.mkdir()
    for i, image in enumerate(correlated_images(12, 4, 4)):
        write(Image(image), folder / f"{i:02d}.png")
    out = tmp_path / "m.safetensors"
    args = ["train", "pc", "--data", str(folder), "-o", str(out), "--states", "3", "--steps", "3", "--json"]
    assert main(args) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["sha256"] and metrics["width"] == 4 and metrics["train_images"] == 10
    assert main(args) == 73  # exists: needs -y
    assert main(["train", "pc", "--data", str(tmp_path / "none"), "-o", str(tmp_path / "x.safetensors")]) == 66


def test_cli_train_help_lists_trainers(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0 and "pc" in capsys.readouterr().out
