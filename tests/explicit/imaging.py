"""Test pictures and an independent glyph-height measurement (numpy on the output pixels)."""

from __future__ import annotations

import numpy as np
from PIL import Image

BACKGROUNDS = ("white", "black", "grey", "noisy")


def background(kind: str, size: tuple[int, int] = (320, 240), seed: int = 7) -> Image.Image:
    """A plain or a photo-like (smooth colour waves plus strong noise) RGB picture."""
    w, h = size
    if kind == "white":
        return Image.new("RGB", size, (255, 255, 255))
    if kind == "black":
        return Image.new("RGB", size, (0, 0, 0))
    if kind == "grey":
        return Image.new("RGB", size, (128, 128, 128))
    rng = np.random.default_rng(seed)
    sw, sh = max(1, w // 4), max(1, h // 4)
    y, x = np.mgrid[0:sh, 0:sw] * 4.0
    waves = np.stack(
        [
            128 + 100 * np.sin(x / 23.0),
            128 + 100 * np.cos(y / 17.0),
            128 + 80 * np.sin((x + y) / 31.0),
        ],
        -1,
    )
    smooth = np.asarray(Image.fromarray(waves.astype(np.uint8)).resize(size), dtype=np.int16)
    tile = rng.normal(0, 40, (97, 101, 3)).astype(np.int16)  # odd sizes: no visible grid
    noise = np.tile(tile, (h // 97 + 1, w // 101 + 1, 1))[:h, :w]
    return Image.fromarray(np.clip(smooth + noise, 0, 255).astype(np.uint8))


def _lum(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.int16)


def changed_box(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int]:
    """Bounding box of the pixels the label changed."""
    a = np.asarray(before.convert("RGB"), dtype=np.int16)
    b = np.asarray(after.convert("RGB"), dtype=np.int16)
    diff = np.abs(a - b).max(axis=2) > 10
    rows, cols = np.where(diff.any(axis=1))[0], np.where(diff.any(axis=0))[0]
    assert rows.size, "nothing was drawn"
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def measured_ink_height(before: Image.Image, after: Image.Image) -> int:
    """Rows holding text ink inside the plate: pixels far from the plate's own level.

    The plate's rounded corners are left out by insetting the box horizontally.
    """
    x0, y0, x1, y1 = changed_box(before, after)
    inset = max(2, (y1 - y0) // 4)
    crop = _lum(after)[y0:y1, x0 + inset : x1 - inset]
    plate = np.median(crop)
    ink = np.abs(crop - plate) > 80
    rows = np.where(ink.any(axis=1))[0]
    assert rows.size, "no ink found on the plate"
    return int(rows[-1] - rows[0] + 1)
