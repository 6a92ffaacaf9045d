"""Markdown: the label as a YAML front-matter mapping ``AIGC:`` (spec section 4, Markdown row).

The front matter is the block between a leading ``---`` line and the next
``---`` (or ``...``) line, as Jekyll, Hugo and most static-site tools read it.
We write::

    ---
    title: kept byte-for-byte
    AIGC:
      Label: "1"
      ContentProducer: "001191440300708461136T1XGW3"
      ...                       (seven keys, Annex E order, double-quoted)
    ---

Hand-written, because no YAML library round-trips a user's front matter
byte-for-byte (PyYAML drops comments and reflows; ruamel.yaml is close but
still re-serializes): only the ``AIGC`` block is replaced, every other line,
the newline style (``\\n``/``\\r\\n``) and a BOM are kept, and the body is
streamed. Reading parses only the ``AIGC`` value with a small YAML subset
(block mapping of scalars, flow mapping / JSON, or a quoted JSON string as
found in the wild); ``FoundLabel.raw`` is the compact JSON of the parsed values.
A value we cannot parse is reported raw, so ``inspect`` flags it instead of failing.

Limits: the front matter is at most :data:`FRONT_MATTER_MAX` bytes (and
``limits.max_metadata_bytes``); at most ``limits.max_items`` lines are walked.
An unclosed leading ``---`` is a thematic break, not front matter. TOML (``+++``)
front matter is refused for writing rather than shadowed by a YAML block.
"""

from __future__ import annotations

import json
import re
from typing import BinaryIO

from ..errors import LimitExceededError, UnsupportedFormatError
from ..limits import Limits
from ._text import Edit, TextRegion, iter_lines, load_region, sniff_text, write_spliced
from .base import FoundLabel, Handler, ReadResult, WriteOptions

FMT = "markdown"
FRONT_MATTER_MAX = 1024 * 1024
"""Largest front matter (bytes from the start of the file) we parse."""

_OPEN = re.compile(r"---[ \t]*\r?\n")
_CLOSE = re.compile(r"(?:---|\.\.\.)[ \t]*")
_KEY = re.compile(r"""(?:AIGC|"AIGC"|'AIGC')[ \t]*:(?=[ \t]|$)""")
_ITEM = re.compile(
    r"""(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{\[][^:#]*?)"""
    r"""[ \t]*:(?:[ \t]+(?P<val>.*))?$"""
)
_ESC = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.S)
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85",
    "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_FLOW_TOKEN = re.compile(
    r"""\s*(?:(?P<punct>[{}:,])|(?P<dq>"(?:[^"\\]|\\.)*")|(?P<sq>'(?:[^']|'')*')"""
    r"""|(?P<plain>[^\s{}:,"'][^{}:,]*?(?=\s*[{}:,]|\s*$)))""",
    re.S,
)
_INT = re.compile(r"[-+]?(?:[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


class _YamlError(Exception):
    """The AIGC value is outside the YAML subset we parse."""


class MarkdownHandler(Handler):
    """YAML front matter ``AIGC:`` block, merged into existing front matter."""

    name = FMT
    extensions = (
        "md",
        "markdown",
    )
    mime_types = ("text/markdown",)

    def sniff(self, head: bytes) -> bool:
        text = sniff_text(head, markup=True)
        return text is not None and _OPEN.match(text) is not None

    def sniff_weak(self, head: bytes) -> bool:
        return sniff_text(head, markup=True) is not None

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        region = _load(src, limits)
        result = ReadResult()
        fm = _front_matter(region, limits)
        if fm is None:
            return result
        for start, end in _aigc_blocks(region, fm, limits):
            raw, standard = _parse_block(region.text[start:end])
            offset = region.byte_offset(start)
            where = "YAML front matter AIGC" + ("" if standard else " (JSON string)")
            result.labels.append(FoundLabel(raw, where, offset, standard))
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        region = _load(src, limits)
        if region.text.startswith("+++"):
            raise UnsupportedFormatError(
                "markdown: TOML (+++) front matter is not supported; convert it to YAML (---)"
            )
        nl = region.newline()
        values: dict[str, str] = json.loads(opts.label_json)  # Annex E order, from Label
        block = "AIGC:" + nl + "".join(f"  {k}: {json.dumps(v)}{nl}" for k, v in values.items())
        fm = _front_matter(region, limits)
        edits: list[Edit] = []
        if fm is None:
            edits.append((0, 0, "---" + nl + block + "---" + nl))
        else:
            region.require_clean(0, fm[1], "front matter")
            blocks = _aigc_blocks(region, fm, limits)
            if blocks:
                edits.append((blocks[0][0], blocks[0][1], block))
                edits.extend((s, e, "") for s, e in blocks[1:])
            else:
                edits.append((fm[1], fm[1], block))
        write_spliced(src, dst, region, edits)


def _load(src: BinaryIO, limits: Limits) -> TextRegion:
    return load_region(src, min(FRONT_MATTER_MAX, limits.max_metadata_bytes), FMT)


def _front_matter(region: TextRegion, limits: Limits) -> tuple[int, int] | None:
    """(start, end) of the front matter body: after the opening line, up to the closing line."""
    text = region.text
    m = _OPEN.match(text)
    if m is None:
        return None
    for count, (start, content_end, stop) in enumerate(iter_lines(text, m.end(), len(text))):
        if count >= limits.max_items:
            raise LimitExceededError("front matter lines", count, limits.max_items, FMT)
        if _CLOSE.fullmatch(text, start, content_end) and (stop > content_end or region.complete):
            return m.end(), start
    if not region.complete:
        raise LimitExceededError(
            "front matter size", region.byte_offset(len(text)), FRONT_MATTER_MAX, FMT
        )
    return None


def _aigc_blocks(region: TextRegion, fm: tuple[int, int], limits: Limits) -> list[tuple[int, int]]:
    """Character ranges of every top-level ``AIGC:`` entry: key line + indented continuation."""
    text = region.text
    blocks: list[tuple[int, int]] = []
    current: int | None = None
    last_end = 0
    for start, content_end, stop in iter_lines(text, fm[0], fm[1]):
        line = text[start:content_end]
        if current is not None:
            if not line.strip():
                continue
            if line[0] in " \t":
                last_end = stop
                continue
            blocks.append((current, last_end))
            current = None
        if _KEY.match(line):
            current, last_end = start, stop
        if len(blocks) > limits.max_items:
            raise LimitExceededError("AIGC entries", len(blocks), limits.max_items, FMT)
    if current is not None:
        blocks.append((current, last_end))
    return blocks


def _parse_block(block: str) -> tuple[str, bool]:
    """(raw JSON, standard) for one ``AIGC:`` entry; unparsable values come back verbatim."""
    rest = block.partition(":")[2]
    first, _, more = rest.partition("\n")
    value = _strip_comment(first).strip()
    try:
        if not value:
            return _pairs_json(_block_mapping(more)), True
        joined = " ".join([value, *(ln.strip() for ln in more.splitlines() if ln.strip())])
        if joined.startswith("{"):
            return _pairs_json(_flow_mapping(joined)), True
        scalar = _scalar(joined)
        return (scalar if isinstance(scalar, str) else json.dumps(scalar)), False
    except _YamlError:
        return rest.strip(), False


def _pairs_json(pairs: list[tuple[str, object]]) -> str:
    """Compact JSON object text that keeps order and duplicate keys (for ``inspect``)."""
    items = (
        json.dumps(k, ensure_ascii=False) + ":" + json.dumps(v, ensure_ascii=False)
        for k, v in pairs
    )
    return "{" + ",".join(items) + "}"


def _block_mapping(text: str) -> list[tuple[str, object]]:
    pairs: list[tuple[str, object]] = []
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        m = _ITEM.match(line)
        if m is None:
            raise _YamlError(line)
        value = (m.group("val") or "").strip()
        while value and value[0] in "\"'" and not _closed(value):
            if i >= len(lines):
                raise _YamlError(value)
            value += " " + lines[i].strip()
            i += 1
        key = _scalar(m.group("key"))
        pairs.append((str(key), _scalar(value)))
    return pairs


def _closed(value: str) -> bool:
    quote = value[0]
    pattern = r'"(?:[^"\\]|\\.)*"' if quote == '"' else r"'(?:[^']|'')*'"
    return re.match(pattern, value, re.S) is not None


def _strip_comment(value: str) -> str:
    """Drop a trailing `` # comment`` outside quotes."""
    quote = ""
    for i, ch in enumerate(value):
        if quote:
            if ch == "\\" and quote == '"':
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'" and (i == 0 or value[i - 1] in " \t{[,:"):
            quote = ch
        elif ch == "#" and (i == 0 or value[i - 1] in " \t"):
            return value[:i]
    return value


def _scalar(raw: str) -> object:
    """A YAML scalar (double/single quoted or plain, core schema) as a Python value."""
    raw = _strip_comment(raw).strip()
    if raw.startswith('"'):
        m = re.match(r'"((?:[^"\\]|\\.)*)"$', raw, re.S)
        if m is None:
            raise _YamlError(raw)
        return _ESC.sub(_unescape, m.group(1))
    if raw.startswith("'"):
        m = re.match(r"'((?:[^']|'')*)'$", raw, re.S)
        if m is None:
            raise _YamlError(raw)
        return m.group(1).replace("''", "'")
    if raw[:1] in ("|", ">", "&", "*", "!", "[", "{", "@", "`"):
        raise _YamlError(raw)
    if raw in ("", "~", "null", "Null", "NULL"):
        return None
    if raw in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return raw.lower() == "true"
    if _INT.fullmatch(raw):
        return int(raw, 0) if raw.lstrip("+-")[:2] in ("0x", "0o") else int(raw)
    if _FLOAT.fullmatch(raw):
        return float(raw)
    return raw


def _unescape(m: re.Match[str]) -> str:
    esc = m.group(1)
    if esc[0] in "xuU" and len(esc) > 1:
        code = int(esc[1:], 16)
        if code > 0x10FFFF:
            raise _YamlError(esc)
        return chr(code)
    if esc in _ESCAPES:
        return _ESCAPES[esc]
    raise _YamlError(esc)


def _flow_mapping(text: str) -> list[tuple[str, object]]:
    """A one-level flow mapping ``{k: v, ...}`` (JSON included) of scalars."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _FLOW_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _YamlError(text[pos:])
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    if len(tokens) < 2 or tokens[0] != ("punct", "{") or tokens[-1] != ("punct", "}"):
        raise _YamlError(text)
    pairs: list[tuple[str, object]] = []
    body = tokens[1:-1]
    i = 0
    while i < len(body):
        if i + 2 >= len(body) or body[i][0] == "punct" or body[i + 1] != ("punct", ":"):
            raise _YamlError(text)
        key, value = body[i], body[i + 2]
        if value[0] == "punct":
            raise _YamlError(text)
        pairs.append((str(_scalar(key[1])), _scalar(value[1])))
        i += 3
        if i < len(body):
            if body[i] != ("punct", ","):
                raise _YamlError(text)
            i += 1
    return pairs
