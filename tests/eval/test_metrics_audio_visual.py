"""MS-SSIM, rates and audio metrics against identical inputs, hand-computed cases and their references."""
import math

import numpy as np
import pytest

from lcodec.eval import metrics


def noisy(shape, sigma, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, shape).astype(np.uint8)
    y = np.clip(x + rng.normal(0, sigma, shape), 0, 255).astype(np.uint8)
    return x, y


def test_ms_ssim_identical_is_one_and_noise_lowers_it():
    x, y = noisy((192, 200, 3), 8)
    assert metrics.ms_ssim(x, x) == pytest.approx(1.0, abs=1e-9)
    worse = metrics.ms_ssim(*noisy((192, 200, 3), 30))
    assert 0 < worse < metrics.ms_ssim(x, y) < 1


def test_ms_ssim_too_small_says_why():
    x, _ = noisy((160, 400, 3), 1)
    assert metrics.ms_ssim(x, x) is None
    assert "161" in metrics.ms_ssim_unavailable(x.shape) and "400x160" in metrics.ms_ssim_unavailable(x.shape)
    assert metrics.ms_ssim_unavailable((161, 161, 3)) is None


def test_ms_ssim_clip_is_mean_of_frames_and_running_matches():
    a0, b0 = noisy((170, 170, 3), 10, seed=1)
    a1, b1 = noisy((170, 170, 3), 20, seed=2)
    clip = metrics.ms_ssim(np.stack([a0, a1]), np.stack([b0, b1]))
    assert clip == pytest.approx((metrics.ms_ssim(a0, b0) + metrics.ms_ssim(a1, b1)) / 2)
    running = metrics.RunningMSSSIM(batch=1)
    running.add(a0, b0)
    running.add(a1, b1)
    assert running.value == pytest.approx(clip)
    with pytest.raises(ValueError, match="shape"):
        metrics.ms_ssim(a0, b0[:, :-1])


def test_ms_ssim_matches_pytorch_msssim_directly():
    torch = pytest.importorskip("torch")
    from pytorch_msssim import ms_ssim

    x, y = noisy((176, 180, 3), 12, seed=3)
    a = torch.from_numpy(x).permute(2, 0, 1)[None].double()
    b = torch.from_numpy(y).permute(2, 0, 1)[None].double()
    assert metrics.ms_ssim(x, y) == pytest.approx(float(ms_ssim(a, b, data_range=255)), rel=1e-9)


def test_rates():
    assert metrics.bpp(1000, 64_000) == 0.125
    assert metrics.kbps(16_000, 2.0) == 64.0
    with pytest.raises(ValueError):
        metrics.bpp(1, 0)
    with pytest.raises(ValueError):
        metrics.kbps(1, 0)


def test_si_sdr_hand_computed():
    ref = np.array([1.0, -1.0, 1.0, -1.0])
    noise = 0.1 * np.array([1.0, 1.0, -1.0, -1.0])  # zero-mean, orthogonal to ref
    # target = ref (gain 1), noise energy 0.04 -> 10 log10(4 / 0.04) = 20 dB
    assert metrics.si_sdr(ref, ref + noise) == pytest.approx(20.0)
    assert metrics.si_sdr(ref, 3 * (ref + noise)) == pytest.approx(20.0)  # scale-invariant
    assert metrics.si_sdr(ref, ref + 5.0) == math.inf  # offsets are removed with the mean
    assert math.isnan(metrics.si_sdr(np.zeros(8), np.ones(8)))
    stereo = np.stack([ref, ref])
    assert metrics.si_sdr(stereo, stereo + np.stack([noise, noise])) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="shape"):
        metrics.si_sdr(ref, ref[:3])


def test_mel_filterbank_and_distance():
    bank = metrics.mel_filterbank(16000, 512, 40)
    assert bank.shape == (40, 257) and bank.max() == pytest.approx(1.0, abs=0.05) and (bank >= 0).all()
    assert (bank.sum(axis=1) > 0).all()  # no empty filter at this resolution
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, 16000).astype(np.float32)
    assert metrics.mel_distance(x, x, 16000) == 0.0
    # A uniform gain g shifts every log-mel bin by log g where the floor is not reached.
    assert metrics.mel_distance(x, 0.5 * x, 16000) == pytest.approx(math.log(2), rel=1e-3)
    assert metrics.mel_distance(x, x + rng.normal(0, 0.05, x.shape), 16000) > 0.1


def test_stoi_identical_and_degraded():
    pytest.importorskip("pystoi")
    from lcodec.eval.inputs import tone_speech

    x = tone_speech(seconds=2.0)
    assert metrics.stoi(x, x, 16000) == pytest.approx(1.0, abs=1e-6)
    rng = np.random.default_rng(1)
    noisy_x = x + rng.normal(0, 0.2, x.shape)
    assert metrics.stoi(x, noisy_x, 16000) < 0.9


def test_pesq_identical_is_the_ceiling_and_resampling_works():
    pytest.importorskip("pesq")
    from lcodec.eval.inputs import tone_speech

    x = tone_speech(seconds=3.0)
    assert metrics.pesq(x, x, 16000) == pytest.approx(4.64, abs=0.01)  # P.862.2's maximum MOS-LQO
    x48 = metrics.resample(x, 16000, 48000)
    rng = np.random.default_rng(2)
    assert metrics.pesq(x48, x48 + rng.normal(0, 0.05, x48.shape), 48000) < 3.5
    with pytest.raises(ValueError, match="PESQ"):
        metrics.pesq(np.zeros(48000), np.zeros(48000), 16000)
