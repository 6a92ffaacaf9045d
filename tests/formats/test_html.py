"""HTML handler: <meta name="AIGC"> in <head>, spliced; everything else byte-identical."""

from __future__ import annotations

import html
import io
import time
from pathlib import Path

import html5lib  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from aigc_label import api
from aigc_label.formats import HANDLERS, Handler, detect
from aigc_label.limits import DEFAULT_LIMITS
from tests.conftest import (
    FIXTURES,
    exiftool,
    exiftool_warnings,
    label_bytes,
    make_label,
    read_labels,
    requires_exiftool,
)
from tests.harness import inspect_and_label_cleanly, splice, truncations_fail_cleanly

HANDLER: Handler = next(h for h in HANDLERS if h.name == "html")
PAGE = FIXTURES / "html" / "page.html"
LABEL = make_label()
META = f'<meta name="AIGC" content="{html.escape(LABEL.to_json())}">'.encode()


def read_all(data: bytes) -> list[str]:
    return [f.raw for f in HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels]


# --- round trip and placement -------------------------------------------------------------


def test_page_gets_meta_after_charset_and_parses(tmp_path: Path) -> None:
    data = PAGE.read_bytes()
    assert read_all(data) == []  # the script string and the comment are not labels
    out = label_bytes(data)
    anchor = b'<meta charset="utf-8">'
    at = data.index(anchor) + len(anchor)
    assert out == data[:at] + b"\n    " + META + data[at:]
    report = api.inspect_stream(io.BytesIO(out), "x.html")
    assert report.verdict == "compliant", report.problems
    assert [(loc.placement, loc.standard) for loc in report.locations] == [
        ('<head> <meta name="AIGC">', True)
    ]
    for doc in (lxml_html.document_fromstring(out), html5lib.parse(out, treebuilder="lxml")):
        metas = [
            m
            for m in doc.iter()
            if isinstance(m.tag, str)
            and m.tag.rpartition("}")[2] == "meta"
            and m.get("name") == "AIGC"
        ]
        assert [m.get("content") for m in metas] == [LABEL.to_json()]
        parent = metas[0].getparent()
        assert parent is not None
        assert str(parent.tag).rpartition("}")[2] == "head"


@requires_exiftool
def test_exiftool_shows_html_aigc(tmp_path: Path) -> None:
    out = tmp_path / "out.html"
    out.write_bytes(label_bytes(PAGE.read_bytes()))
    assert exiftool("-HTML:AIGC", "-s3", out).strip() == LABEL.to_json()
    assert "AI 生成的文章" in exiftool("-HTML:Title", "-s3", out)
    assert exiftool_warnings(out) == exiftool_warnings(PAGE)


@requires_exiftool
def test_label_written_by_hand_is_read_like_exiftool_reads_it(tmp_path: Path) -> None:
    value = make_label("by-hand").to_json()
    page = f"<!DOCTYPE html>\n<html><head><meta name='aigc' content='{value}'></head></html>\n"
    path = tmp_path / "in.html"
    path.write_text(page)
    assert read_labels(page.encode()) == [value]
    # exiftool names the tag after the meta name as written ("aigc" -> HTML:Aigc)
    assert exiftool("-HTML:Aigc", "-s3", path).strip() == value
    out = tmp_path / "out.html"
    out.write_bytes(label_bytes(page.encode()))
    assert exiftool("-HTML:all", "-s", out).splitlines() == [
        f"AIGC                            : {LABEL.to_json()}"
    ]


def test_relabel_replaces_in_place_and_removes_body_copies() -> None:
    once = label_bytes(PAGE.read_bytes())
    stray = b'\n    <meta name="AIGC" content="{&quot;Label&quot;:&quot;3&quot;}">'
    doubled = once.replace(b"<h1>", stray.strip() + b"\n    <h1>")
    found = HANDLER.read(io.BytesIO(doubled), DEFAULT_LIMITS).labels
    assert [f.standard for f in found] == [True, False]
    second = make_label("second", "2")
    twice = label_bytes(doubled, second)
    assert read_labels(twice) == [second.to_json()]
    assert twice.replace(html.escape(second.to_json()).encode(), b"X") == once.replace(
        html.escape(LABEL.to_json()).encode(), b"X"
    )


def test_body_only_label_is_moved_into_head() -> None:
    data = (
        b"<!DOCTYPE html>\n<html><head><title>t</title></head>\n<body>\n  "
        + META
        + b"\n</body></html>\n"
    )
    assert [f.standard for f in HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels] == [False]
    out = label_bytes(data)
    assert (
        out
        == b"<!DOCTYPE html>\n<html><head>"
        + META
        + b"<title>t</title></head>\n<body>\n</body></html>\n"
    )


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            b"<!DOCTYPE html>\r\n<html>\r\n<body>x</body></html>",
            b"<html>\r\n" + META + b"\r\n<body>",
        ),
        (b"<!doctype html><p>hi</p>", b"<!doctype html>\n" + META + b"\n<p>hi</p>"),
        (b"<html><head><title>t</title>", b"<html><head>" + META + b"<title>"),
        (
            b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head></head></html>',
            META[:-1] + b" /></head>",
        ),
    ],
    ids=["no-head-crlf", "doctype-only", "unclosed", "xhtml"],
)
def test_insertion_points(doc: bytes, expected: bytes) -> None:
    out = label_bytes(doc, hint="html")
    assert expected in out
    assert read_labels(out) == [LABEL.to_json()]
    if doc.startswith(b"<?xml"):
        etree.fromstring(out)  # still well-formed XML


def test_fragment_with_extension_hint() -> None:
    data = b"<p>hello</p>\n"
    assert detect(data[:64], "html") is HANDLER
    assert label_bytes(data, hint="htm") == META + b"\n" + data


def test_non_utf8_page_bytes_are_preserved() -> None:
    body = "<p>人工智能生成</p>".encode("gbk")
    data = (
        b'<!DOCTYPE html>\n<html><head><meta charset="gbk"></head><body>' + body + b"</body></html>"
    )
    out = label_bytes(data)
    assert out.replace(META, b"") == data
    assert read_labels(out) == [LABEL.to_json()]


def test_bom_is_kept() -> None:
    data = b"\xef\xbb\xbf<!DOCTYPE html><html><head></head></html>"
    out = label_bytes(data)
    assert out == b"\xef\xbb\xbf<!DOCTYPE html><html><head>" + META + b"</head></html>"


# --- sniffing ---------------------------------------------------------------------------


def test_sniff_by_bytes_not_extension() -> None:
    data = PAGE.read_bytes()
    assert detect(data[:64], "png") is HANDLER
    assert HANDLER.sniff(b"  <!-- saved from url=(0014)about:internet -->\n<HTML>")
    assert HANDLER.sniff(b"<!-- " + b"x" * 50 + b" --><!DOC")
    assert not HANDLER.sniff(b"<svg><html>")
    assert not HANDLER.sniff(b"\x00<html>")


# --- limits and corrupt input -----------------------------------------------------------


def test_huge_page_parses_only_the_head_quickly() -> None:
    body = b"<p>" + b"lorem ipsum <b>dolor</b> " * 400_000 + b"</p>"
    data = PAGE.read_bytes().replace(b"<h1>", body + b"<h1>")
    start = time.perf_counter()
    out = label_bytes(data)
    assert time.perf_counter() - start < 3
    assert out.replace(b"\n    " + META, b"", 1) == data


def test_every_truncation_is_clean() -> None:
    truncations_fail_cleanly(HANDLER, label_bytes(PAGE.read_bytes()), step=2)


LABELED = label_bytes(PAGE.read_bytes())


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutations_read_and_write_cleanly(data: st.DataObject) -> None:
    tokens = [b"<", b">", b'"', b"'", b"<!--", b"<script>", b"\xff"]
    blob = splice(data, bytearray(LABELED), tokens)
    inspect_and_label_cleanly(blob, "html", HANDLER, read_back=HANDLER)
