"""The ``lcodec`` command line; ``main(argv)`` is the entry point (DESIGN.md §6)."""
from lcodec.cli.main import main

__all__ = ["main"]
