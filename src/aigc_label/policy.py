"""The platform policy for Art. 6 ingest: prompts, how markers count, thresholds.

Section 6 of the spec fixes the three outcomes (metadata label -> "contains AI
content", user declaration -> "possibly AI", traces -> "suspected AI") but
leaves wording, the weight of foreign AI markers (IPTC, C2PA), detector
thresholds and who is named as ContentProducer when a file arrives unlabeled
to the platform. Those choices live here, in one frozen object that a platform
configures once (``load_policy`` reads TOML or JSON) and passes to every
:func:`aigc_label.platform.ingest_file` call.

Example policy file (TOML)::

    platform = "001191440300708461136T1XGW3"
    language = "en"
    metadata_markers = "suspected"   # IPTC/C2PA AI markers only raise suspicion
    ocr = false
    [prompts.suspected]
    zh = "疑似使用了AI生成技术，请谨慎甄别"
    en = "This content may have been made with AI; please judge it with care"
    [thresholds]
    watermark_max_chance = 1e-12
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args

from .errors import InvalidPolicyError

Outcome = Literal["confirmed", "possible", "suspected", "none"]
"""The four Art. 6 outcomes of ingesting one upload."""

OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

MarkerWeight = Literal["confirmed", "suspected"]
ExistingLabelClass = Literal["by_value", "confirmed"]

DEFAULT_PROMPTS: Mapping[str, Mapping[str, str]] = {
    "confirmed": {"zh": "作品含AI生成内容", "en": "This work contains AI-generated content"},
    "possible": {"zh": "内容可能由AI生成", "en": "This content may be AI-generated"},
    "suspected": {
        "zh": "疑似使用了AI生成技术，请谨慎甄别",
        "en": "Suspected use of AI generation technology; please judge with care",
    },
    "none": {"zh": "", "en": ""},
}
"""Prompt the platform must show per outcome and language (spec section 6 wording)."""

PLATFORM_PRODUCER = "platform"
"""``producer_when_unlabeled`` value meaning "write the platform's own code"."""


@dataclass(frozen=True)
class Thresholds:
    """Numeric knobs of the trace detectors; each is documented where it is used."""

    min_confidence: float = 0.5
    """Evidence below this confidence is reported but does not decide the outcome."""

    watermark_max_chance: float = 1e-9
    """Largest probability that an unmarked image matches a known SD/SDXL payload as well
    as the decoded bits do (binomial tail): 1e-9 needs 103/136 bits for SD, 44/48 for
    SDXL. The SD encoder itself loses bits on saturated colours, so exact matches are rare."""

    watermark_max_pixels: int = 16_777_216
    """Images larger than this are not decoded for the watermark (SD outputs are <= ~4 MP)."""

    stealth_max_pixels: int = 16_777_216
    """Largest RGBA image whose alpha channel is read for NovelAI stealth data."""

    ocr_min_score: float = 0.6
    """Lowest rapidocr recognition score accepted for a visible-label phrase."""

    ocr_max_side: int = 640
    """Images are scaled so their longest side is at most this before OCR."""

    ocr_edge_fraction: float = 0.25
    """A text box counts as an edge/corner label when it lies in this outer margin."""

    ocr_max_pixels: int = 50_000_000
    """Images larger than this are not decoded for OCR at all."""

    video_seconds: float = 3.0
    """How far into a video frames are sampled for OCR (the label must show >= 2 s)."""

    video_frames: int = 3
    """How many frames in that window are read by OCR."""

    audio_seconds: float = 6.0
    """Seconds at the start and at the end of audio searched for the Morse rhythm."""

    text_scan_chars: int = 4000
    """Characters at the head and the tail of a text file searched for label phrases."""


@dataclass(frozen=True)
class Policy:
    """How one platform classifies and relabels uploads (Art. 6)."""

    platform: str = ""
    """The platform's PG-20252A code, written as ContentPropagator; checked strictly."""

    language: Language = "zh"
    """Language of the ``prompt`` in results."""

    prompts: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: DEFAULT_PROMPTS)
    """Prompt text per outcome and language; missing entries fall back to the defaults."""

    metadata_markers: MarkerWeight = "confirmed"
    """How IPTC DigitalSourceType / C2PA AI source types count: as a label (confirmed,
    Label "1" written) or as a trace (suspected, Label "3")."""

    existing_label_class: ExistingLabelClass = "by_value"
    """With a GB 45438 label present: the outcome follows its Label value ("1" confirmed,
    "2" possible, "3" suspected; broken values confirmed), or is always confirmed."""

    producer_when_unlabeled: str = PLATFORM_PRODUCER
    """ContentProducer written when no label existed. ContentProducer is a required field
    and the real producer is unknown; the default names the platform itself (it is the
    first to label the file, as producers copy their own values at first write). Any
    other value is written literally (e.g. an agreed "unknown producer" code)."""

    reserved2: str = ""
    """ReservedCode2 written by the platform (its integrity data), may be empty."""

    ocr: bool = True
    """Run OCR on images and video frames when nothing cheaper decided."""

    disabled_detectors: tuple[str, ...] = ()
    """Detector names (e.g. "watermark") never to run."""

    thresholds: Thresholds = field(default_factory=Thresholds)

    def prompt(self, outcome: Outcome) -> str:
        """The text to show for ``outcome`` in the policy language."""
        chosen = self.prompts.get(outcome, {}).get(self.language)
        return chosen if chosen is not None else DEFAULT_PROMPTS[outcome][self.language]

    def with_overrides(self, **changes: Any) -> Policy:
        """A copy with some fields changed (validated like a loaded policy)."""
        return policy_from_mapping({**_as_mapping(self), **changes})


def _as_mapping(policy: Policy) -> dict[str, Any]:
    out = {f.name: getattr(policy, f.name) for f in fields(policy)}
    out["thresholds"] = {f.name: getattr(policy.thresholds, f.name) for f in fields(Thresholds)}
    return out


def _choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = data.get(key, default)
    if value not in allowed:
        raise InvalidPolicyError(f"policy {key} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _thresholds(data: Any) -> Thresholds:
    if isinstance(data, Thresholds):
        return data
    if not isinstance(data, Mapping):
        raise InvalidPolicyError("policy thresholds must be a table/object")
    known = {f.name: f for f in fields(Thresholds)}
    unknown = set(data) - set(known)
    if unknown:
        raise InvalidPolicyError(f"unknown threshold(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    defaults = Thresholds()
    for name, value in data.items():
        want = type(getattr(defaults, name))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidPolicyError(f"threshold {name} must be a number, got {value!r}")
        if value < 0 or (want is int and value != int(value)):
            raise InvalidPolicyError(f"threshold {name} must be a non-negative {want.__name__}")
        values[name] = want(value)
    return replace(defaults, **values)


def _prompts(data: Any) -> dict[str, dict[str, str]]:
    if not isinstance(data, Mapping):
        raise InvalidPolicyError("policy prompts must be a table/object")
    out = {k: dict(v) for k, v in DEFAULT_PROMPTS.items()}
    for outcome, per_lang in data.items():
        if outcome not in OUTCOMES or not isinstance(per_lang, Mapping):
            raise InvalidPolicyError(f"policy prompts.{outcome} is not an outcome table")
        for lang, text in per_lang.items():
            if lang not in LANGUAGES or not isinstance(text, str):
                raise InvalidPolicyError(f"policy prompts.{outcome}.{lang} must be a string")
            out[outcome][lang] = text
    return out


def policy_from_mapping(data: Mapping[str, Any]) -> Policy:
    """Build a validated :class:`Policy` from a parsed TOML/JSON mapping."""
    known = {f.name for f in fields(Policy)}
    unknown = set(data) - known
    if unknown:
        raise InvalidPolicyError(f"unknown policy key(s): {', '.join(sorted(unknown))}")
    platform = data.get("platform", "")
    producer = data.get("producer_when_unlabeled", PLATFORM_PRODUCER)
    reserved2 = data.get("reserved2", "")
    for key, value in (("platform", platform), ("producer_when_unlabeled", producer)):
        if not isinstance(value, str):
            raise InvalidPolicyError(f"policy {key} must be a string")
    if not isinstance(reserved2, str):
        raise InvalidPolicyError("policy reserved2 must be a string")
    ocr = data.get("ocr", True)
    if not isinstance(ocr, bool):
        raise InvalidPolicyError("policy ocr must be true or false")
    disabled = data.get("disabled_detectors", ())
    if isinstance(disabled, str) or not all(isinstance(d, str) for d in disabled):
        raise InvalidPolicyError("policy disabled_detectors must be a list of names")
    return Policy(
        platform=platform,
        language=_choice(data, "language", LANGUAGES, "zh"),  # type: ignore[arg-type]
        prompts=_prompts(data.get("prompts", {})),
        metadata_markers=_choice(  # type: ignore[arg-type]
            data, "metadata_markers", ("confirmed", "suspected"), "confirmed"
        ),
        existing_label_class=_choice(  # type: ignore[arg-type]
            data, "existing_label_class", ("by_value", "confirmed"), "by_value"
        ),
        producer_when_unlabeled=producer or PLATFORM_PRODUCER,
        reserved2=reserved2,
        ocr=ocr,
        disabled_detectors=tuple(disabled),
        thresholds=_thresholds(data.get("thresholds", {})),
    )


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read a policy from a ``.toml`` or ``.json`` file (by extension; TOML otherwise)."""
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as e:
        raise InvalidPolicyError(f"cannot read policy {p}: {e.strerror or e}") from e
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidPolicyError(f"policy {p} is not valid {p.suffix[1:] or 'TOML'}: {e}") from e
    if not isinstance(data, dict):
        raise InvalidPolicyError(f"policy {p} must hold a table/object")
    return policy_from_mapping(data)
