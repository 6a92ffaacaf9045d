"""AVI handler: the label is an ``AIGC`` entry in the top-level ``LIST``/``INFO`` list.

Implements spec section 4 ("AVI: LIST/INFO child chunk ``AIGC``") on the
Microsoft AVI RIFF layout (``RIFF 'AVI '`` with ``hdrl``, optional ``INFO``,
``movi`` and ``idx1``) and its OpenDML 1.02 extension (``AVIX`` forms after the
first one, ``indx`` super indexes and ``ix##`` standard indexes).

The value is the bare label JSON followed by a NUL, the ZSTR convention of
every INFO entry (ffmpeg and exiftool strip it; readers that do not see one
more byte of padding). ffmpeg's demuxer reports INFO entries as format tags,
so ``ffprobe`` shows ``AIGC``; ffmpeg's muxer only writes INFO keys it knows,
so ``-metadata AIGC=...`` is dropped when ffmpeg writes AVI.

Write: the first ``INFO`` list before ``movi`` gets our entry (others kept,
old ``AIGC`` entries dropped); when there is none, one is inserted after
``hdrl``. Offsets must not move: ``idx1`` entries are relative to ``movi`` (or,
in some old files, absolute) and OpenDML indexes hold absolute 64-bit offsets.
So the bytes in front of ``movi`` keep their total size whenever a ``JUNK``
chunk there can give or take the difference (ffmpeg reserves 1016 bytes of
JUNK "for easier tag editing"; VirtualDub pads to align ``movi``). Otherwise
``movi`` and everything after it moves: an absolute ``idx1`` is then patched
while it is copied, and an OpenDML file (whose absolute ``indx``/``ix##``
offsets would all need patching) is refused with :class:`UnsupportedFormatError`.
Sizes a streaming writer left at 0xFFFFFFFF (RIFF, ``movi``) are cut at the
end of the file and written correctly. ``AVIX`` forms and any other bytes
after the first form are copied verbatim;
``AIGC`` entries in other INFO lists and TC260:AIGC in ``_PMX`` XMP are
removed so exactly one label remains.

Why hand-written: no Python library edits AVI metadata without remuxing
(ffmpeg remuxing drops unknown INFO keys and rewrites the index). Only
``hdrl`` headers, INFO lists, ``_PMX`` and the first ``idx1`` entry are read
(bounded by ``Limits.max_metadata_bytes``); ``movi`` is never walked, it and
``idx1`` are copied in 1 MiB blocks. Chunk bounds, ``max_items`` and
``max_depth`` come from :mod:`._riff`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from .._io import COPY_BLOCK, copy_range, read_exact, stream_size
from ..errors import CorruptFileError, UnsupportedFormatError
from ..limits import Limits
from . import _riff
from .base import Handler, ReadResult, WriteOptions
from .wav import clean_metadata_chunk, read_riff_labels

FMT = "avi"
FORM_TYPE = b"AVI "
HDRL = b"hdrl"
MOVI = b"movi"
IDX1 = b"idx1"
JUNK = b"JUNK"
STRL = b"strl"
ODML = b"odml"
INDX = b"indx"

CLAMPED = frozenset({_riff.LIST})
"""Top-level lists cut at the end of the file when they run past it: a streaming
writer (ffmpeg to a pipe) leaves the RIFF and ``movi`` sizes at 0xFFFFFFFF."""

IDX1_ENTRY = struct.Struct("<4sIII")
"""idx1 entry: chunk id, flags, offset of the chunk header, chunk size."""

IDX1_OFFSET = struct.Struct("<I")
IDX1_OFFSET_AT = 8
"""Byte position of the offset field inside an idx1 entry."""

INFO_PLACEMENT = "AVI LIST/INFO AIGC"
XMP_PLACEMENT = "AVI _PMX XMP"


@dataclass(frozen=True)
class _Layout:
    form: _riff.RiffForm
    chunks: list[_riff.RiffChunk]
    movi: int
    """Index in ``chunks`` of the first ``LIST movi`` (``len(chunks)`` when there is none)."""
    trailing: int


def _scan(src: BinaryIO, limits: Limits) -> _Layout:
    form = _riff.read_form(src, FMT, clamp=True)
    if form.form_type != FORM_TYPE:
        raise CorruptFileError(FMT, 8, f"form type is {form.form_type!r}, not 'AVI '")
    chunks = list(_riff.iter_chunks(src, form.body_start, form.end, FMT, limits, clamp_ids=CLAMPED))
    movi = next(
        (
            i
            for i, c in enumerate(chunks)
            if c.cid == _riff.LIST and _riff.read_list_type(src, c, FMT) == MOVI
        ),
        len(chunks),
    )
    return _Layout(form, chunks, movi, stream_size(src) - form.end)


def _is_opendml(src: BinaryIO, layout: _Layout, limits: Limits) -> bool:
    """True when the file has AVIX forms, an odml list or an indx chunk (absolute offsets)."""
    if layout.trailing >= _riff.FORM_HEADER.size:
        src.seek(layout.form.end)
        if read_exact(src, 4, FMT, "trailing form") == b"RIFF":
            return True
    for chunk in layout.chunks:
        if chunk.cid != _riff.LIST or _riff.read_list_type(src, chunk, FMT) != HDRL:
            continue
        for sub in _riff.list_children(src, chunk, FMT, limits):
            if sub.cid != _riff.LIST:
                continue
            kind = _riff.read_list_type(src, sub, FMT)
            if kind == ODML:
                return True
            if kind == STRL and any(
                c.cid == INDX for c in _riff.list_children(src, sub, FMT, limits, depth=2)
            ):
                return True
    return False


def _idx1_is_absolute(src: BinaryIO, idx1: _riff.RiffChunk, movi: _riff.RiffChunk) -> bool:
    """Whether idx1 offsets count from the file start rather than from the ``movi`` type."""
    if idx1.size < IDX1_ENTRY.size:
        return False
    src.seek(idx1.data_offset)
    entry = IDX1_ENTRY.unpack(read_exact(src, IDX1_ENTRY.size, FMT, "idx1 entry"))
    ckid: bytes = entry[0]
    offset: int = entry[2]
    if offset < movi.data_offset or offset + 4 > movi.data_end:
        return False
    src.seek(offset)
    return read_exact(src, 4, FMT, "indexed chunk") == ckid


def _copy_idx1_shifted(src: BinaryIO, dst: BinaryIO, idx1: _riff.RiffChunk, delta: int) -> None:
    """Copy an absolute idx1 with every offset moved by ``delta``, in blocks."""
    dst.write(_riff.chunk_header(idx1.cid, idx1.size, FMT))
    whole = idx1.size - idx1.size % IDX1_ENTRY.size
    block = COPY_BLOCK - COPY_BLOCK % IDX1_ENTRY.size
    pos = 0
    src.seek(idx1.data_offset)
    while pos < whole:
        data = bytearray(read_exact(src, min(block, whole - pos), FMT, "idx1"))
        for at in range(IDX1_OFFSET_AT, len(data), IDX1_ENTRY.size):
            (value,) = IDX1_OFFSET.unpack_from(data, at)
            IDX1_OFFSET.pack_into(data, at, (value + delta) & 0xFFFF_FFFF)
        dst.write(data)
        pos += len(data)
    copy_range(src, dst, idx1.data_offset + whole, idx1.size - whole, FMT)
    if idx1.size & 1:
        dst.write(b"\x00")


def _absorb(items: list[_riff.Item], delta: int, after: int) -> bool:
    """Resize JUNK in ``items`` so they take ``delta`` fewer bytes; False when impossible.

    ``after`` is the index where a new JUNK chunk may go when there is none to grow.
    """
    junk = [i for i, item in enumerate(items) if item.cid == JUNK]
    if delta < 0:
        if junk:
            i = junk[-1]
            items[i] = _riff.NewChunk(
                JUNK, bytes(items[i].total_size - delta - _riff.CHUNK_HEADER.size)
            )
            return True
        if -delta >= _riff.CHUNK_HEADER.size:
            items.insert(after, _riff.NewChunk(JUNK, bytes(-delta - _riff.CHUNK_HEADER.size)))
            return True
        return False
    for i in sorted(junk, key=lambda j: -items[j].total_size):
        left = items[i].total_size - delta
        if left == 0:
            del items[i]
            return True
        if left >= _riff.CHUNK_HEADER.size:
            items[i] = _riff.NewChunk(JUNK, bytes(left - _riff.CHUNK_HEADER.size))
            return True
    return False


def _is_info(src: BinaryIO, item: _riff.Item) -> bool:
    if isinstance(item, _riff.NewChunk):
        return item.cid == _riff.LIST and item.data[:4] == _riff.INFO
    return _riff.is_info_list(src, item, FMT)


class AviHandler(Handler):
    """AVI (RIFF 'AVI ', OpenDML): ``AIGC`` entry in ``LIST``/``INFO`` before ``movi``."""

    name = "avi"
    extensions = ("avi",)
    mime_types = ("video/x-msvideo", "video/avi")

    def sniff(self, head: bytes) -> bool:
        return len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == FORM_TYPE

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        layout = _scan(src, limits)
        return read_riff_labels(
            src,
            layout.chunks,
            limits,
            FMT,
            top_placement=None,
            info_placement=INFO_PLACEMENT,
            info_standard=True,
            xmp_placement=XMP_PLACEMENT,
        )

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        layout = _scan(src, limits)
        entry = (_riff.AIGC, opts.label_json.encode("utf-8") + b"\x00")
        head = self._cleaned(src, layout.chunks[: layout.movi], limits)
        tail = self._cleaned(src, layout.chunks[layout.movi :], limits)
        info = next((i for i, item in enumerate(head) if _is_info(src, item)), None)
        if info is None:
            at = 1 if layout.chunks and layout.chunks[0].cid == _riff.LIST else 0
            head.insert(at, _riff.NewChunk(_riff.LIST, _riff.INFO + _riff.chunk_bytes(*entry, FMT)))
            info = at
        else:
            old = head[info]
            data = (
                old.data
                if isinstance(old, _riff.NewChunk)
                else _riff.rebuild_list(
                    src, _riff.INFO, _riff.list_children(src, old, FMT, limits), [], limits, FMT
                )
            )
            head[info] = _riff.NewChunk(_riff.LIST, data + _riff.chunk_bytes(*entry, FMT))
        body_start = layout.form.body_start
        movi_at = layout.chunks[layout.movi].offset if layout.movi < len(layout.chunks) else None
        old_head = (layout.form.end if movi_at is None else movi_at) - body_start
        delta = sum(item.total_size for item in head) - old_head
        if delta:
            _absorb(head, delta, info + 1)
            delta = sum(item.total_size for item in head) - old_head
        old_tail = sum(c.total_size for c in layout.chunks[layout.movi :])
        grow = delta + sum(item.total_size for item in tail) - old_tail
        if (delta or grow) and _is_opendml(src, layout, limits):
            raise UnsupportedFormatError(
                "avi: OpenDML file without JUNK room before 'movi'; adding the label would "
                "move data that its absolute indx/ix## offsets point to"
            )
        movi = layout.chunks[layout.movi] if movi_at is not None else None
        size = _riff.LIST_TYPE.size + sum(item.total_size for item in head + tail)
        dst.write(_riff.form_header(layout.form.form_id, size, FORM_TYPE, FMT))
        for item in head + tail:
            if isinstance(item, _riff.NewChunk):
                _riff.write_chunk(dst, item.cid, item.data, FMT)
            elif (
                delta
                and movi is not None
                and item.cid == IDX1
                and _idx1_is_absolute(src, item, movi)
            ):
                _copy_idx1_shifted(src, dst, item, delta)
            else:
                _riff.copy_chunk(src, dst, item, FMT)
        if layout.trailing > 0:
            copy_range(src, dst, layout.form.end, layout.trailing, FMT)

    @staticmethod
    def _cleaned(src: BinaryIO, chunks: list[_riff.RiffChunk], limits: Limits) -> list[_riff.Item]:
        out: list[_riff.Item] = []
        for chunk in chunks:
            cleaned = clean_metadata_chunk(src, chunk, limits, FMT)
            if isinstance(cleaned, tuple):
                out.append(_riff.NewChunk(*cleaned))
            elif cleaned is not None:
                out.append(cleaned)
        return out
