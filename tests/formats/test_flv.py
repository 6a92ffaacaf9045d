"""FLV handler: onMetaData AMF0 "AIGC" on files made by ffmpeg and by hand."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigc_label import api
from aigc_label.errors import AigcLabelError, LimitExceededError
from aigc_label.formats import detect
from aigc_label.formats import flv as F
from aigc_label.formats.base import WriteOptions
from aigc_label.formats.flv import FlvHandler
from aigc_label.limits import DEFAULT_LIMITS, Limits
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
    OPTS,
    CountingStream,
    mutate,
    read_and_write_cleanly,
    run_aigc_label,
    within,
)
from tests.media import exiftool_json, ffmpeg, ffprobe_tags, framemd5

HANDLER = FlvHandler()
LABEL = make_label()
DIR = FIXTURES / "flv"
CLEAN = DIR / "clean.flv"
KEYFRAMES = DIR / "labeled-ffmpeg-keyframes.flv"
FILES = [CLEAN, KEYFRAMES]


# ---------------------------------------------------------------- helpers


def tags(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, type, data size) of every tag, checking each PreviousTagSize."""
    pos = struct.unpack(">I", data[5:9])[0] + 4
    out = []
    while pos < len(data):
        kind = data[pos] & 0x1F
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        prev = struct.unpack(">I", data[pos + 11 + size : pos + 15 + size])[0]
        assert prev == 11 + size, f"PreviousTagSize after tag at {pos}"
        out.append((pos, kind, size))
        pos += 15 + size
    assert pos == len(data)
    return out


def metadata(data: bytes) -> dict[str, object]:
    """Decode the first onMetaData with a tiny independent AMF0 reader."""

    def value(pos: int) -> tuple[object, int]:
        kind = data[pos]
        pos += 1
        if kind == 0:
            return struct.unpack(">d", data[pos : pos + 8])[0], pos + 8
        if kind == 1:
            return bool(data[pos]), pos + 1
        if kind == 2:
            n = struct.unpack(">H", data[pos : pos + 2])[0]
            return data[pos + 2 : pos + 2 + n].decode(), pos + 2 + n
        if kind in (3, 8):
            pos += 4 if kind == 8 else 0
            obj: dict[str, object] = {}
            while data[pos : pos + 3] != b"\x00\x00\x09":
                n = struct.unpack(">H", data[pos : pos + 2])[0]
                key = data[pos + 2 : pos + 2 + n].decode()
                obj[key], pos = value(pos + 2 + n)
            return obj, pos + 3
        if kind == 10:
            count = struct.unpack(">I", data[pos : pos + 4])[0]
            items = []
            pos += 4
            for _ in range(count):
                item, pos = value(pos)
                items.append(item)
            return items, pos
        raise AssertionError(kind)

    for offset, kind, _ in tags(data):
        if kind == 18 and data[offset + 11 : offset + 24] == F.ON_METADATA:
            meta, _ = value(offset + 24)
            assert isinstance(meta, dict)
            return meta
    return {}


def amf_str(s: str) -> bytes:
    return struct.pack(">H", len(s)) + s.encode()


def prop(key: str, raw_value: bytes) -> bytes:
    return amf_str(key) + raw_value


def string(s: str) -> bytes:
    return b"\x02" + amf_str(s)


def number(v: float) -> bytes:
    return b"\x00" + struct.pack(">d", v)


def script_tag(body: bytes) -> bytes:
    return F._new_tag(None, body)


def av_tag(kind: int, payload: bytes) -> bytes:
    header = bytes([kind]) + len(payload).to_bytes(3, "big") + bytes(7)
    return header + payload + struct.pack(">I", 11 + len(payload))


def tiny_flv(*tag_bytes: bytes) -> bytes:
    return b"FLV\x01\x05\x00\x00\x00\x09" + bytes(4) + b"".join(tag_bytes)


def ecma(*props: bytes) -> bytes:
    return F.ON_METADATA + b"\x08" + struct.pack(">I", len(props)) + b"".join(props) + F.OBJECT_END


def without_script_tags(data: bytes) -> bytes:
    first_av = next(off for off, kind, _ in tags(data) if kind != 18)
    return data[:13] + data[first_av:]


# ---------------------------------------------------------------- real files


@requires_ffmpeg
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_round_trip_ffprobe_and_frames(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.flv"
    req = api.LabelRequest(producer=PRODUCER, produce_id=LABEL.ProduceID)
    api.label_file(path, out, req)
    data = out.read_bytes()
    assert read_labels(data) == [LABEL.to_json()]
    before, after = ffprobe_tags(path), ffprobe_tags(out)
    assert after.pop("AIGC") == LABEL.to_json()
    before.pop("AIGC", None)
    if "lastkeyframelocation" in before:  # an absolute offset: moves with the tags
        delta = len(out.read_bytes()) - len(path.read_bytes())
        moved = int(before.pop("lastkeyframelocation")) + delta
        assert int(after.pop("lastkeyframelocation")) == moved
    assert after == before
    assert framemd5(out) == framemd5(path)
    tags(data)
    meta_in, meta_out = metadata(path.read_bytes()), metadata(data)
    assert meta_out["filesize"] == len(data)
    for key in ("duration", "width", "height", "encoder", "videocodecid", "audiocodecid"):
        assert meta_out[key] == meta_in[key]
    assert api.inspect_file(out).verdict == "compliant"


def test_keyframe_positions_follow_the_shift() -> None:
    src = KEYFRAMES.read_bytes()
    out = label_bytes(src, make_label("a-rather-longer-produce-id-to-grow-the-tag-000001"))
    delta = len(out) - len(src)
    assert delta != 0
    meta_in, meta_out = metadata(src), metadata(out)
    kf_in, kf_out = meta_in["keyframes"], meta_out["keyframes"]
    assert isinstance(kf_in, dict)
    assert isinstance(kf_out, dict)
    assert kf_out["times"] == kf_in["times"]
    positions = kf_out["filepositions"]
    assert isinstance(positions, list)
    assert positions == [p + delta for p in kf_in["filepositions"]]
    video_tags = {off for off, kind, _ in tags(out) if kind == 9}
    assert {int(p) for p in positions} <= video_tags
    last_in, last_out = meta_in["lastkeyframelocation"], meta_out["lastkeyframelocation"]
    assert isinstance(last_in, float)
    assert last_out == last_in + delta


@requires_ffmpeg
def test_seeking_with_index_still_works(tmp_path: Path) -> None:
    out = tmp_path / "out.flv"
    out.write_bytes(label_bytes(KEYFRAMES.read_bytes()))
    res = ffmpeg("-ss", "0.5", "-i", out, "-frames:v", "1", "-f", "null", "-")
    assert res.returncode == 0
    assert res.stderr == ""


def test_ffmpeg_label_is_read_and_replaced_once() -> None:
    found = HANDLER.read(io.BytesIO(KEYFRAMES.read_bytes()), DEFAULT_LIMITS).labels
    assert [(json.loads(f.raw)["ProduceID"], f.standard) for f in found] == [("ffmpeg-0001", True)]
    once = label_bytes(KEYFRAMES.read_bytes())
    twice = label_bytes(once, make_label("second", "2"))
    assert read_labels(twice) == [make_label("second", "2").to_json()]
    assert metadata(twice)["filesize"] == len(twice)


@requires_ffmpeg
def test_file_without_metadata_gets_onmetadata(tmp_path: Path) -> None:
    bare = tmp_path / "bare.flv"
    bare.write_bytes(without_script_tags(CLEAN.read_bytes()))
    assert HANDLER.read(io.BytesIO(bare.read_bytes()), DEFAULT_LIMITS).labels == []
    out = tmp_path / "out.flv"
    out.write_bytes(label_bytes(bare.read_bytes()))
    assert ffprobe_tags(out)["AIGC"] == LABEL.to_json()
    assert framemd5(out) == framemd5(bare)


def test_object_form_and_duplicates() -> None:
    body = (
        F.ON_METADATA
        + b"\x03"
        + prop("duration", number(1.5))
        + prop("aigc", string("lower"))
        + prop("AIGC", string("first"))
        + F.OBJECT_END
    )
    second = ecma(prop("AIGC", string("second")), prop("other", string("keep")))
    data = tiny_flv(script_tag(body), script_tag(second), av_tag(9, b"\x12" * 40))
    found = HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels
    assert [(f.raw, f.standard) for f in found] == [
        ("lower", False),
        ("first", True),
        ("second", False),
    ]
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    assert metadata(out) == {"duration": 1.5, "AIGC": LABEL.to_json()}
    assert b"keep" in out
    assert out.endswith(av_tag(9, b"\x12" * 40))
    tags(out)


def test_long_label_uses_long_string() -> None:
    data = tiny_flv(script_tag(ecma()), av_tag(8, b"\x00" * 4))
    long_json = json.dumps({"x": "y" * 70000})
    out = io.BytesIO()
    HANDLER.write(io.BytesIO(data), out, WriteOptions(long_json, None), DEFAULT_LIMITS)
    found = HANDLER.read(io.BytesIO(out.getvalue()), DEFAULT_LIMITS).labels
    assert [f.raw for f in found] == [long_json]


@requires_exiftool
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_exiftool_reads_label_and_no_new_warnings(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.flv"
    out.write_bytes(label_bytes(path.read_bytes()))
    assert exiftool_warnings(out) == exiftool_warnings(path)
    assert exiftool_json(out, "-AIGC")["AIGC"] == LABEL.to_json()


def test_sniff_by_bytes(tmp_path: Path) -> None:
    data = CLEAN.read_bytes()
    assert isinstance(detect(data[:64], ".mkv"), FlvHandler)
    wrong = tmp_path / "clip.mp4"
    wrong.write_bytes(data)
    assert api.inspect_file(wrong).format == "flv"
    assert not HANDLER.sniff(b"FLV")
    assert not HANDLER.sniff(b"FLX\x01\x05\x00\x00\x00\x09")


# ---------------------------------------------------------------- hostile input


def test_truncation_at_many_offsets() -> None:
    data = label_bytes(KEYFRAMES.read_bytes(), make_label("first"))
    with within(10):
        for cut in [*range(0, 900), *range(900, len(data), 41)]:
            read_and_write_cleanly(HANDLER, data[:cut])


def nested(depth: int) -> bytes:
    inner = number(1)
    for _ in range(depth):
        inner = b"\x03" + prop("n", inner) + F.OBJECT_END
    return inner


@pytest.mark.parametrize(
    "data",
    [
        tiny_flv(b"\x12\xff\xff\xff" + bytes(7) + F.ON_METADATA),  # size past the end
        tiny_flv(
            script_tag(
                F.ON_METADATA + b"\x08\x00\x00\x00\x01" + amf_str("k") + b"\x0a\xff\xff\xff\xff"
            )
        ),
        tiny_flv(
            script_tag(F.ON_METADATA + b"\x08\x00\x00\x00\x01" + amf_str("k") + b"\x02\xff\xff")
        ),
        tiny_flv(script_tag(F.ON_METADATA + b"\x08\x00\x00\x00\x01" + amf_str("k") + b"\x11\x01")),
        tiny_flv(script_tag(F.ON_METADATA + b"\x05")),
        tiny_flv(script_tag(ecma(prop("deep", nested(200))))),
        b"FLV\x01\x05\xff\xff\xff\xff",
        b"FLV\x01\x05\x00\x00\x00\x09",
    ],
)
def test_lying_and_hostile_metadata_raise_library_errors(data: bytes) -> None:
    read_and_write_cleanly(HANDLER, data)
    with pytest.raises(AigcLabelError):
        HANDLER.write(io.BytesIO(data), io.BytesIO(), WriteOptions("{}", None), DEFAULT_LIMITS)


def test_corrupt_metadata_is_a_warning_when_reading() -> None:
    data = tiny_flv(script_tag(ecma(prop("deep", nested(200)))), av_tag(9, b"\x00"))
    result = HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS)
    assert result.labels == []
    assert result.problems


def test_script_tag_count_and_size_limits() -> None:
    many = tiny_flv(*[script_tag(string("other"))] * 50, av_tag(9, b"\x00"))
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(many), Limits(max_items=10))
    big = tiny_flv(script_tag(ecma(prop("x", string("y" * 5000)))), av_tag(9, b"\x00"))
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(big), Limits(max_metadata_bytes=1000))


def test_payload_is_streamed_not_loaded() -> None:
    data = tiny_flv(script_tag(ecma(prop("duration", number(1)))), av_tag(9, bytes(3_000_000)))
    src = CountingStream(data)
    HANDLER.read(src, DEFAULT_LIMITS)
    assert src.largest < 1024
    src = CountingStream(data)
    out = io.BytesIO()
    HANDLER.write(src, out, OPTS, DEFAULT_LIMITS)
    assert src.largest <= 1024 * 1024
    assert read_labels(out.getvalue()) == [LABEL.to_json()]


LABELED = {p: label_bytes(p.read_bytes(), make_label("fuzz-base")) for p in FILES}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutations_of_labeled_files(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(FILES))
    raw = bytearray(LABELED[path])
    near_start = st.integers(0, 1000)  # the header and the script tag
    read_and_write_cleanly(HANDLER, mutate(data, raw, lambda _: near_start, zero=2, run=8))


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_random_bytes_after_signature(blob: bytes) -> None:
    read_and_write_cleanly(HANDLER, b"FLV\x01\x05\x00\x00\x00\x09" + blob)
    read_and_write_cleanly(HANDLER, tiny_flv(b"\x12" + blob))


def test_cli_label_then_inspect(tmp_path: Path) -> None:
    out = tmp_path / "out.flv"
    args = ["-o", out, "--producer", PRODUCER, "--produce-id", "cli-1"]
    done = run_aigc_label("label", CLEAN, *args)
    assert done.returncode == 0, done.stderr
    report = run_aigc_label("inspect", "--json", out)
    assert json.loads(report.stdout)["verdict"] == "compliant"
    assert json.loads(read_labels(out.read_bytes())[0])["ProduceID"] == "cli-1"
