"""Shared plumbing for the text-family handlers (Markdown, SVG, HTML, plain text).

Text formats keep their label in markup near the head of the file, so each
handler decodes a bounded *region* from offset 0, finds what to change as
character ranges, and writes the file back as byte splices: untouched bytes are
copied from the source (never re-encoded), replacements are encoded in the
file's own encoding, and everything after the region is streamed with
:func:`copy_range`.

Encoding: a byte-order mark (UTF-8, UTF-16 LE/BE) wins; otherwise the caller
names the codec (UTF-8 by default). UTF-8 and ASCII-compatible codecs decode
with ``surrogateescape`` so stray bytes survive a decode/encode round trip and
character offsets map back to exact byte offsets; callers that must be strict
(YAML front matter) check a range with :func:`require_clean`. A multibyte
character cut by the region bound is left out of the region, not an error.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .._io import copy_range, read_exact, stream_size
from ..errors import CorruptFileError

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
"""Byte-order marks we honour, longest-unambiguous first, with the codec that follows."""

_UTF16 = ("utf-16-le", "utf-16-be")
_LONE = re.compile("[\udc80-\udcff]")
_BINARY = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
"""C0 controls that do not occur in text (tab, newlines, form feed, escape do)."""


def detect_bom(head: bytes) -> tuple[str | None, int]:
    """The codec a byte-order mark announces and the mark's length; (None, 0) without one."""
    for bom, codec in BOMS:
        if head.startswith(bom):
            return codec, len(bom)
    return None, 0


def sniff_text(head: bytes, *, markup: bool = False) -> str | None:
    """Decode a sniffing head (possibly cut mid-character) without its BOM.

    Returns None when ``head`` is empty, not UTF-8/UTF-16-with-BOM, or holds NUL
    or other control characters that text does not contain (binary data). With
    ``markup`` (HTML, SVG, Markdown front matter) a page in a legacy ASCII-compatible charset (GBK,
    Latin-1) still yields the text before its first non-UTF-8 byte, since the
    doctype, root tag or front-matter fence that identify markup are ASCII.
    """
    codec, skip = detect_bom(head)
    decoder = codecs.getincrementaldecoder(codec or "utf-8")("strict")
    try:
        text = decoder.decode(head[skip:], final=False)
    except UnicodeDecodeError as e:
        if not markup or codec is not None or e.start == 0:
            return None
        text = head[skip : skip + e.start].decode("utf-8")
    if not head or _BINARY.search(text):
        return None
    return text


def skip_markup_prolog(text: str) -> str:
    """Strip leading whitespace, an XML declaration, comments and PIs (what may precede a root).

    An unterminated construct (cut by the sniff window) returns ``""``.
    """
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        for start, end in (("<?", "?>"), ("<!--", "-->")):
            if text.startswith(start, pos):
                close = text.find(end, pos + len(start))
                if close < 0:
                    return ""
                pos = close + len(end)
                break
        else:
            return text[pos:]


@dataclass
class TextRegion:
    """The decoded head of a text file and how its characters map back to bytes."""

    text: str
    codec: str
    errors: str
    bom_len: int
    complete: bool
    """True when the region reaches the end of the file."""

    fmt: str

    def byte_offset(self, index: int) -> int:
        """Byte offset in the file of character ``index`` of :attr:`text`."""
        return self.bom_len + len(self.text[:index].encode(self.codec, self.errors))

    def encode(self, s: str) -> bytes:
        """Encode inserted text in the file's encoding (XML char refs for the unencodable)."""
        errors = "strict" if self.codec in _UTF16 else "xmlcharrefreplace"
        return s.encode(self.codec, errors)

    def newline(self) -> str:
        """The file's newline style: ``"\\r\\n"`` when its first line ends so, else ``"\\n"``."""
        nl = self.text.find("\n")
        return "\r\n" if nl > 0 and self.text[nl - 1] == "\r" else "\n"

    def require_clean(self, start: int, end: int, what: str) -> None:
        """Raise unless ``text[start:end]`` decoded cleanly (no undecodable bytes)."""
        m = _LONE.search(self.text, start, end)
        if m:
            raise CorruptFileError(
                self.fmt, self.byte_offset(m.start()), f"{what} is not valid {self.codec}"
            )


def load_region(src: BinaryIO, limit: int, fmt: str, default_codec: str = "utf-8") -> TextRegion:
    """Decode at most ``limit`` bytes from the start of ``src``.

    Raises:
        CorruptFileError: UTF-16 text that does not decode.
    """
    size = stream_size(src)
    src.seek(0)
    want = min(size, max(limit, 0))
    data = read_exact(src, want, fmt, "text head")
    codec, bom_len = detect_bom(data)
    codec = codec or default_codec
    errors = "strict" if codec in _UTF16 else "surrogateescape"
    complete = want == size
    decoder = codecs.getincrementaldecoder(codec)(errors)
    try:
        text = decoder.decode(data[bom_len:], final=complete)
    except UnicodeDecodeError as e:
        raise CorruptFileError(fmt, bom_len + e.start, f"text is not valid {codec}") from e
    return TextRegion(text, codec, errors, bom_len, complete, fmt)


Edit = tuple[int, int, str]
"""(start, end, replacement) in characters of a :class:`TextRegion`."""


def write_spliced(src: BinaryIO, dst: BinaryIO, region: TextRegion, edits: list[Edit]) -> None:
    """Write ``src`` to ``dst`` with ``edits`` applied; all other bytes are copied verbatim."""
    done_char, done_byte = 0, region.bom_len
    copied = 0
    for start, end, repl in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < done_char or end < start:
            raise CorruptFileError(region.fmt, None, "internal error: overlapping text edits")
        start_byte = done_byte + len(
            region.text[done_char:start].encode(region.codec, region.errors)
        )
        end_byte = start_byte + len(region.text[start:end].encode(region.codec, region.errors))
        copy_range(src, dst, copied, start_byte - copied, region.fmt)
        dst.write(region.encode(repl))
        copied, done_char, done_byte = end_byte, end, end_byte
    copy_range(src, dst, copied, None, region.fmt)


def iter_lines(text: str, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """Lines of ``text[start:end]`` as (start, content_end, end_with_newline) triples.

    Only ``\\n`` ends a line; a ``\\r`` before it is left out of the content.
    """
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl + 1
        content_end = nl if nl >= 0 else end
        if content_end > pos and text[content_end - 1] == "\r":
            content_end -= 1
        yield pos, content_end, stop
        pos = stop
