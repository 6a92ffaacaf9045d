"""SVG handler: XMP rdf:RDF in the root <metadata>, spliced; everything else byte-identical."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from aigc_label import api
from aigc_label.errors import AigcLabelError, LimitExceededError, UnsupportedFormatError
from aigc_label.formats import HANDLERS, Handler, detect
from aigc_label.limits import DEFAULT_LIMITS, Limits
from aigc_label.xmp import RDF_NS, TC260_NS
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
from tests.harness import OPTS, inspect_and_label_cleanly, splice, truncations_fail_cleanly

HANDLER: Handler = next(h for h in HANDLERS if h.name == "svg")
PLAIN = FIXTURES / "svg" / "plain.svg"
INKSCAPE = FIXTURES / "svg" / "inkscape.svg"
LABEL = make_label()
SVG_NS = "http://www.w3.org/2000/svg"


def label_text(svg: bytes) -> list[str]:
    root = etree.fromstring(svg)
    return [el.text or "" for el in root.iter(f"{{{TC260_NS}}}AIGC")]


# --- round trip and placement -------------------------------------------------------------


def test_plain_svg_gets_metadata_as_first_child() -> None:
    data = PLAIN.read_bytes()
    out = label_bytes(data)
    tag_end = data.index(b">") + 1
    added = out[tag_end : len(out) - (len(data) - tag_end)]
    assert out == data[:tag_end] + added + data[tag_end:]
    assert added.startswith(b"\n<metadata>\n<rdf:RDF")
    assert added.endswith(b"</rdf:RDF>\n</metadata>")
    root = etree.fromstring(out)
    assert root[0].tag == f"{{{SVG_NS}}}metadata"
    assert root[0][0].tag == f"{{{RDF_NS}}}RDF"
    assert label_text(out) == [LABEL.to_json()]
    report = api.inspect_stream(io.BytesIO(out), "x.svg")
    assert report.verdict == "compliant", report.problems
    assert [loc.standard for loc in report.locations] == [True]


def test_inkscape_metadata_is_updated_in_place(tmp_path: Path) -> None:
    data = INKSCAPE.read_bytes()
    assert detect(data[:64]) is not HANDLER  # creator comment pushes <svg past 64 bytes
    assert detect(data[:64], "svg") is HANDLER
    out = label_bytes(data, hint="svg")
    assert read_labels_svg(out) == [LABEL.to_json()]
    root = etree.fromstring(out)
    metadata = root.findall(f"{{{SVG_NS}}}metadata")
    assert len(metadata) == 1
    assert len(metadata[0].findall(f"{{{RDF_NS}}}RDF")) == 1
    assert "Generated drawing" in etree.tostring(metadata[0]).decode()
    head, tail = data.split(b"<metadata", 1)[0], data.split(b"</metadata>", 1)[1]
    assert out.startswith(head)
    assert out.endswith(tail)
    twice = label_bytes(out, make_label("2nd", "2"), hint="svg")
    assert read_labels_svg(twice) == [make_label("2nd", "2").to_json()]
    assert twice.startswith(head)
    assert twice.endswith(tail)


def read_labels_svg(data: bytes) -> list[str]:
    return [f.raw for f in HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels]


@requires_exiftool
@pytest.mark.parametrize("fixture", [PLAIN, INKSCAPE], ids=["plain", "inkscape"])
def test_exiftool_reads_our_label_and_other_metadata(fixture: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.svg"
    out.write_bytes(label_bytes(fixture.read_bytes(), hint="svg"))
    assert exiftool_aigc(out) == LABEL.to_json()
    new = [w for w in exiftool_warnings(out) if w not in exiftool_warnings(fixture)]
    if fixture is PLAIN:
        # exiftool quirk: without an XML declaration it validates SVG XMP with the
        # svg:svg/svg:metadata path prefix (and reads the tag all the same).
        quirk = "Improperly enclosed XMP property: svg:svg/svg:metadata/rdf:RDF/rdf:Description/"
        new = [w for w in new if quirk not in w]
    assert new == []
    if fixture is INKSCAPE:
        assert "Generated drawing" in exiftool("-XMP-cc:WorkTitle", out)
        assert "Li Lei" in exiftool("-XMP-cc:all", out)
    dst = exiftool("-XMP-iptcExt:DigitalSourceType", "-s3", out).strip()
    assert dst.endswith("trainedAlgorithmicMedia")


@requires_exiftool
def test_reads_xmp_made_by_exiftool(tmp_path: Path) -> None:
    xmp = tmp_path / "x.xmp"
    value = make_label("by-exiftool").to_json()
    exiftool("-XMP-TC260:AIGC=" + value, "-XMP-dc:Title=made by exiftool", "-o", xmp)
    packet = re.sub(rb"<\?xpacket[^>]*\?>", b"", xmp.read_bytes()).strip()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><metadata>' + packet + b"</metadata></svg>"
    assert read_labels(svg) == [value]
    out = label_bytes(svg)
    assert read_labels(out) == [LABEL.to_json()]
    assert b"made by exiftool" in out
    path = tmp_path / "out.svg"
    path.write_bytes(out)
    assert exiftool_aigc(path) is None or exiftool_aigc(path) == LABEL.to_json()


def test_label_outside_root_metadata_is_nonstandard_and_moved() -> None:
    stray = (
        f'<g><metadata><rdf:RDF xmlns:rdf="{RDF_NS}"><rdf:Description rdf:about="" '
        f"xmlns:TC260=\"{TC260_NS}\" TC260:AIGC='{make_label('old').to_json()}' "
        'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="image/svg+xml"/>'
        "</rdf:RDF></metadata></g>"
    )
    data = f'<svg xmlns="{SVG_NS}"><metadata/>{stray}</svg>'.encode()
    found = HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels
    assert [f.standard for f in found] == [False]
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    assert label_text(out) == [LABEL.to_json()]
    assert b'dc:format="image/svg+xml"' in out


@pytest.mark.parametrize(
    "svg",
    [
        f'<svg xmlns="{SVG_NS}"/>',
        f'<svg:svg xmlns:svg="{SVG_NS}"><svg:rect/></svg:svg>',
        f'<svg xmlns="{SVG_NS}">\r\n  <metadata id="m"/>\r\n</svg>\r\n',
        f'\ufeff<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        f'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg xmlns="{SVG_NS}"></svg>',
        f'<?xml version="1.0" encoding="ISO-8859-1"?>'
        f'<svg xmlns="{SVG_NS}"><desc>caf\xe9</desc></svg>',
    ],
    ids=["self-closing", "prefixed", "crlf-empty-metadata", "bom-doctype", "latin1"],
)
def test_unusual_but_valid_documents(svg: str) -> None:
    encoding = "iso-8859-1" if "ISO-8859-1" in svg else "utf-8"
    data = svg.encode(encoding)
    out = label_bytes(data, hint="svg")
    assert read_labels_svg(out) == [LABEL.to_json()]
    root = etree.fromstring(out.removeprefix(b"\xef\xbb\xbf"), etree.XMLParser(load_dtd=False))
    assert root.find(f"{{{SVG_NS}}}metadata/{{{RDF_NS}}}RDF") is not None
    assert label_text(out.removeprefix(b"\xef\xbb\xbf")) == [LABEL.to_json()]
    if "\r\n" in svg:
        assert b"\n" not in out.replace(b"\r\n", b"")


def test_utf16_svg_round_trip() -> None:
    data = b"\xff\xfe" + f'<svg xmlns="{SVG_NS}"><title>你好</title></svg>'.encode("utf-16-le")
    out = label_bytes(data)
    assert out[:2] == b"\xff\xfe"
    assert read_labels(out) == [LABEL.to_json()]
    assert "你好" in out[2:].decode("utf-16-le")


# --- sniffing ---------------------------------------------------------------------------


def test_sniff_by_bytes_not_extension() -> None:
    data = PLAIN.read_bytes()
    assert detect(data[:64], "png") is HANDLER
    assert detect(b'<?xml version="1.0"?>\n<svg xmlns="x">', "txt") is not HANDLER
    assert HANDLER.sniff(b'<?xml version="1.0"?>\n<svg xmlns="x">')
    assert HANDLER.sniff(b"<!-- c --><!DOCTYPE svg PUBLIC>")
    assert not HANDLER.sniff(b"<html><svg></svg></html>")
    assert not HANDLER.sniff(b"\x89PNG\r\n\x1a\n<svg")
    assert HANDLER.sniff_weak(b'<?xml version="1.0"?><!-- a long comment that')


# --- limits and corrupt input -----------------------------------------------------------


def test_not_svg_root_and_broken_markup() -> None:
    with pytest.raises(UnsupportedFormatError):
        HANDLER.read(io.BytesIO(b"<?xml version='1.0'?><html/>"), DEFAULT_LIMITS)
    for bad in (b"<svg><!-- never closed", b"<svg>", b"<svg/><svg/>", b"<svg></g></svg></svg>"):
        with pytest.raises(AigcLabelError):
            HANDLER.write(io.BytesIO(bad), io.BytesIO(), OPTS, DEFAULT_LIMITS)


def test_entities_are_never_expanded() -> None:
    lol = b'<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
    body = (
        f'<svg xmlns="{SVG_NS}"><metadata><rdf:RDF xmlns:rdf="{RDF_NS}">'
        f'<rdf:Description rdf:about="" xmlns:TC260="{TC260_NS}"><TC260:AIGC>&b;</TC260:AIGC>'
        "</rdf:Description></rdf:RDF></metadata></svg>"
    ).encode()
    result = HANDLER.read(io.BytesIO(lol + body), DEFAULT_LIMITS)
    assert not any("aaaa" in f.raw for f in result.labels)
    with pytest.raises(AigcLabelError):
        HANDLER.write(io.BytesIO(lol + body), io.BytesIO(), OPTS, DEFAULT_LIMITS)


def test_deep_nesting_and_label_past_region_are_limited() -> None:
    deep = b"<svg>" + b"<g>" * 100 + b"</g>" * 100 + b"</svg>"
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(deep), DEFAULT_LIMITS)
    labeled = label_bytes(PLAIN.read_bytes())
    late = labeled.replace(b"<metadata>", b"<desc>" + b" " * 4000 + b"</desc><metadata>", 1)
    small = Limits(max_metadata_bytes=1024)
    with pytest.raises(LimitExceededError):
        HANDLER.write(io.BytesIO(late), io.BytesIO(), OPTS, small)


def test_large_document_is_fast() -> None:
    shapes = b"".join(b'<rect x="%d" y="1" width="2" height="3"/>\n' % i for i in range(60_000))
    data = PLAIN.read_bytes().replace(b"</svg>", shapes + b"</svg>")
    start = time.perf_counter()
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    assert time.perf_counter() - start < 5


def test_every_truncation_is_clean() -> None:
    truncations_fail_cleanly(HANDLER, label_bytes(INKSCAPE.read_bytes(), hint="svg"), step=3)


LABELED = label_bytes(INKSCAPE.read_bytes(), hint="svg")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutations_read_and_write_cleanly(data: st.DataObject) -> None:
    blob = splice(data, bytearray(LABELED), [b"<", b">", b'"', b"/", b"&", b"\xff"])
    inspect_and_label_cleanly(blob, "svg", HANDLER, read_back=HANDLER)


def test_sniff_does_not_claim_xhtml_with_inline_svg() -> None:
    assert not HANDLER.sniff(b'<?xml version="1.0"?><html><svg/></html>')
    assert HANDLER.sniff(
        b'<?xml version="1.0"?>\n<!-- Created with Inkscape -->\n\n<svg xmlns="http://www.w3.org/2000/svg">'
    )
    assert not HANDLER.sniff(b'<?xml version="1.0"?>\n<!-- ' + b"x" * 60)
    assert not HANDLER.sniff(b"<!DOCTYPE html><svg>")
