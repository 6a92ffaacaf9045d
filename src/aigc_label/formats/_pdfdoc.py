"""Cross-reference chain and object lookup for a PDF (ISO 32000-1 7.5.4-7.5.8).

:class:`PdfDocument` finds ``startxref`` in the last :data:`TAIL_BYTES` of the
file, parses the newest cross-reference section (classic table or xref stream)
and its trailer, and follows ``/XRefStm`` and ``/Prev`` lazily, only as far as
an object lookup needs. Objects are loaded from their offset or from an object
stream. Classic tables are not read whole: the entry for one object is read
from its computed position (entries are fixed-size records).

Bounds: see :mod:`._pdfparse`; in addition the total bytes inflated from xref
and object streams are capped at twice ``limits.max_metadata_bytes``, the
section chain at ``limits.max_items`` sections (cycles are corrupt), and
reference chains (a stream ``/Length`` held in an object stream) at
:data:`MAX_REF_DEPTH`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from .._io import read_exact, stream_size
from ..errors import CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits
from ._pdfparse import (
    FMT,
    TAIL_BYTES,
    XREF_ENTRY,
    Name,
    Parser,
    PdfDict,
    PdfObject,
    Ref,
    decode_stream,
    parse_at,
    parse_buffer,
)

MAX_REF_DEPTH = 4
"""Deepest chain of lookups needed to load one object (object stream, its /Length)."""

MAX_OBJECT_NUMBER = 10**10
"""Object numbers and /Size above this are treated as corrupt."""

_STARTXREF = re.compile(rb"startxref\s+(\d{1,15})")


@dataclass(frozen=True)
class Entry:
    """A cross-reference entry: kind 1 (offset, gen), kind 2 (objstm number, index), 0 free."""

    kind: int
    a: int
    b: int


@dataclass
class Section:
    """One cross-reference section and its trailer (or xref stream dictionary)."""

    offset: int
    is_stream: bool
    trailer: PdfDict
    subsections: list[tuple[int, int, int, int]] = field(default_factory=list)
    """Classic table: (first object, count, file offset of entries, entry size)."""
    widths: tuple[int, int, int] = (0, 0, 0)
    index: list[tuple[int, int]] = field(default_factory=list)
    rows: bytes = b""


@dataclass(frozen=True)
class Loaded:
    """An object as loaded: value, where it starts, and its stream data offset if any."""

    value: PdfObject
    offset: int
    stream_at: int | None = None


class PdfDocument:
    """Lazy view of a PDF's cross-reference chain; reads nothing but structure."""

    def __init__(self, src: BinaryIO, limits: Limits) -> None:
        self.src = src
        self.limits = limits
        self.size = stream_size(src)
        self._inflated = 0
        self._objstm: dict[int, tuple[bytes, list[tuple[int, int]], int, int]] = {}
        self.startxref, self.last_byte = self._find_startxref()
        self.newest = self._load_section(self.startxref)
        self.trailer = self.newest.trailer
        self._cache: dict[int, Section] = {self.startxref: self.newest}

    def _find_startxref(self) -> tuple[int, bytes]:
        n = min(TAIL_BYTES, self.size)
        self.src.seek(self.size - n)
        tail = read_exact(self.src, n, FMT, "file tail")
        at = tail.rfind(b"startxref")
        m = _STARTXREF.match(tail, at) if at >= 0 else None
        if m is None:
            raise CorruptFileError(FMT, self.size - n, "no startxref in the last 2 KiB")
        offset = int(m.group(1))
        if offset >= self.size:
            raise CorruptFileError(FMT, self.size - n + at, "startxref points past the end")
        return offset, tail[-1:]

    # -- sections -------------------------------------------------------------

    def _load_section(self, offset: int) -> Section:
        def kind(p: Parser) -> bytes:
            p.skip_ws()
            return p.regular()

        if parse_at(self.src, offset, self.limits, kind, self.size) == b"xref":
            return self._load_table(offset)
        return self._load_xref_stream(offset)

    def _load_table(self, offset: int) -> Section:
        def after_keyword(p: Parser) -> int:
            p.keyword(b"xref")
            return p.base + p.pos

        def header(p: Parser) -> tuple[PdfDict | None, int, int, int]:
            p.skip_ws()
            if p.buf.startswith(b"trailer", p.pos):
                p.keyword(b"trailer")
                d = p.object()
                if not isinstance(d, PdfDict):
                    raise p.corrupt("trailer is not a dictionary")
                return d, 0, 0, 0
            first, count = p.integer(), p.integer()
            if count > 0:
                p.skip_ws()
            return None, first, count, p.base + p.pos

        pos = parse_at(self.src, offset, self.limits, after_keyword, self.size)
        subsections: list[tuple[int, int, int, int]] = []
        while True:
            if len(subsections) >= self.limits.max_items:
                raise LimitExceededError(
                    "xref subsections", len(subsections), self.limits.max_items
                )
            trailer, first, count, entries = parse_at(self.src, pos, self.limits, header, self.size)
            if trailer is not None:
                return Section(offset, False, trailer, subsections)
            if not (0 <= first < MAX_OBJECT_NUMBER and 0 <= count < MAX_OBJECT_NUMBER):
                raise CorruptFileError(FMT, pos, "bad xref subsection header")
            esize = self._entry_size(entries) if count else 20
            pos = entries + count * esize
            if pos > self.size:
                raise TruncatedError(FMT, entries, "xref subsection runs past the end")
            subsections.append((first, count, entries, esize))

    def _entry_size(self, at: int) -> int:
        """20 per the spec; 19 for writers that end entries with a single EOL byte."""
        self.src.seek(at)
        probe = self.src.read(20)
        if len(probe) == 20 and probe[18:20] in (b"\r\n", b" \n", b" \r"):
            return 20
        if len(probe) >= 19 and probe[18] in b"\r\n" and probe[17] in b"nf":
            return 19
        raise CorruptFileError(FMT, at, "malformed xref entry")

    def _load_xref_stream(self, offset: int) -> Section:
        loaded = self._parse_object(offset, None)
        d = loaded.value
        if not isinstance(d, PdfDict) or loaded.stream_at is None:
            raise CorruptFileError(FMT, offset, "startxref/Prev does not point at an xref section")
        if d.get(b"Type") != Name(b"XRef"):
            raise CorruptFileError(FMT, offset, "xref stream lacks /Type /XRef")
        w = d.get(b"W")
        if not (
            isinstance(w, list)
            and len(w) == 3
            and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 8 for x in w)
        ):
            raise CorruptFileError(FMT, offset, "bad /W in xref stream")
        widths = (int(w[0]), int(w[1]), int(w[2]))  # type: ignore[arg-type]
        size = d.get(b"Size")
        if not isinstance(size, int) or not 0 <= size < MAX_OBJECT_NUMBER:
            raise CorruptFileError(FMT, offset, "bad /Size in xref stream")
        raw_index = d.get(b"Index")
        if raw_index is None:
            raw_index = [0, size]
        if (
            not isinstance(raw_index, list)
            or len(raw_index) % 2
            or not all(isinstance(x, int) and 0 <= x < MAX_OBJECT_NUMBER for x in raw_index)
        ):
            raise CorruptFileError(FMT, offset, "bad /Index in xref stream")
        nums = [int(x) for x in raw_index]  # type: ignore[arg-type]
        index = list(zip(nums[::2], nums[1::2], strict=True))
        rows = self._stream_bytes(d, loaded.stream_at, 0)
        return Section(offset, True, d, widths=widths, index=index, rows=rows)

    def sections(self) -> Iterator[Section]:
        """Newest first: each section, then its /XRefStm, then its /Prev, lazily."""
        pending = [self.startxref]
        seen: set[int] = set()
        while pending:
            offset = pending.pop()
            if offset in seen:  # a cycle, or /XRefStm and /Prev naming one section
                continue
            seen.add(offset)
            if len(seen) > self.limits.max_items:
                raise LimitExceededError("xref sections", len(seen), self.limits.max_items, FMT)
            sec = self._cache.get(offset)
            if sec is None:
                sec = self._load_section(offset)
                self._cache[offset] = sec
            yield sec
            prev, stm = sec.trailer.get(b"Prev"), sec.trailer.get(b"XRefStm")
            for nxt in (prev, stm):  # popped in reverse: XRefStm before Prev
                if nxt is None:
                    continue
                if not isinstance(nxt, int) or not 0 <= nxt < self.size:
                    raise CorruptFileError(FMT, offset, "bad /Prev or /XRefStm offset")
                pending.append(nxt)

    def _entry(self, sec: Section, num: int) -> Entry | None:
        if not sec.is_stream:
            for first, count, at, esize in sec.subsections:
                if first <= num < first + count:
                    self.src.seek(at + (num - first) * esize)
                    m = XREF_ENTRY.match(self.src.read(esize))
                    if m is None:
                        raise CorruptFileError(FMT, at, f"malformed xref entry for object {num}")
                    kind = 1 if m.group(3) == b"n" else 0
                    return Entry(kind, int(m.group(1)), int(m.group(2)))
            return None
        row = 0
        for first, count in sec.index:
            if first <= num < first + count:
                row += num - first
                break
            row += count
        else:
            return None
        w0, w1, w2 = sec.widths
        start = row * (w0 + w1 + w2)
        data = sec.rows[start : start + w0 + w1 + w2]
        if len(data) < w0 + w1 + w2:
            return None
        kind = int.from_bytes(data[:w0], "big") if w0 else 1
        a = int.from_bytes(data[w0 : w0 + w1], "big")
        b = int.from_bytes(data[w0 + w1 :], "big")
        return Entry(kind, a, b)

    def lookup(self, num: int) -> Entry | None:
        """The newest in-use entry for object ``num``, or None (a null object)."""
        for sec in self.sections():
            entry = self._entry(sec, num)
            if entry is not None and entry.kind in (1, 2):
                return entry
        return None

    # -- objects --------------------------------------------------------------

    def _parse_object(self, offset: int, expect: int | None) -> Loaded:
        def body(p: Parser) -> Loaded:
            num, _gen = p.obj_header()
            if expect is not None and num != expect:
                raise CorruptFileError(FMT, offset, f"xref says object {expect}, found {num}")
            value = p.object()
            stream_at = None
            if isinstance(value, PdfDict):
                save = p.pos
                p.skip_ws()
                if p.regular() == b"stream":
                    p.pos = save
                    stream_at = p.stream_start()
            return Loaded(value, offset, stream_at)

        return parse_at(self.src, offset, self.limits, body, self.size)

    def load(self, ref: Ref, depth: int = 0) -> Loaded | None:
        """Load an indirect object; None when it does not exist (a null reference)."""
        if depth > MAX_REF_DEPTH:
            raise CorruptFileError(FMT, None, "object references nest too deeply")
        entry = self.lookup(ref.num)
        if entry is None:
            return None
        if entry.kind == 1:
            if entry.a >= self.size:
                raise CorruptFileError(FMT, None, f"object {ref.num} offset past the end")
            return self._parse_object(entry.a, ref.num)
        data, pairs, first, stm_offset = self._object_stream(entry.a, depth + 1)
        if entry.b >= len(pairs):
            raise CorruptFileError(FMT, stm_offset, f"object {ref.num} not in its object stream")
        num, rel = pairs[entry.b]
        if num != ref.num or not 0 <= first + rel < len(data):
            raise CorruptFileError(FMT, stm_offset, f"object stream index wrong for {ref.num}")
        value = parse_buffer(data[first + rel :], stm_offset, self.limits, lambda p: p.object())
        return Loaded(value, stm_offset)

    def _object_stream(self, num: int, depth: int) -> tuple[bytes, list[tuple[int, int]], int, int]:
        if num in self._objstm:
            return self._objstm[num]
        entry = self.lookup(num)
        if entry is None or entry.kind != 1:
            raise CorruptFileError(FMT, None, f"object stream {num} is missing")
        loaded = self._parse_object(entry.a, num)
        d = loaded.value
        if not isinstance(d, PdfDict) or loaded.stream_at is None:
            raise CorruptFileError(FMT, entry.a, f"object {num} is not an object stream")
        n, first = d.get(b"N"), d.get(b"First")
        if not isinstance(n, int) or not isinstance(first, int) or n < 0 or first < 0:
            raise CorruptFileError(FMT, entry.a, "object stream lacks /N or /First")
        if n > self.limits.max_items:
            raise LimitExceededError("objects in a stream", n, self.limits.max_items, FMT)
        data = self._stream_bytes(d, loaded.stream_at, depth)

        def header(p: Parser) -> list[tuple[int, int]]:
            return [(p.integer(), p.integer()) for _ in range(n)]

        pairs = parse_buffer(data[:first], entry.a, self.limits, header)
        self._objstm = {num: (data, pairs, first, entry.a)}
        return self._objstm[num]

    def _stream_bytes(self, d: PdfDict, at: int, depth: int, limit: int | None = None) -> bytes:
        """The decoded data of a stream starting at file offset ``at``."""
        length = d.get(b"Length")
        if isinstance(length, Ref):
            got = self.load(length, depth + 1)
            length = got.value if got is not None else None
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            raise CorruptFileError(FMT, at, "stream /Length is not a non-negative integer")
        cap = self.limits.max_metadata_bytes
        limit = cap if limit is None else limit
        if length > limit:
            raise LimitExceededError("stream length", length, limit, FMT)
        if at + length > self.size:
            raise TruncatedError(FMT, at, "stream runs past the end of file")
        self.src.seek(at)
        data = decode_stream(read_exact(self.src, length, FMT, "stream"), d, limit, at)
        self._inflated += len(data)
        if self._inflated > 2 * cap:
            raise LimitExceededError("decoded PDF structure", self._inflated, 2 * cap, FMT)
        return data

    def stream_data(self, loaded: Loaded, limit: int) -> bytes:
        """Decoded data of a loaded stream object, bounded by ``limit``."""
        if not isinstance(loaded.value, PdfDict) or loaded.stream_at is None:
            raise CorruptFileError(FMT, loaded.offset, "expected a stream")
        return self._stream_bytes(loaded.value, loaded.stream_at, 0, limit)

    def resolve(self, value: PdfObject) -> PdfObject:
        """Follow one indirect reference; other values are returned as they are."""
        if isinstance(value, Ref):
            got = self.load(value)
            return got.value if got is not None else None
        return value
