"""Where a visible prompt goes in an HTML page, and its markup.

``start``: right after the ``<body>`` start tag (else after ``</head>``, the
``<html>`` tag or the doctype). ``end``: right before ``</body>`` (else
``</html>``, else the end). ``middle``: after the first block end tag (``</p>``,
``</div>``, ``</section>``...) at or after ``after_chars`` (default: halfway
through the body). Never inside ``<script>``, ``<style>``, ``<pre>``,
``<textarea>``, ``<code>`` or ``<template>``: html.parser treats script/style
content as raw text, and we count the others.

The prompt is a ``<p class="aigc-label" role="note">`` with inline style, so it
shows without any stylesheet (same look as ``ui/aigc-label.css``). A page with
bytes that are not UTF-8 (GBK, Big5...) or a non-UTF-8 charset gets the prompt
as character references, which every charset carries.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from .wording import Lang

_RAW = frozenset({"script", "style", "pre", "textarea", "code", "template", "svg", "math"})
_BLOCK_END = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "main", "aside", "nav",
        "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote",
        "pre", "figure",
    }
)  # fmt: skip
_CHARSET = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_UTF8 = ("utf-8", "utf8")
_STYLE = (
    "display:block;margin:0.5em 0;padding:0.4em 0.8em;border-left:4px solid #1a73e8;"
    "background:#eef3fd;color:#0b2a5b;font-weight:600;font-size:1em"
)
"""Inline style of the page prompt; mirrors ``.aigc-label`` in ui/aigc-label.css."""


class _Scanner(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.body_start: int | None = None
        self.body_end: int | None = None
        self.head_end: int | None = None
        self.html_start: int | None = None
        self.html_end: int | None = None
        self.doctype_end: int | None = None
        self.block_ends: list[int] = []
        self.raw_depth = 0

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _tag_end(self, start: int) -> int:
        end = self.text.find(">", start)
        return len(self.text) if end < 0 else end + 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = self._offset()
        raw = self.get_starttag_text() or ""
        if tag == "body" and self.body_start is None:
            self.body_start = at + len(raw)
        elif tag == "html" and self.html_start is None:
            self.html_start = at + len(raw)
        elif tag in _RAW and tag not in ("script", "style"):
            self.raw_depth += 1

    def handle_endtag(self, tag: str) -> None:
        at = self._offset()
        if tag in _RAW and tag not in ("script", "style"):
            self.raw_depth = max(0, self.raw_depth - 1)
        if tag == "body":
            self.body_end = at
        elif tag == "html":
            self.html_end = at
        elif tag == "head" and self.head_end is None:
            self.head_end = self._tag_end(at)
        if tag in _BLOCK_END and self.raw_depth == 0:
            self.block_ends.append(self._tag_end(at))

    def handle_decl(self, decl: str) -> None:
        if self.doctype_end is None and decl.lower().startswith("doctype"):
            self.doctype_end = self._tag_end(self._offset())


def prompt_markup(prompt: str, lang: Lang, *, ascii_only: bool = False) -> str:
    """The ``<p>`` element shown in the page."""
    body = html.escape(prompt)
    if ascii_only:
        body = body.encode("ascii", "xmlcharrefreplace").decode("ascii")
    return (
        f'<p class="aigc-label" role="note" data-aigc-label="explicit" '
        f'lang="{"zh-CN" if lang == "zh" else "en"}" style="{_STYLE}">{body}</p>'
    )


def html_insertion(
    text: str, prompt: str, position: str, after_chars: int | None, lang: Lang
) -> tuple[int, str]:
    """(character index, string to insert) for the page ``text``."""
    scanner = _Scanner(text)
    scanner.feed(text)
    scanner.close()
    nl = "\r\n" if "\r\n" in text[:4096] else "\n"
    markup = prompt_markup(prompt, lang, ascii_only=_needs_ascii(text))
    start = _first(scanner.body_start, scanner.head_end, scanner.html_start, scanner.doctype_end, 0)
    end = _first(scanner.body_end, scanner.html_end, len(text))
    if position == "start":
        return start, (markup + nl) if start == 0 else (nl + markup)
    if position == "middle":
        threshold = after_chars if after_chars is not None else (start + end) // 2
        for at in scanner.block_ends:
            if threshold <= at < end and at > start:
                return at, nl + markup
    return end, markup + nl


def _first(*values: int | None) -> int:
    return next(v for v in values if v is not None)


def _needs_ascii(text: str) -> bool:
    """True when the page is not plain UTF-8: stray bytes or a declared legacy charset."""
    if re.search("[\udc80-\udcff]", text):
        return True
    head = text[:4096].encode("utf-8", "surrogateescape")
    m = _CHARSET.search(head)
    return m is not None and m.group(1).decode("ascii").lower() not in _UTF8
