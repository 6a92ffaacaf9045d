"""QuickTime/ISO ``meta`` boxes as MP4, MOV and M4A carry tags: parse, edit, rebuild.

Two tag schemes share the ``meta`` -> ``hdlr`` + ``ilst`` layout:

* QuickTime metadata keys (``hdlr`` type ``mdta``): a ``keys`` box lists the key
  names (``size:u32 namespace:4cc name``, namespace ``mdta``) and every ``ilst``
  item is typed by the 1-based key index as a big-endian u32. This is what
  ``ffmpeg -movflags use_metadata_tags`` writes, and where our label goes.
* iTunes tags (``hdlr`` type ``mdir``): items typed by four-character codes
  (``©nam``...), free-form ``----`` items named by ``mean`` + ``name`` boxes.

Each item holds ``data`` boxes: ``type:u32 locale:u32 value`` (type 1 = UTF-8).

``meta`` is a full box in ISO files (``moov/udta/meta``) but has no
version/flags word in QuickTime's ``moov/meta``; like mutagen and ffmpeg we tell
them apart by looking for the ``hdlr`` child header. Everything here works on a
box already loaded into memory (bounded by the caller); declared counts and
sizes are checked against the box before use.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..errors import AigcLabelError, CorruptFileError
from ..limits import Limits
from ..xmp import _aigc_moved_elsewhere, read_xmp
from ._bmff import FULL_BOX, Box, Budget, Cursor, iter_buffer_boxes, make_box

MDTA = b"mdta"
"""Handler type and key namespace of QuickTime metadata keys."""

MDIR = b"mdir"
"""Handler type of iTunes-style tags."""

AIGC_KEY = b"AIGC"
"""Key name (mdta) and free-form item name (iTunes) of the label."""

ITUNES_MEAN = b"com.apple.iTunes"
"""``mean`` of the iTunes free-form items that ffmpeg and mutagen read."""

FREEFORM = b"----"
"""Item type of iTunes free-form items."""

XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
"""Extended type of the MP4 XMP box (XMP specification part 3, 1.2.7)."""

QT_XMP = b"XMP_"
"""QuickTime user-data atom holding a raw XMP packet."""

KEY_ENTRY = struct.Struct(">I4s")
"""One ``keys`` entry header: entry size (header included), namespace."""

DATA_HEAD = struct.Struct(">II")
"""``data`` box payload head: type indicator (1 = UTF-8), locale."""

UTF8 = 1
"""Well-known data type: UTF-8 text without a terminator."""

HDLR_TYPE_AT = 8
"""Offset of handler_type in the ``hdlr`` payload (after version/flags, pre_defined)."""

QT_META_CHILDREN = frozenset({b"hdlr", b"keys", b"ilst", b"free", b"skip", b"xml "})
"""Child types that, found first, show a ``meta`` without version/flags."""


@dataclass
class Meta:
    """One parsed ``meta`` box; all offsets are offsets into ``buf``."""

    buf: bytes
    box: Box
    base: int
    """Stream offset of ``buf[0]`` (for reported offsets and error messages)."""
    qt_style: bool
    full_word: int
    children: list[Box]
    handler: bytes | None
    keys: list[tuple[bytes, bytes]] | None = None
    """(namespace, name) per key, or None without a ``keys`` box."""
    keys_word: int = 0
    items: list[Box] = field(default_factory=list)


@dataclass(frozen=True)
class ItemValue:
    """One text value found in an ``ilst`` item."""

    value: str
    offset: int
    """Stream offset of the ``data`` box."""


def parse_meta(buf: bytes, box: Box, fmt: str, budget: Budget, base: int = 0) -> Meta:
    """Decode a ``meta`` box of ``buf`` (ISO full box or QuickTime style)."""
    start = box.payload_start
    qt_style = box.payload_size >= 8 and buf[start + 4 : start + 8] in QT_META_CHILDREN
    word = 0
    if not qt_style:
        word = Cursor(buf, start, box.end, fmt, base).uint(4, "meta version/flags")
        start += FULL_BOX.size
    children = list(iter_buffer_boxes(buf, start, box.end, fmt, budget, base))
    meta = Meta(buf, box, base, qt_style, word, children, None)
    for child in children:
        if child.type == b"hdlr" and meta.handler is None:
            cur = Cursor(buf, child.payload_start, child.end, fmt, base)
            cur.take(HDLR_TYPE_AT, "hdlr header")
            meta.handler = cur.take(4, "handler type")
        elif child.type == b"keys" and meta.keys is None:
            meta.keys_word, meta.keys = _parse_keys(buf, child, fmt, budget, base)
        elif child.type == b"ilst" and not meta.items:
            meta.items = list(
                iter_buffer_boxes(buf, child.payload_start, child.end, fmt, budget, base)
            )
    return meta


def _parse_keys(
    buf: bytes, box: Box, fmt: str, budget: Budget, base: int
) -> tuple[int, list[tuple[bytes, bytes]]]:
    cur = Cursor(buf, box.payload_start, box.end, fmt, base)
    word = cur.uint(4, "keys version/flags")
    n = cur.count(4, KEY_ENTRY.size, "keys entry")
    budget.take(n)
    keys = []
    for _ in range(n):
        size = cur.uint(4, "key size")
        if size < KEY_ENTRY.size:
            raise CorruptFileError(fmt, base + cur.pos, f"key entry size {size} too small")
        keys.append((cur.take(4, "key namespace"), cur.take(size - KEY_ENTRY.size, "key name")))
    return word, keys


def key_index(item: Box) -> int:
    """The key index an mdta ``ilst`` item type encodes."""
    return int.from_bytes(item.type, "big")


def is_label_key(key: tuple[bytes, bytes]) -> bool:
    return key == (MDTA, AIGC_KEY)


def label_indices(meta: Meta) -> set[int]:
    """1-based indices of the ``mdta`` ``AIGC`` keys of ``meta``."""
    return {i for i, key in enumerate(meta.keys or (), 1) if is_label_key(key)}


def item_texts(meta: Meta, item: Box, fmt: str, budget: Budget) -> list[ItemValue]:
    """UTF-8 ``data`` values of one ``ilst`` item (other data types are skipped)."""
    out = []
    for child in iter_buffer_boxes(meta.buf, item.payload_start, item.end, fmt, budget, meta.base):
        if child.type != b"data" or child.payload_size < DATA_HEAD.size:
            continue
        dtype, _locale = DATA_HEAD.unpack_from(meta.buf, child.payload_start)
        if dtype == UTF8:
            raw = meta.buf[child.payload_start + DATA_HEAD.size : child.end]
            out.append(ItemValue(raw.decode("utf-8", "replace"), meta.base + child.start))
    return out


def is_label_freeform(meta: Meta, item: Box, fmt: str, budget: Budget) -> bool:
    """True for an iTunes ``----`` item with mean ``com.apple.iTunes`` and name ``AIGC``."""
    if item.type != FREEFORM:
        return False
    parts: dict[bytes, bytes] = {}
    for child in iter_buffer_boxes(meta.buf, item.payload_start, item.end, fmt, budget, meta.base):
        if child.type in (b"mean", b"name") and child.payload_size >= FULL_BOX.size:
            parts.setdefault(child.type, meta.buf[child.payload_start + FULL_BOX.size : child.end])
    return parts.get(b"mean") == ITUNES_MEAN and parts.get(b"name") == AIGC_KEY


def label_values(meta: Meta, fmt: str, budget: Budget) -> tuple[list[ItemValue], list[ItemValue]]:
    """(values under the mdta ``AIGC`` key, values of iTunes free-form ``AIGC`` items)."""
    wanted = label_indices(meta)
    keyed: list[ItemValue] = []
    freeform: list[ItemValue] = []
    for item in meta.items:
        if wanted and key_index(item) in wanted:
            keyed += item_texts(meta, item, fmt, budget)
        elif is_label_freeform(meta, item, fmt, budget):
            freeform += item_texts(meta, item, fmt, budget)
    return keyed, freeform


def text_item(index: int, value: str) -> bytes:
    """An mdta ``ilst`` item holding one UTF-8 ``data`` box (what ffmpeg writes)."""
    data = make_box(b"data", DATA_HEAD.pack(UTF8, 0) + value.encode("utf-8"))
    return make_box(index.to_bytes(4, "big"), data)


def build_keys(word: int, keys: list[tuple[bytes, bytes]]) -> bytes:
    entries = b"".join(KEY_ENTRY.pack(KEY_ENTRY.size + len(n), ns) + n for ns, n in keys)
    return make_box(b"keys", FULL_BOX.pack(word) + len(keys).to_bytes(4, "big") + entries)


def build_hdlr(handler: bytes) -> bytes:
    """A minimal ``hdlr`` (version 0, empty name), as ffmpeg writes for metadata."""
    payload = FULL_BOX.pack(0) + bytes(4) + handler + bytes(12) + b"\0"
    return make_box(b"hdlr", payload)


def new_meta(value: str, qt_style: bool) -> bytes:
    """A fresh mdta ``meta`` with a single ``AIGC`` key."""
    body = build_hdlr(MDTA) + build_keys(0, [(MDTA, AIGC_KEY)])
    body += make_box(b"ilst", text_item(1, value))
    return make_box(b"meta", body if qt_style else FULL_BOX.pack(0) + body)


def edit_meta(meta: Meta, value: str | None, fmt: str, budget: Budget) -> bytes:
    """``meta`` rebuilt with exactly ``value`` under the mdta ``AIGC`` key (none if None).

    Other keys, items and boxes are kept byte for byte (items renumbered when an
    extra ``AIGC`` key is dropped); iTunes free-form ``AIGC`` items are dropped.
    With a value, a non-mdta handler is switched to ``mdta`` (the iTunes items
    stay: ffmpeg, exiftool and mutagen read both kinds in one ``ilst``).
    """
    buf = meta.buf
    original = bytes(buf[meta.box.start : meta.box.end])
    keys = list(meta.keys or [])
    found = sorted(label_indices(meta))
    stale = {i.start for i in meta.items if is_label_freeform(meta, i, fmt, budget)}
    if value is None and not found and not stale:
        return original
    keep = found[0] if value is not None and found else None
    renumber: dict[int, int] = {}
    new_keys: list[tuple[bytes, bytes]] = []
    for i, key in enumerate(keys, 1):
        if is_label_key(key) and i != keep:
            continue
        new_keys.append(key)
        renumber[i] = len(new_keys)
    if value is not None and keep is None:
        new_keys.append((MDTA, AIGC_KEY))
        keep = len(keys) + 1
        renumber[keep] = len(new_keys)
    items: list[bytes] = []
    placed = False
    for item in meta.items:
        raw = bytes(buf[item.start : item.end])
        idx = key_index(item)
        if meta.keys is not None and 1 <= idx <= len(keys):
            if idx == keep:
                if not placed and value is not None:
                    items.append(text_item(renumber[idx], value))
                placed = True
            elif idx in renumber:
                new_type = renumber[idx].to_bytes(4, "big")
                items.append(
                    raw if new_type == item.type else make_box(new_type, raw[item.header_size :])
                )
        elif item.start not in stale:
            items.append(raw)
    if value is not None and keep is not None and not placed:
        items.append(text_item(renumber[keep], value))
    ilst = make_box(b"ilst", b"".join(items))
    keys_box = build_keys(meta.keys_word, new_keys) if new_keys or meta.keys is not None else b""
    body: list[bytes] = []
    has_hdlr = has_keys = has_ilst = False
    for child in meta.children:
        raw = bytes(buf[child.start : child.end])
        if child.type == b"hdlr" and not has_hdlr:
            has_hdlr = True
            if value is not None and meta.handler != MDTA:
                at = child.payload_start + HDLR_TYPE_AT - child.start
                raw = raw[:at] + MDTA + raw[at + 4 :]
            body.append(raw)
        elif child.type == b"keys" and not has_keys:
            has_keys = True
            body.append(keys_box)
        elif child.type == b"ilst" and not has_ilst:
            if not has_keys and keys_box:
                body.append(keys_box)
                has_keys = True
            has_ilst = True
            body.append(ilst)
        else:
            body.append(raw)
    if not has_hdlr and value is not None:
        body.insert(0, build_hdlr(MDTA))
    if not has_keys and keys_box:
        body.append(keys_box)
    if not has_ilst and items:
        body.append(ilst)
    head = b"" if meta.qt_style else FULL_BOX.pack(meta.full_word)
    return make_box(b"meta", head + b"".join(body))


def strip_xmp(packet: bytes, limits: Limits) -> bytes | None:
    """``packet`` without TC260:AIGC, or None when it has none (or cannot be parsed)."""
    try:
        if not read_xmp(packet, limits).aigc:
            return None
        return _aigc_moved_elsewhere(packet, limits)
    except AigcLabelError:
        return None
