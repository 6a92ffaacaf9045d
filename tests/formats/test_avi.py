"""AVI handler on ffmpeg files and byte-edited variants (no JUNK, absolute idx1, OpenDML)."""

from __future__ import annotations

import io
import struct
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigc_label import api
from aigc_label.errors import LimitExceededError, UnsupportedFormatError
from aigc_label.formats import detect
from aigc_label.formats.avi import AviHandler
from aigc_label.limits import Limits
from tests.conftest import (
    FIXTURES,
    exiftool,
    exiftool_warnings,
    label_bytes,
    make_label,
    read_labels,
    requires_exiftool,
    requires_ffmpeg,
)
from tests.harness import mutate, read_and_write_cleanly, within
from tests.media import ffmpeg_ok, ffprobe_tags, framemd5, riff_form
from tests.media import riff_chunk as chunk

HANDLER = AviHandler()
LABEL = make_label()
SRC = FIXTURES / "avi" / "ffmpeg-mpeg4-pcm.avi"
pytestmark = requires_ffmpeg


def top(data: bytes) -> list[tuple[bytes, int, int]]:
    """(id or list type, offset, total size) of each top-level chunk; checks the RIFF size."""
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"AVI "
    (size,) = struct.unpack("<I", data[4:8])
    end = 8 + size
    out, pos = [], 12
    while pos < end:
        cid, n = struct.unpack("<4sI", data[pos : pos + 8])
        name = data[pos + 8 : pos + 12] if cid == b"LIST" else cid
        out.append((name, pos, 8 + n + (n & 1)))
        pos += 8 + n + (n & 1)
    assert pos == end
    return out


def info_entries(data: bytes) -> dict[bytes, bytes]:
    (_, pos, total) = next(c for c in top(data) if c[0] == b"INFO")
    out, p = {}, pos + 12
    while p < pos + total:
        cid, n = struct.unpack("<4sI", data[p : p + 8])
        out[cid] = data[p + 8 : p + 8 + n]
        p += 8 + n + (n & 1)
    return out


def without_top_junk(data: bytes) -> bytes:
    """The fixture with its top-level JUNK removed (so labeling must move ``movi``)."""
    (_, pos, total) = next(c for c in top(data) if c[0] == b"JUNK")
    out = data[:pos] + data[pos + total :]
    return out[:4] + struct.pack("<I", len(out) - 8) + out[8:]


def absolute_idx1(data: bytes) -> bytes:
    """Rewrite idx1 offsets as absolute file positions (what some old writers did)."""
    movi = next(c for c in top(data) if c[0] == b"movi")
    (_, pos, total) = next(c for c in top(data) if c[0] == b"idx1")
    raw = bytearray(data)
    for at in range(pos + 8, pos + total, 16):
        (off,) = struct.unpack_from("<I", raw, at + 8)
        struct.pack_into("<I", raw, at + 8, off + movi[1] + 8)
    return bytes(raw)


def check_output(src: Path, out: Path) -> None:
    assert read_labels(out.read_bytes()) == [LABEL.to_json()]
    assert framemd5(out) == framemd5(src)
    assert framemd5(out, "-ss", "0.6") == framemd5(src, "-ss", "0.6")  # index-based seek
    assert ffprobe_tags(out)["AIGC"] == LABEL.to_json()  # ffmpeg reports INFO entries
    assert ffprobe_tags(out)["title"] == "hello"
    assert info_entries(out.read_bytes())[b"AIGC"] == LABEL.to_json().encode() + b"\x00"


def test_junk_absorbs_label_no_offset_moves(tmp_path: Path) -> None:
    data = SRC.read_bytes()
    out = tmp_path / "out.avi"
    out.write_bytes(label_bytes(data))
    check_output(SRC, out)
    movi_before = next(c for c in top(data) if c[0] == b"movi")
    movi_after = next(c for c in top(out.read_bytes()) if c[0] == b"movi")
    assert movi_after == movi_before
    assert len(out.read_bytes()) == len(data)
    assert out.read_bytes()[movi_before[1] :] == data[movi_before[1] :]
    twice = label_bytes(out.read_bytes(), make_label("second", "2"))
    assert read_labels(twice) == [make_label("second", "2").to_json()]
    assert len(twice) == len(data)


@pytest.mark.parametrize("absolute", [False, True])
def test_without_junk_movi_moves_and_index_stays_valid(absolute: bool, tmp_path: Path) -> None:
    data = without_top_junk(SRC.read_bytes())
    if absolute:
        data = absolute_idx1(data)
    src = tmp_path / "src.avi"
    src.write_bytes(data)
    assert framemd5(src) == framemd5(SRC)
    out = tmp_path / "out.avi"
    out.write_bytes(label_bytes(data))
    assert len(out.read_bytes()) > len(data)
    check_output(SRC, out)
    labeled = out.read_bytes()
    movi = next(c for c in top(labeled) if c[0] == b"movi")
    (_, pos, total) = next(c for c in top(labeled) if c[0] == b"idx1")
    base = 0 if absolute else movi[1] + 8
    for at in range(pos + 8, pos + total, 16):
        ckid, _, off, _ = struct.unpack_from("<4sIII", labeled, at)
        assert labeled[base + off : base + off + 4] == ckid
    shorter = label_bytes(out.read_bytes(), make_label("x"))
    assert read_labels(shorter) == [make_label("x").to_json()]


def _fake_opendml(data: bytes) -> bytes:
    """Rename the first strl JUNK placeholder to ``indx`` (marks the file as OpenDML)."""
    return data.replace(b"JUNK\x18\x10\x00\x00\x04\x00", b"indx\x18\x10\x00\x00\x04\x00", 1)


def test_opendml_uses_junk_or_refuses() -> None:
    data = _fake_opendml(SRC.read_bytes())
    assert data != SRC.read_bytes()
    out = label_bytes(data)
    assert len(out) == len(data)
    bare = _fake_opendml(without_top_junk(SRC.read_bytes()))
    with pytest.raises(UnsupportedFormatError):
        label_bytes(bare)


def test_avix_forms_copied_verbatim() -> None:
    avix = b"RIFF" + struct.pack("<I", 16) + b"AVIX" + chunk(b"LIST", b"movi" + b"x" * 4)
    data = SRC.read_bytes() + avix
    out = label_bytes(data)
    assert out.endswith(avix)
    assert read_labels(out) == [LABEL.to_json()]
    with pytest.raises(UnsupportedFormatError):
        label_bytes(without_top_junk(SRC.read_bytes()) + avix)


def test_missing_info_list_is_created(tmp_path: Path) -> None:
    data = SRC.read_bytes()
    (_, pos, total) = next(c for c in top(data) if c[0] == b"INFO")
    bare = data[:pos] + chunk(b"JUNK", bytes(total - 8)) + data[pos + total :]
    src = tmp_path / "src.avi"
    src.write_bytes(bare)
    out = tmp_path / "out.avi"
    out.write_bytes(label_bytes(bare))
    assert len(out.read_bytes()) == len(bare)
    assert read_labels(out.read_bytes()) == [LABEL.to_json()]
    assert framemd5(out) == framemd5(src)
    names = [c[0] for c in top(out.read_bytes())]
    assert names.index(b"hdrl") < names.index(b"INFO") < names.index(b"movi")


def test_ffmpeg_drops_aigc_key_on_mux(tmp_path: Path) -> None:
    made = tmp_path / "ff.avi"
    ffmpeg_ok("-i", SRC, "-c", "copy", "-metadata", f"AIGC={LABEL.to_json()}", made)
    assert "AIGC" not in ffprobe_tags(made)
    assert read_labels(made.read_bytes()) == []


def test_sniff_by_bytes(tmp_path: Path) -> None:
    odd = tmp_path / "clip.wav"
    odd.write_bytes(SRC.read_bytes())
    handler = detect(odd.read_bytes()[:64], "wav")
    assert handler is not None
    assert handler.name == "avi"
    assert api.inspect_file(odd).format == "avi"


@requires_exiftool
def test_exiftool_sees_entry_and_no_new_warnings(tmp_path: Path) -> None:
    out = tmp_path / "out.avi"
    out.write_bytes(label_bytes(SRC.read_bytes()))
    assert exiftool_warnings(out) == exiftool_warnings(SRC)
    listing = exiftool("-u", "-a", "-G1", out)
    assert "Unknown AIGC" in listing
    assert "Title                           : hello" in listing


# ---------------------------------------------------------------- malformed input


avi = partial(riff_form, b"AVI ")


@pytest.mark.parametrize(
    "data",
    [
        avi(chunk(b"LIST", b"hdrl"), b"LIST" + struct.pack("<I", 0xFFFFFFF0) + b"INFO"),
        avi(chunk(b"LIST", b"INFO" + b"AIGC" + struct.pack("<I", 999))),
        avi(chunk(b"LIST", b"IN")),
        avi(chunk(b"LIST", b"movi"), chunk(b"idx1", b"00dc" + b"\xff" * 12)),
        avi(chunk(b"LIST", b"hdrl" + chunk(b"LIST", b"strl" + chunk(b"indx", b"")))),
        avi(),
        b"RIFF\xff\xff\xff\xffAVI ",
    ],
)
def test_malformed_inputs(data: bytes) -> None:
    with within(2):
        read_and_write_cleanly(HANDLER, data)


def test_deep_nesting_is_bounded() -> None:
    inner = chunk(b"LIST", b"strl")
    for _ in range(40):
        inner = chunk(b"LIST", b"strl" + inner)
    read_and_write_cleanly(HANDLER, avi(chunk(b"LIST", b"hdrl" + inner)))


def test_limits_apply() -> None:
    data = label_bytes(SRC.read_bytes())
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(data), Limits(max_metadata_bytes=100))
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(data), Limits(max_items=3))


def test_every_truncation() -> None:
    labeled = label_bytes(SRC.read_bytes())
    for cut in range(0, len(labeled), 37):
        read_and_write_cleanly(HANDLER, labeled[:cut])


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutation_fuzz(data: st.DataObject) -> None:
    raw = bytearray(label_bytes(SRC.read_bytes()))
    read_and_write_cleanly(HANDLER, mutate(data, raw, kinds=("flip", "ff", "zero", "delete")))


def test_streamed_sizes_are_fixed(tmp_path: Path) -> None:
    src = FIXTURES / "avi" / "streamed-pipe.avi"
    assert src.read_bytes()[4:8] == b"\xff\xff\xff\xff"
    out = tmp_path / "out.avi"
    out.write_bytes(label_bytes(src.read_bytes()))
    top(out.read_bytes())  # RIFF and movi sizes now exact
    assert read_labels(out.read_bytes()) == [LABEL.to_json()]
    assert framemd5(out) == framemd5(src)
    assert ffprobe_tags(out)["AIGC"] == LABEL.to_json()
