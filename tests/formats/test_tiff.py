"""TIFF handler: XMP in IFD0 tag 700 by appending, no pixel byte moved."""

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
from PIL import Image

from aigc_label import api
from aigc_label.errors import LimitExceededError
from aigc_label.formats import detect
from aigc_label.formats.tiff import TiffHandler
from aigc_label.limits import Limits
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
HANDLER = TiffHandler()
BE_LABELED = FIXTURES / "tiff" / "bigendian-usercomment-label.tif"
BIGTIFF = FIXTURES / "tiff" / "bigtiff-2pages.tif"
TC260 = b"http://www.tc260.org.cn/ns/AIGC/1.0/"
TYPE7_WARNING = "Non-standard format (undef) for IFD0 0x02bc ApplicationNotes"
"""exiftool writes tag 700 as BYTE and warns on UNDEFINED, the type GB 45438 names."""


def tiff_bytes(n_frames: int = 1, mode: str = "RGB", **save: Any) -> bytes:
    frames = [
        Image.linear_gradient("L").resize((40, 24)).rotate(30 * i).convert(mode)
        for i in range(n_frames)
    ]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=n_frames > 1, append_images=frames[1:], **save)
    return buf.getvalue()


def ifd0_tags(data: bytes) -> dict[int, tuple[int, int, bytes]]:
    """tag -> (type, count, value field) of IFD0, classic TIFF only."""
    order = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", data, 4)
    (n,) = struct.unpack_from(order + "H", data, ifd)
    out = {}
    for i in range(n):
        tag, typ, count, value = struct.unpack_from(order + "HHI4s", data, ifd + 2 + 12 * i)
        out[tag] = (typ, count, value)
    return out


def changed_bytes(a: bytes, b: bytes) -> int:
    return sum(x != y for x, y in zip(a, b, strict=False))


VARIANTS = {
    "raw-le": lambda: tiff_bytes(),
    "lzw": lambda: tiff_bytes(compression="tiff_lzw"),
    "deflate": lambda: tiff_bytes(compression="tiff_adobe_deflate"),
    "packbits-3pages": lambda: tiff_bytes(3, compression="packbits"),
    "big-endian-16bit": lambda: tiff_bytes(mode="I;16B"),
    "bigtiff-2pages": lambda: BIGTIFF.read_bytes(),
}


# --- round trip and preservation -------------------------------------------------------


def test_sniff_all_four_signatures(tmp_path: Path) -> None:
    for magic in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        assert HANDLER.sniff(magic + b"\0" * 12)
    assert not HANDLER.sniff(b"II*")
    assert not HANDLER.sniff(b"\xff\xd8\xff\xe0")
    wrong = tmp_path / "scan.jpg"
    wrong.write_bytes(tiff_bytes())
    out = tmp_path / "out.jpg"
    api.label_file(wrong, out, api.LabelRequest(producer=PRODUCER))
    assert isinstance(detect(out.read_bytes()[:64]), TiffHandler)
    assert api.inspect_file(out).verdict == "compliant"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_round_trip_keeps_every_pixel_byte_in_place(variant: str) -> None:
    data = VARIANTS[variant]()
    assert read_labels(data) == []
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    assert pixels(out) == pixels(data)
    # only the header's IFD0 pointer changed; everything else was appended
    assert changed_bytes(data, out[: len(data)]) <= 8
    second = make_label("0190f0c8-7d3a-7b1e-8f00-000000000002")
    twice = label_bytes(out, second)
    assert read_labels(twice) == [second.to_json()]
    assert twice.count(TC260) == 1  # the replaced packet is blanked, not left behind
    assert pixels(twice) == pixels(data)


def test_new_tag_700_is_undefined_and_sorted() -> None:
    out = label_bytes(tiff_bytes())
    tags = ifd0_tags(out)
    assert list(tags) == sorted(tags)
    typ, count, value = tags[700]
    assert typ == 7
    (offset,) = struct.unpack("<I", value)
    assert offset % 2 == 0
    assert out[offset : offset + count].startswith(b"<?xpacket")


@requires_exiftool
def test_existing_xmp_is_updated_and_kept(tmp_path: Path) -> None:
    src = tmp_path / "in.tif"
    src.write_bytes(tiff_bytes(compression="tiff_lzw", dpi=(72, 72)))
    exiftool("-overwrite_original", "-XMP-dc:Title=Hello", "-XMP-xmp:CreatorTool=Tool", src)
    data = src.read_bytes()
    before = ifd0_tags(data)
    out = tmp_path / "out.tif"
    out.write_bytes(label_bytes(data))
    after = ifd0_tags(out.read_bytes())
    assert after[700][0] == before[700][0]  # exiftool's BYTE type kept
    assert {t: v for t, v in after.items() if t != 700} == {
        t: v for t, v in before.items() if t != 700
    }
    assert exiftool_aigc(out) == make_label().to_json()
    assert exiftool_warnings(out) == exiftool_warnings(src)
    info = exiftool_json(out, "-XMP:all")
    assert info["Title"] == "Hello"
    assert info["CreatorTool"] == "Tool"
    assert pixels(out.read_bytes()) == pixels(data)


@requires_exiftool
@pytest.mark.parametrize("variant", ["raw-le", "packbits-3pages", "big-endian-16bit"])
def test_exiftool_reads_ours_without_new_warnings(tmp_path: Path, variant: str) -> None:
    src = tmp_path / "in.tif"
    src.write_bytes(VARIANTS[variant]())
    out = tmp_path / "out.tif"
    out.write_bytes(label_bytes(src.read_bytes()))
    assert exiftool_aigc(out) == make_label().to_json()
    new = set(exiftool_warnings(out)) - set(exiftool_warnings(src))
    assert all(TYPE7_WARNING in w for w in new), new


@requires_exiftool
def test_bigtiff_label_read_by_exiftool(tmp_path: Path) -> None:
    out = tmp_path / "out.btf"
    out.write_bytes(label_bytes(BIGTIFF.read_bytes()))
    assert exiftool_aigc(out) == make_label().to_json()


@requires_exiftool
def test_label_written_by_exiftool_is_read_and_replaced(tmp_path: Path) -> None:
    src = tmp_path / "in.tif"
    src.write_bytes(tiff_bytes(mode="I;16B"))
    theirs = make_label("by-exiftool").to_json()
    exiftool("-overwrite_original", f"-XMP-TC260:AIGC={theirs}", src)
    assert read_labels(src.read_bytes()) == [theirs]
    out = tmp_path / "out.tif"
    out.write_bytes(label_bytes(src.read_bytes()))
    assert exiftool_aigc(out) == make_label().to_json()
    assert out.read_bytes().count(TC260) == 1
    assert exiftool_warnings(out) == exiftool_warnings(src)


def test_usercomment_label_reported_then_blanked() -> None:
    data = BE_LABELED.read_bytes()
    report = api.inspect_stream(io.BytesIO(data))
    assert [(loc.placement, loc.standard) for loc in report.locations] == [
        ("EXIF UserComment", False)
    ]
    assert report.label is not None
    assert report.label.ProduceID == "phone-0002"
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    assert b"phone-0002" not in out
    with Image.open(io.BytesIO(out)) as im:
        exif = im.getexif()
        assert exif[0x010F] == "ScannerMaker"
        assert exif.get_ifd(0x8769)[0x9286].strip(b"ASCII\0 ") == b""
    assert pixels(out) == pixels(data)


def test_api_label_file_and_cli(tmp_path: Path) -> None:
    src = tmp_path / "in.tiff"
    src.write_bytes(tiff_bytes(2, compression="tiff_lzw"))
    out = tmp_path / "out.tiff"
    result = invoke_label(src, out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["format"] == "tiff"
    report = api.inspect_file(out)
    assert report.verdict == "compliant"
    assert [loc.placement for loc in report.locations] == ["IFD0 tag 700 XMP TC260:AIGC"]
    assert pixels(out.read_bytes()) == pixels(src.read_bytes())


# --- hostile input -------------------------------------------------------------------------


def _only_clean_errors(data: bytes, limits: Limits = LIMITS) -> None:
    read_and_label_cleanly(HANDLER, data, ".tif", limits)


def test_truncation_at_many_offsets() -> None:
    labeled = label_bytes(BE_LABELED.read_bytes())
    with within(10):
        for cut in range(0, len(labeled), 7):
            _only_clean_errors(labeled[:cut])


def _classic(entries: list[tuple[int, int, int, int]], extra: bytes = b"") -> bytes:
    """A little-endian classic TIFF: header, IFD0 at 8 with the given entries, then ``extra``."""
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\0\0\0\0" + extra


@pytest.mark.parametrize(
    "bad",
    [
        b"II*\0\xff\xff\xff\x7f",  # IFD0 past EOF
        b"II*\0\x08\0\0\0\xff\xff",  # 65535 entries declared, none present
        b"II+\0\x08\0\0\0" + b"\x08" + b"\0" * 7,  # BigTIFF, bad offset size
        b"MM\0+\0\x08\0\0" + b"\0\0\0\0\x7f\xff\xff\xff",  # BigTIFF IFD0 far away
        b"II*\0\x04\0\0\0",  # IFD0 overlapping the header
        _classic([(700, 7, 0x7FFFFFFF, 0x100)]),  # XMP larger than the file
        _classic([(700, 7, 64, 0xFFFFFF00)]),  # XMP offset past EOF
        _classic([(700, 3, 4, 0x30)], b"\0" * 64),  # XMP as SHORT
        _classic([(700, 99, 4, 0x30)], b"\0" * 64),  # unknown type
        _classic([(0x8769, 4, 1, 0xFFFFFF)]),  # ExifIFD past EOF
        _classic([(0x8769, 4, 1, 8)]),  # ExifIFD pointing at IFD0 itself
        _classic([(0x8769, 3, 2, 8)]),  # ExifIFD of the wrong type
    ],
)
def test_malformed_headers_raise_clean_errors(bad: bytes) -> None:
    with within(5):
        _only_clean_errors(bad)


def test_entry_count_limit_applies() -> None:
    data = _classic([(256 + i, 3, 1, 1) for i in range(50)])
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(data), Limits(max_items=10))
    full = _classic([(i, 3, 1, 1) for i in range(0x10000) if i != 700][:0xFFFF])
    with pytest.raises(LimitExceededError):
        label_bytes(full)


def test_random_bytes_after_magic() -> None:
    rng = random.Random(2)
    for _ in range(200):
        magic = rng.choice([b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"])
        _only_clean_errors(magic + rng.randbytes(rng.randrange(0, 200)))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_fuzz_mutated_labeled_file(data: st.DataObject) -> None:
    source = data.draw(st.sampled_from([BE_LABELED, BIGTIFF]))
    base = bytearray(label_bytes(source.read_bytes()))
    _only_clean_errors(poke(data, base, len(base) - 1, cut_from=4))


def test_classic_tiff_cannot_grow_past_4_gib(tmp_path: Path) -> None:
    sparse = tmp_path / "huge.tif"
    sparse.write_bytes(tiff_bytes())
    with open(sparse, "r+b") as f:
        f.truncate(0xFFFF_FF00)  # sparse: no disk space used
    dst = io.BytesIO()
    with open(sparse, "rb") as f, pytest.raises(LimitExceededError):
        api.label_stream(f, dst, make_label())
    assert dst.getvalue() == b""
