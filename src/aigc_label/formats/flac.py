"""FLAC handler: the label is the entry ``AIGC=<json>`` of the ``VORBIS_COMMENT`` block.

Implements spec section 4 (FLAC row) on the FLAC format (RFC 9639, section 8):
``fLaC`` then metadata blocks ``last:1 type:7 length:u24be data``, STREAMINFO
first, then audio frames. Writing replaces (or adds) the ``AIGC`` entry in the
first ``VORBIS_COMMENT`` block, or creates that block right after STREAMINFO;
AIGC entries of any other ``VORBIS_COMMENT`` block are removed so the file holds
exactly one label. Every other block (SEEKTABLE, PICTURE, CUESHEET, APPLICATION,
unknown types) and every other comment is kept verbatim and in order; PADDING
blocks are merged into one final PADDING block sized so the audio frames stay
at the same offset when the metadata still fits, else 1 KiB of padding is left
and the frames are streamed to their new offset. Files starting with ID3v2 tags
(seen in the wild) keep them; ID3 label frames there are reported as
non-standard and dropped on write (see :mod:`._id3`). Such files sniff as MP3
unless named ``.flac``; both handlers look past the ID3 tags and hand the file
to the other when the bytes say so.

Hand-written because mutagen edits files in place and metaflac is an external
binary; this writes a new stream and never loads audio frames.

Limits: at most ``Limits.max_items`` blocks; block lengths are checked against
the stream size; only ``VORBIS_COMMENT`` blocks are loaded (up to
``Limits.max_metadata_bytes``); a block cannot exceed 2**24-1 bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from .._io import copy_range, read_bounded, read_exact, stream_size
from ..errors import CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits
from . import _id3, _vorbiscomment
from .base import FoundLabel, Handler, ReadResult, WriteOptions

FMT = "flac"
MAGIC = b"fLaC"

BLOCK_HEADER = struct.Struct(">B3s")
"""Metadata block header: last-block flag (bit 7) and type (7 bits), 24-bit length."""

LAST_BLOCK = 0x80
STREAMINFO = 0
PADDING = 1
VORBIS_COMMENT = 4
INVALID = 127
STREAMINFO_SIZE = 34
MAX_BLOCK = (1 << 24) - 1
"""Largest length a block header can declare."""

DEFAULT_PADDING = 1024
"""Padding left when the metadata has to grow."""

VENDOR = b"aigc-label"
"""Vendor string of a VORBIS_COMMENT block we create."""

PLACEMENT = "FLAC VORBIS_COMMENT AIGC"


@dataclass(frozen=True)
class Block:
    """One metadata block as found; data not loaded."""

    type: int
    offset: int
    length: int

    @property
    def data_offset(self) -> int:
        return self.offset + BLOCK_HEADER.size


@dataclass(frozen=True)
class _Layout:
    tags: list[_id3.Tag]
    start: int
    """Offset of ``fLaC``."""
    blocks: list[Block]
    audio: int
    """Offset of the first audio frame (just past the last block)."""


def _scan(src: BinaryIO, limits: Limits) -> _Layout:
    tags = _id3.scan_tags(src, 0, FMT, limits)
    start = tags[-1].end if tags else 0
    src.seek(start)
    if read_exact(src, len(MAGIC), FMT, "signature") != MAGIC:
        raise CorruptFileError(FMT, start, "no fLaC signature")
    size = stream_size(src)
    pos = start + len(MAGIC)
    blocks: list[Block] = []
    while True:
        if len(blocks) >= limits.max_items:
            raise LimitExceededError("FLAC metadata blocks", len(blocks) + 1, limits.max_items, FMT)
        src.seek(pos)
        flags, raw = BLOCK_HEADER.unpack(read_exact(src, BLOCK_HEADER.size, FMT, "block header"))
        btype, length = flags & ~LAST_BLOCK, int.from_bytes(raw, "big")
        if btype == INVALID:
            raise CorruptFileError(FMT, pos, "metadata block type 127 is invalid")
        if pos + BLOCK_HEADER.size + length > size:
            raise TruncatedError(FMT, pos, f"metadata block of {length} bytes overruns the file")
        blocks.append(Block(btype, pos, length))
        pos += BLOCK_HEADER.size + length
        if flags & LAST_BLOCK:
            break
    first = blocks[0]
    if first.type != STREAMINFO or first.length != STREAMINFO_SIZE:
        raise CorruptFileError(FMT, first.offset, "first metadata block is not STREAMINFO")
    extra = next((b for b in blocks[1:] if b.type == STREAMINFO), None)
    if extra is not None:
        raise CorruptFileError(FMT, extra.offset, "second STREAMINFO block")
    return _Layout(tags, start, blocks, pos)


def _is_mp3(src: BinaryIO, limits: Limits) -> bool:
    """True for ID3 tags not followed by ``fLaC``: an MP3 named ``.flac`` (bytes decide)."""
    tags = _id3.scan_tags(src, 0, FMT, limits)
    if not tags:
        return False
    src.seek(tags[-1].end)
    return src.read(len(MAGIC)) != MAGIC


def _load_comment(src: BinaryIO, block: Block, limits: Limits) -> _vorbiscomment.VorbisComment:
    src.seek(block.data_offset)
    data = read_bounded(src, block.length, limits.max_metadata_bytes, FMT, "VORBIS_COMMENT")
    return _vorbiscomment.parse(data, FMT, block.data_offset, limits)


class FlacHandler(Handler):
    name = "flac"
    extensions = ("flac",)
    mime_types = ("audio/flac",)

    def sniff(self, head: bytes) -> bool:
        return head.startswith(MAGIC)

    def sniff_weak(self, head: bytes) -> bool:
        # An ID3v2 tag before fLaC: only the extension tells it from MP3 in 64 bytes;
        # read/write hand real MP3 data to the MP3 handler.
        return _id3.is_tag_header(head)

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        if _is_mp3(src, limits):
            from .mp3 import Mp3Handler

            return Mp3Handler().read(src, limits)
        layout = _scan(src, limits)
        result = ReadResult()
        _id3.collect_labels(layout.tags, FMT, limits, result, txxx_standard=False)
        for block in layout.blocks:
            if block.type == VORBIS_COMMENT:
                vc = _load_comment(src, block, limits)
                result.labels.extend(
                    FoundLabel(value, PLACEMENT, block.offset) for _, value in vc.labels()
                )
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        if _is_mp3(src, limits):
            from .mp3 import Mp3Handler

            Mp3Handler().write(src, dst, opts, limits)
            return
        layout = _scan(src, limits)
        comments = [b for b in layout.blocks if b.type == VORBIS_COMMENT]
        plan: list[tuple[int, Block | bytes]] = []
        for block in layout.blocks:
            if block.type == PADDING:
                continue
            if block.type != VORBIS_COMMENT:
                plan.append((block.type, block))
                if block is layout.blocks[0] and not comments:
                    vc = _vorbiscomment.VorbisComment(VENDOR, ())
                    plan.append((VORBIS_COMMENT, vc.with_label(opts.label_json).to_bytes()))
                continue
            vc = _load_comment(src, block, limits)
            if block is comments[0]:
                plan.append((VORBIS_COMMENT, vc.with_label(opts.label_json).to_bytes()))
            elif vc.labels():
                plan.append((VORBIS_COMMENT, vc.without_labels().to_bytes()))
            else:
                plan.append((VORBIS_COMMENT, block))
        for _, item in plan:
            if isinstance(item, bytes) and len(item) > MAX_BLOCK:
                raise LimitExceededError("VORBIS_COMMENT size", len(item), MAX_BLOCK, FMT)
        content = sum(BLOCK_HEADER.size + _length(item) for _, item in plan)
        room = layout.audio - layout.start - len(MAGIC)
        if content + BLOCK_HEADER.size <= room <= content + BLOCK_HEADER.size + MAX_BLOCK:
            plan.append((PADDING, bytes(room - content - BLOCK_HEADER.size)))
        elif content != room:
            plan.append((PADDING, bytes(DEFAULT_PADDING)))

        _id3.rewrite_tags(src, dst, layout.tags, FMT, limits, None)
        dst.write(MAGIC)
        for n, (btype, item) in enumerate(plan):
            flags = btype | (LAST_BLOCK if n == len(plan) - 1 else 0)
            dst.write(BLOCK_HEADER.pack(flags, _length(item).to_bytes(3, "big")))
            if isinstance(item, bytes):
                dst.write(item)
            else:
                copy_range(src, dst, item.data_offset, item.length, FMT)
        copy_range(src, dst, layout.audio, None, FMT)


def _length(item: Block | bytes) -> int:
    return len(item) if isinstance(item, bytes) else item.length
