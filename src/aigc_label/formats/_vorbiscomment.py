"""Vorbis comment lists, shared by the FLAC ``VORBIS_COMMENT`` block and Ogg comment headers.

Layout (Vorbis I specification 5.2.1; RFC 7845 5.2 for ``OpusTags``): a
little-endian u32 vendor length, the vendor string, a u32 entry count, then per
entry a u32 length and ``FIELD=value`` in UTF-8. Whatever follows the list (the
Vorbis framing bit, Opus binary padding) is kept verbatim as ``tail``.

The label is the entry ``AIGC=<label JSON>`` (spec section 4, FLAC and OGG
rows). Field names are case-insensitive ASCII, so ``aigc=`` is the same field:
every entry named AIGC in any case is our label; writing keeps exactly one, at
the place of the first one found (or last), spelled ``AIGC``. All other entries
(``METADATA_BLOCK_PICTURE`` included) stay byte-for-byte and in order.

Limits: the entry count is checked against the bytes left (4 bytes minimum per
entry) and ``Limits.max_items`` before anything is allocated.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from ..errors import CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits

U32LE = struct.Struct("<I")
"""Every length and count in a comment list."""

LABEL_FIELD = b"AIGC"


@dataclass(frozen=True)
class VorbisComment:
    """A parsed comment list; entries are raw ``FIELD=value`` bytes."""

    vendor: bytes
    entries: tuple[bytes, ...]
    tail: bytes = b""

    def to_bytes(self) -> bytes:
        parts = [U32LE.pack(len(self.vendor)), self.vendor, U32LE.pack(len(self.entries))]
        for entry in self.entries:
            parts += [U32LE.pack(len(entry)), entry]
        parts.append(self.tail)
        return b"".join(parts)

    def labels(self) -> list[tuple[int, str]]:
        """``(index, value)`` of every entry named AIGC (any case)."""
        return [
            (i, entry.partition(b"=")[2].decode("utf-8", errors="replace"))
            for i, entry in enumerate(self.entries)
            if is_label_entry(entry)
        ]

    def with_label(self, label_json: str) -> VorbisComment:
        """A copy holding exactly one ``AIGC=`` entry with ``label_json``."""
        ours = LABEL_FIELD + b"=" + label_json.encode("utf-8")
        out: list[bytes] = []
        placed = False
        for entry in self.entries:
            if not is_label_entry(entry):
                out.append(entry)
            elif not placed:
                out.append(ours)
                placed = True
        if not placed:
            out.append(ours)
        return replace(self, entries=tuple(out))

    def without_labels(self) -> VorbisComment:
        """A copy with every AIGC entry removed."""
        return replace(self, entries=tuple(e for e in self.entries if not is_label_entry(e)))


def is_label_entry(entry: bytes) -> bool:
    name, eq, _ = entry.partition(b"=")
    return bool(eq) and name.upper() == LABEL_FIELD


def parse(data: bytes, fmt: str, offset: int, limits: Limits) -> VorbisComment:
    """Parse a comment list that starts at ``data[0]`` (``offset`` is for messages)."""
    pos = 0

    def take(n: int, what: str) -> bytes:
        nonlocal pos
        if n > len(data) - pos:
            raise TruncatedError(fmt, offset + pos, f"Vorbis comment {what} overruns its block")
        chunk = data[pos : pos + n]
        pos += n
        return chunk

    vendor = take(U32LE.unpack(take(4, "vendor length"))[0], "vendor")
    count = U32LE.unpack(take(4, "entry count"))[0]
    if count > limits.max_items:
        raise LimitExceededError("Vorbis comment entries", count, limits.max_items, fmt)
    if count * 4 > len(data) - pos:
        raise CorruptFileError(fmt, offset + pos, f"{count} Vorbis comments cannot fit")
    entries = tuple(take(U32LE.unpack(take(4, "length"))[0], "entry") for _ in range(count))
    return VorbisComment(vendor, entries, data[pos:])
