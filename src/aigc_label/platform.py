"""Platform ingest (Art. 6, spec section 6): classify an upload, relabel it, say what to show.

:func:`ingest_file` is the one entry point the CLI (``aigc-label ingest``) and
the service (``/v1/ingest``) call. It

1. inspects the upload once (every label copy the handlers read) and runs the
   detectors of :mod:`aigc_label.detect` cheapest first, stopping as soon as
   the outcome is decided: a GB 45438 label -> ``confirmed`` (or the class its
   Label value names, see ``Policy.existing_label_class``); an IPTC/C2PA AI
   marker -> ``confirmed`` by default; a user declaration -> ``possible``
   (declaration outranks traces, so trace detectors do not run); otherwise
   generation traces -> ``suspected``; nothing -> ``none``;
2. writes OUTPUT atomically: for ``none``, a byte-identical copy; otherwise
   the input with exactly one label whose producer part (Label,
   ContentProducer, ProduceID, ReservedCode1) is kept from an existing label,
   and whose propagation part is the platform's (ContentPropagator = platform
   code, a new UUIDv7 PropagateID, ReservedCode2 from the policy). Formats
   with no metadata slot (plain text) get a copy and a note;
3. returns an :class:`IngestResult` whose ``to_dict()`` is the CLI's JSON.

When no label existed, ContentProducer is unknown but required: the policy's
``producer_when_unlabeled`` decides (default: the platform code), and
ProduceID equals the new PropagateID, as producers do at first write.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import api, formats
from ._io import atomic_output
from .detect import DETECTORS, Detector, Evidence, Subject
from .detect.base import failed, unavailable
from .errors import (
    AigcLabelError,
    FileAccessError,
    InvalidPolicyError,
    InvalidProducerCodeError,
)
from .limits import DEFAULT_LIMITS, Limits
from .model import (
    LABEL_VALUES,
    Label,
    Problem,
    check_charset,
    check_provider_code,
    new_content_id,
)
from .policy import PLATFORM_PRODUCER, Outcome, Policy

Action = Literal["relabeled", "copied"]

STAGES = {"label": 0, "marker": 1, "trace": 2}
"""Detector kinds in the order Art. 6 ranks them."""

LABEL_FOR_OUTCOME = {"confirmed": "1", "possible": "2", "suspected": "3"}
"""Label value the platform writes when no usable label existed."""

OUTCOME_FOR_LABEL: dict[str, Outcome] = {"1": "confirmed", "2": "possible", "3": "suspected"}


@dataclass
class IngestResult:
    """What ingesting one upload found, wrote and asks the platform to show."""

    input: str
    output: str
    format: str
    outcome: Outcome
    prompt: str
    language: str
    declared: bool
    evidence: list[Evidence] = field(default_factory=list)
    label: Label | None = None
    """The label now in OUTPUT (None for copies)."""
    action: Action = "copied"
    problems: list[Problem] = field(default_factory=list)
    """Problems with the label the upload arrived with."""
    notes: list[str] = field(default_factory=list)
    detectors: list[str] = field(default_factory=list)
    """Detector families that ran, in order."""

    def to_dict(self) -> dict[str, Any]:
        """The CLI/service JSON object (``class`` is the Art. 6 outcome)."""
        return {
            "input": self.input,
            "output": self.output,
            "format": self.format,
            "class": self.outcome,
            "prompt": self.prompt or None,
            "language": self.language,
            "declared": self.declared,
            "evidence": [e.to_dict() for e in self.evidence],
            "label": self.label.to_dict() if self.label else None,
            "action": self.action,
            "problems": [p.to_dict() for p in self.problems],
            "notes": self.notes,
            "detectors": self.detectors,
        }


@dataclass
class Decision:
    """The outcome and the evidence that led to it."""

    outcome: Outcome
    evidence: list[Evidence]
    decided_by: Evidence | None
    detectors: list[str]


def check_platform(policy: Policy) -> None:
    """The platform code is written into every label: it must be a valid PG-20252A code."""
    if not policy.platform:
        raise InvalidPolicyError("a platform code (ContentPropagator) is required")
    errors = [p for p in check_provider_code(policy.platform) if p.severity == "error"]
    if errors:
        raise InvalidProducerCodeError(f"platform code: {errors[0].message}")
    if not check_charset(policy.platform):
        raise InvalidProducerCodeError(f"platform code {policy.platform!r} breaks Annex E j")


def _ordered(policy: Policy) -> list[Detector]:
    chosen = [d for d in DETECTORS if d.name not in policy.disabled_detectors]
    return sorted(chosen, key=lambda d: (STAGES[d.kind], d.cost))


def _run(det: Detector, subject: Subject, policy: Policy) -> list[Evidence]:
    reason = det.missing()
    if reason is not None:
        return [unavailable(det.name, det.kind, reason)]
    try:
        return det.run(subject, policy)
    except AigcLabelError:
        raise
    except Exception as e:
        # Third-party decoders (Pillow, PyAV, onnxruntime) fail in their own ways on
        # hostile input; one detector failing must not block the upload, and the
        # failure is reported as evidence.
        return [failed(det.name, det.kind, f"{type(e).__name__}: {e}")]


def _label_outcome(subject: Subject, policy: Policy) -> Outcome:
    lab = subject.report.label
    if policy.existing_label_class == "confirmed" or lab is None:
        return "confirmed"
    return OUTCOME_FOR_LABEL.get(lab.Label, "confirmed")


def classify(subject: Subject, policy: Policy) -> Decision:
    """Run detectors cheapest first until Art. 6 decides the outcome."""
    evidence: list[Evidence] = []
    ran: list[str] = []
    minimum = policy.thresholds.min_confidence
    for det in _ordered(policy):
        if det.kind == "trace" and subject.declared:
            return Decision("possible", evidence, None, ran)
        if not det.applies(subject, policy):
            continue
        found = _run(det, subject, policy)
        if det.name not in ran:
            ran.append(det.name)
        evidence.extend(found)
        decisive = [
            e
            for e in found
            if e.status == "found" and (e.kind == "label" or e.confidence >= minimum)
        ]
        if not decisive:
            continue
        top = decisive[0]
        if det.kind == "label":
            return Decision(_label_outcome(subject, policy), evidence, top, ran)
        if det.kind == "marker" and policy.metadata_markers == "confirmed":
            return Decision("confirmed", evidence, top, ran)
        if subject.declared:  # a demoted marker is a trace; the declaration outranks it
            return Decision("possible", evidence, None, ran)
        return Decision("suspected", evidence, top, ran)
    return Decision("possible" if subject.declared else "none", evidence, None, ran)


def _keep(value: str, name: str, fallback: str, notes: list[str], *, required: bool) -> str:
    if (value or not required) and check_charset(value):
        return value
    why = "is empty" if not value else "breaks Annex E j"
    notes.append(f"existing {name} {value!r} {why}; written as {fallback!r}")
    return fallback


def build_request(
    subject: Subject, decision: Decision, policy: Policy, notes: list[str]
) -> api.LabelRequest:
    """The label to write: producer part kept from an existing label, propagation part ours."""
    propagate_id = new_content_id()
    unknown_producer = (
        policy.platform
        if policy.producer_when_unlabeled == PLATFORM_PRODUCER
        else policy.producer_when_unlabeled
    )
    existing = subject.report.label
    from_label = decision.decided_by is not None and decision.decided_by.kind == "label"
    if from_label and existing is not None:
        value = existing.Label
        if value not in LABEL_VALUES:
            notes.append(f"existing Label {value!r} is not 1/2/3; written as '1' (declared AI)")
            value = "1"
        producer = _keep(
            existing.ContentProducer, "ContentProducer", unknown_producer, notes, required=True
        )
        produce_id = _keep(existing.ProduceID, "ProduceID", propagate_id, notes, required=True)
        reserved1 = _keep(existing.ReservedCode1, "ReservedCode1", "", notes, required=False)
    else:
        if from_label:
            notes.append("existing label is unreadable; a new one declares the content as AI")
        value = "1" if from_label else LABEL_FOR_OUTCOME[decision.outcome]
        producer, produce_id, reserved1 = unknown_producer, propagate_id, ""
    return api.LabelRequest(
        producer=producer,
        produce_id=produce_id,
        label=value,
        reserved1=reserved1,
        propagator=policy.platform,
        propagate_id=propagate_id,
        reserved2=policy.reserved2,
        digital_source_type=None,
        strict_producer_code=False,
    )


def copy_file(src: str, dst: str) -> None:
    """Byte-identical atomic copy (temp file beside ``dst``, fsync, rename)."""
    try:
        with open(src, "rb") as f, atomic_output(dst) as out:
            shutil.copyfileobj(f, out, 1024 * 1024)
    except OSError as e:
        raise FileAccessError(f"cannot copy {src} to {dst}: {e.strerror or e}") from e


def _same_file(a: str, b: str) -> bool:
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)
    return False


def ingest_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    policy: Policy,
    declared: bool = False,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> IngestResult:
    """Classify ``src`` per Art. 6 and write the relabeled (or copied) upload to ``dst``.

    Raises:
        AigcLabelError: unreadable/unsupported/corrupt input, an invalid platform
            code or policy, or ``dst`` naming the input itself. Nothing is
            written then.
    """
    check_platform(policy)
    src_name, dst_name = os.fspath(src), os.fspath(dst)
    if _same_file(src_name, dst_name):
        raise FileAccessError(f"output {dst_name} is the input; inputs are never modified")
    try:
        with open(src_name, "rb") as f:
            report = api.inspect_stream(f, src_name, limits=limits)
            subject = Subject(src_name, f, report, declared=declared, limits=limits)
            decision = classify(subject, policy)
    except OSError as e:
        raise FileAccessError(f"cannot read {src_name}: {e.strerror or e}") from e
    result = IngestResult(
        input=src_name,
        output=dst_name,
        format=subject.format,
        outcome=decision.outcome,
        prompt=policy.prompt(decision.outcome),
        language=policy.language,
        declared=declared,
        evidence=decision.evidence,
        problems=[p for p in report.problems if p.code != "no_metadata_slot"],
        detectors=decision.detectors,
    )
    handler = formats.handler_named(subject.format)
    if decision.outcome == "none":
        copy_file(src_name, dst_name)
        return result
    if handler is None or not handler.can_write:
        copy_file(src_name, dst_name)
        result.notes.append(
            f"{subject.format} has no metadata slot for the implicit label: OUTPUT is an "
            "unchanged copy; show the prompt and keep the result in the platform's records"
        )
        return result
    request = build_request(subject, decision, policy, result.notes)
    outcome = api.label_file(src_name, dst_name, request, limits=limits)
    result.label = outcome.label
    result.action = "relabeled"
    if any(e.detector.startswith("c2pa") and e.status == "found" for e in decision.evidence):
        result.notes.append(
            "the upload carries a C2PA manifest; writing the label changed bytes its hard "
            "binding covers, so C2PA validators will report a hash mismatch"
        )
    return result


# --- batches: folders, globs, several inputs -----------------------------------


@dataclass(frozen=True)
class BatchItem:
    """One input file and where its output goes."""

    input: str
    output: str


def _has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _glob_base(pattern: str) -> Path:
    parts = Path(pattern).parts
    base = [p for p in parts[: next(i for i, p in enumerate(parts) if _has_magic(p))]]
    return Path(*base) if base else Path(".")


def _expand(item: str, skip: Path | None) -> Iterator[tuple[Path, Path]]:
    """(file, path relative to the item's root) for one CLI input."""
    path = Path(item)
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            rel = p.relative_to(path)
            hidden = any(part.startswith(".") for part in rel.parts)
            if p.is_file() and not hidden and (skip is None or skip not in p.resolve().parents):
                yield p, rel
    elif path.is_file():
        yield path, Path(path.name)
    elif _has_magic(item):
        base = _glob_base(item)
        for name in sorted(glob.glob(item, recursive=True)):
            p = Path(name)
            if p.is_file() and (skip is None or skip not in p.resolve().parents):
                yield p, p.relative_to(base) if p.is_relative_to(base) else Path(p.name)
    else:
        raise FileAccessError(f"no such file, folder or matching glob: {item}")


def plan_batch(inputs: Sequence[str], output: str) -> list[BatchItem]:
    """Map inputs (files, folders, globs) to outputs.

    One plain file with an OUTPUT that is not a folder maps to OUTPUT itself;
    anything else makes OUTPUT a folder that mirrors the inputs' relative paths.
    """
    out = Path(output)
    if len(inputs) == 1 and Path(inputs[0]).is_file() and not out.is_dir():
        return [BatchItem(inputs[0], output)]
    skip = out.resolve()
    items: list[BatchItem] = []
    seen: dict[Path, str] = {}
    for item in inputs:
        for src, rel in _expand(item, skip):
            dst = out / rel
            if dst in seen:
                raise AigcLabelError(f"{src} and {seen[dst]} would both be written to {dst}")
            seen[dst] = str(src)
            items.append(BatchItem(str(src), str(dst)))
    return items


def ingest_batch(
    items: Sequence[BatchItem],
    policy: Policy,
    declared: bool = False,
    *,
    limits: Limits = DEFAULT_LIMITS,
    on_done: Callable[[BatchItem, IngestResult | AigcLabelError], None] | None = None,
) -> list[IngestResult | AigcLabelError]:
    """Ingest every item; a failing file yields its error and the batch goes on."""
    check_platform(policy)
    results: list[IngestResult | AigcLabelError] = []
    for item in items:
        outcome: IngestResult | AigcLabelError
        try:
            Path(item.output).parent.mkdir(parents=True, exist_ok=True)
            outcome = ingest_file(item.input, item.output, policy, declared, limits=limits)
        except AigcLabelError as e:
            outcome = e
        except OSError as e:
            outcome = FileAccessError(f"{item.output}: {e.strerror or e}")
        results.append(outcome)
        if on_done is not None:
            on_done(item, outcome)
    return results


def error_dict(item: BatchItem, error: AigcLabelError) -> dict[str, Any]:
    """The JSON Lines record of a file that could not be ingested."""
    return {
        "input": item.input,
        "output": item.output,
        "error": {"code": error.code, "message": error.message},
    }
