"""PNG handler: iTXt XML:com.adobe.xmp before IDAT, everything else byte-identical."""

from __future__ import annotations

import io
import json
import random
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image, PngImagePlugin

from aigc_label import api
from aigc_label.errors import CorruptFileError, LimitExceededError
from aigc_label.formats import detect
from aigc_label.formats.png import PngHandler
from aigc_label.limits import DEFAULT_LIMITS, Limits
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
from tests.harness import (
    CountingStream,
    apply_edits,
    byte_edits,
    invoke_label,
    read_and_write_cleanly,
    read_cleanly,
    truncations_raise,
    within,
)
from tests.media import exiftool_json, frames

SIG = b"\x89PNG\r\n\x1a\n"
XMP_KW = b"XML:com.adobe.xmp"
LIMITS = DEFAULT_LIMITS
HANDLER = PngHandler()


def chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, whole chunk bytes) in file order, up to IEND."""
    out, pos = [], 8
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        out.append((ctype, data[pos : pos + 12 + n]))
        pos += 12 + n
        if ctype == b"IEND":
            break
    return out


def png_bytes(**save: Any) -> bytes:
    im = Image.linear_gradient("L").resize((32, 24)).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "PNG", **save)
    return buf.getvalue()


def with_text(base: bytes, extra: bytes, after_idat: bool = False) -> bytes:
    """Insert ``extra`` chunk bytes after IHDR (or just before IEND)."""
    if after_idat:
        iend = base.rindex(b"IEND") - 4
        return base[:iend] + extra + base[iend:]
    return base[:33] + extra + base[33:]


def xmp_packet(label_json: str | None = None) -> bytes:
    return update_xmp(None, label_json or make_label("x-1").to_json(), digital_source_type=None)


def itxt(keyword: bytes, text: bytes, compressed: bool = False) -> bytes:
    body = zlib.compress(text) if compressed else text
    return chunk(b"iTXt", keyword + b"\0" + bytes([int(compressed), 0]) + b"\0\0" + body)


# --- round trip and placement -------------------------------------------------------------


def test_sniff_by_bytes_not_extension() -> None:
    data = png_bytes()
    handler = detect(data[:64], "jpg")
    assert handler is not None
    assert handler.name == "png"
    assert not HANDLER.sniff(b"GIF89a" + data[6:64])
    out = label_bytes(data, hint="jpg")
    assert read_labels(out) == [make_label().to_json()]


def test_round_trip_standard_placement() -> None:
    data = png_bytes()
    out = label_bytes(data)
    report = api.inspect_stream(io.BytesIO(out), "x.png")
    assert report.verdict == "compliant", report.problems
    assert report.label == make_label()
    assert [loc.standard for loc in report.locations] == [True]
    types = [t for t, _ in chunks(out)]
    assert types[:2] == [b"IHDR", b"iTXt"]
    itxt_data = chunks(out)[1][1][8:-4]
    assert itxt_data.startswith(XMP_KW + b"\0\0\0\0\0")  # uncompressed, empty lang/tkw
    # every original chunk survives byte for byte and in order
    assert [c for t, c in chunks(out) if t != b"iTXt"] == [c for _, c in chunks(data)]
    assert frames(out) == frames(data)


def test_write_twice_one_label_and_idempotent() -> None:
    data = png_bytes()
    once = label_bytes(data)
    twice = label_bytes(once, make_label("second-id"))
    assert read_labels(twice) == [make_label("second-id").to_json()]
    assert [t for t, _ in chunks(twice)].count(b"iTXt") == 1
    assert label_bytes(once) == once


def test_input_stream_not_modified() -> None:
    data = label_bytes(png_bytes())
    src = io.BytesIO(data)
    HANDLER.read(src, LIMITS)
    assert src.getvalue() == data


def test_other_metadata_survives() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    icc = b"\0" * 128 + b"fake-icc-profile"
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "keep me")
    info.add_text("Big", "z" * 5000, zip=True)
    data = png_bytes(exif=exif, icc_profile=icc, pnginfo=info)
    out = label_bytes(data)
    with Image.open(io.BytesIO(out)) as im:
        assert im.info["icc_profile"] == icc
        assert im.info["Comment"] == "keep me"
        assert im.info["Big"] == "z" * 5000
        assert im.getexif()[0x010F] == "Maker"


def test_apng_frames_and_chunks_pass_through() -> None:
    ims = [Image.new("RGB", (16, 16), (i * 60, 255 - i * 60, 7)) for i in range(4)]
    buf = io.BytesIO()
    ims[0].save(buf, "PNG", save_all=True, append_images=ims[1:], duration=[50, 60, 70, 80], loop=3)
    data = buf.getvalue()
    out = label_bytes(data)
    assert frames(out) == frames(data)
    with Image.open(io.BytesIO(out)) as im:
        assert im.info["loop"] == 3
    anim = {b"acTL", b"fcTL", b"fdAT", b"IDAT"}
    assert [c for t, c in chunks(out) if t in anim] == [c for t, c in chunks(data) if t in anim]
    assert read_labels(out) == [make_label().to_json()]


def test_big_idat_is_streamed_not_loaded() -> None:
    payload = bytes(range(256)) * (12 * 4096)  # 12 MiB, never decoded
    data = png_bytes()
    idat_at = data.index(b"IDAT") - 4
    big = data[:idat_at] + chunk(b"IDAT", payload) + data[idat_at:]
    src = CountingStream(big)
    out = io.BytesIO()
    api.label_stream(src, out, make_label())
    assert src.largest <= 1024 * 1024
    assert payload in out.getvalue()


def test_cli_label_command(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(png_bytes())
    dst = tmp_path / "out.png"
    res = invoke_label(src, dst, "--produce-id", "cli-1")
    assert res.exit_code == 0, res.output
    labels = [json.loads(v) for v in read_labels(dst.read_bytes())]
    assert len(labels) == 1
    assert labels[0]["ProduceID"] == "cli-1"


# --- existing and in-the-wild labels ------------------------------------------------------


@pytest.mark.parametrize("ctype", [b"tEXt", b"zTXt", b"iTXt"])
def test_in_the_wild_aigc_chunk_read_nonstandard_and_moved(ctype: bytes) -> None:
    value = make_label("wild-1").to_json().encode()
    body = {
        b"tEXt": b"AIGC\0" + value,
        b"zTXt": b"AIGC\0\0" + zlib.compress(value),
        b"iTXt": b"AIGC\0\0\0\0\0" + value,
    }[ctype]
    data = with_text(png_bytes(), chunk(ctype, body))
    found = HANDLER.read(io.BytesIO(data), LIMITS).labels
    assert [(f.raw, f.standard) for f in found] == [(value.decode(), False)]
    assert f"{ctype.decode()} keyword AIGC" in found[0].placement
    out = label_bytes(data)
    found = HANDLER.read(io.BytesIO(out), LIMITS).labels
    assert [(f.raw, f.standard) for f in found] == [(make_label().to_json(), True)]


def test_compressed_and_late_xmp_are_nonstandard_and_normalised() -> None:
    packet = xmp_packet()
    base = png_bytes()
    for data in (
        with_text(base, itxt(XMP_KW, packet, compressed=True)),
        with_text(base, itxt(XMP_KW, packet), after_idat=True),
        with_text(base, chunk(b"zTXt", XMP_KW + b"\0\0" + zlib.compress(packet))),
    ):
        found = HANDLER.read(io.BytesIO(data), LIMITS).labels
        assert [f.standard for f in found] == [False]
        out = label_bytes(data)
        found = HANDLER.read(io.BytesIO(out), LIMITS).labels
        assert [(f.raw, f.standard) for f in found] == [(make_label().to_json(), True)]
        assert [t for t, _ in chunks(out)][:2] == [b"IHDR", b"iTXt"]
        assert frames(out) == frames(base)


def test_existing_xmp_updated_in_place_and_duplicates_dropped() -> None:
    base = png_bytes()
    first = itxt(XMP_KW, xmp_packet(make_label("a").to_json()))
    other = itxt(XMP_KW, xmp_packet(make_label("b").to_json()))
    data = base[:33] + chunk(b"tIME", b"\x07\xe9\x01\x01\0\0\0") + first + other + base[33:]
    assert len(read_labels(data)) == 2
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    assert [t for t, _ in chunks(out)][:3] == [b"IHDR", b"tIME", b"iTXt"]


def test_bad_crc_on_xmp_is_warned_and_fixed() -> None:
    good = itxt(XMP_KW, xmp_packet())
    bad = good[:-4] + bytes(4)
    data = with_text(png_bytes(), bad)
    result = HANDLER.read(io.BytesIO(data), LIMITS)
    assert len(result.labels) == 1
    assert [p.code for p in result.problems] == ["bad_crc"]
    out = label_bytes(data)
    assert HANDLER.read(io.BytesIO(out), LIMITS).problems == []


def test_fixture_labeled_by_exiftool_is_read() -> None:
    data = (FIXTURES / "png" / "labeled-exiftool.png").read_bytes()
    [found] = HANDLER.read(io.BytesIO(data), LIMITS).labels
    assert json.loads(found.raw)["ProduceID"] == "exiftool-1"
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    assert b"Fixture" in out  # dc:title kept


# --- exiftool interop ---------------------------------------------------------------------


@requires_exiftool
def test_exiftool_reads_ours_without_new_warnings(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(png_bytes())
    exiftool("-q", "-overwrite_original", "-XMP-dc:Title=Kept", "-XMP-xmp:CreatorTool=Gen", src)
    dst = tmp_path / "out.png"
    dst.write_bytes(label_bytes(src.read_bytes()))
    assert exiftool_aigc(dst) == make_label().to_json()
    assert exiftool_warnings(dst) == exiftool_warnings(src)
    tags = exiftool_json(dst, "-XMP:Title", "-XMP:CreatorTool")
    assert (tags["Title"], tags["CreatorTool"]) == ("Kept", "Gen")
    assert frames(dst.read_bytes()) == frames(src.read_bytes())


@requires_exiftool
def test_exiftool_written_label_is_read_and_replaced(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(png_bytes())
    theirs = make_label("by-exiftool").to_json()
    exiftool("-q", "-overwrite_original", f"-XMP-TC260:AIGC={theirs}", src)
    assert read_labels(src.read_bytes()) == [theirs]
    dst = tmp_path / "out.png"
    api.label_file(src, dst, api.LabelRequest(producer=PRODUCER, produce_id="ours-1"))
    assert json.loads(exiftool_aigc(dst) or "{}")["ProduceID"] == "ours-1"
    assert len(read_labels(dst.read_bytes())) == 1


# --- hostile input ------------------------------------------------------------------------


def test_truncation_at_every_offset() -> None:
    truncations_raise(HANDLER, label_bytes(png_bytes()))


@pytest.mark.parametrize("length", [0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 20])
def test_lying_chunk_lengths(length: int) -> None:
    data = png_bytes()
    bad = data[:33] + struct.pack(">I", length) + b"tEXt" + data[41:]
    with pytest.raises(CorruptFileError):
        HANDLER.read(io.BytesIO(bad), LIMITS)


def test_structural_garbage_is_rejected() -> None:
    data = png_bytes()
    for bad in (
        SIG,  # no chunks
        SIG + chunk(b"IDAT", b"x") + chunk(b"IEND", b""),  # IHDR not first
        data[:33] + b"\0\0\0\0\x01\x02\x03\x04" + data[33:],  # invalid type
        data[: data.rindex(b"IEND") - 4],  # no IEND
        b"\x89PNG\r\n\x1a\x0b" + data[8:],  # bad signature
    ):
        with pytest.raises(CorruptFileError):
            HANDLER.read(io.BytesIO(bad), LIMITS)


def test_decompression_bomb_is_bounded() -> None:
    bomb = zlib.compress(b"A" * (4 * 1024 * 1024), 9)
    for ctype, body in (
        (b"zTXt", b"AIGC\0\0" + bomb),
        (b"iTXt", XMP_KW + b"\0\x01\0\0\0" + bomb),
    ):
        data = with_text(png_bytes(), chunk(ctype, body))
        with pytest.raises(LimitExceededError):
            HANDLER.read(io.BytesIO(data), LIMITS)


def test_metadata_and_item_limits() -> None:
    data = with_text(png_bytes(), itxt(XMP_KW, xmp_packet()))
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(data), Limits(max_metadata_bytes=100))
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(data), Limits(max_items=2))


def test_corrupt_foreign_text_chunks_are_tolerated() -> None:
    base = label_bytes(png_bytes())
    data = with_text(base, chunk(b"zTXt", b"AIGC\0\0not-zlib"))
    result = HANDLER.read(io.BytesIO(data), LIMITS)
    assert len(result.labels) == 1
    assert [p.code for p in result.problems] == ["text_chunk_unreadable"]
    assert read_labels(label_bytes(data)) == [make_label().to_json()]


def test_random_bytes_after_signature() -> None:
    rng = random.Random(1)
    with within(5):
        for _ in range(300):
            read_cleanly(HANDLER, SIG + rng.randbytes(rng.randrange(0, 400)), LIMITS)


_FUZZ_BASE = label_bytes(with_text(png_bytes(), chunk(b"tEXt", b"AIGC\0{}")))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(byte_edits(len(_FUZZ_BASE) - 1))
def test_fuzz_mutations(edits: list[tuple[int, int]]) -> None:
    read_and_write_cleanly(HANDLER, apply_edits(_FUZZ_BASE, edits), LIMITS)
