"""Damaged or foreign chunks and headers give lcodec errors, never garbage or raw library exceptions."""
from __future__ import annotations

import pytest

from lcodec import registry
from lcodec.errors import CorruptFileError, UnsupportedError, UsageError
from lcodec.formats import Chunk
from lcodec.media import Audio, Image, Video


def _encoded(codec_id: str, media, config: dict | None = None):
    cls = registry.get(codec_id)
    if cls.unavailable_reason():
        pytest.skip(cls.unavailable_reason())
    codec = cls(cls.make_config(config or {}))
    encoded = codec.encode(media)
    return codec, encoded.fields, list(encoded.chunks)


def _decode_all(codec, fields, chunks):
    decoded = codec.decode(fields, iter(chunks))
    if isinstance(decoded, Video):
        decoded.to_array()
    return decoded


@pytest.fixture
def samples(make_image, make_clip, make_tones):
    return {"png": Image(make_image()), "jpeg": Image(make_image()),
            "x264": Video(make_clip(frames=4)), "vp9": Video(make_clip(frames=4)),
            "flac": Audio(make_tones(rate=8000, seconds=0.2), 8000, subtype="PCM_16"),
            "opus": Audio(make_tones(rate=8000, seconds=0.2), 8000, subtype="PCM_16")}


FAST = {"x264": {"preset": "ultrafast"}, "vp9": {"deadline": "realtime", "speed": 8}}


@pytest.mark.parametrize("codec_id", ["png", "jpeg", "x264", "vp9", "flac", "opus"])
def test_garbled_payload_is_corrupt(codec_id, samples):
    codec, fields, chunks = _encoded(codec_id, samples[codec_id], FAST.get(codec_id))
    first = chunks[0]
    garbled = bytes(b ^ 0x5A for b in first.payload)
    with pytest.raises(CorruptFileError):
        _decode_all(codec, fields, [Chunk(first.type, garbled, keyframe=first.keyframe), *chunks[1:]])


@pytest.mark.parametrize("codec_id", ["x264", "flac"])
def test_packet_table_that_does_not_add_up_is_corrupt(codec_id, samples):
    codec, fields, chunks = _encoded(codec_id, samples[codec_id], FAST.get(codec_id))
    with pytest.raises(CorruptFileError, match="add up|longer"):
        _decode_all(codec, fields, [Chunk("DATA", chunks[0].payload[:-3])])


def test_missing_gops_are_reported(samples):
    codec, fields, chunks = _encoded("x264", samples["x264"], {"preset": "ultrafast", "gop": 2})
    with pytest.raises(CorruptFileError, match="frames"):
        _decode_all(codec, fields, chunks[:1])


@pytest.mark.parametrize("codec_id", ["png", "x264", "flac"])
def test_unknown_critical_chunk_is_refused_and_ancillary_skipped(codec_id, samples):
    codec, fields, chunks = _encoded(codec_id, samples[codec_id], FAST.get(codec_id))
    _decode_all(codec, fields, [*chunks, Chunk("XTRA", b"note", critical=False)])
    with pytest.raises(UnsupportedError, match="XTRA"):
        _decode_all(codec, fields, [*chunks, Chunk("XTRA", b"must understand")])


@pytest.mark.parametrize("codec_id", ["png", "x264", "flac"])
def test_missing_header_fields_are_corrupt(codec_id, samples):
    codec, fields, chunks = _encoded(codec_id, samples[codec_id], FAST.get(codec_id))
    for name in ("width", "frames", "samples"):
        if name in fields:
            with pytest.raises(CorruptFileError, match=name):
                _decode_all(codec, {k: v for k, v in fields.items() if k != name}, chunks)


@pytest.mark.parametrize(("codec_id", "wrong"), [("png", "x264"), ("x264", "flac"), ("flac", "png")])
def test_wrong_modality_is_a_usage_error(codec_id, wrong, samples):
    cls = registry.get(codec_id)
    with pytest.raises(UsageError, match=cls.modality):
        cls().encode(samples[wrong])


def test_opus_refuses_more_than_two_channels(make_tones):
    with pytest.raises(UnsupportedError, match="channels"):
        _encoded("opus", Audio(make_tones(channels=3, rate=8000, seconds=0.1), 8000))


def test_fields_and_config_are_json(samples):
    import json

    for codec_id, media in samples.items():
        codec, fields, _ = _encoded(codec_id, media, FAST.get(codec_id))
        json.dumps(fields)
        json.dumps(codec.config_dict())


def test_packet_table_round_trip_is_compact_and_checked():
    import pytest as _pytest

    from lcodec.codecs.classic._av import Packet, pack_packets, unpack_packets
    from lcodec.errors import CorruptFileError

    packets = [Packet(b"x" * 40, pts, pts, 960, pts == -312) for pts in range(-312, 960 * 49, 960)]
    payload = pack_packets(packets)
    assert unpack_packets(payload, "test") == packets
    assert len(payload) - 40 * len(packets) <= 6 * len(packets)  # a few bytes per packet, not 28
    for bad in (payload[:-1], payload + b"\0", b"\xff" * 12):
        with _pytest.raises(CorruptFileError):
            unpack_packets(bad, "test")
