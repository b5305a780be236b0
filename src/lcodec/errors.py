"""Exceptions that map to the command line's exit codes (DESIGN.md §6).

Every error a user can cause is one of these, so the CLI prints one line and exits with a
documented code instead of a traceback. Library callers catch :class:`LcodecError`.
"""
from __future__ import annotations


class LcodecError(Exception):
    """Base class; ``exit_code`` is what the CLI returns for it."""

    exit_code = 1


class UsageError(LcodecError, ValueError):
    """Bad arguments or options (exit 2)."""

    exit_code = 2


class CorruptFileError(LcodecError, ValueError):
    """A damaged or malformed ``.lc`` file or entropy stream (exit 65)."""

    exit_code = 65


class UnsupportedError(LcodecError, ValueError):
    """Well-formed input that this version cannot handle: future format, unknown codec, odd media (exit 65)."""

    exit_code = 65


class MissingInputError(LcodecError, FileNotFoundError):
    """The input file does not exist or cannot be read (exit 66)."""

    exit_code = 66


class CodecUnavailableError(LcodecError, RuntimeError):
    """The codec exists but cannot run here: missing library, encoder absent from ffmpeg, no weights (exit 69)."""

    exit_code = 69


class OutputError(LcodecError, OSError):
    """The output cannot be created: exists without ``-y``, is a directory, not writable (exit 73)."""

    exit_code = 73
