"""Ogg Vorbis / Opus handler, on files made by ffmpeg and re-paginated by hand."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from aigc_label import api
from aigc_label.errors import CorruptFileError, LimitExceededError, UnsupportedFormatError
from aigc_label.formats import ogg
from aigc_label.formats.ogg import CRC_OFFSET, PAGE_HEADER, OggHandler, Page, ogg_crc, read_page
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
from tests.harness import OPTS, inspect_and_label_cleanly, poke, truncations_fail_cleanly, within
from tests.media import audio_md5, decode_errors, exiftool_json, ffmpeg_ok, ffprobe_stream_tags

HANDLER = OggHandler()
LABEL = make_label()
DIR = FIXTURES / "ogg"
VORBIS = DIR / "tone-vorbis.ogg"
OPUS = DIR / "labeled-ffmpeg.opus"
ALL = [VORBIS, OPUS]


def mutagen_tags(path: Path) -> Any:
    kind = OggVorbis if path.suffix == ".ogg" else OggOpus
    return kind(path).tags


def reference_crc(data: bytes) -> int:
    """Bit-by-bit CRC-32, poly 0x04C11DB7, init 0, no reflection (RFC 3533)."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def pages(data: bytes) -> list[tuple[Page, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        page = read_page(io.BytesIO(data), pos, len(data))
        out.append((page, data[pos : pos + page.total]))
        pos += page.total
    return out


def crc_valid(raw: bytes) -> bool:
    zeroed = raw[:CRC_OFFSET] + bytes(4) + raw[CRC_OFFSET + 4 :]
    return ogg_crc(zeroed) == int.from_bytes(raw[CRC_OFFSET : CRC_OFFSET + 4], "little")


def check_stream(data: bytes) -> None:
    """Every page CRC is right and the first stream's sequence numbers are contiguous."""
    found = pages(data)
    serial = found[0][0].serial
    seqs = [p.seq for p, _ in found if p.serial == serial]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert all(crc_valid(raw) for _, raw in found)


def small_pages(data: bytes, per_page: int = 3) -> bytes:
    """The same file with its header packets spread over pages of ``per_page`` segments."""
    src = io.BytesIO(data)
    h = ogg.read_headers(src, DEFAULT_LIMITS)
    assert h is not None
    assert h.last_page is not None
    out = io.BytesIO()
    out.write(data[: h.id_page.total])
    segs: list[tuple[bytes, bool, bool]] = []
    for packet in h.packets:
        count = len(packet) // 255 + 1
        segs += [(packet[i * 255 : (i + 1) * 255], i == 0, i == count - 1) for i in range(count)]
    seq = h.id_page.seq + 1
    for start in range(0, len(segs), per_page):
        group = segs[start : start + per_page]
        flags = 0 if group[0][1] else ogg.FLAG_CONTINUED
        granule = 0 if any(g[2] for g in group) else -1
        head = PAGE_HEADER.pack(b"OggS", 0, flags, granule, h.serial, seq, 0, len(group))
        page = bytearray(head + bytes(len(g[0]) for g in group) + b"".join(g[0] for g in group))
        page[CRC_OFFSET : CRC_OFFSET + 4] = ogg_crc(page).to_bytes(4, "little")
        out.write(page)
        seq += 1
    ogg._renumber(src, out, h.end, h.serial, seq - 1 - h.last_page.seq)
    return out.getvalue()


# ---------------------------------------------------------------- CRC and round trips


def test_crc_matches_reference_and_real_pages() -> None:
    for blob in (b"", b"OggS", bytes(range(256)) * 3):
        assert ogg_crc(blob) == reference_crc(blob)
    for path in ALL:
        assert all(crc_valid(raw) for _, raw in pages(path.read_bytes()))


@requires_ffmpeg
@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_round_trip_audio_identical_and_readers_agree(path: Path, tmp_path: Path) -> None:
    out = tmp_path / f"out{path.suffix}"
    out.write_bytes(label_bytes(path.read_bytes()))
    data = out.read_bytes()
    assert read_labels(data) == [LABEL.to_json()]
    check_stream(data)
    assert audio_md5(out) == audio_md5(path)
    assert decode_errors(out) == ""
    assert ffprobe_stream_tags(out).get("AIGC") == LABEL.to_json()
    tags = mutagen_tags(out)
    assert tags["AIGC"] == [LABEL.to_json()]
    assert tags["TITLE"] == ["Tone"]
    before = pages(path.read_bytes())
    after = pages(data)
    audio_before = [(p.granule, raw[p.header_size :]) for p, raw in before if p.granule > 0]
    audio_after = [(p.granule, raw[p.header_size :]) for p, raw in after if p.granule > 0]
    assert audio_after == audio_before
    assert after[0][1] == before[0][1]  # identification page verbatim


def test_vorbis_framing_bit_and_vendor_kept() -> None:
    data = label_bytes(VORBIS.read_bytes())
    h = ogg.read_headers(io.BytesIO(data), DEFAULT_LIMITS)
    h0 = ogg.read_headers(io.BytesIO(VORBIS.read_bytes()), DEFAULT_LIMITS)
    assert h is not None
    assert h0 is not None
    assert h.packets[0].endswith(b"\x01")
    assert h.packets[1] == h0.packets[1]  # setup header byte-for-byte
    vc, vc0 = ogg._comment(h, DEFAULT_LIMITS), ogg._comment(h0, DEFAULT_LIMITS)
    assert vc.vendor == vc0.vendor
    assert vc.entries[:-1] == vc0.entries


def test_ffmpeg_label_read_and_replaced() -> None:
    found = HANDLER.read(io.BytesIO(OPUS.read_bytes()), DEFAULT_LIMITS).labels
    assert [(json.loads(f.raw)["ProduceID"], f.standard) for f in found] == [("ffmpeg-1", True)]
    assert found[0].placement == "Ogg Opus comment AIGC"
    twice = label_bytes(label_bytes(OPUS.read_bytes()), make_label("second", "2"))
    assert read_labels(twice) == [make_label("second", "2").to_json()]


@requires_exiftool
@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_exiftool_reads_label_and_sees_no_new_warning(path: Path, tmp_path: Path) -> None:
    out = tmp_path / f"out{path.suffix}"
    out.write_bytes(label_bytes(path.read_bytes()))
    data = exiftool_json(out, "-Vorbis:all")
    assert data["Aigc"] == LABEL.to_json()
    assert exiftool_warnings(out) == exiftool_warnings(path)


def test_wrong_extension_is_sniffed(tmp_path: Path) -> None:
    src = tmp_path / "x.flac"
    src.write_bytes(VORBIS.read_bytes())
    out = tmp_path / "y.flac"
    req = api.LabelRequest(producer=LABEL.ContentProducer, produce_id=LABEL.ProduceID)
    assert api.label_file(src, out, req).format == "ogg"
    assert api.inspect_file(out).verdict == "compliant"


# ---------------------------------------------------------------- re-pagination


@requires_ffmpeg
@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_header_page_count_change_renumbers_stream(path: Path, tmp_path: Path) -> None:
    spread = small_pages(path.read_bytes(), per_page=1)
    check_stream(spread)
    src = tmp_path / f"spread{path.suffix}"
    src.write_bytes(spread)
    assert audio_md5(src) == audio_md5(path)
    out = tmp_path / f"out{path.suffix}"
    out.write_bytes(label_bytes(spread))
    data = out.read_bytes()
    assert len(pages(data)) < len(pages(spread))
    check_stream(data)
    assert read_labels(data) == [LABEL.to_json()]
    assert audio_md5(out) == audio_md5(path)
    assert decode_errors(out) == ""


def test_large_comment_spans_pages_and_bad_audio_crc_stays_bad() -> None:
    data = small_pages(VORBIS.read_bytes())
    last = pages(data)[-1][0]
    broken = bytearray(data)
    broken[last.offset + last.header_size] ^= 0xFF  # damage the last audio page's body
    out = label_bytes(bytes(broken))
    final = pages(out)[-1][1]
    assert not crc_valid(final)
    assert all(crc_valid(raw) for _, raw in pages(out)[:-1])
    h = ogg.read_headers(io.BytesIO(VORBIS.read_bytes()), DEFAULT_LIMITS)
    assert h is not None
    vc = ogg._comment(h, DEFAULT_LIMITS)
    big = vc.with_label("x" * 70_000)  # bigger than one page
    packets = [b"\x03vorbis" + big.to_bytes(), *h.packets[1:]]
    laid = ogg._paginate(packets, h.serial, 1, False)
    assert len(laid) == 2
    assert PAGE_HEADER.unpack_from(laid[0])[3] == -1  # no packet ends on the first page
    assert all(crc_valid(p) for p in laid)


# ---------------------------------------------------------------- unsupported layouts


@requires_ffmpeg
def test_multiplexed_chained_and_other_codecs(tmp_path: Path) -> None:
    labeled = tmp_path / "a.ogg"
    labeled.write_bytes(label_bytes(VORBIS.read_bytes()))
    mux = tmp_path / "mux.ogg"
    ffmpeg_ok("-i", labeled, "-i", OPUS, "-map", "0", "-map", "1", "-c", "copy", mux)
    assert read_labels(mux.read_bytes()) == [LABEL.to_json()]
    with pytest.raises(UnsupportedFormatError):
        label_bytes(mux.read_bytes())
    flac = tmp_path / "f.oga"
    ffmpeg_ok(
        "-f", "lavfi", "-i", "sine=duration=0.2:sample_rate=8000", "-c:a", "flac", "-f", "ogg", flac
    )
    result = HANDLER.read(io.BytesIO(flac.read_bytes()), DEFAULT_LIMITS)
    assert result.labels == []
    assert result.problems[0].code == "unsupported_codec"
    with pytest.raises(UnsupportedFormatError):
        label_bytes(flac.read_bytes())
    first, second = small_pages(VORBIS.read_bytes()), OPUS.read_bytes()
    out = label_bytes(first + second)
    assert out.endswith(second)
    assert read_labels(out) == [LABEL.to_json()]


# ---------------------------------------------------------------- hostile input


def test_every_truncation_fails_cleanly() -> None:
    data = label_bytes(small_pages(OPUS.read_bytes()))
    with within(10):
        truncations_fail_cleanly(HANDLER, data, step=2)


def test_lying_headers() -> None:
    data = VORBIS.read_bytes()
    first = pages(data)[0][0]
    bad_capture = data[: first.total] + b"OggX" + data[first.total + 4 :]
    lacing = bytearray(data)
    lacing[first.total + PAGE_HEADER.size] = 0xFF  # lengthen the comment page's first segment
    count = bytearray(data)
    comment_at = first.total + PAGE_HEADER.size + 40
    count[comment_at : comment_at + 4] = b"\xff\xff\xff\x7f"
    for case in (bad_capture, bytes(lacing), bytes(count), data[:40]):
        with pytest.raises((CorruptFileError, LimitExceededError)):
            HANDLER.write(io.BytesIO(case), io.BytesIO(), OPTS, DEFAULT_LIMITS)


def test_limits_apply() -> None:
    spread = small_pages(VORBIS.read_bytes(), per_page=1)
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(spread), Limits(max_items=5))
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(spread), Limits(max_metadata_bytes=1000))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutations_fail_cleanly_or_relabel(data: st.DataObject) -> None:
    raw = bytearray(label_bytes(small_pages(OPUS.read_bytes(), per_page=1)))
    inspect_and_label_cleanly(poke(data, raw, len(raw) - 1), ".opus")
