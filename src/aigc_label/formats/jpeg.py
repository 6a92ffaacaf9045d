"""JPEG handler: XMP in an APP1 segment (spec section 4, TC260 image guide PG-20259A).

The label is the TC260:AIGC property of the standard XMP packet, stored in an
APP1 segment that starts with ``http://ns.adobe.com/xap/1.0/\\0`` (XMP
specification part 3, section 1.1.3). A standard packet holds at most 65502
bytes; a larger one would need ExtendedXMP, which we do not write
(:class:`LimitExceededError`).

Hand-written because Pillow re-encodes the image on save and no maintained
Python library edits JPEG segments in place. Only the marker segments between
SOI and the first SOS are walked; entropy-coded data is never scanned, it is
copied from SOS to the end of file in blocks.

Read: every standard XMP APP1 segment is examined; ExtendedXMP segments
(``http://ns.adobe.com/xmp/extension/\\0``) are ignored for the label. An EXIF
(APP1 ``Exif\\0\\0``) UserComment holding ``{"AIGC":...}`` or a bare label, as
some phones write, is reported with ``standard=False``.

Write: the first standard XMP segment is replaced by the updated packet; later
standard XMP segments are dropped only when they carry a TC260:AIGC label
(otherwise kept). Without XMP a new segment is inserted after the leading
APP0/APP1 segments (JFIF, EXIF), i.e. before APP2 ICC/MPF. A UserComment label
is blanked in place (``ASCII\\0\\0\\0`` then spaces, same length) so the file
keeps one label and the EXIF layout is unchanged. Everything else (EXIF, ICC,
Adobe APP14, COM, ExtendedXMP, bytes between segments) is kept byte for byte.
When the edit changes the size of data that follows an MPF (APP2 ``MPF\\0``)
segment, the MPF image offsets are shifted by the same amount.

Limits: at most ``limits.max_items`` segments and fill bytes; segment lengths
are checked against the file size before reading; only APP1 and MPF APP2
payloads (each < 64 KiB) are loaded.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import BinaryIO

from .._io import read_exact, stream_size
from ..errors import AigcLabelError, CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits
from ..model import Problem
from ..xmp import read_xmp, update_xmp
from ._exif import (
    Edit,
    blank_user_comment,
    label_in_comment,
    read_header,
    read_ifd,
    read_user_comment,
    shift_mp_entries,
    splice,
)
from .base import FoundLabel, Handler, ReadResult, WriteOptions, collect_xmp

FMT = "jpeg"
SOI = b"\xff\xd8"
APP0, APP1, APP2 = 0xE0, 0xE1, 0xE2
SOS, EOI = 0xDA, 0xD9
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
"""Markers without a length field (TEM, RST0-7)."""

XMP_SIG = b"http://ns.adobe.com/xap/1.0/\0"
EXT_XMP_SIG = b"http://ns.adobe.com/xmp/extension/\0"
EXIF_SIG = b"Exif\0\0"
MPF_SIG = b"MPF\0"
MAX_PACKET = 65502
"""Largest standard XMP packet in one APP1 segment (XMP spec part 3)."""

MARKER = struct.Struct(">BB")
LENGTH = struct.Struct(">H")
SEGMENT_HEADER = MARKER.size + LENGTH.size
"""0xFF, marker code, 2-byte big-endian length (which counts itself)."""

XMP_PLACEMENT = "APP1 XMP"
COMMENT_PLACEMENT = "EXIF UserComment"


@dataclass(frozen=True)
class Segment:
    """One marker segment before SOS."""

    marker: int
    start: int
    """Position of the 0xFF that precedes the marker code."""
    end: int
    data: bytes | None
    """Payload (after the length field) for APP1 and MPF APP2; None otherwise."""

    def payload_after(self, sig: bytes) -> bytes | None:
        if self.data is not None and self.data.startswith(sig):
            return self.data[len(sig) :]
        return None


class JpegHandler(Handler):
    name = "jpeg"
    extensions = ("jpg", "jpeg", "jpe")
    mime_types = ("image/jpeg",)

    def sniff(self, head: bytes) -> bool:
        return head[:3] == b"\xff\xd8\xff"

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        result = ReadResult()
        for seg in _walk(src, limits):
            packet = seg.payload_after(XMP_SIG)
            if packet is not None:
                collect_xmp(packet, XMP_PLACEMENT, seg.start, limits, result)
                continue
            try:
                found = _comment_label(seg, limits)
            except AigcLabelError as e:
                result.problems.append(
                    Problem("exif_unreadable", f"APP1 EXIF at {seg.start}: {e.message}", "warning")
                )
                continue
            if found is not None:
                result.labels.append(
                    FoundLabel(found[0], COMMENT_PLACEMENT, found[1], standard=False)
                )
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        segments = _walk(src, limits)
        xmp = [s for s in segments if s.payload_after(XMP_SIG) is not None]
        packet = update_xmp(
            xmp[0].payload_after(XMP_SIG) if xmp else None,
            opts.label_json,
            digital_source_type=opts.digital_source_type,
            limits=limits,
        )
        if len(packet) > MAX_PACKET:
            raise LimitExceededError("JPEG standard XMP packet", len(packet), MAX_PACKET, FMT)
        body = XMP_SIG + packet
        new_segment = MARKER.pack(0xFF, APP1) + LENGTH.pack(LENGTH.size + len(body)) + body
        edits: list[Edit] = []
        if xmp:
            edits.append((xmp[0].start, xmp[0].end, new_segment))
            edits.extend((s.start, s.end, b"") for s in xmp[1:] if _has_label(s, limits))
        else:
            at = _insert_position(segments)
            edits.append((at, at, new_segment))
        for seg in segments:
            try:
                found = _comment_label(seg, limits)
            except AigcLabelError:
                continue  # unreadable EXIF cannot hold a label we would report
            if found is not None:
                edits.append((found[1], found[1] + found[2], blank_user_comment(found[2])))
        edits.extend(_mpf_fixes(segments, edits, limits))
        splice(src, dst, edits, FMT)


def _walk(src: BinaryIO, limits: Limits) -> list[Segment]:
    """The marker segments from SOI up to (not including) SOS or EOI."""
    size = stream_size(src)
    src.seek(0)
    if read_exact(src, len(SOI), FMT, "SOI") != SOI:
        raise CorruptFileError(FMT, 0, "missing SOI marker")
    segments: list[Segment] = []
    pos = len(SOI)
    steps = 0
    while True:
        byte = src.read(1)
        if not byte:
            return segments  # no SOS: nothing but headers; the rest is copied as is
        if byte != b"\xff":
            raise CorruptFileError(FMT, pos, "expected a marker between segments")
        code = 0xFF
        while code == 0xFF:  # fill bytes; the last 0xFF belongs to the marker
            steps += 1
            if steps > limits.max_items:
                raise LimitExceededError("JPEG segments and fill bytes", steps, limits.max_items)
            start = src.tell() - 1
            code = read_exact(src, 1, FMT, "marker code")[0]
        if code in (SOS, EOI):
            return segments
        if code in STANDALONE:
            segments.append(Segment(code, start, start + MARKER.size, None))
            pos = start + MARKER.size
            continue
        if code in (0x00, 0xD8):
            raise CorruptFileError(FMT, start, f"invalid marker 0xFF{code:02X} in header")
        length = LENGTH.unpack(read_exact(src, LENGTH.size, FMT, "segment length"))[0]
        if length < LENGTH.size:
            raise CorruptFileError(FMT, start, f"segment length {length} is too small")
        end = start + MARKER.size + length
        if end > size:
            raise TruncatedError(FMT, start, f"segment declares {length} bytes past end of file")
        data = None
        if code in (APP1, APP2):
            data = read_exact(src, length - LENGTH.size, FMT, "APPn segment")
            if code == APP2 and not data.startswith(MPF_SIG):
                data = None
        else:
            src.seek(end)
        segments.append(Segment(code, start, end, data))
        pos = end


def _comment_label(seg: Segment, limits: Limits) -> tuple[str, int, int] | None:
    """(label, absolute value position, value size) of an EXIF UserComment label."""
    if seg.marker != APP1:
        return None
    tiff = seg.payload_after(EXIF_SIG)
    if tiff is None:
        return None
    f = io.BytesIO(tiff)
    header = read_header(f, FMT)
    ifd0 = read_ifd(f, header.layout, header.ifd0, limits, FMT)
    comment = read_user_comment(f, header, ifd0, limits, FMT)
    if comment is None:
        return None
    raw = label_in_comment(comment.text)
    if raw is None:
        return None
    base = seg.start + SEGMENT_HEADER + len(EXIF_SIG)
    return raw, base + comment.pos, comment.size


def _has_label(seg: Segment, limits: Limits) -> bool:
    packet = seg.payload_after(XMP_SIG)
    if packet is None:
        return False
    try:
        return bool(read_xmp(packet, limits).aigc)
    except AigcLabelError:
        return False


def _insert_position(segments: list[Segment]) -> int:
    """After the leading APP0/APP1 run (JFIF, EXIF), before APP2 ICC/MPF and the rest."""
    at = len(SOI)
    for seg in segments:
        if seg.marker not in (APP0, APP1):
            break
        at = seg.end
    return at


def _mpf_fixes(segments: list[Segment], edits: list[Edit], limits: Limits) -> list[Edit]:
    """Edits that keep MPF image offsets right when bytes after an MPF segment change size."""
    fixes: list[Edit] = []
    for seg in segments:
        mpf = seg.payload_after(MPF_SIG) if seg.marker == APP2 else None
        if mpf is None:
            continue
        delta = sum(len(data) - (end - start) for start, end, data in edits if start >= seg.end)
        if delta == 0:
            continue
        head = seg.start + SEGMENT_HEADER + len(MPF_SIG)
        fixes.append((head, head + len(mpf), shift_mp_entries(mpf, delta, limits, FMT)))
    return fixes
