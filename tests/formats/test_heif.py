"""HEIF/HEIC/AVIF handler: XMP item in meta/iinf/iloc (spec section 4).

Real files come from pillow-heif (HEIC) and Pillow's native AVIF plugin; edge
cases (iloc versions and field sizes, 32-bit item IDs, image sequences with
``moov`` chunk offsets, several XMP items) are built byte by byte.
"""

from __future__ import annotations

import io
import json
import random
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageSequence

from aigc_label import api
from aigc_label.errors import AigcLabelError, CorruptFileError, LimitExceededError, TruncatedError
from aigc_label.formats import detect
from aigc_label.formats._bmff import Box, Budget, iter_buffer_boxes, shift_chunk_offsets
from aigc_label.formats.heif import HeifHandler, _item_data, _parse_meta, _top_level
from aigc_label.limits import DEFAULT_LIMITS, Limits
from tests.conftest import (
    exiftool,
    exiftool_aigc,
    exiftool_warnings,
    have,
    label_bytes,
    make_label,
    read_labels,
    requires_exiftool,
)
from tests.harness import poke, read_and_write_cleanly
from tests.media import exiftool_json, ffprobe_errors

pillow_heif = pytest.importorskip("pillow_heif")
pillow_heif.register_heif_opener()

H = HeifHandler()
XMP_TITLE = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Hello</rdf:li></rdf:Alt></dc:title>'
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def _image(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    im = Image.new(mode, size)
    im.putdata([((x * 7) % 256, (y * 5) % 256, (x * y) % 256, 200)[: len(mode)]
                for y in range(size[1]) for x in range(size[0])])  # fmt: skip
    return im


def _encode(fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    _image(mode=str(kw.pop("mode", "RGB"))).save(out, format=fmt, **kw)
    return out.getvalue()


def _exif() -> bytes:
    ex = Image.Exif()
    ex[0x010F] = "TestMaker"
    return ex.tobytes()


@pytest.fixture(scope="module")
def heic() -> bytes:
    return _encode("HEIF", exif=_exif(), xmp=XMP_TITLE)


@pytest.fixture(scope="module")
def avif() -> bytes:
    return _encode("AVIF", exif=_exif(), xmp=XMP_TITLE)


def _frames(data: bytes) -> list[bytes]:
    """Decoded pixels of every image (Pillow: native AVIF, pillow-heif for HEIC)."""
    with Image.open(io.BytesIO(data)) as im:
        return [frame.convert(im.mode).tobytes() for frame in ImageSequence.Iterator(im)]


def _aigc(data: bytes) -> list[dict[str, str]]:
    return [json.loads(v) for v in read_labels(data)]


# --- real files ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["plain-heic", "plain-avif", "meta-heic", "meta-avif", "alpha"])
def test_round_trip_pixels_and_relabel(kind: str, heic: bytes, avif: bytes) -> None:
    data = {
        "plain-heic": lambda: _encode("HEIF"),
        "plain-avif": lambda: _encode("AVIF"),
        "meta-heic": lambda: heic,
        "meta-avif": lambda: avif,
        "alpha": lambda: _encode("HEIF", mode="RGBA"),
    }[kind]()
    assert H.sniff(data[:64])
    assert read_labels(data) == []
    once = label_bytes(data)
    assert _aigc(once) == [make_label().to_dict()]
    twice = label_bytes(once, make_label("second-id", "2"))
    assert [d["ProduceID"] for d in _aigc(twice)] == ["second-id"]
    assert _frames(twice) == _frames(data)
    assert len(twice) <= len(once) + 16  # our own XMP mdat is replaced, not stacked


def test_every_item_payload_kept(heic: bytes) -> None:
    out = label_bytes(label_bytes(heic))
    before, after = _items(heic), _items(out)
    xmp_ids = _xmp_ids(out)
    assert {k: v for k, v in after.items() if k not in xmp_ids} == {
        k: v for k, v in before.items() if k not in xmp_ids
    }
    assert len(xmp_ids) == 1


def test_multi_image_and_thumbnail() -> None:
    ims = [_image(), Image.new("RGB", (64, 48), (9, 99, 199))]
    buf = io.BytesIO()
    ims[0].save(buf, format="HEIF", save_all=True, append_images=ims[1:])
    thumb = _encode("HEIF", thumbnails=[16])
    for data in (buf.getvalue(), thumb):
        out = label_bytes(data)
        assert len(read_labels(out)) == 1
        assert _frames(out) == _frames(data)
        assert _items(out).items() >= {k: v for k, v in _items(data).items()}.items()


@requires_exiftool
@pytest.mark.parametrize("ext", ["heic", "avif"])
def test_exiftool_reads_ours_and_keeps_metadata(
    ext: str, heic: bytes, avif: bytes, tmp_path: Path
) -> None:
    src = tmp_path / f"in.{ext}"
    src.write_bytes(heic if ext == "heic" else avif)
    dst = tmp_path / f"out.{ext}"
    dst.write_bytes(label_bytes(src.read_bytes()))
    assert exiftool_aigc(dst) == make_label().to_json()
    assert exiftool_warnings(dst) == exiftool_warnings(src)
    tags = exiftool_json(dst, "-XMP-dc:Title", "-EXIF:Make")
    assert tags["Title"] == "Hello"
    assert tags["Make"] == "TestMaker"


@requires_exiftool
@pytest.mark.parametrize("ext", ["heic", "avif"])
def test_read_label_written_by_exiftool(ext: str, tmp_path: Path) -> None:
    path = tmp_path / f"x.{ext}"
    path.write_bytes(_encode("HEIF" if ext == "heic" else "AVIF"))
    value = make_label("exiftool-id").to_json()
    exiftool("-q", "-overwrite_original", f"-XMP-TC260:AIGC={value}", "-XMP-dc:Title=T", path)
    assert read_labels(path.read_bytes()) == [value]
    out = tmp_path / f"y.{ext}"
    out.write_bytes(label_bytes(path.read_bytes()))
    assert read_labels(out.read_bytes()) == [make_label().to_json()]
    assert exiftool_aigc(out) == make_label().to_json()
    assert exiftool_json(out, "-XMP-dc:Title")["Title"] == "T"
    assert exiftool_warnings(out) == exiftool_warnings(path)
    assert _frames(out.read_bytes()) == _frames(path.read_bytes())


@pytest.mark.skipif(not have("ffprobe"), reason="ffprobe not installed")
def test_ffprobe_no_new_complaints(avif: bytes, tmp_path: Path) -> None:
    src, dst = tmp_path / "in.avif", tmp_path / "out.avif"
    src.write_bytes(avif)
    dst.write_bytes(label_bytes(avif))
    assert ffprobe_errors(dst) == ffprobe_errors(src)


def test_wrong_extension_label_file(heic: bytes, tmp_path: Path) -> None:
    src = tmp_path / "photo.jpg"
    src.write_bytes(heic)
    dst = tmp_path / "labeled.png"
    outcome = api.label_file(src, dst, api.LabelRequest(producer=make_label().ContentProducer))
    assert outcome.format == "heif"
    report = api.inspect_file(dst)
    assert report.format == "heif"
    assert report.verdict == "compliant"


def test_sniff() -> None:
    assert not H.sniff(b"\0\0\0\x18ftypisom\0\0\0\0isommp41")
    assert H.sniff(b"\0\0\0\x18ftypmp41\0\0\0\0isommif1")
    assert not H.sniff(b"\x89PNG\r\n\x1a\n")
    assert isinstance(detect(_encode("AVIF")[:64]), HeifHandler)


# --- byte-built files ----------------------------------------------------------------


def box(btype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), btype) + payload


def full(btype: bytes, version: int, payload: bytes, flags: int = 0) -> bytes:
    return box(btype, struct.pack(">I", (version << 24) | flags) + payload)


def _uint(v: int, n: int) -> bytes:
    return v.to_bytes(n, "big") if n else b""


def build(
    items: list[tuple[int, bytes, bytes]],
    *,
    iloc_version: int = 1,
    sizes: tuple[int, int, int, int] = (4, 4, 0, 0),
    iinf_version: int = 0,
    mdat_first: bool = False,
    idat_ids: tuple[int, ...] = (),
    moov: bool = False,
    co64: bool = False,
    large_mdat: bool = False,
    pitm: int = 1,
) -> bytes:
    """A HEIF file; ``items`` are (id, type or mime content type, data)."""
    osz, lsz, bsz, isz = sizes
    id_size = 4 if iloc_version == 2 else 2
    infes = []
    for item_id, kind, _data in items:
        version = 3 if item_id > 0xFFFF else 2
        head = _uint(item_id, 4 if version == 3 else 2) + b"\0\0"
        if b"/" in kind:
            infes.append(full(b"infe", version, head + b"mime\0" + kind + b"\0"))
        else:
            infes.append(full(b"infe", version, head + kind + b"\0"))
    iinf = full(
        b"iinf", iinf_version, _uint(len(infes), 2 if iinf_version == 0 else 4) + b"".join(infes)
    )
    idat = b"".join(d for i, _, d in items if i in idat_ids)
    mdat_payload = b"".join(d for i, _, d in items if i not in idat_ids)
    mdat = box(b"mdat", mdat_payload)
    if large_mdat:
        mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + len(mdat_payload)) + mdat_payload

    def meta_for(mdat_start: int) -> bytes:
        entries = []
        pos, ipos = mdat_start + len(mdat) - len(mdat_payload), 0
        for item_id, _kind, data in items:
            e = _uint(item_id, id_size)
            in_idat = item_id in idat_ids
            if iloc_version:
                e += struct.pack(">H", 1 if in_idat else 0)
            at = ipos if in_idat else pos
            base = at if bsz else 0
            e += b"\0\0" + _uint(base, bsz) + struct.pack(">H", 1)
            e += _uint(0, isz) + _uint(at - base, osz) + _uint(len(data), lsz)
            entries.append(e)
            if in_idat:
                ipos += len(data)
            else:
                pos += len(data)
        head = struct.pack(">BB", osz << 4 | lsz, bsz << 4 | (isz if iloc_version else 0))
        iloc = full(b"iloc", iloc_version, head + _uint(len(items), id_size) + b"".join(entries))
        hdlr = full(b"hdlr", 0, b"\0" * 4 + b"pict" + b"\0" * 13)
        pitm_box = full(b"pitm", int(pitm > 0xFFFF), _uint(pitm, 4 if pitm > 0xFFFF else 2))
        iprp = box(b"iprp", box(b"ipco", b"") + full(b"ipma", 0, b"\0\0\0\0"))
        return full(
            b"meta", 0, hdlr + pitm_box + iloc + iinf + iprp + (box(b"idat", idat) if idat else b"")
        )

    ftyp = box(b"ftyp", b"heic\0\0\0\0mif1heic")
    if mdat_first:
        return ftyp + mdat + meta_for(len(ftyp))
    meta_len = len(meta_for(0))
    moov_box = _moov([0, 0], co64) if moov else b""
    mdat_start = len(ftyp) + meta_len + len(moov_box)
    if moov:
        moov_box = _moov([mdat_start + 8, mdat_start + 8 + 11], co64)
    return ftyp + meta_for(mdat_start) + moov_box + mdat


def _moov(offsets: list[int], co64: bool = False) -> bytes:
    stco = full(b"co64" if co64 else b"stco", 0, struct.pack(">I", len(offsets))
                + b"".join(_uint(o, 8 if co64 else 4) for o in offsets))  # fmt: skip
    stbl = box(b"stbl", stco)
    return box(b"moov", box(b"trak", box(b"mdia", box(b"minf", stbl))))


def _items(data: bytes) -> dict[int, bytes]:
    f = io.BytesIO(data)
    budget = Budget(DEFAULT_LIMITS, "heif")
    meta_box = next(b for b in _top_level(f, budget) if b.type == b"meta")
    meta = _parse_meta(f, meta_box, DEFAULT_LIMITS, budget)
    assert meta.iloc is not None
    return {
        it.item_id: _item_data(f, meta, it.item_id, DEFAULT_LIMITS)[0] for it in meta.iloc.items
    }


def _xmp_ids(data: bytes) -> set[int]:
    f = io.BytesIO(data)
    budget = Budget(DEFAULT_LIMITS, "heif")
    meta_box = next(b for b in _top_level(f, budget) if b.type == b"meta")
    meta = _parse_meta(f, meta_box, DEFAULT_LIMITS, budget)
    return {i.item_id for i in meta.xmp_items()}


IMG = [(1, b"hvc1", b"IMAGEDATA-1" * 5), (2, b"Exif", b"\0\0\0\0MM\0*\0\0\0\x08\0\0")]


@pytest.mark.parametrize(
    "kw",
    [
        {"iloc_version": 0},
        {"iloc_version": 0, "sizes": (0, 4, 4, 0)},
        {"iloc_version": 1, "sizes": (8, 8, 8, 4)},
        {"iloc_version": 2, "sizes": (4, 4, 4, 0)},
        {"iinf_version": 1},
        {"mdat_first": True},
        {"idat_ids": (2,)},
    ],
)
def test_byte_built_layouts(kw: dict[str, object]) -> None:
    data = build(IMG, **kw)  # type: ignore[arg-type]
    out = label_bytes(data)
    assert _aigc(out) == [make_label().to_dict()]
    after = _items(out)
    assert {k: after[k] for k in (1, 2)} == {1: IMG[0][2], 2: IMG[1][2]}
    again = label_bytes(out)
    assert len(read_labels(again)) == 1
    assert len(again) == len(out)
    assert {k: _items(again)[k] for k in (1, 2)} == {1: IMG[0][2], 2: IMG[1][2]}


def test_large_item_ids_use_32_bit_fields() -> None:
    items = [(70000, b"hvc1", b"PIXELS" * 3), (70001, b"hvc1", b"MORE")]
    data = build(items, iloc_version=2, pitm=70000)
    out = label_bytes(data)
    assert len(read_labels(out)) == 1
    assert _items(out)[70000] == b"PIXELS" * 3
    (new_id,) = _xmp_ids(out)
    assert new_id not in (70000, 70001)


def test_existing_xmp_item_updated_and_extra_labeled_copy_dropped() -> None:
    other = make_label("old-one").to_json()
    xmp2 = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC="'
        + other.replace('"', "&quot;").encode()
        + b'"/></rdf:RDF></x:xmpmeta>'
    )
    data = build([*IMG, (3, b"application/rdf+xml", XMP_TITLE), (4, b"application/rdf+xml", xmp2)])
    assert len(read_labels(data)) == 1
    out = label_bytes(data)
    assert read_labels(out) == [make_label().to_json()]
    assert _xmp_ids(out) == {3}
    assert b"Hello" in _items(out)[3]


@pytest.mark.parametrize("co64", [False, True])
def test_sequence_moov_chunk_offsets_follow_the_data(co64: bool) -> None:
    data = build(IMG, moov=True, co64=co64)
    f = io.BytesIO(data)
    top = _top_level(f, Budget(DEFAULT_LIMITS, "heif"))
    moov = next(b for b in top if b.type == b"moov")
    stco_before = _stco(data[moov.start : moov.end])
    out = label_bytes(data)
    moov2 = next(
        b for b in _top_level(io.BytesIO(out), Budget(DEFAULT_LIMITS, "heif")) if b.type == b"moov"
    )
    stco_after = _stco(out[moov2.start : moov2.end])
    assert [data[o : o + 5] for o in stco_before] == [out[o : o + 5] for o in stco_after]
    assert stco_after != stco_before


def _stco(moov: bytes) -> list[int]:
    co64 = b"co64" in moov
    at = moov.index(b"co64" if co64 else b"stco") + 8
    (n,) = struct.unpack_from(">I", moov, at)
    return list(struct.unpack_from(f">{n}{'Q' if co64 else 'I'}", moov, at + 4))


def test_no_meta_box_is_refused() -> None:
    data = box(b"ftyp", b"avis\0\0\0\0avismsf1") + box(b"mdat", b"x" * 20)
    assert H.read(io.BytesIO(data), DEFAULT_LIMITS).labels == []
    with pytest.raises(AigcLabelError):
        label_bytes(data)


def test_largesize_and_size_zero_boxes() -> None:
    data = build(IMG)
    f = io.BytesIO(data)
    top = _top_level(f, Budget(DEFAULT_LIMITS, "heif"))
    mdat = top[-1]
    # last mdat with size 0 (to end of file): same meaning
    zero = data[: mdat.start] + b"\0\0\0\0" + data[mdat.start + 4 :]
    out = label_bytes(zero)
    assert _items(out)[1] == IMG[0][2]
    big = build(IMG, large_mdat=True)
    assert _items(big)[1] == IMG[0][2]
    out = label_bytes(big)
    assert _items(out)[1] == IMG[0][2]
    assert len(read_labels(out)) == 1


def test_declared_sizes_checked_before_allocating() -> None:
    data = bytearray(build(IMG))
    meta_at = data.index(b"meta") - 4
    struct.pack_into(">I", data, meta_at, 0x7FFFFFF0)
    with pytest.raises(AigcLabelError):
        H.read(io.BytesIO(bytes(data)), DEFAULT_LIMITS)
    tight = Limits(max_metadata_bytes=64)
    with pytest.raises(AigcLabelError):
        H.read(io.BytesIO(build(IMG)), tight)
    many = Limits(max_items=3)
    with pytest.raises(AigcLabelError):
        H.read(io.BytesIO(build(IMG)), many)


def test_truncation_at_every_offset(heic: bytes) -> None:
    labeled = label_bytes(heic)
    for cut in range(len(labeled)):
        read_and_write_cleanly(H, labeled[:cut])


def test_random_bytes() -> None:
    rng = random.Random(45438)
    for _ in range(300):
        head = b"\0\0\0\x14ftypheic\0\0\0\0mif1"
        read_and_write_cleanly(H, head + rng.randbytes(rng.randrange(0, 400)))


@pytest.fixture(scope="module")
def fuzz_seed() -> bytes:
    return label_bytes(build([*IMG, (3, b"application/rdf+xml", XMP_TITLE)], moov=False))


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzz_mutations(fuzz_seed: bytes, data: st.DataObject) -> None:
    buf = bytearray(fuzz_seed)
    read_and_write_cleanly(H, poke(data, buf, len(buf) - 1))


def test_walkers_are_bounded() -> None:
    deep = b"x"
    for _ in range(100):
        deep = box(b"moov", deep)
    nested = Box(b"moov", 0, 8, len(deep))
    budget = Budget(DEFAULT_LIMITS, "heif")
    with pytest.raises(LimitExceededError):
        shift_chunk_offsets(bytearray(deep), nested, lambda x: x, "heif", budget)
    with pytest.raises(CorruptFileError):
        list(iter_buffer_boxes(b"\0\0\0\x07abcd", 0, 8, "heif", budget))
    huge = struct.pack(">I4sQ", 1, b"mdat", 1 << 62)
    with pytest.raises(TruncatedError):
        list(iter_buffer_boxes(huge, 0, len(huge), "heif", budget))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_exif_user_comment_label_moves_to_xmp(fmt: str, tmp_path: Path) -> None:
    ex = Image.Exif()
    ex[0x010F] = "PhoneMaker"
    wrapped = json.dumps({"AIGC": make_label("phone-id").to_dict()}, separators=(",", ":"))
    ex.get_ifd(0x8769)[0x9286] = b"ASCII\0\0\0" + wrapped.encode()
    data = _encode(fmt, exif=ex.tobytes())
    found = H.read(io.BytesIO(data), DEFAULT_LIMITS).labels
    assert [(f.raw, f.standard) for f in found] == [(wrapped, False)]
    out = label_bytes(data)
    found = H.read(io.BytesIO(out), DEFAULT_LIMITS).labels
    assert [(f.raw, f.standard) for f in found] == [(make_label().to_json(), True)]
    assert _frames(out) == _frames(data)
    if have("exiftool"):
        src, dst = tmp_path / "in", tmp_path / "out"
        src.write_bytes(data)
        dst.write_bytes(out)
        assert exiftool_json(dst, "-EXIF:Make")["Make"] == "PhoneMaker"
        assert exiftool_warnings(dst) == exiftool_warnings(src)


FIXTURES = Path(__file__).parent.parent / "fixtures" / "heif"


@pytest.mark.parametrize("name", ["labeled-by-exiftool.heic", "labeled-by-exiftool.avif"])
def test_committed_exiftool_fixtures(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    (value,) = _aigc(data)
    assert value["ProduceID"] == "fixture-1"
    out = label_bytes(data)
    assert [d["ProduceID"] for d in _aigc(out)] == [make_label().ProduceID]
    assert b"Fixture" in out
    assert _frames(out) == _frames(data)
