"""Run one detector on one file, the way the platform workflow does."""

from __future__ import annotations

from pathlib import Path

from aigc_label import api
from aigc_label.detect import Detector, Evidence, Subject
from aigc_label.policy import Policy
from tests.platform.corpus import PLATFORM

POLICY = Policy(platform=PLATFORM)


def detect(detector: Detector, path: Path, policy: Policy = POLICY) -> list[Evidence] | None:
    """The detector's evidence for ``path``; None when it does not apply."""
    with open(path, "rb") as f:
        report = api.inspect_stream(f, str(path))
        subject = Subject(str(path), f, report)
        if not detector.applies(subject, policy):
            return None
        return detector.run(subject, policy)


def fired(evidence: list[Evidence] | None, policy: Policy = POLICY) -> list[Evidence]:
    """Found evidence strong enough to decide."""
    return [
        e
        for e in evidence or []
        if e.status == "found" and e.confidence >= policy.thresholds.min_confidence
    ]
