"""The codec contract (DESIGN.md §2).

A codec turns one media object into header fields plus a stream of chunks, and back. It never
touches files or argv: :mod:`lcodec.api` does the I/O, :mod:`lcodec.formats` the container. Its
``Config`` dataclass is stored in the file, so decoding needs no flags.
"""
from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from lcodec.errors import UsageError
from lcodec.formats import Chunk, IndexEntry
from lcodec.media import Media

# Called as work advances: (units done so far, total units or None, short label).
Progress = Callable[[int, "int | None", str], None]


@dataclass
class Encoded:
    """What :meth:`Codec.encode` returns: JSON-able header ``fields`` and the chunks, produced lazily.

    ``fields`` is written into the container header before the first chunk, so it must be complete
    when ``encode`` returns; ``stats`` (e.g. PSNR measured by the encoder) may be filled while the
    chunks are consumed and is stored in an ancillary chunk at the end.
    """

    fields: dict[str, Any]
    chunks: Iterable[Chunk]
    stats: dict[str, Any] = field(default_factory=dict)


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _coerce(codec_id: str, key: str, value: Any, default: Any) -> Any:
    """``value`` as the type of the option's default (CLI and JSON give strings and ints)."""
    if value is None or default is None or isinstance(value, type(default)):
        return value
    kind = type(default)
    if kind is bool and isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    if kind is bool and value in (0, 1):
        return bool(value)
    if kind is not bool and not isinstance(value, bool):
        try:
            return kind(value)
        except (TypeError, ValueError):
            pass
    raise UsageError(f"codec {codec_id!r}: option {key}={value!r} is not a {kind.__name__}")


class Codec(ABC):
    """Base class of every codec plugin.

    Class attributes: ``id`` (stable string), ``version`` (bumped on every bitstream change),
    ``modality`` ("image" | "video" | "audio"), ``Config`` (a dataclass), ``chunk_types`` (the
    4-character chunk types this codec reads; other critical chunks make decode fail), ``description``
    (one line for ``lcodec list``) and ``entropy_format`` (the :mod:`lcodec.entropy` format its chunks use, ``None`` for foreign codecs).
    Codecs with trained weights override :meth:`weights_info`.
    """

    id: ClassVar[str]
    version: ClassVar[int]
    modality: ClassVar[str]
    Config: ClassVar[type]
    chunk_types: ClassVar[frozenset[str]] = frozenset({"DATA"})
    description: ClassVar[str] = ""
    entropy_format: ClassVar[str | None] = None

    def __init__(self, config: Any = None, device: str = "cpu") -> None:
        self.config = config if config is not None else self.Config()
        self.device = device  # where learned codecs run ("cpu", "cuda", "cuda:1"); others ignore it

    @classmethod
    def make_config(cls, values: dict[str, Any] | None = None) -> Any:
        """Build ``Config`` from a dict, rejecting unknown keys and coercing to each field's type."""
        values = dict(values or {})
        names = {f.name: f for f in dataclasses.fields(cls.Config)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise UsageError(f"codec {cls.id!r} has no option {', '.join(unknown)} (options: {', '.join(names) or 'none'})")
        defaults = cls.Config()
        for key, value in values.items():
            values[key] = _coerce(cls.id, key, value, getattr(defaults, key))
        config = dataclasses.replace(defaults, **values)
        cls.validate_config(config)
        return config

    @classmethod
    def validate_config(cls, config: Any) -> None:
        """Raise :class:`~lcodec.errors.UsageError` for out-of-range options (override as needed)."""

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` when the codec can run here, otherwise why not (missing library, encoder absent)."""
        return None

    def weights_info(self) -> dict[str, str] | None:
        """``{"id": ..., "sha256": ...}`` of the weights this configuration uses, or ``None``."""
        return None

    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    @abstractmethod
    def encode(self, media: Media, progress: Progress | None = None) -> Encoded:
        """Compress ``media``; see :class:`Encoded`."""

    @abstractmethod
    def decode(self, fields: dict[str, Any], chunks: Iterator[Chunk], progress: Progress | None = None) -> Media:
        """Rebuild the media from the header ``fields`` and this codec's chunks, in file order."""

    def decode_range(self, fields: dict[str, Any], access: ChunkAccess, start: int, stop: int,
                     progress: Progress | None = None) -> Media | None:
        """Video codecs with a seek index may decode frames ``start .. stop - 1`` alone, reading only
        the chunks they need through ``access``; ``None`` means "decode everything and cut"."""
        return None


class ChunkAccess(Protocol):
    """Random access to a file's chunks through its seek index (what :meth:`Codec.decode_range` gets)."""

    def index(self) -> list[IndexEntry]: ...

    def chunk_at(self, offset: int) -> Chunk: ...
