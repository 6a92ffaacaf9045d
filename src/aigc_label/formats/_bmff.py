"""Generic ISO base media file format (ISO/IEC 14496-12) box walker and item tables.

Shared by the HEIF/AVIF handler now and the MP4/MOV handler later. A box is
``size:u32 type:4cc [largesize:u64 when size == 1] [usertype:16 when type ==
'uuid'] payload``; ``size == 0`` means "to the end of the enclosing range" (the
file, for a top-level box). A full box starts its payload with ``version:u8
flags:u24``.

This module reads headers and small tables only: :func:`iter_boxes` walks a
range of a stream without loading payloads, :func:`iter_buffer_boxes` walks a
box already loaded into memory (a ``meta`` or ``moov`` bounded by
:class:`~aigc_label.limits.Limits`), and :class:`Cursor` decodes fields of a
loaded payload. It also parses and serializes the item tables of the file-level
``meta`` box (section 8.11: ``iloc``, ``iinf``/``infe``, ``iref``, ``pitm``)
and shifts absolute chunk offsets (``stco``/``co64``) when a box in front of
the media data grows.

Bounds: every box is checked against its parent's range, and the outermost
range against the stream size, before anything is allocated; declared counts
are checked against the bytes left in the payload; walks count boxes against
``limits.max_items`` and nested walks check ``limits.max_depth``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from .._io import read_exact, stream_size
from ..errors import CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits

BOX_HEADER = struct.Struct(">I4s")
"""Compact box header: u32 size (header included), four-character type."""

LARGESIZE = struct.Struct(">Q")
"""64-bit size that follows the compact header when its size field is 1."""

FULL_BOX = struct.Struct(">I")
"""Full-box word: version in the top 8 bits, flags in the low 24."""

USERTYPE_SIZE = 16
"""Length of the extended type that follows a ``uuid`` box header."""

MAX_HEADER = BOX_HEADER.size + LARGESIZE.size + USERTYPE_SIZE
"""Longest possible box header."""

U16 = struct.Struct(">H")
U32 = struct.Struct(">I")
U64 = struct.Struct(">Q")

FIELD_SIZES = (0, 4, 8)
"""Byte widths allowed for iloc offset/length/base_offset/index fields."""

CHUNK_OFFSET_PATH = (b"moov", b"trak", b"mdia", b"minf", b"stbl")
"""Container boxes on the way from ``moov`` to the chunk offset tables."""


@dataclass(frozen=True)
class Box:
    """One box header; ``start``/``end`` are absolute (stream or buffer) offsets."""

    type: bytes
    start: int
    header_size: int
    end: int
    usertype: bytes | None = None

    @property
    def payload_start(self) -> int:
        return self.start + self.header_size

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def payload_size(self) -> int:
        return self.end - self.payload_start


class Budget:
    """Counts walked boxes/entries against ``limits.max_items`` across one file."""

    def __init__(self, limits: Limits, fmt: str) -> None:
        self.left = limits.max_items
        self.limits = limits
        self.fmt = fmt

    def take(self, n: int = 1) -> None:
        self.left -= n
        if self.left < 0:
            maximum = self.limits.max_items
            raise LimitExceededError("box/item count", maximum - self.left, maximum, self.fmt)


def check_depth(depth: int, limits: Limits, fmt: str) -> None:
    """Raise when a nested walk goes deeper than ``limits.max_depth``."""
    if depth > limits.max_depth:
        raise LimitExceededError("box nesting depth", depth, limits.max_depth, fmt)


def parse_header(
    head: bytes, start: int, parent_end: int, fmt: str, file_end: int, to_end: bool = True
) -> Box:
    """Decode the box header in ``head`` (bytes read at ``start``) within a parent range.

    ``to_end`` allows size 0 ("extends to the end of the range"), which the
    standard permits for file-level boxes only.

    Raises:
        TruncatedError: the header or the box runs past ``file_end``.
        CorruptFileError: the box is smaller than its header or overruns its parent.
    """
    if len(head) < BOX_HEADER.size:
        raise TruncatedError(fmt, start, "box header cut short")
    size, btype = BOX_HEADER.unpack_from(head)
    header = BOX_HEADER.size
    if size == 1:
        if len(head) < header + LARGESIZE.size:
            raise TruncatedError(fmt, start, "64-bit box size cut short")
        (size,) = LARGESIZE.unpack_from(head, header)
        header += LARGESIZE.size
    elif size == 0:
        if not to_end:
            raise CorruptFileError(fmt, start, f"nested box {btype!r} declares size 0")
        size = parent_end - start
    usertype = None
    if btype == b"uuid":
        if len(head) < header + USERTYPE_SIZE:
            raise TruncatedError(fmt, start, "uuid box extended type cut short")
        usertype = bytes(head[header : header + USERTYPE_SIZE])
        header += USERTYPE_SIZE
    if size < header:
        raise CorruptFileError(fmt, start, f"box {btype!r} size {size} smaller than its header")
    end = start + size
    if end > parent_end:
        cls = TruncatedError if parent_end >= file_end else CorruptFileError
        raise cls(fmt, start, f"box {btype!r} of {size} bytes overruns its container")
    return Box(bytes(btype), start, header, end, usertype)


def iter_boxes(f: BinaryIO, start: int, end: int, fmt: str, budget: Budget) -> Iterator[Box]:
    """Yield the boxes laid end to end in ``[start, end)`` of a stream, payloads unread."""
    file_end = stream_size(f)
    if end > file_end:
        raise TruncatedError(fmt, start, "box range runs past the end of file")
    pos = start
    while pos < end:
        budget.take()
        f.seek(pos)
        head = f.read(min(MAX_HEADER, end - pos))
        box = parse_header(head, pos, end, fmt, file_end)
        yield box
        pos = box.end


def iter_buffer_boxes(
    buf: bytes | bytearray, start: int, end: int, fmt: str, budget: Budget, base: int = 0
) -> Iterator[Box]:
    """Yield the boxes nested in ``buf[start:end]``; offsets are buffer offsets.

    Size 0 is refused here: it is only meaningful for file-level boxes.

    ``base`` is the stream offset of ``buf[0]``, used only in error messages.
    """
    if end > len(buf):
        raise TruncatedError(fmt, base + start, "box range runs past the loaded data")
    pos = start
    while pos < end:
        budget.take()
        try:
            head = bytes(buf[pos : pos + MAX_HEADER])
            box = parse_header(head, pos, end, fmt, len(buf), to_end=False)
        except CorruptFileError as e:
            raise type(e)(fmt, base + pos, e.reason) from None
        yield box
        pos = box.end


def read_box(f: BinaryIO, box: Box, limit: int, fmt: str) -> bytes:
    """Load a whole box (header included) after checking its size against ``limit``."""
    if box.size > limit:
        raise LimitExceededError(f"{box.type.decode('latin-1')} box size", box.size, limit, fmt)
    f.seek(box.start)
    return read_exact(f, box.size, fmt, f"{box.type!r} box")


def make_box(btype: bytes, payload: bytes, usertype: bytes | None = None) -> bytes:
    """Serialize a box, using a 64-bit size only when the compact one cannot hold it."""
    ext = usertype or b""
    size = BOX_HEADER.size + len(ext) + len(payload)
    if size <= 0xFFFF_FFFF:
        return BOX_HEADER.pack(size, btype) + ext + payload
    return BOX_HEADER.pack(1, btype) + LARGESIZE.pack(size + LARGESIZE.size) + ext + payload


def make_full_box(btype: bytes, version: int, flags: int, payload: bytes) -> bytes:
    """Serialize a full box (version + flags word, then ``payload``)."""
    return make_box(btype, FULL_BOX.pack((version << 24) | (flags & 0xFFFFFF)) + payload)


class Cursor:
    """Bounds-checked big-endian reader over one loaded payload."""

    def __init__(self, buf: bytes | bytearray, start: int, end: int, fmt: str, base: int = 0):
        self.buf = buf
        self.pos = start
        self.end = end
        self.fmt = fmt
        self.base = base

    @property
    def left(self) -> int:
        return self.end - self.pos

    def take(self, n: int, what: str = "field") -> bytes:
        if n < 0 or n > self.left:
            raise CorruptFileError(self.fmt, self.base + self.pos, f"{what} runs past its box")
        data = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return data

    def uint(self, size: int, what: str = "field") -> int:
        """An unsigned big-endian integer of 0, 1, 2, 4 or 8 bytes (0 bytes reads as 0)."""
        return int.from_bytes(self.take(size, what), "big") if size else 0

    def full_box(self) -> tuple[int, int]:
        """Version and flags of a full box."""
        word = self.uint(4, "full box version/flags")
        return word >> 24, word & 0xFFFFFF

    def cstring(self) -> str:
        """A NUL-terminated UTF-8 string; a missing NUL ends the string at the box end."""
        raw = bytes(self.buf[self.pos : self.end])
        nul = raw.find(b"\0")
        text = raw if nul < 0 else raw[:nul]
        self.pos += len(raw) if nul < 0 else nul + 1
        return text.decode("utf-8", "replace")

    def count(self, size: int, per_entry: int, what: str) -> int:
        """A declared entry count, checked against the bytes left (``per_entry`` each)."""
        n = self.uint(size, f"{what} count")
        if n * per_entry > self.left:
            raise CorruptFileError(
                self.fmt, self.base + self.pos, f"{what} count {n} does not fit in its box"
            )
        return n


def put_uint(value: int, size: int, fmt: str, what: str) -> bytes:
    """Encode ``value`` in ``size`` bytes, refusing values that do not fit."""
    if value < 0 or (size < 8 and value >= 1 << (8 * size)):
        raise CorruptFileError(fmt, None, f"{what} {value} does not fit in {size} bytes")
    return value.to_bytes(size, "big") if size else b""


def width_for(value: int, current: int) -> int:
    """Smallest allowed iloc field width (0/4/8) >= ``current`` that holds ``value``."""
    for size in FIELD_SIZES:
        if size >= current and value < (1 << (8 * size) if size else 1):
            return size
    return 8


# --- item location (iloc, 14496-12 section 8.11.3) -----------------------------------


@dataclass
class Extent:
    index: int
    offset: int
    length: int


@dataclass
class IlocItem:
    item_id: int
    construction_method: int
    data_reference_index: int
    base_offset: int
    extents: list[Extent] = field(default_factory=list)


@dataclass
class Iloc:
    version: int
    flags: int
    offset_size: int
    length_size: int
    base_offset_size: int
    index_size: int
    items: list[IlocItem]

    def get(self, item_id: int) -> IlocItem | None:
        return next((it for it in self.items if it.item_id == item_id), None)


def parse_iloc(cur: Cursor, budget: Budget) -> Iloc:
    """Decode an ``iloc`` payload (cursor at the version/flags word)."""
    version, flags = cur.full_box()
    if version > 2:
        raise CorruptFileError(cur.fmt, cur.base + cur.pos, f"iloc version {version}")
    sizes = cur.uint(2, "iloc field sizes")
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 0xF
    base_offset_size, index_size = (sizes >> 4) & 0xF, sizes & 0xF
    if version == 0:
        index_size = 0
    if any(s not in FIELD_SIZES for s in (offset_size, length_size, base_offset_size, index_size)):
        raise CorruptFileError(cur.fmt, cur.base + cur.pos, "iloc field size not 0, 4 or 8")
    id_size = 4 if version == 2 else 2
    per_item = id_size + (2 if version else 0) + 2 + base_offset_size + 2
    per_extent = index_size + offset_size + length_size
    iloc = Iloc(version, flags, offset_size, length_size, base_offset_size, index_size, [])
    for _ in range(cur.count(id_size, per_item, "iloc item")):
        budget.take()
        item_id = cur.uint(id_size)
        method = cur.uint(2) & 0xF if version else 0
        item = IlocItem(item_id, method, cur.uint(2), cur.uint(base_offset_size))
        for _ in range(cur.count(2, per_extent, "iloc extent")):
            budget.take()
            idx = cur.uint(index_size)
            item.extents.append(Extent(idx, cur.uint(offset_size), cur.uint(length_size)))
        iloc.items.append(item)
    return iloc


def build_iloc(iloc: Iloc, fmt: str) -> bytes:
    """Serialize ``iloc``, widening version and field sizes as its values require."""
    ids = [it.item_id for it in iloc.items]
    version = iloc.version
    if any(it.construction_method for it in iloc.items) or iloc.index_size:
        version = max(version, 1)
    if max(ids, default=0) > 0xFFFF or len(ids) > 0xFFFF:
        version = 2
    extents = [e for it in iloc.items for e in it.extents]
    osz = width_for(max((e.offset for e in extents), default=0), iloc.offset_size)
    lsz = width_for(max((e.length for e in extents), default=0), iloc.length_size)
    bsz = width_for(max((it.base_offset for it in iloc.items), default=0), iloc.base_offset_size)
    isz = iloc.index_size if version else 0
    id_size = 4 if version == 2 else 2
    out = [U16.pack((osz << 12) | (lsz << 8) | (bsz << 4) | isz)]
    out.append(put_uint(len(ids), id_size, fmt, "iloc item count"))
    for it in iloc.items:
        out.append(put_uint(it.item_id, id_size, fmt, "item ID"))
        if version:
            out.append(U16.pack(it.construction_method & 0xF))
        out.append(put_uint(it.data_reference_index, 2, fmt, "data reference index"))
        out.append(put_uint(it.base_offset, bsz, fmt, "base offset"))
        out.append(put_uint(len(it.extents), 2, fmt, "extent count"))
        for e in it.extents:
            out.append(put_uint(e.index, isz, fmt, "extent index"))
            out.append(put_uint(e.offset, osz, fmt, "extent offset"))
            out.append(put_uint(e.length, lsz, fmt, "extent length"))
    return make_full_box(b"iloc", version, iloc.flags, b"".join(out))


# --- item information (iinf/infe, section 8.11.6) -------------------------------------


@dataclass
class ItemInfo:
    item_id: int
    item_type: bytes | None
    """Four-character type (infe v2+), None for v0/v1 entries (which carry MIME data)."""
    content_type: str
    content_encoding: str
    raw: bytes
    """The whole infe box as stored, written back unchanged."""


def parse_infe(buf: bytes, box: Box, fmt: str, base: int = 0) -> ItemInfo:
    """Decode one ``infe`` box of ``buf``."""
    cur = Cursor(buf, box.payload_start, box.end, fmt, base)
    version, _flags = cur.full_box()
    item_id = cur.uint(4 if version >= 3 else 2, "item ID")
    cur.uint(2, "item protection index")
    item_type = cur.take(4, "item type") if version >= 2 else None
    cur.cstring()  # item_name
    content_type = encoding = ""
    if item_type in (None, b"mime"):
        content_type = cur.cstring()
        encoding = cur.cstring() if cur.left else ""
    return ItemInfo(item_id, item_type, content_type, encoding, bytes(buf[box.start : box.end]))


def parse_iinf(buf: bytes, box: Box, fmt: str, budget: Budget, base: int = 0) -> list[ItemInfo]:
    """Decode an ``iinf`` box of ``buf`` into its entries (non-``infe`` children skipped)."""
    cur = Cursor(buf, box.payload_start, box.end, fmt, base)
    version, _flags = cur.full_box()
    cur.count(2 if version == 0 else 4, 0, "iinf entry")
    return [
        parse_infe(buf, child, fmt, base)
        for child in iter_buffer_boxes(buf, cur.pos, box.end, fmt, budget, base)
        if child.type == b"infe"
    ]


def build_infe(item_id: int, item_type: bytes, content_type: str = "", name: str = "") -> bytes:
    """A new item info entry (version 2, or 3 when the ID needs 32 bits)."""
    version = 3 if item_id > 0xFFFF else 2
    payload = item_id.to_bytes(4 if version == 3 else 2, "big") + U16.pack(0) + item_type
    payload += name.encode() + b"\0"
    if item_type == b"mime":
        payload += content_type.encode() + b"\0"
    return make_full_box(b"infe", version, 0, payload)


def build_iinf(entries: list[bytes], version: int = 0) -> bytes:
    """An ``iinf`` box around serialized ``infe`` boxes (32-bit count when needed)."""
    if len(entries) > 0xFFFF:
        version = 1
    count = len(entries).to_bytes(2 if version == 0 else 4, "big")
    return make_full_box(b"iinf", version, 0, count + b"".join(entries))


# --- item references (iref, section 8.11.12) and primary item (pitm) -------------------


@dataclass
class ItemRef:
    ref_type: bytes
    from_id: int
    to_ids: list[int]


def parse_iref(buf: bytes, box: Box, fmt: str, budget: Budget, base: int = 0) -> list[ItemRef]:
    """Decode an ``iref`` box of ``buf``; returns its references (version kept by caller)."""
    cur = Cursor(buf, box.payload_start, box.end, fmt, base)
    version, _flags = cur.full_box()
    id_size = 4 if version else 2
    refs: list[ItemRef] = []
    for child in iter_buffer_boxes(buf, cur.pos, box.end, fmt, budget, base):
        sub = Cursor(buf, child.payload_start, child.end, fmt, base)
        from_id = sub.uint(id_size, "from item ID")
        n = sub.count(2, id_size, "reference")
        budget.take(n)
        refs.append(ItemRef(child.type, from_id, [sub.uint(id_size) for _ in range(n)]))
    return refs


def build_iref(refs: list[ItemRef], version: int, fmt: str) -> bytes:
    """Serialize references, switching to 32-bit IDs (version 1) when needed."""
    ids = [i for r in refs for i in (r.from_id, *r.to_ids)]
    if max(ids, default=0) > 0xFFFF:
        version = 1
    size = 4 if version else 2
    boxes = [
        make_box(
            r.ref_type,
            put_uint(r.from_id, size, fmt, "item ID")
            + put_uint(len(r.to_ids), 2, fmt, "reference count")
            + b"".join(put_uint(i, size, fmt, "item ID") for i in r.to_ids),
        )
        for r in refs
    ]
    return make_full_box(b"iref", version, 0, b"".join(boxes))


def parse_pitm(buf: bytes, box: Box, fmt: str, base: int = 0) -> int:
    """The primary item ID of a ``pitm`` box."""
    cur = Cursor(buf, box.payload_start, box.end, fmt, base)
    version, _flags = cur.full_box()
    return cur.uint(2 if version == 0 else 4, "primary item ID")


def full_box_version(buf: bytes, box: Box, fmt: str, base: int = 0) -> int:
    """The version byte of a full box in ``buf``."""
    return Cursor(buf, box.payload_start, box.end, fmt, base).full_box()[0]


# --- absolute chunk offsets (stco/co64, section 8.7.5) -------------------------------


def shift_chunk_offsets(
    buf: bytearray,
    box: Box,
    relocate: Callable[[int], int],
    fmt: str,
    budget: Budget,
    depth: int = 0,
    base: int = 0,
) -> None:
    """Rewrite in place every chunk offset under ``box`` as ``relocate(offset)``.

    ``box`` is a ``moov`` (or one of its containers on the way to ``stbl``)
    loaded in ``buf``. Used when boxes in front of the media data change size.
    """
    check_depth(depth, budget.limits, fmt)
    for child in iter_buffer_boxes(buf, box.payload_start, box.end, fmt, budget, base):
        if child.type in CHUNK_OFFSET_PATH:
            shift_chunk_offsets(buf, child, relocate, fmt, budget, depth + 1, base)
        elif child.type in (b"stco", b"co64"):
            size = 4 if child.type == b"stco" else 8
            cur = Cursor(buf, child.payload_start, child.end, fmt, base)
            cur.full_box()
            n = cur.count(4, size, "chunk offset")
            budget.take(n)
            for _ in range(n):
                pos = cur.pos
                new = relocate(cur.uint(size))
                buf[pos : pos + size] = put_uint(new, size, fmt, "chunk offset")
