"""GIF handler: XMP in the ``XMP DataXMP`` Application Extension.

Implements spec section 4 (GIF row) and XMP specification part 3 (1.1.2): an
Application Extension ``0x21 0xFF 0x0B`` with identifier ``XMP Data`` and
authentication code ``XMP``, followed by the raw XMP packet (not split into
sub-blocks) and the 258-byte "magic trailer" ``0x01 0xFF 0xFE ... 0x01 0x00``
plus the block terminator ``0x00``. The trailer makes a generic sub-block
walker that reads packet bytes as lengths always land on the terminator, so the
extension's extent is found the same way as any other extension's.

The walker follows the GIF89a block grammar (header, logical screen
descriptor, global colour table, extensions, image descriptors with local
colour tables and LZW data) up to the trailer ``0x3B``, skipping sub-blocks by
their length bytes without decoding anything.

Writing updates the existing XMP packet (via :func:`aigc_label.xmp.update_xmp`)
in place, or inserts a new extension before the first graphic block (the first
Graphic Control Extension, Plain Text Extension or image descriptor), i.e. after
the global colour table, NETSCAPE loop and comment extensions. (exiftool 12.57
inserts it between the first Graphic Control Extension and its image, which
the GIF89a grammar does not allow; we stay grammatical.) Further XMP extensions
that carry a TC260:AIGC are dropped so exactly one label remains. Every other
byte is copied verbatim, with one exception: a ``GIF87a`` header is rewritten
as ``GIF89a``, because extensions need version 89a.

Hand-written because Pillow re-encodes frames on save and writes no XMP; no
maintained pure-Python library edits GIF extensions in place.

Limits: at most ``max_items`` blocks; the XMP extension is loaded only up to
``max_xmp_bytes`` (plus the trailer); every sub-block length is checked
against the end of the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from .._io import copy_range, read_bounded, read_exact, stream_size
from ..errors import CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits
from ..model import Problem
from ..xmp import read_xmp, update_xmp
from .base import Handler, ReadResult, WriteOptions, collect_xmp

FMT = "gif"

SIGNATURES = (b"GIF87a", b"GIF89a")
"""The two GIF header versions."""

SCREEN = struct.Struct("<6sHHBBB")
"""Header signature + logical screen descriptor: width, height, packed, bg, aspect."""

IMAGE_DESCRIPTOR = struct.Struct("<HHHHB")
"""Image descriptor after the 0x2C separator: left, top, width, height, packed."""

COLOR_TABLE_FLAG = 0x80
"""Packed-field bit: a (global or local) colour table follows."""

EXTENSION = 0x21
IMAGE = 0x2C
TRAILER = 0x3B

APPLICATION_LABEL = 0xFF
GRAPHIC_CONTROL_LABEL = 0xF9
PLAIN_TEXT_LABEL = 0x01

XMP_APP_ID = b"XMP DataXMP"
"""Application identifier (8) + authentication code (3) of the XMP extension."""

MAGIC_TRAILER = bytes([0x01, *range(0xFF, -1, -1), 0x00])
"""The 258-byte XMP trailer, block terminator included (XMP spec part 3)."""

SCAN_BLOCK = 64 * 1024
"""Read size when skipping sub-blocks."""


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    introducer: int
    label: int | None
    """Extension label (None for images)."""
    xmp: bool
    """An ``XMP DataXMP`` application extension."""

    @property
    def graphic(self) -> bool:
        """Starts a graphic block (GCE, plain text or image)."""
        return self.introducer == IMAGE or self.label in (
            GRAPHIC_CONTROL_LABEL,
            PLAIN_TEXT_LABEL,
        )


@dataclass(frozen=True)
class _Layout:
    screen_end: int
    """End of the logical screen descriptor and global colour table."""
    blocks: list[_Block]
    trailer: int
    """Offset of the 0x3B trailer byte."""


def _skip(src: BinaryIO, n: int, size: int, what: str) -> None:
    pos = src.tell()
    if pos + n > size:
        raise TruncatedError(FMT, pos, f"{what} runs past the end of file")
    src.seek(pos + n)


def _skip_sub_blocks(src: BinaryIO, size: int) -> int:
    """Skip a sub-block chain; returns (and seeks to) the offset after its terminator."""
    pos = src.tell()
    while True:
        if pos >= size:
            raise TruncatedError(FMT, pos, "sub-blocks run past the end of file")
        src.seek(pos)
        buf = src.read(SCAN_BLOCK)
        i = 0
        while i < len(buf):
            n = buf[i]
            if n == 0:
                src.seek(pos + i + 1)
                return pos + i + 1
            i += n + 1
        pos += i


def _walk(src: BinaryIO, limits: Limits) -> _Layout:
    size = stream_size(src)
    src.seek(0)
    sig, _w, _h, packed, _bg, _aspect = SCREEN.unpack(
        read_exact(src, SCREEN.size, FMT, "GIF header")
    )
    if sig not in SIGNATURES:
        raise CorruptFileError(FMT, 0, "not a GIF signature")
    if packed & COLOR_TABLE_FLAG:
        _skip(src, 3 << ((packed & 7) + 1), size, "global colour table")
    screen_end = src.tell()
    blocks: list[_Block] = []
    while True:
        pos = src.tell()
        if len(blocks) >= limits.max_items:
            raise LimitExceededError("block count", len(blocks) + 1, limits.max_items, FMT)
        (kind,) = read_exact(src, 1, FMT, "block introducer (missing GIF trailer)")
        if kind == TRAILER:
            return _Layout(screen_end, blocks, pos)
        if kind == EXTENSION:
            (label,) = read_exact(src, 1, FMT, "extension label")
            xmp = False
            if label == APPLICATION_LABEL:
                head = src.read(1 + len(XMP_APP_ID))
                xmp = head == bytes([len(XMP_APP_ID)]) + XMP_APP_ID
                src.seek(pos + 2 + (len(head) if xmp else 0))
            end = _skip_sub_blocks(src, size)
            blocks.append(_Block(pos, end, kind, label, xmp))
        elif kind == IMAGE:
            *_, packed = IMAGE_DESCRIPTOR.unpack(
                read_exact(src, IMAGE_DESCRIPTOR.size, FMT, "image descriptor")
            )
            if packed & COLOR_TABLE_FLAG:
                _skip(src, 3 << ((packed & 7) + 1), size, "local colour table")
            _skip(src, 1, size, "LZW minimum code size")
            end = _skip_sub_blocks(src, size)
            blocks.append(_Block(pos, end, kind, None, False))
        else:
            raise CorruptFileError(FMT, pos, f"unknown block introducer 0x{kind:02x}")


_XMP_DATA_START = 3 + len(XMP_APP_ID)
"""Offset of the packet from the start of an XMP extension (0x21 0xFF 0x0B + id)."""


def _packet(src: BinaryIO, block: _Block, limits: Limits, problems: list[Problem]) -> bytes:
    """The raw XMP packet of an XMP extension, magic trailer and terminator removed."""
    src.seek(block.start + _XMP_DATA_START)
    region_len = block.end - 1 - src.tell()
    region = read_bounded(
        src, region_len, limits.max_xmp_bytes + len(MAGIC_TRAILER), FMT, "XMP extension"
    )
    if region.endswith(MAGIC_TRAILER[:-1]):
        return region[: -(len(MAGIC_TRAILER) - 1)]
    problems.append(
        Problem(
            "xmp_trailer",
            f"XMP extension at offset {block.start} lacks the 258-byte magic trailer",
            "warning",
        )
    )
    cut = region.find(MAGIC_TRAILER[:3])
    return region if cut < 0 else region[:cut]


def _xmp_extension(packet: bytes) -> bytes:
    if b"\0" in packet:
        raise CorruptFileError(FMT, None, "XMP packet contains NUL bytes; cannot store in GIF")
    return (
        bytes([EXTENSION, APPLICATION_LABEL, len(XMP_APP_ID)])
        + XMP_APP_ID
        + packet
        + (MAGIC_TRAILER)
    )


class GifHandler(Handler):
    name = "gif"
    extensions = ("gif",)
    mime_types = ("image/gif",)

    def sniff(self, head: bytes) -> bool:
        return head[:6] in SIGNATURES

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        layout = _walk(src, limits)
        result = ReadResult()
        for block in layout.blocks:
            if block.xmp:
                packet = _packet(src, block, limits, result.problems)
                collect_xmp(packet, "GIF XMP application extension", block.start, limits, result)
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        layout = _walk(src, limits)
        problems: list[Problem] = []
        xmp = [(b, _packet(src, b, limits, problems)) for b in layout.blocks if b.xmp]
        primary = xmp[0] if xmp else None
        drop: set[int] = set()
        for block, packet in xmp[1:]:
            try:
                if read_xmp(packet, limits).aigc:
                    drop.add(block.start)
            except CorruptFileError:
                pass  # a malformed foreign packet without a readable label: keep it
        new_ext = _xmp_extension(
            update_xmp(
                primary[1] if primary else None,
                opts.label_json,
                digital_source_type=opts.digital_source_type,
                limits=limits,
            )
        )
        if primary is not None:
            at = primary[0].start
            drop.add(at)
        else:
            at = next((b.start for b in layout.blocks if b.graphic), layout.trailer)

        dst.write(SIGNATURES[1])
        run = len(SIGNATURES[1])
        for block in layout.blocks:
            if block.start == at or block.start in drop:
                copy_range(src, dst, run, block.start - run, FMT)
                run = block.start if block.start not in drop else block.end
                if block.start == at:
                    dst.write(new_ext)
        if at == layout.trailer:
            copy_range(src, dst, run, at - run, FMT)
            dst.write(new_ext)
            run = at
        copy_range(src, dst, run, None, FMT)
