"""Drawn image labels: the 5% rule on measured pixels, every frame, format and metadata kept."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from aigc_label import api
from aigc_label.api import LabelRequest
from aigc_label.errors import CorruptFileError, InvalidExplicitLabelError
from aigc_label.explicit import ExplicitOptions, add_explicit_label, label_with_explicit
from aigc_label.explicit.image import LabelRenderer, glyph_height, load_font, shipped_characters
from aigc_label.explicit.wording import IMAGE_POSITIONS
from tests.conftest import PRODUCER, exiftool, exiftool_aigc, requires_exiftool
from tests.explicit.imaging import BACKGROUNDS, background, changed_box, measured_ink_height

FONTS = Path(__file__).parents[2] / "src" / "aigc_label" / "explicit" / "fonts"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator><rdf:Seq><rdf:li>Tester</rdf:li></rdf:Seq></dc:creator></rdf:Description>"
    b"</rdf:RDF></x:xmpmeta>"
)


@pytest.mark.parametrize(
    ("size", "text", "position"),
    [
        ((320, 240), "AI生成", "top-left"),
        ((1920, 1080), "本内容由人工智能生成", "bottom"),
        ((1080, 1920), "AI生成", "top-right"),
        ((400, 3000), "本内容由人工智能生成", "bottom-left"),
        ((2400, 1600), "AI生成", "bottom-right"),
        ((640, 480), "AI-generated", "top"),
    ],
)
def test_glyph_height_measured_on_output(size: tuple[int, int], text: str, position: str) -> None:
    for kind in ("white", "noisy"):
        before = background(kind, size)
        after, report = LabelRenderer(text, position).apply(before)
        measured = measured_ink_height(before, after)
        assert measured >= 0.05 * min(size)
        assert measured >= report.glyph_height_px  # the renderer never over-reports
        assert report.glyph_height_ratio >= 0.06


def test_configurable_ratio_and_floor() -> None:
    before = background("grey", (800, 600))
    after, report = LabelRenderer("AI生成", height_ratio=0.1).apply(before)
    assert measured_ink_height(before, after) >= 60
    assert report.glyph_height_px >= 60
    with pytest.raises(InvalidExplicitLabelError):
        LabelRenderer("AI生成", height_ratio=0.049)


def test_glyph_height_is_not_font_size() -> None:
    font = load_font(None, 100)
    assert 80 <= glyph_height(font, "AI生成") < 100
    assert glyph_height(font, "AIgy") == glyph_height(font, "AI")  # descenders do not count


@pytest.mark.parametrize("position", IMAGE_POSITIONS)
def test_positions_on_edges(position: str) -> None:
    before = background("white", (300, 200))
    after, report = LabelRenderer("AI生成", position).apply(before)
    x0, y0, x1, y1 = changed_box(before, after)
    assert (x0, y0, x1, y1) == report.box
    margin = round(0.02 * 200)
    if "left" in position:
        assert x0 == margin
    if "right" in position:
        assert x1 == 300 - margin
    if position.startswith("top"):
        assert y0 == margin
    if position.startswith("bottom"):
        assert y1 == 200 - margin
    if position in ("top", "bottom"):
        assert abs((x0 + x1) / 2 - 150) <= 1


def test_plate_contrast_follows_background() -> None:
    for kind in BACKGROUNDS:
        before = background(kind, (320, 240))
        _, report = LabelRenderer("AI生成").apply(before)
        mean = np.asarray(before.convert("L")).mean()
        assert report.dark_plate == (mean >= 128) or kind == "noisy"


def test_long_text_wraps_or_refuses() -> None:
    long = "本内容由人工智能生成，" * 4
    layout = LabelRenderer(long, "bottom").layout((640, 480))
    assert len(layout.lines) > 1
    assert layout.box[2] - layout.box[0] <= 640
    with pytest.raises(InvalidExplicitLabelError, match="does not fit"):
        LabelRenderer("AI生成" + "很长的说明" * 40, "bottom").layout((120, 90))


def test_font_coverage() -> None:
    assert set("本内容由人工智能生成AI合成") <= shipped_characters()
    with pytest.raises(InvalidExplicitLabelError, match="--font"):
        LabelRenderer("AI生成\U00020000")
    assert (FONTS / "OFL.txt").read_text(encoding="utf-8").count("SIL OPEN FONT LICENSE") == 1
    assert (FONTS / "NotoSansCJKsc-Bold-subset.otf").stat().st_size < 2_000_000


def _jpeg(path: Path, mode: str = "RGB", **extra: object) -> Image.Image:
    im = background("noisy", (400, 300)).convert(mode)
    im.save(path, quality=72, **extra)
    return Image.open(path)


@requires_exiftool
def test_jpeg_quality_and_metadata(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "TestMake"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "in.jpg"
    original = _jpeg(src, exif=exif.tobytes(), icc_profile=icc, xmp=XMP, subsampling=1)
    out = tmp_path / "out.jpg"
    result = label_with_explicit(src, out, LabelRequest(producer=PRODUCER), ExplicitOptions())
    labeled = Image.open(out)
    assert labeled.quantization == original.quantization
    assert JpegImagePlugin.get_sampling(labeled) == JpegImagePlugin.get_sampling(original) == 1
    assert labeled.info["icc_profile"] == icc
    tags = json.loads(exiftool("-j", "-Make", "-Creator", "-ProfileDescription", out))[0]
    assert tags["Make"] == "TestMake"
    assert tags["Creator"] == "Tester"
    assert result.implicit is not None
    assert exiftool_aigc(out) == result.implicit.label.to_json()
    assert api.inspect_file(out).verdict == "compliant"
    # outside the label, pixels stay close to the original (same tables, one generation)
    box = result.explicit.details["box"]
    assert isinstance(box, str)
    top = int(box.split(",")[1])
    a = np.asarray(original.convert("RGB"), dtype=np.int16)[: top - 16]
    b = np.asarray(labeled.convert("RGB"), dtype=np.int16)[: top - 16]
    assert np.abs(a - b).mean() < 2.5


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_jpeg_modes_kept(tmp_path: Path, mode: str) -> None:
    src = tmp_path / "in.jpg"
    _jpeg(src, mode)
    add_explicit_label(src, tmp_path / "o.jpg", ExplicitOptions())
    assert Image.open(tmp_path / "o.jpg").mode == mode


def test_exif_rotation_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored pixels are shown rotated 90 degrees clockwise
    src = tmp_path / "rot.jpg"
    _jpeg(src, exif=exif.tobytes())
    result = add_explicit_label(src, tmp_path / "o.jpg", ExplicitOptions(position="bottom-right"))
    out = Image.open(tmp_path / "o.jpg")
    assert out.size == (300, 400)
    assert out.getexif().get(0x0112, 1) == 1
    assert any("orientation" in n for n in result.notes)


def test_png_lossless_outside_label(tmp_path: Path) -> None:
    base = background("noisy", (300, 200)).convert("RGBA")
    base.putalpha(Image.linear_gradient("L").resize((300, 200)))
    src = tmp_path / "in.png"
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "keep me")
    base.save(src, pnginfo=info)
    add_explicit_label(src, tmp_path / "o.png", ExplicitOptions(position="top"))
    out = Image.open(tmp_path / "o.png")
    assert out.mode == "RGBA"
    assert out.text["Comment"] == "keep me"
    x0, y0, x1, y1 = changed_box(base, out)
    a, b = np.asarray(base), np.asarray(out)
    mask = np.ones(a.shape[:2], bool)
    mask[y0:y1, x0:x1] = False
    assert (a[mask] == b[mask]).all()


def test_palette_png_and_tiff(tmp_path: Path) -> None:
    background("grey", (200, 150)).convert("P", palette=Image.Palette.ADAPTIVE).save(
        tmp_path / "p.png"
    )
    result = add_explicit_label(tmp_path / "p.png", tmp_path / "o.png", ExplicitOptions())
    assert any("mode P" in n for n in result.notes)
    pages = [background(k, (200, 150)) for k in ("white", "black")]
    pages[0].save(
        tmp_path / "m.tif", save_all=True, append_images=pages[1:], compression="tiff_lzw"
    )
    result = add_explicit_label(tmp_path / "m.tif", tmp_path / "o.tif", ExplicitOptions())
    assert result.details["frames"] == 2
    out = Image.open(tmp_path / "o.tif")
    assert out.n_frames == 2
    assert out.info["compression"] == "tiff_lzw"


def _animation(path: Path, fmt: str) -> list[Image.Image]:
    frames = [background(k, (240, 180)) for k in ("white", "black", "noisy")]
    extra = {"disposal": 2} if fmt == "GIF" else {"lossless": True}
    frames[0].save(
        path, fmt, save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=2,
        **extra,
    )  # fmt: skip
    return frames


@requires_exiftool
@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_every_animation_frame(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / f"a.{fmt.lower()}"
    frames = _animation(src, fmt)
    out = tmp_path / f"o.{fmt.lower()}"
    result = label_with_explicit(src, out, LabelRequest(producer=PRODUCER), ExplicitOptions())
    assert result.explicit.details["frames"] == 3
    labeled = Image.open(out)
    assert labeled.n_frames == 3
    assert labeled.info["loop"] == 2
    for i, original in enumerate(frames):
        labeled.seek(i)
        labeled.load()
        assert labeled.info["duration"] == [100, 200, 300][i]
        if fmt == "GIF":
            assert labeled.disposal_method == 2
        frame = labeled.convert("RGB")
        measured = measured_ink_height(original, frame) if i < 2 else None
        assert measured is None or measured >= 0.05 * 180
    assert exiftool_aigc(out) is not None
    count = json.loads(exiftool("-j", "-FrameCount", out))[0].get("FrameCount")
    assert count in (3, None)  # exiftool reports FrameCount for GIF, not for WebP


def test_corrupt_picture_leaves_nothing(tmp_path: Path) -> None:
    buf = io.BytesIO()
    background("white", (200, 150)).save(buf, "JPEG")
    src = tmp_path / "bad.jpg"
    src.write_bytes(buf.getvalue()[:300])
    with pytest.raises(CorruptFileError):
        add_explicit_label(src, tmp_path / "o.jpg", ExplicitOptions())
    assert [p.name for p in tmp_path.iterdir()] == ["bad.jpg"]
