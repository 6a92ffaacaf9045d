"""Markdown handler: YAML front matter ``AIGC:`` block; everything else byte-identical."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigc_label import api
from aigc_label.errors import AigcLabelError, LimitExceededError, UnsupportedFormatError
from aigc_label.formats import HANDLERS, Handler, detect
from aigc_label.limits import DEFAULT_LIMITS, Limits
from tests.conftest import FIXTURES, PRODUCER, label_bytes, make_label, read_labels
from tests.harness import (
    OPTS,
    inspect_and_label_cleanly,
    run_aigc_label,
    splice,
    truncations_fail_cleanly,
)

HANDLER: Handler = next(h for h in HANDLERS if h.name == "markdown")
JEKYLL = FIXTURES / "markdown" / "jekyll-post.md"
HUGO = FIXTURES / "markdown" / "hugo-crlf-labeled.md"
LABEL = make_label()


def split_front_matter(data: bytes) -> tuple[str, str]:
    """(front matter YAML, rest) of a labeled file, newline-normalized."""
    text = data.decode("utf-8-sig").replace("\r\n", "\n")
    assert text.startswith("---\n")
    fm, _, rest = text[4:].partition("\n---\n")
    return fm + "\n", rest


def without_aigc_block(data: bytes) -> bytes:
    """Remove the ``AIGC:`` key line and its indented lines."""
    out, skipping = [], False
    for line in data.splitlines(keepends=True):
        if line.startswith(b"AIGC:"):
            skipping = True
            continue
        if skipping and line.startswith(b"  "):
            continue
        skipping = False
        out.append(line)
    return b"".join(out)


# --- round trip and placement -------------------------------------------------------------


def test_cli_label_merges_into_existing_front_matter(tmp_path: Path) -> None:
    out = tmp_path / "post.md"
    args = ["-o", out, "--producer", PRODUCER, "--produce-id", LABEL.ProduceID]
    done = run_aigc_label("label", JEKYLL, *args)
    assert done.returncode == 0, done.stderr
    data = out.read_bytes()
    original = JEKYLL.read_bytes()
    assert without_aigc_block(data) == original
    fm, _ = split_front_matter(data)
    parsed = yaml.safe_load(fm)
    assert parsed["AIGC"] == LABEL.to_dict()
    assert list(parsed["AIGC"]) == list(LABEL.to_dict())
    before = yaml.safe_load(split_front_matter(original)[0])
    assert {k: v for k, v in parsed.items() if k != "AIGC"} == before
    report = api.inspect_file(out)
    assert report.verdict == "compliant", report.problems
    assert [(loc.placement, loc.standard) for loc in report.locations] == [
        ("YAML front matter AIGC", True)
    ]


def test_block_is_double_quoted_in_annex_e_order() -> None:
    out = label_bytes(JEKYLL.read_bytes()).decode()
    block = out[out.index("AIGC:") :].split("---")[0].splitlines()
    assert block[0] == "AIGC:"
    assert [ln.split(":")[0].strip() for ln in block[1:]] == list(LABEL.to_dict())
    assert all(ln.startswith("  ") and ln.endswith('"') for ln in block[1:])


def test_relabel_crlf_keeps_style_and_one_label() -> None:
    data = HUGO.read_bytes()
    assert read_labels(data) == [make_label("hugo-0001").to_json()]
    second = make_label("second", "2")
    out = label_bytes(label_bytes(data), second)
    assert read_labels(out) == [second.to_json()]
    assert b"\n" not in out.replace(b"\r\n", b"")
    assert out.endswith(data[data.index(b"---\r\n{{<") :])
    assert yaml.safe_load(split_front_matter(out)[0])["AIGC"] == second.to_dict()


@pytest.mark.parametrize(
    ("body", "bom", "nl"),
    [("# Title\n\ntext\n", b"", "\n"), ("# Title\r\n\r\ntext\r\n", b"\xef\xbb\xbf", "\r\n")],
)
def test_file_without_front_matter_gets_one(body: str, bom: bytes, nl: str) -> None:
    data = bom + body.encode()
    assert detect(data[:64]) is not HANDLER  # plain text until it has front matter
    out = label_bytes(data, hint=".md")
    assert out.startswith(bom + b"---" + nl.encode() + b"AIGC:" + nl.encode())
    assert out.endswith(b"---" + nl.encode() + body.encode())
    assert detect(out[:64]) is HANDLER
    assert read_labels(out) == [LABEL.to_json()]
    assert b"\n" not in out.replace(nl.encode(), b"") or nl == "\n"


def test_utf16_front_matter_round_trip() -> None:
    text = "---\ntitle: 你好\n---\nbody\n"
    data = b"\xff\xfe" + text.encode("utf-16-le")
    out = label_bytes(data, hint="md")
    decoded = out[2:].decode("utf-16-le")
    assert out[:2] == b"\xff\xfe"
    assert yaml.safe_load(split_front_matter(decoded.encode())[0])["title"] == "你好"
    assert read_labels(out) == [LABEL.to_json()]


def test_empty_front_matter_and_thematic_break() -> None:
    out = label_bytes(b"---\n---\nbody\n")
    assert out.endswith(b'  ReservedCode2: ""\n---\nbody\n')
    # An unclosed leading --- is a thematic break: new front matter goes above it.
    rule = b"---\n\nNot front matter.\n"
    out = label_bytes(rule)
    assert out.endswith(b"---\n" + rule)
    assert read_labels(out) == [LABEL.to_json()]


# --- reading what others write --------------------------------------------------------------

FULL = LABEL.to_dict()
FORMS = {
    "json-string": "AIGC: '" + LABEL.to_json() + "'\n",
    "json-flow": "AIGC: " + LABEL.to_json() + "\n",
    "yaml-flow": "AIGC: {" + ", ".join(f"{k}: '{v}'" for k, v in FULL.items()) + "}\n",
    "multi-line-flow": "AIGC: {Label: '1',\n  "
    + ",\n  ".join(f'"{k}": "{v}"' for k, v in list(FULL.items())[1:])
    + "}\n",
    "block-mixed-quotes": "AIGC:   # our label\n"
    + "".join(
        f"    {k}: {v}  # c\n" if v and k != "Label" else f"    {k}: '{v}'\n"
        for k, v in FULL.items()
    ),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_reads_label_forms_found_in_the_wild(form: str) -> None:
    data = f"---\ntitle: x\n{FORMS[form]}tags: [a]\n---\nbody\n".encode()
    assert yaml.safe_load(split_front_matter(data)[0])["title"] == "x"  # valid YAML input
    found = HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels
    assert [json.loads(f.raw) for f in found] == [FULL]
    assert found[0].standard is (form != "json-string")
    out = label_bytes(data, make_label("new"))
    assert read_labels(out) == [make_label("new").to_json()]
    parsed = yaml.safe_load(split_front_matter(out)[0])
    assert parsed["tags"] == ["a"]
    assert parsed["AIGC"] == make_label("new").to_dict()


def test_yaml_scalars_keep_their_types_and_bad_values_are_reported() -> None:
    data = b"---\nAIGC:\n  Label: 1\n  ProduceID: null\n---\n"
    raw = HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels[0].raw
    assert json.loads(raw) == {"Label": 1, "ProduceID": None}
    report = api.inspect_stream(io.BytesIO(data), "x.md")
    assert report.verdict == "noncompliant"
    weird = b"---\nAIGC: |\n  literal block\n---\n"
    found = HANDLER.read(io.BytesIO(weird), DEFAULT_LIMITS).labels
    assert len(found) == 1
    assert api.inspect_stream(io.BytesIO(weird), "x.md").verdict == "noncompliant"


def test_duplicate_aigc_keys_all_reported_and_collapsed() -> None:
    data = f"---\nAIGC: '{LABEL.to_json()}'\nx: 1\nAIGC:\n  Label: '2'\n---\n".encode()
    assert len(read_labels(data)) == 2
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    assert yaml.safe_load(split_front_matter(out)[0])["x"] == 1


def test_ignores_aigc_in_body_and_nested_keys() -> None:
    data = b"---\nparams:\n  AIGC: nested\n---\nAIGC: in the body\n"
    assert read_labels(data) == []
    out = label_bytes(data)
    assert out.endswith(b"---\nAIGC: in the body\n")
    assert read_labels(out) == [LABEL.to_json()]


# --- sniffing ---------------------------------------------------------------------------


def test_sniff_by_bytes_and_weak_by_extension() -> None:
    data = JEKYLL.read_bytes()
    assert detect(data[:64], "png") is HANDLER
    assert detect(data[:64]) is HANDLER
    assert detect(b"# Title\n", "md") is HANDLER
    assert detect(b"# Title\n", "markdown") is HANDLER
    assert not HANDLER.sniff(b"\x89PNG\r\n\x1a\n")
    assert not HANDLER.sniff_weak(b"\x00\x01binary")
    assert HANDLER.sniff_weak(b"---\ntitle: " + "长".encode()[:2])


# --- limits and corrupt input -----------------------------------------------------------


def test_toml_front_matter_is_refused_not_shadowed() -> None:
    with pytest.raises(UnsupportedFormatError):
        label_bytes(b'+++\ntitle = "x"\n+++\nbody\n', hint="md")


def test_oversized_unclosed_front_matter() -> None:
    data = b"---\n" + b"k: v\n" * 300_000
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS)
    small = Limits(max_items=10)
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(b"---\n" + b"k: v\n" * 20 + b"---\n"), small)


def test_invalid_utf8_front_matter_is_refused_but_body_is_free() -> None:
    bad = b"---\ntitle: \xff\xfe\n---\nbody\n"
    with pytest.raises(AigcLabelError):
        HANDLER.write(io.BytesIO(bad), io.BytesIO(), OPTS, DEFAULT_LIMITS)
    latin1_body = b"---\ntitle: x\n---\n" + b"plain text " * 8 + b"caf\xe9\n"
    out = label_bytes(latin1_body)
    assert out.endswith(b"---\n" + b"plain text " * 8 + b"caf\xe9\n")


def test_large_body_is_streamed_unchanged() -> None:
    body = b"".join(b"line %d of the body\n" % i for i in range(200_000))
    data = b"---\ntitle: big\n---\n" + body
    start = time.perf_counter()
    out = label_bytes(data)
    assert time.perf_counter() - start < 5
    assert out.endswith(b"---\n" + body)


def test_every_truncation_is_clean() -> None:
    truncations_fail_cleanly(HANDLER, label_bytes(JEKYLL.read_bytes()))


LABELED = label_bytes(JEKYLL.read_bytes())


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutations_read_and_write_cleanly(data: st.DataObject) -> None:
    blob = splice(data, bytearray(LABELED), [b"-", b"\n", b":", b'"', b"'", b"\xff"])
    inspect_and_label_cleanly(blob, "md", HANDLER)
