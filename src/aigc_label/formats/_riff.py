"""Generic RIFF chunk walker shared by the RIFF-based handlers (WebP, WAV/RF64/BW64, AVI).

A RIFF file is a form header ``"RIFF" size:u32le form_type:4cc`` followed by
chunks ``id:4cc size:u32le data[size] pad[size & 1]`` (Microsoft "Multimedia
Programming Interface and Data Specifications 1.0"; RIFX is the big-endian
variant, not handled here; RF64/BW64 is EBU Tech 3306 where 0xFFFFFFFF sizes are replaced by the
``ds64`` chunk). This module only walks and writes chunk *headers*: chunk data
is never read here, so callers decide what to load (bounded by
:class:`~aigc_label.limits.Limits`) and what to copy in blocks with
:func:`copy_chunk`.

Bounds: every chunk is checked against the end of its parent (form or LIST),
which is itself checked against the stream size before the walk starts; the
number of chunks walked is capped by ``limits.max_items`` and nested walks take
a ``depth`` checked against ``limits.max_depth``. A missing pad byte after the
last chunk of a form (a common writer bug) is tolerated when reading and
repaired when writing.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO, TypeAlias

from .._io import copy_range, read_bounded, read_exact, stream_size
from ..errors import CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits

CHUNK_HEADER = struct.Struct("<4sI")
"""Chunk header: four-character id, little-endian u32 data size."""

FORM_HEADER = struct.Struct("<4sI4s")
"""Form header: ``RIFF``/``RF64``/``BW64``, u32 size (counting from the form type), form type."""

LIST_TYPE = struct.Struct("<4s")
"""The list type that starts the data of a ``LIST`` chunk."""

MAX_CHUNK_SIZE = 0xFFFF_FFFF
"""Largest size a 32-bit chunk or form header can declare."""

RF64_PLACEHOLDER = 0xFFFF_FFFF
"""RF64/BW64 size value meaning "look the real size up in ds64"."""

RIFF_IDS = (b"RIFF",)
"""Form ids of plain little-endian RIFF."""

RF64_IDS = (b"RF64", b"BW64")
"""Form ids of EBU Tech 3306 64-bit RIFF."""


@dataclass(frozen=True)
class RiffForm:
    """The outer form of a RIFF file."""

    form_id: bytes
    """``RIFF``, ``RF64`` or ``BW64``."""

    size: int
    """Declared form size (bytes after the size field, form type included)."""

    form_type: bytes
    """``WEBP``, ``WAVE``, ``AVI `` ..."""

    offset: int
    """Offset of the form header."""

    end: int
    """Offset just past the form as declared (``offset + 8 + size``)."""

    @property
    def body_start(self) -> int:
        """Offset of the first chunk (just past the form type)."""
        return self.offset + FORM_HEADER.size


@dataclass(frozen=True)
class RiffChunk:
    """One chunk as found in the stream; the data itself is not loaded."""

    cid: bytes
    """Four-character chunk id (``b"XMP "``, ``b"VP8X"``...)."""

    size: int
    """Data size (declared, or the ds64 value for an RF64 placeholder)."""

    offset: int
    """Offset of the chunk header."""

    @property
    def data_offset(self) -> int:
        """Offset of the first data byte."""
        return self.offset + CHUNK_HEADER.size

    @property
    def data_end(self) -> int:
        """Offset just past the data (before any pad byte)."""
        return self.data_offset + self.size

    @property
    def padded_size(self) -> int:
        """Data size rounded up to an even number of bytes."""
        return self.size + (self.size & 1)

    @property
    def end(self) -> int:
        """Offset just past the data and its pad byte."""
        return self.data_offset + self.padded_size

    @property
    def total_size(self) -> int:
        """Bytes this chunk takes when written: header, data and pad."""
        return CHUNK_HEADER.size + self.padded_size


def read_form(
    f: BinaryIO,
    fmt: str,
    form_ids: tuple[bytes, ...] = RIFF_IDS,
    offset: int = 0,
    *,
    clamp: bool = False,
) -> RiffForm:
    """Read and check the form header at ``offset``.

    The declared end is checked against the stream size unless the size is the
    RF64 placeholder (the caller then replaces it from ``ds64``). With
    ``clamp=True`` a form that claims more than the stream holds (streaming
    writers leave 0 or a guess there, common in WAV) ends at the end of the
    stream instead of raising.

    Raises:
        CorruptFileError: wrong magic.
        TruncatedError: the header or the declared form runs past the end of the stream.
    """
    size_of_stream = stream_size(f)
    f.seek(offset)
    form_id, size, form_type = FORM_HEADER.unpack(read_exact(f, FORM_HEADER.size, fmt, "form"))
    if form_id not in form_ids:
        raise CorruptFileError(fmt, offset, f"not a RIFF form: {form_id!r}")
    end = offset + CHUNK_HEADER.size + size
    if form_id in RF64_IDS and size == RF64_PLACEHOLDER:
        return RiffForm(form_id, size, form_type, offset, end)
    if clamp and (size < LIST_TYPE.size or end > size_of_stream):
        end = size_of_stream
    else:
        if size < LIST_TYPE.size:
            raise CorruptFileError(fmt, offset, f"form size {size} is too small")
        if end > size_of_stream:
            raise TruncatedError(
                fmt, offset, f"form declares {size} bytes, stream has {size_of_stream - offset - 8}"
            )
    return RiffForm(form_id, size, form_type, offset, end)


def iter_chunks(
    f: BinaryIO,
    start: int,
    end: int,
    fmt: str,
    limits: Limits,
    *,
    depth: int = 0,
    large_sizes: Mapping[bytes, int] | None = None,
    clamp_ids: frozenset[bytes] = frozenset(),
) -> Iterator[RiffChunk]:
    """Yield the chunks between ``start`` and ``end`` (a form body or a LIST body).

    The stream position is left undefined between yields; callers seek to
    ``chunk.data_offset`` to read. ``end`` must already be within the stream.
    ``depth`` is the nesting level of this walk (0 for the form body).
    ``large_sizes`` maps chunk ids to real sizes for RF64 placeholder sizes.
    A chunk whose id is in ``clamp_ids`` and that runs past ``end`` is cut at
    ``end`` instead of raising (a WAV ``data`` chunk left with a 0 or
    0xFFFFFFFF size by a streaming writer).

    Raises:
        CorruptFileError: a chunk runs past ``end``.
        TruncatedError: a header is cut short.
        LimitExceededError: more than ``max_items`` chunks, or ``depth > max_depth``.
    """
    if depth > limits.max_depth:
        raise LimitExceededError("RIFF nesting depth", depth, limits.max_depth, fmt)
    pos = start
    count = 0
    while pos < end:
        count += 1
        if count > limits.max_items:
            raise LimitExceededError("RIFF chunk count", count, limits.max_items, fmt)
        if end - pos < CHUNK_HEADER.size:
            raise TruncatedError(fmt, pos, f"{end - pos} stray bytes where a chunk header belongs")
        f.seek(pos)
        cid, size = CHUNK_HEADER.unpack(read_exact(f, CHUNK_HEADER.size, fmt, "chunk header"))
        if size == RF64_PLACEHOLDER and large_sizes is not None and cid in large_sizes:
            size = large_sizes[cid]
        chunk = RiffChunk(cid, size, pos)
        if chunk.data_end > end and cid in clamp_ids:
            chunk = RiffChunk(cid, end - chunk.data_offset, pos)
        if chunk.data_end > end:
            raise CorruptFileError(
                fmt, pos, f"chunk {cid!r} declares {size} bytes, past the end of its parent"
            )
        yield chunk
        # A missing pad byte after the last chunk is tolerated: min() ends the walk.
        pos = min(chunk.end, end)


def read_list_type(f: BinaryIO, chunk: RiffChunk, fmt: str) -> bytes:
    """The four-character list type at the start of a ``LIST``/``RIFF`` chunk's data."""
    if chunk.size < LIST_TYPE.size:
        raise CorruptFileError(fmt, chunk.offset, f"{chunk.cid!r} chunk too small for a type")
    f.seek(chunk.data_offset)
    (kind,) = LIST_TYPE.unpack(read_exact(f, LIST_TYPE.size, fmt, "list type"))
    return bytes(kind)


def chunk_header(cid: bytes, size: int, fmt: str = "riff") -> bytes:
    """Pack a chunk header, refusing ids that are not 4 bytes and sizes over 32 bits."""
    if len(cid) != 4:
        raise CorruptFileError(fmt, None, f"chunk id {cid!r} is not four bytes")
    if not 0 <= size <= MAX_CHUNK_SIZE:
        raise LimitExceededError("RIFF chunk size", size, MAX_CHUNK_SIZE, fmt)
    return CHUNK_HEADER.pack(cid, size)


def form_header(form_id: bytes, size: int, form_type: bytes, fmt: str = "riff") -> bytes:
    """Pack a form header; ``size`` counts from the form type on."""
    if not 0 <= size <= MAX_CHUNK_SIZE:
        raise LimitExceededError("RIFF form size", size, MAX_CHUNK_SIZE, fmt)
    return FORM_HEADER.pack(form_id, size, form_type)


def chunk_total(data_size: int) -> int:
    """Bytes a chunk with ``data_size`` bytes of data takes: header, data and pad."""
    return CHUNK_HEADER.size + data_size + (data_size & 1)


@dataclass(frozen=True)
class NewChunk:
    """A chunk built in memory for writing, beside chunks copied from the source."""

    cid: bytes
    data: bytes

    @property
    def total_size(self) -> int:
        """Header + data + pad byte, as written."""
        return chunk_total(len(self.data))


Item: TypeAlias = RiffChunk | NewChunk
"""One chunk of an output plan: copied from the source or built anew."""


def chunk_bytes(cid: bytes, data: bytes, fmt: str = "riff") -> bytes:
    """A whole chunk (header, data and pad byte) built from in-memory data."""
    return chunk_header(cid, len(data), fmt) + data + b"\x00" * (len(data) & 1)


def write_chunk(dst: BinaryIO, cid: bytes, data: bytes, fmt: str = "riff") -> int:
    """Write a chunk built from in-memory data; returns the bytes written."""
    out = chunk_bytes(cid, data, fmt)
    dst.write(out)
    return len(out)


def copy_chunk(src: BinaryIO, dst: BinaryIO, chunk: RiffChunk, fmt: str = "riff") -> int:
    """Copy one chunk from ``src`` in blocks with a fresh header and a zero pad byte.

    The data bytes are copied unchanged; the pad byte is written even when the
    source lacked it. Returns the bytes written.
    """
    dst.write(chunk_header(chunk.cid, chunk.size, fmt))
    copy_range(src, dst, chunk.data_offset, chunk.size, fmt)
    if chunk.size & 1:
        dst.write(b"\x00")
    return chunk.total_size


# ---------------------------------------------------------------- LIST/INFO and _PMX (WAV, AVI)

LIST = b"LIST"
INFO = b"INFO"
PMX = b"_PMX"
"""Chunk holding an XMP packet in WAV/AVI (Adobe; read and written by exiftool)."""

AIGC = b"AIGC"
"""Chunk id of the label: a top-level WAV chunk, or a LIST/INFO child in AVI."""


def read_data(f: BinaryIO, chunk: RiffChunk, limits: Limits, fmt: str, what: str) -> bytes:
    """Load one chunk's data, bounded by ``limits.max_metadata_bytes``."""
    f.seek(chunk.data_offset)
    return read_bounded(f, chunk.size, limits.max_metadata_bytes, fmt, what)


def is_info_list(f: BinaryIO, chunk: RiffChunk, fmt: str) -> bool:
    """True for a ``LIST`` chunk of type ``INFO``."""
    return chunk.cid == LIST and read_list_type(f, chunk, fmt) == INFO


def list_children(
    f: BinaryIO, chunk: RiffChunk, fmt: str, limits: Limits, depth: int = 1
) -> list[RiffChunk]:
    """The sub-chunks of a ``LIST`` chunk (after its list type)."""
    start = chunk.data_offset + LIST_TYPE.size
    return list(iter_chunks(f, start, chunk.data_end, fmt, limits, depth=depth))


def zstr(data: bytes) -> str:
    """An INFO/label value as text: trailing NULs (ZSTR terminators) dropped, bad UTF-8 replaced."""
    return data.rstrip(b"\x00").decode("utf-8", "replace")


def rebuild_list(
    f: BinaryIO,
    list_type: bytes,
    children: list[RiffChunk],
    extra: list[tuple[bytes, bytes]],
    limits: Limits,
    fmt: str,
) -> bytes:
    """The data of a ``LIST`` chunk holding ``children`` (copied from ``f``) plus ``extra``.

    Meant for small metadata lists (INFO): the whole list is held in memory,
    bounded by ``limits.max_metadata_bytes``.
    """
    parts = [list_type]
    total = LIST_TYPE.size
    for child in children:
        total += child.total_size
        if total > limits.max_metadata_bytes:
            raise LimitExceededError("LIST size", total, limits.max_metadata_bytes, fmt)
        parts.append(chunk_bytes(child.cid, read_data(f, child, limits, fmt, "list item"), fmt))
    parts.extend(chunk_bytes(cid, data, fmt) for cid, data in extra)
    return b"".join(parts)
