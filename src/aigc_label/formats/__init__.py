"""The handler registry: one tuple of handlers, every lookup derived from it.

Format detection is by magic bytes; a file extension is only a hint used to
break ties within a family. See ``formats/README.md`` for each handler's
capabilities.
"""

from __future__ import annotations

from .base import FoundLabel, Handler, ReadResult, WriteOptions
from .gif import GifHandler
from .heif import HeifHandler
from .jpeg import JpegHandler
from .png import PngHandler
from .tiff import TiffHandler
from .webp import WebpHandler

HANDLERS: tuple[Handler, ...] = (
    JpegHandler(),
    PngHandler(),
    GifHandler(),
    WebpHandler(),
    TiffHandler(),
    HeifHandler(),
)
"""Every registered handler, most specific sniff first."""

SNIFF_BYTES = 64
"""How many leading bytes ``detect`` needs."""


def detect(head: bytes, hint: str | None = None) -> Handler | None:
    """The handler whose magic matches ``head``; ``hint`` (an extension) breaks ties."""
    matches = [h for h in HANDLERS if h.sniff(head)]
    if not matches:
        return None
    if hint:
        ext = hint.lower().lstrip(".")
        for h in matches:
            if ext in h.extensions:
                return h
    return matches[0]


def handler_named(name: str) -> Handler | None:
    """Look a handler up by its format name."""
    return next((h for h in HANDLERS if h.name == name), None)


__all__ = [
    "HANDLERS",
    "SNIFF_BYTES",
    "FoundLabel",
    "Handler",
    "ReadResult",
    "WriteOptions",
    "detect",
    "handler_named",
]
