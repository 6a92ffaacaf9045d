"""Virtual-scene start screen: numpy/PIL frames, the 5% size rule and the >= 2 s frame range."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aigc_label.errors import InvalidExplicitLabelError
from aigc_label.explicit.scene import StartScreenOverlay, label_frame_indices, overlay_start_screen
from tests.explicit.imaging import background, changed_box, measured_ink_height


def test_frame_indices() -> None:
    assert label_frame_indices(30) == range(0, 90)
    assert label_frame_indices(29.97, 2.0) == range(0, 60)  # rounded up: never under 2 s
    assert label_frame_indices(60, 2.5, start_frame=10) == range(10, 160)
    for bad in ((30, 1.9), (0, 3.0), (float("nan"), 3.0)):
        with pytest.raises(InvalidExplicitLabelError):
            label_frame_indices(*bad)


def test_numpy_frame_round_trip() -> None:
    frame = np.asarray(background("noisy", (1280, 720))).copy()
    out = overlay_start_screen(frame)
    assert isinstance(out, np.ndarray)
    assert out.shape == frame.shape
    assert out.dtype == np.uint8
    before, after = Image.fromarray(frame), Image.fromarray(out)
    x0, y0, x1, y1 = changed_box(before, after)
    assert abs((x0 + x1) / 2 - 640) <= 1  # centred
    assert abs((y0 + y1) / 2 - 360) <= 1
    assert measured_ink_height(before, after) >= 0.05 * 720
    assert (frame[:y0] == out[:y0]).all()


def test_rgba_and_pil_frames() -> None:
    rgba = np.zeros((240, 320, 4), np.uint8)
    out = overlay_start_screen(rgba, "AI合成", position="top")
    assert out.shape == (240, 320, 4)
    assert out[..., 3].max() > 0
    pil = background("white", (320, 240))
    assert isinstance(overlay_start_screen(pil, lang="en"), Image.Image)
    with pytest.raises(InvalidExplicitLabelError, match="H x W"):
        overlay_start_screen(np.zeros((10, 10), np.uint8))


def test_overlay_in_a_render_loop() -> None:
    overlay = StartScreenOverlay(fps=30, duration_s=2.0)
    bright = np.asarray(background("white", (320, 240))).copy()
    dark = np.asarray(background("black", (320, 240))).copy()
    first = overlay.apply(bright, 0)
    later = overlay.apply(dark, 59)
    assert not (first == bright).all()
    assert not (later == dark).all()
    assert overlay.apply(dark, 60) is dark  # past 2 s: untouched
    # the plate shade is chosen once per frame size, so it does not flicker
    _, report_a = overlay.draw(bright)
    _, report_b = overlay.draw(dark)
    assert report_a.dark_plate == report_b.dark_plate
