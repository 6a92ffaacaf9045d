"""HEIF / HEIC / AVIF handler: the label lives in an XMP item (GB 45438 spec section 4).

Placement (ISO/IEC 23008-12 annex A.4, as libheif, Apple and exiftool write it):
the XMP packet is an item of the file-level ``meta`` box with an ``infe`` entry
of item_type ``mime`` and content_type ``application/rdf+xml``, located by
``iloc`` and tied to the primary item by a ``cdsc`` reference in ``iref``. The
TC260:AIGC property is set inside that packet with :func:`~aigc_label.xmp.update_xmp`.

Why hand-written: pillow-heif/libheif can only add metadata while re-encoding
the image, and no Python library edits the item tables of an existing file. We
rebuild only the ``meta`` box: an existing XMP item gets new data, otherwise a
new item (infe v2/v3, iloc entry, cdsc reference) is added. The packet is stored
in ``idat`` (construction method 1; ``iloc`` version 0 is upgraded to 1), so no
new top-level box is needed. Growing ``meta`` moves everything after it, so
every file-offset extent (construction method 0) that points past ``meta`` is
shifted by the size change, as are the ``stco``/``co64`` chunk offsets of a
``moov`` box (image sequences); fragmented files are refused when a shift is
needed. Every other box (``iprp`` properties, grid/thumbnail/alpha/depth items,
Exif) is copied byte for byte; ``mdat`` is copied in blocks.

Limits: ``meta`` and ``moov`` are loaded only up to ``limits.max_metadata_bytes``;
an XMP item's extents are checked against the file size and that limit before
they are read; boxes, items and references count against ``limits.max_items``.
"""

from __future__ import annotations

import io
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from .._io import copy_range, read_exact, stream_size
from ..errors import (
    AigcLabelError,
    CorruptFileError,
    LimitExceededError,
    UnsupportedFormatError,
)
from ..limits import Limits
from ..model import Problem
from ..xmp import read_xmp, update_xmp
from ._bmff import (
    BOX_HEADER,
    FULL_BOX,
    U32,
    Box,
    Budget,
    Cursor,
    Extent,
    Iloc,
    IlocItem,
    ItemInfo,
    ItemRef,
    build_iinf,
    build_iloc,
    build_infe,
    build_iref,
    full_box_version,
    iter_boxes,
    iter_buffer_boxes,
    make_box,
    parse_iinf,
    parse_iloc,
    parse_iref,
    parse_pitm,
    read_box,
    shift_chunk_offsets,
)
from ._exif import (
    blank_user_comment,
    label_in_comment,
    read_header,
    read_ifd,
    read_user_comment,
)
from .base import FoundLabel, Handler, ReadResult, WriteOptions, collect_xmp

FMT = "heif"

HEIF_BRANDS = frozenset(
    {
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
        b"mif1", b"mif2", b"msf1", b"avif", b"avis", b"avio", b"vvic", b"vvis",
    }
)  # fmt: skip
"""ftyp brands (major or compatible) that mark a HEIF-family file."""

XMP_CONTENT_TYPE = "application/rdf+xml"
"""content_type of the ``mime`` item that holds an XMP packet."""

COMMENT_PLACEMENT = "EXIF UserComment"
"""Where phones put the label in the wild (read as non-standard, blanked on write)."""

DESCRIBES = b"cdsc"
"""Reference type from a metadata item to the item it describes."""

REBUILT = frozenset({b"iloc", b"iinf", b"iref"})
"""Meta children that may be re-serialized; no item extent may point into them."""

MAX_LAYOUT_PASSES = 8
"""Rounds allowed for the meta size and the iloc offsets to agree (2 in practice)."""


@dataclass
class _Meta:
    """The file-level ``meta`` box, loaded, with the tables we touch decoded."""

    box: Box
    """Where it sits in the stream."""
    buf: bytes
    """The whole box; child offsets below are offsets into it."""
    children: list[Box] = field(default_factory=list)
    handler: bytes | None = None
    infos: list[ItemInfo] = field(default_factory=list)
    iinf: Box | None = None
    iloc: Iloc | None = None
    iloc_box: Box | None = None
    refs: list[ItemRef] = field(default_factory=list)
    iref: Box | None = None
    pitm: int | None = None
    idat: Box | None = None
    group_ids: set[int] = field(default_factory=set)

    @property
    def full_word(self) -> bytes:
        return self.buf[self.box.header_size : self.box.header_size + FULL_BOX.size]

    def xmp_items(self) -> list[ItemInfo]:
        """Uncompressed XMP items, in iinf order."""
        return [i for i in self.infos if _is_xmp(i) and not i.content_encoding]


def _is_xmp(info: ItemInfo) -> bool:
    if info.item_type not in (None, b"mime"):
        return False
    return info.content_type.strip(" \0").split(";")[0].strip().lower() == XMP_CONTENT_TYPE


def _unique(meta: _Meta, current: Box | None, child: Box) -> Box:
    if current is not None:
        raise CorruptFileError(FMT, meta.box.start + child.start, f"two {child.type!r} boxes")
    return child


def _parse_meta(f: BinaryIO, box: Box, limits: Limits, budget: Budget) -> _Meta:
    buf = read_box(f, box, limits.max_metadata_bytes, FMT)
    local = Box(box.type, 0, box.header_size, box.size, box.usertype)
    meta = _Meta(box, buf)
    base = box.start
    cur = Cursor(buf, local.payload_start, local.end, FMT, base)
    cur.full_box()
    for child in iter_buffer_boxes(buf, cur.pos, local.end, FMT, budget, base):
        meta.children.append(child)
        sub = Cursor(buf, child.payload_start, child.end, FMT, base)
        if child.type == b"hdlr":
            sub.full_box()
            sub.uint(4, "hdlr pre_defined")
            meta.handler = sub.take(4, "handler type")
        elif child.type == b"iinf":
            meta.iinf = _unique(meta, meta.iinf, child)
            meta.infos = parse_iinf(buf, child, FMT, budget, base)
        elif child.type == b"iloc":
            meta.iloc_box = _unique(meta, meta.iloc_box, child)
            meta.iloc = parse_iloc(sub, budget)
        elif child.type == b"iref":
            meta.iref = _unique(meta, meta.iref, child)
            meta.refs = parse_iref(buf, child, FMT, budget, base)
        elif child.type == b"pitm":
            meta.pitm = parse_pitm(buf, child, FMT, base)
        elif child.type == b"idat":
            meta.idat = _unique(meta, meta.idat, child)
        elif child.type == b"grpl":
            for group in iter_buffer_boxes(buf, child.payload_start, child.end, FMT, budget, base):
                gcur = Cursor(buf, group.payload_start, group.end, FMT, base)
                gcur.full_box()
                meta.group_ids.add(gcur.uint(4, "group ID"))
    return meta


def _top_level(f: BinaryIO, budget: Budget) -> list[Box]:
    size = stream_size(f)
    boxes = list(iter_boxes(f, 0, size, FMT, budget))
    if not boxes or boxes[0].type != b"ftyp":
        raise CorruptFileError(FMT, 0, "file does not start with an ftyp box")
    return boxes


def _item_data(
    f: BinaryIO, meta: _Meta, item_id: int, limits: Limits
) -> tuple[bytes, list[tuple[int, int]]]:
    """The bytes of item ``item_id`` and the (stream offset, length) of each extent."""
    loc = meta.iloc.get(item_id) if meta.iloc else None
    if loc is None:
        raise CorruptFileError(FMT, meta.box.start, f"item {item_id} has no iloc entry")
    if loc.data_reference_index:
        raise UnsupportedFormatError(f"heif: item {item_id} is stored in another file")
    if loc.construction_method == 0:
        lo, hi = 0, stream_size(f)
    elif loc.construction_method == 1 and meta.idat is not None:
        lo, hi = meta.box.start + meta.idat.payload_start, meta.box.start + meta.idat.end
    else:
        raise UnsupportedFormatError(
            f"heif: item {item_id} uses construction method {loc.construction_method}"
        )
    spans: list[tuple[int, int]] = []
    total = 0
    for e in loc.extents:
        start = lo + loc.base_offset + e.offset
        length = e.length or hi - start
        if start < lo or length < 0 or start + length > hi:
            raise CorruptFileError(FMT, meta.box.start, f"item {item_id} extent out of range")
        total += length
        if total > limits.max_metadata_bytes:
            raise LimitExceededError("item size", total, limits.max_metadata_bytes, FMT)
        spans.append((start, length))
    chunks = []
    for start, length in spans:
        f.seek(start)
        chunks.append(read_exact(f, length, FMT, f"item {item_id} data"))
    return b"".join(chunks), spans


def _exif_label(
    f: BinaryIO, meta: _Meta, info: ItemInfo, limits: Limits
) -> tuple[str, list[tuple[int, int]]] | None:
    """A label in the UserComment of an Exif item, with the stream spans of that value.

    The Exif item is a u32 offset to the TIFF header, then the TIFF structure
    (ISO/IEC 23008-12 annex A.2.1). Malformed foreign EXIF is ignored.
    """
    try:
        data, spans = _item_data(f, meta, info.item_id, limits)
        cur = Cursor(data, 0, len(data), FMT)
        tiff = io.BytesIO(data[U32.size + cur.uint(U32.size, "Exif header offset") :])
        header = read_header(tiff, FMT)
        ifd0 = read_ifd(tiff, header.layout, header.ifd0, limits, FMT)
        comment = read_user_comment(tiff, header, ifd0, limits, FMT)
    except (CorruptFileError, LimitExceededError, UnsupportedFormatError):
        return None
    label = label_in_comment(comment.text) if comment else None
    if comment is None or label is None:
        return None
    at, left = len(data) - len(tiff.getbuffer()) + comment.pos, comment.size
    pieces: list[tuple[int, int]] = []
    for start, length in spans:
        if left and at < length:
            take = min(left, length - at)
            pieces.append((start + at, take))
            left -= take
            at = 0
        else:
            at -= length
    return label, pieces


def _copy_edited(src: BinaryIO, dst: BinaryIO, box: Box, edits: dict[int, bytes]) -> None:
    """Copy ``box`` with the same-size byte replacements in ``edits`` applied."""
    pos = box.start
    for at in sorted(a for a in edits if box.start <= a < box.end):
        copy_range(src, dst, pos, at - pos, FMT)
        dst.write(edits[at])
        pos = at + len(edits[at])
    copy_range(src, dst, pos, box.end - pos, FMT)


class HeifHandler(Handler):
    name = "heif"
    extensions = ("heic", "heif", "avif", "hif")
    mime_types = ("image/heic", "image/heif", "image/avif")

    def sniff(self, head: bytes) -> bool:
        if len(head) < 12 or head[4:8] != b"ftyp":
            return False
        (size,) = U32.unpack_from(head)
        brands = [head[8:12]]
        brands += [head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)]
        return any(b in HEIF_BRANDS for b in brands)

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        result = ReadResult()
        budget = Budget(limits, FMT)
        for box in _top_level(src, budget):
            if box.type != b"meta":
                continue
            meta = _parse_meta(src, box, limits, budget)
            for info in meta.infos:
                if not _is_xmp(info):
                    continue
                where = f"HEIF XMP item {info.item_id}"
                if info.content_encoding:
                    msg = f"{where} is {info.content_encoding}-encoded; not read"
                    result.problems.append(Problem("xmp_unreadable", msg, "warning"))
                    continue
                try:
                    packet, spans = _item_data(src, meta, info.item_id, limits)
                except (CorruptFileError, LimitExceededError, UnsupportedFormatError) as e:
                    msg = f"{where}: {e.message}"
                    result.problems.append(Problem("xmp_unreadable", msg, "warning"))
                    continue
                collect_xmp(packet, where, spans[0][0] if spans else box.start, limits, result)
            for info in meta.infos:
                found = _exif_label(src, meta, info, limits) if info.item_type == b"Exif" else None
                if found:
                    where = f"HEIF Exif item {info.item_id} {COMMENT_PLACEMENT}"
                    at = found[1][0][0] if found[1] else box.start
                    result.labels.append(FoundLabel(found[0], where, at, standard=False))
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        budget = Budget(limits, FMT)
        top = _top_level(src, budget)
        metas = [b for b in top if b.type == b"meta"]
        if not metas:
            raise UnsupportedFormatError("heif: no file-level meta box to hold an XMP item")
        if len(metas) > 1:
            raise CorruptFileError(FMT, metas[1].start, "more than one file-level meta box")
        if any(b.type == b"moof" for b in top):
            raise UnsupportedFormatError("heif: fragmented image sequences are not supported")
        meta = _parse_meta(src, metas[0], limits, budget)
        if meta.handler != b"pict":
            raise UnsupportedFormatError(f"heif: meta handler {meta.handler!r} is not 'pict'")
        edits = _comment_edits(src, meta, limits)
        if edits:
            patched = bytearray(meta.buf)
            for at, blank in edits.items():
                if meta.box.start <= at < meta.box.end:
                    rel = at - meta.box.start
                    patched[rel : rel + len(blank)] = blank
            meta.buf = bytes(patched)
        rewriter = _Rewriter(src, meta, top, opts, limits)
        pieces = rewriter.plan()
        for box, data in pieces:
            if data is not None:
                dst.write(data)
            elif box.type == b"moov":
                moov = bytearray(read_box(src, box, limits.max_metadata_bytes, FMT))
                local = Box(box.type, 0, box.header_size, box.size, box.usertype)
                shift_chunk_offsets(moov, local, rewriter.relocate, FMT, budget, 0, box.start)
                dst.write(moov)
            else:
                _copy_edited(src, dst, box, edits)


def _comment_edits(src: BinaryIO, meta: _Meta, limits: Limits) -> dict[int, bytes]:
    """Blank every EXIF UserComment label: ours moves to the standard XMP placement."""
    edits: dict[int, bytes] = {}
    for info in meta.infos:
        found = _exif_label(src, meta, info, limits) if info.item_type == b"Exif" else None
        if found:
            blank = blank_user_comment(sum(length for _, length in found[1]))
            for at, length in found[1]:
                edits[at], blank = blank[:length], blank[length:]
    return edits


class _Rewriter:
    """Plans the output: a new ``meta``, a new XMP ``mdat`` after it, the rest moved."""

    def __init__(
        self, src: BinaryIO, meta: _Meta, top: list[Box], opts: WriteOptions, limits: Limits
    ) -> None:
        self.meta = meta
        self.top = top
        self.iloc = meta.iloc or Iloc(0, 0, 4, 4, 0, 0, [])
        self.refs = list(meta.refs)
        self.infos_changed = self.refs_changed = False
        self.entries = [i.raw for i in meta.infos]
        items = meta.xmp_items()
        packets = {i.item_id: _item_data(src, meta, i.item_id, limits)[0] for i in items}
        main = self._choose(list(packets))
        for other in packets:
            if other != main and _has_label(packets[other], limits):
                self._drop(other)
        packet = update_xmp(
            packets.get(main) if main is not None else None,
            opts.label_json,
            digital_source_type=opts.digital_source_type,
            limits=limits,
        )
        self.dropped = self._own_mdat(main) if main is not None else None
        self.main = self._add_item() if main is None else main
        self.mdat = make_box(b"mdat", packet)
        self.starts: list[int] = []
        self.new_starts: list[int | None] = []
        self.moved: list[tuple[Box, int]] = []
        self.new_meta_start = self.new_meta_end = 0

    def _choose(self, ids: list[int]) -> int | None:
        """The XMP item to update: the one describing the primary item, else the first."""
        for ref in self.refs:
            if ref.ref_type == DESCRIBES and ref.from_id in ids and self.meta.pitm in ref.to_ids:
                return ref.from_id
        return ids[0] if ids else None

    def _own_mdat(self, item_id: int) -> Box | None:
        """A top-level mdat holding this XMP item and no other data (it is replaced)."""
        loc = self.iloc.get(item_id)
        if loc is None or loc.construction_method or loc.data_reference_index:
            return None
        if len(loc.extents) != 1 or any(b.type == b"moov" for b in self.top):
            return None
        at, length = loc.base_offset + loc.extents[0].offset, loc.extents[0].length
        for box in self.top:
            if box.type == b"mdat" and box.payload_start <= at and at + length <= box.end:
                others = [
                    it.base_offset + e.offset
                    for it in self.iloc.items
                    if it is not loc and not it.construction_method
                    for e in it.extents
                ]
                if length and not any(box.start <= o < box.end for o in others):
                    return box
        return None

    def _drop(self, item_id: int) -> None:
        """Remove an extra labeled XMP item so the file keeps exactly one label."""
        keep = [i for i in self.meta.infos if i.item_id != item_id]
        self.entries = [i.raw for i in keep]
        self.meta.infos = keep
        self.iloc.items = [it for it in self.iloc.items if it.item_id != item_id]
        refs = []
        for ref in self.refs:
            to_ids = [i for i in ref.to_ids if i != item_id]
            if ref.from_id != item_id and to_ids:
                refs.append(ItemRef(ref.ref_type, ref.from_id, to_ids))
        self.refs = refs
        self.infos_changed = self.refs_changed = True

    def _add_item(self) -> int:
        meta = self.meta
        used = {i.item_id for i in meta.infos} | {it.item_id for it in self.iloc.items}
        used |= {i for r in self.refs for i in (r.from_id, *r.to_ids)} | meta.group_ids
        if meta.pitm is not None:
            used.add(meta.pitm)
        item_id = max(used, default=0) + 1
        if item_id > 0xFFFF:
            item_id = next((i for i in range(1, 0x10000) if i not in used), item_id)
        self.entries.append(build_infe(item_id, b"mime", XMP_CONTENT_TYPE))
        self.infos_changed = True
        if meta.pitm is not None:
            self.refs.append(ItemRef(DESCRIBES, item_id, [meta.pitm]))
            self.refs_changed = True
        self.iloc.items.append(IlocItem(item_id, 0, 0, 0))
        return item_id

    def plan(self) -> list[tuple[Box, bytes | None]]:
        """Output pieces: (old box, new bytes or None to copy it); settles iloc offsets."""
        meta = self.meta
        main = self.iloc.get(self.main)
        if main is None:
            main = IlocItem(self.main, 0, 0, 0)
            self.iloc.items.append(main)
        main.construction_method = main.data_reference_index = main.base_offset = 0
        main.extents = [Extent(0, 0, len(self.mdat) - BOX_HEADER.size)]
        movable = [
            (it, it.base_offset, [(e.offset, e.length) for e in it.extents])
            for it in self.iloc.items
            if it is not main and not it.construction_method and not it.data_reference_index
        ]
        iloc_bytes = build_iloc(self.iloc, FMT)
        for _ in range(MAX_LAYOUT_PASSES):
            children = self._children(iloc_bytes)
            new_meta_size = BOX_HEADER.size + FULL_BOX.size + sum(len(r) for _, r, _ in children)
            self._layout(children, new_meta_size)
            for it, base, extents in movable:
                _relocate_item(it, base, extents, self.relocate_extent)
            main.extents[0].offset = self.new_meta_end + BOX_HEADER.size
            new_iloc = build_iloc(self.iloc, FMT)
            if len(new_iloc) == len(iloc_bytes):
                body = b"".join(new_iloc if name == b"iloc" else raw for name, raw, _ in children)
                new_meta = make_box(b"meta", meta.full_word + body)
                pieces: list[tuple[Box, bytes | None]] = []
                for box in self.top:
                    if box.start == meta.box.start:
                        pieces += [(box, new_meta), (box, self.mdat)]
                    elif box is not self.dropped:
                        pieces.append((box, None))
                return pieces
            iloc_bytes = new_iloc
        raise CorruptFileError(FMT, meta.box.start, "item locations did not settle")

    def _children(self, iloc: bytes) -> list[tuple[bytes, bytes, Box | None]]:
        """(type, bytes, old box) of every new meta child, in the original order."""
        meta = self.meta
        new: dict[bytes, bytes] = {b"iloc": iloc}
        if self.infos_changed or meta.iinf is None:
            version = full_box_version(meta.buf, meta.iinf, FMT) if meta.iinf else 0
            new[b"iinf"] = build_iinf(self.entries, version)
        if self.refs_changed:
            version = full_box_version(meta.buf, meta.iref, FMT) if meta.iref else 0
            new[b"iref"] = build_iref(self.refs, version, FMT) if self.refs else b""
        out: list[tuple[bytes, bytes, Box | None]] = []
        for child in meta.children:
            raw = new.pop(child.type, None)
            old = meta.buf[child.start : child.end]
            out.append((child.type, old if raw is None else raw, child))
        out.extend((name, raw, None) for name, raw in new.items())
        return [c for c in out if c[1]]

    def _layout(self, children: list[tuple[bytes, bytes, Box | None]], meta_size: int) -> None:
        """Record where every old top-level box and kept meta child lands."""
        self.starts, self.new_starts = [], []
        pos = 0
        for box in self.top:
            self.starts.append(box.start)
            if box is self.dropped:
                self.new_starts.append(None)
                continue
            self.new_starts.append(pos)
            if box.start == self.meta.box.start:
                self.new_meta_start = pos
                self.new_meta_end = pos + meta_size
                pos += meta_size + len(self.mdat)
            else:
                pos += box.size
        self.moved = []
        pos = BOX_HEADER.size + FULL_BOX.size
        for name, raw, old in children:
            if old is not None and name not in REBUILT:
                self.moved.append((old, pos))
            pos += len(raw)

    def relocate(self, at: int) -> int:
        """New position of the old absolute file offset ``at`` (chunk offsets)."""
        return self.relocate_extent(at, 0)

    def relocate_extent(self, at: int, length: int) -> int:
        """New position of old bytes ``[at, at + length)``; they must not straddle boxes."""
        i = bisect_right(self.starts, at) - 1
        box = self.top[i] if i >= 0 else None
        new = self.new_starts[i] if i >= 0 else None
        if box is None or at + length > box.end:
            raise CorruptFileError(FMT, at, "item data does not lie within one box")
        if new is None:
            raise UnsupportedFormatError(f"heif: data at offset {at} shares the XMP mdat box")
        if box.start != self.meta.box.start:
            return new + at - box.start
        for old, pos in self.moved:
            if old.start <= at - box.start and at + length - box.start <= old.end:
                return self.new_meta_start + pos + at - box.start - old.start
        raise UnsupportedFormatError(f"heif: item data at offset {at} lies in the meta tables")


def _relocate_item(
    item: IlocItem,
    base: int,
    extents: list[tuple[int, int]],
    relocate: Callable[[int, int], int],
) -> None:
    """Recompute base/extent offsets of a file-offset item from its original values."""
    olds = [base + off for off, _ in extents]
    news = [relocate(at, length) for at, (_, length) in zip(olds, extents, strict=True)]
    shifts = {n - o for n, o in zip(news, olds, strict=True)}
    shift = next(iter(shifts)) if len(shifts) == 1 else 0
    if base and len(shifts) == 1 and base + shift >= 0:
        item.base_offset = base + shift
        offsets = [off for off, _ in extents]
    else:
        item.base_offset = base if all(n >= base for n in news) else 0
        offsets = [n - item.base_offset for n in news]
    item.extents = [
        Extent(e.index, off, length)
        for e, off, (_, length) in zip(item.extents, offsets, extents, strict=True)
    ]


def _has_label(packet: bytes, limits: Limits) -> bool:
    try:
        return bool(read_xmp(packet, limits).aigc)
    except AigcLabelError:
        return False
