"""Lossless coding of small grayscale images with a probabilistic circuit (HCLT), ``--codec pc``.

Liu, Mandt and Van den Broeck, "Lossless Compression with Probabilistic Circuits" (ICLR 2022): a
tractable model gives every conditional p(x_t | x_<t) exactly, so the rate is the model's
log-likelihood with no bits-back overhead. The conditionals come from the fixed-point kernel
(csrc/hclt.hpp), so files decode bit-exactly anywhere; the intervals go through
:mod:`lcodec.entropy`'s interval front end.

Media: a batch of N images of the model's size h x w is one gray :class:`Image` whose pixels are
the images stacked vertically, uint8 [N*h, w, 1] (a strip: any PNG viewer shows it, and decode
returns the same strip). :func:`stack` / :func:`unstack` convert from and to [N, h, w].

Bitstream: header fields ``images``, ``height``, ``width``, ``model`` and ``weights_sha256``;
one ``DATA`` chunk per group of up to :data:`IMAGES_PER_CHUNK` images, each an intervals stream
whose symbol ``t * n + i`` is pixel ``order[t]`` of image ``i`` of the group. Interleaving the
images lets the decoder take ``lanes`` symbols at a time (they belong to different images, so
none depends on another) through ``peek_many`` / ``advance_many``.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from lcodec import entropy
from lcodec.codecs.base import Codec, Encoded, Progress
from lcodec.codecs.pc import weights
from lcodec.errors import CorruptFileError, UnsupportedError, UsageError
from lcodec.formats import Chunk
from lcodec.media import Image, Media

CHUNK_TYPE = "DATA"
IMAGES_PER_CHUNK = 4096  # bounds memory (decoder state is 8 K bytes per pixel and image)


@dataclass
class Config:
    """``model``: a shipped model ("digits": 8x8, values 0..16; "lfw": 25x25, 8-bit) or the path
    of a .safetensors file written by ``lcodec train pc`` (decoding needs the same file)."""

    model: str = "digits"


def stack(images: np.ndarray) -> Image:
    """uint8 [N, h, w] -> the strip Image [N*h, w, 1] this codec codes."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise UsageError(f"expected a batch of images [N, h, w], got shape {images.shape}")
    return Image(np.ascontiguousarray(images.reshape(-1, images.shape[2])))


def unstack(image: Image, height: int) -> np.ndarray:
    """The strip Image [N*h, w, 1] -> [N, h, w]."""
    return image.pixels[:, :, 0].reshape(-1, height, image.width)


class PC(Codec):
    id = "pc"
    version = 1
    modality = "image"
    Config = Config
    chunk_types = frozenset({CHUNK_TYPE})
    description = "lossless probabilistic-circuit (HCLT) coder (Liu et al., ICLR 2022)"
    entropy_format = entropy.FORMAT

    @classmethod
    def validate_config(cls, config: Config) -> None:
        weights.resolve(config.model)

    def weights_info(self) -> dict[str, str]:
        model = weights.load(self.config.model)
        return {"id": model.id, "sha256": model.sha256}

    def _batch(self, media: Media, model: weights.PCModel) -> np.ndarray:
        """The images of ``media`` as uint8 [N, D] in coding order, or a clear error."""
        h, w = model.height, model.width
        expected = f"8-bit gray images of {h}x{w} stacked into [N*{h}, {w}, 1]"
        if not isinstance(media, Image):
            raise UsageError(f"pc model {model.id!r} codes {expected}; got {media.modality}")
        px = media.pixels
        if px.dtype != np.uint8 or px.shape[2] != 1:
            raise UnsupportedError(f"pc model {model.id!r} codes {expected}; got {px.dtype} with {px.shape[2]} channel(s)")
        if px.shape[1] != w or px.shape[0] % h or px.shape[0] == 0:
            raise UnsupportedError(f"pc model {model.id!r} codes {expected}; got shape {list(px.shape)}")
        top = int(px.max())
        if top >= model.values:
            raise UnsupportedError(f"pc model {model.id!r} codes values 0..{model.values - 1}; the input holds {top}")
        return np.ascontiguousarray(px.reshape(-1, h * w)[:, model.order])

    def encode(self, media: Media, progress: Progress | None = None) -> Encoded:
        model = weights.load(self.config.model)
        batch = self._batch(media, model)
        n = len(batch)
        fields = {"images": n, "height": model.height, "width": model.width, "model": model.id,
                  "weights_sha256": model.sha256}

        def chunks() -> Iterator[Chunk]:
            for first in range(0, n, IMAGES_PER_CHUNK):
                group = batch[first:first + IMAGES_PER_CHUNK]
                starts = np.empty(group.size, np.uint32)
                freqs = np.empty(group.size, np.uint32)
                model.kernel.encode(group, starts, freqs)
                enc = entropy.IntervalEncoder(weights.PRECISION)
                enc.push(starts, freqs)
                yield Chunk(CHUNK_TYPE, enc.finish())
                if progress:
                    progress(first + len(group), n, "pc encode")

        return Encoded(fields, chunks())

    def decode(self, fields: dict[str, Any], chunks: Iterator[Chunk], progress: Progress | None = None) -> Image:
        model = weights.load(self.config.model)
        try:
            n, h, w = int(fields["images"]), int(fields["height"]), int(fields["width"])
            sha = str(fields["weights_sha256"])
        except (KeyError, TypeError, ValueError):
            raise CorruptFileError("corrupt pc header: missing images/height/width/weights_sha256") from None
        if sha != model.sha256:
            raise UnsupportedError(f"file was coded with pc model {fields.get('model')!r} sha256 {sha[:16]}...; "
                                   f"the model here ({model.id}) has sha256 {model.sha256[:16]}...")
        if (h, w) != (model.height, model.width) or n < 1:
            raise CorruptFileError(f"corrupt pc header: {n} images of {h}x{w} for a {model.height}x{model.width} model")
        out = np.empty((n, model.pixels), np.uint8)
        done = 0
        for chunk in chunks:
            count = min(IMAGES_PER_CHUNK, n - done)
            if count <= 0:
                raise CorruptFileError(f"pc stream has more chunks than its {n} images need")
            out[done:done + count] = _decode_group(chunk.payload, model, count)
            done += count
            if progress:
                progress(done, n, "pc decode")
        if done != n:
            raise CorruptFileError(f"pc stream holds {done} of its {n} images (truncated)")
        image = np.empty_like(out)
        image[:, model.order] = out
        return Image(image.reshape(n * h, w, 1))


def _decode_group(payload: bytes, model: weights.PCModel, count: int) -> np.ndarray:
    """uint8 [count, D] (coding order) from one chunk's intervals stream."""
    from lcodec.codecs.pc import _pc

    try:
        info = entropy.stream_info(payload)
        dec = entropy.IntervalDecoder(payload)
        total = len(dec)
        if total != count * model.pixels or info["precision"] != weights.PRECISION:
            raise CorruptFileError(f"pc chunk holds {total} symbols at precision {info['precision']}, "
                                   f"expected {count * model.pixels} at {weights.PRECISION}")
        kdec = _pc.Decoder(model.kernel, count)
        chunk_size, lanes = int(info["chunk_size"]), dec.lanes
        starts = np.empty(lanes, np.uint32)
        freqs = np.empty(lanes, np.uint32)
        pos = 0
        while pos < total:
            # Next symbols: in one stream chunk (so in distinct lanes) and of distinct images.
            m = min(lanes, count, (pos // chunk_size + 1) * chunk_size - pos, total - pos)
            kdec.step(dec.peek_many(m), starts[:m], freqs[:m])
            dec.advance_many(starts[:m], freqs[:m])
            pos += m
        pixels = np.empty((count, model.pixels), np.uint16)
        kdec.pixels(pixels)
    except ValueError as exc:  # StreamError (a damaged stream) is a ValueError
        if isinstance(exc, CorruptFileError):
            raise
        raise CorruptFileError(f"corrupt pc stream: {exc}") from exc
    return pixels.astype(np.uint8)
