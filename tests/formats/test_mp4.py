"""MP4/MOV/M4A handler: ffmpeg-made files, independent readers, relocation, hostile input."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigc_label import api
from aigc_label.cli import cli
from aigc_label.errors import AigcLabelError, LimitExceededError
from aigc_label.formats import detect
from aigc_label.formats._bmff import Box, Budget, iter_buffer_boxes, make_box, make_full_box
from aigc_label.formats._mp4meta import XMP_UUID, build_hdlr, build_keys, text_item
from aigc_label.formats.base import WriteOptions
from aigc_label.formats.mp4 import PADDING, Mp4Handler
from aigc_label.limits import DEFAULT_LIMITS, Limits
from tests.conftest import (
    FIXTURES,
    PRODUCER,
    exiftool,
    exiftool_warnings,
    have,
    label_bytes,
    make_label,
    read_labels,
    requires_exiftool,
    requires_ffmpeg,
)
from tests.harness import mutate

HANDLER = Mp4Handler()
LABEL = make_label()
DIR = FIXTURES / "mp4"
FASTSTART = DIR / "clean-faststart.mp4"
MOV = DIR / "moov-at-end.mov"
FRAG = DIR / "fragmented.mp4"
M4A = DIR / "itunes.m4a"
FFLABELED = DIR / "labeled-ffmpeg.mp4"
FILES = [FASTSTART, MOV, FRAG, M4A, FFLABELED]
IDS = [p.name for p in FILES]
OPTS = WriteOptions(LABEL.to_json(), None)

# ---------------------------------------------------------------- helpers


def ffmpeg(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def framemd5(path: Path, *pre: str) -> str:
    res = ffmpeg(*pre, "-i", path, "-map", "0", "-f", "framemd5", "-")
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    return "\n".join(line for line in res.stdout.splitlines() if not line.startswith("#"))


def ffprobe_tags(path: Path) -> tuple[dict[str, str], str]:
    res = subprocess.run(
        ["ffprobe", "-v", "warning", "-show_entries", "format_tags", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    tags: dict[str, str] = json.loads(res.stdout).get("format", {}).get("tags", {})
    return tags, res.stderr


def top(data: bytes) -> list[Box]:
    return list(iter_buffer_boxes(data, 0, len(data), "t", Budget(DEFAULT_LIMITS, "t")))


def kids(data: bytes, box: Box, skip: int = 0) -> list[Box]:
    return list(
        iter_buffer_boxes(data, box.payload_start + skip, box.end, "t", Budget(DEFAULT_LIMITS, "t"))
    )


def find(data: bytes, *path: bytes) -> Box | None:
    boxes = top(data)
    box = None
    for i, name in enumerate(path):
        box = next((b for b in boxes if b.type == name), None)
        if box is None:
            return None
        if i + 1 < len(path):
            boxes = kids(data, box, 4 if name == b"meta" else 0)
    return box


def append_to_moov(data: bytes, child: bytes) -> bytes:
    """Add a child at the end of a moov that lies after the media data (no offsets move)."""
    moov = find(data, b"moov")
    assert moov is not None
    assert moov.end == len(data)
    new = struct.pack(">I", moov.size + len(child)) + data[moov.start + 4 : moov.end] + child
    return data[: moov.start] + new


def udta_with(data: bytes, child: bytes) -> bytes:
    """Put ``child`` into the (last-in-file) moov's udta, made if missing."""
    moov = find(data, b"moov")
    udta = find(data, b"moov", b"udta")
    assert moov is not None
    assert moov.end == len(data)
    if udta is None:
        return append_to_moov(data, make_box(b"udta", child))
    grown = struct.pack(">I", udta.size + len(child)) + data[udta.start + 4 : udta.end] + child
    body = data[moov.start + 8 : udta.start] + grown + data[udta.end : moov.end]
    return data[: moov.start] + make_box(b"moov", body)


def mdta_meta(pairs: list[tuple[str, str]], qt_style: bool = False) -> bytes:
    keys = build_keys(0, [(b"mdta", k.encode()) for k, _ in pairs])
    items = b"".join(text_item(i, v) for i, (_, v) in enumerate(pairs, 1))
    body = build_hdlr(b"mdta") + keys + make_box(b"ilst", items)
    return make_box(b"meta", body) if qt_style else make_full_box(b"meta", 0, 0, body)


def xmp_packet(label_json: str) -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<TC260:AIGC>{label_json}</TC260:AIGC><dc:format>video/mp4</dc:format>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def labeled_file(tmp_path: Path, src: Path, name: str | None = None) -> Path:
    out = tmp_path / (name or f"out{src.suffix}")
    out.write_bytes(label_bytes(src.read_bytes(), hint=src.suffix))
    return out


def result(data: bytes) -> Any:
    return HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS)


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_round_trip_and_relabel(path: Path) -> None:
    out = label_bytes(path.read_bytes(), hint=path.suffix)
    res = result(out)
    assert [f.raw for f in res.labels] == [LABEL.to_json()]
    assert all(f.standard for f in res.labels)
    second = make_label("second-id", "2")
    twice = label_bytes(out, second)
    assert read_labels(twice) == [second.to_json()]


@requires_ffmpeg
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_independent_readers_and_payload(path: Path, tmp_path: Path) -> None:
    out = labeled_file(tmp_path, path)
    assert framemd5(out) == framemd5(path)
    assert ffmpeg("-i", out, "-f", "null", "-").stderr == ""
    before, warn_before = ffprobe_tags(path)
    after, warn_after = ffprobe_tags(out)
    assert after.pop("AIGC") == LABEL.to_json()
    before.pop("AIGC", None)
    assert after == before
    assert warn_after == warn_before


@requires_ffmpeg
def test_seeking_works_after_label(tmp_path: Path) -> None:
    for src in (FASTSTART, FRAG):
        out = labeled_file(tmp_path, src)
        assert framemd5(out, "-ss", "0.5") == framemd5(src, "-ss", "0.5")


@requires_exiftool
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_exiftool_reads_keys_and_adds_no_warning(path: Path, tmp_path: Path) -> None:
    out = labeled_file(tmp_path, path)
    got = json.loads(exiftool("-j", "-Keys:AIGC", out))[0]
    assert str(got["AIGC"]) == LABEL.to_json()
    assert exiftool_warnings(out) == exiftool_warnings(path)


def test_mutagen_reads_label_and_itunes_tags_survive(tmp_path: Path) -> None:
    mutagen = pytest.importorskip("mutagen.mp4")
    before = mutagen.MP4(M4A).tags
    out = labeled_file(tmp_path, M4A)
    tags = mutagen.MP4(out).tags
    # mutagen does not resolve mdta keys: the label shows under its key index.
    assert tags.pop("\x00\x00\x00\x01") == [LABEL.to_json()]
    assert dict(tags) == dict(before)
    assert tags["©nam"] == ["Song"]
    assert bytes(tags["----:com.apple.iTunes:MOOD"][0]) == b"calm"


def test_ffmpeg_labeled_file_is_read_and_other_keys_kept(tmp_path: Path) -> None:
    data = FFLABELED.read_bytes()
    [found] = result(data).labels
    assert found.standard
    assert json.loads(found.raw)["ProduceID"] == "ffmpeg-made-0001"
    assert found.placement == "moov/udta/meta keys AIGC"
    out = label_bytes(data)
    keys = find(out, b"moov", b"udta", b"meta", b"keys")
    assert keys is not None
    names = out[keys.start : keys.end]
    for key in (b"major_brand", b"title", b"encoder", b"AIGC"):
        assert names.count(key) == 1


def test_moov_at_end_rewrites_only_moov() -> None:
    data = MOV.read_bytes()
    moov = find(data, b"moov")
    assert moov is not None
    out = label_bytes(data)
    assert out[: moov.start] == data[: moov.start]
    assert find(out, b"moov") == Box(b"moov", moov.start, 8, len(out))


def test_moov_first_shifts_offsets_and_leaves_padding() -> None:
    data = FASTSTART.read_bytes()
    out = label_bytes(data)
    old_mdat, new_mdat = find(data, b"mdat"), find(out, b"mdat")
    assert old_mdat is not None
    assert new_mdat is not None
    assert out[new_mdat.start : new_mdat.end] == data[old_mdat.start : old_mdat.end]
    free = [b for b in top(out) if b.type == b"free"]
    assert [b.size for b in free] == [PADDING]
    assert out[:32] == data[:32]  # ftyp


def test_fragment_offsets_shift(tmp_path: Path) -> None:
    data = FRAG.read_bytes()
    out = label_bytes(data)
    shift = find(out, b"moof").start - find(data, b"moof").start  # type: ignore[union-attr]
    assert shift > 0

    def base_offsets(buf: bytes) -> list[int]:
        moof = find(buf, b"moof")
        assert moof is not None
        trafs = [b for b in kids(buf, moof) if b.type == b"traf"]
        tfhds = [next(k for k in kids(buf, t) if k.type == b"tfhd") for t in trafs]
        return [struct.unpack_from(">Q", buf, t.payload_start + 8)[0] for t in tfhds]

    assert [v + shift for v in base_offsets(data)] == base_offsets(out)
    tfra = find(out, b"mfra", b"tfra")
    assert tfra is not None
    assert struct.unpack_from(">Q", out, tfra.payload_start + 24)[0] == find(out, b"moof").start  # type: ignore[union-attr]


@requires_ffmpeg
def test_dash_with_sidx(tmp_path: Path) -> None:
    src = tmp_path / "dash.mp4"
    assert ffmpeg("-i", FASTSTART, "-c", "copy", "-movflags", "+dash", src).returncode == 0
    assert any(b.type == b"sidx" for b in top(src.read_bytes()))
    out = labeled_file(tmp_path, src)
    assert framemd5(out) == framemd5(src)
    assert ffprobe_tags(out)[0]["AIGC"] == LABEL.to_json()


def test_sidx_spanning_moov_is_refused() -> None:
    data = FRAG.read_bytes()
    ftyp, moov = top(data)[:2]
    refs = struct.pack(">III", len(data) - moov.start, 0, 0)
    sidx = make_full_box(b"sidx", 1, 0, struct.pack(">IIQQHH", 1, 1000, 0, 0, 0, 1) + refs)
    bad = data[: ftyp.end] + sidx + data[ftyp.end :]
    with pytest.raises(AigcLabelError, match="sidx"):
        label_bytes(bad)


# ---------------------------------------------------------------- in place


def test_write_in_place_uses_padding(tmp_path: Path) -> None:
    path = labeled_file(tmp_path, FASTSTART)
    before = path.read_bytes()
    second = make_label("in-place", "2")
    with open(path, "r+b") as f:
        assert HANDLER.write_in_place(f, WriteOptions(second.to_json(), None), DEFAULT_LIMITS)
    after = path.read_bytes()
    assert len(after) == len(before)
    assert read_labels(after) == [second.to_json()]
    mdat = find(before, b"mdat")
    assert mdat is not None
    assert after[mdat.start :] == before[mdat.start :]


def test_write_in_place_refuses_without_room(tmp_path: Path) -> None:
    path = tmp_path / "x.mp4"
    path.write_bytes(FASTSTART.read_bytes())
    with open(path, "r+b") as f:
        assert not HANDLER.write_in_place(f, OPTS, DEFAULT_LIMITS)
    assert path.read_bytes() == FASTSTART.read_bytes()


def test_write_in_place_moov_at_end(tmp_path: Path) -> None:
    path = tmp_path / "x.mov"
    path.write_bytes(MOV.read_bytes())
    with open(path, "r+b") as f:
        assert HANDLER.write_in_place(f, OPTS, DEFAULT_LIMITS)
    assert path.read_bytes() == label_bytes(MOV.read_bytes())


class CountingFile(io.FileIO):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "rb")
        self.bytes_read = 0
        self.reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        self.reads += 1
        return data


def sparse_2gb(path: Path) -> None:
    """ftyp + 2 GiB sparse mdat (64-bit size) + a real labeled moov from the MOV fixture."""
    data = label_bytes(MOV.read_bytes())
    ftyp, moov = top(data)[0], find(data, b"moov")
    assert moov is not None
    mdat_size = 2 * 1024**3
    with open(path, "wb") as f:
        f.write(data[: ftyp.end])
        f.write(struct.pack(">I4sQ", 1, b"mdat", mdat_size))
        f.truncate(ftyp.end + mdat_size)
        f.seek(0, 2)
        f.write(data[moov.start :])


def test_two_gigabyte_moov_at_end_is_cheap(tmp_path: Path) -> None:
    path = tmp_path / "big.mp4"
    sparse_2gb(path)
    with CountingFile(path) as f:
        t0 = time.perf_counter()
        report = api.inspect_stream(f, str(path))
        elapsed = time.perf_counter() - t0
        assert report.label == LABEL
        assert report.verdict == "compliant"
        assert f.bytes_read < 1024 * 1024
        assert elapsed < 0.5
    second = make_label("big", "2")
    with open(path, "r+b") as f:
        t0 = time.perf_counter()
        assert HANDLER.write_in_place(f, WriteOptions(second.to_json(), None), DEFAULT_LIMITS)
        assert time.perf_counter() - t0 < 0.5
    assert api.inspect_file(path).label == second


# ---------------------------------------------------------------- placements


def test_itunes_meta_gets_keys_table() -> None:
    out = label_bytes(M4A.read_bytes())
    hdlr = find(out, b"moov", b"udta", b"meta", b"hdlr")
    assert hdlr is not None
    assert out[hdlr.payload_start + 8 : hdlr.payload_start + 12] == b"mdta"
    meta = find(out, b"moov", b"udta", b"meta")
    assert meta is not None
    order = [b.type for b in kids(out, meta, 4)]
    assert order.index(b"keys") < order.index(b"ilst")


def test_quicktime_moov_meta_keys_table_is_joined() -> None:
    qt = mdta_meta([("com.apple.quicktime.make", "Apple"), ("AIGC", "old")], qt_style=True)
    data = append_to_moov(M4A.read_bytes(), qt)
    [found] = result(data).labels
    assert found.placement == "moov/meta keys AIGC"
    assert found.standard
    out = label_bytes(data)
    assert [(f.raw, f.placement) for f in result(out).labels] == [
        (LABEL.to_json(), "moov/meta keys AIGC")
    ]
    udta_hdlr = find(out, b"moov", b"udta", b"meta", b"hdlr")
    assert udta_hdlr is not None
    assert out[udta_hdlr.payload_start + 8 : udta_hdlr.payload_start + 12] == b"mdir"


@requires_ffmpeg
def test_duplicate_keys_renumbered(tmp_path: Path) -> None:
    pairs = [("AIGC", "a"), ("title", "T"), ("AIGC", "b"), ("artist", "R")]
    data = udta_with(MOV.read_bytes(), mdta_meta(pairs))
    assert [f.raw for f in result(data).labels] == ["a", "b"]
    path = tmp_path / "out.mov"
    path.write_bytes(label_bytes(data))
    tags, warnings = ffprobe_tags(path)
    assert (tags["AIGC"], tags["title"], tags["artist"]) == (LABEL.to_json(), "T", "R")
    assert warnings == ""


def test_second_keys_table_label_moves() -> None:
    data = udta_with(MOV.read_bytes(), mdta_meta([("title", "T")]))
    data = append_to_moov(data, mdta_meta([("AIGC", "stray"), ("x", "y")], qt_style=True))
    [found] = result(data).labels
    assert not found.standard
    out = label_bytes(data)
    assert [(f.raw, f.standard) for f in result(out).labels] == [(LABEL.to_json(), True)]


def test_itunes_freeform_label_is_moved() -> None:
    mutagen = pytest.importorskip("mutagen.mp4")
    buf = io.BytesIO(M4A.read_bytes())
    tags = mutagen.MP4(buf)
    tags["----:com.apple.iTunes:AIGC"] = [mutagen.MP4FreeForm(b'{"Label":"1"}')]
    buf.seek(0)
    tags.save(buf)
    data = buf.getvalue()
    [found] = result(data).labels
    assert (found.standard, found.placement) == (False, "iTunes ----:com.apple.iTunes:AIGC")
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    after = mutagen.MP4(io.BytesIO(out)).tags
    assert "----:com.apple.iTunes:AIGC" not in after
    assert "----:com.apple.iTunes:MOOD" in after


def test_quicktime_xmp_label_is_moved_other_xmp_kept() -> None:
    data = udta_with(MOV.read_bytes(), make_box(b"XMP_", xmp_packet('{"Label":"3"}')))
    [found] = result(data).labels
    assert (found.standard, found.placement) == (False, "moov/udta/XMP_ TC260:AIGC")
    out = label_bytes(data)
    assert [f.standard for f in result(out).labels] == [True]
    xmp = find(out, b"moov", b"udta", b"XMP_")
    assert xmp is not None
    assert b"video/mp4" in out[xmp.start : xmp.end]


def test_uuid_xmp_label_is_moved() -> None:
    data = MOV.read_bytes() + make_box(b"uuid", xmp_packet('{"Label":"3"}'), XMP_UUID)
    [found] = result(data).labels
    assert (found.standard, found.placement) == (False, "uuid XMP box TC260:AIGC")
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    assert b"video/mp4" in out


@requires_exiftool
def test_label_written_by_exiftool_is_read(tmp_path: Path) -> None:
    path = tmp_path / "x.mp4"
    path.write_bytes(FASTSTART.read_bytes())
    exiftool("-q", "-overwrite_original", f"-XMP-TC260:AIGC={LABEL.to_json()}", path)
    [found] = result(path.read_bytes()).labels
    assert (found.raw, found.standard) == (LABEL.to_json(), False)
    assert any(b.type == b"uuid" for b in top(path.read_bytes()))  # before mdat
    out = labeled_file(tmp_path, path, "y.mp4")
    assert read_labels(out.read_bytes()) == [LABEL.to_json()]
    if have("ffmpeg"):
        assert framemd5(out) == framemd5(path)
    assert exiftool_warnings(out) == exiftool_warnings(path)


def test_64bit_mdat_and_quicktime_without_ftyp() -> None:
    data = MOV.read_bytes()
    ftyp, wide, mdat = top(data)[:3]
    assert (wide.type, wide.end) == (b"wide", mdat.start)
    big = struct.pack(">I4sQ", 1, b"mdat", mdat.size + 8)
    no_ftyp = make_box(b"free", bytes(ftyp.size - 8)) + big + data[mdat.start + 8 :]
    assert len(no_ftyp) == len(data)
    handler = detect(no_ftyp[:256], "jpg")
    assert handler is not None
    assert handler.name == "mp4"
    moov = find(no_ftyp, b"moov")
    assert moov is not None
    wide_moov = struct.pack(">I4sQ", 1, b"moov", moov.size + 8) + no_ftyp[moov.start + 8 :]
    no_ftyp = no_ftyp[: moov.start] + wide_moov
    out = label_bytes(no_ftyp)
    assert read_labels(out) == [LABEL.to_json()]
    assert out[: find(out, b"moov").start] == no_ftyp[: find(no_ftyp, b"moov").start]  # type: ignore[union-attr]


def test_sniffing() -> None:
    head = FASTSTART.read_bytes()[:256]
    assert detect(head, "jpg") is not None
    assert detect(head, "jpg").name == "mp4"  # type: ignore[union-attr]
    heic = next((FIXTURES / "heif").glob("*.heic"))
    assert detect(heic.read_bytes()[:256], "mp4").name == "heif"  # type: ignore[union-attr]
    assert not HANDLER.sniff(b"\x00\x00\x00\x04free" + bytes(8))
    assert not HANDLER.sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ")


def test_cli_label(tmp_path: Path) -> None:
    src = tmp_path / "in.m4a"
    src.write_bytes(M4A.read_bytes())
    dst = tmp_path / "out.m4a"
    res = CliRunner().invoke(
        cli, ["label", str(src), "-o", str(dst), "--producer", PRODUCER, "--produce-id", "cli-1"]
    )
    assert res.exit_code == 0, res.output
    [raw] = read_labels(dst.read_bytes())
    assert json.loads(raw)["ProduceID"] == "cli-1"


# ---------------------------------------------------------------- hostile input


def attempt(data: bytes) -> None:
    with contextlib.suppress(AigcLabelError):
        result(data)
    out = io.BytesIO()
    try:
        HANDLER.write(io.BytesIO(data), out, OPTS, DEFAULT_LIMITS)
    except AigcLabelError:
        return
    assert [f.raw for f in result(out.getvalue()).labels] == [LABEL.to_json()]


@pytest.mark.parametrize("path", [FASTSTART, FRAG, M4A], ids=["faststart", "frag", "m4a"])
def test_truncation_everywhere(path: Path) -> None:
    data = label_bytes(path.read_bytes())
    t0 = time.perf_counter()
    for cut in range(0, len(data), 7):
        attempt(data[:cut])
    assert time.perf_counter() - t0 < 10


def test_truncated_download_still_shows_label() -> None:
    out = label_bytes(FASTSTART.read_bytes())
    mdat = find(out, b"mdat")
    assert mdat is not None
    res = result(out[: mdat.start + 100])
    assert [f.raw for f in res.labels] == [LABEL.to_json()]
    assert [p.code for p in res.problems] == ["truncated"]
    with pytest.raises(AigcLabelError):
        label_bytes(out[: mdat.start + 100])


def test_lying_and_huge_sizes() -> None:
    data = label_bytes(MOV.read_bytes())
    moov = find(data, b"moov")
    assert moov is not None
    for value in (0, 1, 7, 9, 0xFFFF_FFFF, moov.size + 1, moov.size - 1):
        bad = data[: moov.start] + struct.pack(">I", value) + data[moov.start + 4 :]
        attempt(bad)
    huge = data[: moov.start] + struct.pack(">I4sQ", 1, b"moov", 1 << 62) + data[moov.start :]
    attempt(huge)
    for box in top(data) + [b for b in kids(data, moov)]:
        for value in (0, 3, 0x7FFF_FFFF):
            attempt(data[: box.start] + struct.pack(">I", value) + data[box.start + 4 :])


def test_huge_counts_in_tables() -> None:
    keys = make_full_box(b"keys", 0, 0, struct.pack(">I", 0xFFFF_FFFF))
    meta = make_full_box(b"meta", 0, 0, build_hdlr(b"mdta") + keys + make_box(b"ilst", b""))
    attempt(udta_with(MOV.read_bytes(), meta))
    items = make_box(b"ilst", make_box(b"\0\0\0\1", make_box(b"data", b"\0\0")))
    meta = make_full_box(
        b"meta", 0, 0, build_hdlr(b"mdta") + build_keys(0, [(b"mdta", b"AIGC")]) + items
    )
    attempt(udta_with(MOV.read_bytes(), meta))


def test_moov_over_limit() -> None:
    tight = Limits(max_metadata_bytes=1000)
    with pytest.raises(LimitExceededError):
        HANDLER.write(io.BytesIO(MOV.read_bytes()), io.BytesIO(), OPTS, tight)


@given(st.binary(max_size=300))
@settings(max_examples=150, deadline=None)
def test_random_bytes_after_ftyp(blob: bytes) -> None:
    for prefix in (b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom", b"\x00\x00\x00\x10moov"):
        attempt(prefix + blob)


MUTATION_BASE = label_bytes(FRAG.read_bytes())


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutations(data: st.DataObject) -> None:
    raw = bytearray(MUTATION_BASE)
    attempt(mutate(data, raw))


def test_label_in_place_uses_free_box(tmp_path: Path) -> None:
    """api.label_in_place patches moov in place when a free box has room (O(metadata))."""
    from aigc_label import api as _api

    path = tmp_path / "work.mp4"
    path.write_bytes(label_bytes((FIXTURES / "mp4" / "clean-faststart.mp4").read_bytes()))
    size = path.stat().st_size
    inode = path.stat().st_ino
    req = _api.LabelRequest(producer=PRODUCER, produce_id="in-place-2", label="2")
    outcome = _api.label_in_place(path, req)
    assert path.stat().st_ino == inode
    assert path.stat().st_size == size
    assert read_labels(path.read_bytes()) == [outcome.label.to_json()]
