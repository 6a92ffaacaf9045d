"""Bounds applied while parsing untrusted files.

Passed explicitly to every handler (never a module global) so a service can
tighten them per request.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Resource bounds for reading and writing one file."""

    max_metadata_bytes: int = 16 * 1024 * 1024
    """Largest metadata segment/chunk/box we load into memory (XMP, EXIF, text chunks)."""

    max_xmp_bytes: int = 4 * 1024 * 1024
    """Largest XMP packet we parse."""

    max_xml_depth: int = 64
    """Deepest XML element nesting accepted in an XMP packet."""

    max_depth: int = 32
    """Deepest container nesting (boxes, IFD chains)."""

    max_items: int = 100_000
    """Most segments/chunks/boxes/IFD entries walked in one file."""

    max_decompressed: int = 1024 * 1024
    """Largest inflated text from a compressed chunk (zTXt, compressed iTXt)."""

    max_file_bytes: int = 1 << 40
    """Largest input file accepted at all."""


DEFAULT_LIMITS = Limits()
"""The bounds used when the caller passes none."""
