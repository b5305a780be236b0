"""Opus, MP3 and FLAC through the .lc container.

The reference is the same encoder driven through PyAV's ordinary muxing API into an Ogg / MP3 /
FLAC file and decoded by ffmpeg's demuxer (which trims priming and padding from the container's
own headers): the .lc packets must be those bytes, and the quality must match within 0.01 dB.
"""
from __future__ import annotations

import av
import numpy as np
import pytest

from lcodec import registry
from lcodec.codecs.classic import _av
from lcodec.errors import UnsupportedError, UsageError
from lcodec.media import Audio

REFERENCE = {  # codec id -> (config, sample rate, muxer, container sample format)
    "opus": ({"bitrate": 48}, 48000, "ogg", "flt"),
    "mp3": ({"bitrate": 96}, 44100, "mp3", "fltp"),
    "flac": ({"compression_level": 8}, 44100, "flac", "s16"),
}


def _codec(codec_id: str, config: dict | None = None):
    cls = registry.get(codec_id)
    reason = cls.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return cls(cls.make_config(REFERENCE[codec_id][0] if config is None else config))


def snr(reference: np.ndarray, test: np.ndarray) -> float:
    noise = np.sum((reference.astype(np.float64) - test) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / noise))


def _direct_reference(codec, samples: np.ndarray, rate: int, muxer: str, sample_format: str, path):
    """Encode with PyAV's muxing API and decode the file with ffmpeg's demuxer: (packet bytes, [C, N])."""
    layout = _av.channel_layout(samples.shape[0])
    packets = []
    with av.open(str(path), "w", format=muxer) as container:
        stream = container.add_stream(codec.encoder, rate=rate, layout=layout, format=sample_format,
                                      options=codec.encoder_options())
        step = stream.codec_context.frame_size or 4096
        ready = codec.to_encoder_samples(samples, sample_format)
        for start in range(0, samples.shape[1], step):
            frame = _av.audio_frame(ready[:, start:start + step], sample_format, layout, rate)
            frame.pts = start
            for packet in stream.encode(frame):
                packets.append(bytes(packet))
                container.mux(packet)
        for packet in stream.encode(None):
            packets.append(bytes(packet))
            container.mux(packet)
    with av.open(str(path)) as container:
        decoded = np.concatenate([_av.frame_samples(f) for f in container.decode(audio=0)], axis=1)
    return b"".join(packets), _av.fit_length(decoded, samples.shape[1])


@pytest.mark.parametrize("codec_id", sorted(REFERENCE))
def test_round_trip_matches_the_encoder_called_directly(codec_id, roundtrip, make_tones, tmp_path):
    config, rate, muxer, sample_format = REFERENCE[codec_id]
    samples = make_tones(channels=2, rate=rate)
    codec = _codec(codec_id)
    result = roundtrip(codec, Audio(samples, rate, subtype="PCM_16"))
    decoded = result.decoded

    assert (decoded.channels, decoded.num_samples, decoded.sample_rate) == (2, samples.shape[1], rate)
    assert decoded.subtype == "PCM_16"
    lc_bytes = b"".join(p.data for c in result.chunks for p in _av.unpack_packets(c.payload, "test"))
    direct_bytes, direct_samples = _direct_reference(codec, samples, rate, muxer, sample_format, tmp_path / "ref")
    assert lc_bytes == direct_bytes
    lc_snr, direct_snr = snr(samples, decoded.samples), snr(samples, direct_samples)
    if codec_id == "flac":
        assert lc_snr == direct_snr == float("inf")
    else:
        assert abs(lc_snr - direct_snr) < 0.01
        assert lc_snr > 10  # waveform SNR; perceptual codecs score low on it


@pytest.mark.parametrize(("codec_id", "rate", "channels"), [("opus", 16000, 1), ("opus", 44100, 2),
                                                            ("mp3", 22050, 1), ("mp3", 96000, 2),
                                                            ("flac", 8000, 3)])
def test_any_rate_comes_back_at_its_rate_and_length(codec_id, rate, channels, roundtrip, make_tones):
    samples = make_tones(channels=channels, rate=rate, seconds=0.3)
    decoded = roundtrip(_codec(codec_id), Audio(samples, rate, subtype="PCM_16")).decoded
    assert (decoded.channels, decoded.num_samples, decoded.sample_rate) == samples.shape[:1] + samples.shape[1:] + (rate,)
    assert snr(samples, decoded.samples) > (1e9 if codec_id == "flac" else 12)


def test_flac_is_bit_exact_for_24_bit(roundtrip):
    rng = np.random.default_rng(0)
    ints = rng.integers(-2 ** 23, 2 ** 23, (2, 5000))
    samples = (ints / 2 ** 23).astype(np.float32)
    decoded = roundtrip(_codec("flac"), Audio(samples, 96000, subtype="PCM_24")).decoded
    assert decoded.subtype == "PCM_24"
    np.testing.assert_array_equal(decoded.samples, samples)


def test_chunks_hold_about_a_second_and_are_indexed(roundtrip, make_tones):
    samples = make_tones(channels=1, rate=8000, seconds=2.5)
    result = roundtrip(_codec("flac"), Audio(samples, 8000, subtype="PCM_16"))
    starts = [e.pts for e in result.index]
    assert len(starts) == 3 and starts[0] == 0 and all(b - a >= 8000 for a, b in zip(starts, starts[1:]))
    np.testing.assert_array_equal(result.decoded.samples, samples)


def test_mp3_refuses_more_than_two_channels(make_tones):
    with pytest.raises(UnsupportedError, match="channels"):
        _codec("mp3").encode(Audio(make_tones(channels=3, rate=8000, seconds=0.1), 8000))


@pytest.mark.parametrize(("codec_id", "bad"), [("opus", {"bitrate": 2}), ("mp3", {"bitrate": 1000}),
                                               ("flac", {"bits": 20}), ("flac", {"compression_level": 13})])
def test_bad_options_are_usage_errors(codec_id, bad):
    with pytest.raises(UsageError):
        registry.get(codec_id).make_config(bad)


def test_codec_metadata_matches_the_registry():
    for codec_id in REFERENCE:
        cls = registry.get(codec_id)
        assert (cls.id, cls.version, cls.modality) == (codec_id, 1, "audio")
        assert cls.description and cls.extension == ".wav"
