"""x264, x265, SVT-AV1 and VP9 through the .lc container.

The reference is the same encoder driven through PyAV's ordinary muxing API into a raw elementary
stream file, decoded by ffmpeg's demuxer: the .lc packets must be those bytes and the quality must
match within 0.01 dB.
"""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from lcodec import registry
from lcodec.codecs.classic import _av
from lcodec.codecs.classic.video import DecodedFrames
from lcodec.errors import UsageError
from lcodec.media import Video

FPS = Fraction(30000, 1001)
GOP = 4
FAST = {  # codec id -> (fast config, raw muxer for the reference file)
    "x264": ({"crf": 26, "preset": "ultrafast", "gop": GOP}, "h264"),
    "x265": ({"crf": 30, "preset": "ultrafast", "gop": GOP}, "hevc"),
    "svtav1": ({"crf": 40, "preset": 12, "gop": GOP}, "ivf"),
    "vp9": ({"crf": 40, "deadline": "realtime", "speed": 8, "gop": GOP}, "ivf"),
}


def _codec(codec_id: str, **overrides):
    cls = registry.get(codec_id)
    reason = cls.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return cls(cls.make_config({**FAST[codec_id][0], **overrides}))


def _direct_reference(codec, clip: np.ndarray, muxer: str, path) -> tuple[bytes, np.ndarray]:
    """Encode ``clip`` with PyAV's muxing API (same encoder settings); return packet bytes and decoded frames."""
    packets = []
    with av.open(str(path), "w", format=muxer) as container:
        stream = container.add_stream(codec.encoder, rate=FPS, options=codec.encoder_options())
        stream.width, stream.height, stream.pix_fmt = clip.shape[2], clip.shape[1], "yuv420p"
        stream.codec_context.gop_size = GOP
        for index, rgb in enumerate(clip):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = index, 1 / FPS
            for packet in stream.encode(frame):
                packets.append(bytes(packet))
                container.mux(packet)
        for packet in stream.encode(None):
            packets.append(bytes(packet))
            container.mux(packet)
    with av.open(str(path)) as container:
        decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    return b"".join(packets), decoded


@pytest.mark.parametrize("codec_id", sorted(FAST))
def test_round_trip_matches_the_encoder_called_directly(codec_id, roundtrip, make_clip, measure_psnr, tmp_path):
    clip = make_clip()
    codec = _codec(codec_id)
    result = roundtrip(codec, Video(clip, fps=FPS, pix_fmt="yuv420p"))
    decoded = result.decoded

    assert decoded.to_array().shape == clip.shape
    assert decoded.fps == FPS and decoded.pix_fmt == "yuv420p"
    lc_bytes = b"".join(p.data for c in result.chunks for p in _av.unpack_packets(c.payload, "test"))
    direct_bytes, direct_frames = _direct_reference(codec, clip, FAST[codec_id][1], tmp_path / "ref")
    assert lc_bytes == direct_bytes
    lc_psnr, direct_psnr = measure_psnr(clip, decoded.to_array()), measure_psnr(clip, direct_frames)
    assert abs(lc_psnr - direct_psnr) < 0.01
    assert lc_psnr > 28


@pytest.mark.parametrize("codec_id", sorted(FAST))
def test_one_chunk_per_gop_and_each_decodes_alone(codec_id, roundtrip, make_clip):
    clip = make_clip(frames=2 * GOP)
    codec = _codec(codec_id)
    result = roundtrip(codec, Video(clip, fps=FPS))
    assert [(e.pts, e.group) for e in result.index] == [(0, 0), (GOP, 1)]
    assert all(c.keyframe for c in result.chunks)
    # Start at the second GOP, as a reader seeking through the index would.
    second = codec.decode({**result.encoded.fields, "frames": GOP}, iter(result.chunks[1:]))
    np.testing.assert_array_equal(second.to_array(), result.decoded.to_array()[GOP:])


@pytest.mark.parametrize(("codec_id", "height", "width"), [("x264", 35, 51), ("x265", 9, 30), ("svtav1", 16, 72)])
def test_odd_and_tiny_sizes_are_padded_and_cropped_back(codec_id, height, width, roundtrip, make_clip, measure_psnr):
    clip = make_clip(frames=3, height=height, width=width)
    decoded = roundtrip(_codec(codec_id), Video(clip)).decoded.to_array()
    assert decoded.shape == clip.shape
    assert measure_psnr(clip, decoded) > 25


def test_encode_streams_a_lazy_source_and_decode_is_lazy(make_clip):
    clip = make_clip(frames=24)
    pulled_frames = []

    class Source:
        num_frames, height, width = clip.shape[:3]

        def __iter__(self):
            for index, frame in enumerate(clip):
                pulled_frames.append(index)
                yield frame

    codec = _codec("x264", gop=2)
    encoded = codec.encode(Video(Source()))
    assert pulled_frames == []  # nothing is read until the chunks are consumed
    chunks = iter(encoded.chunks)
    next(chunks)
    assert len(pulled_frames) < 24  # the first GOP leaves before the clip is read through
    chunks = list(codec.encode(Video(clip)).chunks)
    assert len(chunks) == 12

    pulled_chunks = []

    def chunk_stream():
        for chunk in chunks:
            pulled_chunks.append(chunk)
            yield chunk

    decoded = codec.decode(encoded.fields, chunk_stream())
    assert isinstance(decoded.frames, DecodedFrames) and decoded.num_frames == 24 and pulled_chunks == []
    frames = iter(decoded.frames)
    next(frames)
    assert len(pulled_chunks) < len(chunks)  # chunks are pulled as frames are needed
    assert len(list(frames)) == 23 and len(pulled_chunks) == len(chunks)
    with pytest.raises(UsageError, match="once"):
        list(decoded.frames)


def test_frame_count_mismatch_is_a_usage_error(make_clip):
    clip = make_clip(frames=3)

    class Liar:
        num_frames, height, width = 5, clip.shape[1], clip.shape[2]

        def __iter__(self):
            return iter(clip)

    encoded = _codec("x264").encode(Video(Liar()))
    with pytest.raises(UsageError, match="3 frames"):
        list(encoded.chunks)


@pytest.mark.parametrize(("codec_id", "bad"), [("x264", {"crf": 60}), ("x265", {"preset": "warp"}),
                                               ("svtav1", {"preset": 20}), ("vp9", {"gop": 0})])
def test_bad_options_are_usage_errors(codec_id, bad):
    with pytest.raises(UsageError):
        registry.get(codec_id).make_config(bad)


def test_codec_metadata_matches_the_registry():
    for codec_id in FAST:
        cls = registry.get(codec_id)
        assert (cls.id, cls.version, cls.modality) == (codec_id, 1, "video")
        assert cls.description and cls.extension == ".mkv"


@pytest.mark.parametrize("codec_id", sorted(FAST))
def test_decode_range_reads_only_the_gops_it_needs(codec_id, roundtrip, make_clip):
    from lcodec.formats import Reader

    codec = _codec(codec_id)
    result = roundtrip(codec, Video(make_clip(frames=3 * GOP), fps=FPS))
    full = result.decoded.to_array()

    class CountingReader(Reader):
        reads: list[int] = []

        def chunk_at(self, offset):
            self.reads.append(offset)
            return super().chunk_at(offset)

    for start, stop, gops_read in [(GOP + 1, GOP + 3, 1), (GOP - 1, GOP + 1, 2), (0, 3 * GOP, 3)]:
        with CountingReader(result.blob) as reader:
            reader.reads = []
            part = codec.decode_range(result.encoded.fields, reader, start, stop)
            np.testing.assert_array_equal(part.to_array(), full[start:stop])
            assert len(reader.reads) == gops_read + 1  # the GOPs plus the index chunk itself
