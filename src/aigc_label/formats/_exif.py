"""Shared TIFF/EXIF IFD walker for the TIFF handler and JPEG's APP1 ``Exif`` segment.

A TIFF file and a JPEG EXIF segment share one structure (TIFF 6.0 section 2,
EXIF 2.32 section 4.6): a byte-order header, then image file directories (IFDs)
of fixed-size entries whose values live inline or at an offset from the
header. This module reads that structure from a seekable stream whose position
0 is the TIFF header (a TIFF file, or the bytes after ``Exif\\0\\0`` wrapped in a
``BytesIO``); classic TIFF and BigTIFF, both byte orders.

It only reads the parts the label needs: IFD0, tag 700 (XMP, spec section 4)
and the EXIF sub-IFD's UserComment, where phones store the label in the wild.
Every offset and count is checked against the stream size and ``Limits`` before
anything is allocated; an IFD holds at most ``limits.max_items`` entries.
:func:`splice` copies a source to a destination with byte-range edits, so the
handlers never load the payload.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import BinaryIO

from .._io import copy_range, read_exact, stream_size
from ..errors import CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits
from ..model import FIELDS, WRAPPER_KEY

TYPE_BYTE = 1
TYPE_ASCII = 2
TYPE_LONG = 4
TYPE_UNDEFINED = 7
TYPE_IFD = 13
TYPE_LONG8 = 16
TYPE_IFD8 = 18

TYPE_SIZES: dict[int, int] = {
    1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
    16: 8, 17: 8, 18: 8,
}  # fmt: skip
"""Bytes per value of each TIFF field type (TIFF 6.0 section 2, BigTIFF types 16-18)."""

TAG_XMP = 0x02BC
"""IFD0 tag 700: the XMP packet (XMP specification part 3, section 1.1.5)."""

TAG_EXIF_IFD = 0x8769
"""IFD0 pointer to the EXIF private IFD."""

TAG_USER_COMMENT = 0x9286
"""EXIF UserComment: 8-byte character-code prefix, then the comment."""

TAG_MP_ENTRY = 0xB002
"""CIPA DC-007 (MPF) MPEntry: 16 bytes per image, offset at +8."""

BYTE_ORDERS = {b"II": "<", b"MM": ">"}
MAGIC_CLASSIC = 42
MAGIC_BIG = 43

USER_COMMENT_ASCII = b"ASCII\0\0\0"
USER_COMMENT_CODES = (USER_COMMENT_ASCII, b"UNICODE\0", b"JIS\0\0\0\0\0", b"\0" * 8)
"""Character-code prefixes defined by EXIF 2.32 table 9."""


@dataclass(frozen=True)
class Layout:
    """Byte order and classic/Big variant, with the struct layouts that follow from them."""

    order: str
    big: bool
    u16: struct.Struct
    u32: struct.Struct
    offset: struct.Struct
    """An offset or a value field (4 bytes classic, 8 bytes BigTIFF)."""
    count: struct.Struct
    """The entry count at the start of an IFD (2 bytes classic, 8 bytes BigTIFF)."""
    entry: struct.Struct
    """tag, type, count, raw value field."""

    @property
    def header_size(self) -> int:
        return 16 if self.big else 8


def layout(order: str, big: bool) -> Layout:
    """The :class:`Layout` for ``order`` (``"<"`` or ``">"``) and the variant."""
    return Layout(
        order=order,
        big=big,
        u16=struct.Struct(order + "H"),
        u32=struct.Struct(order + "I"),
        offset=struct.Struct(order + ("Q" if big else "I")),
        count=struct.Struct(order + ("Q" if big else "H")),
        entry=struct.Struct(order + ("HHQ8s" if big else "HHI4s")),
    )


@dataclass(frozen=True)
class TiffHeader:
    layout: Layout
    ifd0: int
    """Offset of IFD0."""
    ifd0_pointer_pos: int
    """Where the IFD0 offset is stored in the header."""


@dataclass(frozen=True)
class IfdEntry:
    tag: int
    type: int
    count: int
    value_field: bytes
    pos: int
    """Position of the 12/20-byte entry."""


@dataclass(frozen=True)
class Ifd:
    offset: int
    entries: tuple[IfdEntry, ...]
    next_offset: int
    end: int
    """Position just after the next-IFD pointer."""

    def find(self, tag: int) -> IfdEntry | None:
        return next((e for e in self.entries if e.tag == tag), None)


@dataclass(frozen=True)
class UserComment:
    """An EXIF UserComment value and where its bytes are."""

    text: str
    pos: int
    size: int


def read_header(f: BinaryIO, fmt: str) -> TiffHeader:
    """Parse the TIFF header at position 0 of ``f``."""
    f.seek(0)
    head = read_exact(f, 8, fmt, "TIFF header")
    order = BYTE_ORDERS.get(head[:2])
    if order is None:
        raise CorruptFileError(fmt, 0, "not a TIFF byte-order mark")
    lay = layout(order, False)
    magic = lay.u16.unpack_from(head, 2)[0]
    if magic == MAGIC_CLASSIC:
        return TiffHeader(lay, lay.u32.unpack_from(head, 4)[0], 4)
    if magic != MAGIC_BIG:
        raise CorruptFileError(fmt, 2, f"unknown TIFF magic {magic}")
    big = layout(order, True)
    rest = read_exact(f, 8, fmt, "BigTIFF header")
    bytesize, reserved = big.u16.unpack_from(head, 4)[0], big.u16.unpack_from(head, 6)[0]
    ifd0 = big.offset.unpack(rest)[0]
    if bytesize != 8 or reserved != 0:
        raise CorruptFileError(fmt, 4, "BigTIFF header has an unsupported offset size")
    return TiffHeader(big, ifd0, 8)


def read_ifd(f: BinaryIO, lay: Layout, offset: int, limits: Limits, fmt: str) -> Ifd:
    """Read the IFD at ``offset``: entry table and next-IFD pointer."""
    size = stream_size(f)
    if offset < lay.header_size or offset + lay.count.size > size:
        raise CorruptFileError(fmt, offset, "IFD offset outside the file")
    f.seek(offset)
    n = lay.count.unpack(read_exact(f, lay.count.size, fmt, "IFD entry count"))[0]
    if n > limits.max_items:
        raise LimitExceededError("IFD entries", n, limits.max_items, fmt)
    table_size = n * lay.entry.size + lay.offset.size
    if offset + lay.count.size + table_size > size:
        raise TruncatedError(fmt, offset, f"IFD declares {n} entries past the end of file")
    table = read_exact(f, table_size, fmt, "IFD entries")
    base = offset + lay.count.size
    entries = []
    for i in range(n):
        tag, typ, count, value = lay.entry.unpack_from(table, i * lay.entry.size)
        entries.append(IfdEntry(tag, typ, count, value, base + i * lay.entry.size))
    next_offset = lay.offset.unpack_from(table, n * lay.entry.size)[0]
    return Ifd(offset, tuple(entries), next_offset, offset + lay.count.size + table_size)


def value_location(entry: IfdEntry, lay: Layout) -> tuple[int, int] | None:
    """(position, byte size) of an entry's value; None for an unknown field type."""
    unit = TYPE_SIZES.get(entry.type)
    if unit is None:
        return None
    nbytes = unit * entry.count
    if nbytes <= lay.offset.size:
        return entry.pos + lay.entry.size - lay.offset.size, nbytes
    return lay.offset.unpack(entry.value_field)[0], nbytes


def read_value(
    f: BinaryIO, entry: IfdEntry, lay: Layout, limit: int, fmt: str, what: str
) -> tuple[int, bytes]:
    """Position and bytes of an entry's value, checked against ``limit`` and the file."""
    loc = value_location(entry, lay)
    if loc is None:
        raise CorruptFileError(fmt, entry.pos, f"{what} has unknown field type {entry.type}")
    pos, nbytes = loc
    if nbytes > limit:
        raise LimitExceededError(f"{what} size", nbytes, limit, fmt)
    if pos + nbytes > stream_size(f):
        raise TruncatedError(fmt, entry.pos, f"{what} value lies past the end of file")
    f.seek(pos)
    return pos, read_exact(f, nbytes, fmt, what)


def pointer_value(entry: IfdEntry, lay: Layout, fmt: str) -> int:
    """The single offset held by a pointer tag (LONG/IFD, or LONG8/IFD8 in BigTIFF)."""
    if entry.count != 1 or entry.type not in (TYPE_LONG, TYPE_IFD, TYPE_LONG8, TYPE_IFD8):
        raise CorruptFileError(fmt, entry.pos, f"tag {entry.tag} is not a single offset")
    if entry.type in (TYPE_LONG, TYPE_IFD):
        return int(lay.u32.unpack_from(entry.value_field)[0])
    return int(struct.unpack(lay.order + "Q", entry.value_field.ljust(8, b"\0"))[0])


def read_user_comment(
    f: BinaryIO, header: TiffHeader, ifd0: Ifd, limits: Limits, fmt: str
) -> UserComment | None:
    """The EXIF UserComment reached from IFD0's ExifIFD pointer, if any."""
    ptr = ifd0.find(TAG_EXIF_IFD)
    if ptr is None:
        return None
    exif = read_ifd(f, header.layout, pointer_value(ptr, header.layout, fmt), limits, fmt)
    entry = exif.find(TAG_USER_COMMENT)
    if entry is None or entry.type not in (TYPE_UNDEFINED, TYPE_BYTE, TYPE_ASCII):
        return None
    pos, raw = read_value(
        f, entry, header.layout, limits.max_metadata_bytes, fmt, "EXIF UserComment"
    )
    return UserComment(decode_user_comment(raw, header.layout.order), pos, len(raw))


def decode_user_comment(raw: bytes, order: str) -> str:
    """Decode a UserComment value: charset prefix (EXIF 2.32 table 9) then text."""
    prefix, body = raw[:8], raw[8:]
    if prefix not in USER_COMMENT_CODES:
        body = raw  # no prefix: some phones store the bare text
    if prefix == b"UNICODE\0":
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            text = body.decode("utf-16", errors="replace")
        else:
            text = body.decode("utf-16-le" if order == "<" else "utf-16-be", errors="replace")
    else:
        text = body.decode("utf-8", errors="replace")
    return text.strip("\x00 \t\r\n")


def label_in_comment(text: str) -> str | None:
    """The label JSON a UserComment holds ({"AIGC":...} or bare), or None."""
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        # Looks like a broken label: report it so inspect can say why it is bad.
        return text if f'"{WRAPPER_KEY}"' in text or '"ContentProducer"' in text else None
    if not isinstance(data, dict):
        return None
    if WRAPPER_KEY in data:
        if len(data) == 1:
            return text
        return json.dumps({WRAPPER_KEY: data[WRAPPER_KEY]}, ensure_ascii=False)
    return text if any(k in data for k in FIELDS) else None


def blank_user_comment(size: int) -> bytes:
    """A same-size UserComment value with no text: ASCII prefix, then spaces."""
    if size < len(USER_COMMENT_ASCII):
        return b"\0" * size
    return USER_COMMENT_ASCII + b" " * (size - len(USER_COMMENT_ASCII))


Edit = tuple[int, int, bytes]
"""Replace source bytes [start, end) with the given bytes (start == end inserts)."""


def splice(src: BinaryIO, dst: BinaryIO, edits: list[Edit], fmt: str) -> None:
    """Copy all of ``src`` to ``dst`` with ``edits`` applied, payload copied in blocks.

    Raises:
        CorruptFileError: two edits overlap (structures that share bytes).
    """
    pos = 0
    for start, end, data in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < pos or end < start:
            raise CorruptFileError(fmt, start, "metadata structures overlap")
        copy_range(src, dst, pos, start - pos, fmt)
        dst.write(data)
        pos = end
    copy_range(src, dst, pos, None, fmt)


def shift_mp_entries(tiff: bytes, delta: int, limits: Limits, fmt: str) -> bytes:
    """Return MPF TIFF data with every non-zero MPEntry image offset moved by ``delta``.

    MPF (CIPA DC-007) offsets count from the MPF header, so bytes inserted or removed
    between that header and the secondary images must be added to them.
    """
    import io

    f = io.BytesIO(tiff)
    header = read_header(f, fmt)
    if header.layout.big:
        raise CorruptFileError(fmt, 0, "MPF data uses BigTIFF")
    lay = header.layout
    entry = read_ifd(f, lay, header.ifd0, limits, fmt).find(TAG_MP_ENTRY)
    if entry is None:
        return tiff
    pos, raw = read_value(f, entry, lay, limits.max_metadata_bytes, fmt, "MPEntry")
    out = bytearray(tiff)
    for i in range(len(raw) // 16):
        at = pos + i * 16 + 8
        offset = lay.u32.unpack_from(out, at)[0]
        if offset:
            moved = offset + delta
            if not 0 < moved <= 0xFFFFFFFF:
                raise CorruptFileError(fmt, at, "MPF image offset out of range")
            lay.u32.pack_into(out, at, moved)
    return bytes(out)
