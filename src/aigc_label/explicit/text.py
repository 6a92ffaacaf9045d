"""Text prompts: at the start, end or a middle position of plain text, Markdown and HTML.

GB 45438 section 2 (Text): "a prompt at the start, end, or a suitable middle
position of the text". One state machine, :class:`PromptInserter`, places the
prompt in a stream of characters; the whole-text function
(:func:`insert_prompt`), the file writer (:func:`add_label`) and the chat
streaming wrapper (:func:`stream_with_prompt`) all run it, so streamed chunks
reassemble to exactly the text the non-streaming call returns.

Placement rules (the prompt always stands as its own line or paragraph):

- ``start``: ``prompt + blank line`` before the text; in Markdown after a YAML
  (or TOML ``+++``) front matter, which must stay first (the implicit label lives there).
- ``end``: after the text, separated by a blank line. In Markdown an unclosed
  code fence is closed first, so the prompt is not read as code.
- ``middle``: at the first boundary whose position is at or after
  ``after_chars`` (default: half the text): the end of a run of line breaks
  (the prompt is followed by the same breaks), or in plain text also the end of
  a sentence (。！？ or ``.!?`` followed by a space). Markdown takes only
  blank-line boundaries outside fenced code whose next line is not indented
  (indented code, list continuations). No boundary: the prompt goes at the end.

Files are rewritten as splices (``formats._text.write_spliced``): every other
byte is copied, so encodings, a BOM and stray bytes survive. HTML lives in
``_html.py``. Hand-written because no library places a prompt in a character
stream with Markdown awareness.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..errors import InvalidExplicitLabelError, LimitExceededError
from ..formats._text import load_region, write_spliced
from ..limits import Limits
from .base import ExplicitOptions, ExplicitOutcome
from .wording import TEXT_POSITIONS, Lang, require_position, resolve_text

MODALITY = "text"
FORMATS = ("text", "markdown", "html")

TEXT_MAX = 256 * 1024 * 1024
"""Largest text file labeled (it is decoded in memory)."""

DEFAULT_STREAM_MIDDLE = 400
"""Streaming ``middle`` with neither ``after_chars`` nor ``expected_length``: after 400 chars."""

_NL = "\r\n"
_SP = " \t\u3000"
_TERM_CJK = "。！？"
_TERM_ASCII = ".!?"
_CLOSERS = "”’」』）)\"'】》"
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)$")
_FM_OPEN = re.compile(r"(---|\+\+\+)[ \t]*\r?\n")
_FM_CLOSE = {
    "---": re.compile(r"(?:---|\.\.\.)[ \t]*\r?\n"),
    "+++": re.compile(r"\+\+\+[ \t]*\r?\n"),
}
"""YAML (``---``) or TOML (``+++``) front matter; each closes with its own fence."""
FRONT_MATTER_MAX = 1024 * 1024
"""A leading ``---`` block longer than this is not treated as front matter."""


@dataclass
class PromptInserter:
    """Places one prompt in a character stream; ``feed`` chunks, then ``close``.

    Args:
        prompt: the label text (validated by the caller).
        position: ``start``, ``end`` or ``middle``.
        markdown: honour front matter and code blocks.
        after_chars: ``middle``: the earliest character index for the prompt.
        newline: line break used around the prompt.
    """

    prompt: str
    position: str = "start"
    markdown: bool = False
    after_chars: int = DEFAULT_STREAM_MIDDLE
    newline: str = "\n"
    inserted_at: int | None = None
    """Index in the original text where the prompt went (after ``close``)."""
    insertions: list[tuple[int, str]] = field(default_factory=list)
    """(original index, inserted string): what was added, for byte-exact file splicing."""
    _consumed: int = field(default=0, init=False, repr=False)
    _hold: str = field(default="", init=False, repr=False)
    _hold_kind: str = field(default="", init=False, repr=False)
    _tail: str = field(default="", init=False, repr=False)
    _fm_pending: str | None = field(default=None, init=False, repr=False)
    _line: str = field(default="", init=False, repr=False)
    _fence: tuple[str, int] | None = field(default=None, init=False, repr=False)
    _closed: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        require_position(self.position, TEXT_POSITIONS, "start", "text")
        if self.position == "start" and self.markdown:
            self._fm_pending = ""

    @property
    def closed(self) -> bool:
        return self._closed

    def feed(self, chunk: str) -> str:
        """Take the next chunk; return what may be emitted now."""
        if self._closed:
            raise InvalidExplicitLabelError("prompt inserter already closed")
        if not chunk:
            return ""
        out: list[str] = []
        if self._fm_pending is not None:
            chunk = self._front_matter(chunk, out, final=False)
        elif self.position == "start" and self.inserted_at is None:
            self._insert(out, self.prompt + self.newline * 2)
        self._process(chunk, out)
        return "".join(out)

    def close(self) -> str:
        """End of text: flush held characters and place a prompt not placed yet."""
        if self._closed:
            return ""
        out: list[str] = []
        if self._fm_pending:
            self._process(self._front_matter("", out, final=True), out)
        self._fm_pending = None
        self._flush_hold(out)
        self._closed = True
        if self.inserted_at is None:
            self._insert(out, self._end_piece())
        return "".join(out)

    def _insert(self, out: list[str], piece: str) -> None:
        self.inserted_at = self._consumed - len(self._hold)
        self.insertions.append((self.inserted_at, piece))
        out.append(piece)

    def _end_piece(self) -> str:
        nl = self.newline
        lead = ""
        if self.markdown and self._fence is not None:
            lead = ("" if self._ends_with_nl(1) or not self._tail else nl) + self._fence[0] + nl
            return lead + nl + self.prompt + nl
        if not self._tail:
            return self.prompt
        if self._ends_with_nl(2):
            return self.prompt + nl
        if self._ends_with_nl(1):
            return nl + self.prompt + nl
        return nl * 2 + self.prompt

    def _ends_with_nl(self, count: int) -> bool:
        return self._tail.replace("\r", "").endswith("\n" * count)

    def _front_matter(self, chunk: str, out: list[str], *, final: bool) -> str:
        """Buffer a possible leading front matter; return the characters to process."""
        buf = (self._fm_pending or "") + chunk
        end = _front_matter_end(buf)
        if end is not None and end > FRONT_MATTER_MAX:
            end = None
        if end is None and not final and len(buf) <= FRONT_MATTER_MAX and _may_open(buf):
            self._fm_pending = buf
            return ""
        self._fm_pending = None
        head, rest = (buf[:end], buf[end:]) if end is not None else ("", buf)
        self._process(head, out)
        self._flush_hold(out)
        self._insert(out, self.prompt + self.newline * 2)
        return rest

    def _process(self, text: str, out: list[str]) -> None:
        """Run ``text`` through the machine: plain runs in bulk, boundary characters one by one.

        With nothing held, no character before the next line break or sentence end can be
        a boundary, so that run is copied at once (same state as one character at a time).
        """
        i, n = 0, len(text)
        starters = _NL if self.markdown else _STARTERS
        while i < n:
            if self.position != "middle" or self.inserted_at is not None:
                self._bulk(text[i:], out)
                return
            if not self._hold_kind:
                j = _next_starter(text, i, starters)
                if j > i:
                    self._bulk(text[i:j], out)
                    i = j
                    continue
            self._char(text[i], out)
            i += 1

    def _bulk(self, text: str, out: list[str]) -> None:
        out.append(text)
        self._consumed += len(text)
        self._tail = (self._tail + text[-4:])[-4:]
        if self.markdown:
            *complete, rest = text.split("\n")
            for part in complete:
                line, self._line = (self._line + part)[:256], ""
                self._end_line(line)
            self._line = (self._line + rest)[:256]

    def _char(self, ch: str, out: list[str]) -> None:
        if self.position == "middle" and self.inserted_at is None:
            self._middle(ch, out)
        else:
            out.append(ch)
        self._consumed += 1
        self._tail = (self._tail + ch)[-4:]
        if self.markdown:
            self._track_fence(ch)

    def _middle(self, ch: str, out: list[str]) -> None:
        kind = self._hold_kind
        if kind and ch in _NL:
            self._hold += ch
            self._hold_kind = "nl"
            return
        if kind and ch in _SP:
            self._hold += ch
            return
        if (
            kind == "term"
            and ch in _CLOSERS + _TERM_CJK + _TERM_ASCII
            and not _has_space(self._hold)
        ):
            self._hold += ch
            return
        if kind and self._boundary(ch):
            self._hold_kind = ""
            hold, self._hold = self._hold, ""
            out.append(hold)
            self.inserted_at = self._consumed
            piece = self._middle_piece(hold, kind)
            self.insertions.append((self._consumed, piece))
            out.append(piece)
            out.append(ch)
            return
        self._flush_hold(out)
        if ch in _NL or (ch in _TERM_CJK + _TERM_ASCII and not self.markdown):
            self._hold, self._hold_kind = ch, "nl" if ch in _NL else "term"
            return
        out.append(ch)

    def _boundary(self, nxt: str) -> bool:
        """May the prompt go between the held run and ``nxt`` (at index ``_consumed``)?"""
        hold = self._hold
        if self._consumed < self.after_chars or self._consumed == len(hold):
            return False
        if self._hold_kind == "nl":
            if not self.markdown:
                return True
            breaks = hold.count("\n")
            indented = hold[hold.rfind("\n") + 1 :] != ""
            return breaks >= 2 and not indented and self._fence is None
        ascii_only = all(c not in _TERM_CJK for c in hold)
        return not ascii_only or _has_space(hold)

    def _middle_piece(self, hold: str, kind: str) -> str:
        nl = self.newline
        if kind == "nl":
            breaks = max(hold.count("\n"), 1)
            return self.prompt + nl * breaks
        return nl * 2 + self.prompt + nl * 2

    def _flush_hold(self, out: list[str]) -> None:
        if self._hold:
            out.append(self._hold)
        self._hold, self._hold_kind = "", ""

    def _track_fence(self, ch: str) -> None:
        if ch != "\n":
            if len(self._line) < 256:
                self._line += ch
            return
        line, self._line = self._line, ""
        self._end_line(line)

    def _end_line(self, line: str) -> None:
        """A complete line (at most 256 chars kept): does it open or close a code fence?"""
        m = _FENCE.match(line.rstrip("\r"))
        if m is None:
            return
        marks, info = m.group(1), m.group(2)
        if self._fence is None:
            if not (marks[0] == "`" and "`" in info):
                self._fence = (marks, len(marks))
        elif marks[0] == self._fence[0][0] and len(marks) >= self._fence[1] and not info.strip():
            self._fence = None


_STARTERS = _NL + _TERM_CJK + _TERM_ASCII
_STARTER_RE = {
    _NL: re.compile("[\r\n]"),
    _STARTERS: re.compile("[" + re.escape(_STARTERS) + "]"),
}


def _next_starter(text: str, start: int, starters: str) -> int:
    """Index of the next line break / sentence end at or after ``start`` (or ``len(text)``)."""
    m = _STARTER_RE[starters].search(text, start)
    return m.start() if m else len(text)


def _has_space(hold: str) -> bool:
    return any(c in _SP for c in hold)


def _may_open(buf: str) -> bool:
    """Could ``buf`` still be the start of a front matter?"""
    if len(buf) < 4:
        return any(f"{fence}{nl}".startswith(buf) for fence in _FM_CLOSE for nl in ("\n", "\r\n"))
    return _FM_OPEN.match(buf) is not None


def _front_matter_end(buf: str) -> int | None:
    """End index (after the closing line) of a complete leading front matter in ``buf``."""
    m = _FM_OPEN.match(buf)
    if m is None:
        return None
    pos = m.end()
    while pos < len(buf):
        close = _FM_CLOSE[m.group(1)].match(buf, pos)
        if close:
            return close.end()
        nl = buf.find("\n", pos)
        if nl < 0:
            return None
        pos = nl + 1
    return None


def insert_prompt(
    text: str,
    prompt: str | None = None,
    position: str = "start",
    *,
    markdown: bool = False,
    after_chars: int | None = None,
    lang: Lang = "zh",
) -> str:
    """``text`` with the prompt placed at ``position`` (see the module rules).

    ``middle`` defaults to the first boundary after half the text.
    """
    inserter = _inserter(text, prompt, position, markdown, after_chars, lang)
    return inserter.feed(text) + inserter.close()


def _inserter(
    text: str,
    prompt: str | None,
    position: str,
    markdown: bool,
    after_chars: int | None,
    lang: Lang,
) -> PromptInserter:
    return PromptInserter(
        resolve_text(prompt, lang),
        position,
        markdown=markdown,
        after_chars=len(text) // 2 if after_chars is None else after_chars,
        newline=_newline_of(text),
    )


def _newline_of(text: str) -> str:
    nl = text.find("\n")
    return "\r\n" if nl > 0 and text[nl - 1] == "\r" else "\n"


def stream_with_prompt(
    chunks: Iterable[str],
    prompt: str | None = None,
    position: str = "start",
    *,
    markdown: bool = True,
    after_chars: int | None = None,
    expected_length: int | None = None,
    lang: Lang = "zh",
) -> Iterator[str]:
    """Wrap a stream of text chunks (chat output) so the prompt appears exactly once.

    ``start`` is emitted with the first chunk, ``end`` after the last one,
    ``middle`` at the first boundary after ``after_chars`` characters (default:
    half of ``expected_length``, else :data:`DEFAULT_STREAM_MIDDLE`). Only a
    few boundary characters are ever held back. Streaming the chunks of a text
    gives exactly ``insert_prompt(text, ..., after_chars=...)``.
    """
    if after_chars is None:
        after_chars = expected_length // 2 if expected_length else DEFAULT_STREAM_MIDDLE
    inserter = PromptInserter(
        resolve_text(prompt, lang), position, markdown=markdown, after_chars=after_chars
    )
    for chunk in chunks:
        out = inserter.feed(chunk)
        if out:
            yield out
    tail = inserter.close()
    if tail:
        yield tail


def label_chat_completion_chunks(
    chunks: Iterable[Mapping[str, Any]],
    prompt: str | None = None,
    position: str = "start",
    *,
    after_chars: int | None = None,
    expected_length: int | None = None,
    lang: Lang = "zh",
) -> Iterator[dict[str, Any]]:
    """Label an OpenAI-style ``chat.completion.chunk`` stream (dicts), one prompt per choice.

    Each chunk's ``choices[i].delta.content`` passes through a
    :class:`PromptInserter`; text the inserter holds back or adds at the end
    comes out in an extra chunk (a copy of the last one with only that content)
    just before the chunk carrying ``finish_reason``. Example::

        stream = client.chat.completions.create(model=..., messages=..., stream=True)
        for chunk in label_chat_completion_chunks(c.model_dump() for c in stream):
            send(chunk)
    """
    if after_chars is None:
        after_chars = expected_length // 2 if expected_length else DEFAULT_STREAM_MIDDLE
    text = resolve_text(prompt, lang)
    inserters: dict[int, PromptInserter] = {}
    last: dict[str, Any] | None = None

    def tail_chunk(index: int, like: Mapping[str, Any]) -> dict[str, Any] | None:
        rest = inserters[index].close()
        if not rest:
            return None
        extra = copy.deepcopy(dict(like))
        extra["choices"] = [{"index": index, "delta": {"content": rest}, "finish_reason": None}]
        return extra

    for chunk in chunks:
        out = copy.deepcopy(dict(chunk))
        last = out
        pending: list[dict[str, Any]] = []
        for choice in out.get("choices") or []:
            index = int(choice.get("index", 0))
            ins = inserters.setdefault(
                index, PromptInserter(text, position, markdown=True, after_chars=after_chars)
            )
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str):
                delta["content"] = ins.feed(content)
            if choice.get("finish_reason") is not None:
                extra = tail_chunk(index, out)
                if extra is not None:
                    pending.append(extra)
        yield from pending
        yield out
    if last is not None:
        for index, ins in inserters.items():
            if not ins.closed:
                extra = tail_chunk(index, last)
                if extra is not None:
                    yield extra


def add_label(
    src: BinaryIO, dst: BinaryIO, fmt: str, options: ExplicitOptions, limits: Limits
) -> ExplicitOutcome:
    """Write ``src`` (plain text, Markdown or HTML) to ``dst`` with the prompt spliced in.

    Settings: ``after_chars`` (middle position: earliest character index).
    """
    position = require_position(options.position, TEXT_POSITIONS, "start", "text")
    prompt = options.resolved_text()
    region = load_region(src, min(TEXT_MAX, limits.max_file_bytes) + 1, fmt)
    if not region.complete:
        raise LimitExceededError("text size", region.byte_offset(len(region.text)), TEXT_MAX, fmt)
    after_chars = None
    if "after_chars" in options.settings:
        after_chars = max(0, int(options.setting_float("after_chars", 0)))
    if fmt == "html":
        from ._html import html_insertion

        at, piece = html_insertion(region.text, prompt, position, after_chars, options.lang)
        insertions = [(at, piece)]
    else:
        inserter = _inserter(
            region.text, prompt, position, fmt == "markdown", after_chars, options.lang
        )
        inserter.feed(region.text)
        inserter.close()
        insertions = inserter.insertions
        at = inserter.inserted_at or 0
    write_spliced(src, dst, region, [(i, i, s) for i, s in insertions])
    return ExplicitOutcome(MODALITY, fmt, prompt, position, {"inserted_at_char": at})
