"""EBML element reader and writer shared by the Matroska/WebM handler.

EBML (RFC 8794) stores every element as ``ID size data``. The ID is a
variable-length integer of 1-4 bytes whose length marker is kept as part of
the ID (``0x1A45DFA3``); the size is a variable-length integer of 1-8 bytes
whose marker bit is stripped; a size with every value bit set means "unknown"
(used by live Matroska/WebM for Segment and Cluster). This module parses and
builds element *headers* and small in-memory masters; payloads are never read
here.

Bounds: every element is checked against the end of its parent, which callers
check against the stream size first; an unknown size is only accepted where
the caller allows it and is then bounded by the parent end (the caller
resolves the real end). Walks count children against ``limits.max_items`` per
parent and nested parses check ``depth`` against ``limits.max_depth``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .._io import read_exact
from ..errors import CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
"""The four bytes every EBML stream starts with (the EBML header element ID)."""

ID_EBML = 0x1A45DFA3
ID_DOCTYPE = 0x4282
ID_SEGMENT = 0x18538067
ID_SEEKHEAD = 0x114D9B74
ID_SEEK = 0x4DBB
ID_SEEKID = 0x53AB
ID_SEEKPOSITION = 0x53AC
ID_INFO = 0x1549A966
ID_TRACKS = 0x1654AE6B
ID_CLUSTER = 0x1F43B675
ID_CUES = 0x1C53BB6B
ID_CHAPTERS = 0x1043A770
ID_ATTACHMENTS = 0x1941A469
ID_TAGS = 0x1254C367
ID_TAG = 0x7373
ID_TARGETS = 0x63C0
ID_TARGETTYPEVALUE = 0x68CA
ID_TAGTRACKUID = 0x63C5
ID_TAGEDITIONUID = 0x63C9
ID_TAGCHAPTERUID = 0x63C4
ID_TAGATTACHMENTUID = 0x63C6
ID_SIMPLETAG = 0x67C8
ID_TAGNAME = 0x45A3
ID_TAGSTRING = 0x4487
ID_VOID = 0xEC
ID_CRC32 = 0xBF

TARGET_UID_NAMES = {
    ID_TAGTRACKUID: "TrackUID",
    ID_TAGEDITIONUID: "EditionUID",
    ID_TAGCHAPTERUID: "ChapterUID",
    ID_TAGATTACHMENTUID: "AttachmentUID",
}
"""Targets children that bind a Tag to one track/edition/chapter/attachment."""

LEVEL1_IDS = frozenset(
    {
        ID_SEEKHEAD,
        ID_INFO,
        ID_TRACKS,
        ID_CLUSTER,
        ID_CUES,
        ID_CHAPTERS,
        ID_ATTACHMENTS,
        ID_TAGS,
        ID_EBML,
        ID_SEGMENT,
    }
)
"""IDs that end an unknown-size Cluster: the Segment's children and top-level elements."""

MAX_ID_LEN = 4
"""EBMLMaxIDLength of Matroska and WebM."""

MAX_SIZE_LEN = 8
"""EBMLMaxSizeLength of Matroska and WebM."""

MAX_HEADER = MAX_ID_LEN + MAX_SIZE_LEN
"""Most bytes an element header can take."""

CRC_SIZE = 4
"""Data size of a CRC-32 element (little-endian IEEE CRC of the parent's other data)."""


@dataclass(frozen=True)
class Element:
    """One element header as found; ``end`` is resolved against the parent for unknown sizes."""

    eid: int
    offset: int
    """Offset of the first ID byte (in the stream or buffer it was parsed from)."""

    id_len: int
    size_len: int
    size: int | None
    """Declared data size; None for the all-ones "unknown" size."""

    end: int
    """Offset just past the data (the parent end for an unknown size)."""

    @property
    def data_offset(self) -> int:
        return self.offset + self.id_len + self.size_len

    @property
    def total(self) -> int:
        """Bytes from the first ID byte to ``end``."""
        return self.end - self.offset


def _vint_length(first: int) -> int:
    """Length of a variable-length integer from its first byte (9 when invalid)."""
    for n in range(8):
        if first & (0x80 >> n):
            return n + 1
    return 9


def parse_header(
    buf: bytes, pos: int, end: int, fmt: str, base: int = 0, *, allow_unknown: bool = False
) -> Element:
    """Parse the element header at ``buf[pos:]``; ``end`` bounds the element.

    ``base`` is added to offsets so elements report stream positions when ``buf``
    holds a slice of the stream. Raises CorruptFileError/TruncatedError.
    """
    where = base + pos
    if pos >= end or pos >= len(buf):
        raise TruncatedError(fmt, where, "element header missing")
    id_len = _vint_length(buf[pos])
    if id_len > MAX_ID_LEN:
        raise CorruptFileError(fmt, where, f"invalid element ID byte 0x{buf[pos]:02X}")
    if pos + id_len >= min(end, len(buf)):
        raise TruncatedError(fmt, where, "element header cut short")
    eid = int.from_bytes(buf[pos : pos + id_len], "big")
    spos = pos + id_len
    size_len = _vint_length(buf[spos])
    if size_len > MAX_SIZE_LEN:
        raise CorruptFileError(fmt, where, "invalid element size (no length marker)")
    if spos + size_len > min(end, len(buf)):
        raise TruncatedError(fmt, where, "element size cut short")
    raw = int.from_bytes(buf[spos : spos + size_len], "big")
    value = raw & ((1 << (7 * size_len)) - 1)
    data = spos + size_len
    if value == (1 << (7 * size_len)) - 1:
        if not allow_unknown:
            raise CorruptFileError(fmt, where, f"element 0x{eid:X} has an unknown size here")
        return Element(eid, where, id_len, size_len, None, base + end)
    if value > end - data:
        raise CorruptFileError(
            fmt, where, f"element 0x{eid:X} declares {value} bytes, past the end of its parent"
        )
    return Element(eid, where, id_len, size_len, value, base + data + value)


def read_header(
    f: BinaryIO, pos: int, end: int, fmt: str, *, allow_unknown: bool = False
) -> Element:
    """Read and parse the element header at stream offset ``pos`` (``end`` bounds it)."""
    f.seek(pos)
    head = f.read(min(MAX_HEADER, max(0, end - pos)))
    return parse_header(head, 0, end - pos, fmt, pos, allow_unknown=allow_unknown)


def iter_buffer(
    buf: bytes, start: int, end: int, fmt: str, limits: Limits, base: int = 0, depth: int = 0
) -> Iterator[Element]:
    """Yield the children of an in-memory master whose data is ``buf[start:end]``.

    Offsets in the yielded elements are buffer positions plus ``base``; use
    :func:`element_bytes`/:func:`element_data` with the same ``base``.
    """
    if depth > limits.max_depth:
        raise LimitExceededError("EBML nesting depth", depth, limits.max_depth, fmt)
    pos = start
    count = 0
    while pos < end:
        count += 1
        if count > limits.max_items:
            raise LimitExceededError("EBML element count", count, limits.max_items, fmt)
        el = parse_header(buf, pos, end, fmt, base)
        yield el
        pos = el.end - base


def element_data(buf: bytes, el: Element, base: int = 0) -> bytes:
    """The data bytes of an element parsed from ``buf``."""
    return buf[el.data_offset - base : el.end - base]


def element_bytes(buf: bytes, el: Element, base: int = 0) -> bytes:
    """The whole element (header and data) parsed from ``buf``."""
    return buf[el.offset - base : el.end - base]


def read_uint(data: bytes) -> int:
    """An EBML unsigned integer (0-8 big-endian bytes)."""
    return int.from_bytes(data[:8], "big")


def encode_id(eid: int) -> bytes:
    """The bytes of an element ID (the length marker is part of the value)."""
    return eid.to_bytes(max(1, (eid.bit_length() + 7) // 8), "big")


def size_width(n: int) -> int:
    """Fewest bytes that encode the size ``n`` (all-ones values are reserved)."""
    for w in range(1, MAX_SIZE_LEN + 1):
        if n < (1 << (7 * w)) - 1:
            return w
    raise LimitExceededError("EBML element size", n, (1 << 56) - 2, "ebml")


def encode_size(n: int, width: int | None = None) -> bytes | None:
    """Encode the size ``n`` in ``width`` bytes (fewest when None); None if it does not fit."""
    w = size_width(n) if width is None else width
    if not 1 <= w <= MAX_SIZE_LEN or n >= (1 << (7 * w)) - 1 or n < 0:
        return None
    return ((1 << (7 * w)) | n).to_bytes(w, "big")


def encode_element(eid: int, data: bytes, width: int | None = None) -> bytes:
    """A whole element with the fewest size bytes (or exactly ``width``)."""
    size = encode_size(len(data), width)
    if size is None:
        raise LimitExceededError("EBML element size", len(data), (1 << (7 * (width or 8))) - 2)
    return encode_id(eid) + size + data


def encode_uint(eid: int, value: int) -> bytes:
    """An unsigned-integer element with the fewest data bytes."""
    return encode_element(eid, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def void_element(total: int) -> bytes:
    """A Void element taking exactly ``total`` bytes (``total`` >= 2), zero-filled."""
    for w in range(1, MAX_SIZE_LEN + 1):
        data = total - 1 - w
        size = encode_size(data, w) if data >= 0 else None
        if size is not None:
            return bytes([ID_VOID]) + size + bytes(data)
    raise CorruptFileError("ebml", None, f"no Void element takes exactly {total} bytes")


def fit_element(eid: int, data: bytes, span: int, width: int | None = None) -> bytes | None:
    """``eid``+``data`` padded with a trailing Void to exactly ``span`` bytes, or None.

    The size field width is chosen (preferring ``width``) so that the leftover is
    0 or at least 2 bytes: a 1-byte gap cannot hold a Void element.
    """
    idb = encode_id(eid)
    try:
        fewest = size_width(len(data))
    except LimitExceededError:
        return None
    widths = [w for w in (width, fewest) if w is not None]
    widths += [w for w in range(fewest, MAX_SIZE_LEN + 1) if w not in widths]
    for w in widths:
        size = encode_size(len(data), w)
        if size is None:
            continue
        pad = span - len(idb) - w - len(data)
        if pad == 0:
            return idb + size + data
        if pad >= 2:
            return idb + size + data + void_element(pad)
    return None


def master_with_crc(children: list[bytes], crc: bool) -> bytes:
    """Join a master's children, prefixed with a fresh CRC-32 element when ``crc``."""
    body = b"".join(children)
    if not crc:
        return body
    value = zlib.crc32(body).to_bytes(CRC_SIZE, "little")
    return encode_element(ID_CRC32, value) + body


def read_doc_type(f: BinaryIO, fmt: str, limits: Limits, stream_end: int) -> tuple[str, int]:
    """Parse the EBML header at offset 0: returns (DocType, offset just past the header)."""
    el = read_header(f, 0, stream_end, fmt)
    if el.eid != ID_EBML:
        raise CorruptFileError(fmt, 0, "not an EBML stream")
    if el.total > limits.max_metadata_bytes or el.total > 4096:
        raise LimitExceededError("EBML header size", el.total, 4096, fmt)
    f.seek(0)
    buf = read_exact(f, el.total, fmt, "EBML header")
    doc_type = ""
    for child in iter_buffer(buf, el.data_offset, el.end, fmt, limits, depth=1):
        if child.eid == ID_DOCTYPE:
            doc_type = element_data(buf, child).rstrip(b"\x00").decode("ascii", "replace")
    return doc_type, el.end
