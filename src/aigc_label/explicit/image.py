"""Image prompts: legible text on an edge or corner (GB 45438 section 2, Image).

The rule is about what is drawn, so the size is chosen on rendered pixels: the
*glyph height* is the ink height (rows holding pixels at least 75% covered on an
8-bit render) of the label's full-height characters -- CJK ideographs, capitals
and digits; every
valid label has some ("AI" or "人工智能") -- so neither the font size nor
descenders can flatter it. The font size grows until that height reaches
``height_ratio`` (default 6%, floor 5%) of the shortest side. Text too wide for
the picture wraps; if it still cannot fit at 5% we refuse rather than shrink.

Legibility on any background: a semi-opaque plate behind the text whose shade
is chosen from the luminance under it (dark plate and white text on bright
ground, light plate and black text on dark ground), or an outline style.

Files: every frame of animated GIF/WebP/APNG and every page of a TIFF gets the
label (durations, loop and GIF disposal kept); the output is the input's
format with EXIF, ICC and XMP passed back to the encoder; JPEG is re-encoded
with the input's own quantization tables and subsampling. An EXIF rotation is
applied first so the corner is the one a viewer sees. Pillow is the codec
(``formats/`` never decodes pixels); the implicit label is written afterwards
by the format handlers. :class:`LabelRenderer` is reused for video frames and
virtual scenes.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, BinaryIO

from ..errors import CorruptFileError, InvalidExplicitLabelError, LimitExceededError
from ..limits import Limits
from .base import ExplicitOptions, ExplicitOutcome, Style
from .wording import (
    IMAGE_POSITIONS,
    MIN_HEIGHT_RATIO,
    require_height_ratio,
    require_position,
)

try:
    from PIL import (
        Image,
        ImageDraw,
        ImageFont,
        ImageOps,
        ImageSequence,
        ImageStat,
        UnidentifiedImageError,
    )
except ModuleNotFoundError as e:  # pragma: no cover - Pillow is a dependency of this module
    raise ModuleNotFoundError("explicit image labels need Pillow", name="PIL") from e

MODALITY = "image"
FORMATS = ("jpeg", "png", "gif", "webp", "tiff")
_PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "tiff": "TIFF"}

FONT_FILE = "NotoSansCJKsc-Bold-subset.otf"
"""The shipped subset font (SIL OFL 1.1, ``fonts/OFL.txt``); see ``_fontbuild.py``."""

DEFAULT_POSITION = "bottom-right"
MARGIN_RATIO = 0.02
"""Gap between the plate and the picture edge, as a share of the shortest side."""

PLATE_ALPHA = 176
"""Plate opacity (0-255): the background still shows, but at a third of its contrast."""

MIN_GLYPH_PX = 10
"""Glyphs are at least this tall when the picture has room (5% of a small picture is unreadable)."""

MAX_FRAMES = 10_000
"""Most animation frames / TIFF pages labeled."""

_FULL_HEIGHT = ("\u4e00", "\u9fff")


@functools.cache
def _font_bytes(path: str | None) -> bytes:
    if path is None:
        return (resources.files(__package__) / "fonts" / FONT_FILE).read_bytes()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise InvalidExplicitLabelError(f"cannot read font {path}: {e.strerror or e}") from e


@functools.cache
def shipped_characters() -> frozenset[str]:
    """Characters the shipped subset font can draw."""
    res = resources.files(__package__) / "fonts" / (FONT_FILE + ".chars.txt")
    return frozenset(res.read_text(encoding="utf-8").rstrip("\n"))


@functools.lru_cache(maxsize=64)
def load_font(path: str | None, size: int) -> ImageFont.FreeTypeFont:
    """The label font at ``size`` px (``path`` None: the shipped subset)."""
    try:
        return ImageFont.truetype(io.BytesIO(_font_bytes(path)), size)
    except OSError as e:
        raise InvalidExplicitLabelError(f"cannot load font {path}: {e}") from e


def check_coverage(text: str, font_path: str | None) -> None:
    """Refuse text the shipped font cannot draw (a user font is trusted)."""
    if font_path is not None:
        return
    have = shipped_characters()
    lacking = sorted({c for c in text if c not in have and not c.isspace()})
    if lacking:
        raise InvalidExplicitLabelError(
            f"the built-in font has no glyph for {''.join(lacking)!r}; pass a font that has "
            "them (--font PATH, or ExplicitOptions(font=...))"
        )


def _core(text: str) -> str:
    """The full-height characters the glyph height is measured on."""
    core = "".join(c for c in text if _FULL_HEIGHT[0] <= c <= _FULL_HEIGHT[1] or c.isupper())
    core += "".join(c for c in text if c.isdigit() and c.isascii())
    return core or "".join(c for c in text if not c.isspace())


_SOLID = [0] * 192 + [255] * 64
"""Ink is a pixel at least 75% covered: anti-aliased fringe rows do not count, so the
height is what an eye (or an independent pixel count) sees as solid glyph."""


def ink_extent(font: ImageFont.FreeTypeFont, text: str) -> tuple[int, int]:
    """(top, bottom) rows of solid rendered ink relative to the baseline (top is negative)."""
    left, top, right, bottom = (int(v) for v in font.getbbox(text, anchor="ls"))
    canvas = Image.new("L", (right - left + 8, bottom - top + 8))
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, font=font, fill=255, anchor="ls")
    box = canvas.point(_SOLID).getbbox()
    if box is None:
        return 0, 0
    return box[1] + top - 4, box[3] + top - 4


def glyph_height(font: ImageFont.FreeTypeFont, text: str) -> int:
    """Ink height in pixels of the full-height characters of ``text``."""
    top, bottom = ink_extent(font, _core(text))
    return bottom - top


@dataclass(frozen=True)
class Layout:
    """Where and how big the label is on a picture of ``size``."""

    size: tuple[int, int]
    font_size: int
    lines: tuple[str, ...]
    glyph_height_px: int
    box: tuple[int, int, int, int]
    """The plate, in picture coordinates (left, top, right, bottom)."""
    baselines: tuple[tuple[int, int], ...]
    """Per line: the text anchor ("ls") relative to the plate's top-left corner."""

    @property
    def glyph_height_ratio(self) -> float:
        return self.glyph_height_px / min(self.size)


@dataclass
class DrawReport:
    """What was drawn: the numbers the size rule is checked on."""

    glyph_height_px: int
    glyph_height_ratio: float
    font_size: int
    box: tuple[int, int, int, int]
    lines: int
    dark_plate: bool

    def details(self) -> dict[str, str | int | float | bool]:
        return {
            "glyph_height_px": self.glyph_height_px,
            "glyph_height_ratio": round(self.glyph_height_ratio, 4),
            "font_size": self.font_size,
            "lines": self.lines,
            "box": ",".join(map(str, self.box)),
        }


@dataclass
class LabelRenderer:
    """Lays out and draws one prompt; caches per picture size (video frames, game loops)."""

    text: str
    position: str = DEFAULT_POSITION
    height_ratio: float = 0.06
    style: Style = "plate"
    font: str | None = None
    positions: tuple[str, ...] = IMAGE_POSITIONS
    _layouts: dict[tuple[int, int], Layout] = field(default_factory=dict, init=False, repr=False)
    _tiles: dict[tuple[int, int, bool], Image.Image] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        require_position(self.position, self.positions, DEFAULT_POSITION, "a picture")
        require_height_ratio(self.height_ratio)
        check_coverage(self.text, self.font)

    def layout(self, size: tuple[int, int]) -> Layout:
        """Font size, line breaks and plate box for a ``size`` picture."""
        if size not in self._layouts:
            self._layouts[size] = self._fit(size)
        return self._layouts[size]

    def _fit(self, size: tuple[int, int]) -> Layout:
        short = min(size)
        wanted = math.ceil(self.height_ratio * short)
        targets = (max(wanted, MIN_GLYPH_PX), wanted, math.ceil(MIN_HEIGHT_RATIO * short))
        for target in dict.fromkeys(targets):
            font_size, height = self._size_for(target)
            layout = self._arrange(size, font_size, height)
            if layout is not None:
                return layout
        raise InvalidExplicitLabelError(
            f"label {self.text!r} does not fit a {size[0]}x{size[1]} picture at a glyph height "
            "of 5% of the shortest side; use a shorter text"
        )

    def _height(self, size: int) -> int:
        return glyph_height(load_font(self.font, size), self.text)

    def _size_for(self, target: int) -> tuple[int, int]:
        """Smallest font size whose measured glyph height reaches ``target`` px (bisection)."""
        hi = max(2, round(target / 0.85))
        while self._height(hi) < target:
            hi = hi * 2
        lo = max(1, hi // 2)
        while lo > 1 and self._height(lo) >= target:
            lo //= 2
        while hi - lo > 1:  # invariant: height(lo) < target <= height(hi), or lo == 1
            mid = (lo + hi) // 2
            if self._height(mid) >= target:
                hi = mid
            else:
                lo = mid
        return hi, self._height(hi)

    def _arrange(self, size: tuple[int, int], font_size: int, height: int) -> Layout | None:
        width, picture_h = size
        font = load_font(self.font, font_size)
        margin = max(2, round(MARGIN_RATIO * min(size)))
        pad_x, pad_y = max(2, round(0.4 * height)), max(2, round(0.3 * height))
        lines = _wrap(self.text, font, width - 2 * margin - 2 * pad_x)
        if lines is None:
            return None
        gap = round(0.35 * height)
        boxes = [font.getbbox(line, anchor="ls") for line in lines]
        inner_w = max(math.ceil(b[2] - min(0, b[0])) for b in boxes)
        baselines: list[tuple[int, int]] = []
        y = pad_y
        for b in boxes:
            y += int(-b[1])
            baselines.append((pad_x - min(0, int(b[0])), y))
            y += math.ceil(b[3]) + gap
        plate_w, plate_h = inner_w + 2 * pad_x, y - gap + pad_y
        if plate_w > width - 2 * margin or plate_h > picture_h - 2 * margin:
            return None
        x0 = _place(self.position, width, plate_w, margin, axis=0)
        y0 = _place(self.position, picture_h, plate_h, margin, axis=1)
        box = (x0, y0, x0 + plate_w, y0 + plate_h)
        return Layout(size, font_size, tuple(lines), height, box, tuple(baselines))

    def choose_dark(self, image: Image.Image, layout: Layout) -> bool:
        """Dark plate (white text) when the ground under the label is bright."""
        return is_bright(image.crop(layout.box))

    def tile(self, layout: Layout, dark: bool) -> Image.Image:
        """The label (plate + text) as an RGBA image the size of its box."""
        key = (*layout.size, dark)
        if key in self._tiles:
            return self._tiles[key]
        x0, y0, x1, y1 = layout.box
        ink, plate = ((255, 255, 255), (0, 0, 0)) if dark else ((0, 0, 0), (255, 255, 255))
        tile = Image.new("RGBA", (x1 - x0, y1 - y0), (*plate, 0))
        draw = ImageDraw.Draw(tile)
        font = load_font(self.font, layout.font_size)
        stroke = 0
        if self.style == "plate":
            radius = max(1, layout.glyph_height_px // 5)
            draw.rounded_rectangle((0, 0, *tile.size), radius, fill=(*plate, PLATE_ALPHA))
        else:
            stroke = max(1, round(layout.glyph_height_px / 9))
        for line, anchor in zip(layout.lines, layout.baselines, strict=True):
            draw.text(
                anchor,
                line,
                font=font,
                fill=(*ink, 255),
                anchor="ls",
                stroke_width=stroke,
                stroke_fill=(*plate, 255),
            )
        self._tiles[key] = tile
        return tile

    def apply(
        self, image: Image.Image, dark: bool | None = None, *, in_place: bool = False
    ) -> tuple[Image.Image, DrawReport]:
        """``image`` with the label drawn on it (same mode where possible).

        A copy unless ``in_place`` (then ``image`` itself is changed when its mode allows).
        """
        layout = self.layout(image.size)
        if dark is None:
            dark = self.choose_dark(image, layout)
        out = composite(image, self.tile(layout, dark), layout.box[:2], in_place=in_place)
        return out, self.report(layout, dark)

    def report(self, layout: Layout, dark: bool) -> DrawReport:
        return DrawReport(
            layout.glyph_height_px,
            layout.glyph_height_ratio,
            layout.font_size,
            layout.box,
            len(layout.lines),
            dark,
        )


def is_bright(image: Image.Image) -> bool:
    """Mean luminance at least half way: the label gets a dark plate and white text."""
    return bool(ImageStat.Stat(image.convert("L")).mean[0] >= 128)


def _place(position: str, total: int, extent: int, margin: int, *, axis: int) -> int:
    if axis == 0:
        if position.endswith("left"):
            return margin
        if position.endswith("right"):
            return total - margin - extent
        return (total - extent) // 2
    if position.startswith("top"):
        return margin
    if position.startswith("bottom"):
        return total - margin - extent
    return (total - extent) // 2


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str] | None:
    """Greedy line breaks (CJK between any characters, Latin at spaces); None if a word
    is wider than ``width``."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
            word += ch
            continue
        if word:
            tokens.append(word)
            word = ""
        tokens.append(ch)
    if word:
        tokens.append(word)
    lines: list[str] = []
    line = ""
    for tok in tokens:
        if tok == "\n":
            lines.append(line.rstrip())
            line = ""
            continue
        candidate = line + tok
        if font.getlength(candidate.rstrip()) <= width or not line.strip():
            line = candidate if line or not tok.isspace() else ""
        else:
            lines.append(line.rstrip())
            line = "" if tok.isspace() else tok
        if font.getlength(line.strip()) > width:
            return None
    if line.strip():
        lines.append(line.rstrip())
    return [ln.strip() for ln in lines if ln.strip()] or None


_DIRECT = ("RGB", "RGBA", "L", "LA")


def composite(
    image: Image.Image, tile: Image.Image, xy: tuple[int, int], *, in_place: bool = False
) -> Image.Image:
    """``image`` with the RGBA ``tile`` blended in at ``xy``; only that region changes."""
    if image.mode in (*_DIRECT, "CMYK"):
        out = image if in_place else image.copy()
    else:
        out = image.convert(_wide_mode(image))
    box = (xy[0], xy[1], xy[0] + tile.width, xy[1] + tile.height)
    region = out.crop(box).convert("RGBA")
    region.alpha_composite(tile)
    if out.mode == "RGBA":
        out.paste(region, box)
    else:
        out.paste(region.convert(out.mode), box)
    return out


def _wide_mode(image: Image.Image) -> str:
    """RGB(A) for palette, bilevel and high-depth pictures (the label needs its colours)."""
    has_alpha = image.mode in ("PA", "RGBa", "La") or "transparency" in image.info
    return "RGBA" if has_alpha else ("L" if image.mode in ("1", "I;16", "I", "F") else "RGB")


def add_label(
    src: BinaryIO, dst: BinaryIO, fmt: str, options: ExplicitOptions, limits: Limits
) -> ExplicitOutcome:
    """Write the picture in ``src`` with a drawn label to ``dst``, same format.

    Settings: none beyond the common options (position, height_ratio, style, font).
    """
    position = require_position(options.position, IMAGE_POSITIONS, DEFAULT_POSITION, "images")
    text = options.resolved_text(short=True)
    renderer = LabelRenderer(text, position, options.height_ratio, options.style, options.font)
    try:
        with Image.open(src, formats=[_PIL_FORMAT[fmt]]) as im:
            return _label_image(im, dst, fmt, renderer, limits)
    except Image.DecompressionBombError as e:
        raise LimitExceededError("image pixels", 0, Image.MAX_IMAGE_PIXELS or 0, fmt) from e
    except (UnidentifiedImageError, SyntaxError, ValueError, EOFError) as e:
        raise CorruptFileError(fmt, None, f"cannot decode the picture: {e}") from e
    except OSError as e:
        if isinstance(e, FileNotFoundError | PermissionError):
            raise
        raise CorruptFileError(fmt, None, f"cannot decode the picture: {e}") from e


def _label_image(
    im: Image.Image, dst: BinaryIO, fmt: str, renderer: LabelRenderer, limits: Limits
) -> ExplicitOutcome:
    notes: list[str] = []
    n_frames = int(getattr(im, "n_frames", 1))
    if n_frames > MAX_FRAMES:
        raise LimitExceededError("frames", n_frames, MAX_FRAMES, fmt)
    save: dict[str, Any] = _save_options(im, fmt, notes)
    frames: list[Image.Image] = []
    durations: list[int] = []
    disposals: list[int] = []
    dark: bool | None = None
    report: DrawReport | None = None
    for frame in ImageSequence.Iterator(im):
        if n_frames == 1:
            pic = _upright(frame, save, notes)
        else:
            pic = frame.copy() if fmt == "tiff" else frame.convert("RGBA")
        if dark is None:
            dark = renderer.choose_dark(pic, renderer.layout(pic.size))
        labeled, report = renderer.apply(pic, dark, in_place=True)  # pic is our own decode
        frames.append(labeled)
        durations.append(int(frame.info.get("duration", 0)))
        disposals.append(int(getattr(frame, "disposal_method", 0)))
    if report is None or not frames:
        raise CorruptFileError(fmt, None, "the picture has no frames")
    if frames[0].mode != im.mode:
        notes.append(f"pixels converted from mode {im.mode} to {frames[0].mode}")
    if n_frames > 1:
        save.update(save_all=True, append_images=frames[1:], duration=durations)
        if fmt == "gif":
            save["disposal"] = disposals
    frames[0].save(dst, _PIL_FORMAT[fmt], **save)
    details = report.details()
    details["frames"] = len(frames)
    return ExplicitOutcome(MODALITY, fmt, renderer.text, renderer.position, details, notes)


def _upright(frame: Image.Image, save: dict[str, Any], notes: list[str]) -> Image.Image:
    """Apply an EXIF rotation so the label lands in the corner a viewer sees."""
    orientation = frame.getexif().get(0x0112, 1)
    if orientation in (None, 1):
        return frame
    upright = ImageOps.exif_transpose(frame)
    if "exif" in upright.info:
        save["exif"] = upright.info["exif"]
    notes.append(f"EXIF orientation {orientation} applied to the pixels (now 1)")
    return upright


def _save_options(im: Image.Image, fmt: str, notes: list[str]) -> dict[str, Any]:
    """Encoder options that keep the input's metadata and quality."""
    info = im.info
    opts: dict[str, Any] = {}
    for key in ("icc_profile", "dpi"):
        if info.get(key):
            opts[key] = info[key]
    exif = info.get("exif")
    xmp = info.get("xmp")
    if fmt == "jpeg":
        _jpeg_options(im, opts, notes)
        if exif:
            opts["exif"] = exif
        if xmp:
            opts["xmp"] = xmp
        if info.get("comment"):
            opts["comment"] = info["comment"]
    elif fmt == "png":
        from PIL.PngImagePlugin import PngInfo

        png = PngInfo()
        for key, value in getattr(im, "text", {}).items():
            if key != "XML:com.adobe.xmp":
                png.add_itxt(key, str(value))
        if xmp:
            png.add_itxt("XML:com.adobe.xmp", _text(xmp), zip=False)
        opts["pnginfo"] = png
        if exif:
            opts["exif"] = exif
        if "loop" in info:
            opts["loop"] = info["loop"]
    elif fmt == "webp":
        opts["lossless"] = _webp_lossless(im)
        opts["quality"] = 100 if opts["lossless"] else 90
        for key in ("exif", "xmp"):
            if info.get(key):
                opts[key] = info[key]
        opts["loop"] = info.get("loop", 0)
        if "background" in info:
            opts["background"] = info["background"]
    elif fmt == "gif":
        for key in ("loop", "comment", "background"):
            if key in info:
                opts[key] = info[key]
        if xmp:
            notes.append("GIF: other XMP properties are not kept (Pillow cannot write them)")
    elif fmt == "tiff":
        opts["compression"] = info.get("compression", "raw")
        tags = im.getexif()
        if len(tags):
            opts["exif"] = tags
        if xmp:
            opts["tiffinfo"] = {700: xmp if isinstance(xmp, bytes) else _text(xmp).encode()}
    return opts


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _jpeg_options(im: Image.Image, opts: dict[str, Any], notes: list[str]) -> None:
    """Re-encode with the input's own quantization tables and chroma subsampling."""
    from PIL import JpegImagePlugin

    tables = getattr(im, "quantization", None)
    if tables:
        opts["qtables"] = [tables[k] for k in sorted(tables)]
    else:
        opts["quality"] = 95
        notes.append("JPEG without readable quantization tables: re-encoded at quality 95")
    sampling = JpegImagePlugin.get_sampling(im)
    if sampling != -1:
        opts["subsampling"] = sampling
    if im.info.get("progressive") or im.info.get("progression"):
        opts["progressive"] = True


def _webp_lossless(im: Image.Image) -> bool:
    """True when the WebP carries only lossless (VP8L) bitstreams."""
    fp = getattr(im, "fp", None)
    if fp is None:
        return False
    pos = fp.tell()
    fp.seek(0)
    data = fp.read()
    fp.seek(pos)
    return b"VP8L" in data and b"VP8 " not in data


__all__ = [
    "DrawReport",
    "LabelRenderer",
    "Layout",
    "add_label",
    "check_coverage",
    "glyph_height",
    "ink_extent",
    "is_bright",
    "load_font",
    "shipped_characters",
]
