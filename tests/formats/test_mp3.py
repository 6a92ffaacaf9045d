"""MP3 handler and the shared ID3v2 code, on files made by ffmpeg, mutagen and by hand."""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutagen import id3 as mid3

from aigc_label import api
from aigc_label.errors import CorruptFileError, LimitExceededError, UnsupportedFormatError
from aigc_label.formats import _id3, detect
from aigc_label.formats.mp3 import Mp3Handler, mpeg_frame_length, sniff_mpeg
from aigc_label.limits import DEFAULT_LIMITS, Limits
from aigc_label.xmp import read_xmp
from tests.conftest import (
    FIXTURES,
    PRODUCER,
    exiftool_warnings,
    label_bytes,
    make_label,
    read_labels,
    requires_exiftool,
    requires_ffmpeg,
)
from tests.harness import (
    inspect_and_label_cleanly,
    poke,
    run_aigc_label,
    truncations_fail_cleanly,
    within,
)
from tests.media import audio_md5, decode_errors, exiftool_json, ffprobe_tags

HANDLER = Mp3Handler()
LABEL = make_label()
DIR = FIXTURES / "mp3"
APIC = DIR / "apic-v23.mp3"
NO_ID3 = DIR / "no-id3.mp3"
FFMPEG_LABELED = DIR / "labeled-ffmpeg.mp3"
ALL = [APIC, NO_ID3, FFMPEG_LABELED]
XMP_TITLE = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/">'
    b"<dc:format>audio/mpeg</dc:format><TC260:AIGC>{&quot;Label&quot;:&quot;1&quot;}</TC260:AIGC>"
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def ID3(path: Path | None = None) -> Any:
    return mid3.ID3(path)  # type: ignore[no-untyped-call]


def frame(kind: str, **fields: object) -> Any:
    """A mutagen ID3 frame of class ``kind``."""
    return getattr(mid3, kind)(**fields)


def tag_end(data: bytes) -> int:
    tags = _id3.scan_tags(io.BytesIO(data), 0, "mp3", DEFAULT_LIMITS)
    return tags[-1].end if tags else 0


def with_mutagen(tmp_path: Path, *frames: object, version: int = 4) -> bytes:
    """The no-ID3 fixture plus a tag mutagen writes with ``frames``."""
    path = tmp_path / "m.mp3"
    path.write_bytes(NO_ID3.read_bytes())
    tags = mid3.ID3()  # type: ignore[no-untyped-call]
    for item in frames:
        tags.add(item)  # type: ignore[no-untyped-call]
    tags.save(path, v2_version=version)
    return path.read_bytes()


def syncsafe_header(major: int, flags: int, size: int) -> bytes:
    return b"ID3" + bytes([major, 0, flags]) + _id3.to_syncsafe(size)


def txxx_body(value: str, desc: str = "AIGC") -> bytes:
    return b"\x00" + desc.encode() + b"\x00" + value.encode()


# ---------------------------------------------------------------- round trips on real files


@requires_ffmpeg
@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_round_trip_audio_identical_and_readers_agree(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp3"
    out.write_bytes(label_bytes(path.read_bytes(), hint=".mp3"))
    assert read_labels(out.read_bytes()) == [LABEL.to_json()]
    assert audio_md5(out) == audio_md5(path)
    assert decode_errors(out) == ""
    assert ffprobe_tags(out).get("AIGC") == LABEL.to_json()
    assert [str(t) for t in ID3(out).getall("TXXX:AIGC")] == [LABEL.to_json()]
    # the audio bytes after the tag are untouched
    data, new = path.read_bytes(), out.read_bytes()
    assert new[tag_end(new) :] == data[tag_end(data) :]


def test_other_frames_kept_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "out.mp3"
    out.write_bytes(label_bytes(APIC.read_bytes()))
    before, after = ID3(APIC), ID3(out)
    assert after.version == (2, 3, 0)
    assert after.getall("APIC")[0].data == before.getall("APIC")[0].data
    assert str(after["TIT2"]) == "Tone"
    assert str(after["TPE1"]) == "Tester"
    keys = sorted(k for k in after if k != "TXXX:AIGC")
    assert keys == sorted(before.keys())


def test_relabel_reuses_padding_and_keeps_one(tmp_path: Path) -> None:
    once = label_bytes(FFMPEG_LABELED.read_bytes())
    twice = label_bytes(once, make_label("0190f0c8-7d3a-7b1e-8f00-000000000002", "2"))
    assert len(twice) == len(once)
    assert tag_end(twice) == tag_end(once)
    assert read_labels(twice) == [make_label("0190f0c8-7d3a-7b1e-8f00-000000000002", "2").to_json()]


def test_ffmpeg_label_is_read_as_standard() -> None:
    result = HANDLER.read(io.BytesIO(FFMPEG_LABELED.read_bytes()), DEFAULT_LIMITS)
    assert [f.standard for f in result.labels] == [True]
    assert json.loads(result.labels[0].raw)["ProduceID"] == "ffmpeg-1"
    assert result.labels[0].placement == "ID3v2 TXXX:AIGC"


def test_new_tag_is_v23_latin1_and_version_is_kept() -> None:
    fresh = label_bytes(NO_ID3.read_bytes())
    assert fresh[:5] == b"ID3\x03\x00"
    assert b"TXXX" in fresh[:64]
    assert b"\x00AIGC\x00{" in fresh[:64]
    v24 = label_bytes(FFMPEG_LABELED.read_bytes())
    assert v24[:4] == b"ID3\x04"


@requires_exiftool
@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_exiftool_reads_label_and_sees_no_new_warning(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp3"
    out.write_bytes(label_bytes(path.read_bytes()))
    data = exiftool_json(out, "-ID3:UserDefinedText")
    assert data["UserDefinedText"] == f"(AIGC) {LABEL.to_json()}"
    assert exiftool_warnings(out) == exiftool_warnings(path)


def test_wrong_extension_and_cli(tmp_path: Path) -> None:
    src = tmp_path / "song.png"
    src.write_bytes(NO_ID3.read_bytes())
    assert api.inspect_file(src).format == "mp3"
    out = tmp_path / "out.png"
    proc = run_aigc_label("label", src, "-o", out, "--producer", PRODUCER)
    assert proc.returncode == 0, proc.stderr
    report = api.inspect_file(out)
    assert report.verdict == "compliant"
    assert report.label is not None
    assert report.label.ContentProducer == PRODUCER


# ---------------------------------------------------------------- in-the-wild copies


def test_nonstandard_copies_reported_and_dropped(tmp_path: Path) -> None:
    wrapped = json.dumps({"AIGC": json.loads(make_label("old").to_json())}, separators=(",", ":"))
    data = with_mutagen(
        tmp_path,
        frame("TIT2", encoding=3, text="Keep me"),
        frame("TXXX", encoding=1, desc="AIGC", text=wrapped),
        frame("TXXX", encoding=3, desc="aigc", text=make_label("lower").to_json()),
        frame("COMM", encoding=3, lang="eng", desc="", text=make_label("comm").to_json()),
        frame("COMM", encoding=3, lang="eng", desc="note", text="just a comment"),
        frame("PRIV", owner="XMP", data=XMP_TITLE),
    )
    found = HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels
    by_place = {f.placement: f for f in found}
    assert sorted(by_place) == [
        "ID3v2 TXXX:AIGC",
        "ID3v2.4 COMM",
        "ID3v2.4 PRIV XMP TC260:AIGC",
        "ID3v2.4 TXXX",
    ]
    assert [f.placement for f in found if f.standard] == ["ID3v2 TXXX:AIGC"]
    assert by_place["ID3v2 TXXX:AIGC"].raw == wrapped
    out = tmp_path / "out.mp3"
    out.write_bytes(label_bytes(data))
    assert read_labels(out.read_bytes()) == [LABEL.to_json()]
    tags = ID3(out)
    assert str(tags["TIT2"]) == "Keep me"
    assert [c.text[0] for c in tags.getall("COMM")] == ["just a comment"]
    packet = tags.getall("PRIV")[0].data
    assert b"<dc:format>audio/mpeg</dc:format>" in packet
    assert read_xmp(packet).aigc == []


def test_v22_tag_read_but_not_rewritten() -> None:
    frame = b"TXX" + len(txxx_body(LABEL.to_json())).to_bytes(3, "big")
    frame += txxx_body(LABEL.to_json())
    data = syncsafe_header(2, 0, len(frame) + 10) + frame + bytes(10) + NO_ID3.read_bytes()
    assert read_labels(data) == [LABEL.to_json()]
    with pytest.raises(UnsupportedFormatError):
        label_bytes(data)


def test_v23_unsynchronised_tag(tmp_path: Path) -> None:
    art = bytes([0xFF, 0xE0, 0xFF, 0x00, 0x12, 0xFF])
    apic = b"\x00image/png\x00\x03\x00" + art
    frames = _id3.FRAME_V23.pack(b"APIC", len(apic), 0) + apic
    label = txxx_body(LABEL.to_json())
    frames += _id3.FRAME_V23.pack(b"TXXX", len(label), 0) + label
    stored = frames.replace(b"\xff", b"\xff\x00") + bytes(16)
    data = syncsafe_header(3, _id3.TAG_UNSYNC, len(stored)) + stored + NO_ID3.read_bytes()
    assert read_labels(data) == [LABEL.to_json()]
    out = tmp_path / "out.mp3"
    out.write_bytes(label_bytes(data, make_label("second")))
    assert read_labels(out.read_bytes()) == [make_label("second").to_json()]
    assert out.read_bytes()[5] & _id3.TAG_UNSYNC == 0
    assert ID3(out).getall("APIC")[0].data == art


def test_v24_frame_flags_extended_header_and_footer(tmp_path: Path) -> None:
    value = LABEL.to_json()
    body = b"\x00AIGC\x00\xff\x00" + value.encode()  # unsync-escaped, decoded "\xff" + value
    frame = _id3.FRAME_V24.pack(b"TXXX", _id3.to_syncsafe(len(body) + 4), 0x0003)
    frame += _id3.to_syncsafe(len(body) - 1) + body
    ext = _id3.to_syncsafe(6) + b"\x01\x00"
    tit2 = _id3.make_frame(4, "TIT2", b"\x03Title")
    content = ext + tit2 + frame
    header = syncsafe_header(4, _id3.TAG_EXTENDED | _id3.TAG_FOOTER, len(content))
    data = header + content + b"3DI" + header[3:] + NO_ID3.read_bytes()
    result = HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS)
    assert [f.raw for f in result.labels] == ["\xff" + value]
    out = tmp_path / "out.mp3"
    out.write_bytes(label_bytes(data))
    new = out.read_bytes()
    assert new[5] & _id3.TAG_EXTENDED == 0
    assert new[5] & _id3.TAG_FOOTER
    assert read_labels(new) == [value]
    assert str(ID3(out)["TIT2"]) == "Title"
    assert new[tag_end(new) :] == NO_ID3.read_bytes()


def test_v23_compressed_grouped_frame_and_second_tag() -> None:
    packed = zlib.compress(txxx_body(make_label("zipped").to_json()))
    body = len(txxx_body(make_label("zipped").to_json())).to_bytes(4, "big") + b"\x07" + packed
    frame = _id3.FRAME_V23.pack(b"TXXX", len(body), 0x00A0) + body
    ext = (6).to_bytes(4, "big") + bytes(6)
    first = syncsafe_header(3, _id3.TAG_EXTENDED, len(ext) + len(frame)) + ext + frame
    second_frame = _id3.txxx_frame(3, "AIGC", make_label("second").to_json())
    second = syncsafe_header(3, 0, len(second_frame)) + second_frame
    data = first + second + NO_ID3.read_bytes()
    labels = read_labels(data)
    assert labels == [make_label("zipped").to_json(), make_label("second").to_json()]
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    assert out[tag_end(out) :] == NO_ID3.read_bytes()


def test_encrypted_frame_is_skipped_and_kept() -> None:
    body = b"\x01secret"
    frame = _id3.FRAME_V23.pack(b"TXXX", len(body), 0x0040) + body
    data = syncsafe_header(3, 0, len(frame) + 4) + frame + bytes(4) + NO_ID3.read_bytes()
    assert read_labels(data) == []
    out = label_bytes(data)
    assert frame in out
    assert read_labels(out) == [LABEL.to_json()]


# ---------------------------------------------------------------- sniffing


def test_mpeg_header_validation() -> None:
    head = NO_ID3.read_bytes()[:64]
    assert mpeg_frame_length(head) is not None
    assert HANDLER.sniff(head)
    assert not sniff_mpeg(b"\xff\xfeA\x00B\x00C\x00")  # UTF-16LE BOM is Layer I bits
    assert not sniff_mpeg(b"\xff\xfb\xf0\x00")  # bitrate index 15
    assert not sniff_mpeg(b"\xff\xfb\x0c\x00")  # reserved sample rate
    assert not sniff_mpeg(b"\xff\xeb\x90\x00")  # reserved MPEG version
    assert not sniff_mpeg(b"\xff\xfb\x90\x02")  # reserved emphasis
    # a 48-byte MPEG-2.5 frame followed by junk inside the sniff window is refused
    frame = b"\xff\xe3\x10\x00"
    length = mpeg_frame_length(frame)
    assert length is not None
    assert length < 60
    assert not sniff_mpeg(frame + bytes(length - 4) + b"junk" + bytes(64))
    assert sniff_mpeg(frame + bytes(length - 4) + frame + bytes(64))
    assert not HANDLER.sniff(b"ID3\x05\x00\x00\x00\x00\x00\x00")
    assert getattr(detect(APIC.read_bytes()[:64]), "name", None) == "mp3"


# ---------------------------------------------------------------- hostile input


def labeled() -> bytes:
    return label_bytes(APIC.read_bytes())


def test_every_truncation_fails_cleanly() -> None:
    data = labeled()
    with within(10):
        truncations_fail_cleanly(HANDLER, data, step=3)


def test_lying_sizes() -> None:
    audio = NO_ID3.read_bytes()
    huge = b"ID3\x03\x00\x00\x7f\x7f\x7f\x7f" + audio
    with pytest.raises(CorruptFileError):
        read_labels(huge)
    frame = _id3.FRAME_V23.pack(b"TXXX", 0x7FFFFFF0, 0) + b"\x00AIGC\x00{}"
    overrun = syncsafe_header(3, 0, len(frame)) + frame + audio
    with pytest.raises(CorruptFileError):
        read_labels(overrun)
    ext = syncsafe_header(3, _id3.TAG_EXTENDED, 10) + b"\x7f\xff\xff\xff" + bytes(6) + audio
    with pytest.raises(CorruptFileError):
        read_labels(ext)


def test_limits_apply() -> None:
    data = labeled()
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(data), Limits(max_metadata_bytes=100))
    many = b"".join(_id3.make_frame(3, "TIT2", b"\x00x") for _ in range(50))
    tag = syncsafe_header(3, 0, len(many)) + many + NO_ID3.read_bytes()
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(tag), Limits(max_items=10))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutations_fail_cleanly_or_relabel(data: st.DataObject) -> None:
    raw = bytearray(labeled())
    inspect_and_label_cleanly(poke(data, raw, min(len(raw) - 1, 400)), ".mp3")
