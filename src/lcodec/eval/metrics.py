"""Quality metrics on numpy arrays; cheap to import (numpy only).

PSNR is computed against the peak of the original's integer type (255 for uint8, 65535 for
uint16), over all samples together, as the NeRV/HNeRV and CompressAI papers report it.
"""
from __future__ import annotations

import math

import numpy as np


def mse(original: np.ndarray, decoded: np.ndarray) -> float:
    """Mean squared error over all samples; shapes must match exactly."""
    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape} vs decoded {decoded.shape}")
    diff = original.astype(np.float64) - decoded.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(original: np.ndarray, decoded: np.ndarray, peak: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB (``inf`` when identical). Arrays of any shape, same dtype range."""
    if peak is None:
        peak = float(np.iinfo(original.dtype).max) if np.issubdtype(original.dtype, np.integer) else 1.0
    error = mse(original, decoded)
    return math.inf if error == 0 else 10.0 * math.log10(peak * peak / error)


class RunningPSNR:
    """PSNR accumulated frame by frame, so a long clip is never held in memory twice."""

    def __init__(self, peak: float = 255.0) -> None:
        self.peak = peak
        self._sum = 0.0
        self._count = 0

    def add(self, original: np.ndarray, decoded: np.ndarray) -> None:
        self._sum += mse(original, decoded) * original.size
        self._count += original.size

    @property
    def value(self) -> float:
        if self._count == 0:
            raise ValueError("no samples added")
        error = self._sum / self._count
        return math.inf if error == 0 else 10.0 * math.log10(self.peak * self.peak / error)


# Full-range BT.601 luma weights (ITU-R BT.601: Y = 0.299 R + 0.587 G + 0.114 B).
BT601_LUMA = (0.299, 0.587, 0.114)


def luma(rgb: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma of RGB samples [..., 3], float64 on the input's scale."""
    return rgb[..., :3].astype(np.float64) @ np.asarray(BT601_LUMA)


def psnr_y(original: np.ndarray, decoded: np.ndarray, peak: float = 255.0) -> float:
    """PSNR of the BT.601 luma of two RGB arrays [..., 3] (the "Y-PSNR" video papers report)."""
    return psnr(luma(original), luma(decoded), peak)


# --- images and video: MS-SSIM -------------------------------------------------------------------

# pytorch-msssim downsamples 4 times and needs the 11-tap window to fit the coarsest scale:
# (11 - 1) * 2**4 = 160, so the shorter side must exceed 160.
MS_SSIM_MIN_SIDE = 161


def ms_ssim_unavailable(shape: tuple[int, ...]) -> str | None:
    """Why 5-scale MS-SSIM cannot run on frames of ``shape`` ([..., H, W, C]), or ``None`` when it can."""
    height, width = shape[-3], shape[-2]
    if min(height, width) < MS_SSIM_MIN_SIDE:
        return f"MS-SSIM needs both sides >= {MS_SSIM_MIN_SIDE} px (5 scales of an 11-tap window), got {width}x{height}"
    return None


def ms_ssim(original: np.ndarray, decoded: np.ndarray, peak: float | None = None, batch: int = 16) -> float | None:
    """Mean multi-scale SSIM (Wang et al. 2003, pytorch-msssim) of images [H, W, C] or clips [T, H, W, C].

    Returns ``None`` when the frames are too small (see :func:`ms_ssim_unavailable`). Channels are
    scored separately and averaged, frames are averaged; ``batch`` frames go through torch at once.
    """
    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape} vs decoded {decoded.shape}")
    if ms_ssim_unavailable(original.shape):
        return None
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    if peak is None:
        peak = float(np.iinfo(original.dtype).max) if np.issubdtype(original.dtype, np.integer) else 1.0
    a_all = original.reshape((-1,) + original.shape[-3:])
    b_all = decoded.reshape((-1,) + decoded.shape[-3:])
    scores = []
    # Small frames: one thread. Intra-op threads gain nothing on convolutions this size and, on a
    # machine whose cores are busy (parallel sweeps), spin-wait 10-30x slower than one thread.
    threads = torch.get_num_threads()
    if original.shape[-3] * original.shape[-2] < 512 * 512:
        torch.set_num_threads(1)
    try:
        for start in range(0, len(a_all), batch):
            a = torch.from_numpy(np.ascontiguousarray(a_all[start:start + batch])).permute(0, 3, 1, 2).double()
            b = torch.from_numpy(np.ascontiguousarray(b_all[start:start + batch])).permute(0, 3, 1, 2).double()
            scores.append(_ms_ssim(a, b, data_range=peak, size_average=False))
    finally:
        torch.set_num_threads(threads)
    return float(torch.cat(scores).mean())


class RunningMSSSIM:
    """MS-SSIM averaged frame by frame (like :class:`RunningPSNR`); ``value`` is ``None`` for small frames."""

    def __init__(self, batch: int = 16) -> None:
        self.batch = batch
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._sum = 0.0
        self._count = 0
        self.reason: str | None = None

    def add(self, original: np.ndarray, decoded: np.ndarray) -> None:
        self.reason = self.reason or ms_ssim_unavailable(original.shape)
        if self.reason:
            return
        self._pending.append((original, decoded))
        if len(self._pending) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            a = np.stack([p[0] for p in self._pending])
            b = np.stack([p[1] for p in self._pending])
            self._sum += ms_ssim(a, b, batch=self.batch) * len(a)  # type: ignore[operator]
            self._count += len(a)
            self._pending.clear()

    @property
    def value(self) -> float | None:
        if self.reason:
            return None
        self._flush()
        if self._count == 0:
            raise ValueError("no frames added")
        return self._sum / self._count


# --- rates --------------------------------------------------------------------------------------

def bpp(num_bytes: int, num_pixels: int) -> float:
    """Bits per pixel of a file of ``num_bytes`` over ``num_pixels`` pixels (all frames together)."""
    if num_pixels <= 0:
        raise ValueError("bits per pixel needs at least one pixel")
    return 8.0 * num_bytes / num_pixels


def kbps(num_bytes: int, seconds: float) -> float:
    """Kilobits (1000 bits) per second of a file of ``num_bytes`` holding ``seconds`` of media."""
    if seconds <= 0:
        raise ValueError("kbit/s needs a positive duration")
    return 8.0 * num_bytes / seconds / 1000.0


# --- audio ----------------------------------------------------------------------------------------

def _channels(samples: np.ndarray) -> np.ndarray:
    """[N] or [C, N] -> float64 [C, N]."""
    array = np.asarray(samples, dtype=np.float64)
    return array[None] if array.ndim == 1 else array


def _check_audio(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref, est = _channels(reference), _channels(estimate)
    if ref.shape != est.shape:
        raise ValueError(f"shape mismatch: original {ref.shape} vs decoded {est.shape}")
    if ref.shape[-1] == 0:
        raise ValueError("audio has no samples")
    return ref, est


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., ICASSP 2019).

    Both signals are made zero-mean; the reference is scaled by the least-squares gain so the
    estimate's level does not matter. Samples [N] or [C, N]; channels are averaged in dB.
    ``inf`` for a perfect estimate, ``nan`` for a silent reference.
    """
    ref, est = _check_audio(reference, estimate)
    ref = ref - ref.mean(axis=-1, keepdims=True)
    est = est - est.mean(axis=-1, keepdims=True)
    values = []
    for r, e in zip(ref, est):
        energy = float(r @ r)
        if energy == 0:
            values.append(math.nan)
            continue
        target = (float(e @ r) / energy) * r
        noise = float(((e - target) ** 2).sum())
        values.append(math.inf if noise == 0 else 10.0 * math.log10(float(target @ target) / noise))
    return float(np.mean(values))


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)  # HTK mel scale


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular HTK-mel filters, float64 [n_mels, n_fft // 2 + 1], each peaking at 1."""
    fmax = sample_rate / 2 if fmax is None else fmax
    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges_mel = np.linspace(_hz_to_mel(np.asarray(fmin)), _hz_to_mel(np.asarray(fmax)), n_mels + 2)
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None] - lower) / (centre - lower)
    falling = (upper - freqs[None]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def log_mel(samples: np.ndarray, sample_rate: int, n_fft: int = 1024, hop: int = 256, n_mels: int = 80,
            floor: float = 1e-5) -> np.ndarray:
    """Natural-log mel magnitude spectrogram, float64 [C, n_mels, frames], via ``torch.stft`` (Hann window)."""
    import torch

    x = torch.from_numpy(_channels(samples))
    if x.shape[-1] < n_fft:  # very short clips: one padded frame rather than an error
        x = torch.nn.functional.pad(x, (0, n_fft - x.shape[-1]))
    spec = torch.stft(x, n_fft, hop_length=hop, window=torch.hann_window(n_fft, dtype=x.dtype),
                      center=True, return_complex=True).abs()
    filters = torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels))
    return torch.log(torch.clamp(filters @ spec, min=floor)).numpy()


def mel_distance(reference: np.ndarray, estimate: np.ndarray, sample_rate: int, **options: int) -> float:
    """Mean absolute difference of log-mel spectrograms (lower is better; 0 when identical).

    The L1 log-mel distance neural audio codecs report (e.g. EnCodec, DAC); ``options`` go to
    :func:`log_mel` (``n_fft``, ``hop``, ``n_mels``).
    """
    ref, est = _check_audio(reference, estimate)
    return float(np.mean(np.abs(log_mel(ref, sample_rate, **options) - log_mel(est, sample_rate, **options))))


def _mono(samples: np.ndarray) -> np.ndarray:
    return _channels(samples).mean(axis=0)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """[N] float samples from ``rate`` to ``target`` Hz (soxr "VHQ" when installed, else scipy's polyphase)."""
    if rate == target:
        return samples
    try:
        import soxr

        return soxr.resample(samples, rate, target, quality="VHQ")
    except ImportError:
        from fractions import Fraction

        from scipy.signal import resample_poly

        ratio = Fraction(target, rate)
        return resample_poly(samples, ratio.numerator, ratio.denominator)


def stoi(reference: np.ndarray, estimate: np.ndarray, sample_rate: int, extended: bool = False) -> float:
    """Short-time objective intelligibility (Taal et al. 2011, pystoi) of the mono mix, 0..1.

    pystoi resamples to 10 kHz itself; clips shorter than ~0.4 s give ``nan`` (too few frames).
    """
    from pystoi import stoi as _stoi

    ref, est = _check_audio(reference, estimate)
    return float(_stoi(_mono(ref), _mono(est), sample_rate, extended=extended))


PESQ_RATE = 16000


def pesq(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Wideband PESQ (ITU-T P.862.2, the ``pesq`` package) of the mono mix, MOS-LQO 1.04..4.64.

    Inputs at other rates are resampled to 16 kHz first. Raises ``ValueError`` when PESQ finds no
    speech in the reference (it is a speech metric).
    """
    from pesq import pesq as _pesq
    from pesq import PesqError

    ref, est = _check_audio(reference, estimate)
    ref16 = resample(_mono(ref), sample_rate, PESQ_RATE).astype(np.float32)
    est16 = resample(_mono(est), sample_rate, PESQ_RATE).astype(np.float32)
    if not np.any(ref16):
        raise ValueError("PESQ cannot score a silent reference")
    try:
        return float(_pesq(PESQ_RATE, ref16, est16, "wb"))
    except PesqError as exc:
        raise ValueError(f"PESQ cannot score this clip: {exc}") from exc
