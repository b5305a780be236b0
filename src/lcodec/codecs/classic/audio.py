"""Classic audio codecs through ffmpeg (PyAV): Opus, MP3 and FLAC, the RD baselines.

Each stores the raw packets its encoder produces, grouped about one second per chunk (chunk
``pts`` = the first sample of the chunk at the codec's rate, so the seek index works). Lossy
encoders prepend priming samples (encoder delay, plus the decoder delay for MP3) and pad the end:
the first packet's timestamp says how many (it is negative), the header stores that count and the
exact sample count, and decoding drops the priming and trims the padding. Decoders are never left
to skip samples themselves (Opus's pre-skip is zeroed in the decoder's copy of the header), so the
result does not depend on ffmpeg's version. Opus always runs at 48 kHz and MP3 at a rate LAME
supports: other rates are resampled on the way in and back to the source rate on the way out.
"""
from __future__ import annotations

import itertools
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from lcodec.codecs.base import Codec, Encoded, Progress
from lcodec.codecs.classic import _av
from lcodec.errors import CodecUnavailableError, CorruptFileError, UnsupportedError, UsageError
from lcodec.formats import Chunk
from lcodec.media import Audio, Media

CHUNK_TYPE = "DATA"
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
# Source subtypes whose samples need more than 16 bits to be kept exactly by FLAC.
WIDE_SUBTYPES = ("PCM_24", "PCM_32", "FLOAT", "DOUBLE")


@dataclass
class OpusConfig:
    """``bitrate``: kbit/s for all channels; ``application``: audio | voip | lowdelay."""

    bitrate: int = 64
    application: str = "audio"


@dataclass
class MP3Config:
    """``bitrate``: kbit/s (constant bitrate, 8..320)."""

    bitrate: int = 128


@dataclass
class FLACConfig:
    """``compression_level``: 0 (fast) .. 12 (small); ``bits``: 16 or 24, 0 picks from the source
    (24 for PCM_24/PCM_32/float sources, 16 otherwise). Lossless for sources of that bit depth."""

    compression_level: int = 5
    bits: int = 0


class _FFmpegAudioCodec(Codec):
    """Shared encode/decode; subclasses choose encoder, rate, sample format and options."""

    modality = "audio"
    extension = ".wav"
    chunk_types = frozenset({CHUNK_TYPE})
    encoder: ClassVar[str]
    decoders: ClassVar[tuple[str, ...]]
    max_channels: ClassVar[int] = 8

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return _av.missing_encoder(cls.encoder) or _av.missing_decoder(cls.decoders)

    def codec_rate(self, source_rate: int) -> int:
        """The sample rate the encoder runs at for a source at ``source_rate``."""
        return source_rate

    @abstractmethod
    def sample_format(self, audio: Audio) -> str:
        """The ffmpeg sample format the encoder is fed for ``audio``."""

    @abstractmethod
    def encoder_options(self) -> dict[str, str]:
        """ffmpeg AVOptions for the encoder, from ``self.config``."""

    def to_encoder_samples(self, samples: np.ndarray, sample_format: str) -> np.ndarray:
        """float32 [C, n] -> what :func:`_av.audio_frame` takes for ``sample_format``."""
        return samples

    def output_subtype(self, fields: dict[str, Any]) -> str | None:
        return fields.get("subtype")

    def decoder_extradata(self, extradata: bytes | None) -> bytes | None:
        return extradata

    def encode(self, media: Media, progress: Progress | None = None) -> Encoded:
        if not isinstance(media, Audio):
            raise UsageError(f"codec {self.id!r} encodes audio, got {media.modality}")
        reason = self.unavailable_reason()
        if reason:
            raise CodecUnavailableError(f"codec {self.id!r} is unavailable: {reason}")
        if not 1 <= media.channels <= self.max_channels:
            raise UnsupportedError(f"codec {self.id!r} takes 1 to {self.max_channels} channels, got {media.channels}")
        if media.num_samples == 0:
            raise UsageError("audio has no samples")
        rate = self.codec_rate(media.sample_rate)
        coded = _av.resample(media.samples, media.sample_rate, rate)
        context = self._open_encoder(rate, media.channels, self.sample_format(media))
        packets = self._packets(context, coded, progress)
        first = next(packets, None)
        if first is None:
            raise UnsupportedError(f"the {self.encoder} encoder produced no data")
        priming = max(0, -first.pts)
        fields = {
            "sample_rate": media.sample_rate, "channels": media.channels, "samples": media.num_samples,
            "codec_rate": rate, "coded_samples": coded.shape[1], "priming": priming,
            "subtype": media.subtype, "sample_format": context.format.name, "encoder": self.encoder,
            "extradata": _av.to_base64(context.extradata),
        }
        return Encoded(fields, self._segment_chunks(itertools.chain([first], packets), rate, priming))

    def _open_encoder(self, rate: int, channels: int, sample_format: str) -> Any:
        import av

        context = av.CodecContext.create(self.encoder, "w")
        context.sample_rate = rate
        context.format = sample_format
        context.layout = _av.channel_layout(channels)
        context.time_base = Fraction(1, rate)
        context.options = self.encoder_options()
        with _av.encoding(self.encoder):
            context.open()
        return context

    def _packets(self, context: Any, samples: np.ndarray, progress: Progress | None) -> Iterator[_av.Packet]:
        total = samples.shape[1]
        step = context.frame_size or 4096
        ready = self.to_encoder_samples(samples, context.format.name)
        for start in range(0, total, step):
            frame = _av.audio_frame(ready[:, start:start + step], context.format.name, context.layout,
                                    context.sample_rate)
            frame.pts = start
            with _av.encoding(self.encoder):
                packets = context.encode(frame)
            # Empty packets only carry side data (e.g. FLAC's final STREAMINFO); sending one to a
            # decoder would end its stream.
            yield from (_av.packet_from_av(p) for p in packets if p.size)
            if progress:
                progress(min(start + step, total), total, "samples")
        with _av.encoding(self.encoder):
            packets = context.encode(None)
        yield from (_av.packet_from_av(p) for p in packets if p.size)

    @staticmethod
    def _segment_chunks(packets: Iterator[_av.Packet], rate: int, priming: int) -> Iterator[Chunk]:
        """About one second of packets per chunk; ``pts`` is the chunk's first sample (codec rate)."""
        segment: list[_av.Packet] = []
        span = group = 0
        for packet in packets:
            segment.append(packet)
            span += max(packet.duration, 1)
            if span >= rate:
                yield Chunk(CHUNK_TYPE, _av.pack_packets(segment), keyframe=True,
                            pts=max(0, segment[0].pts + priming), group=group)
                segment, span, group = [], 0, group + 1
        if segment:
            yield Chunk(CHUNK_TYPE, _av.pack_packets(segment), keyframe=True,
                        pts=max(0, segment[0].pts + priming), group=group)

    def decode(self, fields: dict[str, Any], chunks: Iterator[Chunk], progress: Progress | None = None) -> Audio:
        import av

        rate = _av.header_field(fields, "sample_rate", int)
        channels = _av.header_field(fields, "channels", int)
        total = _av.header_field(fields, "samples", int)
        codec_rate = _av.header_field(fields, "codec_rate", int)
        coded_total = _av.header_field(fields, "coded_samples", int)
        priming = _av.header_field(fields, "priming", int)
        if not rate or not codec_rate or not 1 <= channels <= 255:
            raise CorruptFileError(f"corrupt header: impossible audio ({channels} channels at {rate} Hz)")
        extradata = self.decoder_extradata(_av.from_base64(fields.get("extradata"), "extradata"))
        context = av.CodecContext.create(_av.pick_decoder(self.decoders), "r")
        context.sample_rate = codec_rate
        context.layout = _av.channel_layout(channels)
        if extradata:
            context.extradata = extradata
        pieces: list[np.ndarray] = []
        decoded = 0
        with _av.decoding(f"{self.id} stream"):
            for chunk in _av.codec_chunks(chunks, self.id, self.chunk_types):
                for packet in _av.unpack_packets(chunk.payload, f"chunk #{chunk.seq}"):
                    for frame in context.decode(_av.packet_to_av(packet)):
                        pieces.append(_av.frame_samples(frame))
                        decoded += frame.samples
                if progress:
                    progress(min(max(decoded - priming, 0), coded_total), coded_total, "samples")
            pieces += [_av.frame_samples(frame) for frame in context.decode(None)]
        stream = np.concatenate(pieces, axis=1) if pieces else np.zeros((channels, 0), np.float32)
        if stream.shape[0] != channels:
            raise CorruptFileError(f"{self.id} stream decodes to {stream.shape[0]} channels, the header says {channels}")
        coded = _av.fit_length(stream[:, priming:], coded_total)
        samples = _av.fit_length(_av.resample(coded, codec_rate, rate), total)
        return Audio(samples, rate, subtype=self.output_subtype(fields))


class Opus(_FFmpegAudioCodec):
    id = "opus"
    version = 1
    description = "Opus (ffmpeg libopus)"
    Config = OpusConfig
    encoder = "libopus"
    decoders = ("opus", "libopus")
    max_channels = 2  # multichannel Opus needs mapping families ffmpeg's libopus wrapper handles unevenly

    @classmethod
    def validate_config(cls, config: OpusConfig) -> None:
        if not 6 <= config.bitrate <= 510 * 8:
            raise UsageError(f"codec 'opus': bitrate must be 6..4080 kbit/s, got {config.bitrate}")
        if config.application not in ("audio", "voip", "lowdelay"):
            raise UsageError("codec 'opus': application must be audio, voip or lowdelay")

    def codec_rate(self, source_rate: int) -> int:
        return 48000

    def sample_format(self, audio: Audio) -> str:
        return "flt"

    def encoder_options(self) -> dict[str, str]:
        return {"b": str(self.config.bitrate * 1000), "application": self.config.application}

    def decoder_extradata(self, extradata: bytes | None) -> bytes | None:
        # OpusHead bytes 10-11 hold pre-skip; zero it so the decoder keeps the priming samples and
        # the header's "priming" field (taken from the encoder's first timestamp) says what to drop.
        if extradata and extradata.startswith(b"OpusHead") and len(extradata) >= 12:
            return extradata[:10] + b"\0\0" + extradata[12:]
        return extradata


class MP3(_FFmpegAudioCodec):
    id = "mp3"
    version = 1
    description = "MP3 (ffmpeg libmp3lame)"
    Config = MP3Config
    encoder = "libmp3lame"
    decoders = ("mp3float", "mp3")
    max_channels = 2

    @classmethod
    def validate_config(cls, config: MP3Config) -> None:
        if not 8 <= config.bitrate <= 320:
            raise UsageError(f"codec 'mp3': bitrate must be 8..320 kbit/s, got {config.bitrate}")

    def codec_rate(self, source_rate: int) -> int:
        # LAME's rates only: the source's if listed, else the next higher (48 kHz above that).
        return next((r for r in MP3_RATES if r >= source_rate), 48000)

    def sample_format(self, audio: Audio) -> str:
        return "fltp"

    def encoder_options(self) -> dict[str, str]:
        return {"b": str(self.config.bitrate * 1000)}


class FLAC(_FFmpegAudioCodec):
    id = "flac"
    version = 1
    description = "FLAC (lossless, ffmpeg)"
    Config = FLACConfig
    encoder = "flac"
    decoders = ("flac",)

    @classmethod
    def validate_config(cls, config: FLACConfig) -> None:
        if not 0 <= config.compression_level <= 12:
            raise UsageError(f"codec 'flac': compression_level must be 0..12, got {config.compression_level}")
        if config.bits not in (0, 16, 24):
            raise UsageError(f"codec 'flac': bits must be 0 (from the source), 16 or 24, got {config.bits}")

    def sample_format(self, audio: Audio) -> str:
        bits = self.config.bits or (24 if audio.subtype in WIDE_SUBTYPES else 16)
        return "s16" if bits == 16 else "s32"  # ffmpeg's FLAC encoder takes 24-bit samples in s32

    def encoder_options(self) -> dict[str, str]:
        return {"compression_level": str(self.config.compression_level)}

    def to_encoder_samples(self, samples: np.ndarray, sample_format: str) -> np.ndarray:
        # Float samples read from PCM_16/PCM_24 are exact multiples of 2^-15 / 2^-23, so this
        # rounding recovers the source integers and FLAC keeps them bit for bit.
        bits = 16 if sample_format == "s16" else 24
        scale = float(1 << (bits - 1))
        ints = np.clip(np.round(samples.astype(np.float64) * scale), -scale, scale - 1).astype(np.int32)
        return ints.astype(np.int16) if bits == 16 else ints << 8  # s32 holds 24-bit samples MSB-aligned

    def encode(self, media: Media, progress: Progress | None = None) -> Encoded:
        encoded = super().encode(media, progress)
        encoded.fields["bits"] = 16 if encoded.fields["sample_format"] == "s16" else 24
        return encoded

    def output_subtype(self, fields: dict[str, Any]) -> str | None:
        return f"PCM_{_av.header_field(fields, 'bits', int)}"
