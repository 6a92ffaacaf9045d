"""WAV/RF64/BWF handler on files made by ffmpeg and sox, plus byte-built malformed cases."""

from __future__ import annotations

import io
import re
import struct
import subprocess
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigc_label import api
from aigc_label.errors import CorruptFileError, LimitExceededError
from aigc_label.formats import detect
from aigc_label.formats.wav import WavHandler
from aigc_label.limits import DEFAULT_LIMITS, Limits
from tests.conftest import (
    FIXTURES,
    exiftool,
    exiftool_aigc,
    exiftool_warnings,
    label_bytes,
    make_label,
    read_labels,
    requires_exiftool,
    requires_ffmpeg,
)
from tests.harness import invoke_label, mutate, read_and_write_cleanly, within
from tests.media import audio_md5, exiftool_json, ffmpeg_ok, ffprobe_tags, riff_form
from tests.media import riff_chunk as chunk

HANDLER = WavHandler()
LABEL = make_label()
DIR = FIXTURES / "wav"
PLAIN = DIR / "plain-ffmpeg.wav"
RF64 = DIR / "rf64-bext-info.wav"
PIPE = DIR / "streamed-pipe.wav"
pytestmark = requires_ffmpeg


def top_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Independent strict lister; RF64 data size taken from ds64."""
    assert data[8:12] == b"WAVE"
    out, pos, ds64_data = [], 12, None
    if data[:4] == b"RIFF":
        assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    else:
        assert data[:8] == b"RF64\xff\xff\xff\xff"
        assert struct.unpack("<Q", data[20:28])[0] == len(data) - 8
        ds64_data = struct.unpack("<Q", data[28:36])[0]
    while pos < len(data):
        cid, n = struct.unpack("<4sI", data[pos : pos + 8])
        if n == 0xFFFFFFFF and cid == b"data" and ds64_data is not None:
            n = ds64_data
        out.append((cid, data[pos + 8 : pos + 8 + n]))
        pos += 8 + n + (n & 1)
    assert pos == len(data)
    return out


def ffmpeg_wav(tmp_path: Path, name: str, *args: str) -> Path:
    out = tmp_path / name
    ffmpeg_ok("-f", "lavfi", "-i", "sine=f=440:d=0.3", "-ar", "8000", *args, out)
    return out


@pytest.mark.parametrize("path", [PLAIN, RF64, PIPE], ids=lambda p: p.name)
def test_round_trip_samples_and_layout(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    out.write_bytes(label_bytes(path.read_bytes()))
    assert read_labels(out.read_bytes()) == [LABEL.to_json()]
    assert audio_md5(out) == audio_md5(path)
    ids = [cid for cid, _ in top_chunks(out.read_bytes())]
    assert ids.index(b"AIGC") == ids.index(b"fmt ") + 1 < ids.index(b"data")
    (value,) = [d for cid, d in top_chunks(out.read_bytes()) if cid == b"AIGC"]
    assert value == LABEL.to_json().encode()
    twice = label_bytes(out.read_bytes(), make_label("second", "2"))
    assert read_labels(twice) == [make_label("second", "2").to_json()]
    assert [c for c, _ in top_chunks(twice)].count(b"AIGC") == 1


def test_other_metadata_survives(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    out.write_bytes(label_bytes(RF64.read_bytes()))
    before = {c: d for c, d in top_chunks(RF64.read_bytes()) if c not in (b"ds64", b"data")}
    after = {c: d for c, d in top_chunks(out.read_bytes()) if c not in (b"ds64", b"data")}
    assert after.pop(b"AIGC") == LABEL.to_json().encode()
    assert after == before
    tags = ffprobe_tags(out)
    assert tags["title"] == "hello"
    assert tags["artist"] == "me"


def test_streamed_sizes_are_fixed() -> None:
    data = PIPE.read_bytes()
    assert data[4:8] == b"\xff\xff\xff\xff"
    top_chunks(label_bytes(data))  # sizes now exact


def test_sniff_by_bytes_wrong_extension(tmp_path: Path) -> None:
    odd = tmp_path / "audio.png"
    odd.write_bytes(PLAIN.read_bytes())
    handler = detect(odd.read_bytes()[:64], "png")
    assert handler is not None
    assert handler.name == "wav"
    report = api.inspect_file(odd)
    assert report.format == "wav"


def test_cli_label(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    res = invoke_label(PLAIN, out)
    assert res.exit_code == 0, res.output
    assert api.inspect_file(out).verdict == "compliant"
    assert audio_md5(out) == audio_md5(PLAIN)


def test_ffmpeg_drops_unknown_info_key_but_reads_ours(tmp_path: Path) -> None:
    """ffmpeg's WAV muxer writes only known INFO keys; its demuxer reports every INFO entry."""
    made = ffmpeg_wav(tmp_path, "ff.wav", "-metadata", f"AIGC={LABEL.to_json()}")
    assert read_labels(made.read_bytes()) == []
    assert "AIGC" not in ffprobe_tags(made)
    # an in-the-wild LIST/INFO/AIGC copy: ffprobe shows it, we report it as non-standard
    data = made.read_bytes()
    info = chunk(b"LIST", b"INFO" + chunk(b"AIGC", LABEL.to_json().encode() + b"\x00"))
    wild = data[:4] + struct.pack("<I", len(data) - 8 + len(info)) + data[8:12] + info + data[12:]
    path = tmp_path / "wild.wav"
    path.write_bytes(wild)
    assert ffprobe_tags(path)["AIGC"] == LABEL.to_json()
    found = HANDLER.read(io.BytesIO(wild), DEFAULT_LIMITS).labels
    assert [(f.raw, f.standard) for f in found] == [(LABEL.to_json(), False)]
    out = label_bytes(wild)
    assert [f.standard for f in HANDLER.read(io.BytesIO(out), DEFAULT_LIMITS).labels] == [True]
    assert read_labels(out) == [LABEL.to_json()]
    # the list that held only our label is gone; ffmpeg's own INFO list (ISFT) stays
    assert [c for c, _ in top_chunks(out)].count(b"LIST") == 1


def test_info_list_keeps_other_entries(tmp_path: Path) -> None:
    made = ffmpeg_wav(tmp_path, "t.wav", "-metadata", "title=keep me")
    data = label_bytes(made.read_bytes())
    (info,) = [d for c, d in top_chunks(data) if c == b"LIST"]
    wild = info + chunk(b"AIGC", b"old")
    raw = made.read_bytes().replace(info, wild)
    raw = raw[:4] + struct.pack("<I", len(raw) - 8) + raw[8:]
    out = tmp_path / "out.wav"
    out.write_bytes(label_bytes(raw))
    assert read_labels(out.read_bytes()) == [LABEL.to_json()]
    assert ffprobe_tags(out)["title"] == "keep me"


@requires_exiftool
def test_exiftool_xmp_in_pmx_is_read_and_moved(tmp_path: Path) -> None:
    xmp = tmp_path / "x.xmp"
    exiftool("-XMP-TC260:AIGC=" + LABEL.to_json(), "-XMP-dc:Title=kept", "-o", xmp)
    data = PLAIN.read_bytes()
    pmx = chunk(b"_PMX", xmp.read_bytes())
    data = data[:4] + struct.pack("<I", len(data) - 8 + len(pmx)) + data[8:] + pmx
    src = tmp_path / "pmx.wav"
    src.write_bytes(data)
    assert exiftool_aigc(src) == LABEL.to_json()  # exiftool reads _PMX XMP in WAV
    found = HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels
    assert [(f.raw, f.standard) for f in found] == [(LABEL.to_json(), False)]
    out = tmp_path / "out.wav"
    out.write_bytes(label_bytes(data))
    assert read_labels(out.read_bytes()) == [LABEL.to_json()]
    assert exiftool_aigc(out) is None
    assert exiftool_json(out, "-XMP-dc:Title")["Title"] == "kept"
    assert exiftool_warnings(out) == exiftool_warnings(src)


@requires_exiftool
@pytest.mark.parametrize("path", [PLAIN, RF64], ids=lambda p: p.name)
def test_exiftool_no_new_warnings(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    out.write_bytes(label_bytes(path.read_bytes()))

    # exiftool 12 flags every RF64 file ("Incorrect RIFF chunk size <n> vs. 4294967304")
    def norm(lines: list[str]) -> list[str]:
        return [re.sub(r"\d+", "N", line) for line in lines]

    assert norm(exiftool_warnings(out)) == norm(exiftool_warnings(path))
    assert "Unknown AIGC" in exiftool("-u", "-a", "-G1", out)


def test_sox_reads_output(tmp_path: Path) -> None:
    sox = subprocess.run(["which", "sox"], capture_output=True).returncode == 0
    if not sox:
        pytest.skip("sox not installed")
    src = tmp_path / "sox.wav"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(src), "synth", "0.2", "sine", "440"],
        check=True,
    )
    out = tmp_path / "out.wav"
    out.write_bytes(label_bytes(src.read_bytes()))
    res = subprocess.run(["sox", str(out), "-n", "stat"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert audio_md5(out) == audio_md5(src)


# ---------------------------------------------------------------- malformed input


wav = partial(riff_form, b"WAVE")
FMT16 = chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16))


@pytest.mark.parametrize(
    "data",
    [
        wav(FMT16, chunk(b"AIGC", b"x" * 10), size=0x7FFFFFF0),
        wav(FMT16, b"AIGC" + struct.pack("<I", 0xFFFFFFF0)),
        wav(FMT16, b"LIST" + struct.pack("<I", 8) + b"INFOAIGC"),
        wav(FMT16, chunk(b"LIST", b"IN")),
        b"RF64\xff\xff\xff\xffWAVE" + FMT16,
        b"RF64\xff\xff\xff\xffWAVE" + chunk(b"ds64", b"\x00" * 10),
        b"RF64\xff\xff\xff\xffWAVE"
        + chunk(b"ds64", struct.pack("<QQQI", 1 << 62, 1 << 62, 0, 9999)),
        b"RF64\xff\xff\xff\xffWAVE"
        + chunk(b"ds64", struct.pack("<QQQI", 1 << 62, 1 << 62, 0, 0))
        + b"data\xff\xff\xff\xff"
        + b"\x01" * 9,
        wav(FMT16, chunk(b"_PMX", b"<not xml")),
        b"RIFF\x00\x00\x00\x00WAVE",
        b"RIFF\x04\x00\x00\x00WAVEdata",
    ],
)
def test_malformed_inputs(data: bytes) -> None:
    with within(2):
        read_and_write_cleanly(HANDLER, data)


def test_huge_metadata_chunk_hits_limit() -> None:
    data = wav(FMT16, chunk(b"AIGC", b"x" * 4000))
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(data), Limits(max_metadata_bytes=1000))


def test_chunk_count_limit() -> None:
    data = wav(FMT16, *[chunk(b"JUNK", b"")] * 50)
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(data), Limits(max_items=10))


def test_wrong_form_type() -> None:
    with pytest.raises(CorruptFileError):
        HANDLER.read(io.BytesIO(b"RIFF\x04\x00\x00\x00AVI "), DEFAULT_LIMITS)


def test_every_truncation() -> None:
    labeled = label_bytes(RF64.read_bytes())
    for cut in range(0, len(labeled), 7):
        read_and_write_cleanly(HANDLER, labeled[:cut])


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutation_fuzz(data: st.DataObject) -> None:
    raw = bytearray(
        label_bytes(RF64.read_bytes() if data.draw(st.booleans()) else PLAIN.read_bytes())
    )
    read_and_write_cleanly(HANDLER, mutate(data, raw, kinds=("flip", "ff", "zero", "delete")))


def test_id3_chunk_label_read_and_moved(tmp_path: Path) -> None:
    """A TXXX:AIGC in a WAV ``id3 `` chunk (mutagen/Audacity style) is read and relocated."""
    import mutagen.id3
    import mutagen.wave

    src = tmp_path / "id3.wav"
    src.write_bytes(PLAIN.read_bytes())
    wav = mutagen.wave.WAVE(src)
    wav.add_tags()
    assert wav.tags is not None
    wav.tags.add(mutagen.id3.TIT2(encoding=3, text=["Song"]))
    wav.tags.add(mutagen.id3.TXXX(encoding=3, desc="AIGC", text=['{"Label":"3"}']))
    wav.save()
    found = [
        (f.raw, f.standard)
        for f in HANDLER.read(io.BytesIO(src.read_bytes()), DEFAULT_LIMITS).labels
    ]
    assert found == [('{"Label":"3"}', False)]
    out = label_bytes(src.read_bytes())
    assert read_labels(out) == [make_label().to_json()]
    dst = tmp_path / "out.wav"
    dst.write_bytes(out)
    tags = mutagen.wave.WAVE(dst).tags
    assert tags is not None
    assert str(tags["TIT2"]) == "Song"
    assert not tags.getall("TXXX:AIGC")
