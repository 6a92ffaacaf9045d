"""Ogg Vorbis and Ogg Opus handler: the label is the comment-header entry ``AIGC=<json>``.

Implements spec section 4 (OGG row) on the Ogg bitstream format (RFC 3533),
the Vorbis I specification (headers: identification ``\\x01vorbis``, comment
``\\x03vorbis`` ending in a framing bit, setup ``\\x05vorbis``) and RFC 7845
(``OpusHead``, ``OpusTags``). The comment list is parsed and rewritten by
:mod:`._vorbiscomment` (exactly one ``AIGC`` entry; every other entry and the
bytes after the list - Vorbis framing bit, Opus padding - kept verbatim).

Writing keeps the first page (identification header, alone on its page)
byte-for-byte, re-paginates the remaining header packets (comment, and setup
for Vorbis) into pages of up to 255 segments that end on a page boundary, with
granule position 0 where a packet ends and -1 where none does, and then copies
the audio pages. When the header page count is unchanged the audio pages are
copied verbatim in blocks; otherwise each page of the stream gets its sequence
number shifted and its CRC recomputed, one page (at most 65,307 bytes) at a
time. A page whose stored CRC was wrong keeps the same CRC error after the shift.
Pages of other logical streams, and everything after the stream's end-of-stream
page (chained links), are copied unchanged.

Only the first logical stream is written: a file whose first stream is not
Vorbis/Opus, or where another stream's pages are interleaved with the headers
(multiplexed, e.g. Theora + Vorbis), is read (the first Vorbis/Opus stream among
the opening BOS pages) but refused on write with UnsupportedFormatError.

Why hand-written: mutagen rewrites in place; ffmpeg remuxes. Limits: header
packets together are bounded by ``Limits.max_metadata_bytes`` and the pages
walked for them by ``Limits.max_items``; page sizes are checked against the
stream size; CRCs (polynomial 0x04C11DB7, non-reflected, computed at C speed
with zlib on bit-reversed bytes) of header pages are verified.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from .._io import copy_range, read_exact, stream_size
from ..errors import CorruptFileError, LimitExceededError, TruncatedError, UnsupportedFormatError
from ..limits import Limits
from ..model import Problem
from . import _vorbiscomment
from .base import FoundLabel, Handler, ReadResult, WriteOptions

FMT = "ogg"
CAPTURE = b"OggS"

PAGE_HEADER = struct.Struct("<4sBBqIIIB")
"""Page header: capture, version, type flags, granule (i64), serial, sequence, CRC, segments."""

CRC_FIELD = struct.Struct("<I")
CRC_OFFSET = 22
"""Offset of the CRC field inside a page."""

SEQ_FIELD = struct.Struct("<I")
SEQ_OFFSET = 18
"""Offset of the page sequence number inside a page."""

FLAG_CONTINUED = 0x01
FLAG_BOS = 0x02
FLAG_EOS = 0x04
MAX_SEGMENTS = 255
NO_GRANULE = -1
"""Granule position of a page on which no packet ends."""

_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def ogg_crc(data: bytes | bytearray) -> int:
    """Ogg CRC-32 (poly 0x04C11DB7, init 0, no reflection, no final XOR).

    zlib's CRC-32 is the reflected form of the same polynomial: feeding it
    bit-reversed bytes with a zero internal start and reversing the result gives
    the Ogg value.
    """
    reflected = binascii.crc32(bytes(data).translate(_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


@dataclass(frozen=True)
class Codec:
    name: str
    id_magic: bytes
    comment_magic: bytes
    header_packets: int
    framing: bool
    """Vorbis comment headers end with a framing bit."""


CODECS = (
    Codec("Vorbis", b"\x01vorbis", b"\x03vorbis", 3, True),
    Codec("Opus", b"OpusHead", b"OpusTags", 2, False),
)


@dataclass(frozen=True)
class Page:
    """One page header; the body is not loaded."""

    offset: int
    flags: int
    granule: int
    serial: int
    seq: int
    crc: int
    lacing: bytes

    @property
    def header_size(self) -> int:
        return PAGE_HEADER.size + len(self.lacing)

    @property
    def total(self) -> int:
        return self.header_size + sum(self.lacing)


def read_page(src: BinaryIO, offset: int, size: int) -> Page:
    """The page header at ``offset``; the page must fit in ``size`` bytes of stream."""
    src.seek(offset)
    raw = read_exact(src, PAGE_HEADER.size, FMT, "page header")
    capture, version, flags, granule, serial, seq, crc, nsegs = PAGE_HEADER.unpack(raw)
    if capture != CAPTURE or version != 0:
        raise CorruptFileError(FMT, offset, "no Ogg page (capture pattern/version)")
    page = Page(offset, flags, granule, serial, seq, crc, read_exact(src, nsegs, FMT, "lacing"))
    if offset + page.total > size:
        raise TruncatedError(FMT, offset, f"page of {page.total} bytes overruns the file")
    return page


def page_bytes(src: BinaryIO, page: Page) -> bytearray:
    src.seek(page.offset)
    return bytearray(read_exact(src, page.total, FMT, "page"))


def _crc_ok(raw: bytearray) -> bool:
    stored: int = CRC_FIELD.unpack_from(raw, CRC_OFFSET)[0]
    CRC_FIELD.pack_into(raw, CRC_OFFSET, 0)
    ok = ogg_crc(raw) == stored
    CRC_FIELD.pack_into(raw, CRC_OFFSET, stored)
    return ok


@dataclass
class Headers:
    """The header packets of the chosen logical stream and the pages that carry them."""

    codec: Codec
    serial: int
    id_page: Page
    packets: list[bytes] = field(default_factory=list)
    """Header packets after the identification header (comment first)."""
    comment_offset: int = 0
    last_page: Page | None = None
    aligned: bool = True
    """The last header packet ends exactly at the end of its page."""
    foreign: bool = False
    """Pages of another stream came before the headers were complete."""
    bad_crc: list[int] = field(default_factory=list)

    @property
    def end(self) -> int:
        last = self.last_page or self.id_page
        return last.offset + last.total


def _codec_of(body: bytes) -> Codec | None:
    return next((c for c in CODECS if body.startswith(c.id_magic)), None)


def read_headers(src: BinaryIO, limits: Limits) -> Headers | None:
    """Find the first Vorbis/Opus stream among the opening BOS pages and read its headers."""
    size = stream_size(src)
    pos, walked = 0, 0
    chosen: Headers | None = None
    while chosen is None:
        page = read_page(src, pos, size)
        walked += 1
        if not page.flags & FLAG_BOS or walked > limits.max_items:
            return None
        raw = page_bytes(src, page)
        codec = _codec_of(bytes(raw[page.header_size :]))
        if codec is not None:
            if len(page.lacing) != 1 or page.lacing[0] == MAX_SEGMENTS:
                raise CorruptFileError(FMT, pos, "identification header is not alone on its page")
            chosen = Headers(codec, page.serial, page, foreign=pos != 0)
            if not _crc_ok(raw):
                chosen.bad_crc.append(pos)
        pos += page.total
    _collect_packets(src, chosen, pos, size, walked, limits)
    return chosen


def _collect_packets(
    src: BinaryIO, h: Headers, pos: int, size: int, walked: int, limits: Limits
) -> None:
    wanted = h.codec.header_packets - 1
    partial = bytearray()
    total = 0
    while len(h.packets) < wanted:
        walked += 1
        if walked > limits.max_items:
            raise LimitExceededError("Ogg header pages", walked, limits.max_items, FMT)
        page = read_page(src, pos, size)
        pos += page.total
        if page.serial != h.serial:
            h.foreign = True
            continue
        total += page.total
        if total > limits.max_metadata_bytes:
            raise LimitExceededError("Ogg header size", total, limits.max_metadata_bytes, FMT)
        raw = page_bytes(src, page)
        if not _crc_ok(raw):
            h.bad_crc.append(page.offset)
        if bool(page.flags & FLAG_CONTINUED) != bool(partial):
            raise CorruptFileError(FMT, page.offset, "page continuation flag disagrees")
        if not h.packets and not partial:
            h.comment_offset = page.offset
        at = page.header_size
        for n, lace in enumerate(page.lacing):
            partial += raw[at : at + lace]
            at += lace
            if lace < MAX_SEGMENTS:
                h.packets.append(bytes(partial))
                partial.clear()
                if len(h.packets) == wanted:
                    h.aligned = n == len(page.lacing) - 1
                    break
        h.last_page = page


def _paginate(packets: list[bytes], serial: int, first_seq: int, eos: bool) -> list[bytes]:
    """Lay ``packets`` out on pages; the last packet ends the last page."""
    segments: list[tuple[bytes, bool, bool]] = []
    """(segment data, first segment of its packet, last segment of its packet)."""
    for packet in packets:
        count = len(packet) // MAX_SEGMENTS + 1
        for i in range(count):
            chunk = packet[i * MAX_SEGMENTS : (i + 1) * MAX_SEGMENTS]
            segments.append((chunk, i == 0, i == count - 1))
    pages: list[bytes] = []
    for start in range(0, len(segments), MAX_SEGMENTS):
        group = segments[start : start + MAX_SEGMENTS]
        flags = 0 if group[0][1] else FLAG_CONTINUED
        if eos and start + MAX_SEGMENTS >= len(segments):
            flags |= FLAG_EOS
        granule = 0 if any(last for _, _, last in group) else NO_GRANULE
        seq = (first_seq + len(pages)) & 0xFFFFFFFF
        head = PAGE_HEADER.pack(CAPTURE, 0, flags, granule, serial, seq, 0, len(group))
        page = bytearray(
            head + bytes(len(c) for c, _, _ in group) + b"".join(c for c, _, _ in group)
        )
        CRC_FIELD.pack_into(page, CRC_OFFSET, ogg_crc(page))
        pages.append(bytes(page))
    return pages


def _comment(h: Headers, limits: Limits) -> _vorbiscomment.VorbisComment:
    packet = h.packets[0]
    magic = h.codec.comment_magic
    if not packet.startswith(magic):
        raise CorruptFileError(FMT, h.comment_offset, f"second packet is not a {magic!r} header")
    return _vorbiscomment.parse(packet[len(magic) :], FMT, h.comment_offset, limits)


def _renumber(src: BinaryIO, dst: BinaryIO, start: int, serial: int, delta: int) -> None:
    """Copy pages from ``start``, shifting the sequence numbers of ``serial`` until its EOS."""
    size = stream_size(src)
    pos = start
    while pos < size:
        src.seek(pos)
        if src.read(len(CAPTURE)) != CAPTURE:
            break  # trailing non-Ogg bytes (e.g. an ID3v1 tag): copied verbatim below
        page = read_page(src, pos, size)
        raw = page_bytes(src, page)
        if page.serial == serial:
            CRC_FIELD.pack_into(raw, CRC_OFFSET, 0)
            syndrome = page.crc ^ ogg_crc(raw)
            SEQ_FIELD.pack_into(raw, SEQ_OFFSET, (page.seq + delta) & 0xFFFFFFFF)
            CRC_FIELD.pack_into(raw, CRC_OFFSET, ogg_crc(raw) ^ syndrome)
        dst.write(raw)
        pos += page.total
        if page.serial == serial and page.flags & FLAG_EOS:
            break
    copy_range(src, dst, pos, None, FMT)


class OggHandler(Handler):
    name = "ogg"
    extensions = (
        "ogg",
        "oga",
        "opus",
    )
    mime_types = (
        "audio/ogg",
        "audio/opus",
    )

    def sniff(self, head: bytes) -> bool:
        return head[:4] == CAPTURE and head[4:5] == b"\x00"

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        result = ReadResult()
        h = read_headers(src, limits)
        if h is None:
            result.problems.append(
                Problem("unsupported_codec", "no Vorbis or Opus stream; labels not read", "warning")
            )
            return result
        for offset in h.bad_crc:
            result.problems.append(
                Problem("bad_crc", f"Ogg page at offset {offset} fails its CRC", "warning")
            )
        placement = f"Ogg {h.codec.name} comment AIGC"
        vc = _comment(h, limits)
        result.labels.extend(FoundLabel(v, placement, h.comment_offset) for _, v in vc.labels())
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        h = read_headers(src, limits)
        if h is None:
            raise UnsupportedFormatError("ogg: only Ogg Vorbis and Ogg Opus can be labeled")
        if h.foreign:
            raise UnsupportedFormatError("ogg: multiplexed Ogg streams cannot be labeled")
        if h.bad_crc:
            raise CorruptFileError(FMT, h.bad_crc[0], "header page fails its CRC")
        if not h.aligned or h.last_page is None:
            raise CorruptFileError(FMT, h.end, "audio data shares a page with the headers")
        vc = _comment(h, limits).with_label(opts.label_json)
        if h.codec.framing and not vc.tail:
            vc = _vorbiscomment.VorbisComment(vc.vendor, vc.entries, b"\x01")
        packets = [h.codec.comment_magic + vc.to_bytes(), *h.packets[1:]]
        eos = bool(h.last_page.flags & FLAG_EOS)
        pages = _paginate(packets, h.serial, (h.id_page.seq + 1) & 0xFFFFFFFF, eos)
        copy_range(src, dst, 0, h.id_page.total, FMT)
        for page in pages:
            dst.write(page)
        delta = (h.id_page.seq + len(pages)) - h.last_page.seq
        if delta == 0 or eos:
            copy_range(src, dst, h.end, None, FMT)
        else:
            _renumber(src, dst, h.end, h.serial, delta)
