"""GIF handler: XMP application extension with the magic trailer, other blocks verbatim."""

from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image

from aigc_label import api
from aigc_label.errors import CorruptFileError, LimitExceededError
from aigc_label.formats import detect
from aigc_label.formats.gif import MAGIC_TRAILER, GifHandler
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
    OPTS,
    apply_edits,
    byte_edits,
    invoke_label,
    read_and_write_cleanly,
    read_cleanly,
    truncations_raise,
    within,
)
from tests.media import exiftool_json, frames_and_info

LIMITS = DEFAULT_LIMITS
HANDLER = GifHandler()
XMP_HEAD = b"\x21\xff\x0bXMP DataXMP"


def gif_bytes(n: int = 3, **save: Any) -> bytes:
    ims = []
    for i in range(n):
        im = Image.new("P", (20, 12), i)
        im.putpalette([(j * (i + 3)) % 256 for j in range(768)])
        im.paste(i + 7, (i * 3, 2, i * 3 + 5, 8))
        ims.append(im)
    buf = io.BytesIO()
    opts: dict[str, Any] = {"duration": [40 + 10 * i for i in range(n)], "loop": 2}
    opts.update(save)
    ims[0].save(buf, "GIF", save_all=True, append_images=ims[1:], **opts)
    return buf.getvalue()


def screen_end(data: bytes) -> int:
    """End of the logical screen descriptor and global colour table."""
    packed = data[10]
    return 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)


def blocks(data: bytes) -> list[bytes]:
    """Top-level blocks after the screen descriptor/GCT, as raw bytes (trailer last)."""
    pos = screen_end(data)
    out = []
    while data[pos] != 0x3B:
        start = pos
        if data[pos] == 0x21:
            pos += 2
        else:
            flags = data[pos + 9]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
        out.append(data[start:pos])
    out.append(data[pos:])
    return out


def xmp_ext(label_json: str, trailer: bytes = MAGIC_TRAILER) -> bytes:
    return XMP_HEAD + update_xmp(None, label_json, digital_source_type=None) + trailer


def insert_before_first_image(data: bytes, ext: bytes) -> bytes:
    at = data.index(b"\x21\xf9")
    return data[:at] + ext + data[at:]


def frames(data: bytes) -> tuple[list[tuple[bytes, Any]], Any]:
    out, info = frames_and_info(data)
    return out, info.get("loop")


# --- round trip and placement -------------------------------------------------------------


def test_sniff_by_bytes_not_extension() -> None:
    data = gif_bytes()
    handler = detect(data[:64], "png")
    assert handler is not None
    assert handler.name == "gif"
    assert HANDLER.sniff(b"GIF87a")
    assert not HANDLER.sniff(b"GIF88a")
    assert read_labels(label_bytes(data, hint="png")) == [make_label().to_json()]


def test_round_trip_placement_and_frames() -> None:
    data = gif_bytes(comment=b"a comment")
    out = label_bytes(data)
    report = api.inspect_stream(io.BytesIO(out), "x.gif")
    assert report.verdict == "compliant", report.problems
    assert report.label == make_label()
    before, after = blocks(data), blocks(out)
    xmp = [b for b in after if b.startswith(XMP_HEAD)]
    assert len(xmp) == 1
    assert xmp[0].endswith(MAGIC_TRAILER)
    # every other block is byte-identical and in order; XMP sits before the first GCE
    assert [b for b in after if not b.startswith(XMP_HEAD)] == before
    first_graphic = next(i for i, b in enumerate(after) if b[:2] in (b"\x21\xf9", b"\x2c"))
    assert after[first_graphic - 1] is xmp[0]
    assert out[:13] == data[:13]
    assert frames(out) == frames(data)
    assert frames(out)[1] == 2


def test_write_twice_one_label_and_idempotent() -> None:
    once = label_bytes(gif_bytes())
    twice = label_bytes(once, make_label("second"))
    assert read_labels(twice) == [make_label("second").to_json()]
    assert sum(b.startswith(XMP_HEAD) for b in blocks(twice)) == 1
    assert label_bytes(once) == once


def test_input_stream_not_modified() -> None:
    data = label_bytes(gif_bytes())
    src = io.BytesIO(data)
    HANDLER.read(src, LIMITS)
    assert src.getvalue() == data


def test_single_frame_and_no_image_gif() -> None:
    one = gif_bytes(1)
    assert frames(label_bytes(one)) == frames(one)
    bare = one[: screen_end(one)] + b"\x3b"  # screen + GCT + trailer, no image at all
    out = label_bytes(bare)
    assert read_labels(out) == [make_label().to_json()]
    assert out.endswith(MAGIC_TRAILER + b"\x3b")


def test_gif87a_header_becomes_gif89a() -> None:
    buf = io.BytesIO()
    Image.new("P", (9, 5), 1).save(buf, "GIF")  # Pillow writes 87a when no extension is needed
    old = buf.getvalue()
    assert old.startswith(b"GIF87a")
    out = label_bytes(old)
    assert out.startswith(b"GIF89a")
    assert out[6:13] == old[6:13]
    assert frames(out)[0] == frames(old)[0]
    assert read_labels(out) == [make_label().to_json()]


def test_trailing_bytes_after_trailer_kept() -> None:
    data = gif_bytes() + b"junk after trailer"
    out = label_bytes(data)
    assert out.endswith(b"\x3bjunk after trailer")


def test_cli_label_command(tmp_path: Path) -> None:
    src = tmp_path / "in.gif"
    src.write_bytes(gif_bytes())
    dst = tmp_path / "out.gif"
    res = invoke_label(src, dst, "--produce-id", "cli-1")
    assert res.exit_code == 0, res.output
    [raw] = read_labels(dst.read_bytes())
    assert json.loads(raw)["ProduceID"] == "cli-1"


# --- existing labels ----------------------------------------------------------------------


def test_existing_xmp_updated_and_duplicates_dropped() -> None:
    base = gif_bytes()
    data = insert_before_first_image(
        base, xmp_ext(make_label("a").to_json()) + xmp_ext(make_label("b").to_json())
    )
    assert len(read_labels(data)) == 2
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    assert frames(out) == frames(base)


def test_xmp_extension_without_magic_trailer() -> None:
    # sub-blocked instead of raw + trailer: walkable, but not a packet we can use
    data = insert_before_first_image(gif_bytes(), XMP_HEAD + b"\x05hello\x00")
    result = HANDLER.read(io.BytesIO(data), LIMITS)
    assert result.labels == []
    assert {p.code for p in result.problems} == {"xmp_trailer", "xmp_unreadable"}
    with pytest.raises(CorruptFileError):
        HANDLER.write(io.BytesIO(data), io.BytesIO(), OPTS, LIMITS)
    # raw packet with no trailer at all: the packet bytes read as lengths run off the end
    raw = insert_before_first_image(gif_bytes(), xmp_ext(make_label().to_json(), b"\x00"))
    with pytest.raises(CorruptFileError):
        HANDLER.read(io.BytesIO(raw), LIMITS)


def test_fixture_labeled_by_exiftool_is_read() -> None:
    data = (FIXTURES / "gif" / "labeled-exiftool.gif").read_bytes()
    [found] = HANDLER.read(io.BytesIO(data), LIMITS).labels
    assert json.loads(found.raw)["ProduceID"] == "exiftool-1"
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    assert b"Fixture" in out


# --- exiftool interop ---------------------------------------------------------------------


@requires_exiftool
def test_exiftool_reads_ours_without_new_warnings(tmp_path: Path) -> None:
    src = tmp_path / "in.gif"
    src.write_bytes(gif_bytes(comment=b"hello"))
    exiftool("-q", "-overwrite_original", "-XMP-dc:Title=Kept", "-XMP-xmp:CreatorTool=Gen", src)
    dst = tmp_path / "out.gif"
    dst.write_bytes(label_bytes(src.read_bytes()))
    assert exiftool_aigc(dst) == make_label().to_json()
    assert exiftool_warnings(dst) == exiftool_warnings(src)
    tags = exiftool_json(dst, "-XMP:Title", "-XMP:CreatorTool", "-Comment")
    assert (tags["Title"], tags["CreatorTool"], tags["Comment"]) == ("Kept", "Gen", "hello")
    assert frames(dst.read_bytes()) == frames(src.read_bytes())


@requires_exiftool
def test_exiftool_reads_fresh_label(tmp_path: Path) -> None:
    src = tmp_path / "in.gif"
    src.write_bytes(gif_bytes())
    dst = tmp_path / "out.gif"
    dst.write_bytes(label_bytes(src.read_bytes()))
    assert exiftool_aigc(dst) == make_label().to_json()
    assert exiftool_warnings(dst) == exiftool_warnings(src)


@requires_exiftool
def test_exiftool_written_label_is_read_and_replaced(tmp_path: Path) -> None:
    src = tmp_path / "in.gif"
    src.write_bytes(gif_bytes())
    theirs = make_label("by-exiftool").to_json()
    exiftool("-q", "-overwrite_original", f"-XMP-TC260:AIGC={theirs}", src)
    assert read_labels(src.read_bytes()) == [theirs]
    dst = tmp_path / "out.gif"
    api.label_file(src, dst, api.LabelRequest(producer=PRODUCER, produce_id="ours-1"))
    assert json.loads(exiftool_aigc(dst) or "{}")["ProduceID"] == "ours-1"
    assert len(read_labels(dst.read_bytes())) == 1
    assert frames(dst.read_bytes()) == frames(src.read_bytes())


# --- hostile input ------------------------------------------------------------------------


def test_truncation_at_every_offset() -> None:
    truncations_raise(HANDLER, label_bytes(gif_bytes(2)))


def test_structural_garbage_is_rejected() -> None:
    data = gif_bytes(1)
    gct_end = screen_end(data)
    for bad in (
        b"GIF89a",
        data[:gct_end] + b"\x99" + data[gct_end:],  # unknown introducer
        data[:gct_end] + b"\x21\xfe\xff" + b"x" * 10,  # sub-block past EOF
        b"GIF89a\x10\x00\x10\x00\x87\x00\x00" + b"\0" * 10,  # GCT past EOF
        data[:-1],  # missing trailer
    ):
        with pytest.raises(CorruptFileError):
            HANDLER.read(io.BytesIO(bad), LIMITS)


def test_limits_apply() -> None:
    data = label_bytes(gif_bytes())
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(data), Limits(max_items=2))
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(data), Limits(max_xmp_bytes=100))


def test_many_sub_blocks_are_fast() -> None:
    # 40 000 one-byte comment sub-blocks: skipped by length bytes, in blocks
    comment = b"\x21\xfe" + b"\x01x" * 40_000 + b"\x00"
    data = insert_before_first_image(gif_bytes(), comment)
    start = time.monotonic()
    out = label_bytes(data)
    assert time.monotonic() - start < 2
    assert comment in out


def test_random_bytes_after_header() -> None:
    rng = random.Random(2)
    with within(5):
        head = gif_bytes(1)[: screen_end(gif_bytes(1))]
        for _ in range(300):
            read_cleanly(HANDLER, head + rng.randbytes(rng.randrange(0, 400)), LIMITS)


_FUZZ_BASE = label_bytes(gif_bytes(2, comment=b"c"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(byte_edits(len(_FUZZ_BASE) - 1))
def test_fuzz_mutations(edits: list[tuple[int, int]]) -> None:
    read_and_write_cleanly(HANDLER, apply_edits(_FUZZ_BASE, edits), LIMITS)
