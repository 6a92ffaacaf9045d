"""FLV handler: the label is the AMF0 string property ``AIGC`` of the onMetaData script tag.

Implements spec section 4 ("FLV: onMetaData script tag, AMF0 string property
AIGC") on Adobe's FLV file format (Video File Format Specification v10.1,
annex E) and AMF0 (Action Message Format AMF0 specification). ffmpeg writes
``-metadata AIGC=...`` exactly there and ffprobe reports onMetaData strings as
format tags.

An FLV file is a header (``"FLV"``, version, flags, data offset), a u32
PreviousTagSize0 and then tags ``type:u8 size:u24 timestamp:u24+u8
stream_id:u24 data[size] PreviousTagSize:u32``. Script tags (type 18) hold AMF0
values: the string ``onMetaData`` followed by an ECMA array (or object).

Reading looks at the script tags before the first audio/video tag only (that
is where metadata lives; the payload is never walked). Every property named
AIGC (any case) holding an AMF0 string is reported; the one in the first
onMetaData, spelled ``AIGC``, is the standard placement.

Writing rewrites those leading script tags: every AIGC property is removed and
ours is put in the first onMetaData (one is inserted before the first tag when
there is none); every other property is kept byte for byte, the ECMA count and
each rewritten tag's PreviousTagSize are fixed, and all audio/video tags are
copied verbatim in blocks. Because the tags after the metadata shift by the
size difference, absolute offsets that indexing tools store in onMetaData
(``keyframes.filepositions``, ``lastkeyframelocation``) are moved by it, and
``filesize`` is updated when it equalled the input size.

Why hand-written: no Python library edits FLV metadata without remuxing.
Limits: script tags are loaded only up to ``Limits.max_metadata_bytes``, the
number of leading tags and AMF0 items is capped by ``Limits.max_items`` and
AMF0 nesting by ``Limits.max_depth``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from .._io import copy_range, read_bounded, read_exact, stream_size
from ..errors import CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits
from ..model import Problem
from .base import FoundLabel, Handler, ReadResult, WriteOptions

FMT = "flv"
KEY = "AIGC"
PLACEMENT = "onMetaData AMF0 AIGC"

FILE_HEADER = struct.Struct(">3sBBI")
"""Signature ``FLV``, version, type flags, data offset (header size, normally 9)."""

TAG_HEADER = struct.Struct(">B3s3sB3s")
"""Tag type (low 5 bits; 0x20 is the filter flag), data size u24, timestamp u24+u8, stream id."""

PREV_SIZE = struct.Struct(">I")
"""PreviousTagSize after every tag (and PreviousTagSize0 after the header)."""

U16 = struct.Struct(">H")
U32 = struct.Struct(">I")
NUMBER = struct.Struct(">d")

TAG_AUDIO, TAG_VIDEO, TAG_SCRIPT = 8, 9, 18
TYPE_MASK, FILTER_FLAG = 0x1F, 0x20
MAX_TAG_DATA = 0xFFFFFF
"""Largest data size a u24 field holds."""

AMF_NUMBER, AMF_BOOL, AMF_STRING, AMF_OBJECT = 0x00, 0x01, 0x02, 0x03
AMF_NULL, AMF_UNDEFINED, AMF_REFERENCE, AMF_ECMA = 0x05, 0x06, 0x07, 0x08
AMF_STRICT_ARRAY, AMF_DATE, AMF_LONG_STRING = 0x0A, 0x0B, 0x0C
AMF_UNSUPPORTED, AMF_XML, AMF_TYPED_OBJECT = 0x0D, 0x0F, 0x10
OBJECT_END = b"\x00\x00\x09"
"""Empty key followed by the object-end marker: closes an object or ECMA array."""

FIXED_SIZES = {
    AMF_NUMBER: 8,
    AMF_BOOL: 1,
    AMF_NULL: 0,
    AMF_UNDEFINED: 0,
    AMF_REFERENCE: 2,
    AMF_DATE: 10,
    AMF_UNSUPPORTED: 0,
}
"""Data bytes after the type marker of the fixed-size AMF0 types."""

ON_METADATA = b"\x02\x00\x0aonMetaData"
"""The AMF0 string value that names a metadata script tag."""

OFFSET_KEYS = (b"lastkeyframelocation",)
"""Top-level onMetaData numbers that are absolute file offsets."""


class _Amf:
    """A bounded AMF0 reader over one script tag's data."""

    def __init__(self, buf: bytes, base: int, limits: Limits) -> None:
        self.buf = buf
        self.base = base
        self.limits = limits
        self.items = 0

    def need(self, pos: int, n: int) -> None:
        if pos + n > len(self.buf):
            raise TruncatedError(FMT, self.base + pos, "AMF0 value runs past its script tag")

    def u16(self, pos: int) -> int:
        self.need(pos, 2)
        return int(U16.unpack_from(self.buf, pos)[0])

    def u32(self, pos: int) -> int:
        self.need(pos, 4)
        return int(U32.unpack_from(self.buf, pos)[0])

    def skip(self, pos: int, depth: int = 0) -> int:
        """Offset just past the AMF0 value at ``pos``."""
        self.items += 1
        if self.items > self.limits.max_items:
            raise LimitExceededError("AMF0 item count", self.items, self.limits.max_items, FMT)
        if depth > self.limits.max_depth:
            raise LimitExceededError("AMF0 nesting depth", depth, self.limits.max_depth, FMT)
        self.need(pos, 1)
        kind = self.buf[pos]
        pos += 1
        if kind in FIXED_SIZES:
            self.need(pos, FIXED_SIZES[kind])
            return pos + FIXED_SIZES[kind]
        if kind == AMF_STRING:
            return self._sized(pos + 2, self.u16(pos))
        if kind in (AMF_LONG_STRING, AMF_XML):
            return self._sized(pos + 4, self.u32(pos))
        if kind in (AMF_OBJECT, AMF_ECMA, AMF_TYPED_OBJECT):
            if kind == AMF_ECMA:
                pos += 4
            elif kind == AMF_TYPED_OBJECT:
                pos = self._sized(pos + 2, self.u16(pos))
            return self.properties(pos, depth + 1)[1]
        if kind == AMF_STRICT_ARRAY:
            count = self.u32(pos)
            pos += 4
            if count > len(self.buf) - pos:
                raise CorruptFileError(FMT, self.base + pos, f"strict array of {count} items")
            for _ in range(count):
                pos = self.skip(pos, depth + 1)
            return pos
        raise CorruptFileError(FMT, self.base + pos - 1, f"unsupported AMF0 type 0x{kind:02X}")

    def _sized(self, pos: int, n: int) -> int:
        self.need(pos, n)
        return pos + n

    def properties(self, pos: int, depth: int) -> tuple[list[tuple[bytes, int, int]], int]:
        """(key, value start, value end) of the properties at ``pos``, and the end offset.

        A missing end marker is tolerated when the data ends there (some writers).
        """
        props: list[tuple[bytes, int, int]] = []
        while True:
            if pos == len(self.buf):
                return props, pos
            if self.buf[pos : pos + 3] == OBJECT_END:
                return props, pos + 3
            n = self.u16(pos)
            self.need(pos + 2, n)
            key = self.buf[pos + 2 : pos + 2 + n]
            end = self.skip(pos + 2 + n, depth)
            props.append((key, pos + 2 + n, end))
            pos = end


@dataclass(frozen=True)
class _Meta:
    """A parsed onMetaData script tag body."""

    kind: int
    """AMF_ECMA or AMF_OBJECT."""

    count: int
    props: list[tuple[bytes, int, int]]
    tail: int
    """Offset of the bytes after the array's end marker (kept verbatim)."""


def _parse_meta(body: bytes, base: int, limits: Limits) -> _Meta | None:
    """The onMetaData array of a script tag body, None for other script tags."""
    if not body.startswith(ON_METADATA):
        return None
    amf = _Amf(body, base, limits)
    pos = len(ON_METADATA)
    amf.need(pos, 1)
    kind = body[pos]
    count = 0
    if kind == AMF_ECMA:
        count = amf.u32(pos + 1)
        pos += 5
    elif kind == AMF_OBJECT:
        pos += 1
    else:
        raise CorruptFileError(FMT, base + pos, f"onMetaData holds AMF0 type 0x{kind:02X}")
    props, tail = amf.properties(pos, 1)
    return _Meta(kind, count, props, tail)


def _string_value(body: bytes, start: int, end: int) -> str | None:
    kind = body[start]
    if kind == AMF_STRING:
        return body[start + 3 : end].decode("utf-8", "replace")
    if kind == AMF_LONG_STRING:
        return body[start + 5 : end].decode("utf-8", "replace")
    return None


def _amf_string(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) < 0x10000:
        return bytes([AMF_STRING]) + U16.pack(len(data)) + data
    return bytes([AMF_LONG_STRING]) + U32.pack(len(data)) + data


def _shift_number(raw: bytes, delta: int, floor: int) -> bytes:
    """An AMF0 number value moved by ``delta`` when it is an offset at or past ``floor``."""
    if len(raw) != 1 + NUMBER.size or raw[0] != AMF_NUMBER:
        return raw
    (value,) = NUMBER.unpack_from(raw, 1)
    if value != value or value < floor:  # NaN or an offset before the moved tags
        return raw
    return bytes([AMF_NUMBER]) + NUMBER.pack(value + delta)


def _shift_keyframes(raw: bytes, delta: int, floor: int, limits: Limits) -> bytes:
    """The ``keyframes`` object with every ``filepositions`` entry moved by ``delta``."""
    if not raw or raw[0] not in (AMF_OBJECT, AMF_ECMA):
        return raw
    amf = _Amf(raw, 0, limits)
    start = 1 if raw[0] == AMF_OBJECT else 5
    props, end = amf.properties(start, 1)
    out = bytearray(raw[:start])
    for key, vs, ve in props:
        value = raw[vs:ve]
        if key == b"filepositions" and value[:1] == bytes([AMF_STRICT_ARRAY]):
            items = bytearray(value[:5])
            pos = 5
            for _ in range(amf.u32(vs + 1)):
                item_end = amf.skip(vs + pos, 2) - vs
                items += _shift_number(value[pos:item_end], delta, floor)
                pos = item_end
            value = bytes(items)
        out += U16.pack(len(key)) + key + value
    out += raw[props[-1][2] if props else start : end]
    return bytes(out)


def _rebuild(
    body: bytes,
    meta: _Meta,
    label_json: str | None,
    delta: int,
    floor: int,
    sizes: tuple[int, int],
    limits: Limits,
) -> bytes:
    """A script tag body without AIGC properties (with ours when ``label_json``).

    ``delta``/``floor`` move stored file offsets; ``sizes`` is (input size,
    output size) for the ``filesize`` property.
    """
    entries: list[bytes] = []
    placed = label_json is None
    for key, vs, ve in meta.props:
        value = body[vs:ve]
        if key.decode("utf-8", "replace").upper() == KEY:
            if not placed and label_json is not None:
                entries.append(U16.pack(len(KEY)) + KEY.encode() + _amf_string(label_json))
                placed = True
            continue
        if key == b"keyframes":
            value = _shift_keyframes(value, delta, floor, limits)
        elif key in OFFSET_KEYS:
            value = _shift_number(value, delta, floor)
        elif key == b"filesize" and value == bytes([AMF_NUMBER]) + NUMBER.pack(sizes[0]):
            value = bytes([AMF_NUMBER]) + NUMBER.pack(sizes[1])
        entries.append(U16.pack(len(key)) + key + value)
    if not placed and label_json is not None:
        entries.append(U16.pack(len(KEY)) + KEY.encode() + _amf_string(label_json))
    head = ON_METADATA + bytes([meta.kind])
    if meta.kind == AMF_ECMA:
        count = max(0, meta.count + len(entries) - len(meta.props))
        head += U32.pack(min(count, 0xFFFFFFFF))
    return head + b"".join(entries) + OBJECT_END + body[meta.tail :]


@dataclass
class _ScriptTag:
    offset: int
    header: bytes
    body: bytes
    meta: _Meta | None
    new_body: bytes | None = None


def _data_start(f: BinaryIO, size: int) -> int:
    """Check the file header; the offset of the first tag (after PreviousTagSize0)."""
    f.seek(0)
    sig, _version, _flags, offset = FILE_HEADER.unpack(read_exact(f, FILE_HEADER.size, FMT))
    if sig != b"FLV":
        raise CorruptFileError(FMT, 0, "not an FLV file")
    if offset < FILE_HEADER.size or offset + PREV_SIZE.size > size:
        raise CorruptFileError(FMT, 5, f"data offset {offset} is outside the file")
    return int(offset) + PREV_SIZE.size


def _leading_script_tags(
    f: BinaryIO, limits: Limits, problems: list[Problem] | None
) -> tuple[int, list[_ScriptTag], int]:
    """(first tag offset, the script tags before the first audio/video tag, where they end).

    With ``problems`` (reading) an unparseable onMetaData is reported, else raised.
    """
    size = stream_size(f)
    start = _data_start(f, size)
    pos = start
    tags: list[_ScriptTag] = []
    for _ in range(limits.max_items):
        if pos >= size:
            break
        f.seek(pos)
        header = read_exact(f, TAG_HEADER.size, FMT, "tag header")
        kind, size3, _, _, _ = TAG_HEADER.unpack(header)
        if kind & TYPE_MASK != TAG_SCRIPT:
            break
        length = int.from_bytes(size3, "big")
        if pos + TAG_HEADER.size + length + PREV_SIZE.size > size:
            raise TruncatedError(FMT, pos, f"script tag declares {length} bytes past the end")
        body = read_bounded(f, length, limits.max_metadata_bytes, FMT, "script tag")
        meta = None
        if not kind & FILTER_FLAG:
            try:
                meta = _parse_meta(body, pos + TAG_HEADER.size, limits)
            except (CorruptFileError, LimitExceededError) as e:
                if problems is None:
                    raise
                problems.append(Problem("corrupt_metadata", e.message, "warning"))
        tags.append(_ScriptTag(pos, header, body, meta))
        pos += TAG_HEADER.size + length + PREV_SIZE.size
    else:
        raise LimitExceededError("FLV script tag count", limits.max_items + 1, limits.max_items)
    return start, tags, pos


def _new_tag(header: bytes | None, body: bytes) -> bytes:
    if len(body) > MAX_TAG_DATA:
        raise LimitExceededError("FLV script tag size", len(body), MAX_TAG_DATA, FMT)
    if header is None:
        header = TAG_HEADER.pack(TAG_SCRIPT, b"", b"\x00" * 3, 0, b"\x00" * 3)
    kind, _, ts, ts_ext, stream = TAG_HEADER.unpack(header[: TAG_HEADER.size])
    fresh = TAG_HEADER.pack(kind, len(body).to_bytes(3, "big"), ts, ts_ext, stream)
    return fresh + body + PREV_SIZE.pack(TAG_HEADER.size + len(body))


class FlvHandler(Handler):
    name = "flv"
    extensions = ("flv",)
    mime_types = ("video/x-flv",)

    def sniff(self, head: bytes) -> bool:
        return len(head) >= 9 and head.startswith(b"FLV") and head[3] == 1

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        result = ReadResult()
        _, tags, _ = _leading_script_tags(src, limits, result.problems)
        first = True
        for tag in tags:
            if tag.meta is None:
                continue
            for key, vs, ve in tag.meta.props:
                name = key.decode("utf-8", "replace")
                value = _string_value(tag.body, vs, ve)
                if name.upper() != KEY or value is None:
                    continue
                standard = first and name == KEY
                placement = PLACEMENT if standard else f"script tag at {tag.offset} AMF0 {name}"
                result.labels.append(FoundLabel(value, placement, tag.offset, standard))
            first = False
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        size = stream_size(src)
        start, tags, end = _leading_script_tags(src, limits, None)
        metas = [t for t in tags if t.meta is not None]
        primary = metas[0] if metas else None
        fresh: _Meta | None = None
        if primary is None:
            fresh = _Meta(AMF_ECMA, 0, [], len(ON_METADATA) + 5 + len(OBJECT_END))
        floor = end  # offsets of the audio/video tags, which all move by delta

        def bodies(delta: int) -> int:
            grow = 0
            for tag in metas:
                if tag.meta is None:
                    continue
                label = opts.label_json if tag is primary else None
                if tag is primary or any(
                    k.decode("utf-8", "replace").upper() == KEY for k, _, _ in tag.meta.props
                ):
                    sizes = (size, size + delta)
                    tag.new_body = _rebuild(tag.body, tag.meta, label, delta, floor, sizes, limits)
                    grow += len(tag.new_body) - len(tag.body)
            return grow

        delta = bodies(0)
        inserted = b""
        if fresh is not None:
            empty = ON_METADATA + bytes([AMF_ECMA]) + U32.pack(0) + OBJECT_END
            inserted = _new_tag(None, _rebuild(empty, fresh, opts.label_json, 0, 0, (0, 0), limits))
            delta += len(inserted)
        bodies(delta)
        copy_range(src, dst, 0, start, FMT)
        dst.write(inserted)
        for tag in tags:
            if tag.new_body is None:
                length = TAG_HEADER.size + len(tag.body) + PREV_SIZE.size
                copy_range(src, dst, tag.offset, length, FMT)
            else:
                dst.write(_new_tag(tag.header, tag.new_body))
        copy_range(src, dst, end, None, FMT)
