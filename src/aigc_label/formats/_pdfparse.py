"""The small subset of PDF syntax the PDF handler needs (ISO 32000-1/-2, clause 7).

A tokenizer/parser for direct objects (null, booleans, numbers, names, literal
and hex strings, arrays, dictionaries, indirect references), the trailer chain
(classic ``xref`` tables, 7.5.4, and cross-reference streams, 7.5.8, with the
PNG predictors of 7.4.4.4), and object lookup including compressed objects in
object streams (7.5.7). Nothing else of the document is parsed: no page tree,
no content streams.

Dictionaries keep the raw source bytes of every key and value
(:class:`PdfDict`), so a handler can write an updated dictionary that repeats
the other entries exactly as the producer wrote them, without re-encoding.

Bounds: objects are parsed from windows of at most ``limits.max_metadata_bytes``
(grown from 4 KiB on demand); nesting is capped by ``limits.max_depth``, array
and dictionary sizes, xref subsections, object-stream headers and the ``/Prev``
chain by ``limits.max_items``; inflated xref and object streams by
``limits.max_metadata_bytes``. Every declared offset and length is checked
against the stream size before it is used.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, TypeVar, Union

from .._io import read_exact, stream_size
from ..errors import CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits

FMT = "pdf"

WHITESPACE = frozenset(b"\x00\t\n\x0c\r ")
"""PDF white-space characters (Table 1)."""

DELIMITERS = frozenset(b"()<>[]{}/%")
"""PDF delimiter characters (Table 2)."""

FIRST_WINDOW = 4096
"""Bytes read first when parsing an object; grown by GROWTH up to the metadata limit."""

GROWTH = 8
"""Factor by which a parse window grows when an object does not fit."""

TAIL_BYTES = 2048
"""How much of the file's end is searched for ``startxref``."""

XREF_ENTRY = re.compile(rb"(\d{10})[ ](\d{5})[ ]([nf])")
"""A classic cross-reference entry (7.5.4): 10-digit offset, 5-digit generation, type."""

_NUMBER = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)")
_INT = re.compile(rb"[+-]?\d+")


@dataclass(frozen=True)
class Name:
    """A PDF name object, decoded (``#xx`` escapes resolved), without the slash."""

    value: bytes


@dataclass(frozen=True)
class Ref:
    """An indirect reference ``num gen R``."""

    num: int
    gen: int


@dataclass
class PdfDict:
    """A dictionary with its decoded values and the raw source of each entry."""

    items: dict[bytes, PdfObject] = field(default_factory=dict)
    raw: dict[bytes, tuple[bytes, bytes]] = field(default_factory=dict)
    """Key -> (raw key token, raw value bytes), as written in the file."""

    def get(self, key: bytes) -> PdfObject:
        return self.items.get(key)


PdfObject = Union[None, bool, int, float, bytes, Name, Ref, list["PdfObject"], PdfDict]  # noqa: UP007
"""Decoded object; ``bytes`` is a string object."""


class NeedMore(Exception):
    """Internal: the parse window ended inside an object; retry with a larger one."""


@dataclass
class Parser:
    """Parses objects from ``buf``; ``base`` is the file offset of ``buf[0]``."""

    buf: bytes
    base: int
    limits: Limits
    complete: bool
    """True when ``buf`` runs to the end of the data, so running off it is truncation."""
    pos: int = 0

    def _end(self) -> NeedMore | TruncatedError:
        if self.complete:
            return TruncatedError(FMT, self.base + self.pos, "object runs past the end of data")
        return NeedMore()

    def corrupt(self, reason: str) -> CorruptFileError:
        return CorruptFileError(FMT, self.base + self.pos, reason)

    def skip_ws(self) -> None:
        buf = self.buf
        while self.pos < len(buf):
            c = buf[self.pos]
            if c in WHITESPACE:
                self.pos += 1
            elif c == 0x25:  # % comment to end of line
                while self.pos < len(buf) and buf[self.pos] not in b"\r\n":
                    self.pos += 1
            else:
                return
        raise self._end()

    def regular(self) -> bytes:
        """The run of regular characters at ``pos`` (a number or keyword token)."""
        start = self.pos
        buf = self.buf
        while self.pos < len(buf) and buf[self.pos] not in WHITESPACE | DELIMITERS:
            self.pos += 1
        if self.pos == len(buf) and not self.complete:
            raise NeedMore()
        return buf[start : self.pos]

    def keyword(self, word: bytes) -> None:
        self.skip_ws()
        at = self.pos
        token = self.regular()
        if token != word:
            self.pos = at
            raise self.corrupt(f"expected {word.decode()!r}")

    def integer(self) -> int:
        self.skip_ws()
        at = self.pos
        token = self.regular()
        if not _INT.fullmatch(token) or len(token) > 20:
            self.pos = at
            raise self.corrupt("expected an integer")
        return int(token)

    def obj_header(self) -> tuple[int, int]:
        """Parse ``num gen obj``."""
        num, gen = self.integer(), self.integer()
        self.keyword(b"obj")
        return num, gen

    def object(self, depth: int = 0) -> PdfObject:
        if depth > self.limits.max_depth:
            raise LimitExceededError("object nesting depth", depth, self.limits.max_depth, FMT)
        self.skip_ws()
        buf = self.buf
        c = buf[self.pos]
        if c == 0x2F:  # /
            return self._name()
        if c == 0x28:  # (
            return self._literal()
        if c == 0x3C:  # <
            if self.pos + 1 >= len(buf):
                raise self._end()
            if buf[self.pos + 1] == 0x3C:
                return self._dict(depth)
            return self._hex()
        if c == 0x5B:  # [
            return self._array(depth)
        if c in DELIMITERS:
            raise self.corrupt(f"unexpected delimiter {chr(c)!r}")
        token = self.regular()
        if token == b"true":
            return True
        if token == b"false":
            return False
        if token == b"null":
            return None
        if _INT.fullmatch(token) and len(token) <= 20:
            return self._int_or_ref(int(token))
        if _NUMBER.fullmatch(token) and len(token) <= 40:
            return float(token)
        self.pos -= len(token)
        raise self.corrupt(f"unexpected token {token[:20]!r}")

    def _int_or_ref(self, value: int) -> int | Ref:
        save = self.pos
        try:
            self.skip_ws()
            gen = self.regular()
            if gen.isdigit() and len(gen) <= 5:
                self.skip_ws()
                if self.regular() == b"R":
                    if value < 0:
                        raise self.corrupt("negative object number")
                    return Ref(value, int(gen))
        except TruncatedError:
            pass
        self.pos = save
        return value

    def _name(self) -> Name:
        self.pos += 1
        token = self.regular()
        if b"#" not in token:
            return Name(token)
        out = bytearray()
        i = 0
        while i < len(token):
            if token[i] == 0x23 and i + 3 <= len(token) and _ishex(token[i + 1 : i + 3]):
                out.append(int(token[i + 1 : i + 3], 16))
                i += 3
            else:
                out.append(token[i])
                i += 1
        return Name(bytes(out))

    def _literal(self) -> bytes:
        buf = self.buf
        self.pos += 1
        depth = 1
        out = bytearray()
        while True:
            if self.pos >= len(buf):
                raise self._end()
            c = buf[self.pos]
            self.pos += 1
            if c == 0x5C:  # backslash
                if self.pos >= len(buf):
                    raise self._end()
                e = buf[self.pos]
                self.pos += 1
                if e in _ESCAPES:
                    out.append(_ESCAPES[e])
                elif 0x30 <= e <= 0x37:
                    digits = bytes([e])
                    while len(digits) < 3 and self.pos < len(buf) and 0x30 <= buf[self.pos] <= 0x37:
                        digits += buf[self.pos : self.pos + 1]
                        self.pos += 1
                    out.append(int(digits, 8) & 0xFF)
                elif e == 0x0D:  # line continuation, CR or CRLF
                    if self.pos < len(buf) and buf[self.pos] == 0x0A:
                        self.pos += 1
                elif e != 0x0A:
                    out.append(e)
            elif c == 0x28:
                depth += 1
                out.append(c)
            elif c == 0x29:
                depth -= 1
                if depth == 0:
                    return bytes(out)
                out.append(c)
            elif c == 0x0D:  # a bare EOL in a string reads as LF
                if self.pos < len(buf) and buf[self.pos] == 0x0A:
                    self.pos += 1
                out.append(0x0A)
            else:
                out.append(c)

    def _hex(self) -> bytes:
        end = self.buf.find(b">", self.pos)
        if end < 0:
            raise self._end()
        digits = bytes(c for c in self.buf[self.pos + 1 : end] if c not in WHITESPACE)
        if not _ishex(digits) and digits:
            raise self.corrupt("bad hex string")
        self.pos = end + 1
        if len(digits) % 2:
            digits += b"0"
        return bytes.fromhex(digits.decode("ascii"))

    def _array(self, depth: int) -> list[PdfObject]:
        self.pos += 1
        out: list[PdfObject] = []
        while True:
            self.skip_ws()
            if self.buf[self.pos] == 0x5D:  # ]
                self.pos += 1
                return out
            if len(out) >= self.limits.max_items:
                raise LimitExceededError("array size", len(out) + 1, self.limits.max_items, FMT)
            out.append(self.object(depth + 1))

    def _dict(self, depth: int) -> PdfDict:
        self.pos += 2
        out = PdfDict()
        while True:
            self.skip_ws()
            if self.buf[self.pos] == 0x3E:  # >
                if self.pos + 1 >= len(self.buf):
                    raise self._end()
                if self.buf[self.pos + 1] != 0x3E:
                    raise self.corrupt("expected '>>'")
                self.pos += 2
                return out
            if len(out.items) >= self.limits.max_items:
                raise LimitExceededError("dictionary size", len(out.items), self.limits.max_items)
            key_start = self.pos
            key = self.object(depth + 1)
            if not isinstance(key, Name):
                self.pos = key_start
                raise self.corrupt("dictionary key is not a name")
            raw_key = self.buf[key_start : self.pos]
            self.skip_ws()
            value_start = self.pos
            value = self.object(depth + 1)
            out.items[key.value] = value
            out.raw[key.value] = (raw_key, self.buf[value_start : self.pos])

    def stream_start(self) -> int:
        """After a stream dictionary: consume ``stream`` + EOL; the file offset of the data."""
        self.keyword(b"stream")
        if self.pos + 1 >= len(self.buf):
            raise self._end()
        if self.buf[self.pos : self.pos + 2] == b"\r\n":
            self.pos += 2
        elif self.buf[self.pos] in b"\r\n":
            self.pos += 1
        return self.base + self.pos


_ESCAPES = {
    ord("n"): 0x0A,
    ord("r"): 0x0D,
    ord("t"): 0x09,
    ord("b"): 0x08,
    ord("f"): 0x0C,
    ord("("): 0x28,
    ord(")"): 0x29,
    ord("\\"): 0x5C,
}


def _ishex(data: bytes) -> bool:
    return bool(data) and all(c in b"0123456789abcdefABCDEF" for c in data)


T = TypeVar("T")


def parse_at(
    src: BinaryIO, offset: int, limits: Limits, fn: Callable[[Parser], T], size: int | None = None
) -> T:
    """Run ``fn`` on a parser over the file from ``offset``, growing the window as needed."""
    size = stream_size(src) if size is None else size
    if not 0 <= offset < size:
        raise CorruptFileError(FMT, offset, "offset points outside the file")
    window = FIRST_WINDOW
    while True:
        n = min(window, size - offset)
        src.seek(offset)
        buf = read_exact(src, n, FMT, "object")
        try:
            return fn(Parser(buf, offset, limits, complete=offset + n >= size))
        except IndexError as e:  # buf[pos] at the very end of an incomplete window
            if offset + n >= size:
                raise TruncatedError(FMT, offset, "object runs past the end of file") from e
        except NeedMore:
            pass
        if window >= limits.max_metadata_bytes:
            raise LimitExceededError("PDF object size", window, limits.max_metadata_bytes, FMT)
        window = min(window * GROWTH, limits.max_metadata_bytes)


def parse_buffer(buf: bytes, base: int, limits: Limits, fn: Callable[[Parser], T]) -> T:
    """Run ``fn`` on a complete in-memory buffer (an inflated object stream)."""
    try:
        return fn(Parser(buf, base, limits, complete=True))
    except (IndexError, NeedMore) as e:
        raise TruncatedError(FMT, base, "object runs past the end of its stream") from e


def inflate(data: bytes, limit: int, offset: int) -> bytes:
    """FlateDecode with the output bounded by ``limit``."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit)
    except zlib.error as e:
        raise CorruptFileError(FMT, offset, f"bad FlateDecode data: {e}") from e
    if d.unconsumed_tail:
        raise LimitExceededError("inflated stream size", limit + 1, limit, FMT)
    return out


def unpredict(data: bytes, parms: PdfObject, offset: int) -> bytes:
    """Undo a /DecodeParms /Predictor (PNG predictors 10-15, 8-bit, one color)."""
    if not isinstance(parms, PdfDict):
        return data
    predictor = parms.get(b"Predictor")
    if predictor in (None, 1):
        return data
    if not isinstance(predictor, int) or predictor < 10:
        raise CorruptFileError(FMT, offset, f"unsupported predictor {predictor!r}")
    columns = parms.get(b"Columns")
    colors = parms.get(b"Colors")
    bpc = parms.get(b"BitsPerComponent")
    cols = 1 if columns is None else columns
    if (
        not isinstance(cols, int)
        or not 0 < cols <= 1 << 16
        or colors not in (None, 1)
        or bpc not in (None, 8)
    ):
        raise CorruptFileError(FMT, offset, "unsupported predictor parameters")
    rowlen = cols + 1
    out = bytearray()
    prev = bytearray(cols)
    for start in range(0, len(data) - len(data) % rowlen, rowlen):
        kind = data[start]
        row = bytearray(data[start + 1 : start + rowlen])
        for i in range(cols):
            left = row[i - 1] if i else 0
            up = prev[i]
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                ul = prev[i - 1] if i else 0
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else ul
                row[i] = (row[i] + pred) & 0xFF
            elif kind != 0:
                raise CorruptFileError(FMT, offset, f"bad PNG predictor row type {kind}")
        out += row
        prev = row
    return bytes(out)


def decode_stream(data: bytes, sdict: PdfDict, limit: int, offset: int) -> bytes:
    """Apply the stream's filters: none or FlateDecode (with a predictor)."""
    filt = sdict.get(b"Filter")
    parms = sdict.get(b"DecodeParms")
    if isinstance(filt, list):
        if len(filt) > 1:
            raise CorruptFileError(FMT, offset, "filter chains are not supported here")
        filt = filt[0] if filt else None
        parms = parms[0] if isinstance(parms, list) and parms else parms
    if filt is None:
        if len(data) > limit:
            raise LimitExceededError("stream size", len(data), limit, FMT)
        return data
    if filt != Name(b"FlateDecode"):
        raise CorruptFileError(FMT, offset, f"unsupported stream filter {filt!r}")
    return unpredict(inflate(data, limit, offset), parms, offset)


def decode_text(value: bytes) -> str:
    """A PDF text string (7.9.2.2): UTF-16BE or UTF-8 with BOM, else PDFDocEncoding."""
    if value.startswith(b"\xfe\xff"):
        return value[2:].decode("utf-16-be", errors="replace")
    if value.startswith(b"\xef\xbb\xbf"):
        return value[3:].decode("utf-8", errors="replace")
    return value.decode("latin-1")


def encode_text(text: str) -> bytes:
    """A PDF string token: an escaped literal for ASCII, else UTF-16BE hex with BOM."""
    if text.isascii():
        escaped = text.encode("ascii").replace(b"\\", b"\\\\")
        return b"(" + escaped.replace(b"(", b"\\(").replace(b")", b"\\)") + b")"
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"
