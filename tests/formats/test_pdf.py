"""PDF handler: Info /AIGC by incremental update; the original bytes stay a prefix."""

from __future__ import annotations

import io
import json
import random
import zlib
from functools import partial
from pathlib import Path

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigc_label import api
from aigc_label.errors import AigcLabelError, CorruptFileError, UnsupportedFormatError
from aigc_label.formats import detect
from aigc_label.formats.base import WriteOptions
from aigc_label.formats.pdf import PdfHandler
from aigc_label.limits import DEFAULT_LIMITS, Limits
from tests.conftest import (
    FIXTURES,
    exiftool,
    exiftool_aigc,
    exiftool_warnings,
    label_bytes,
    make_label,
    read_labels,
    requires_exiftool,
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

HANDLER = PdfHandler()
LIMITS = DEFAULT_LIMITS
DIR = FIXTURES / "pdf"
CLASSIC = (DIR / "classic-info.pdf").read_bytes()
XSTREAM = (DIR / "xrefstream-objstm.pdf").read_bytes()
XMP_LABELED = (DIR / "xmp-label-exiftool.pdf").read_bytes()
LABEL = make_label()


def make_pdf(
    *, objstm: bool = False, info: bool = True, pages: int = 1, linearize: bool = False
) -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(100, 100))
    if info:
        pdf.docinfo["/Title"] = "Tëst (paren) \\ title"
        pdf.docinfo["/Author"] = "author"
    buf = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if objstm else pikepdf.ObjectStreamMode.disable
    pdf.save(buf, object_stream_mode=mode, linearize=linearize, deterministic_id=True)
    return buf.getvalue()


VARIANTS = {
    "classic": lambda: make_pdf(),
    "objstm": lambda: make_pdf(objstm=True),
    "classic-noinfo": lambda: make_pdf(info=False),
    "objstm-noinfo": lambda: make_pdf(objstm=True, info=False),
    "linearized": lambda: make_pdf(pages=3, linearize=True),
}


def docinfo(data: bytes) -> dict[str, str]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert not pdf.check_pdf_syntax()
        return {str(k): str(v) for k, v in pdf.docinfo.items()}


def page_contents(data: bytes) -> list[bytes]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [bytes(p.obj.unparse(resolved=True)) for p in pdf.pages]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_round_trip_prefix_and_pikepdf(variant: str) -> None:
    data = VARIANTS[variant]()
    out = label_bytes(data)
    assert out.startswith(data), "incremental update must keep the original as a prefix"
    assert read_labels(out) == [LABEL.to_json()]
    info = docinfo(out)
    assert json.loads(info["/AIGC"]) == LABEL.to_dict()
    before = docinfo(data)
    assert {k: v for k, v in info.items() if k != "/AIGC"} == before
    assert page_contents(out) == page_contents(data)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_relabel_appends_and_keeps_one_label(variant: str) -> None:
    once = label_bytes(VARIANTS[variant]())
    second = make_label("second-id", "2")
    twice = label_bytes(once, second)
    assert twice.startswith(once)
    assert read_labels(twice) == [second.to_json()]
    assert json.loads(docinfo(twice)["/AIGC"]) == second.to_dict()
    assert twice.count(b"startxref") == once.count(b"startxref") + 1


def test_update_kind_matches_newest_section() -> None:
    classic = label_bytes(CLASSIC)[len(CLASSIC) :]
    assert b"\nxref\n" in classic
    assert b"/Type /XRef" not in classic
    stream = label_bytes(XSTREAM)[len(XSTREAM) :]
    assert b"/Type /XRef" in stream
    assert b"\nxref\n" not in stream


def test_info_in_object_stream_is_found_and_kept() -> None:
    with pikepdf.open(io.BytesIO(XSTREAM)) as pdf:
        info_num = pdf.trailer.Info.objgen[0]
    assert f"{info_num} 0 obj".encode() not in XSTREAM  # compressed, not a top-level object
    out = label_bytes(XSTREAM)
    assert out[len(XSTREAM) :].startswith(f"{info_num} 0 obj".encode())
    assert docinfo(out)["/Title"] == "Fixture (classic)"


def test_existing_pikepdf_label_read_and_replaced() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/AIGC"] = make_label("by-pikepdf").to_json()
    buf = io.BytesIO()
    pdf.save(buf)
    assert read_labels(buf.getvalue()) == [make_label("by-pikepdf").to_json()]
    out = label_bytes(buf.getvalue())
    assert read_labels(out) == [LABEL.to_json()]


def test_sniff_by_bytes_not_extension() -> None:
    assert detect(CLASSIC[:64], ".docx") is HANDLER.__class__() or isinstance(
        detect(CLASSIC[:64], ".docx"), PdfHandler
    )
    assert isinstance(detect(CLASSIC[:64], ".jpg"), PdfHandler)
    assert not HANDLER.sniff(b"%PS-Adobe-3.0")


def test_input_stream_not_modified() -> None:
    src = io.BytesIO(CLASSIC)
    HANDLER.read(src, LIMITS)
    HANDLER.write(src, io.BytesIO(), OPTS, LIMITS)
    assert src.getvalue() == CLASSIC


def test_cli_label_command(tmp_path: Path) -> None:
    src = tmp_path / "in.pdf"
    src.write_bytes(CLASSIC)
    dst = tmp_path / "out.pdf"
    res = invoke_label(src, dst, "--produce-id", "cli-1")
    assert res.exit_code == 0, res.output
    assert json.loads(docinfo(dst.read_bytes())["/AIGC"])["ProduceID"] == "cli-1"
    assert api.inspect_file(dst).verdict == "compliant"


def test_xmp_label_is_nonstandard_and_moved_to_info() -> None:
    result = HANDLER.read(io.BytesIO(XMP_LABELED), LIMITS)
    assert [(f.standard, f.placement) for f in result.labels] == [
        (False, "XMP metadata stream TC260:AIGC")
    ]
    out = label_bytes(XMP_LABELED)
    assert out.startswith(XMP_LABELED)
    found = HANDLER.read(io.BytesIO(out), LIMITS).labels
    assert [(f.raw, f.standard) for f in found] == [(LABEL.to_json(), True)]
    with pikepdf.open(io.BytesIO(out)) as pdf:
        xmp = pdf.Root.Metadata.read_bytes()
    assert b"TC260:AIGC" not in xmp
    assert b"Fixture" in xmp  # dc:title kept


def test_encrypted_pdf_is_refused_on_write() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(owner="o", user="", R=4))
    result = HANDLER.read(io.BytesIO(buf.getvalue()), LIMITS)
    assert [p.code for p in result.problems] == ["encrypted"]
    with pytest.raises(UnsupportedFormatError, match="encrypted"):
        label_bytes(buf.getvalue())


def test_missing_newline_before_update_and_classic_table_format() -> None:
    data = CLASSIC.rstrip(b"\r\n")
    out = label_bytes(data)
    assert out.startswith(data + b"\n")
    tail = out[len(data) :]
    entry = tail[tail.index(b"xref\n") + 5 :].split(b"\n", 1)[1][:20]
    assert len(entry) == 20
    assert entry.endswith(b" n\r\n")
    assert read_labels(out) == [LABEL.to_json()]


@requires_exiftool
@pytest.mark.parametrize("path", sorted(DIR.glob("*.pdf")), ids=lambda p: p.name)
def test_exiftool_reads_ours_without_new_warnings(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    out.write_bytes(label_bytes(path.read_bytes()))
    tags = exiftool_json(out, "-PDF:AIGC")
    assert tags["AIGC"] == LABEL.to_json()
    assert exiftool_aigc(out) is None  # no XMP copy left
    assert set(exiftool_warnings(out)) <= set(exiftool_warnings(path))


@requires_exiftool
def test_exiftool_written_xmp_label_is_read(tmp_path: Path) -> None:
    src = tmp_path / "in.pdf"
    src.write_bytes(CLASSIC)
    value = make_label("exif-written").to_json()
    exiftool("-overwrite_original", f"-XMP-TC260:AIGC={value}", src)
    assert read_labels(src.read_bytes()) == [value]
    out = label_bytes(src.read_bytes())
    assert read_labels(out) == [LABEL.to_json()]


# -- hostile input ---------------------------------------------------------------------------


exercise = partial(read_and_write_cleanly, HANDLER, limits=LIMITS, keeps_prefix=True)
"""Read and write succeed or fail cleanly; a written file keeps the input as its prefix."""


@pytest.mark.parametrize("data", [CLASSIC, XSTREAM], ids=["classic", "xstream"])
def test_truncation_at_every_offset(data: bytes) -> None:
    labeled = label_bytes(data)
    with within(10):
        for cut in range(len(labeled)):
            exercise(labeled[:cut])


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"/Length 10", b"/Length 99999999999"),
        (b"/Size 11", b"/Size 0"),
        (b"/W [1 2 2]", b"/W [1 9 2]"),
        (b"/Index [", b"/Index [-1 "),
        (b"/Prev ", b"/Prev 9"),
        (b"startxref\n", b"startxref\n1"),
    ],
)
def test_lying_fields_in_our_own_update(old: bytes, new: bytes) -> None:
    labeled = label_bytes(XSTREAM)
    assert old in labeled[len(XSTREAM) :]
    head, tail = labeled[: len(XSTREAM)], labeled[len(XSTREAM) :]
    exercise(head + tail.replace(old, new, 1))


def test_structural_garbage() -> None:
    for blob in (
        b"%PDF-1.7\n",
        b"%PDF-1.7\nstartxref\n5\n%%EOF",
        b"%PDF-1.7\nxref\n0 99999999999\ntrailer<<>>\nstartxref\n9\n%%EOF",
        b"%PDF-1.7\nxref\n0 1\n0000000000 65535 f\r\ntrailer\n<</Size 1/Prev 9>>\n"
        b"startxref\n9\n%%EOF",
        b"%PDF-1.7\n1 0 obj<</Type/XRef/W[1 2 2]/Size 2/Length 5/Filter/FlateDecode>>stream\n"
        b"xxxxx\nendstream endobj\nstartxref\n9\n%%EOF",
        b"%PDF-1.7\nxref\n0 1\n0000000000 65535 f\r\ntrailer\n" + b"[" * 5000 + b"\nstartxref\n9",
    ):
        with pytest.raises(AigcLabelError):
            label_bytes(blob)


def test_inflate_bomb_in_xref_stream_is_bounded() -> None:
    bomb = zlib.compress(b"\x00" * (4 * 1024 * 1024))
    body = b"<</Type/XRef/W[1 2 2]/Size 1/Root 1 0 R/Filter/FlateDecode/Length %d>>" % len(bomb)
    data = b"%PDF-1.7\n9 0 obj" + body + b"stream\n" + bomb + b"\nendstream\nendobj\n"
    data += b"startxref\n9\n%%EOF\n"
    with pytest.raises(AigcLabelError):
        HANDLER.write(
            io.BytesIO(data),
            io.BytesIO(),
            WriteOptions("{}", None),
            Limits(max_metadata_bytes=1024 * 1024),
        )


def test_prev_cycle_terminates() -> None:
    data = (
        b"%PDF-1.4\nxref\n0 1\n0000000000 65535 f\r\ntrailer\n<</Size 1/Root 1 0 R/Prev 9>>\n"
        b"startxref\n9\n%%EOF\n"
    )
    out = label_bytes(data)  # the Info is new; the cycle is only walked, never looped
    assert read_labels(out) == [LABEL.to_json()]


def test_random_bytes_after_header() -> None:
    rng = random.Random(7)
    for _ in range(200):
        exercise(b"%PDF-1.7\n" + rng.randbytes(rng.randrange(0, 400)) + b"startxref\n9\n%%EOF")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    base=st.sampled_from([CLASSIC, XSTREAM, XMP_LABELED]),
    edits=byte_edits(10_000),
)
def test_fuzz_mutations(base: bytes, edits: list[tuple[int, int]]) -> None:
    exercise(apply_edits(label_bytes(base), edits))


def test_fixture_count_and_sizes() -> None:
    files = sorted(DIR.glob("*.pdf"))
    assert len(files) == 3
    assert all(p.stat().st_size < 40_000 for p in files)
    with pytest.raises(CorruptFileError):
        HANDLER.read(io.BytesIO(b"%PDF-1.4\n%%EOF"), LIMITS)
