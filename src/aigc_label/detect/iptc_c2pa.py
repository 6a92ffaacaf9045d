"""Foreign AI markers: IPTC DigitalSourceType in XMP and C2PA manifests (spec section 9).

Both are metadata a producer wrote on purpose to say "made by a trained
model", so the default policy treats them like the GB 45438 label (outcome
``confirmed``); ``Policy.metadata_markers = "suspected"`` demotes them to
traces.

- IPTC: the handlers collect ``Iptc4xmpExt:DigitalSourceType`` from every XMP
  packet they read; ``trainedAlgorithmicMedia`` and
  ``compositeWithTrainedAlgorithmicMedia`` (URI or bare code) count.
- C2PA: the manifest store is read in-process with c2pa-python (the C2PA
  reference implementation; optional import). The reader runs offline: remote
  manifest and OCSP fetching are switched off. Every manifest's
  ``c2pa.actions`` assertions (v1 and v2) are searched for an AI
  ``digitalSourceType``; a manifest whose signature or hashes do not validate
  still counts, with lower confidence, because its claim is what matters here.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from .base import Detector, Evidence, Subject, failed, unavailable

if TYPE_CHECKING:
    from ..policy import Policy

AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
"""IPTC digital source type codes that mean a trained model made (part of) the content."""

C2PA_MIME: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "tiff": "image/tiff",
    "heif": "image/heif",
    "svg": "image/svg+xml",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "avi": "video/x-msvideo",
    "mp4": "video/mp4",
    "pdf": "application/pdf",
    "ooxml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
"""Our format names -> the MIME type c2pa-python reads (formats it cannot read are skipped)."""

OFFLINE_SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
"""c2pa settings that keep reading off the network."""


def ai_source_type(value: str) -> str | None:
    """The AI code when ``value`` (URI or bare code) is an AI digital source type."""
    code = value.strip().rstrip("/").rsplit("/", 1)[-1]
    return code if code in AI_SOURCE_TYPES else None


class IptcDetector(Detector):
    """IPTC DigitalSourceType values the handlers found in XMP."""

    name = "iptc"
    kind = "marker"
    cost = 1

    def run(self, subject: Subject, policy: Policy) -> list[Evidence]:
        found = sorted({c for v in subject.report.digital_source_types if (c := ai_source_type(v))})
        if not found:
            return []
        return [
            Evidence(
                "iptc.digital_source_type",
                f"XMP Iptc4xmpExt:DigitalSourceType = {', '.join(found)}",
                0.95,
                "marker",
                data={"values": found},
            )
        ]


@functools.lru_cache(maxsize=1)
def _offline_context() -> Any:
    import c2pa  # type: ignore[import-untyped,import-not-found,unused-ignore]

    return c2pa.Context.from_dict(OFFLINE_SETTINGS)


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for assertion in manifest.get("assertions", []) or []:
        if not isinstance(assertion, dict):
            continue
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        data = assertion.get("data")
        actions = data.get("actions") if isinstance(data, dict) else None
        if isinstance(actions, list):
            out.extend(a for a in actions if isinstance(a, dict))
    return out


def c2pa_ai_actions(store: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(manifest label, action, AI source code) for every AI action in a manifest store."""
    found = []
    manifests = store.get("manifests")
    if not isinstance(manifests, dict):
        return []
    for label, manifest in manifests.items():
        if not isinstance(manifest, dict):
            continue
        for action in _actions(manifest):
            dst = action.get("digitalSourceType")
            if dst is None and isinstance(action.get("parameters"), dict):
                dst = action["parameters"].get("digitalSourceType")
            code = ai_source_type(dst) if isinstance(dst, str) else None
            if code:
                found.append((str(label), str(action.get("action", "?")), code))
    return found


class C2paDetector(Detector):
    """C2PA manifest stores whose actions carry an AI digitalSourceType."""

    name = "c2pa"
    kind = "marker"
    cost = 2
    modules = ("c2pa",)

    def applies(self, subject: Subject, policy: Policy) -> bool:
        return subject.format in C2PA_MIME

    def run(self, subject: Subject, policy: Policy) -> list[Evidence]:
        try:
            import c2pa  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as e:  # present but broken (e.g. native library missing)
            return [unavailable("c2pa", "marker", f"c2pa-python cannot load: {e}")]
        try:
            reader = c2pa.Reader.try_create(
                C2PA_MIME[subject.format], subject.stream(), None, _offline_context()
            )
            if reader is None:
                return []
            with reader:
                store = json.loads(reader.json())
        except c2pa.C2paError as e:
            return [failed("c2pa", "marker", f"manifest store unreadable: {e}")]
        if not isinstance(store, dict):
            return []
        hits = c2pa_ai_actions(store)
        if not hits:
            return []
        state = str(store.get("validation_state", ""))
        failures = [
            s.get("code", "?")
            for s in store.get("validation_status", []) or []
            if isinstance(s, dict) and s.get("code") != "signingCredential.untrusted"
        ]
        valid = not failures and state.lower() != "invalid"
        detail = "C2PA manifest: " + "; ".join(f"{a} with {c}" for _, a, c in hits)
        if not valid:
            detail += f" (manifest does not validate: {', '.join(map(str, failures)) or state})"
        return [
            Evidence(
                "c2pa.digital_source_type",
                detail,
                0.95 if valid else 0.8,
                "marker",
                data={"manifests": sorted({m for m, _, _ in hits}), "valid": valid},
            )
        ]
