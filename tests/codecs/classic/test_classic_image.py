"""PNG, JPEG, WebP and AVIF through the .lc container: payload bytes equal pillow's, same quality."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from lcodec import registry
from lcodec.codecs.classic import image as classic_image
from lcodec.errors import UnsupportedError, UsageError
from lcodec.media import Image

CASES = [  # codec id, config, pillow save options that config means
    ("png", {"compress_level": 9}, {"compress_level": 9}),
    ("jpeg", {"quality": 60, "subsampling": "4:2:0"}, {"quality": 60, "subsampling": "4:2:0"}),
    ("jpeg", {"quality": 90, "subsampling": "4:4:4"}, {"quality": 90, "subsampling": "4:4:4"}),
    ("webp", {"quality": 70}, {"quality": 70, "lossless": False, "method": 4, "exact": False}),
    ("avif", {"quality": 60, "speed": 8}, {"quality": 60, "speed": 8, "subsampling": "4:2:0", "max_threads": 1}),
]
PILLOW_FORMAT = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}


def _codec(codec_id: str, config: dict):
    cls = registry.get(codec_id)
    reason = cls.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return cls(cls.make_config(config))


@pytest.mark.parametrize(("codec_id", "config", "options"), CASES)
def test_payload_is_pillows_bytes_and_quality_matches(codec_id, config, options, roundtrip, make_image, measure_psnr):
    pixels = make_image()
    result = roundtrip(_codec(codec_id, config), Image(pixels))

    direct = io.BytesIO()
    PILImage.fromarray(pixels).save(direct, format=PILLOW_FORMAT[codec_id], **options)
    assert [c.payload for c in result.chunks] == [direct.getvalue()]
    with PILImage.open(io.BytesIO(direct.getvalue())) as reference:
        direct_psnr = measure_psnr(pixels, np.asarray(reference.convert("RGB")))
    lc_psnr = measure_psnr(pixels, result.decoded.pixels)
    assert result.decoded.pixels.shape == pixels.shape and result.decoded.pixels.dtype == np.uint8
    if codec_id == "png":
        assert lc_psnr == direct_psnr == float("inf")
    else:
        assert abs(lc_psnr - direct_psnr) < 0.01 and lc_psnr > 28


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_is_lossless_for_every_layout(channels, dtype, roundtrip):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, np.iinfo(dtype).max + 1, (31, 45, channels), dtype=np.int64).astype(dtype)
    decoded = roundtrip(_codec("png", {}), Image(pixels)).decoded
    assert decoded.pixels.dtype == dtype
    np.testing.assert_array_equal(decoded.pixels, pixels)


@pytest.mark.parametrize("codec_id", ["webp", "avif"])
@pytest.mark.parametrize("channels", [1, 2, 4])
def test_gray_and_alpha_come_back_with_their_channel_count(codec_id, channels, roundtrip, make_image, measure_psnr):
    pixels = make_image(channels=channels)
    decoded = roundtrip(_codec(codec_id, {"quality": 90}), Image(pixels)).decoded
    assert decoded.pixels.shape == pixels.shape
    assert measure_psnr(pixels, decoded.pixels) > 30


def test_lossless_webp_is_exact_with_alpha(roundtrip, make_image):
    pixels = make_image(channels=4)
    pixels[::3, ::2, 3] = 0  # colour under fully transparent pixels must survive too
    decoded = roundtrip(_codec("webp", {"lossless": True}), Image(pixels)).decoded
    np.testing.assert_array_equal(decoded.pixels, pixels)


@pytest.mark.parametrize("codec_id", ["jpeg", "webp", "avif"])
def test_16_bit_is_refused_by_8_bit_formats(codec_id):
    codec = _codec(codec_id, {})
    with pytest.raises(UnsupportedError, match="8-bit"):
        codec.encode(Image(np.zeros((8, 8, 3), np.uint16)))


def test_jpeg_refuses_alpha():
    with pytest.raises(UnsupportedError, match="alpha"):
        _codec("jpeg", {}).encode(Image(np.zeros((8, 8, 4), np.uint8)))


@pytest.mark.parametrize(("codec_id", "bad"), [("jpeg", {"quality": 0}), ("png", {"compress_level": 10}),
                                               ("avif", {"subsampling": "4:1:1"}), ("webp", {"level": 3})])
def test_bad_options_are_usage_errors(codec_id, bad):
    with pytest.raises(UsageError):
        registry.get(codec_id).make_config(bad)


def test_codec_metadata_matches_the_registry():
    for codec_id in ("png", "jpeg", "webp", "avif"):
        cls = registry.get(codec_id)
        assert (cls.id, cls.version, cls.modality) == (codec_id, 1, "image")
        assert cls.description and cls.extension == ".png" and cls.chunk_types == frozenset({"DATA"})


def test_restore_channels_maps_rgb_back_to_gray():
    rgb = np.repeat(np.arange(12, dtype=np.uint8).reshape(3, 4, 1), 3, axis=2)
    np.testing.assert_array_equal(classic_image.restore_channels(rgb, 1), rgb[:, :, :1])
