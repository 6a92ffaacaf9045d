"""Virtual scenes: a start-screen prompt for game and 3D front ends (GB 45438 section 2).

The rule asks for "a prominent prompt on the start screen"; we apply the video
rule by default (uncertain): glyphs >= 5% of the shortest side (default 6%),
shown for >= 2 s (default 3 s) at normal speed. A front end renders its frame,
hands it over as an RGB(A) ``numpy`` array (H x W x 3/4, uint8) or a PIL image,
and gets the same kind back with the prompt drawn in (default: centred plate).

:class:`StartScreenOverlay` is the per-frame form for a render loop: it caches
the layout and the plate for the frame size, so each frame costs one alpha
blend of the label's box, and it knows which frame indices need the prompt
(:func:`label_frame_indices`). Drawing is :class:`~.image.LabelRenderer`, the
same code as image labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from PIL import Image

from ..errors import InvalidExplicitLabelError
from .base import Style
from .image import DrawReport, LabelRenderer, composite, is_bright
from .wording import (
    DEFAULT_DURATION_S,
    DEFAULT_HEIGHT_RATIO,
    SCENE_POSITIONS,
    Lang,
    require_duration,
    resolve_text,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

F = TypeVar("F", Image.Image, "npt.NDArray[np.uint8]")

DEFAULT_POSITION = "center"


def label_frame_indices(
    fps: float, duration_s: float = DEFAULT_DURATION_S, start_frame: int = 0
) -> range:
    """Frame indices that must carry the prompt: ``duration_s`` (>= 2 s) from ``start_frame``.

    The count is rounded up, so the prompt is never shown for less than the duration.
    """
    if not math.isfinite(fps) or fps <= 0:
        raise InvalidExplicitLabelError(f"frame rate {fps} is not a positive number")
    require_duration(duration_s)
    if start_frame < 0:
        raise InvalidExplicitLabelError("start_frame must not be negative")
    count = math.ceil(duration_s * fps - 1e-9)
    return range(start_frame, start_frame + count)


def _check_array(frame: npt.NDArray[np.uint8]) -> None:
    shape: tuple[int, ...] = tuple(getattr(frame, "shape", ()))
    if len(shape) != 3 or shape[2] not in (3, 4) or str(getattr(frame, "dtype", "")) != "uint8":
        raise InvalidExplicitLabelError(
            f"a frame must be H x W x 3 or 4 uint8 (RGB/RGBA); got shape {shape}"
        )


@dataclass
class StartScreenOverlay:
    """Per-frame start-screen prompt with cached layout; call :meth:`apply` every frame."""

    text: str | None = None
    lang: Lang = "zh"
    position: str = DEFAULT_POSITION
    height_ratio: float = DEFAULT_HEIGHT_RATIO
    style: Style = "plate"
    font: str | None = None
    fps: float = 60.0
    duration_s: float = DEFAULT_DURATION_S
    start_frame: int = 0
    frames: range = field(init=False)
    _renderer: LabelRenderer = field(init=False, repr=False)
    _dark: dict[tuple[int, int], bool] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        label = resolve_text(self.text, self.lang, short=False)
        self._renderer = LabelRenderer(
            label, self.position, self.height_ratio, self.style, self.font, SCENE_POSITIONS
        )
        self.frames = label_frame_indices(self.fps, self.duration_s, self.start_frame)

    def needs_label(self, index: int) -> bool:
        return index in self.frames

    def draw(self, frame: F) -> tuple[F, DrawReport]:
        """``frame`` with the prompt (same type, size and mode) and the measurements.

        A numpy frame is copied and only the label's box goes through Pillow.
        """
        if isinstance(frame, Image.Image):
            layout = self._renderer.layout(frame.size)
            dark = self._shade(frame.size, lambda: self._renderer.choose_dark(frame, layout))
            return self._renderer.apply(frame, dark)
        import numpy as np

        _check_array(frame)
        h, w = frame.shape[:2]
        layout = self._renderer.layout((w, h))
        x0, y0, x1, y1 = layout.box
        mode = "RGB" if frame.shape[2] == 3 else "RGBA"
        region = Image.fromarray(np.ascontiguousarray(frame[y0:y1, x0:x1]), mode)
        dark = self._shade((w, h), lambda: is_bright(region))
        blended = composite(region, self._renderer.tile(layout, dark), (0, 0), in_place=True)
        out = frame.copy()
        out[y0:y1, x0:x1] = np.asarray(blended)
        return out, self._renderer.report(layout, dark)

    def _shade(self, size: tuple[int, int], decide: Callable[[], bool]) -> bool:
        """The plate shade, decided once per frame size so it does not flicker."""
        if size not in self._dark:
            self._dark[size] = decide()
        return self._dark[size]

    def apply(self, frame: F, index: int) -> F:
        """The frame with the prompt when ``index`` is in :attr:`frames`, else unchanged."""
        if not self.needs_label(index):
            return frame
        return self.draw(frame)[0]


def overlay_start_screen(
    frame: F,
    text: str | None = None,
    *,
    lang: Lang = "zh",
    position: str = DEFAULT_POSITION,
    height_ratio: float = DEFAULT_HEIGHT_RATIO,
    style: Style = "plate",
    font: str | None = None,
) -> F:
    """One start-screen frame (numpy RGB(A) array or PIL image) with the prompt drawn in."""
    overlay = StartScreenOverlay(text, lang, position, height_ratio, style, font)
    return overlay.draw(frame)[0]


__all__ = ["StartScreenOverlay", "label_frame_indices", "overlay_start_screen"]
