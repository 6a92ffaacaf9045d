"""Options and results shared by every explicit-label modality (text, image, audio, video).

A modality module (``explicit/text.py``, ``image.py``, ``audio.py``, ``video.py``)
plugs into the dispatcher in ``explicit/__init__.py`` by defining, at module level:

- ``MODALITY: str`` -- "text", "image", "audio" or "video";
- ``FORMATS: tuple[str, ...]`` -- the sniffed format names (``formats.detect``) it takes;
- ``add_label(src, dst, fmt, options, limits) -> ExplicitOutcome`` -- read the
  seekable binary stream ``src`` (a file of format ``fmt``), write the labeled
  copy to the seekable stream ``dst`` (a temp file; the dispatcher makes the
  output atomic and cleans up on error), raise only :class:`AigcLabelError`;
- optionally ``accepts(src, fmt) -> bool`` -- for containers two modalities
  share (an Ogg or MP4 holding video or only audio); ``src`` is at offset 0.

Modality-specific knobs (tone, unit length, voice clip, duration, persistent
mark...) come in :attr:`ExplicitOptions.settings` as strings, which the CLI
fills from ``--explicit-option KEY=VALUE``; each module documents its keys and
parses them with :meth:`ExplicitOptions.setting_float` and friends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal, Protocol

from ..errors import InvalidExplicitLabelError
from ..limits import Limits
from .wording import (
    DEFAULT_HEIGHT_RATIO,
    LANGS,
    Lang,
    require_height_ratio,
    resolve_text,
)

Style = Literal["plate", "outline"]
STYLES: tuple[Style, ...] = ("plate", "outline")

Detail = str | int | float | bool


@dataclass(frozen=True)
class ExplicitOptions:
    """What explicit label to add; every field has a compliant default."""

    text: str | None = None
    """The prompt; None means the default wording for ``lang`` (validated either way)."""
    lang: Lang = "zh"
    position: str | None = None
    """Modality-specific; None means the modality's default. Audio may take "start,end"."""
    font: str | None = None
    """A TTF/OTF/TTC file for drawn labels; default: the shipped Noto Sans CJK subset."""
    height_ratio: float = DEFAULT_HEIGHT_RATIO
    """Glyph-height target as a share of the shortest side (floor 0.05)."""
    style: Style = "plate"
    """Drawn labels: a contrast plate behind the text, or an outline around the glyphs."""
    settings: Mapping[str, str] = field(default_factory=dict)
    """Modality-specific ``KEY=VALUE`` settings (see each modality module)."""

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise InvalidExplicitLabelError(f"unknown language {self.lang!r}; choose zh or en")
        if self.style not in STYLES:
            raise InvalidExplicitLabelError(
                f"unknown style {self.style!r}; choose plate or outline"
            )
        require_height_ratio(self.height_ratio)
        if self.text is not None:
            resolve_text(self.text, self.lang)

    def resolved_text(self, *, short: bool = False) -> str:
        """The prompt to render: the caller's text or the (short) default for ``lang``."""
        return resolve_text(self.text, self.lang, short=short)

    def setting(self, key: str, default: str) -> str:
        return self.settings.get(key, default)

    def setting_float(self, key: str, default: float) -> float:
        """A numeric setting; a malformed value is a typed error, not a traceback."""
        raw = self.settings.get(key)
        if raw is None:
            return default
        try:
            return float(raw)
        except ValueError:
            raise InvalidExplicitLabelError(f"setting {key}={raw!r} is not a number") from None

    def setting_bool(self, key: str, default: bool) -> bool:
        raw = self.settings.get(key)
        if raw is None:
            return default
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise InvalidExplicitLabelError(f"setting {key}={raw!r} is not a yes/no value")


@dataclass
class ExplicitOutcome:
    """What a modality did: where the prompt went and the measurements that prove it."""

    modality: str
    format: str
    text: str
    position: str
    details: dict[str, Detail] = field(default_factory=dict)
    """Measurements, e.g. ``glyph_height_px``, ``glyph_height_ratio``, ``frames``."""
    notes: list[str] = field(default_factory=list)
    """Things the user should know (a fallback taken, metadata that could not be kept)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "modality": self.modality,
            "format": self.format,
            "text": self.text,
            "position": self.position,
            "details": dict(self.details),
            "notes": list(self.notes),
        }


class ModalityModule(Protocol):
    """The shape of a modality module (checked structurally when it is loaded)."""

    MODALITY: str
    FORMATS: tuple[str, ...]

    def add_label(
        self, src: BinaryIO, dst: BinaryIO, fmt: str, options: ExplicitOptions, limits: Limits
    ) -> ExplicitOutcome: ...
