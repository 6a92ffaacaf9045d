"""TIFF handler: XMP in IFD0 tag 700 (spec section 4, TC260 image guide PG-20259A).

The label is the TC260:AIGC property of the XMP packet stored as IFD0 tag 700
(0x02BC), type 7 UNDEFINED (type 1 BYTE is read too; XMP specification part 3
allows both). Classic TIFF and BigTIFF, little and big endian, are read and
written. A TIFF's strips, tiles and sub-IFDs are found through absolute
offsets, so rewriting the file would mean relocating every one of them; Pillow
and libtiff re-encode instead. This handler therefore never moves a byte:

* IFD0 already has tag 700: the updated packet is appended at the end of the
  file (word aligned) and the 12/20-byte tag 700 entry is rewritten in place to
  point to it. The old packet's bytes, now unreferenced, are overwritten with
  spaces so no stale label copy stays in the file.
* IFD0 has no tag 700: the packet and a copy of IFD0 with one more entry
  (entries sorted by tag, next-IFD pointer kept) are appended, and the header's
  IFD0 offset is patched to the copy. Every value offset of the old entries
  stays valid because nothing moved.

A label found in the EXIF sub-IFD's UserComment (phones do this) is reported as
non-standard; on write its value is overwritten in place with ``ASCII\\0\\0\\0``
and spaces of the same length, so the file keeps exactly one label and the EXIF
layout is unchanged. Only IFD0 is examined; XMP in later pages is left alone.

Limits: IFD entry counts are bounded by ``limits.max_items``; the XMP packet by
``limits.max_xmp_bytes``; other values by ``limits.max_metadata_bytes``; a
classic TIFF that would grow past 4 GiB raises :class:`LimitExceededError`.
"""

from __future__ import annotations

from typing import BinaryIO

from .._io import stream_size
from ..errors import AigcLabelError, CorruptFileError, LimitExceededError
from ..limits import Limits
from ..model import Problem
from ..xmp import update_xmp
from ._exif import (
    TAG_XMP,
    TYPE_BYTE,
    TYPE_SIZES,
    TYPE_UNDEFINED,
    Edit,
    Ifd,
    IfdEntry,
    TiffHeader,
    blank_user_comment,
    label_in_comment,
    read_header,
    read_ifd,
    read_user_comment,
    read_value,
    splice,
)
from .base import FoundLabel, Handler, ReadResult, WriteOptions, collect_xmp

FMT = "tiff"
MAGICS = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
"""Classic and BigTIFF signatures in both byte orders."""

CLASSIC_MAX_OFFSET = 0xFFFFFFFF
"""Largest offset a classic TIFF can express."""

XMP_PLACEMENT = "IFD0 tag 700 XMP"
COMMENT_PLACEMENT = "EXIF UserComment"


class TiffHandler(Handler):
    name = "tiff"
    extensions = ("tif", "tiff", "dng")
    mime_types = ("image/tiff",)

    def sniff(self, head: bytes) -> bool:
        return head[:4] in MAGICS

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        result = ReadResult()
        header = read_header(src, FMT)
        ifd0 = read_ifd(src, header.layout, header.ifd0, limits, FMT)
        entry = ifd0.find(TAG_XMP)
        if entry is not None:
            try:
                pos, packet = _xmp_value(src, header, entry, limits)
            except AigcLabelError as e:
                result.problems.append(Problem("xmp_unreadable", e.message, "warning"))
            else:
                collect_xmp(packet, XMP_PLACEMENT, pos, limits, result)
        try:
            comment = read_user_comment(src, header, ifd0, limits, FMT)
        except AigcLabelError as e:
            result.problems.append(
                Problem("exif_unreadable", f"EXIF sub-IFD: {e.message}", "warning")
            )
            comment = None
        if comment is not None:
            raw = label_in_comment(comment.text)
            if raw is not None:
                result.labels.append(
                    FoundLabel(raw, COMMENT_PLACEMENT, comment.pos, standard=False)
                )
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        header = read_header(src, FMT)
        lay = header.layout
        ifd0 = read_ifd(src, lay, header.ifd0, limits, FMT)
        size = stream_size(src)
        entry = ifd0.find(TAG_XMP)
        existing = _xmp_value(src, header, entry, limits) if entry is not None else None
        packet = update_xmp(
            existing[1] if existing else None,
            opts.label_json,
            digital_source_type=opts.digital_source_type,
            limits=limits,
        )
        edits: list[Edit] = []
        reserved = [(0, lay.header_size), (ifd0.offset, ifd0.end)]
        try:
            comment = read_user_comment(src, header, ifd0, limits, FMT)
        except AigcLabelError:
            comment = None  # unreadable EXIF cannot hold a label we would report
        if comment is not None and label_in_comment(comment.text) is not None:
            span = (comment.pos, comment.pos + comment.size)
            if _overlaps(span, reserved):
                raise CorruptFileError(FMT, comment.pos, "UserComment overlaps IFD0")
            edits.append((*span, blank_user_comment(comment.size)))
            reserved.append(span)

        packet_at = size + size % 2
        new_ifd_size = lay.count.size + (len(ifd0.entries) + 1) * lay.entry.size + lay.offset.size
        _check_size(header, packet_at + len(packet) + 1 + new_ifd_size)
        tail = b"\0" * (size % 2) + packet
        if entry is not None and existing is not None:
            typ = entry.type if entry.type in (TYPE_BYTE, TYPE_UNDEFINED) else TYPE_UNDEFINED
            new_entry = lay.entry.pack(TAG_XMP, typ, len(packet), lay.offset.pack(packet_at))
            edits.append((entry.pos, entry.pos + lay.entry.size, new_entry))
            old_pos, old = existing
            old_span = (old_pos, old_pos + len(old))
            if len(old) > lay.offset.size and not _overlaps(old_span, reserved):
                edits.append((*old_span, b" " * len(old)))
        else:
            ifd_at = packet_at + len(packet) + len(packet) % 2
            tail += b"\0" * (len(packet) % 2) + _ifd_with_xmp(header, ifd0, packet, packet_at)
            ptr = header.ifd0_pointer_pos
            edits.append((ptr, ptr + lay.offset.size, lay.offset.pack(ifd_at)))
        splice(src, dst, edits, FMT)
        dst.write(tail)


def _check_size(header: TiffHeader, end: int) -> None:
    """Offsets we write must fit the variant's offset field (32 bits for classic TIFF)."""
    limit = (1 << 63) if header.layout.big else CLASSIC_MAX_OFFSET
    if end > limit:
        raise LimitExceededError("TIFF size", end, limit, FMT)


def _overlaps(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)


def _xmp_value(
    src: BinaryIO, header: TiffHeader, entry: IfdEntry, limits: Limits
) -> tuple[int, bytes]:
    if TYPE_SIZES.get(entry.type) != 1:
        raise CorruptFileError(FMT, entry.pos, f"XMP tag 700 has field type {entry.type}")
    return read_value(src, entry, header.layout, limits.max_xmp_bytes, FMT, "XMP packet")


def _ifd_with_xmp(header: TiffHeader, ifd0: Ifd, packet: bytes, packet_at: int) -> bytes:
    """IFD0's entries plus a tag 700 entry pointing at ``packet_at``, sorted by tag."""
    lay = header.layout
    if len(ifd0.entries) >= (1 << (8 * lay.count.size)) - 1:
        raise LimitExceededError("IFD0 entries", len(ifd0.entries) + 1, 0xFFFF, FMT)
    rows = [(e.tag, lay.entry.pack(e.tag, e.type, e.count, e.value_field)) for e in ifd0.entries]
    rows.append(
        (TAG_XMP, lay.entry.pack(TAG_XMP, TYPE_UNDEFINED, len(packet), lay.offset.pack(packet_at)))
    )
    rows.sort(key=lambda r: r[0])
    return (
        lay.count.pack(len(rows)) + b"".join(r[1] for r in rows) + lay.offset.pack(ifd0.next_offset)
    )
