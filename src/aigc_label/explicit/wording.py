"""Explicit-label wording, positions and size rules (spec section 2).

GB 45438 asks every text or spoken explicit label to hold an *AI element*
("人工智能" or "AI") and a *generation element* ("生成" and/or "合成"); the
wording is otherwise free. :func:`check_wording` tests a text against that rule
so every modality refuses a prompt that would not count as a label.

English: the issue asks for English wordings, but the standard names only the
Chinese elements. We accept "AI"/"artificial intelligence" with
"generated"/"synthesized"/"synthetic" and report ``chinese=False`` so callers can
warn (uncertain: a regulator may want the Chinese elements).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidExplicitLabelError

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

DEFAULT_TEXTS: dict[str, str] = {
    "zh": "本内容由人工智能生成",
    "zh-short": "AI生成",
    "en": "This content is AI-generated",
    "en-short": "AI-generated",
}
"""Default prompts: the long form for text and interfaces, the short one for pictures."""

TEXT_POSITIONS = ("start", "end", "middle")
"""Where a text prompt may go (section 2, Text)."""

IMAGE_POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right", "top", "bottom")
"""Edges and corners for a picture label (section 2, Image)."""

SCENE_POSITIONS = (*IMAGE_POSITIONS, "center")
"""A start screen may also carry the prompt in its centre."""

UI_POSITIONS = ("top", "bottom", "inline", "overlay")
"""Placements of the interface prompt (``<aigc-label position=...>``)."""

MIN_HEIGHT_RATIO = 0.05
"""Glyph height floor: 5% of the shortest side (image, video, virtual scene)."""

DEFAULT_HEIGHT_RATIO = 0.06
"""Default target, one point above the floor so rounding never lands under it."""

MIN_DURATION_S = 2.0
"""Video / start-screen prompt: shown for at least 2 s at normal speed."""

DEFAULT_DURATION_S = 3.0

_AI = re.compile(r"人工智能|(?<![A-Za-z])AI(?![a-z])|[Aa]rtificial [Ii]ntelligence")
"""Upper-case "AI" not inside a word ("AIGC" and "豆包AI" count, "said" does not)."""
_GEN_ZH = re.compile("生成|合成")
_GEN_EN = re.compile(r"\b(?:generated|generation|synthesi[sz]ed|synthetic)\b", re.I)


@dataclass(frozen=True)
class WordingCheck:
    """Which elements a prompt holds."""

    text: str
    ai_element: str | None
    generation_element: str | None

    @property
    def ok(self) -> bool:
        return self.ai_element is not None and self.generation_element is not None

    @property
    def chinese(self) -> bool:
        """Both elements in the Chinese forms the standard names ("AI" counts as Chinese usage)."""
        return (
            self.ok
            and self.ai_element in ("人工智能", "AI")
            and self.generation_element in ("生成", "合成")
        )


def check_wording(text: str) -> WordingCheck:
    """Find the AI and generation elements in ``text`` (NFKC, so full-width ＡＩ counts)."""
    norm = unicodedata.normalize("NFKC", text)
    ai = _AI.search(norm)
    gen = _GEN_ZH.search(norm) or _GEN_EN.search(norm)
    return WordingCheck(text, ai.group(0) if ai else None, gen.group(0) if gen else None)


def require_wording(text: str) -> str:
    """Return ``text`` if it is a valid explicit label, else raise with what is missing."""
    if not text.strip():
        raise InvalidExplicitLabelError("explicit label text is empty")
    if "\x00" in text or any(unicodedata.category(c) == "Cc" and c not in "\n" for c in text):
        raise InvalidExplicitLabelError("explicit label text holds control characters")
    check = check_wording(text)
    missing = []
    if check.ai_element is None:
        missing.append('an AI element ("人工智能" or "AI")')
    if check.generation_element is None:
        missing.append('a generation element ("生成" or "合成")')
    if missing:
        raise InvalidExplicitLabelError(
            f"explicit label text {text!r} lacks {' and '.join(missing)} (GB 45438 section 2)"
        )
    return text


def default_text(lang: Lang = "zh", *, short: bool = False) -> str:
    """The default prompt for ``lang``; ``short`` for pictures and frames."""
    if lang not in LANGS:
        raise InvalidExplicitLabelError(f"unknown language {lang!r}; choose one of {LANGS}")
    return DEFAULT_TEXTS[f"{lang}-short" if short else lang]


def resolve_text(text: str | None, lang: Lang = "zh", *, short: bool = False) -> str:
    """The caller's text (validated) or the default for ``lang``."""
    return require_wording(text) if text is not None else default_text(lang, short=short)


def require_position(
    position: str | None, allowed: tuple[str, ...], default: str, what: str
) -> str:
    """``position`` if ``allowed`` holds it (None means ``default``); else a clear error."""
    if position is None:
        return default
    if position not in allowed:
        raise InvalidExplicitLabelError(
            f"position {position!r} is not available for {what}; choose one of "
            + ", ".join(allowed)
        )
    return position


def require_height_ratio(ratio: float) -> float:
    """A glyph-height target at or above the 5% floor (and below a sane ceiling)."""
    if not MIN_HEIGHT_RATIO <= ratio <= 0.5:
        raise InvalidExplicitLabelError(
            f"glyph height ratio {ratio} is outside {MIN_HEIGHT_RATIO}..0.5 "
            "(GB 45438 asks for at least 5% of the shortest side)"
        )
    return ratio


def require_duration(seconds: float) -> float:
    """A prompt duration of at least :data:`MIN_DURATION_S`."""
    if seconds < MIN_DURATION_S:
        raise InvalidExplicitLabelError(
            f"prompt duration {seconds} s is below the {MIN_DURATION_S} s GB 45438 asks for"
        )
    return seconds
