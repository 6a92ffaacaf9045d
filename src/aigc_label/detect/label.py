"""The GB 45438 implicit label, in any placement the format handlers read.

The handlers already find every copy of the label (standard and in-the-wild
placements) when the workflow inspects the upload; this detector turns that
report into evidence. A label that is present but broken (bad JSON, a Label
value outside 1/2/3, duplicate or conflicting copies) still declares the
content as AI: it is reported with confidence 0.9 and its problems, not
ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Detector, Evidence, Subject

if TYPE_CHECKING:
    from ..policy import Policy

LABEL_PROBLEMS = frozenset(
    {
        "bad_json",
        "bad_label_value",
        "duplicate_key",
        "duplicate_label",
        "conflicting_labels",
        "missing_field",
        "empty_field",
        "charset",
        "non_string",
        "unknown_field",
    }
)
"""Problem codes that make a found label "broken" (still declared AI)."""


class LabelDetector(Detector):
    """Evidence from the seven-field label the handlers found."""

    name = "label"
    kind = "label"
    cost = 0

    def run(self, subject: Subject, policy: Policy) -> list[Evidence]:
        report = subject.report
        if not report.locations:
            return []
        where = ", ".join(
            loc.placement + ("" if loc.standard else " (non-standard)") for loc in report.locations
        )
        broken = [p for p in report.problems if p.code in LABEL_PROBLEMS and p.severity == "error"]
        lab = report.label
        if lab is None:
            what = "unparseable GB 45438 label"
        else:
            what = f"GB 45438 label (Label {lab.Label!r}, ContentProducer {lab.ContentProducer!r})"
        detail = f"{what} in {where}"
        if broken:
            detail += "; broken: " + "; ".join(p.message for p in broken)
        data: dict[str, object] = {"copies": len(report.locations)}
        if lab is not None:
            data["label"] = lab.to_dict()
        return [Evidence("label.gb45438", detail, 0.9 if broken else 1.0, "label", data=data)]
