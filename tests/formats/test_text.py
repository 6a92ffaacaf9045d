"""Plain text: no metadata slot. Reading says so; writing is refused with one clear line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigc_label import api
from aigc_label.errors import AigcLabelError, NoMetadataSlotError
from aigc_label.formats import HANDLERS, Handler, detect, handler_named
from aigc_label.formats.base import WriteOptions
from aigc_label.limits import DEFAULT_LIMITS
from tests.conftest import FIXTURES, PRODUCER, make_label
from tests.harness import run_aigc_label

HANDLER: Handler = next(h for h in HANDLERS if h.name == "text")
NOTES = FIXTURES / "text" / "notes.txt"
SAMPLES = Path(__file__).parents[2] / "src" / "aigc_label" / "samples"


def test_cli_label_refuses_with_one_line_and_no_output(tmp_path: Path) -> None:
    out = tmp_path / "y.txt"
    done = run_aigc_label("label", NOTES, "-o", out, "--producer", PRODUCER, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no metadata slot" in lines[0]
    assert "explicit" in lines[0]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_cli_inspect_json_is_inconclusive(tmp_path: Path) -> None:
    done = run_aigc_label("inspect", "--json", NOTES, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["format"] == "text"
    assert report["verdict"] == "inconclusive"
    assert report["label"] is None
    problems = report["problems"]
    assert [p["code"] for p in problems] == ["no_metadata_slot"]
    assert problems[0]["severity"] == "warning"
    assert "本内容由人工智能生成" in problems[0]["message"]
    assert "log" in problems[0]["message"]


def test_api_refuses_to_write_and_read_is_side_effect_free() -> None:
    data = NOTES.read_bytes()
    src = io.BytesIO(data)
    with pytest.raises(NoMetadataSlotError):
        api.label_stream(src, io.BytesIO(), make_label(), hint="txt")
    with pytest.raises(NoMetadataSlotError):
        HANDLER.write(src, io.BytesIO(), WriteOptions("{}", None), DEFAULT_LIMITS)
    assert src.getvalue() == data
    assert not HANDLER.can_write


@pytest.mark.parametrize(
    "head",
    [
        "纯文本".encode() * 10 + "长".encode()[:2],  # multibyte character cut at the window
        b"\xff\xfe" + "hello, 世界".encode("utf-16-le"),
        b"\xfe\xff" + "hello".encode("utf-16-be"),
        b"\xef\xbb\xbfplain\r\n\ttabbed\x0c\x1b[0m",
    ],
    ids=["utf8-cut", "utf16le", "utf16be", "bom-controls"],
)
def test_sniffs_text(head: bytes) -> None:
    assert HANDLER.sniff(head[:64])
    assert detect(head[:64]) is HANDLER


def test_never_claims_binary() -> None:
    for sample in sorted(SAMPLES.glob("sample.*")):
        assert not HANDLER.sniff(sample.read_bytes()[:64]), sample.name
    for blob in (
        b"",
        b"\x00abc",
        b"abc\x01def",
        b"\xff\xd8\xff\xe0",
        b"\x80abc",
        b"caf\xe9 au lait",
    ):
        assert not HANDLER.sniff(blob)


def test_is_the_last_resort_among_text_handlers() -> None:
    names = [h.name for h in HANDLERS]
    assert names[-1] == "text"
    assert detect(b"<!DOCTYPE html><html>") is handler_named("html")
    assert detect(b"---\ntitle: x\n---\n") is handler_named("markdown")
    assert detect(b"# notes\n", "md") is handler_named("markdown")
    assert detect(b"# notes\n", "txt") is HANDLER


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_read_cleanly(blob: bytes) -> None:
    if not HANDLER.sniff(blob[:64]):
        return
    try:
        report = api.inspect_stream(io.BytesIO(blob), "x.txt")
    except AigcLabelError:
        return
    assert report.verdict in ("inconclusive", "compliant", "noncompliant")
