"""WebP handler and the shared RIFF walker, on files made by Pillow, exiftool and by hand."""

from __future__ import annotations

import io
import random
import struct
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image, ImageCms, ImageDraw

from aigc_label import api
from aigc_label.errors import AigcLabelError, CorruptFileError, LimitExceededError, TruncatedError
from aigc_label.formats import _riff, detect
from aigc_label.formats.webp import WebpHandler
from aigc_label.limits import DEFAULT_LIMITS, Limits
from aigc_label.xmp import read_xmp
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
    requires_ffmpeg,
)
from tests.harness import (
    apply_edits,
    byte_edits,
    invoke_label,
    read_and_write_cleanly,
    within,
    write_bytes,
)
from tests.media import ffmpeg, frames, riff_form
from tests.media import riff_chunk as chunk

HANDLER = WebpHandler()
LABEL = make_label()
EXIF_BLOB = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x0e\x01\x02\x00\x04\x00\x00\x00abc\x00"
ICC_BLOB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP_TITLE = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
    b"<xmp:CreatorTool>PillowTest</xmp:CreatorTool></rdf:Description>"
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


# ---------------------------------------------------------------- builders


def _picture(mode: str = "RGB", size: tuple[int, int] = (40, 30), turn: int = 0) -> Image.Image:
    im = Image.new(mode, size, (10, 200, 30, 120) if mode == "RGBA" else (10, 200, 30))
    draw = ImageDraw.Draw(im)
    draw.ellipse((5, 5, 30, 25), fill=(255, 0, 0, 255) if mode == "RGBA" else (255, 0, 0))
    draw.line((0, 0, 39, 29), fill=(0, 0, 255, 255) if mode == "RGBA" else (0, 0, 255))
    return im.rotate(turn) if turn else im


def _save(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "WEBP", **kw)
    return buf.getvalue()


def make_webp(kind: str) -> bytes:
    if kind == "lossy":
        return _save(_picture(), quality=80)
    if kind == "lossless":
        return _save(_picture(), lossless=True)
    if kind == "lossless_alpha":
        return _save(_picture("RGBA"), lossless=True)
    if kind == "lossy_alpha":
        return _save(_picture("RGBA"), quality=80)
    if kind == "animated":
        frames = [_picture(turn=t) for t in (0, 90, 180)]
        return _save(
            frames[0], save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=0
        )
    if kind == "metadata":
        return _save(_picture(), quality=80, exif=EXIF_BLOB, icc_profile=ICC_BLOB, xmp=XMP_TITLE)
    if kind == "animated_metadata":
        frames = [_picture("RGBA", turn=t) for t in (0, 45)]
        return _save(
            frames[0],
            save_all=True,
            append_images=frames[1:],
            duration=[70, 140],
            lossless=True,
            exif=EXIF_BLOB,
            icc_profile=ICC_BLOB,
            xmp=XMP_TITLE,
        )
    raise AssertionError(kind)


KINDS = [
    "lossy",
    "lossless",
    "lossless_alpha",
    "lossy_alpha",
    "animated",
    "metadata",
    "animated_metadata",
]
STILL = [k for k in KINDS if not k.startswith("animated")]


riff = partial(riff_form, b"WEBP")
write = partial(write_bytes, HANDLER)


def chunks_of(data: bytes) -> list[tuple[bytes, bytes]]:
    """An independent, strict chunk lister for checking output layout."""
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WEBP"
    (size,) = struct.unpack("<I", data[4:8])
    assert size == len(data) - 8, "RIFF size must match the file"
    out, pos = [], 12
    while pos < len(data):
        cid, n = struct.unpack("<4sI", data[pos : pos + 8])
        out.append((cid, data[pos + 8 : pos + 8 + n]))
        if n & 1:
            assert data[pos + 8 + n] == 0, "pad byte must be zero"
        pos += 8 + n + (n & 1)
    assert pos == len(data)
    return out


@pytest.fixture(scope="module")
def samples() -> dict[str, bytes]:
    return {k: make_webp(k) for k in KINDS}


# ---------------------------------------------------------------- sniffing


def test_sniff() -> None:
    assert HANDLER.sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    assert not HANDLER.sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    assert not HANDLER.sniff(b"RIFF\x00\x00")
    found = detect(make_webp("lossy")[:64], "png")
    assert found is not None
    assert found.name == "webp"


def test_wrong_extension_is_still_webp(tmp_path: Path) -> None:
    path = tmp_path / "really-webp.png"
    path.write_bytes(label_bytes(make_webp("lossless")))
    report = api.inspect_file(path)
    assert report.format == "webp"
    assert report.verdict == "compliant"
    assert report.label == LABEL


# ---------------------------------------------------------------- writing


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_layout_and_pixels(samples: dict[str, bytes], kind: str) -> None:
    src = samples[kind]
    out = label_bytes(src)
    assert read_labels(out) == [LABEL.to_json()]
    # Layout: VP8X first with the XMP flag, exactly one XMP chunk after image data and EXIF.
    before, after = chunks_of(src), chunks_of(out)
    ids = [cid for cid, _ in after]
    assert ids[0] == b"VP8X"
    assert after[0][1][0] & 0x04
    assert ids.count(b"XMP ") == 1
    assert ids[-1] == b"XMP "
    # Image and other metadata chunks are byte-identical and in the same order.
    kept_in = [(c, d) for c, d in before if c not in (b"VP8X", b"XMP ")]
    kept_out = [(c, d) for c, d in after if c not in (b"VP8X", b"XMP ")]
    assert kept_in == kept_out
    if before[0][0] == b"VP8X":
        assert after[0][1][0] == before[0][1][0] | 0x04
        assert after[0][1][1:] == before[0][1][1:]
    # Pixels (every frame) and durations.
    assert frames(out) == frames(src)
    assert len(frames(out)) == {"animated": 3, "animated_metadata": 2}.get(kind, 1)


@pytest.mark.parametrize(
    ("kind", "flags"), [("lossy", 0x04), ("lossless", 0x04), ("lossless_alpha", 0x14)]
)
def test_simple_to_extended_vp8x(samples: dict[str, bytes], kind: str, flags: int) -> None:
    out = chunks_of(label_bytes(samples[kind]))
    assert [c for c, _ in out] == [b"VP8X", chunks_of(samples[kind])[0][0], b"XMP "]
    vp8x = out[0][1]
    assert len(vp8x) == 10
    assert vp8x[0] == flags
    assert vp8x[1:4] == b"\x00\x00\x00"
    assert int.from_bytes(vp8x[4:7], "little") + 1 == 40
    assert int.from_bytes(vp8x[7:10], "little") + 1 == 30
    with Image.open(io.BytesIO(label_bytes(samples[kind]))) as im:
        assert im.size == (40, 30)


def test_write_twice_one_label(samples: dict[str, bytes]) -> None:
    for kind in ("lossy", "animated", "metadata"):
        once = label_bytes(samples[kind])
        other = make_label("0190f0c8-7d3a-7b1e-8f00-000000000002")
        twice = label_bytes(once, other)
        assert read_labels(twice) == [other.to_json()]
        assert [c for c, _ in chunks_of(twice)].count(b"XMP ") == 1
        assert len(twice) == len(once)


@pytest.mark.parametrize(
    ("kind", "layout"),
    [
        ("metadata", [b"VP8X", b"ICCP", b"VP8 ", b"EXIF", b"XMP "]),
        ("animated_metadata", [b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ANMF", b"EXIF", b"XMP "]),
    ],
)
def test_other_metadata_survives(samples: dict[str, bytes], kind: str, layout: list[bytes]) -> None:
    src = samples[kind]
    out = label_bytes(src)
    assert [c for c, _ in chunks_of(out)] == layout
    with Image.open(io.BytesIO(out)) as im:
        assert im.info["exif"] == EXIF_BLOB[6:] or im.info["exif"] == EXIF_BLOB
        assert im.info["icc_profile"] == ICC_BLOB
        xmp = im.info["xmp"]
    assert b"<xmp:CreatorTool>PillowTest</xmp:CreatorTool>" in xmp
    assert read_xmp(xmp).aigc == [LABEL.to_json()]


def test_unknown_chunks_stay_after_xmp_and_odd_sizes_padded() -> None:
    vp8l = chunks_of(make_webp("lossless"))[0]
    src = riff(chunk(b"VP8L", vp8l[1]), chunk(b"EXIF", b"odd"), chunk(b"ABCD", b"xyz"))
    out = write(src)
    got = chunks_of(out)
    assert [c for c, _ in got] == [b"VP8X", b"VP8L", b"EXIF", b"XMP ", b"ABCD"]
    assert got[0][1][0] == 0x04 | 0x08  # XMP + EXIF flags
    assert got[2][1] == b"odd"
    assert got[4][1] == b"xyz"


def test_missing_final_pad_byte_is_repaired() -> None:
    vp8l = chunks_of(make_webp("lossless"))[0][1]
    body = b"WEBP" + chunk(b"VP8L", vp8l) + chunk(b"ABCD", b"xyz")[:-1]  # pad byte dropped
    src = b"RIFF" + struct.pack("<I", len(body)) + body
    assert HANDLER.read(io.BytesIO(src), DEFAULT_LIMITS).labels == []
    out = chunks_of(write(src))
    assert out[-1] == (b"ABCD", b"xyz")


def test_trailing_bytes_after_form_are_kept() -> None:
    src = make_webp("lossy") + b"TRAILER"
    out = write(src)
    assert out.endswith(b"TRAILER")
    chunks_of(out[: -len(b"TRAILER")])
    assert read_labels(out) == [LABEL.to_json()]


def test_duplicate_xmp_chunks_reported_then_merged(samples: dict[str, bytes]) -> None:
    labeled = label_bytes(samples["lossy_alpha"])
    parts = chunks_of(labeled)
    xmp = dict(parts)[b"XMP "]
    dup = riff(*(chunk(c, d) for c, d in parts), chunk(b"XMP ", xmp))
    found = HANDLER.read(io.BytesIO(dup), DEFAULT_LIMITS).labels
    assert len(found) == 2
    assert {f.offset for f in found} == {
        off for off in (dup.find(b"XMP "), dup.rfind(b"XMP ")) if off > 0
    }
    report = api.inspect_stream(io.BytesIO(dup), "dup.webp")
    assert any(p.code == "duplicate_label" for p in report.problems)
    fixed = label_bytes(dup)
    assert read_labels(fixed) == [LABEL.to_json()]
    assert [c for c, _ in chunks_of(fixed)].count(b"XMP ") == 1


def test_unflagged_xmp_is_nonstandard_and_fixed(samples: dict[str, bytes]) -> None:
    xmp = dict(chunks_of(label_bytes(samples["lossy"])))[b"XMP "]
    vp8 = chunks_of(samples["lossy"])[0][1]
    simple_with_xmp = riff(chunk(b"VP8 ", vp8), chunk(b"XMP ", xmp))
    result = HANDLER.read(io.BytesIO(simple_with_xmp), DEFAULT_LIMITS)
    assert [f.standard for f in result.labels] == [False]
    assert any(p.code == "webp_xmp_unflagged" for p in result.problems)
    out = write(simple_with_xmp)
    assert [c for c, _ in chunks_of(out)] == [b"VP8X", b"VP8 ", b"XMP "]
    again = HANDLER.read(io.BytesIO(out), DEFAULT_LIMITS)
    assert [f.standard for f in again.labels] == [True]
    assert again.problems == []


def test_malformed_existing_xmp_is_not_dropped(samples: dict[str, bytes]) -> None:
    vp8 = chunks_of(samples["lossy"])[0][1]
    bad = riff(chunk(b"VP8 ", vp8), chunk(b"XMP ", b"<x:xmpmeta><unclosed"))
    result = HANDLER.read(io.BytesIO(bad), DEFAULT_LIMITS)
    assert result.labels == []
    assert any(p.code == "xmp_unreadable" for p in result.problems)
    with pytest.raises(CorruptFileError):
        write(bad)


def test_label_file_and_cli(tmp_path: Path, samples: dict[str, bytes]) -> None:
    src = tmp_path / "in.webp"
    src.write_bytes(samples["animated"])
    outcome = api.label_file(src, tmp_path / "out.webp", api.LabelRequest(producer=PRODUCER))
    assert outcome.format == "webp"
    assert src.read_bytes() == samples["animated"]
    cli_out = tmp_path / "cli.webp"
    res = invoke_label(src, cli_out)
    assert res.exit_code == 0, res.output
    report = api.inspect_file(cli_out)
    assert report.verdict == "compliant"
    assert report.digital_source_types == [
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    ]


def test_read_does_not_touch_input(samples: dict[str, bytes]) -> None:
    data = label_bytes(samples["metadata"])
    buf = io.BytesIO(data)
    HANDLER.read(buf, DEFAULT_LIMITS)
    assert buf.getvalue() == data


def test_exiftool_labeled_fixture_is_read() -> None:
    data = (FIXTURES / "webp" / "labeled-exiftool.webp").read_bytes()
    labels = read_labels(data)
    assert len(labels) == 1
    assert '"ProduceID":"0190f0c8-7d3a-7b1e-8f00-0000000000aa"' in labels[0]
    out = label_bytes(data)
    assert read_labels(out) == [LABEL.to_json()]
    with Image.open(io.BytesIO(out)) as im:
        assert b"Fixture" in im.info["xmp"]


# ---------------------------------------------------------------- external tools


@requires_exiftool
@pytest.mark.parametrize("kind", KINDS)
def test_exiftool_reads_label_without_new_warnings(
    tmp_path: Path, samples: dict[str, bytes], kind: str
) -> None:
    src, dst = tmp_path / "in.webp", tmp_path / "out.webp"
    src.write_bytes(samples[kind])
    dst.write_bytes(label_bytes(samples[kind]))
    assert exiftool_aigc(dst) == LABEL.to_json()
    assert set(exiftool_warnings(dst)) <= set(exiftool_warnings(src))


@requires_exiftool
def test_exiftool_metadata_survives(tmp_path: Path, samples: dict[str, bytes]) -> None:
    src = tmp_path / "in.webp"
    src.write_bytes(samples["lossy"])
    exiftool(
        "-overwrite_original",
        "-XMP-dc:Title=Sunset",
        "-XMP-xmp:CreatorTool=SomeTool",
        "-EXIF:Artist=Someone",
        src,
    )
    dst = tmp_path / "out.webp"
    dst.write_bytes(label_bytes(src.read_bytes()))
    got = exiftool("-s3", "-XMP-dc:Title", "-XMP-xmp:CreatorTool", "-EXIF:Artist", dst).split()
    assert got == ["Sunset", "SomeTool", "Someone"]
    assert exiftool_aigc(dst) == LABEL.to_json()
    assert set(exiftool_warnings(dst)) <= set(exiftool_warnings(src))
    assert frames(dst.read_bytes()) == frames(samples["lossy"])


@requires_exiftool
@pytest.mark.parametrize("kind", ["lossy", "animated"])
def test_label_written_by_exiftool_is_read(
    tmp_path: Path, samples: dict[str, bytes], kind: str
) -> None:
    path = tmp_path / "x.webp"
    path.write_bytes(samples[kind])
    value = make_label("0190f0c8-7d3a-7b1e-8f00-00000000e71f").to_json()
    exiftool("-overwrite_original", f"-XMP-TC260:AIGC={value}", path)
    assert read_labels(path.read_bytes()) == [value]


@requires_ffmpeg
@pytest.mark.parametrize("kind", STILL)
def test_ffmpeg_decodes_output(tmp_path: Path, samples: dict[str, bytes], kind: str) -> None:
    path = tmp_path / "out.webp"
    path.write_bytes(label_bytes(samples[kind]))
    res = ffmpeg("-i", path, "-f", "null", "-")
    assert res.returncode == 0
    assert res.stderr == ""


# ---------------------------------------------------------------- hostile input


def test_truncation_at_every_offset(samples: dict[str, bytes]) -> None:
    for kind in ("lossless", "metadata"):
        data = label_bytes(samples[kind])
        with within(10):
            for cut in range(len(data)):
                read_and_write_cleanly(HANDLER, data[:cut])


def test_truncated_file_raises_truncated(samples: dict[str, bytes]) -> None:
    data = samples["lossy"]
    with pytest.raises(TruncatedError):
        HANDLER.read(io.BytesIO(data[:-5]), DEFAULT_LIMITS)
    with pytest.raises(TruncatedError):
        write(data[:10])


@pytest.mark.parametrize(
    "data",
    [
        riff(size=0xFFFF_FFF0),
        riff(chunk(b"VP8 ", b"\x00" * 10), size=2),
        riff(),
        riff(b"VP8X" + struct.pack("<I", 0xFFFF_FFF0) + b"\x00" * 10),
        riff(chunk(b"VP8X", b"\x04")),
        riff(chunk(b"ABCD", b"x" * 10)),
        riff(chunk(b"VP8L", b"\x2f\x00\x00\x00\x00"), b"XMP " + struct.pack("<I", 1 << 31)),
        riff(chunk(b"VP8L", b"\x2f\x00\x00\x00\x00"), b"XM"),
        b"RIFF\x04\x00\x00\x00WEBX",
        b"RIFF",
    ],
)
def test_lying_lengths_and_bad_headers(data: bytes) -> None:
    for call in (lambda: HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS), lambda: write(data)):
        with pytest.raises(AigcLabelError):
            call()


@pytest.mark.parametrize(
    "image",
    [
        chunk(b"VP8 ", b"\x00" * 4),
        chunk(b"VP8 ", b"\x01\x00\x00\x9d\x01\x2a\x10\x00\x10\x00"),
        chunk(b"VP8 ", b"\x00\x00\x00\x9d\x01\x2a\x00\x00\x10\x00"),
        chunk(b"VP8L", b"\x2e\x00\x00\x00\x00"),
        chunk(b"VP8L", b"\x2f"),
    ],
)
def test_bad_simple_image_header_refused_on_write(image: bytes) -> None:
    data = riff(image)
    assert HANDLER.read(io.BytesIO(data), DEFAULT_LIMITS).labels == []
    with pytest.raises(CorruptFileError):
        write(data)


def test_limits_apply(samples: dict[str, bytes]) -> None:
    vp8l = chunks_of(samples["lossless"])[0][1]
    many = riff(chunk(b"VP8L", vp8l), *(chunk(b"JUNK", b"") for _ in range(50)))
    tight = Limits(max_items=20)
    for call in (lambda: HANDLER.read(io.BytesIO(many), tight), lambda: write(many, tight)):
        with pytest.raises(LimitExceededError):
            call()
    labeled = label_bytes(samples["lossless"])
    small = Limits(max_metadata_bytes=100)
    with pytest.raises(LimitExceededError):
        HANDLER.read(io.BytesIO(labeled), small)


def test_random_bytes_after_magic() -> None:
    rng = random.Random(1234)
    for _ in range(300):
        tail = rng.randbytes(rng.randrange(0, 200))
        read_and_write_cleanly(HANDLER, b"RIFF" + struct.pack("<I", len(tail) + 4) + b"WEBP" + tail)
        read_and_write_cleanly(HANDLER, b"RIFF" + rng.randbytes(4) + b"WEBP" + tail)


_FUZZ_BASE = label_bytes(make_webp("metadata"))
"""A labeled extended file with ICC, EXIF and XMP: every chunk kind the handler edits."""


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mutations=byte_edits(min_size=1, max_size=8))
def test_fuzz_mutated_labeled_file(mutations: list[tuple[int, int]]) -> None:
    read_and_write_cleanly(HANDLER, apply_edits(_FUZZ_BASE, mutations))


# ---------------------------------------------------------------- shared RIFF walker


def test_riff_walker_lists_and_rf64() -> None:
    inner = chunk(b"INAM", b"title") + chunk(b"AIGC", b"{}")
    wave = b"WAVE" + chunk(b"fmt ", b"\x00" * 16) + chunk(b"LIST", b"INFO" + inner)
    data = b"RIFF" + struct.pack("<I", len(wave)) + wave
    f = io.BytesIO(data)
    form = _riff.read_form(f, "wav")
    assert (form.form_type, form.end) == (b"WAVE", len(data))
    top = list(_riff.iter_chunks(f, form.body_start, form.end, "wav", DEFAULT_LIMITS))
    assert [c.cid for c in top] == [b"fmt ", b"LIST"]
    assert _riff.read_list_type(f, top[1], "wav") == b"INFO"
    sub = list(
        _riff.iter_chunks(
            f, top[1].data_offset + 4, top[1].data_end, "wav", DEFAULT_LIMITS, depth=1
        )
    )
    assert [(c.cid, c.size, c.padded_size) for c in sub] == [(b"INAM", 5, 6), (b"AIGC", 2, 2)]
    with pytest.raises(LimitExceededError):
        list(_riff.iter_chunks(f, 12, form.end, "wav", Limits(max_depth=0), depth=1))
    # A streaming writer's oversized form size: strict by default, clamped on request.
    grown = b"RIFF" + struct.pack("<I", len(wave) + 1000) + wave
    with pytest.raises(TruncatedError):
        _riff.read_form(io.BytesIO(grown), "wav")
    assert _riff.read_form(io.BytesIO(grown), "wav", clamp=True).end == len(grown)
    zero = b"RIFF\x00\x00\x00\x00" + wave
    assert _riff.read_form(io.BytesIO(zero), "wav", clamp=True).end == len(zero)
    # RF64: placeholder sizes are resolved from the caller's ds64 table.
    body = b"WAVE" + b"data" + struct.pack("<I", 0xFFFF_FFFF) + b"abcd"
    rf64 = b"RF64" + struct.pack("<I", 0xFFFF_FFFF) + body
    g = io.BytesIO(rf64)
    form64 = _riff.read_form(g, "wav", _riff.RF64_IDS)
    got = list(
        _riff.iter_chunks(
            g, form64.body_start, len(rf64), "wav", DEFAULT_LIMITS, large_sizes={b"data": 4}
        )
    )
    assert [(c.cid, c.size) for c in got] == [(b"data", 4)]
    with pytest.raises(CorruptFileError):
        list(_riff.iter_chunks(g, form64.body_start, len(rf64), "wav", DEFAULT_LIMITS))


def test_riff_chunk_writers() -> None:
    assert _riff.chunk_bytes(b"AIGC", b"abc") == b"AIGC\x03\x00\x00\x00abc\x00"
    assert _riff.chunk_total(3) == 12
    buf = io.BytesIO()
    assert _riff.write_chunk(buf, b"ABCD", b"xy") == 10
    src = io.BytesIO(b"ABCD\x03\x00\x00\x00xyz")  # missing pad at EOF
    (c,) = _riff.iter_chunks(src, 0, len(src.getvalue()), "riff", DEFAULT_LIMITS)
    dst = io.BytesIO()
    assert _riff.copy_chunk(src, dst, c) == 12
    assert dst.getvalue() == b"ABCD\x03\x00\x00\x00xyz\x00"
    with pytest.raises(CorruptFileError):
        _riff.chunk_header(b"ABC", 1)
    with pytest.raises(LimitExceededError):
        _riff.chunk_header(b"ABCD", 1 << 32)
