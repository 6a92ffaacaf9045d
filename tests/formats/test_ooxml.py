"""OOXML handler: docProps/custom.xml property AIGC; every other ZIP member copied raw."""

from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigc_label import api
from aigc_label.errors import AigcLabelError, CorruptFileError, LimitExceededError
from aigc_label.formats import detect
from aigc_label.formats._zip import read_archive, rewrite
from aigc_label.formats.ooxml import OoxmlHandler
from aigc_label.limits import DEFAULT_LIMITS, Limits
from tests.conftest import (
    FIXTURES,
    exiftool,
    exiftool_warnings,
    have,
    label_bytes,
    make_label,
    read_labels,
)
from tests.harness import (
    OPTS,
    apply_edits,
    byte_edits,
    invoke_label,
    read_and_write_cleanly,
    within,
)
from tests.media import exiftool_json

HANDLER = OoxmlHandler()
LIMITS = DEFAULT_LIMITS
DIR = FIXTURES / "ooxml"
SAMPLES = sorted(DIR.glob("*.*x"))
LABEL = make_label()
CT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/>{extra}</Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>{extra}</Relationships>'
)
CUSTOM_REL = (
    '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/custom-properties" Target="docProps/custom.xml"/>'
)
CUSTOM_CT = (
    '<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.custom-properties+xml"/>'
)
DOC = (
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>hi</w:t></w:r></w:p></w:body></w:document>"
)


def custom_xml(*props: tuple[int, str, str]) -> str:
    body = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{pid}" name="{name}">'
        f"<vt:lpwstr>{value}</vt:lpwstr></property>"
        for pid, name, value in props
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://schem'
        'as.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.op'
        f'enxmlformats.org/officeDocument/2006/docPropsVTypes">{body}</Properties>'
    )


def make_docx(custom: str | None = None, registered: bool = True, first: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        if first:
            z.writestr(first, "x")
        reg = registered and custom is not None
        z.writestr("[Content_Types].xml", CT.format(extra=CUSTOM_CT if reg else ""))
        z.writestr("_rels/.rels", RELS.format(extra=CUSTOM_REL if reg else ""))
        z.writestr("word/document.xml", DOC)
        z.writestr("word/media/big.bin", random.Random(1).randbytes(3000), zipfile.ZIP_STORED)
        if custom is not None:
            z.writestr("docProps/custom.xml", custom)
    return buf.getvalue()


def raw_members(data: bytes) -> dict[str, tuple[int, bytes]]:
    """name -> (CRC, compressed bytes) as stored."""
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            (n, m) = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
            start = info.header_offset + 30 + n + m
            out[info.filename] = (info.CRC, data[start : start + info.compress_size])
    return out


def custom_props(data: bytes) -> list[tuple[str, str, str]]:
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        root = etree.fromstring(z.read("docProps/custom.xml"))
    return [(p.get("pid"), p.get("name"), p[0].text) for p in root]  # type: ignore[misc]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_round_trip_members_copied_raw(path: Path) -> None:
    data = path.read_bytes()
    out = label_bytes(data, hint=path.suffix)
    assert read_labels(out) == [LABEL.to_json()]
    with zipfile.ZipFile(io.BytesIO(out)) as z:
        assert z.testzip() is None
        ct = z.read("[Content_Types].xml").decode()
        rels = z.read("_rels/.rels").decode()
    assert 'PartName="/docProps/custom.xml"' in ct
    assert "custom-properties+xml" in ct
    assert 'Target="docProps/custom.xml"' in rels
    assert custom_props(out) == [("2", "AIGC", LABEL.to_json())]
    before, after = raw_members(data), raw_members(out)
    changed = {"[Content_Types].xml", "_rels/.rels"}
    assert {k: v for k, v in before.items() if k not in changed} == {
        k: v for k, v in after.items() if k not in changed | {"docProps/custom.xml"}
    }
    assert list(after)[: len(before)] == list(before)  # order kept, new part last


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_relabel_one_label_and_registration_untouched(path: Path) -> None:
    once = label_bytes(path.read_bytes())
    second = make_label("second", "2")
    twice = label_bytes(once, second)
    assert read_labels(twice) == [second.to_json()]
    a, b = raw_members(once), raw_members(twice)
    assert {k: v for k, v in a.items() if k != "docProps/custom.xml"} == {
        k: v for k, v in b.items() if k != "docProps/custom.xml"
    }


def test_documents_open_the_same() -> None:
    docx = pytest.importorskip("docx")
    openpyxl = pytest.importorskip("openpyxl")
    pptx = pytest.importorskip("pptx")
    d = label_bytes((DIR / "python-docx.docx").read_bytes())
    assert [p.text for p in docx.Document(io.BytesIO(d)).paragraphs] == ["Hello AIGC fixture"]
    x = label_bytes((DIR / "openpyxl.xlsx").read_bytes())
    ws = openpyxl.load_workbook(io.BytesIO(x)).active
    assert (ws["A1"].value, ws["B2"].value) == ("hello", 42)
    p = label_bytes((DIR / "python-pptx.pptx").read_bytes())
    slide = pptx.Presentation(io.BytesIO(p)).slides[0]
    assert slide.shapes.title.text == "Pptx fixture"


def test_existing_custom_properties_kept_and_pid_unique() -> None:
    data = make_docx(custom_xml((2, "Client", "ACME"), (5, "Project", "X")))
    out = label_bytes(data)
    assert custom_props(out) == [
        ("2", "Client", "ACME"),
        ("5", "Project", "X"),
        ("6", "AIGC", LABEL.to_json()),
    ]


def test_existing_label_copies_replaced_in_place() -> None:
    old = make_label("old").to_json()
    data = make_docx(custom_xml((2, "AIGC", old), (3, "Other", "v"), (4, "AIGC", old)))
    assert read_labels(data) == [old, old]
    out = label_bytes(data)
    assert custom_props(out) == [("2", "AIGC", LABEL.to_json()), ("3", "Other", "v")]


def test_unregistered_custom_part_is_nonstandard_then_registered() -> None:
    data = make_docx(custom_xml((2, "AIGC", "x")), registered=False)
    found = HANDLER.read(io.BytesIO(data), LIMITS).labels
    assert [(f.raw, f.standard) for f in found] == [("x", False)]
    out = label_bytes(data)
    found = HANDLER.read(io.BytesIO(out), LIMITS).labels
    assert [(f.raw, f.standard) for f in found] == [(LABEL.to_json(), True)]


def test_sniff_strong_and_weak() -> None:
    docx = make_docx()
    assert isinstance(detect(docx[:64]), OoxmlHandler)
    assert isinstance(detect(docx[:64], ".pdf"), OoxmlHandler)
    odd = make_docx(first="zz/first.txt")
    assert detect(odd[:64]) is None
    assert isinstance(detect(odd[:64], ".docx"), OoxmlHandler)
    assert read_labels(label_bytes(make_docx())) == [LABEL.to_json()]


def test_input_not_modified_and_cli(tmp_path: Path) -> None:
    data = (DIR / "openpyxl.xlsx").read_bytes()
    src = io.BytesIO(data)
    HANDLER.write(src, io.BytesIO(), OPTS, LIMITS)
    assert src.getvalue() == data
    inp, out = tmp_path / "in.xlsx", tmp_path / "out.xlsx"
    inp.write_bytes(data)
    res = invoke_label(inp, out, "--produce-id", "c1")
    assert res.exit_code == 0, res.output
    assert api.inspect_file(out).verdict == "compliant"


def test_zip64_end_records_round_trip() -> None:
    data = make_docx()
    archive = read_archive(io.BytesIO(data), LIMITS, "ooxml")
    archive.zip64 = True
    buf = io.BytesIO()
    rewrite(io.BytesIO(data), buf, archive, {}, [], "ooxml")
    z64 = buf.getvalue()
    assert b"PK\x06\x06" in z64
    assert read_archive(io.BytesIO(z64), LIMITS, "ooxml").zip64
    with zipfile.ZipFile(io.BytesIO(z64)) as z:
        assert z.testzip() is None
    out = label_bytes(z64)
    assert read_labels(out) == [LABEL.to_json()]
    assert b"PK\x06\x06" in out


def _exiftool_can_read_zip(path: Path) -> bool:
    return have("exiftool") and "Archive::Zip" not in exiftool("-warning", "-a", path)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_exiftool_reads_ours_without_new_warnings(path: Path, tmp_path: Path) -> None:
    if not _exiftool_can_read_zip(path):
        pytest.skip("exiftool (with Archive::Zip) not installed")
    out = tmp_path / f"out{path.suffix}"
    out.write_bytes(label_bytes(path.read_bytes()))
    tags = exiftool_json(out, "-AIGC")
    assert tags["AIGC"] == LABEL.to_json()
    assert set(exiftool_warnings(out)) <= set(exiftool_warnings(path))


def test_unsafe_names_are_reported() -> None:
    buf = io.BytesIO(make_docx())
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr("../evil.txt", "x")
    problems = HANDLER.read(io.BytesIO(buf.getvalue()), LIMITS).problems
    assert [p.code for p in problems] == ["unsafe_member_name"]


# -- hostile input ---------------------------------------------------------------------------


def test_truncation_at_many_offsets() -> None:
    data = label_bytes(make_docx(custom_xml((2, "Other", "v"))))
    with within(10):
        for cut in range(len(data)):
            read_and_write_cleanly(HANDLER, data[:cut], LIMITS)


def test_lying_lengths() -> None:
    data = make_docx()
    eocd = data.rindex(b"PK\x05\x06")
    for field, fmt, value in [(10, "<H", 0xFFFF), (12, "<I", 0xFFFFFFF0), (16, "<I", 5)]:
        bad = bytearray(data)
        struct.pack_into(fmt, bad, eocd + field, value)
        with pytest.raises(AigcLabelError):
            label_bytes(bytes(bad))
    cd = data.index(b"PK\x01\x02")
    for offset, value in [(20, 0xFFFFFFF0), (42, 0x7FFFFFFF), (28, 0xFFFF)]:
        bad = bytearray(data)
        struct.pack_into("<I" if offset != 28 else "<H", bad, cd + offset, value)
        with pytest.raises(AigcLabelError):
            label_bytes(bytes(bad))


def test_limits_and_bombs() -> None:
    bomb = custom_xml((2, "Pad", "a" * 3_000_000))
    data = make_docx(bomb)
    with pytest.raises(LimitExceededError):
        label_bytes(data)
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(make_docx()), Limits(max_items=3))


def test_doctype_refused() -> None:
    evil = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><Properties/>'
    with pytest.raises(CorruptFileError):
        label_bytes(make_docx(evil))


def test_random_bytes_after_signature() -> None:
    rng = random.Random(3)
    for _ in range(200):
        blob = b"PK\x03\x04" + rng.randbytes(rng.randrange(0, 300))
        read_and_write_cleanly(HANDLER, blob + b"PK\x05\x06" + rng.randbytes(rng.randrange(0, 30)))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    custom=st.booleans(),
    edits=byte_edits(10_000),
)
def test_fuzz_mutations(custom: bool, edits: list[tuple[int, int]]) -> None:
    base = make_docx(custom_xml((2, "AIGC", "old")) if custom else None)
    read_and_write_cleanly(HANDLER, apply_edits(label_bytes(base), edits), LIMITS)


def test_fixture_sizes() -> None:
    assert len(SAMPLES) == 3
    assert all(p.stat().st_size < 40_000 for p in SAMPLES)
