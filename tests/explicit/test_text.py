"""Text prompts: positions, Markdown/HTML awareness, streaming equivalence, file splicing."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import html5lib
import pytest

from aigc_label import api
from aigc_label.errors import InvalidExplicitLabelError
from aigc_label.explicit import ExplicitOptions, add_explicit_label, label_with_explicit
from aigc_label.explicit.text import (
    PromptInserter,
    insert_prompt,
    label_chat_completion_chunks,
    stream_with_prompt,
)
from tests.conftest import PRODUCER

P = "本内容由人工智能生成"
PLAIN = "第一段内容。第二句话。\n\n第二段开始了。这是很长的一句话。\n\n第三段。"
MD = (
    "---\ntitle: x\n---\n# Head\n\nPara one is here.\n\n```python\ncode\n\nmore code\n```\n\n"
    "Para two.\n\n    indented\n\n    more\n\nLast para.\n"
)
EN = "Hello world. This is 3.14 units. Another sentence here! And the last one."


def test_plain_positions() -> None:
    assert insert_prompt(PLAIN, position="start") == P + "\n\n" + PLAIN
    assert insert_prompt(PLAIN, position="end") == PLAIN + "\n\n" + P
    middle = insert_prompt(PLAIN, position="middle")
    assert middle == PLAIN.replace("第二段开始了。", "第二段开始了。\n\n" + P + "\n\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", P), ("a", "a\n\n" + P), ("a\n", "a\n\n" + P + "\n"), ("a\n\n", "a\n\n" + P + "\n")],
)
def test_end_separators(text: str, expected: str) -> None:
    assert insert_prompt(text, position="end") == expected


def test_middle_boundaries() -> None:
    out = insert_prompt(EN, "AI-generated", "middle", after_chars=14)
    assert out.startswith("Hello world. This is 3.14 units. \n\nAI-generated\n\nAnother")
    # no boundary after the threshold: the prompt goes at the end
    assert insert_prompt("abc def", position="middle") == "abc def\n\n" + P
    # a line break boundary repeats the same break after the prompt
    assert insert_prompt("l1\nl2\nl3\nl4", position="middle") == "l1\nl2\n" + P + "\nl3\nl4"
    crlf = insert_prompt("l1\r\nl2\r\n\r\nl3\r\nl4", position="middle", after_chars=5)
    assert crlf == "l1\r\nl2\r\n\r\n" + P + "\r\n\r\nl3\r\nl4"


def test_markdown_positions() -> None:
    start = insert_prompt(MD, position="start", markdown=True)
    assert start.startswith("---\ntitle: x\n---\n" + P + "\n\n# Head")
    end = insert_prompt(MD, position="end", markdown=True)
    assert end == MD + "\n" + P + "\n"
    # half-way falls inside the fenced block: the prompt waits for the block to close
    mid = insert_prompt(MD, position="middle", markdown=True, after_chars=MD.index("code"))
    assert "```\n\n" + P + "\n\nPara two." in mid
    # a blank line inside an indented code block is no boundary either
    mid2 = insert_prompt(MD, position="middle", markdown=True, after_chars=MD.index("indented"))
    assert "    more\n\n" + P + "\n\nLast para." in mid2
    unclosed = insert_prompt("text\n\n```\ncode", position="end", markdown=True)
    assert unclosed == "text\n\n```\ncode\n```\n\n" + P + "\n"
    toml = insert_prompt("+++\ntitle = 'x'\n+++\nbody", position="start", markdown=True)
    assert toml == "+++\ntitle = 'x'\n+++\n" + P + "\n\nbody"
    no_fm = insert_prompt("--- not front matter", position="start", markdown=True)
    assert no_fm == P + "\n\n--- not front matter"


def _chunks(text: str, rng: random.Random) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(0, 12))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@pytest.mark.parametrize("position", ["start", "end", "middle"])
@pytest.mark.parametrize(("text", "markdown"), [(PLAIN, False), (MD, True), (EN, False)])
def test_streaming_reassembles(position: str, text: str, markdown: bool) -> None:
    rng = random.Random(f"{position}{markdown}{len(text)}")
    whole = insert_prompt(text, P, position, markdown=markdown)
    for _ in range(60):
        parts = _chunks(text, rng)
        out = list(
            stream_with_prompt(parts, P, position, markdown=markdown, expected_length=len(text))
        )
        assert "".join(out) == whole
        assert "".join(out).count(P) == 1
    if position == "start" and not markdown:
        assert out[0].startswith(P)
    if position == "end":
        assert out[-1].endswith(P) or out[-1].endswith(P + "\n")


def test_streaming_holds_little() -> None:
    """Only boundary characters are held back: a long line streams through at once."""
    gen = stream_with_prompt(["x" * 500, "y" * 10], P, "middle", after_chars=100)
    assert next(gen) == "x" * 500


def test_inserter_misuse() -> None:
    ins = PromptInserter(P)
    ins.close()
    with pytest.raises(InvalidExplicitLabelError):
        ins.feed("x")
    with pytest.raises(InvalidExplicitLabelError):
        PromptInserter(P, "bottom")


def _chat_stream(text: str, pieces: int) -> list[dict[str, Any]]:
    """A fake OpenAI chat.completions stream (what ``chunk.model_dump()`` yields)."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    step = max(1, len(text) // pieces)
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    for i in range(0, len(text), step):
        delta = {"content": text[i : i + step]}
        chunks.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks


@pytest.mark.parametrize("position", ["start", "end", "middle"])
def test_openai_chunks(position: str) -> None:
    text = MD.split("---\n", 2)[2]
    chunks = _chat_stream(text, 7)
    out = list(label_chat_completion_chunks(chunks, P, position, expected_length=len(text)))
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in out if c["choices"])
    assert content == insert_prompt(text, P, position, markdown=True)
    assert out[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["object"] == "chat.completion.chunk" for c in out)
    assert (
        chunks[1]["choices"][0]["delta"]["content"]
        == text[: len(chunks[1]["choices"][0]["delta"]["content"])]
    )


def test_file_splice_keeps_bytes(tmp_path: Path) -> None:
    # a stray non-UTF-8 byte past the sniff window survives byte for byte
    raw = b"\xef\xbb\xbf" + ("第一行\r\n\r\n" * 40).encode() + "第二行 ".encode() + b"\xff"
    src = tmp_path / "a.txt"
    src.write_bytes(raw)
    out = add_explicit_label(src, tmp_path / "b.txt", ExplicitOptions(position="end"))
    data = (tmp_path / "b.txt").read_bytes()
    assert data == raw + ("\r\n\r\n" + P).encode()
    assert out.details["inserted_at_char"] == len(raw.decode("utf-8", "surrogateescape")) - 1
    assert src.read_bytes() == raw


def test_utf16_file(tmp_path: Path) -> None:
    src = tmp_path / "u.txt"
    src.write_bytes("\ufeffhello\n".encode("utf-16-le"))
    add_explicit_label(src, tmp_path / "o.txt", ExplicitOptions(position="start"))
    assert (tmp_path / "o.txt").read_bytes().decode("utf-16") == P + "\n\nhello\n"


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>t</title>
<script>var s = "</p><body>";</script></head>
<body class="x">
<p>one</p>
<pre>
</p> not a block end
</pre>
<script>document.write("</div>")</script>
<div>two</div>
<p>three</p>
</body>
</html>
"""


def _body_prompts(data: bytes) -> list[Any]:
    doc = html5lib.parse(data, namespaceHTMLElements=False)
    body = doc.find("body")
    return [el for el in body.iter() if el.get("class") == "aigc-label"], list(body)


@pytest.mark.parametrize("position", ["start", "middle", "end"])
def test_html_positions(tmp_path: Path, position: str) -> None:
    src = tmp_path / "p.html"
    src.write_text(PAGE, encoding="utf-8")
    add_explicit_label(src, tmp_path / "o.html", ExplicitOptions(position=position))
    data = (tmp_path / "o.html").read_bytes()
    found, children = _body_prompts(data)
    assert len(found) == 1
    assert found[0].text == P
    assert found[0] in children  # a direct child of <body>, not inside <pre>/<script>
    index = children.index(found[0])
    tags = [c.tag for c in children]
    if position == "start":
        assert index == 0
    elif position == "end":
        assert index == len(children) - 1
    else:
        assert tags[index - 1] in ("div", "p")
        assert 0 < index < len(children) - 1
    assert found[0].get("role") == "note"
    # the page is unchanged but for the inserted element and one line break
    text = data.decode()
    markup = re.search(r'<p class="aigc-label"[^>]*>[^<]*</p>', text)
    assert markup is not None
    at, end = markup.span()
    assert PAGE in (text[: at - 1] + text[end:], text[:at] + text[end + 1 :])


def test_html_legacy_charset_uses_references(tmp_path: Path) -> None:
    page = '<html><head><meta charset="gbk"></head><body><p>中文</p></body></html>'
    src = tmp_path / "g.html"
    src.write_bytes(page.encode("gbk"))
    add_explicit_label(src, tmp_path / "o.html", ExplicitOptions())
    data = (tmp_path / "o.html").read_bytes()
    assert data.startswith(page.encode("gbk")[: page.index("<body>") + 6])
    assert b"&#26412;" in data  # 本
    assert data.decode("gbk").count("中文") == 1


def test_markdown_and_html_get_both_labels(tmp_path: Path) -> None:
    from aigc_label.api import LabelRequest

    for name, content in (("a.md", MD), ("a.html", PAGE)):
        src = tmp_path / name
        src.write_text(content, encoding="utf-8")
        out = tmp_path / ("out-" + name)
        result = label_with_explicit(src, out, LabelRequest(producer=PRODUCER), ExplicitOptions())
        assert result.implicit is not None
        report = api.inspect_file(out)
        assert report.verdict == "compliant", report.problems
        text = out.read_text(encoding="utf-8")
        assert text.count(P) == 1
        if name == "a.md":
            assert text.startswith("---\ntitle: x\nAIGC:")
            assert text.index("\n---\n") < text.index(P) < text.index("# Head")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.html",
        "a.md",
        "out-a.html",
        "out-a.md",
    ]


def test_plain_text_gets_explicit_only(tmp_path: Path) -> None:
    from aigc_label.api import LabelRequest

    src = tmp_path / "a.txt"
    src.write_text(PLAIN, encoding="utf-8")
    result = label_with_explicit(src, tmp_path / "b.txt", LabelRequest(producer=PRODUCER), None)
    assert result.implicit is None
    assert "no metadata slot" in result.notes[0]
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == P + "\n\n" + PLAIN
