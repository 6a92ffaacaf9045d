"""The handler registry: one tuple of handlers, every lookup derived from it.

Format detection is by magic bytes; a file extension is only a hint used to
break ties within a family. See ``formats/README.md`` for each handler's
capabilities.
"""

from __future__ import annotations

from .avi import AviHandler
from .base import FoundLabel, Handler, ReadResult, WriteOptions
from .flac import FlacHandler
from .flv import FlvHandler
from .gif import GifHandler
from .heif import HeifHandler
from .html import HtmlHandler
from .jpeg import JpegHandler
from .markdown import MarkdownHandler
from .matroska import MatroskaHandler
from .mp3 import Mp3Handler
from .mp4 import Mp4Handler
from .ogg import OggHandler
from .ooxml import OoxmlHandler
from .pdf import PdfHandler
from .png import PngHandler
from .svg import SvgHandler
from .text import TextHandler
from .tiff import TiffHandler
from .wav import WavHandler
from .webp import WebpHandler

HANDLERS: tuple[Handler, ...] = (
    JpegHandler(),
    PngHandler(),
    GifHandler(),
    WebpHandler(),
    WavHandler(),
    AviHandler(),
    TiffHandler(),
    HeifHandler(),
    Mp4Handler(),
    Mp3Handler(),
    FlacHandler(),
    OggHandler(),
    MatroskaHandler(),
    FlvHandler(),
    PdfHandler(),
    OoxmlHandler(),
    SvgHandler(),
    HtmlHandler(),
    MarkdownHandler(),
    TextHandler(),
)
"""Every registered handler, most specific sniff first."""

SNIFF_BYTES = 256
"""How many leading bytes ``detect`` needs."""


def detect(head: bytes, hint: str | None = None) -> Handler | None:
    """The handler for ``head``. Bytes decide; ``hint`` (an extension) only breaks ties.

    Order: a strong match named by the hint, then a weak match named by the hint
    (e.g. UTF-8 text in a ``.md`` file), then the first strong match.
    """
    ext = hint.lower().lstrip(".") if hint else ""
    matches = [h for h in HANDLERS if h.sniff(head)]
    if ext:
        for h in matches:
            if ext in h.extensions:
                return h
        for h in HANDLERS:
            if ext in h.extensions and h.sniff_weak(head):
                return h
    return matches[0] if matches else None


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
