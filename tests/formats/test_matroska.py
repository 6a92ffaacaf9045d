"""Matroska/WebM handler and the EBML walker, on files made by ffmpeg and by hand."""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigc_label import api
from aigc_label.errors import AigcLabelError
from aigc_label.formats import _ebml as E
from aigc_label.formats import detect
from aigc_label.formats.base import WriteOptions
from aigc_label.formats.matroska import MatroskaHandler
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
from tests.media import exiftool_json, ffmpeg, ffprobe, ffprobe_tags, framemd5

HANDLER = MatroskaHandler()
LABEL = make_label()
DIR = FIXTURES / "matroska"
WEBM = DIR / "clean-vp9-opus.webm"
MKV = DIR / "labeled-ffmpeg-chapters.mkv"
LIVE = DIR / "live-unknown-size.webm"
FILES = [WEBM, MKV, LIVE]
MASTERS = {E.ID_SEEKHEAD, E.ID_SEEK, E.ID_INFO, E.ID_TRACKS, E.ID_TAGS, E.ID_TAG, E.ID_CUES}


# ---------------------------------------------------------------- helpers


def segment(data: bytes) -> E.Element:
    header = E.parse_header(data, 0, len(data), "t")
    return E.parse_header(data, header.end, len(data), "t", allow_unknown=True)


def level1(data: bytes) -> list[E.Element]:
    seg = segment(data)
    end = len(data) if seg.size is None else seg.end
    return list(E.iter_buffer(data, seg.data_offset, end, "t", DEFAULT_LIMITS))


def check_crcs(data: bytes) -> int:
    """Verify every CRC-32 element in the metadata masters; returns how many were checked."""

    def walk(start: int, end: int) -> int:
        kids = list(E.iter_buffer(data, start, end, "t", DEFAULT_LIMITS))
        n = 0
        if kids and kids[0].eid == E.ID_CRC32:
            want = int.from_bytes(E.element_data(data, kids[0]), "little")
            assert zlib.crc32(data[kids[0].end : end]) == want, f"bad CRC at {kids[0].offset}"
            n += 1
        return n + sum(walk(k.data_offset, k.end) for k in kids if k.eid in MASTERS)

    return sum(walk(el.data_offset, el.end) for el in level1(data) if el.eid in MASTERS)


def seek_targets(data: bytes) -> dict[bytes, list[int]]:
    seg = segment(data)
    out: dict[bytes, list[int]] = {}
    for head in level1(data):
        if head.eid != E.ID_SEEKHEAD:
            continue
        for seek in E.iter_buffer(data, head.data_offset, head.end, "t", DEFAULT_LIMITS):
            if seek.eid != E.ID_SEEK:
                continue
            parts = {
                p.eid: E.element_data(data, p)
                for p in E.iter_buffer(data, seek.data_offset, seek.end, "t", DEFAULT_LIMITS)
            }
            pos = seg.data_offset + E.read_uint(parts[E.ID_SEEKPOSITION])
            out.setdefault(parts[E.ID_SEEKID], []).append(pos)
    return out


def assert_seekhead_valid(data: bytes) -> None:
    for target, positions in seek_targets(data).items():
        for pos in positions:
            el = E.parse_header(data, pos, len(data), "t", allow_unknown=True)
            assert E.encode_id(el.eid) == target, f"seek entry {target.hex()} -> {pos}"


def tags_element(*tags: bytes) -> bytes:
    return E.encode_element(E.ID_TAGS, b"".join(tags))


def simple(name: str, value: str) -> bytes:
    return E.encode_element(
        E.ID_SIMPLETAG,
        E.encode_element(E.ID_TAGNAME, name.encode())
        + E.encode_element(E.ID_TAGSTRING, value.encode()),
    )


def tag(targets: bytes, *simples: bytes) -> bytes:
    return E.encode_element(E.ID_TAG, E.encode_element(E.ID_TARGETS, targets) + b"".join(simples))


def tiny_mkv(*level1_elements: bytes, doc: bytes = b"webm", unknown: bool = False) -> bytes:
    """A hand-built file: EBML header + Segment holding the given elements."""
    header = E.encode_element(E.ID_EBML, E.encode_element(E.ID_DOCTYPE, doc))
    body = b"".join(level1_elements)
    if unknown:
        return header + E.encode_id(E.ID_SEGMENT) + b"\x01\xff\xff\xff\xff\xff\xff\xff" + body
    return header + E.encode_element(E.ID_SEGMENT, body, 8)


def cluster(n: int) -> bytes:
    return E.encode_element(E.ID_CLUSTER, E.encode_uint(0xE7, 0) + E.encode_element(0xA3, bytes(n)))


# ---------------------------------------------------------------- fixtures by ffmpeg


@requires_ffmpeg
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_round_trip_ffprobe_frames_and_seeking(path: Path, tmp_path: Path) -> None:
    before = ffprobe_tags(path)
    out = tmp_path / f"out{path.suffix}"
    req = api.LabelRequest(producer=PRODUCER, produce_id=LABEL.ProduceID)
    api.label_file(path, out, req)
    data = out.read_bytes()
    assert read_labels(data) == [LABEL.to_json()]
    after = ffprobe_tags(out)
    assert after["AIGC"] == LABEL.to_json()
    assert {k: v for k, v in after.items() if k != "AIGC"} == {
        k: v for k, v in before.items() if k != "AIGC"
    }
    assert framemd5(out) == framemd5(path)
    seek = ffmpeg("-ss", "0.5", "-i", out, "-frames:v", "1", "-f", "null", "-")
    assert seek.returncode == 0
    assert seek.stderr == ""
    assert_seekhead_valid(data)
    check_crcs(data)
    assert api.inspect_file(out).verdict == "compliant"


@requires_ffmpeg
def test_other_metadata_survives(tmp_path: Path) -> None:
    def probe(p: Path) -> dict[str, object]:
        return ffprobe(p, "-show_chapters", "-show_streams")

    out = tmp_path / "out.mkv"
    out.write_bytes(label_bytes(MKV.read_bytes()))
    assert probe(out) == probe(MKV)
    assert ffprobe_tags(out)["title"] == "Chaptered"
    assert ffprobe_tags(out)["ENCODER"] == ffprobe_tags(MKV)["ENCODER"]
    assert check_crcs(out.read_bytes()) >= 5  # ffmpeg's Matroska CRC-32s are kept valid


def test_ffmpeg_label_is_read_as_standard() -> None:
    result = HANDLER.read(io.BytesIO(MKV.read_bytes()), DEFAULT_LIMITS)
    assert len(result.labels) == 1
    found = result.labels[0]
    assert found.standard
    assert json.loads(found.raw)["ProduceID"] == "ffmpeg-0001"
    assert found.placement == "Segment/Tags/Tag/SimpleTag AIGC"


def test_write_twice_keeps_one_and_relabel_in_place() -> None:
    once = label_bytes(WEBM.read_bytes())
    second = make_label("a-much-longer-produce-id-than-before-0000000000000001", "2")
    twice = label_bytes(once, second)
    assert read_labels(twice) == [second.to_json()]
    # shorter: fits in place, the file keeps its size, the rest becomes Void padding
    short = make_label("s1", "3")
    thrice = label_bytes(twice, short)
    assert read_labels(thrice) == [short.to_json()]
    assert len(thrice) == len(twice)
    # longer again, but it fits the Tags element plus the Void left behind
    middle = make_label("a-much-longer-produce-id-than-before-00000000000002", "2")
    again = label_bytes(thrice, middle)
    assert read_labels(again) == [middle.to_json()]
    assert len(again) == len(twice)
    for data in (once, twice, thrice, again):
        assert_seekhead_valid(data)
        assert sum(el.eid == E.ID_TAGS for el in level1(data)) == 1


def test_nothing_before_the_tags_moves() -> None:
    src = WEBM.read_bytes()
    out = label_bytes(src)
    clusters_in = [el for el in level1(src) if el.eid in (E.ID_CLUSTER, E.ID_CUES)]
    clusters_out = [el for el in level1(out) if el.eid in (E.ID_CLUSTER, E.ID_CUES)]
    assert [(c.offset, c.total) for c in clusters_in] == [(c.offset, c.total) for c in clusters_out]
    first, last = clusters_in[0].offset, clusters_in[-1].end
    assert out[first:last] == src[first:last]


def test_live_segment_keeps_unknown_size() -> None:
    out = label_bytes(LIVE.read_bytes())
    assert segment(out).size is None
    assert read_labels(out) == [LABEL.to_json()]
    assert level1(out)[-1].eid == E.ID_TAGS


@requires_ffmpeg
def test_track_targeted_label_reported_and_replaced(tmp_path: Path) -> None:
    src = tmp_path / "track.webm"
    res = ffmpeg("-i", WEBM, "-c", "copy", "-metadata:s:v:0", "AIGC=" + LABEL.to_json(), src)
    assert res.returncode == 0, res.stderr
    found = HANDLER.read(io.BytesIO(src.read_bytes()), DEFAULT_LIMITS).labels
    assert [f.standard for f in found] == [False]
    assert "TrackUID=" in found[0].placement
    out = label_bytes(src.read_bytes(), make_label("new"))
    found = HANDLER.read(io.BytesIO(out), DEFAULT_LIMITS).labels
    assert [(f.standard, f.raw) for f in found] == [(True, make_label("new").to_json())]


def test_file_without_tags_gets_one_indexed_by_seekhead() -> None:
    def seekhead(info_pos: int) -> bytes:
        seek = E.encode_element(
            E.ID_SEEK,
            E.encode_element(E.ID_SEEKID, E.encode_id(E.ID_INFO))
            + E.encode_element(E.ID_SEEKPOSITION, info_pos.to_bytes(2, "big")),
        )
        return E.encode_element(E.ID_SEEKHEAD, seek)

    info = E.encode_element(E.ID_INFO, E.encode_uint(0x2AD7B1, 1_000_000))
    head = seekhead(len(seekhead(0)) + 60)
    # Segment data: SeekHead, Void (room), Info, Cluster
    body = [head, E.void_element(60), info, cluster(100)]
    data = tiny_mkv(*body)
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    assert_seekhead_valid(out)
    assert len(seek_targets(out)[E.encode_id(E.ID_TAGS)]) == 1
    assert segment(out).end == len(out)


def test_global_tag_with_other_tags_kept_and_duplicates_dropped() -> None:
    keep = tag(b"", simple("TITLE", "hello"), simple("AIGC", "old"))
    only = tag(b"", simple("aigc", "dup"))
    track = tag(E.encode_uint(E.ID_TAGTRACKUID, 7), simple("ENCODER", "x"), simple("AIGC", "trk"))
    data = tiny_mkv(tags_element(keep, only, track), cluster(50))
    found = HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels
    assert [(f.raw, f.standard) for f in found] == [
        ("old", True),
        ("dup", False),
        ("trk", False),
    ]
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    blob = out
    assert b"hello" in blob
    assert b"ENCODER" in blob
    assert b"dup" not in blob
    assert b"trk" not in blob


def test_non_primary_tags_element_is_stripped_in_place() -> None:
    first = tags_element(tag(b"", simple("TITLE", "t")))
    second = tags_element(tag(b"", simple("AIGC", "second-copy")))
    data = tiny_mkv(first, cluster(40), second, cluster(40))
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    assert b"second-copy" not in out


def test_segment_size_field_too_narrow_fails_cleanly() -> None:
    header = E.encode_element(E.ID_EBML, E.encode_element(E.ID_DOCTYPE, b"webm"))
    body = cluster(100)
    data = header + E.encode_element(E.ID_SEGMENT, body, 1)
    with pytest.raises(AigcLabelError):
        label_bytes(data)


def test_segment_level_crc_becomes_void() -> None:
    body = cluster(30)
    crc = E.encode_element(E.ID_CRC32, zlib.crc32(body).to_bytes(4, "little"))
    out = label_bytes(tiny_mkv(crc, body))
    assert level1(out)[0].eid == E.ID_VOID
    assert read_labels(out) == [LABEL.to_json()]


@requires_exiftool
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_exiftool_sees_label_and_no_new_warnings(path: Path, tmp_path: Path) -> None:
    out = tmp_path / f"out{path.suffix}"
    out.write_bytes(label_bytes(path.read_bytes()))
    assert exiftool_warnings(out) == exiftool_warnings(path)
    got = exiftool_json(out, "-ee", "-Aigc")
    assert got.get("Aigc") == LABEL.to_json()


# ---------------------------------------------------------------- sniffing


def test_sniff_by_bytes_not_extension(tmp_path: Path) -> None:
    data = WEBM.read_bytes()
    assert isinstance(detect(data[:64], ".flv"), MatroskaHandler)
    wrong = tmp_path / "video.jpg"
    wrong.write_bytes(data)
    assert api.inspect_file(wrong).format == "matroska"
    assert not HANDLER.sniff(tiny_mkv(cluster(1), doc=b"other")[:64])
    assert not HANDLER.sniff(b"RIFF\x00\x00\x00\x00WEBP")


def test_other_doctype_is_refused() -> None:
    with pytest.raises(AigcLabelError):
        HANDLER.read(io.BytesIO(tiny_mkv(cluster(1), doc=b"other")), DEFAULT_LIMITS)


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize("path", [WEBM, LIVE], ids=["webm", "live"])
def test_truncation_at_many_offsets(path: Path) -> None:
    data = label_bytes(path.read_bytes(), make_label("first"))
    with within(10):
        cuts = list(range(0, 800)) + list(range(800, len(data), 37))
        for cut in cuts:
            read_and_write_cleanly(HANDLER, data[:cut])


@pytest.mark.parametrize(
    "data",
    [
        # Segment declares far more than the file holds
        tiny_mkv(cluster(10))[:-20],
        # Tags element declaring an enormous size
        tiny_mkv(E.encode_id(E.ID_TAGS) + b"\x01\x00\xff\xff\xff\xff\xff\xfe"),
        # Tags with an unknown size
        tiny_mkv(E.encode_id(E.ID_TAGS) + b"\xff" + tag(b"", simple("AIGC", "x"))),
        # SimpleTag larger than its Tag
        tiny_mkv(E.encode_element(E.ID_TAGS, E.encode_id(E.ID_TAG) + b"\x88" + b"\x67\xc8\x9f")),
        # invalid ID / size bytes
        tiny_mkv(b"\x00\x00\x00\x00"),
        tiny_mkv(b"\x1f\x43\xb6\x75\x00"),
        # unknown-size cluster with an unknown-size child
        tiny_mkv(E.encode_id(E.ID_CLUSTER) + b"\xff" + b"\xa3\xff", unknown=True),
        # EBML header only, no Segment; header claiming to be huge
        E.encode_element(E.ID_EBML, E.encode_element(E.ID_DOCTYPE, b"webm")),
        E.EBML_MAGIC + b"\x01\xff\xff\xff\xff\xff\xff\xfe",
        E.EBML_MAGIC,
    ],
)
def test_lying_sizes_raise_library_errors(data: bytes) -> None:
    read_and_write_cleanly(HANDLER, data)
    with pytest.raises(AigcLabelError):
        HANDLER.write(io.BytesIO(data), io.BytesIO(), WriteOptions("{}", None), DEFAULT_LIMITS)


def test_seekhead_pointing_anywhere_is_tolerated() -> None:
    bad = [0, 5, 10**12, 2**56]
    seeks = b"".join(
        E.encode_element(
            E.ID_SEEK,
            E.encode_element(E.ID_SEEKID, E.encode_id(E.ID_TAGS))
            + E.encode_uint(E.ID_SEEKPOSITION, p),
        )
        for p in bad
    )
    data = tiny_mkv(E.encode_element(E.ID_SEEKHEAD, seeks), cluster(20))
    result = HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS)
    assert result.labels == []
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    assert_seekhead_valid(out)


def test_many_elements_hit_the_item_limit() -> None:
    data = tiny_mkv(*([E.void_element(2)] * 500), cluster(1))
    with pytest.raises(AigcLabelError):
        HANDLER.write(
            io.BytesIO(data), io.BytesIO(), WriteOptions("{}", None), Limits(max_items=100)
        )


def test_metadata_limit_applies_to_tags() -> None:
    big = tiny_mkv(tags_element(tag(b"", simple("TITLE", "x" * 5000))), cluster(1))
    with pytest.raises(AigcLabelError):
        HANDLER.read(io.BytesIO(big), Limits(max_metadata_bytes=1000))


def test_payload_is_streamed_not_loaded() -> None:
    data = tiny_mkv(tags_element(tag(b"", simple("TITLE", "t"))), cluster(3_000_000))
    src = CountingStream(data)
    HANDLER.read(src, DEFAULT_LIMITS)
    assert src.largest < 1024
    src = CountingStream(data)
    out = io.BytesIO()
    HANDLER.write(src, out, OPTS, DEFAULT_LIMITS)
    assert src.largest <= 1024 * 1024
    assert read_labels(out.getvalue()) == [LABEL.to_json()]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutations_of_labeled_files(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(FILES))
    raw = bytearray(LABELED[path])

    def positions(now: bytearray) -> st.SearchStrategy[int]:
        # bias towards the metadata at the start and the Tags at the end
        return st.one_of(st.integers(0, 700), st.integers(max(0, len(now) - 600), len(now) - 1))

    read_and_write_cleanly(HANDLER, mutate(data, raw, positions, zero=2, run=8))


LABELED = {p: label_bytes(p.read_bytes(), make_label("fuzz-base")) for p in FILES}


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_random_bytes_after_magic(blob: bytes) -> None:
    read_and_write_cleanly(HANDLER, E.EBML_MAGIC + blob)
    read_and_write_cleanly(HANDLER, tiny_mkv(blob))


def test_seekhead_without_room_drops_tags_entries_and_reader_walks() -> None:
    def seekhead(pos: int) -> bytes:
        seek = E.encode_element(
            E.ID_SEEK,
            E.encode_element(E.ID_SEEKID, E.encode_id(E.ID_TAGS))
            + E.encode_element(E.ID_SEEKPOSITION, bytes([pos])),
        )
        return E.encode_element(E.ID_SEEKHEAD, seek)

    tags = tags_element(tag(b"", simple("TITLE", "kept")))
    data = tiny_mkv(seekhead(len(seekhead(0))), tags, cluster(400))
    assert_seekhead_valid(data)
    out = label_bytes(data)
    assert E.encode_id(E.ID_TAGS) not in seek_targets(out)  # no room: entry voided
    assert_seekhead_valid(out)
    assert read_labels(out) == [LABEL.to_json()]
    assert b"kept" in out


def test_unknown_size_clusters_are_resolved() -> None:
    def live_cluster(n: int) -> bytes:
        blocks = E.encode_uint(0xE7, n) + E.encode_element(0xA3, bytes(n))
        return E.encode_id(E.ID_CLUSTER) + b"\xff" + blocks

    data = tiny_mkv(
        tags_element(tag(b"", simple("TITLE", "live"))),
        live_cluster(30),
        live_cluster(40),
        unknown=True,
    )
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    first_cluster = data.index(E.encode_id(E.ID_CLUSTER))
    assert out[first_cluster : len(data)] == data[first_cluster:]  # clusters do not move
    again = label_bytes(out, make_label("again"))
    assert read_labels(again) == [make_label("again").to_json()]


def test_cli_label_then_inspect(tmp_path: Path) -> None:
    out = tmp_path / "out.webm"
    done = run_aigc_label("label", LIVE, "-o", out, "--producer", PRODUCER, "--produce-id", "cli-1")
    assert done.returncode == 0, done.stderr
    report = run_aigc_label("inspect", "--json", out)
    assert json.loads(report.stdout)["verdict"] == "compliant"
    assert json.loads(read_labels(out.read_bytes())[0])["ProduceID"] == "cli-1"
