"""FLAC handler, on files made by ffmpeg, mutagen and by hand."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutagen.flac import FLAC as _FLAC
from mutagen.id3 import ID3 as _ID3

from aigc_label import api
from aigc_label.errors import CorruptFileError, LimitExceededError
from aigc_label.formats import _id3, _vorbiscomment, detect
from aigc_label.formats.flac import BLOCK_HEADER, FlacHandler, _scan
from aigc_label.limits import DEFAULT_LIMITS, Limits
from tests.conftest import (
    FIXTURES,
    exiftool_warnings,
    label_bytes,
    make_label,
    read_labels,
    requires_exiftool,
    requires_ffmpeg,
)
from tests.harness import inspect_and_label_cleanly, poke, truncations_fail_cleanly, within
from tests.media import audio_md5, decode_errors, exiftool_json, ffprobe_tags

HANDLER = FlacHandler()
LABEL = make_label()
DIR = FIXTURES / "flac"
TONE = DIR / "tone.flac"
PICTURE = DIR / "labeled-ffmpeg-picture.flac"
ALL = [TONE, PICTURE]


def FLAC(path: Path) -> Any:
    return _FLAC(path)  # type: ignore[no-untyped-call]


def ID3(path: Path) -> Any:
    return _ID3(path)  # type: ignore[no-untyped-call]


def blocks_of(data: bytes) -> list[tuple[int, bytes]]:
    layout = _scan(io.BytesIO(data), DEFAULT_LIMITS)
    out = []
    for b in layout.blocks:
        out.append((b.type, data[b.data_offset : b.data_offset + b.length]))
    return out


def frames_of(data: bytes) -> bytes:
    return data[_scan(io.BytesIO(data), DEFAULT_LIMITS).audio :]


def build(blocks: list[tuple[int, bytes]], frames: bytes, prefix: bytes = b"") -> bytes:
    out = [prefix, b"fLaC"]
    for n, (btype, body) in enumerate(blocks):
        flags = btype | (0x80 if n == len(blocks) - 1 else 0)
        out.append(BLOCK_HEADER.pack(flags, len(body).to_bytes(3, "big")) + body)
    return b"".join([*out, frames])


def comment(*entries: str, vendor: bytes = b"test") -> bytes:
    vc = _vorbiscomment.VorbisComment(vendor, tuple(e.encode() for e in entries))
    return vc.to_bytes()


# ---------------------------------------------------------------- round trips on real files


@requires_ffmpeg
@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_round_trip_audio_identical_and_readers_agree(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.flac"
    out.write_bytes(label_bytes(path.read_bytes()))
    assert read_labels(out.read_bytes()) == [LABEL.to_json()]
    assert audio_md5(out) == audio_md5(path)
    assert decode_errors(out) == ""
    assert ffprobe_tags(out).get("AIGC") == LABEL.to_json()
    assert FLAC(out)["AIGC"] == [LABEL.to_json()]
    # padding absorbed the change: frames at the same offset, same file size
    assert len(out.read_bytes()) == len(path.read_bytes())
    assert frames_of(out.read_bytes()) == frames_of(path.read_bytes())


def test_other_blocks_and_comments_kept(tmp_path: Path) -> None:
    out = tmp_path / "out.flac"
    out.write_bytes(label_bytes(PICTURE.read_bytes()))
    before, after = FLAC(PICTURE), FLAC(out)
    assert after.pictures[0].data == before.pictures[0].data
    assert after.tags is not None
    assert before.tags is not None
    assert after.tags.vendor == before.tags.vendor
    assert {k: v for k, v in after.tags if k.upper() != "AIGC"} == {
        k: v for k, v in before.tags if k.upper() != "AIGC"
    }
    kinds = [t for t, _ in blocks_of(out.read_bytes())]
    assert kinds == [t for t, _ in blocks_of(PICTURE.read_bytes())]


def test_ffmpeg_label_is_read() -> None:
    found = HANDLER.read(io.BytesIO(PICTURE.read_bytes()), DEFAULT_LIMITS).labels
    assert [(json.loads(f.raw)["ProduceID"], f.standard) for f in found] == [("ffmpeg-1", True)]


@requires_exiftool
@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_exiftool_reads_label_and_sees_no_new_warning(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.flac"
    out.write_bytes(label_bytes(path.read_bytes()))
    data = exiftool_json(out, "-Vorbis:all")
    assert data["Aigc"] == LABEL.to_json()
    assert exiftool_warnings(out) == exiftool_warnings(path)


def test_wrong_extension_is_sniffed(tmp_path: Path) -> None:
    src = tmp_path / "x.mp3"
    src.write_bytes(TONE.read_bytes())
    out = tmp_path / "y.mp3"
    req = api.LabelRequest(producer=LABEL.ContentProducer, produce_id=LABEL.ProduceID)
    assert api.label_file(src, out, req).format == "flac"
    assert api.inspect_file(out).verdict == "compliant"


# ---------------------------------------------------------------- block layouts


def test_no_comment_block_no_padding_grows_and_streams(tmp_path: Path) -> None:
    data = TONE.read_bytes()
    kept = [(t, b) for t, b in blocks_of(data) if t not in (1, 4)]
    bare = build(kept, frames_of(data))
    out = tmp_path / "out.flac"
    out.write_bytes(label_bytes(bare))
    kinds = [t for t, _ in blocks_of(out.read_bytes())]
    assert kinds == [0, 4, 1]
    assert frames_of(out.read_bytes()) == frames_of(data)
    assert FLAC(out)["AIGC"] == [LABEL.to_json()]
    assert read_labels(out.read_bytes()) == [LABEL.to_json()]


def test_case_variants_and_second_comment_block_leave_one_label() -> None:
    data = TONE.read_bytes()
    blocks = [
        blocks_of(data)[0],
        (4, comment("TITLE=x", "aigc=" + make_label("a").to_json(), "Aigc=z")),
        (3, b""),
        (4, comment("AIGC=" + make_label("b").to_json(), "ARTIST=y")),
    ]
    src = build(blocks, frames_of(data))
    assert len(read_labels(src)) == 3
    out = label_bytes(src)
    assert read_labels(out) == [LABEL.to_json()]
    comments = [
        _vorbiscomment.parse(b, "flac", 0, DEFAULT_LIMITS) for t, b in blocks_of(out) if t == 4
    ]
    assert comments[0].entries == (b"TITLE=x", b"AIGC=" + LABEL.to_json().encode())
    assert comments[1].entries == (b"ARTIST=y",)
    assert frames_of(out) == frames_of(data)


def test_exact_fit_without_padding_block() -> None:
    data = TONE.read_bytes()
    vc = comment("TITLE=x")
    ours = comment("TITLE=x", "AIGC=" + LABEL.to_json())
    pad = len(ours) - len(vc) - BLOCK_HEADER.size
    src = build([blocks_of(data)[0], (4, vc), (1, bytes(pad))], frames_of(data))
    out = label_bytes(src)
    assert len(out) == len(src)
    assert [t for t, _ in blocks_of(out)] == [0, 4]


def test_id3_prefixed_flac(tmp_path: Path) -> None:
    tag = _id3.make_frame(4, "TIT2", b"\x03ID3 title")
    tag += _id3.txxx_frame(4, "AIGC", make_label("id3").to_json())
    prefix = b"ID3\x04\x00\x00" + _id3.to_syncsafe(len(tag) + 20) + tag + bytes(20)
    data = prefix + TONE.read_bytes()
    assert detect(data[:64]) is not None
    found = HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels
    assert [f.standard for f in found] == [False]
    for hint in (".flac", None):
        out = tmp_path / "out.flac"
        out.write_bytes(label_bytes(data, hint=hint))
        assert read_labels(out.read_bytes()) == [LABEL.to_json()]
        assert str(ID3(out)["TIT2"]) == "ID3 title"
        assert "TXXX:AIGC" not in ID3(out)
        assert FLAC(out)["AIGC"] == [LABEL.to_json()]
        assert frames_of(out.read_bytes()) == frames_of(TONE.read_bytes())
    report = api.inspect_file(tmp_path / "out.flac")
    assert report.verdict == "compliant"


def test_mp3_named_flac_is_still_mp3(tmp_path: Path) -> None:
    mp3 = FIXTURES / "mp3" / "apic-v23.mp3"
    src = tmp_path / "song.flac"
    src.write_bytes(mp3.read_bytes())
    out = tmp_path / "out.flac"
    req = api.LabelRequest(producer=LABEL.ContentProducer, produce_id=LABEL.ProduceID)
    api.label_file(src, out, req)
    assert ID3(out)["TXXX:AIGC"].text == [LABEL.to_json()]
    assert api.inspect_file(out).verdict == "compliant"


# ---------------------------------------------------------------- hostile input


def test_every_truncation_fails_cleanly() -> None:
    data = label_bytes(PICTURE.read_bytes())[:1200]
    with within(10):
        truncations_fail_cleanly(HANDLER, data)


def test_lying_and_invalid_blocks() -> None:
    data = TONE.read_bytes()
    info, frames = blocks_of(data)[0], frames_of(data)
    huge = b"fLaC" + BLOCK_HEADER.pack(0x80 | 4, b"\xff\xff\xff") + b"\x00" * 10
    cases = [
        huge,
        build([info, (127, b"")], frames),
        build([(4, comment())], frames),
        build([info, info], frames),
        build([info, (4, b"\x04\x00\x00\x00ab")], frames),
        build([info, (4, struct.pack("<I", 0) + struct.pack("<I", 0x7FFFFFFF))], frames),
        build([info, (4, comment("A=b")[:-2])], frames),
        b"fLaC",
    ]
    for case in cases:
        with pytest.raises((CorruptFileError, LimitExceededError)):
            HANDLER.read(io.BytesIO(case), DEFAULT_LIMITS)


def test_limits_apply() -> None:
    data = TONE.read_bytes()
    many = build([blocks_of(data)[0]] + [(3, b"")] * 50, frames_of(data))
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(many), Limits(max_items=10))
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(label_bytes(data)), Limits(max_metadata_bytes=64))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutations_fail_cleanly_or_relabel(data: st.DataObject) -> None:
    raw = bytearray(label_bytes(PICTURE.read_bytes()))
    inspect_and_label_cleanly(poke(data, raw, 600), ".flac")
