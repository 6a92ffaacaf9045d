"""The one interface every container handler implements.

A handler moves bytes: it finds, inserts and replaces our label without
decoding the media. It works on seekable binary streams; paths, temp files and
atomic renames are the registry's business. ``read`` never writes; ``write``
copies ``src`` to ``dst`` with exactly one label (ours) in the standard
placement and every other byte of metadata and payload kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar

from ..limits import Limits
from ..model import Problem


@dataclass(frozen=True)
class FoundLabel:
    """One stored copy of a label value, with where it was found."""

    raw: str
    """The stored value (JSON text, bare or wrapped), exactly as decoded from the file."""

    placement: str
    """Human-readable location, e.g. ``"APP1 XMP TC260:AIGC"``."""

    offset: int | None = None
    """Byte offset of the segment/chunk/box that holds it."""

    standard: bool = True
    """False for in-the-wild placements the spec does not prescribe."""

    def to_dict(self) -> dict[str, object]:
        return {"placement": self.placement, "offset": self.offset, "standard": self.standard}


@dataclass
class ReadResult:
    """Everything a handler found that bears on AI labeling."""

    labels: list[FoundLabel] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    digital_source_types: list[str] = field(default_factory=list)
    """IPTC DigitalSourceType values found in XMP."""


@dataclass(frozen=True)
class WriteOptions:
    """How to write: the label JSON plus the IPTC value to mirror it with."""

    label_json: str
    digital_source_type: str | None
    """Iptc4xmpExt:DigitalSourceType to set in XMP-based formats; None leaves it alone."""


class Handler:
    """Base class for container handlers; subclasses fill in the class attributes."""

    name: ClassVar[str] = ""
    """Short lowercase format name reported by ``inspect`` (``"jpeg"``)."""

    extensions: ClassVar[tuple[str, ...]] = ()
    mime_types: ClassVar[tuple[str, ...]] = ()
    can_write: ClassVar[bool] = True
    """False for formats with no metadata slot (plain text)."""

    def sniff(self, head: bytes) -> bool:
        """True when the first bytes (up to ``SNIFF_BYTES``, 256) identify this format."""
        raise NotImplementedError

    def sniff_weak(self, head: bytes) -> bool:
        """True when ``head`` is compatible but not distinctive (any UTF-8 text for Markdown).

        A weak match is chosen only when the file extension names this handler.
        """
        return False

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        """Find every label copy and related provenance facts; never modifies ``src``."""
        raise NotImplementedError

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        """Copy ``src`` to ``dst`` with exactly one label, in the standard placement."""
        raise NotImplementedError


def collect_xmp(
    packet: bytes, placement: str, offset: int, limits: Limits, out: ReadResult
) -> None:
    """Add the labels and DigitalSourceType values of one XMP packet to ``out``.

    A malformed foreign packet is reported as a warning, not raised: reading must
    describe a file, not reject it for someone else's metadata.
    """
    from ..errors import CorruptFileError, LimitExceededError
    from ..xmp import read_xmp

    try:
        found = read_xmp(packet, limits)
    except (CorruptFileError, LimitExceededError) as e:
        out.problems.append(
            Problem("xmp_unreadable", f"{placement} at offset {offset}: {e.message}", "warning")
        )
        return
    out.labels.extend(FoundLabel(v, f"{placement} TC260:AIGC", offset) for v in found.aigc)
    out.digital_source_types.extend(found.digital_source_types)
