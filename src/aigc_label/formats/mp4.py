"""MP4 / MOV / M4A handler: the label is a QuickTime metadata key (GB 45438 spec section 4).

Placement, byte for byte what ``ffmpeg -c copy -metadata AIGC=... -movflags
use_metadata_tags`` writes: ``moov/udta/meta`` (full box) with ``hdlr`` type
``mdta``, a ``keys`` entry ``mdta`` + ``AIGC`` and an ``ilst`` item typed by that
key's 1-based index holding a UTF-8 ``data`` box with the bare label JSON. Other
keys and items are kept (and renumbered only when a duplicate ``AIGC`` key goes).

A file has one keys table that readers use: ffmpeg parses only the first ``keys``
box it meets and maps every later ``ilst`` through it. So the label joins an
existing table: ``udta/meta`` when its handler is ``mdta``, else QuickTime's own
``moov/meta`` when that is ``mdta`` (iPhone files, exiftool). An iTunes
``udta/meta`` (handler ``mdir``, what ffmpeg writes by default) gets its handler
switched to ``mdta`` plus a ``keys`` box before ``ilst``; its ``©nam``-style items
stay as they are, and ffprobe, exiftool and mutagen read both kinds of item from
that one ``ilst``. A ``udta/meta`` with any other handler leaves room only for a
new ``moov/meta`` (QuickTime style, no version/flags word).

Also read (``standard=False``) and moved into the standard place on write: the
``AIGC`` key of a second keys table, iTunes free-form ``----:com.apple.iTunes:AIGC``
items, and TC260:AIGC in XMP (top-level ``uuid`` BE7ACFCB-97A9-42E8-9C71-999491E3AFAC
box, QuickTime ``udta/XMP_``); XMP keeps its other properties.

Why hand-written: mutagen writes only iTunes tags, and ffmpeg rewrites every
box and drops metadata it does not know. We rebuild only ``moov``. When it grows
past the ``free``/``skip``/``wide`` boxes right after it and media data follows,
everything after it moves: ``stco``/``co64`` chunk offsets, ``tfhd``
base_data_offset and ``tfra`` moof offsets are shifted, and ``sidx`` ranges are
checked to stay contiguous; a 1 KiB ``free`` box is left after ``moov`` so the
next relabel fits in place (:meth:`Mp4Handler.write_in_place`). ``moov`` at the
end of the file is rewritten alone. ``mdat`` and every other box are copied in
blocks, unchanged.

Limits: ``moov`` is loaded up to ``limits.max_metadata_bytes`` for writing;
reading loads only ``udta``, ``meta`` and XMP ``uuid`` boxes and seeks over
``mdat``/``moof``; boxes and table entries count against ``limits.max_items``.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from .._io import COPY_BLOCK, copy_range, stream_size
from ..errors import CorruptFileError, TruncatedError, UnsupportedFormatError
from ..limits import Limits
from ..model import Problem
from ._bmff import (
    BOX_HEADER,
    LARGESIZE,
    U32,
    Box,
    Budget,
    Cursor,
    iter_boxes,
    iter_buffer_boxes,
    make_box,
    put_uint,
    read_box,
    shift_chunk_offsets,
)
from ._mp4meta import (
    MDIR,
    MDTA,
    QT_XMP,
    XMP_UUID,
    Meta,
    edit_meta,
    label_values,
    new_meta,
    parse_meta,
    strip_xmp,
)
from .base import FoundLabel, Handler, ReadResult, WriteOptions, collect_xmp
from .heif import HeifHandler

FMT = "mp4"

QT_FIRST_BOXES = frozenset({b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"})
"""First box types of old QuickTime files that have no ``ftyp``."""

FREE_TYPES = frozenset({b"free", b"skip", b"wide"})
"""Top-level boxes whose bytes are free space (absorb ``moov`` growth)."""

PADDING = 1024
"""Size of the ``free`` box left after a ``moov`` that had to move the media data."""

TFHD_BASE_DATA_OFFSET = 0x000001
"""tfhd flag: an absolute base_data_offset (u64) follows track_ID."""

CONVERT_ITUNES_META = True
"""Put the keys table into an iTunes (``mdir``) ``udta/meta`` (True) or add ``moov/meta``.

True keeps the spec placement (moov/udta/meta) and lets mutagen see the label
(as item ``\x00\x00\x00\x01``); ffmpeg then logs a warning for each iTunes
item it has no name for (``tmpo``, store IDs). False leaves the iTunes box
untouched and writes QuickTime's ``moov/meta`` as exiftool does; mutagen does
not read that box.
"""

PAYLOAD_BOXES = frozenset({b"mdat", b"moof", b"free", b"skip", b"wide"})
"""Boxes a truncated file may end in without losing its metadata."""

EXCLUDED_BRANDS = frozenset({b"crx "})
"""ISO-based formats that are not movies (Canon CR3 has absolute offsets in uuid boxes)."""

_HEIF = HeifHandler()


@dataclass
class _Child:
    """A box inside ``moov``; ``buf`` holds it when loaded (offset 0 = its start)."""

    box: Box
    """Absolute stream coordinates."""
    buf: bytes | None = None

    def local(self) -> Box:
        b = self.box
        return Box(b.type, 0, b.header_size, b.size, b.usertype)


@dataclass
class _Scan:
    """Tag boxes of one ``moov``: every meta, every XMP packet, the label's slot."""

    metas: dict[tuple[int, int], Meta] = field(default_factory=dict)
    """(child index, start within the child's buffer) -> parsed meta."""
    xmps: dict[tuple[int, int], tuple[bytes, int, str]] = field(default_factory=dict)
    """(child index, start within the child's buffer) -> (packet, offset, placement)."""
    udta: int | None = None
    """Index of the first ``udta`` child."""
    slot: str = "udta"
    """Where the label belongs: ``udta`` (udta/meta) or ``moov`` (moov/meta)."""
    primary: Meta | None = None
    """The existing meta that holds (or will hold) the label."""


def _is_xmp_box(box: Box) -> bool:
    return box.type == QT_XMP or (box.type == b"uuid" and box.usertype == XMP_UUID)


def _xmp_payload(buf: bytes, box: Box) -> bytes:
    return bytes(buf[box.payload_start : box.end])


def _scan(children: list[_Child], budget: Budget) -> _Scan:
    scan = _Scan()
    udta_meta: Meta | None = None
    moov_meta: Meta | None = None
    for i, child in enumerate(children):
        if child.buf is None:
            continue
        buf, local, base = child.buf, child.local(), child.box.start
        if child.box.type == b"udta":
            if scan.udta is None:
                scan.udta = i
            for kid in iter_buffer_boxes(buf, local.payload_start, local.end, FMT, budget, base):
                if kid.type == b"meta":
                    meta = parse_meta(buf, kid, FMT, budget, base)
                    scan.metas[i, kid.start] = meta
                    if scan.udta == i and udta_meta is None:
                        udta_meta = meta
                elif _is_xmp_box(kid):
                    where = "moov/udta/XMP_" if kid.type == QT_XMP else "moov/udta/uuid XMP"
                    scan.xmps[i, kid.start] = (_xmp_payload(buf, kid), base + kid.start, where)
        elif child.box.type == b"meta":
            meta = parse_meta(buf, local, FMT, budget, base)
            scan.metas[i, 0] = meta
            moov_meta = moov_meta or meta
        elif _is_xmp_box(child.box):
            scan.xmps[i, 0] = (_xmp_payload(buf, local), base, "moov/uuid XMP")
    if udta_meta is not None and udta_meta.handler == MDTA:
        scan.primary = udta_meta
    elif moov_meta is not None and moov_meta.handler == MDTA:
        scan.slot, scan.primary = "moov", moov_meta
    elif udta_meta is None or (udta_meta.handler == MDIR and CONVERT_ITUNES_META):
        scan.primary = udta_meta
    else:
        scan.slot, scan.primary = "moov", moov_meta
    return scan


def _placement(meta: Meta, scan: _Scan) -> str:
    where = "moov/meta" if any(m is meta for k, m in scan.metas.items() if k[1] == 0) else None
    return f"{where or 'moov/udta/meta'} keys AIGC"


def _nonstandard_xmp(
    packet: bytes, where: str, offset: int, limits: Limits, result: ReadResult
) -> None:
    found = ReadResult()
    collect_xmp(packet, where, offset, limits, found)
    result.labels += [replace(label, standard=False) for label in found.labels]
    result.problems += found.problems
    result.digital_source_types += found.digital_source_types


def _free_header(size: int) -> bytes:
    if size <= 0xFFFF_FFFF:
        return BOX_HEADER.pack(size, b"free")
    return BOX_HEADER.pack(1, b"free") + LARGESIZE.pack(size)


class Mp4Handler(Handler):
    name = "mp4"
    extensions = ("mp4", "m4a", "m4v", "m4b", "mov", "qt", "3gp", "3g2", "f4v")
    mime_types = ("video/mp4", "audio/mp4", "video/quicktime")

    def sniff(self, head: bytes) -> bool:
        if len(head) < 12:
            return False
        if head[4:8] == b"ftyp":
            return head[8:12] not in EXCLUDED_BRANDS and not _HEIF.sniff(head)
        (size,) = U32.unpack_from(head)
        return head[4:8] in QT_FIRST_BOXES and (size in (0, 1) or size >= BOX_HEADER.size)

    # --- reading ----------------------------------------------------------------------

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        result = ReadResult()
        budget = Budget(limits, FMT)
        try:
            for box in iter_boxes(src, 0, stream_size(src), FMT, budget):
                if box.type == b"moov":
                    self._read_moov(src, box, limits, budget, result)
                elif _is_xmp_box(box):
                    packet = read_box(src, box, limits.max_xmp_bytes, FMT)[box.header_size :]
                    _nonstandard_xmp(packet, "uuid XMP box", box.start, limits, result)
        except TruncatedError as e:
            # A cut-off download still shows the label its (earlier) moov carries.
            src.seek(e.offset or 0)
            if src.read(BOX_HEADER.size)[4:] not in PAYLOAD_BOXES:
                raise
            result.problems.append(Problem("truncated", e.message, "warning"))
        return result

    def _read_moov(
        self, src: BinaryIO, moov: Box, limits: Limits, budget: Budget, result: ReadResult
    ) -> None:
        children = []
        for box in list(iter_boxes(src, moov.payload_start, moov.end, FMT, budget)):
            wanted = box.type in (b"udta", b"meta") or _is_xmp_box(box)
            buf = read_box(src, box, limits.max_metadata_bytes, FMT) if wanted else None
            children.append(_Child(box, buf))
        scan = _scan(children, budget)
        for meta in scan.metas.values():
            keyed, freeform = label_values(meta, FMT, budget)
            standard = meta is scan.primary
            where = _placement(meta, scan)
            result.labels += [FoundLabel(v.value, where, v.offset, standard) for v in keyed]
            result.labels += [
                FoundLabel(v.value, "iTunes ----:com.apple.iTunes:AIGC", v.offset, False)
                for v in freeform
            ]
        for packet, offset, where in scan.xmps.values():
            _nonstandard_xmp(packet, where, offset, limits, result)

    # --- writing ----------------------------------------------------------------------

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        plan = _Plan(src, opts, limits)
        plan.layout(in_place=False)
        plan.emit(dst)

    def write_in_place(self, f: BinaryIO, opts: WriteOptions, limits: Limits) -> bool:
        """Label ``f`` (opened ``r+b``) in place when nothing but ``moov`` has to change.

        That is when the new ``moov`` fits in the old one plus the free boxes
        right after it, or when ``moov`` is the last box: O(metadata) work, the
        media data is neither read nor moved. Returns False, with ``f``
        untouched, when the file has to be rewritten (use :meth:`write`).
        """
        f.seek(0)
        plan = _Plan(f, opts, limits)
        if plan.edits or not plan.layout(in_place=True):
            return False
        f.seek(plan.moov.start)
        f.write(plan.new_moov)
        if plan.tail:
            f.write(_free_header(plan.tail))
        if plan.at_end and not plan.tail:
            f.truncate(plan.moov.start + len(plan.new_moov))
        f.flush()
        return True


class _Plan:
    """The new ``moov`` and other box edits, and where every old box lands."""

    def __init__(self, src: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        self.src = src
        self.limits = limits
        self.budget = Budget(limits, FMT)
        self.size = stream_size(src)
        self.top = list(iter_boxes(src, 0, self.size, FMT, self.budget))
        moovs = [b for b in self.top if b.type == b"moov"]
        if not moovs:
            raise UnsupportedFormatError("mp4: no moov box to hold the metadata")
        if len(moovs) > 1:
            raise CorruptFileError(FMT, moovs[1].start, "more than one moov box")
        self.moov = moovs[0]
        self.edits: dict[int, bytes] = {}
        """Top-level box start -> replacement (XMP uuid boxes that lose a label copy)."""
        for box in self.top:
            if _is_xmp_box(box):
                packet = read_box(src, box, limits.max_xmp_bytes, FMT)[box.header_size :]
                stripped = strip_xmp(packet, limits)
                if stripped is not None:
                    self.edits[box.start] = make_box(b"uuid", stripped, XMP_UUID)
        self.new_moov = self._build_moov(opts.label_json)
        self.tail = 0
        self.at_end = False
        self.starts: list[int] = []
        self.new_starts: list[int] = []
        self.dropped: set[int] = set()
        self.shifted = False

    def _build_moov(self, value: str) -> bytes:
        moov, budget = self.moov, self.budget
        buf = read_box(self.src, moov, self.limits.max_metadata_bytes, FMT)
        local = Box(moov.type, 0, moov.header_size, moov.size)
        children = []
        for box in iter_buffer_boxes(buf, local.payload_start, local.end, FMT, budget, moov.start):
            at, end = moov.start + box.start, moov.start + box.end
            absolute = Box(box.type, at, box.header_size, end, box.usertype)
            children.append(_Child(absolute, buf[box.start : box.end]))
        scan = _scan(children, budget)
        if scan.slot == "moov" and scan.primary is None and any(k[1] == 0 for k in scan.metas):
            raise UnsupportedFormatError("mp4: moov/meta and udta/meta both use other handlers")
        body: list[bytes] = []
        for i, child in enumerate(children):
            cbuf = child.buf or b""
            if child.box.type == b"udta":
                body.append(self._build_udta(i, child, scan, value))
            elif (i, 0) in scan.metas:
                meta = scan.metas[i, 0]
                body.append(edit_meta(meta, value if meta is scan.primary else None, FMT, budget))
            elif (i, 0) in scan.xmps:
                body.append(self._strip(cbuf, child.local(), scan.xmps[i, 0][0]))
            else:
                body.append(cbuf)
        if scan.primary is None and scan.slot == "udta" and scan.udta is None:
            body.append(make_box(b"udta", new_meta(value, qt_style=False)))
        elif scan.primary is None and scan.slot == "moov":
            body.append(new_meta(value, qt_style=True))
        return make_box(b"moov", b"".join(body))

    def _build_udta(self, i: int, child: _Child, scan: _Scan, value: str) -> bytes:
        buf, local, budget = child.buf or b"", child.local(), self.budget
        parts = []
        for kid in iter_buffer_boxes(
            buf, local.payload_start, local.end, FMT, budget, child.box.start
        ):
            if (i, kid.start) in scan.metas:
                meta = scan.metas[i, kid.start]
                parts.append(edit_meta(meta, value if meta is scan.primary else None, FMT, budget))
            elif (i, kid.start) in scan.xmps:
                parts.append(self._strip(buf, kid, scan.xmps[i, kid.start][0]))
            else:
                parts.append(buf[kid.start : kid.end])
        if scan.primary is None and scan.slot == "udta" and scan.udta == i:
            parts.append(new_meta(value, qt_style=False))
        return make_box(b"udta", b"".join(parts))

    def _strip(self, buf: bytes, box: Box, packet: bytes) -> bytes:
        stripped = strip_xmp(packet, self.limits)
        if stripped is None:
            return bytes(buf[box.start : box.end])
        return make_box(box.type, stripped, box.usertype)

    # --- layout -----------------------------------------------------------------------

    def layout(self, in_place: bool) -> bool:
        """Place the new ``moov``; True when nothing after it moves."""
        i = self.top.index(self.moov)
        run = []
        for box in self.top[i + 1 :]:
            if box.type not in FREE_TYPES:
                break
            run.append(box)
        space = self.moov.size + sum(b.size for b in run)
        new = len(self.new_moov)
        self.at_end = i + 1 + len(run) == len(self.top)
        fits = new == space or new + BOX_HEADER.size <= space
        if fits:
            self.tail = space - new
        elif self.at_end:
            self.tail = 0
        elif in_place:
            return False
        else:
            self.tail = PADDING
        self.dropped = {b.start for b in run}
        pos = 0
        for box in self.top:
            self.starts.append(box.start)
            self.new_starts.append(pos)
            if box is self.moov:
                pos += new + self.tail
            elif box.start in self.dropped:
                continue
            else:
                pos += len(self.edits.get(box.start, b"")) or box.size
        self.new_end = pos
        self.shifted = any(
            n != o
            for n, o, b in zip(self.new_starts, self.starts, self.top, strict=True)
            if b.start not in self.dropped
        )
        return fits or self.at_end

    def relocate(self, at: int) -> int:
        """New offset of the old file offset ``at``."""
        if at >= self.size:
            return at + self.new_end - self.size if at == self.size else at
        i = bisect_right(self.starts, at) - 1
        if i < 0:
            return at
        return self.new_starts[i] + at - self.starts[i]

    # --- output -----------------------------------------------------------------------

    def emit(self, dst: BinaryIO) -> None:
        moov = self.new_moov
        if self.shifted:
            buf = bytearray(moov)
            local = Box(b"moov", 0, BOX_HEADER.size if buf[:4] != b"\0\0\0\1" else 16, len(buf))
            shift_chunk_offsets(buf, local, self.relocate, FMT, self.budget)
            moov = bytes(buf)
            for box in self.top:
                if box.type == b"sidx":
                    self._check_sidx(box)
        for box in self.top:
            if box is self.moov:
                dst.write(moov)
                if self.tail:
                    dst.write(_free_header(self.tail))
                    left = self.tail - len(_free_header(self.tail))
                    while left > 0:
                        dst.write(bytes(min(left, COPY_BLOCK)))
                        left -= COPY_BLOCK
            elif box.start in self.dropped:
                continue
            elif box.start in self.edits:
                dst.write(self.edits[box.start])
            elif self.shifted and box.type in (b"moof", b"mfra"):
                dst.write(self._patched(box))
            else:
                copy_range(self.src, dst, box.start, box.size, FMT)

    def _patched(self, box: Box) -> bytes:
        """A ``moof`` with shifted tfhd base_data_offset, or ``mfra`` with shifted tfra."""
        buf = bytearray(read_box(self.src, box, self.limits.max_metadata_bytes, FMT))
        local = Box(box.type, 0, box.header_size, box.size)
        for child in list(
            iter_buffer_boxes(buf, local.payload_start, local.end, FMT, self.budget, box.start)
        ):
            if child.type == b"traf":
                for kid in list(
                    iter_buffer_boxes(
                        buf, child.payload_start, child.end, FMT, self.budget, box.start
                    )
                ):
                    if kid.type == b"tfhd":
                        self._patch_tfhd(buf, kid, box.start)
            elif child.type == b"tfra":
                self._patch_tfra(buf, child, box.start)
        return bytes(buf)

    def _patch_tfhd(self, buf: bytearray, box: Box, base: int) -> None:
        cur = Cursor(buf, box.payload_start, box.end, FMT, base)
        _version, flags = cur.full_box()
        cur.uint(4, "track ID")
        if flags & TFHD_BASE_DATA_OFFSET:
            pos = cur.pos
            value = cur.uint(8, "base data offset")
            buf[pos : pos + 8] = put_uint(self.relocate(value), 8, FMT, "base data offset")

    def _patch_tfra(self, buf: bytearray, box: Box, base: int) -> None:
        cur = Cursor(buf, box.payload_start, box.end, FMT, base)
        version, _flags = cur.full_box()
        cur.uint(4, "track ID")
        sizes = cur.uint(4, "tfra field sizes")
        wide = 8 if version == 1 else 4
        tail = ((sizes >> 4) & 3) + ((sizes >> 2) & 3) + (sizes & 3) + 3
        n = cur.count(4, 2 * wide + tail, "tfra entry")
        self.budget.take(n)
        for _ in range(n):
            cur.uint(wide, "time")
            pos = cur.pos
            value = cur.uint(wide, "moof offset")
            buf[pos : pos + wide] = put_uint(self.relocate(value), wide, FMT, "moof offset")
            cur.take(tail, "tfra entry numbers")

    def _check_sidx(self, box: Box) -> None:
        """Refuse when a shift would change the byte ranges a ``sidx`` describes."""
        buf = read_box(self.src, box, self.limits.max_metadata_bytes, FMT)
        cur = Cursor(buf, box.header_size, box.size, FMT, box.start)
        version, _flags = cur.full_box()
        cur.uint(8, "reference ID and timescale")
        wide = 8 if version else 4
        cur.uint(wide, "earliest presentation time")
        first = cur.uint(wide, "first offset")
        cur.uint(2, "reserved")
        n = cur.count(2, 12, "sidx reference")
        self.budget.take(n)
        total = 0
        for _ in range(n):
            total += cur.uint(4, "reference size") & 0x7FFF_FFFF
            cur.uint(8, "reference duration and SAP")
        anchor = box.end
        points = (anchor, anchor + first, min(anchor + first + total, self.size))
        if len({self.relocate(p) - p for p in points}) > 1:
            msg = "mp4: moov grows inside the range a sidx box indexes; not supported"
            raise UnsupportedFormatError(msg)


__all__ = ["Mp4Handler"]
