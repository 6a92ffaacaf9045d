"""PNG handler: XMP in an ``iTXt`` chunk, keyword ``XML:com.adobe.xmp``.

Implements spec section 4 (PNG row): the label is the TC260:AIGC property of an
XMP packet stored uncompressed in an ``iTXt`` chunk with keyword
``XML:com.adobe.xmp`` before the first ``IDAT`` (XMP specification part 3,
PNG 3rd edition 11.3.3.4). Also read, and reported as non-standard: the XMP
chunk compressed, after ``IDAT`` or as ``tEXt``/``zTXt``, and in-the-wild
``tEXt``/``zTXt``/``iTXt`` chunks with keyword ``AIGC`` holding the bare JSON.

Writing updates the existing XMP packet (via :func:`aigc_label.xmp.update_xmp`)
and rewrites its chunk in place when it is already a standard ``iTXt`` before
``IDAT``; otherwise the packet is written as a new uncompressed ``iTXt`` right
after ``IHDR`` (no chunk must precede ``iTXt`` other than ``IHDR``). ``AIGC``
keyword chunks are dropped: they are our label, moved to the standard place.
Further XMP chunks (the XMP spec allows one per file) that carry a TC260:AIGC
are dropped too so the output holds exactly one label; XMP chunks without a
label are kept. Every other chunk, APNG ``acTL``/``fcTL``/``fdAT`` included, and
any bytes after ``IEND`` are copied verbatim in blocks; ``IDAT`` is never loaded.

Hand-written because Pillow re-encodes the image on save and drops unknown
chunks; no maintained pure-Python library edits PNG chunks in place.

Limits: a chunk length above 2**31-1 or past the end of the file is corrupt;
text chunks we parse are loaded only up to ``max_metadata_bytes``; inflation is
bounded by ``max_decompressed``; at most ``max_items`` chunks are walked. CRCs
of the chunks we parse are verified (a mismatch is a ``bad_crc`` warning, the
chunk is still read, and a rewritten chunk gets a correct CRC).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, replace
from typing import BinaryIO

from .._io import copy_range, read_bounded, read_exact, remaining
from ..errors import CorruptFileError, LimitExceededError
from ..limits import Limits
from ..model import Problem
from ..xmp import read_xmp, update_xmp
from .base import FoundLabel, Handler, ReadResult, WriteOptions, collect_xmp

FMT = "png"

SIGNATURE = b"\x89PNG\r\n\x1a\n"
"""The 8-byte PNG file signature."""

CHUNK_HEAD = struct.Struct(">I4s")
"""Chunk length (excluding type and CRC) and 4-byte type."""

CRC = struct.Struct(">I")
"""CRC-32 over chunk type and data."""

CHUNK_OVERHEAD = CHUNK_HEAD.size + CRC.size
"""Bytes of a chunk that are not data."""

MAX_CHUNK_LENGTH = 2**31 - 1
"""PNG limits chunk lengths to 2**31-1 (PNG spec 5.3)."""

XMP_KEYWORD = b"XML:com.adobe.xmp"
"""Keyword of the XMP text chunk."""

LABEL_KEYWORD = b"AIGC"
"""Keyword of in-the-wild text chunks holding the bare label JSON."""

TEXT_TYPES = frozenset({b"tEXt", b"zTXt", b"iTXt"})
"""Chunk types whose data starts with a keyword."""

KEYWORD_PEEK = 80
"""Bytes read to find a keyword (1-79 bytes + NUL)."""

IMAGE_DATA_TYPES = frozenset({b"IDAT", b"fdAT"})
"""Payload chunks; metadata placed after the first of these is late."""


@dataclass(frozen=True)
class _Chunk:
    offset: int
    """Offset of the length field."""
    length: int
    ctype: bytes
    keyword: bytes | None
    """Keyword of a text chunk (None for other chunks or an unterminated keyword)."""
    after_idat: bool

    @property
    def end(self) -> int:
        return self.offset + CHUNK_OVERHEAD + self.length

    @property
    def ours(self) -> bool:
        """A text chunk we parse: XMP or an AIGC label."""
        return self.ctype in TEXT_TYPES and self.keyword in (XMP_KEYWORD, LABEL_KEYWORD)


@dataclass(frozen=True)
class _Text:
    value: bytes
    compressed: bool


def _walk(src: BinaryIO, limits: Limits) -> tuple[list[_Chunk], int]:
    """Chunk headers up to and including IEND; returns them and IEND's end offset."""
    src.seek(0)
    if read_exact(src, len(SIGNATURE), FMT, "signature") != SIGNATURE:
        raise CorruptFileError(FMT, 0, "not a PNG signature")
    chunks: list[_Chunk] = []
    seen_idat = False
    while True:
        pos = src.tell()
        if len(chunks) >= limits.max_items:
            raise LimitExceededError("chunk count", len(chunks) + 1, limits.max_items, FMT)
        length, ctype = CHUNK_HEAD.unpack(read_exact(src, CHUNK_HEAD.size, FMT, "chunk header"))
        if not ctype.isalpha() or not ctype.isascii():
            raise CorruptFileError(FMT, pos, f"invalid chunk type {ctype!r}")
        if length > MAX_CHUNK_LENGTH:
            raise CorruptFileError(FMT, pos, f"{ctype.decode()} length {length} above 2**31-1")
        if length + CRC.size > remaining(src):
            raise CorruptFileError(FMT, pos, f"{ctype.decode()} chunk runs past the end of file")
        if not chunks and ctype != b"IHDR":
            raise CorruptFileError(FMT, pos, "first chunk is not IHDR")
        keyword = None
        if ctype in TEXT_TYPES:
            head = src.read(min(length, KEYWORD_PEEK))
            nul = head.find(b"\0")
            keyword = head[:nul] if nul > 0 else None
        chunks.append(_Chunk(pos, length, ctype, keyword, seen_idat))
        seen_idat = seen_idat or ctype in IMAGE_DATA_TYPES
        src.seek(pos + CHUNK_OVERHEAD + length)
        if ctype == b"IEND":
            return chunks, src.tell()


def _load(src: BinaryIO, chunk: _Chunk, limits: Limits, problems: list[Problem]) -> bytes:
    """Chunk data, CRC-checked (a mismatch is reported, not fatal)."""
    src.seek(chunk.offset + CHUNK_HEAD.size)
    what = f"{chunk.ctype.decode()} chunk"
    data = read_bounded(src, chunk.length, limits.max_metadata_bytes, FMT, what)
    (stored,) = CRC.unpack(read_exact(src, CRC.size, FMT, "chunk CRC"))
    if zlib.crc32(chunk.ctype + data) != stored:
        problems.append(
            Problem("bad_crc", f"{what} at offset {chunk.offset} has a wrong CRC", "warning")
        )
    return data


def _inflate(data: bytes, limits: Limits, offset: int) -> bytes:
    """Bounded zlib inflation of a zTXt/iTXt text."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limits.max_decompressed + 1)
    except zlib.error as e:
        raise CorruptFileError(FMT, offset, f"bad zlib data in text chunk: {e}") from e
    if len(out) > limits.max_decompressed:
        raise LimitExceededError("inflated text chunk", len(out), limits.max_decompressed, FMT)
    if not d.eof:
        raise CorruptFileError(FMT, offset, "incomplete zlib stream in text chunk")
    return out


def _text(chunk: _Chunk, data: bytes, limits: Limits) -> _Text:
    """The text of a tEXt/zTXt/iTXt chunk (raw bytes, inflated if compressed)."""
    off = chunk.offset
    _keyword, sep, rest = data.partition(b"\0")
    if not sep:
        raise CorruptFileError(FMT, off, "text chunk keyword is not terminated")
    if chunk.ctype == b"tEXt":
        return _Text(rest, False)
    if chunk.ctype == b"zTXt":
        if not rest or rest[0] != 0:
            raise CorruptFileError(FMT, off, "zTXt chunk with unknown compression method")
        return _Text(_inflate(rest[1:], limits, off), True)
    if len(rest) < 2:
        raise CorruptFileError(FMT, off, "iTXt chunk too short")
    flag, method = rest[0], rest[1]
    parts = rest[2:].split(b"\0", 2)
    if len(parts) != 3:
        raise CorruptFileError(FMT, off, "iTXt language tag or translated keyword unterminated")
    if flag == 0:
        return _Text(parts[2], False)
    if flag != 1 or method != 0:
        raise CorruptFileError(FMT, off, "iTXt chunk with unknown compression flag/method")
    return _Text(_inflate(parts[2], limits, off), True)


def _label_text(chunk: _Chunk, value: bytes) -> str:
    """Decode an AIGC keyword value: Latin-1 for tEXt/zTXt, UTF-8 for iTXt."""
    if chunk.ctype != b"iTXt":
        return value.decode("latin-1")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorruptFileError(FMT, chunk.offset, "iTXt AIGC text is not UTF-8") from e


def _is_standard_xmp(chunk: _Chunk, text: _Text) -> bool:
    return chunk.ctype == b"iTXt" and not text.compressed and not chunk.after_idat


def _xmp_placement(chunk: _Chunk, text: _Text) -> str:
    where = f"{chunk.ctype.decode()} XML:com.adobe.xmp"
    notes = [
        n for n, on in (("compressed", text.compressed), ("after IDAT", chunk.after_idat)) if on
    ]
    return f"{where} ({', '.join(notes)})" if notes else where


def _itxt_chunk(keyword: bytes, text: bytes) -> bytes:
    """An uncompressed iTXt chunk with empty language tag and translated keyword."""
    data = keyword + b"\0\0\0\0\0" + text
    if len(data) > MAX_CHUNK_LENGTH:
        raise LimitExceededError("iTXt chunk", len(data), MAX_CHUNK_LENGTH, FMT)
    body = b"iTXt" + data
    return CHUNK_HEAD.pack(len(data), b"iTXt") + data + CRC.pack(zlib.crc32(body))


class PngHandler(Handler):
    name = "png"
    extensions = ("png",)
    mime_types = ("image/png",)

    def sniff(self, head: bytes) -> bool:
        return head.startswith(SIGNATURE)

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        chunks, _end = _walk(src, limits)
        result = ReadResult()
        for chunk in chunks:
            if not chunk.ours:
                continue
            data = _load(src, chunk, limits, result.problems)
            try:
                text = _text(chunk, data, limits)
                if chunk.keyword == LABEL_KEYWORD:
                    raw = _label_text(chunk, text.value)
                    placement = f"{chunk.ctype.decode()} keyword AIGC"
                    result.labels.append(FoundLabel(raw, placement, chunk.offset, False))
                    continue
            except CorruptFileError as e:
                result.problems.append(Problem("text_chunk_unreadable", e.message, "warning"))
                continue
            found = ReadResult()
            collect_xmp(text.value, _xmp_placement(chunk, text), chunk.offset, limits, found)
            standard = _is_standard_xmp(chunk, text)
            result.labels.extend(replace(f, standard=standard) for f in found.labels)
            result.problems.extend(found.problems)
            result.digital_source_types.extend(found.digital_source_types)
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        chunks, end = _walk(src, limits)
        problems: list[Problem] = []
        drop: set[int] = set()
        xmp: list[tuple[_Chunk, _Text]] = []
        for chunk in chunks:
            if not chunk.ours:
                continue
            if chunk.keyword == LABEL_KEYWORD:
                drop.add(chunk.offset)
                continue
            try:
                xmp.append((chunk, _text(chunk, _load(src, chunk, limits, problems), limits)))
            except CorruptFileError:
                continue  # unreadable foreign XMP carries no label we can see: keep it
        primary = next(((c, t) for c, t in xmp if c.ctype == b"iTXt"), xmp[0] if xmp else None)
        for chunk, text in xmp:
            if primary is not None and chunk is primary[0]:
                continue
            try:
                if read_xmp(text.value, limits).aigc:
                    drop.add(chunk.offset)
            except CorruptFileError:
                pass  # malformed foreign packet without a readable label: keep it
        base = primary[1].value if primary else None
        packet = update_xmp(
            base, opts.label_json, digital_source_type=opts.digital_source_type, limits=limits
        )
        new_chunk = _itxt_chunk(XMP_KEYWORD, packet)
        in_place = primary is not None and _is_standard_xmp(*primary)
        if primary is not None:
            drop.add(primary[0].offset)

        dst.write(SIGNATURE)
        run_start: int | None = None
        for chunk in chunks:
            replace_here = in_place and primary is not None and chunk is primary[0]
            if chunk.offset in drop:
                if run_start is not None:
                    copy_range(src, dst, run_start, chunk.offset - run_start, FMT)
                    run_start = None
                if replace_here:
                    dst.write(new_chunk)
                continue
            if run_start is None:
                run_start = chunk.offset
            if chunk.ctype == b"IHDR" and not in_place:
                copy_range(src, dst, run_start, chunk.end - run_start, FMT)
                dst.write(new_chunk)
                run_start = None
        if run_start is not None:
            copy_range(src, dst, run_start, end - run_start, FMT)
        copy_range(src, dst, end, None, FMT)
