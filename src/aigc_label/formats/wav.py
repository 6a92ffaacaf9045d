"""WAV handler (RIFF/WAVE, RF64 and BW64): the label is a top-level ``AIGC`` chunk.

Implements spec section 4 ("WAV: top-level RIFF chunk id ``AIGC``, JSON as
data, padded to even length") on the Microsoft RIFF/WAVE layout and EBU Tech
3306 / ITU-R BS.2088 (RF64/BW64: the 32-bit sizes of the form and of large
chunks are 0xFFFFFFFF and the real 64-bit sizes live in the leading ``ds64``
chunk).

Write: every top-level chunk is copied in order with one new ``AIGC`` chunk
(the bare label JSON, no terminator, pad byte when odd) placed right after
``fmt `` - before ``data``, so streaming readers and players that stop at
``data`` still meet it (spec is silent on the position; ffmpeg, sox and
exiftool all read past it). Existing ``AIGC`` chunks are dropped, an
``AIGC`` entry in a ``LIST``/``INFO`` list is removed (the other INFO entries
are kept; a list left empty is dropped) and a TC260:AIGC property in an XMP
``_PMX`` chunk is removed from the packet (everything else in it kept), so the
output carries exactly one label. The RIFF size is recomputed, which also fixes
files whose header sizes a streaming writer left at 0 or 0xFFFFFFFF (the
``data`` chunk is then cut at the end of the file). In RF64/BW64 the
0xFFFFFFFF placeholders are kept and ``ds64`` gets the new form size.

Read: top-level ``AIGC`` chunks (standard), ``LIST``/``INFO`` ``AIGC`` entries
(what ffmpeg's demuxer exposes as a tag; non-standard) and TC260:AIGC in
``_PMX`` XMP (non-standard). ID3 tags in ``id3 ``/``ID3 `` chunks are not
read: no shared ID3 reader exists yet.

Why hand-written: no Python library edits RIFF chunks in place; Python's
``wave`` and soundfile re-encode, mutagen does not write WAV chunks. The sample
data is never loaded: it is copied in 1 MiB blocks. Only ``ds64``, ``INFO``
lists, ``_PMX`` and ``AIGC`` chunks are read, each bounded by
``Limits.max_metadata_bytes``; chunk walking, its bounds (``max_items``,
``max_depth``, sizes checked against the form and the stream) and padding come
from :mod:`._riff`.
"""

from __future__ import annotations

import dataclasses
import io
import struct
from dataclasses import dataclass
from typing import BinaryIO

from .._io import copy_range, read_exact, stream_size
from ..errors import CorruptFileError, LimitExceededError
from ..limits import Limits
from ..model import Problem
from ..xmp import _aigc_moved_elsewhere, read_xmp
from . import _id3, _riff
from .base import FoundLabel, Handler, ReadResult, WriteOptions, collect_xmp

FMT = "wav"
FORM_TYPE = b"WAVE"
FMT_CHUNK = b"fmt "
DATA = b"data"
DS64 = b"ds64"

DS64_HEADER = struct.Struct("<QQQI")
"""ds64 data: riffSize, dataSize, sampleCount (u64 each), table length (u32)."""

DS64_ENTRY = struct.Struct("<4sQ")
"""ds64 table entry: chunk id and its 64-bit size."""

CLAMPED = frozenset({DATA})
"""Chunks cut at the end of the file when their size runs past it (streaming writers)."""

AIGC_PLACEMENT = "WAV AIGC chunk"
INFO_PLACEMENT = "WAV LIST/INFO AIGC"
XMP_PLACEMENT = "WAV _PMX XMP"


@dataclass(frozen=True)
class _Ds64:
    riff_size: int
    data_size: int
    sample_count: int
    table: dict[bytes, int]


@dataclass(frozen=True)
class _Layout:
    form: _riff.RiffForm
    end: int
    """Where the form really ends (declared, ds64 or clamped to the stream)."""
    chunks: list[_riff.RiffChunk]
    ds64: _Ds64 | None
    placeholders: frozenset[int]
    """Offsets of chunks whose 32-bit size field holds the RF64 placeholder."""


def _read_ds64(
    src: BinaryIO, form: _riff.RiffForm, limits: Limits
) -> tuple[_riff.RiffChunk, _Ds64]:
    first = next(_riff.iter_chunks(src, form.body_start, stream_size(src), FMT, limits), None)
    if first is None or first.cid != DS64:
        raise CorruptFileError(FMT, form.body_start, f"{form.form_id!r} file lacks a ds64 chunk")
    if first.size < DS64_HEADER.size:
        raise CorruptFileError(FMT, first.offset, f"ds64 chunk has {first.size} bytes, needs 28")
    data = _riff.read_data(src, first, limits, FMT, "ds64 chunk")
    riff_size, data_size, samples, count = DS64_HEADER.unpack_from(data)
    if count > (len(data) - DS64_HEADER.size) // DS64_ENTRY.size:
        raise CorruptFileError(FMT, first.offset, f"ds64 table declares {count} entries")
    table = dict(
        DS64_ENTRY.unpack_from(data, DS64_HEADER.size + i * DS64_ENTRY.size) for i in range(count)
    )
    return first, _Ds64(riff_size, data_size, samples, table)


def _scan(src: BinaryIO, limits: Limits) -> _Layout:
    form = _riff.read_form(src, FMT, _riff.RIFF_IDS + _riff.RF64_IDS, clamp=True)
    if form.form_type != FORM_TYPE:
        raise CorruptFileError(FMT, 8, f"form type is {form.form_type!r}, not WAVE")
    size = stream_size(src)
    ds64: _Ds64 | None = None
    large: dict[bytes, int] | None = None
    end = form.end
    if form.form_id in _riff.RF64_IDS:
        _, ds64 = _read_ds64(src, form, limits)
        large = {**ds64.table, DATA: ds64.data_size}
        if form.size == _riff.RF64_PLACEHOLDER:
            end = _riff.CHUNK_HEADER.size + ds64.riff_size
        if end > size or end < form.body_start:
            end = size
    chunks = list(
        _riff.iter_chunks(
            src, form.body_start, end, FMT, limits, large_sizes=large, clamp_ids=CLAMPED
        )
    )
    placeholders = set()
    if large is not None:
        for chunk in chunks:
            if chunk.cid in large:
                src.seek(chunk.offset)
                _, raw = _riff.CHUNK_HEADER.unpack(
                    read_exact(src, _riff.CHUNK_HEADER.size, FMT, "chunk header")
                )
                if raw == _riff.RF64_PLACEHOLDER:
                    placeholders.add(chunk.offset)
    return _Layout(form, end, chunks, ds64, frozenset(placeholders))


def _pmx_has_label(packet: bytes, limits: Limits) -> bool:
    try:
        return bool(read_xmp(packet, limits).aigc)
    except (CorruptFileError, LimitExceededError):
        return False


def read_riff_labels(
    src: BinaryIO,
    chunks: list[_riff.RiffChunk],
    limits: Limits,
    fmt: str,
    *,
    top_placement: str | None,
    info_placement: str,
    info_standard: bool,
    xmp_placement: str,
) -> ReadResult:
    """Labels in top-level ``AIGC`` chunks, INFO ``AIGC`` entries and ``_PMX`` XMP (WAV and AVI)."""
    result = ReadResult()
    for chunk in chunks:
        if chunk.cid == _riff.AIGC and top_placement is not None:
            data = _riff.read_data(src, chunk, limits, fmt, "AIGC chunk")
            result.labels.append(FoundLabel(_riff.zstr(data), top_placement, chunk.offset))
        elif chunk.cid == _riff.LIST and _riff.is_info_list(src, chunk, fmt):
            for child in _riff.list_children(src, chunk, fmt, limits):
                if child.cid == _riff.AIGC:
                    data = _riff.read_data(src, child, limits, fmt, "INFO AIGC")
                    found = FoundLabel(_riff.zstr(data), info_placement, child.offset)
                    result.labels.append(dataclasses.replace(found, standard=info_standard))
        elif chunk.cid in ID3_CHUNK_IDS:
            tag = _chunk_id3(src, chunk, limits, fmt, result)
            if tag is not None:
                _id3.collect_labels([tag], fmt, limits, result, txxx_standard=False)
        elif chunk.cid == _riff.PMX:
            before = len(result.labels)
            packet = _riff.read_data(src, chunk, limits, fmt, "_PMX chunk")
            collect_xmp(packet, xmp_placement, chunk.offset, limits, result)
            result.labels[before:] = [
                dataclasses.replace(found, standard=False) for found in result.labels[before:]
            ]
    return result


ID3_CHUNK_IDS = (b"id3 ", b"ID3 ")
"""Chunk ids under which WAV/AIFF-style writers embed an ID3v2 tag."""


def _chunk_id3(
    src: BinaryIO, chunk: _riff.RiffChunk, limits: Limits, fmt: str, out: ReadResult | None
) -> _id3.Tag | None:
    """The ID3v2 tag inside an ``id3 `` chunk; a broken foreign tag is a warning, not an error."""
    try:
        tag = _id3.parse_tag(src, chunk.data_offset, fmt, limits)
    except (CorruptFileError, LimitExceededError) as e:
        if out is not None:
            out.problems.append(Problem("id3_unreadable", f"ID3 chunk: {e.message}", "warning"))
        return None
    if tag.end > chunk.data_offset + chunk.size:
        if out is not None:
            out.problems.append(Problem("id3_unreadable", "ID3 tag runs past its chunk", "warning"))
        return None
    return tag


def clean_metadata_chunk(
    src: BinaryIO, chunk: _riff.RiffChunk, limits: Limits, fmt: str
) -> _riff.RiffChunk | tuple[bytes, bytes] | None:
    """``chunk`` with any copy of our label taken out (WAV and AVI).

    Returns the chunk itself when it holds no label, ``(cid, data)`` for a
    rebuilt INFO list or ``_PMX`` packet, and None for an INFO list that held
    nothing but the label.
    """
    if chunk.cid == _riff.LIST and _riff.is_info_list(src, chunk, fmt):
        children = _riff.list_children(src, chunk, fmt, limits)
        kept = [c for c in children if c.cid != _riff.AIGC]
        if len(kept) == len(children):
            return chunk
        if not kept:
            return None
        return _riff.LIST, _riff.rebuild_list(src, _riff.INFO, kept, [], limits, fmt)
    if chunk.cid in ID3_CHUNK_IDS:
        tag = _chunk_id3(src, chunk, limits, fmt, None)
        if tag is None or not _id3.label_frames_changing(tag, fmt, limits):
            return chunk
        buf = io.BytesIO()
        _id3.write_tag(tag, buf, fmt, limits, None)
        return chunk.cid, buf.getvalue()
    if chunk.cid == _riff.PMX:
        packet = _riff.read_data(src, chunk, limits, fmt, "_PMX chunk")
        if _pmx_has_label(packet, limits):
            return _riff.PMX, _aigc_moved_elsewhere(packet, limits)
    return chunk


class WavHandler(Handler):
    """WAV, BWF, RF64 and BW64: top-level ``AIGC`` chunk before ``data``."""

    name = "wav"
    extensions = ("wav", "wave", "bwf", "rf64")
    mime_types = ("audio/wav", "audio/x-wav", "audio/vnd.wave")

    def sniff(self, head: bytes) -> bool:
        return (
            len(head) >= 12
            and head[:4] in _riff.RIFF_IDS + _riff.RF64_IDS
            and head[8:12] == FORM_TYPE
        )

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        layout = _scan(src, limits)
        result = read_riff_labels(
            src,
            layout.chunks,
            limits,
            FMT,
            top_placement=AIGC_PLACEMENT,
            info_placement=INFO_PLACEMENT,
            info_standard=False,
            xmp_placement=XMP_PLACEMENT,
        )
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        layout = _scan(src, limits)
        label = _riff.NewChunk(_riff.AIGC, opts.label_json.encode("utf-8"))
        items: list[_riff.Item] = []
        ds64_item: _riff.RiffChunk | None = None
        placed = False
        for chunk in layout.chunks:
            if chunk.cid == _riff.AIGC:
                continue
            if chunk.cid == DS64 and layout.ds64 is not None and ds64_item is None:
                ds64_item = chunk
                items.append(chunk)
                continue
            if chunk.cid == DATA and not placed:
                items.append(label)
                placed = True
            cleaned = clean_metadata_chunk(src, chunk, limits, FMT)
            if isinstance(cleaned, tuple):
                items.append(_riff.NewChunk(*cleaned))
            elif cleaned is not None:
                items.append(cleaned)
            if chunk.cid == FMT_CHUNK and not placed:
                items.append(label)
                placed = True
        if not placed:
            items.append(label)
        size = _riff.LIST_TYPE.size + sum(item.total_size for item in items)
        form = layout.form
        if layout.ds64 is None:
            dst.write(_riff.form_header(form.form_id, size, FORM_TYPE, FMT))
        else:
            header_size = size if form.size != _riff.RF64_PLACEHOLDER and size < 2**32 - 1 else None
            dst.write(
                _riff.FORM_HEADER.pack(
                    form.form_id,
                    _riff.RF64_PLACEHOLDER if header_size is None else header_size,
                    FORM_TYPE,
                )
            )
        for item in items:
            if isinstance(item, _riff.NewChunk):
                _riff.write_chunk(dst, item.cid, item.data, FMT)
            elif item is ds64_item and layout.ds64 is not None:
                self._write_ds64(src, dst, item, layout, layout.ds64, size, limits)
            elif item.offset in layout.placeholders:
                dst.write(_riff.CHUNK_HEADER.pack(item.cid, _riff.RF64_PLACEHOLDER))
                copy_range(src, dst, item.data_offset, item.size, FMT)
                if item.size & 1:
                    dst.write(b"\x00")
            else:
                _riff.copy_chunk(src, dst, item, FMT)
        trailing = stream_size(src) - layout.end
        if trailing > 0:
            copy_range(src, dst, layout.end, trailing, FMT)

    @staticmethod
    def _write_ds64(
        src: BinaryIO,
        dst: BinaryIO,
        chunk: _riff.RiffChunk,
        layout: _Layout,
        ds64: _Ds64,
        form_size: int,
        limits: Limits,
    ) -> None:
        """ds64 with the new riffSize and the (possibly clamped) sizes of large chunks."""
        data = bytearray(_riff.read_data(src, chunk, limits, FMT, "ds64 chunk"))
        sizes = {c.cid: c.size for c in layout.chunks if c.offset in layout.placeholders}
        count = DS64_HEADER.unpack_from(data)[3]
        data_size = sizes.get(DATA, ds64.data_size)
        DS64_HEADER.pack_into(data, 0, form_size, data_size, ds64.sample_count, count)
        for i in range(count):
            at = DS64_HEADER.size + i * DS64_ENTRY.size
            cid, old = DS64_ENTRY.unpack_from(data, at)
            DS64_ENTRY.pack_into(data, at, cid, sizes.get(cid, old))
        _riff.write_chunk(dst, DS64, bytes(data), FMT)
