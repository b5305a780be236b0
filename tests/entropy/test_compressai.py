"""compressai's own tables plug in (slow: importing compressai takes several seconds)."""
from __future__ import annotations

import numpy as np
import pytest

from lcodec import entropy as E

pytestmark = [pytest.mark.slow, pytest.mark.native]


def test_gaussian_conditional_tables_roundtrip_and_rate() -> None:
    torch = pytest.importorskip("torch")
    ca = pytest.importorskip("compressai")
    from compressai.ans import RansEncoder
    from compressai.entropy_models import GaussianConditional

    levels = torch.exp(torch.linspace(np.log(0.11), np.log(256.0), 64))
    gc = GaussianConditional(levels.tolist())
    gc.update_scale_table(levels)
    t = E.Tables.from_cdfs(gc._quantized_cdf, gc._cdf_length, gc._offset)
    assert t.precision == 16 and t.num_tables == 64
    rng = np.random.default_rng(0)
    n = 200_000
    idx = rng.integers(0, 64, n).astype(np.int32)
    vals = np.round(rng.normal(0, levels.numpy()[idx] * 1.1)).astype(np.int32)
    ours = E.encode_indexed(torch.from_numpy(vals), torch.from_numpy(idx), t)
    assert np.array_equal(E.decode_indexed(ours, idx, t), vals)
    cdfs = [gc._quantized_cdf[k, : int(gc._cdf_length[k])].tolist() for k in range(64)]
    theirs = RansEncoder().encode_with_indexes(
        vals.tolist(), idx.tolist(), cdfs, gc._cdf_length.tolist(), gc._offset.tolist()
    )
    # same 16-bit tables: sizes agree up to our lane states and their escape coding
    assert abs(len(ours) - len(theirs)) < 0.01 * len(theirs)
    del ca
