"""JPEG handler: APP1 XMP before SOS, every other segment and the scan data byte-identical."""

from __future__ import annotations

import io
import json
import random
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from aigc_label import api
from aigc_label.errors import LimitExceededError
from aigc_label.formats import detect
from aigc_label.formats.jpeg import EXT_XMP_SIG, XMP_SIG, JpegHandler
from aigc_label.xmp import update_xmp
from tests.conftest import (
    FIXTURES,
    PRODUCER,
    exiftool,
    exiftool_aigc,
    exiftool_warnings,
    label_bytes,
    make_label,
    read_labels,
    requires_exiftool,
)
from tests.harness import invoke_label, poke, read_and_label_cleanly, within
from tests.media import exiftool_json, pixels

LIMITS = api.DEFAULT_LIMITS
HANDLER = JpegHandler()
PHONE = FIXTURES / "jpeg" / "exif-usercomment-label.jpg"
MPO = FIXTURES / "jpeg" / "mpo-xmp-after-mpf.jpg"


def segments(data: bytes) -> tuple[list[bytes], bytes]:
    """(whole marker segments between SOI and SOS, bytes from SOS to EOF)."""
    out, pos = [], 2
    while data[pos + 1] != 0xDA:
        (n,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        out.append(data[pos : pos + 2 + n])
        pos += 2 + n
    return out, data[pos:]


def app1(body: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def insert_after_soi(data: bytes, *segs: bytes) -> bytes:
    return data[:2] + b"".join(segs) + data[2:]


def jpeg_bytes(mode: str = "RGB", **save: Any) -> bytes:
    im = Image.linear_gradient("L").resize((48, 32)).convert(mode)
    buf = io.BytesIO()
    im.save(buf, "JPEG", **save)
    return buf.getvalue()


def xmp_segment(label_json: str | None, extra: str = "") -> bytes:
    packet = update_xmp(None, label_json or make_label("x-1").to_json(), digital_source_type=None)
    if extra:
        packet = packet.replace(b"</rdf:RDF>", extra.encode() + b"</rdf:RDF>")
    return app1(XMP_SIG + packet)


def plain_packet(attr: bytes) -> bytes:
    """An XMP packet without a label, holding one dc attribute."""
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
        b'02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        + attr
        + b"/></rdf:RDF></x:xmpmeta>"
    )


def exif_with_comment(comment: bytes) -> bytes:
    """Pillow-made EXIF (IFD0 + ExifIFD) with a UserComment value."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8769)[0x9286] = comment
    return exif.tobytes()


@pytest.fixture
def icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --- round trip and preservation -------------------------------------------------------


def test_sniff_by_bytes_not_extension(tmp_path: Path) -> None:
    data = jpeg_bytes()
    assert HANDLER.sniff(data[:64])
    assert not HANDLER.sniff(b"\x89PNG\r\n\x1a\n")
    wrong = tmp_path / "really-a-jpeg.png"
    wrong.write_bytes(data)
    out = tmp_path / "out.png"
    api.label_file(wrong, out, api.LabelRequest(producer=PRODUCER))
    assert isinstance(detect(out.read_bytes()[:64]), JpegHandler)
    assert api.inspect_file(out).verdict == "compliant"


@pytest.mark.parametrize(
    "save",
    [{}, {"progressive": True}, {"quality": 30, "subsampling": 0}, {"restart_marker_blocks": 1}],
)
def test_round_trip_keeps_pixels_and_scan(save: dict[str, Any]) -> None:
    data = jpeg_bytes(**save)
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    assert pixels(out) == pixels(data)
    assert segments(out)[1] == segments(data)[1]
    second = make_label("0190f0c8-7d3a-7b1e-8f00-000000000002")
    twice = label_bytes(out, second)
    assert read_labels(twice) == [second.to_json()]
    assert len(twice) == len(out)


def test_all_other_segments_kept_byte_for_byte(icc: bytes) -> None:
    exif = exif_with_comment(b"ASCII\0\0\0just a photo")
    data = jpeg_bytes("CMYK", icc_profile=icc, exif=exif, comment=b"hello")
    ext = app1(EXT_XMP_SIG + b"0" * 32 + struct.pack(">II", 10, 0) + b"<x>extra</x>")
    data = insert_after_soi(data, ext)
    before, scan = segments(data)
    out = label_bytes(data)
    after, out_scan = segments(out)
    assert out_scan == scan
    xmp = [s for s in after if s[4:].startswith(XMP_SIG)]
    assert len(xmp) == 1
    assert [s for s in after if s not in xmp] == before
    # inserted after APP0/APP1 (Adobe APP14 and APP2 ICC come later), as the spec says
    markers = [s[1] for s in after]
    assert markers.index(0xE1, markers.index(0xE1) + 1) < markers.index(0xE2)
    with Image.open(io.BytesIO(out)) as im:
        assert im.info["icc_profile"] == icc
        assert im.getexif()[0x010F] == "PhoneMaker"
        assert im.mode == "CMYK"
    assert pixels(out) == pixels(data)


def test_extended_xmp_label_is_ignored_and_kept() -> None:
    body = EXT_XMP_SIG + b"0" * 40 + xmp_segment(make_label("ext").to_json())[4 + len(XMP_SIG) :]
    data = insert_after_soi(jpeg_bytes(), app1(body))
    assert read_labels(data) == []
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    assert app1(body) in out


def test_second_xmp_copy_with_label_is_dropped_other_kept() -> None:
    foreign = app1(XMP_SIG + plain_packet(b'dc:format="image/jpeg"'))
    plain = app1(XMP_SIG + plain_packet(b'dc:source="second copy"'))
    labeled = xmp_segment(make_label("old").to_json())
    labeled2 = xmp_segment(make_label("older").to_json())
    data = insert_after_soi(jpeg_bytes(), foreign, labeled, plain, labeled2)
    assert len(read_labels(data)) == 2
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    assert labeled not in out
    assert labeled2 not in out
    assert plain in out
    assert b'dc:format="image/jpeg"' in segments(out)[0][0]


def test_packet_over_65502_bytes_is_refused() -> None:
    big = "<rdf:Description xmlns:dc='http://purl.org/dc/elements/1.1/' dc:source='{}'/>"
    seg = xmp_segment(None, big.format("a" * 64_900))
    assert len(seg) < 65_535
    data = insert_after_soi(jpeg_bytes(), seg)
    with pytest.raises(LimitExceededError):
        label_bytes(data)


def test_mpf_offsets_follow_the_xmp_segment() -> None:
    data = MPO.read_bytes()
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    with Image.open(io.BytesIO(out)) as im:
        assert im.format == "MPO"
        assert getattr(im, "n_frames", 1) == 2
    assert pixels(out) == pixels(data)


def test_api_label_file_and_cli(tmp_path: Path) -> None:
    src = tmp_path / "in.jpg"
    src.write_bytes(jpeg_bytes())
    out = tmp_path / "out.jpg"
    result = invoke_label(src, out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["format"] == "jpeg"
    report = api.inspect_file(out)
    assert report.verdict == "compliant"
    assert [loc.placement for loc in report.locations] == ["APP1 XMP TC260:AIGC"]
    assert pixels(out.read_bytes()) == pixels(src.read_bytes())


# --- the EXIF UserComment label phones write ------------------------------------------


def test_phone_usercomment_label_reported_nonstandard_then_blanked() -> None:
    data = PHONE.read_bytes()
    report = api.inspect_stream(io.BytesIO(data))
    assert [(loc.placement, loc.standard) for loc in report.locations] == [
        ("EXIF UserComment", False)
    ]
    assert report.label is not None
    assert report.label.ContentProducer == PRODUCER
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    before, _ = segments(data)
    after, _ = segments(out)
    old_exif = next(s for s in before if s[4:10] == b"Exif\0\0")
    new_exif = next(s for s in after if s[4:10] == b"Exif\0\0")
    assert len(new_exif) == len(old_exif)
    assert b"AIGC" not in new_exif
    with Image.open(io.BytesIO(out)) as im:
        comment = im.getexif().get_ifd(0x8769)[0x9286]
        assert im.getexif()[0x010F] == "PhoneMaker"
    assert comment.strip(b"ASCII\0 ") == b""


@pytest.mark.parametrize(
    "comment",
    [
        b'ASCII\0\0\0{"AIGC":{"Label":"1","ContentProducer":"x"}}',
        b"UNICODE\0" + '{"Label":"1","ContentProducer":"x"}'.encode("utf-16-be"),
        b'\0\0\0\0\0\0\0\0{"Label":"2"}',
        b'{"AIGC":{"Label":"1"}}',
    ],
)
def test_usercomment_forms(comment: bytes) -> None:
    data = jpeg_bytes(exif=exif_with_comment(comment))
    assert len(HANDLER.read(io.BytesIO(data), LIMITS).labels) == 1
    assert read_labels(label_bytes(data)) == [make_label().to_json()]


def test_plain_usercomment_is_not_a_label_and_is_kept() -> None:
    exif = exif_with_comment(b"ASCII\0\0\0{not json} holiday")
    data = jpeg_bytes(exif=exif)
    assert read_labels(data) == []
    assert exif in label_bytes(data)


# --- exiftool interop ----------------------------------------------------------------------


@requires_exiftool
def test_exiftool_reads_ours_and_sees_no_new_warnings(tmp_path: Path, icc: bytes) -> None:
    src = tmp_path / "in.jpg"
    src.write_bytes(jpeg_bytes(icc_profile=icc, exif=exif_with_comment(b"ASCII\0\0\0hi")))
    exiftool("-overwrite_original", "-XMP-dc:Title=Hello", "-XMP-xmp:CreatorTool=Tool", src)
    out = tmp_path / "out.jpg"
    out.write_bytes(label_bytes(src.read_bytes()))
    assert exiftool_aigc(out) == make_label().to_json()
    assert exiftool_warnings(out) == exiftool_warnings(src)
    info = exiftool_json(out, "-XMP:all", "-ICC_Profile:ProfileDescription")
    assert info["Title"] == "Hello"
    assert info["CreatorTool"] == "Tool"
    assert info["DigitalSourceType"].endswith("trainedAlgorithmicMedia")
    assert info["ProfileDescription"]
    assert pixels(out.read_bytes()) == pixels(src.read_bytes())


@requires_exiftool
def test_label_written_by_exiftool_is_read_and_replaced(tmp_path: Path) -> None:
    src = tmp_path / "in.jpg"
    src.write_bytes(jpeg_bytes())
    theirs = make_label("by-exiftool").to_json()
    exiftool("-overwrite_original", f"-XMP-TC260:AIGC={theirs}", src)
    assert read_labels(src.read_bytes()) == [theirs]
    out = tmp_path / "out.jpg"
    out.write_bytes(label_bytes(src.read_bytes()))
    assert exiftool_aigc(out) == make_label().to_json()
    assert exiftool_warnings(out) == exiftool_warnings(src)


# --- hostile input -------------------------------------------------------------------------


def _only_clean_errors(data: bytes) -> None:
    read_and_label_cleanly(HANDLER, data, ".jpg", LIMITS)


def test_truncation_at_every_offset() -> None:
    data = PHONE.read_bytes()
    labeled = label_bytes(data)
    with within(10):
        for cut in range(3, len(labeled), 3):
            _only_clean_errors(labeled[:cut])


@pytest.mark.parametrize(
    "bad",
    [
        b"\xff\xd8\xff\xe1\xff\xff" + b"Exif\0\0",  # length past EOF
        b"\xff\xd8\xff\xe1\x00\x01",  # length below 2
        b"\xff\xd8\xff\xe0\x00\x10JFIF\0" + b"\0" * 9 + b"\x12\x34",  # junk instead of marker
        b"\xff\xd8" + b"\xff" * 200_000,  # endless fill bytes
        b"\xff\xd8\xff\xd8",  # second SOI
        b"\xff\xd8\xff\x00",  # stuffed zero in header
        b"\xff\xd8\xff\xe1\x00\x20" + b"Exif\0\0" + b"MM\0*\xff\xff\xff\xf0" + b"\0" * 18,
        b"\xff\xd8\xff\xe1\x00\x20" + b"Exif\0\0" + b"II*\0\x08\0\0\0\xff\xff" + b"\0" * 16,
    ],
)
def test_malformed_headers_raise_clean_errors(bad: bytes) -> None:
    with within(5):
        _only_clean_errors(bad + b"\xff\xd9")


def test_huge_exif_counts_are_bounded() -> None:
    tiff = bytearray(exif_with_comment(b"ASCII\0\0\0" + b'{"AIGC":{"Label":"1"}}'))
    at = tiff.index(b"\x92\x86") + 4  # Pillow writes big-endian EXIF: count field
    tiff[at : at + 4] = b"\x7f\xff\xff\xff"
    data = jpeg_bytes(exif=bytes(tiff))
    result = HANDLER.read(io.BytesIO(data), LIMITS)
    assert result.labels == []
    assert [p.code for p in result.problems] == ["exif_unreadable"]


def test_random_bytes_after_magic() -> None:
    rng = random.Random(1)
    for _ in range(200):
        _only_clean_errors(b"\xff\xd8\xff" + rng.randbytes(rng.randrange(0, 300)))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_fuzz_mutated_labeled_file(data: st.DataObject) -> None:
    base = bytearray(label_bytes(PHONE.read_bytes()))
    header_end = len(base) - len(segments(bytes(base))[1]) + 16
    _only_clean_errors(poke(data, base, header_end - 1, cut_from=2))
