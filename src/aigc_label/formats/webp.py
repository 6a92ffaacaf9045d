"""WebP handler: the label lives in XMP, in a RIFF ``XMP `` chunk with the VP8X XMP flag set.

Implements spec section 4 ("WebP: RIFF chunk ``XMP `` with the VP8X XMP flag
set; convert simple WebP to extended") on the Google WebP container
specification (RFC 9649, section 2.7):

* Extended files (``VP8X`` first): the XMP flag (0x04) is set in VP8X, every
  existing ``XMP `` chunk is removed and one updated packet is written after the
  last chunk the container spec knows (ICCP, ANIM, image data, EXIF), i.e. before
  any unknown chunks; this is where the spec and exiftool put it.
* Simple files (``VP8 `` or ``VP8L`` first): a VP8X chunk is inserted whose
  canvas size comes from the VP8 key-frame header or the VP8L header (and whose
  alpha flag mirrors VP8L's ``alpha_is_used``), then the image chunk, then XMP.

The existing packet is updated with :func:`aigc_label.xmp.update_xmp`, so other
XMP properties survive. Every ``XMP `` chunk is reported on read (a second one
is a duplicate); one found without the VP8X flag is reported as non-standard,
since decoders may ignore it.

Why hand-written: Pillow re-encodes the image to add XMP and no Python library
edits the RIFF container in place. Image chunks are copied in blocks and never
loaded; only VP8X, the first bytes of a simple image chunk and XMP chunks
(bounded by ``Limits.max_metadata_bytes``) are read. Chunk walking, its bounds
(``max_items``, sizes checked against the form and the stream) and padding come
from :mod:`._riff`.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass
from typing import BinaryIO

from .._io import copy_range, read_bounded, read_exact, stream_size
from ..errors import AigcLabelError, CorruptFileError, LimitExceededError
from ..limits import Limits
from ..model import Problem
from ..xmp import update_xmp
from . import _riff
from .base import Handler, ReadResult, WriteOptions, collect_xmp

FMT = "webp"
FORM_TYPE = b"WEBP"

VP8X = b"VP8X"
VP8 = b"VP8 "
VP8L = b"VP8L"
ALPH = b"ALPH"
ANIM = b"ANIM"
ANMF = b"ANMF"
ICCP = b"ICCP"
EXIF = b"EXIF"
XMP = b"XMP "

KNOWN_BEFORE_XMP = frozenset({VP8X, ICCP, ANIM, ANMF, ALPH, VP8, VP8L, EXIF})
"""Chunks the container spec orders before XMP; ours goes after the last of them."""

VP8X_PAYLOAD = struct.Struct("<B3x3s3s")
"""VP8X data: flags byte, 3 reserved bytes, canvas width-1 and height-1 (24-bit LE)."""

FLAG_ICC = 0x20
FLAG_ALPHA = 0x10
FLAG_EXIF = 0x08
FLAG_XMP = 0x04
FLAG_ANIM = 0x02

VP8_FRAME_HEADER = struct.Struct("<3s3sHH")
"""VP8 key frame: 3-byte frame tag, start code, 14-bit width and height (+2 scale bits)."""

VP8_START_CODE = b"\x9d\x01\x2a"
VP8_KEYFRAME_BIT = 0x01
"""Bit 0 of the frame tag is 0 for a key frame."""

VP8L_HEADER = struct.Struct("<BI")
"""VP8L: signature byte 0x2f, then width-1 (14 bits), height-1 (14), alpha (1), version (3)."""

VP8L_SIGNATURE = 0x2F
DIM_MASK = 0x3FFF
"""Width/height fields of VP8 and VP8L are 14 bits."""

VP8L_ALPHA_BIT = 1 << 28
XMP_PLACEMENT = "WebP XMP chunk"


@dataclass(frozen=True)
class _Layout:
    """The top-level chunks of a WebP file, walked but not loaded."""

    form: _riff.RiffForm
    chunks: list[_riff.RiffChunk]
    trailing: int
    """Bytes after the declared RIFF form (kept verbatim on write)."""


def _scan(src: BinaryIO, limits: Limits) -> _Layout:
    form = _riff.read_form(src, FMT)
    if form.form_type != FORM_TYPE:
        raise CorruptFileError(FMT, 8, f"RIFF form type is {form.form_type!r}, not WEBP")
    chunks = list(_riff.iter_chunks(src, form.body_start, form.end, FMT, limits))
    if not chunks:
        raise CorruptFileError(FMT, form.body_start, "WebP file has no chunks")
    if chunks[0].cid not in (VP8X, VP8, VP8L):
        raise CorruptFileError(
            FMT, chunks[0].offset, f"first chunk is {chunks[0].cid!r}, not VP8X/VP8 /VP8L"
        )
    return _Layout(form, chunks, stream_size(src) - form.end)


def _read_vp8x(src: BinaryIO, chunk: _riff.RiffChunk, limits: Limits) -> bytes:
    if chunk.size < VP8X_PAYLOAD.size:
        raise CorruptFileError(FMT, chunk.offset, f"VP8X chunk has {chunk.size} bytes, needs 10")
    src.seek(chunk.data_offset)
    return read_bounded(src, chunk.size, limits.max_metadata_bytes, FMT, "VP8X chunk")


def _read_xmp(src: BinaryIO, chunk: _riff.RiffChunk, limits: Limits) -> bytes:
    src.seek(chunk.data_offset)
    return read_bounded(src, chunk.size, limits.max_metadata_bytes, FMT, "XMP chunk")


def _canvas(src: BinaryIO, chunk: _riff.RiffChunk) -> tuple[int, int, bool]:
    """Width, height and alpha of a simple file's image chunk, from its bitstream header."""
    src.seek(chunk.data_offset)
    if chunk.cid == VP8:
        if chunk.size < VP8_FRAME_HEADER.size:
            raise CorruptFileError(FMT, chunk.offset, "VP8 chunk too small for a frame header")
        tag, start, w, h = VP8_FRAME_HEADER.unpack(
            read_exact(src, VP8_FRAME_HEADER.size, FMT, "VP8 frame header")
        )
        if tag[0] & VP8_KEYFRAME_BIT or start != VP8_START_CODE:
            raise CorruptFileError(FMT, chunk.data_offset, "VP8 chunk does not start a key frame")
        width, height, alpha = w & DIM_MASK, h & DIM_MASK, False
    else:
        if chunk.size < VP8L_HEADER.size:
            raise CorruptFileError(FMT, chunk.offset, "VP8L chunk too small for its header")
        sig, bits = VP8L_HEADER.unpack(read_exact(src, VP8L_HEADER.size, FMT, "VP8L header"))
        if sig != VP8L_SIGNATURE:
            raise CorruptFileError(FMT, chunk.data_offset, f"VP8L signature is {sig:#x}")
        width = (bits & DIM_MASK) + 1
        height = ((bits >> 14) & DIM_MASK) + 1
        alpha = bool(bits & VP8L_ALPHA_BIT)
    if width == 0 or height == 0:
        raise CorruptFileError(FMT, chunk.data_offset, "image chunk declares a zero size")
    return width, height, alpha


def _vp8x_data(flags: int, width: int, height: int) -> bytes:
    return VP8X_PAYLOAD.pack(
        flags, (width - 1).to_bytes(3, "little"), (height - 1).to_bytes(3, "little")
    )


def _xmp_index(items: list[_riff.Item]) -> int:
    """Where the XMP chunk goes: after the last chunk the spec orders before it."""
    last = 0
    for i, item in enumerate(items):
        if item.cid in KNOWN_BEFORE_XMP:
            last = i + 1
    return last


class WebpHandler(Handler):
    """WebP (RIFF/WEBP): XMP chunk flagged in VP8X; simple files are made extended."""

    name = "webp"
    extensions = ("webp",)
    mime_types = ("image/webp",)

    def sniff(self, head: bytes) -> bool:
        return len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == FORM_TYPE

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        layout = _scan(src, limits)
        result = ReadResult()
        first = layout.chunks[0]
        flagged = first.cid == VP8X and bool(_read_vp8x(src, first, limits)[0] & FLAG_XMP)
        for chunk in layout.chunks:
            if chunk.cid != XMP:
                continue
            before = len(result.labels)
            collect_xmp(_read_xmp(src, chunk, limits), XMP_PLACEMENT, chunk.offset, limits, result)
            if flagged:
                continue
            why = "no VP8X chunk" if first.cid != VP8X else "the VP8X XMP flag is not set"
            result.problems.append(
                Problem(
                    "webp_xmp_unflagged",
                    f"XMP chunk at offset {chunk.offset} but {why}; decoders may ignore it",
                    "warning",
                )
            )
            result.labels[before:] = [
                dataclasses.replace(found, standard=False) for found in result.labels[before:]
            ]
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        layout = _scan(src, limits)
        first, *rest = layout.chunks
        packet = self._new_packet(src, layout, opts, limits)
        items: list[_riff.Item] = [c for c in rest if c.cid != XMP]
        if first.cid == VP8X:
            vp8x = _read_vp8x(src, first, limits)
            head: list[_riff.Item] = [_riff.NewChunk(VP8X, bytes([vp8x[0] | FLAG_XMP]) + vp8x[1:])]
        else:
            width, height, alpha = _canvas(src, first)
            flags = FLAG_XMP | (FLAG_ALPHA if alpha else 0)
            if any(c.cid == EXIF for c in items):
                flags |= FLAG_EXIF
            head = [_riff.NewChunk(VP8X, _vp8x_data(flags, width, height)), first]
        items = head + items
        items.insert(_xmp_index(items), _riff.NewChunk(XMP, packet))
        size = _riff.LIST_TYPE.size + sum(item.total_size for item in items)
        dst.write(_riff.form_header(layout.form.form_id, size, FORM_TYPE, FMT))
        for item in items:
            if isinstance(item, _riff.NewChunk):
                _riff.write_chunk(dst, item.cid, item.data, FMT)
            else:
                _riff.copy_chunk(src, dst, item, FMT)
        if layout.trailing > 0:
            copy_range(src, dst, layout.form.end, layout.trailing, FMT)

    @staticmethod
    def _new_packet(src: BinaryIO, layout: _Layout, opts: WriteOptions, limits: Limits) -> bytes:
        """Our packet: the first existing XMP packet that parses, updated with the label.

        Several packets are duplicates: the first usable one is kept and updated,
        the rest are dropped so the output carries exactly one label. When every
        existing packet is malformed the error is raised rather than dropping them.
        """
        error: AigcLabelError | None = None
        for chunk in layout.chunks:
            if chunk.cid != XMP:
                continue
            try:
                return update_xmp(
                    _read_xmp(src, chunk, limits),
                    opts.label_json,
                    digital_source_type=opts.digital_source_type,
                    limits=limits,
                )
            except (CorruptFileError, LimitExceededError) as e:
                error = error or e
        if error is not None:
            raise error
        return update_xmp(
            None, opts.label_json, digital_source_type=opts.digital_source_type, limits=limits
        )
