"""HTML: the label as ``<meta name="AIGC" content="...">`` in ``<head>`` (spec section 4, HTML row).

The guides give no HTML placement (uncertain); a named ``<meta>`` is what HTML
provides for document metadata, and exiftool reports it as ``HTML:AIGC``. The
content attribute holds the bare label JSON, HTML-escaped (``&quot;``).

We insert right after the charset ``<meta>`` when ``<head>`` has one (so it
stays within the first 1024 bytes, HTML 4.2.5.5), else right after the
``<head>`` start tag, else after ``<html>``, else after the doctype, else at
the top. An existing ``AIGC`` meta in the head is replaced in place; copies
elsewhere (in ``<body>``) are read as non-standard and removed on write.

Hand-written with the stdlib's tolerant :mod:`html.parser` to locate tags
(character offsets from its line/column), because serializing a parsed tree
(lxml, html5lib) rewrites the whole document. The file is rewritten as byte
splices; everything else stays identical. A file that is not valid UTF-8 (GBK,
Shift_JIS, ...) is handled byte-transparently: markup is ASCII in every
encoding an HTML page may declare.

Limits: at most :data:`SCAN_MAX` (1 MiB, and ``limits.max_metadata_bytes``) from
the start are parsed, so a stray meta deeper in a huge body is neither read nor
removed; the parser stops once the head is located and every ``aigc`` mention
is passed. The rest of the file is streamed.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import BinaryIO

from ..errors import CorruptFileError
from ..limits import Limits
from ._text import Edit, TextRegion, load_region, skip_markup_prolog, sniff_text, write_spliced
from .base import FoundLabel, Handler, ReadResult, WriteOptions

FMT = "html"
META_NAME = "AIGC"
"""The ``name`` of our meta element (matched case-insensitively when reading)."""

_STRONG = re.compile(r"<!doctype\s+html|<html[\s>]", re.I)
_ENDS_HEAD = re.compile(r"<body[\s>/]|</head\s*>", re.I)
_AIGC = re.compile("aigc", re.I)
SCAN_MAX = 1024 * 1024
"""Most bytes from the start searched for ``<head>`` and ``AIGC`` metas (html.parser is slow)."""

_SLACK = 64 * 1024
"""Characters parsed past the last place we need, so a tag cut there is complete."""


@dataclass
class _Tag:
    start: int
    end: int


@dataclass
class _Found:
    head: _Tag | None = None
    html: _Tag | None = None
    doctype_end: int | None = None
    charset: _Tag | None = None
    labels: list[tuple[_Tag, str, bool]] = field(default_factory=list)
    xhtml: bool = False


class _Locator(HTMLParser):
    """Records where the tags we care about start and end, in characters."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.found = _Found()
        self.in_body = False

    def _tag(self) -> _Tag:
        line, col = self.getpos()
        start = self.line_starts[line - 1] + col
        raw = self.get_starttag_text() or ""
        return _Tag(start, start + len(raw))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = self.found
        if tag == "html" and found.html is None:
            found.html = self._tag()
            found.xhtml = found.xhtml or any(k == "xmlns" for k, _ in attrs)
        elif tag == "head" and found.head is None and not self.in_body:
            found.head = self._tag()
        elif tag == "body":
            self.in_body = True
        elif tag == "meta":
            values = {k: v or "" for k, v in attrs}
            if values.get("name", "").strip().lower() == META_NAME.lower():
                found.labels.append((self._tag(), values.get("content", ""), not self.in_body))
            elif not self.in_body and found.charset is None and _is_charset(values):
                found.charset = self._tag()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_body = True

    def handle_decl(self, decl: str) -> None:
        if self.found.doctype_end is None and decl.lower().startswith("doctype"):
            line, col = self.getpos()
            start = self.line_starts[line - 1] + col
            self.found.doctype_end = start + len(decl) + 3


def _is_charset(values: dict[str, str]) -> bool:
    return "charset" in values or values.get("http-equiv", "").lower() == "content-type"


class HtmlHandler(Handler):
    """``<meta name="AIGC">`` in the head, spliced into the original bytes."""

    name = FMT
    extensions = (
        "html",
        "htm",
        "xhtml",
    )
    mime_types = ("text/html",)

    def sniff(self, head: bytes) -> bool:
        text = sniff_text(head, markup=True)
        if text is None:
            return False
        rest = skip_markup_prolog(text)
        if _STRONG.match(rest):
            return True
        cut = len(head) >= 64 and rest
        return bool(cut) and any(p.startswith(rest.lower()) for p in ("<!doctype html", "<html"))

    def sniff_weak(self, head: bytes) -> bool:
        return sniff_text(head, markup=True) is not None

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        region, found = _locate(src, limits)
        result = ReadResult()
        for tag, content, standard in found.labels:
            where = '<head> <meta name="AIGC">' if standard else '<meta name="AIGC"> outside <head>'
            result.labels.append(
                FoundLabel(content, where, region.byte_offset(tag.start), standard)
            )
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        region, found = _locate(src, limits)
        text = region.text
        close = " />" if found.xhtml or text.lstrip().startswith("<?xml") else ">"
        meta = f'<meta name="{META_NAME}" content="{html.escape(opts.label_json)}"{close}'
        edits: list[Edit] = []
        keep = next((tag for tag, _, standard in found.labels if standard), None)
        for tag, _, _ in found.labels:
            if tag is keep:
                edits.append((tag.start, tag.end, meta))
            else:
                edits.append((*_line_span(text, tag), ""))
        if keep is None:
            anchor = found.charset or found.head or found.html
            at = anchor.end if anchor else found.doctype_end or 0
            lead = re.match(r"[ \t]*\r?\n[ \t]*", text[at:])
            if lead:
                edits.append((at, at, lead.group(0).rstrip(" \t") + _indent(lead.group(0)) + meta))
            elif at == 0 or found.doctype_end == at:
                edits.append((at, at, (region.newline() if at else "") + meta + region.newline()))
            else:
                edits.append((at, at, meta))
        write_spliced(src, dst, region, edits)


def _indent(lead: str) -> str:
    return lead[lead.rfind("\n") + 1 :]


def _line_span(text: str, tag: _Tag) -> tuple[int, int]:
    """The tag's range, widened to its whole line when it stands alone on one."""
    line_start = text.rfind("\n", 0, tag.start) + 1
    after = re.match(r"[ \t]*\r?\n", text[tag.end : tag.end + 256])
    if after and not text[line_start : tag.start].strip():
        return line_start, tag.end + after.end()
    return tag.start, tag.end


def _locate(src: BinaryIO, limits: Limits) -> tuple[TextRegion, _Found]:
    region = load_region(src, min(SCAN_MAX, limits.max_metadata_bytes), FMT)
    text = region.text
    need = 0
    for m in _AIGC.finditer(text):
        need = m.end()
    ends_head = _ENDS_HEAD.search(text)
    need = max(need, ends_head.end() if ends_head else len(text))
    stop = min(len(text), need + _SLACK)
    parser = _Locator(text)
    try:
        parser.feed(text[:stop])
        parser.close()
    except (AssertionError, ValueError, IndexError) as e:  # html.parser's own sanity checks
        raise CorruptFileError(FMT, None, f"unparsable markup: {e}") from e
    return region, parser.found
