"""Shared ID3v2 tag walker, reader and writer (MP3 now; FLAC's ID3 prefix; WAV ``id3 `` later).

Implements the ID3v2.3.0 and ID3v2.4.0 informal standards (id3.org): a 10-byte
header ``"ID3" major revision flags size:syncsafe32``, an optional extended
header, frames ``id:4cc size:u32 (v2.3) | syncsafe32 (v2.4) flags:u16`` and
padding; v2.2 (3-character ids, 24-bit sizes) is read but never rewritten.

Where the label lives (spec section 4, MP3 row): a ``TXXX`` frame whose
description is ``AIGC`` and whose value is the bare label JSON. Also read and
reported as non-standard: ``TXXX`` descriptions spelled in another case,
``COMM`` frames whose description is ``AIGC`` or whose text is a label, and a
``PRIV`` frame with owner ``XMP`` holding an XMP packet (TC260:AIGC).

Reading walks frame headers and loads only ``TXXX``/``COMM``/``PRIV`` data
(bounded by ``Limits.max_metadata_bytes``; compressed frames inflate up to
``Limits.max_decompressed``; encrypted frames are skipped). Unsynchronisation is
undone on read: tag-wide for v2.3 (the whole body is loaded, bounded, decoded),
per frame for v2.4. Writing copies every other frame byte-for-byte from the
source in blocks (APIC covers are never loaded), drops the non-standard label
frames, strips TC260:AIGC from an XMP ``PRIV`` frame, and writes one ``TXXX``
frame. Rewritten tags lose the extended header (its CRC/padding/restrictions
would be stale) and, for v2.3, the unsynchronisation scheme (frames are written
decoded, same content); a v2.4 tag-wide unsync flag is kept since our ASCII
frame has no 0xFF byte. The tag keeps its version and size when the new frames
fit in the old body + padding, so the audio does not move.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

from .._io import copy_range, read_bounded, read_exact, remaining
from ..errors import CorruptFileError, LimitExceededError, UnsupportedFormatError
from ..limits import Limits
from ..xmp import _aigc_moved_elsewhere, read_xmp
from .base import FoundLabel, ReadResult, collect_xmp

HEADER = struct.Struct(">3sBBB4s")
"""Tag header (and v2.4 footer): ``ID3``/``3DI``, major, revision, flags, syncsafe size."""

FRAME_V23 = struct.Struct(">4sIH")
"""v2.3 frame header: id, plain u32 size, flags."""

FRAME_V24 = struct.Struct(">4s4sH")
"""v2.4 frame header: id, syncsafe size, flags."""

FRAME_V22 = struct.Struct(">3s3s")
"""v2.2 frame header: 3-character id, 24-bit size, no flags."""

U32 = struct.Struct(">I")

MAGIC = b"ID3"
FOOTER_MAGIC = b"3DI"

TAG_UNSYNC = 0x80
TAG_EXTENDED = 0x40
TAG_FOOTER = 0x10

V23_COMPRESS = 0x0080
V23_ENCRYPT = 0x0040
V23_GROUP = 0x0020
V24_GROUP = 0x0040
V24_COMPRESS = 0x0008
V24_ENCRYPT = 0x0004
V24_UNSYNC = 0x0002
V24_DATALEN = 0x0001

MAX_SYNCSAFE = (1 << 28) - 1
"""Largest size a syncsafe 32-bit field can hold."""

DEFAULT_PADDING = 1024
"""Padding given to a tag that has to grow, so the next relabel fits in place."""

LABEL_KEY = "AIGC"
TXXX_PLACEMENT = "ID3v2 TXXX:AIGC"
LABEL_FRAMES = {"TXXX", "COMM", "PRIV", "TXX", "COM"}
"""Frames whose data is loaded when looking for labels."""

_ENCODINGS = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}


def syncsafe(raw: bytes) -> int:
    """Decode a 4-byte syncsafe integer (7 bits per byte)."""
    value = 0
    for b in raw:
        value = (value << 7) | (b & 0x7F)
    return value


def to_syncsafe(n: int) -> bytes:
    """Encode ``n`` (< 2**28) as a 4-byte syncsafe integer."""
    return bytes((n >> s) & 0x7F for s in (21, 14, 7, 0))


def is_tag_header(head: bytes) -> bool:
    """True when ``head`` starts with a plausible ID3v2.2-2.4 tag header."""
    if len(head) < HEADER.size or head[:3] != MAGIC:
        return False
    return 2 <= head[3] <= 4 and head[4] != 0xFF and all(b < 0x80 for b in head[6:10])


@dataclass(frozen=True)
class Frame:
    """One frame as found; its data is not loaded."""

    fid: str
    flags: int
    start: int
    """Offset of the frame header in :attr:`Tag.body`."""
    header_size: int
    size: int
    """Stored data size."""

    @property
    def total(self) -> int:
        return self.header_size + self.size


@dataclass
class Tag:
    """One ID3v2 tag: where it is and its frames (data left in :attr:`body`)."""

    offset: int
    major: int
    revision: int
    flags: int
    size: int
    """Declared body size (after the header, without a footer)."""
    body: BinaryIO
    """Stream the frame offsets refer to: the file, or the decoded body of a v2.3 unsync tag."""
    frames: list[Frame] = field(default_factory=list)
    decoded: bool = False
    """True when :attr:`body` is the decoded in-memory body (v2.3 unsynchronisation)."""

    @property
    def end(self) -> int:
        """Offset just past the tag (footer included) in the file."""
        footer = HEADER.size if self.flags & TAG_FOOTER and self.major >= 4 else 0
        return self.offset + HEADER.size + self.size + footer


def scan_tags(src: BinaryIO, start: int, fmt: str, limits: Limits) -> list[Tag]:
    """Every ID3v2 tag that follows directly from ``start`` (usually one)."""
    tags: list[Tag] = []
    pos = start
    while len(tags) < limits.max_items:
        src.seek(pos)
        head = src.read(HEADER.size)
        if not is_tag_header(head):
            if head[:3] == MAGIC and len(head) == HEADER.size:
                raise CorruptFileError(fmt, pos, "invalid ID3v2 tag header")
            break
        tag = parse_tag(src, pos, fmt, limits)
        tags.append(tag)
        pos = tag.end
    return tags


def parse_tag(src: BinaryIO, offset: int, fmt: str, limits: Limits) -> Tag:
    """Walk the frame headers of the tag at ``offset``."""
    src.seek(offset)
    _, major, revision, flags, raw_size = HEADER.unpack(read_exact(src, HEADER.size, fmt, "ID3"))
    size = syncsafe(raw_size)
    footer = HEADER.size if flags & TAG_FOOTER and major >= 4 else 0
    if size + footer > remaining(src):
        raise CorruptFileError(fmt, offset, f"ID3v2 tag declares {size} bytes past end of file")
    tag = Tag(offset, major, revision, flags, size, src)
    start, end = offset + HEADER.size, offset + HEADER.size + size
    if major <= 3 and flags & TAG_UNSYNC:
        raw = read_bounded(src, size, limits.max_metadata_bytes, fmt, "unsynchronised ID3 tag")
        tag.body = io.BytesIO(raw.replace(b"\xff\x00", b"\xff"))
        tag.decoded = True
        start, end = 0, len(tag.body.getvalue())
    if flags & TAG_EXTENDED and major >= 3:
        tag.body.seek(start)
        ext = read_exact(tag.body, 4, fmt, "ID3 extended header")
        start += syncsafe(ext) if major >= 4 else 4 + U32.unpack(ext)[0]
        if start > end or (major >= 4 and syncsafe(ext) < 6):
            raise CorruptFileError(fmt, offset, "ID3 extended header overruns the tag")
    _walk_frames(tag, start, end, fmt, limits)
    return tag


def _walk_frames(tag: Tag, pos: int, end: int, fmt: str, limits: Limits) -> None:
    spec = FRAME_V22 if tag.major == 2 else FRAME_V24 if tag.major == 4 else FRAME_V23
    id_len = 3 if tag.major == 2 else 4
    while pos + spec.size <= end:
        if len(tag.frames) >= limits.max_items:
            raise LimitExceededError("ID3 frames", len(tag.frames) + 1, limits.max_items, fmt)
        tag.body.seek(pos)
        head = read_exact(tag.body, spec.size, fmt, "ID3 frame header")
        fid = head[:id_len]
        if not all(0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A for c in fid):
            break  # padding (zeros) or junk: the frame list ends here
        flags = 0
        if tag.major == 2:
            size = int.from_bytes(head[3:6], "big")
        elif tag.major == 3:
            _, size, flags = FRAME_V23.unpack(head)
        else:
            _, raw, flags = FRAME_V24.unpack(head)
            size = syncsafe(raw) if all(b < 0x80 for b in raw) else U32.unpack(raw)[0]
        if pos + spec.size + size > end:
            raise CorruptFileError(fmt, pos, f"ID3 frame {fid!r} overruns its tag")
        tag.frames.append(Frame(fid.decode("ascii"), flags, pos, spec.size, size))
        pos += spec.size + size


def frame_data(tag: Tag, frame: Frame, fmt: str, limits: Limits) -> bytes | None:
    """The frame's content with unsync/compression undone; None when encrypted."""
    tag.body.seek(frame.start + frame.header_size)
    data = read_bounded(tag.body, frame.size, limits.max_metadata_bytes, fmt, "ID3 frame")
    compressed = False
    if tag.major == 3:
        skip = 4 if frame.flags & V23_COMPRESS else 0
        if frame.flags & V23_ENCRYPT:
            return None
        skip += 1 if frame.flags & V23_GROUP else 0
        compressed = bool(frame.flags & V23_COMPRESS)
        data = data[skip:]
    elif tag.major == 4:
        if frame.flags & V24_ENCRYPT:
            return None
        skip = (1 if frame.flags & V24_GROUP else 0) + (4 if frame.flags & V24_DATALEN else 0)
        data = data[skip:]
        if frame.flags & V24_UNSYNC or tag.flags & TAG_UNSYNC:
            data = data.replace(b"\xff\x00", b"\xff")
        compressed = bool(frame.flags & V24_COMPRESS)
    if compressed:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(data, limits.max_decompressed)
        except zlib.error as e:
            raise CorruptFileError(fmt, frame.start, f"bad compressed ID3 frame: {e}") from e
        if inflater.unconsumed_tail:
            raise LimitExceededError(
                "ID3 frame inflated size", limits.max_decompressed + 1, limits.max_decompressed, fmt
            )
    return data


def _split_text(data: bytes, encoding: int) -> tuple[bytes, bytes]:
    """Split at the first terminator of ``encoding`` (``\\0`` or aligned ``\\0\\0``)."""
    if encoding in (1, 2):
        for i in range(0, len(data) - 1, 2):
            if data[i : i + 2] == b"\x00\x00":
                return data[:i], data[i + 2 :]
        return data, b""
    head, _, rest = data.partition(b"\x00")
    return head, rest


def _decode(raw: bytes, encoding: int) -> str:
    text = raw.decode(_ENCODINGS.get(encoding, "latin-1"), errors="replace")
    return text.lstrip("\ufeff").rstrip("\x00")


def looks_like_label(text: str) -> bool:
    """True for a JSON object that is (or wraps) a GB 45438 label."""
    t = text.strip().lstrip("\ufeff")
    return t.startswith("{") and ('"AIGC"' in t or '"ContentProducer"' in t)


@dataclass(frozen=True)
class LabelFrame:
    """A frame that carries a label copy (or an XMP packet holding one)."""

    index: int
    raw: str | None
    """Label value for TXXX/COMM frames."""
    standard: bool
    xmp: bytes | None = None
    """The XMP packet of a ``PRIV`` owner ``XMP`` frame."""


def label_frames(tag: Tag, fmt: str, limits: Limits, txxx_standard: bool) -> list[LabelFrame]:
    """Frames of ``tag`` that hold a label or an XMP packet, in order."""
    found: list[LabelFrame] = []
    for i, frame in enumerate(tag.frames):
        if frame.fid not in LABEL_FRAMES:
            continue
        data = frame_data(tag, frame, fmt, limits)
        if not data:
            continue
        if frame.fid == "PRIV":
            owner, _, packet = data.partition(b"\x00")
            if owner == b"XMP":
                found.append(LabelFrame(i, None, False, packet))
            continue
        enc, body = data[0], data[1:]
        if frame.fid in ("COMM", "COM"):
            body = body[3:]  # language code
        desc_raw, value_raw = _split_text(body, enc)
        desc, value = _decode(desc_raw, enc), _decode(value_raw, enc)
        if frame.fid in ("TXXX", "TXX"):
            if desc == LABEL_KEY:
                found.append(LabelFrame(i, value, txxx_standard and frame.fid == "TXXX"))
            elif desc.strip().upper() == LABEL_KEY:
                found.append(LabelFrame(i, value, False))
        elif desc.strip().upper() == LABEL_KEY or looks_like_label(value):
            found.append(LabelFrame(i, value, False))
    return found


def _placement(tag: Tag, frame: Frame, standard: bool) -> str:
    """Where a TXXX/COMM label sits, for :class:`FoundLabel`."""
    if standard:
        return TXXX_PLACEMENT
    return f"ID3v2.{tag.major} {frame.fid}"


def collect_labels(
    tags: list[Tag], fmt: str, limits: Limits, out: ReadResult, *, txxx_standard: bool
) -> None:
    """Add every label copy of ``tags`` to ``out`` (XMP via :func:`collect_xmp`)."""
    for tag in tags:
        for lf in label_frames(tag, fmt, limits, txxx_standard):
            frame = tag.frames[lf.index]
            where = tag.offset if tag.decoded else frame.start
            if lf.xmp is not None:
                before = len(out.labels)
                collect_xmp(lf.xmp, f"ID3v2.{tag.major} PRIV XMP", where, limits, out)
                for k in range(before, len(out.labels)):
                    old = out.labels[k]
                    out.labels[k] = FoundLabel(old.raw, old.placement, old.offset, standard=False)
            elif lf.raw is not None:
                out.labels.append(
                    FoundLabel(lf.raw, _placement(tag, frame, lf.standard), where, lf.standard)
                )


def make_frame(major: int, fid: str, data: bytes) -> bytes:
    """A frame header (flags 0) plus ``data`` in the layout of ID3v2.``major``."""
    if major == 4:
        if len(data) > MAX_SYNCSAFE:
            raise LimitExceededError("ID3 frame size", len(data), MAX_SYNCSAFE, "id3")
        return FRAME_V24.pack(fid.encode("ascii"), to_syncsafe(len(data)), 0) + data
    return FRAME_V23.pack(fid.encode("ascii"), len(data), 0) + data


def txxx_frame(major: int, description: str, value: str) -> bytes:
    """A ``TXXX`` frame; ISO-8859-1 (encoding 0) when it fits, else UTF-8/UTF-16."""
    try:
        data = b"\x00" + description.encode("latin-1") + b"\x00" + value.encode("latin-1")
    except UnicodeEncodeError:
        if major == 4:
            data = b"\x03" + description.encode() + b"\x00" + value.encode()
        else:
            data = b"\x01" + description.encode("utf-16") + b"\x00\x00" + value.encode("utf-16")
    return make_frame(major, "TXXX", data)


def strip_xmp_label(packet: bytes, limits: Limits) -> bytes:
    """``packet`` without its TC260:AIGC properties (unchanged when it has none or is unreadable).

    Our label goes to ``TXXX``; a copy left in XMP would be a second label.
    """
    try:
        if not read_xmp(packet, limits).aigc:
            return packet
        return _aigc_moved_elsewhere(packet, limits)
    except (CorruptFileError, LimitExceededError):
        return packet


def write_tag(
    tag: Tag,
    dst: BinaryIO,
    fmt: str,
    limits: Limits,
    label_json: str | None,
) -> None:
    """Write ``tag`` without label frames, plus one ``TXXX:AIGC`` when ``label_json`` is set.

    Frames are copied from :attr:`Tag.body` in blocks. The new frame takes the
    place of the first standard label frame, else goes last.
    """
    if tag.major == 2:
        raise UnsupportedFormatError(f"{fmt}: rewriting an ID3v2.2 tag is not supported")
    found = {lf.index: lf for lf in label_frames(tag, fmt, limits, True)}
    ours = txxx_frame(tag.major, LABEL_KEY, label_json) if label_json is not None else None
    slot = next((i for i, lf in found.items() if lf.standard), None)
    plan: list[Frame | bytes] = []
    for i, frame in enumerate(tag.frames):
        lf = found.get(i)
        if lf is None:
            plan.append(frame)
        elif lf.xmp is not None:
            packet = strip_xmp_label(lf.xmp, limits)
            if packet == lf.xmp:
                plan.append(frame)
            else:
                plan.append(make_frame(tag.major, "PRIV", b"XMP\x00" + packet))
        elif i == slot and ours is not None:
            plan.append(ours)
    if ours is not None and slot is None:
        plan.append(ours)
    content = sum(len(p) if isinstance(p, bytes) else p.total for p in plan)
    footer = bool(tag.flags & TAG_FOOTER) and tag.major >= 4
    if footer:
        size = content
    elif content <= tag.size:
        size = tag.size
    else:
        size = content + DEFAULT_PADDING
    if size > MAX_SYNCSAFE:
        raise LimitExceededError("ID3 tag size", size, MAX_SYNCSAFE, fmt)
    flags = tag.flags & ~TAG_EXTENDED
    if tag.major <= 3:
        flags &= ~TAG_UNSYNC
    fields = (tag.major, tag.revision, flags, to_syncsafe(size))
    dst.write(HEADER.pack(MAGIC, *fields))
    for p in plan:
        if isinstance(p, bytes):
            dst.write(p)
        else:
            copy_range(tag.body, dst, p.start, p.total, fmt)
    dst.write(bytes(size - content))
    if footer:
        dst.write(HEADER.pack(FOOTER_MAGIC, *fields))


def new_tag(label_json: str) -> bytes:
    """A fresh ID3v2.3 tag holding only ``TXXX:AIGC`` plus padding."""
    frame = txxx_frame(3, LABEL_KEY, label_json)
    size = len(frame) + DEFAULT_PADDING
    return HEADER.pack(MAGIC, 3, 0, 0, to_syncsafe(size)) + frame + bytes(DEFAULT_PADDING)


def rewrite_tags(
    src: BinaryIO,
    dst: BinaryIO,
    tags: list[Tag],
    fmt: str,
    limits: Limits,
    label_json: str | None,
) -> None:
    """Write every tag of ``tags``; the first gets ``label_json``, the rest lose label frames.

    A tag without label frames (and not the first when a label is written) is
    copied verbatim.
    """
    for n, tag in enumerate(tags):
        wants_label = label_json is not None and n == 0
        if not wants_label and not label_frames_changing(tag, fmt, limits):
            copy_range(src, dst, tag.offset, tag.end - tag.offset, fmt)
            continue
        write_tag(tag, dst, fmt, limits, label_json if wants_label else None)


def label_frames_changing(tag: Tag, fmt: str, limits: Limits) -> bool:
    """True when writing would drop or change a frame of ``tag``."""
    for lf in label_frames(tag, fmt, limits, True):
        if lf.xmp is None or strip_xmp_label(lf.xmp, limits) != lf.xmp:
            return True
    return False
