"""Library entry points: inspect a file, label a file.

The CLI and the service are thin shells over these two functions. Data flows
bytes -> sniff -> handler -> label model -> policy -> writer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from . import formats
from ._io import atomic_output, stream_size
from .errors import (
    AigcLabelError,
    CorruptFileError,
    FileAccessError,
    LimitExceededError,
    UnsupportedFormatError,
)
from .formats.base import FoundLabel, Handler, ReadResult, WriteOptions
from .limits import DEFAULT_LIMITS, Limits
from .model import (
    Label,
    Problem,
    check_content_id,
    new_content_id,
    parse_label_json,
    require_valid,
)
from .xmp import DST_TRAINED

Verdict = Literal["compliant", "noncompliant", "not_found", "inconclusive"]


@dataclass
class InspectReport:
    """What ``inspect`` says about one file."""

    path: str
    format: str | None
    label: Label | None = None
    locations: list[FoundLabel] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    verdict: Verdict = "not_found"
    digital_source_types: list[str] = field(default_factory=list)
    error: AigcLabelError | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "label": self.label.to_dict() if self.label else None,
            "locations": [loc.to_dict() for loc in self.locations],
            "problems": [p.to_dict() for p in self.problems],
            "verdict": self.verdict,
            "digital_source_types": self.digital_source_types,
        }


def _sniff(src: BinaryIO, hint: str | None) -> Handler:
    src.seek(0)
    head = src.read(formats.SNIFF_BYTES)
    src.seek(0)
    handler = formats.detect(head, hint)
    if handler is None:
        what = "empty file" if not head else "unrecognised file format"
        raise UnsupportedFormatError(f"{what}; supported: {supported_formats()}")
    return handler


def supported_formats() -> str:
    """Comma-separated names of every registered format."""
    return ", ".join(h.name for h in formats.HANDLERS)


def _read(handler: Handler, src: BinaryIO, limits: Limits) -> ReadResult:
    size = stream_size(src)
    if size > limits.max_file_bytes:
        raise LimitExceededError("file size", size, limits.max_file_bytes, handler.name)
    src.seek(0)
    try:
        return handler.read(src, limits)
    except AigcLabelError:
        raise
    except OSError as e:
        raise FileAccessError(f"{handler.name}: read failed: {e.strerror or e}") from e
    except (ValueError, EOFError, IndexError, KeyError, OverflowError) as e:
        raise CorruptFileError(handler.name, None, f"unreadable: {e}") from e


def assess(result: ReadResult) -> tuple[Label | None, list[Problem], Verdict]:
    """Turn the raw copies a handler found into one label, problems and a verdict."""
    problems = list(result.problems)
    if not result.labels:
        return None, problems, "not_found"
    parsed = [parse_label_json(found.raw) for found in result.labels]
    for found in result.labels:
        if not found.standard:
            problems.append(
                Problem(
                    "nonstandard_placement",
                    f"label found in {found.placement}, not the placement GB 45438 prescribes",
                    "warning",
                )
            )
    problems.extend(parsed[0].problems)
    if len(parsed) > 1:
        values = {
            p.label.to_json() if p.label else found.raw
            for p, found in zip(parsed, result.labels, strict=True)
        }
        if len(values) == 1:
            problems.append(
                Problem("duplicate_label", f"{len(parsed)} copies of the label; 6.1 c allows one")
            )
        else:
            problems.append(
                Problem(
                    "conflicting_labels", f"{len(parsed)} label copies disagree with each other"
                )
            )
    if parsed[0].form == "wrapped":
        problems.append(
            Problem("wrapped_form", 'label uses the {"AIGC":{...}} wrapper form', "warning")
        )
    label = parsed[0].label
    verdict: Verdict = (
        "noncompliant" if any(p.severity == "error" for p in problems) else "compliant"
    )
    return label, problems, verdict


def inspect_stream(
    src: BinaryIO, path: str = "<stream>", *, limits: Limits = DEFAULT_LIMITS
) -> InspectReport:
    """Inspect an open binary stream; raises AigcLabelError on unreadable input."""
    try:
        handler = _sniff(src, Path(path).suffix or None)
    except OSError as e:
        raise FileAccessError(f"read failed: {e.strerror or e}") from e
    report = InspectReport(path=path, format=handler.name)
    result = _read(handler, src, limits)
    report.label, report.problems, report.verdict = assess(result)
    report.locations = result.labels
    report.digital_source_types = result.digital_source_types
    if not handler.can_write and report.verdict == "not_found":
        report.verdict = "inconclusive"
    return report


def inspect_file(path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS) -> InspectReport:
    """Inspect a file by path. Errors are captured in the report, never raised."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            return inspect_stream(f, name, limits=limits)
    except AigcLabelError as e:
        return _failed(name, e)
    except OSError as e:
        return _failed(name, FileAccessError(f"cannot read {name}: {e.strerror or e}"))


def _failed(name: str, e: AigcLabelError) -> InspectReport:
    fmt = getattr(e, "format", None)
    return InspectReport(
        path=name,
        format=fmt if isinstance(fmt, str) else None,
        problems=[Problem(e.code, e.message)],
        verdict="inconclusive",
        error=e,
    )


@dataclass(frozen=True)
class LabelRequest:
    """What to write. Unset ids are generated (UUIDv7)."""

    producer: str
    produce_id: str | None = None
    label: str = "1"
    reserved1: str = ""
    propagator: str | None = None
    """Defaults to ``producer``: real files carry the producer's values at first write."""
    propagate_id: str | None = None
    """Defaults to the ProduceID."""
    reserved2: str = ""
    digital_source_type: str | None = "auto"
    """IPTC value mirrored into XMP; "auto" means trainedAlgorithmicMedia for Label 1 only."""
    strict_producer_code: bool = True
    """Reject codes that are not valid PG-20252A organisation codes (warn only when False)."""

    def build(self) -> Label:
        produce_id = self.produce_id if self.produce_id is not None else new_content_id()
        check_content_id(produce_id)
        propagate_id = self.propagate_id if self.propagate_id is not None else produce_id
        label = Label(
            Label=self.label,
            ContentProducer=self.producer,
            ProduceID=produce_id,
            ReservedCode1=self.reserved1,
            ContentPropagator=self.producer if self.propagator is None else self.propagator,
            PropagateID=propagate_id,
            ReservedCode2=self.reserved2,
        )
        require_valid(label, strict_codes=self.strict_producer_code)
        return label

    def iptc_value(self) -> str | None:
        if self.digital_source_type == "auto":
            return DST_TRAINED if self.label == "1" else None
        return self.digital_source_type or None


def label_stream(
    src: BinaryIO,
    dst: BinaryIO,
    label: Label,
    *,
    hint: str | None = None,
    digital_source_type: str | None = DST_TRAINED,
    limits: Limits = DEFAULT_LIMITS,
) -> str:
    """Write ``src`` with ``label`` to ``dst``; returns the format name."""
    try:
        handler = _sniff(src, hint)
    except OSError as e:
        raise FileAccessError(f"read failed: {e.strerror or e}") from e
    if not handler.can_write:
        from .errors import NoMetadataSlotError

        raise NoMetadataSlotError(
            f"{handler.name} has no metadata slot for an implicit label; add an explicit "
            "text label instead (GB 45438 section 2) and keep the generation log"
        )
    size = stream_size(src)
    if size > limits.max_file_bytes:
        raise LimitExceededError("file size", size, limits.max_file_bytes, handler.name)
    src.seek(0)
    opts = WriteOptions(label.to_json(), digital_source_type)
    try:
        handler.write(src, dst, opts, limits)
    except AigcLabelError:
        raise
    except OSError as e:
        raise FileAccessError(f"{handler.name}: I/O failed: {e.strerror or e}") from e
    except (ValueError, EOFError, IndexError, KeyError, OverflowError) as e:
        raise CorruptFileError(handler.name, None, f"cannot rewrite: {e}") from e
    return handler.name


@dataclass
class LabelOutcome:
    """Result of labeling one file."""

    input: str
    output: str
    format: str
    label: Label


def label_file(
    src_path: str | os.PathLike[str],
    dst_path: str | os.PathLike[str],
    request: LabelRequest,
    *,
    limits: Limits = DEFAULT_LIMITS,
    durable: bool = True,
) -> LabelOutcome:
    """Label ``src_path`` into a new file ``dst_path`` atomically.

    The output is re-read before it replaces anything: it must hold exactly one
    label equal to ours, or nothing is written. ``durable`` fsyncs the output
    before the rename (the default; ``cp`` does not).
    """
    label = request.build()
    src_name, dst_name = os.fspath(src_path), os.fspath(dst_path)
    try:
        with open(src_name, "rb") as src, atomic_output(dst_name, durable=durable) as dst:
            fmt = label_stream(
                src,
                dst,
                label,
                hint=Path(src_name).suffix or None,
                digital_source_type=request.iptc_value(),
                limits=limits,
            )
            _verify_written(dst, fmt, label, limits)
    except OSError as e:
        raise FileAccessError(f"cannot label {src_name}: {e.strerror or e}") from e
    return LabelOutcome(src_name, dst_name, fmt, label)


def _verify_written(dst: BinaryIO, fmt: str, label: Label, limits: Limits) -> None:
    handler = formats.handler_named(fmt)
    if handler is None:  # pragma: no cover - fmt came from the registry
        return
    dst.flush()
    result = _read(handler, dst, limits)
    got = [parse_label_json(found.raw).label for found in result.labels]
    if len(got) != 1 or got[0] != label:
        raise CorruptFileError(
            fmt, None, f"internal check failed: output has {len(got)} label copies, expected 1"
        )


def label_in_place(
    path: str | os.PathLike[str], request: LabelRequest, *, limits: Limits = DEFAULT_LIMITS
) -> LabelOutcome:
    """Label ``path`` itself, patching only metadata when the format has room for it.

    Handlers with a ``write_in_place(f, opts, limits) -> bool`` method (MP4 with a
    ``free`` box after ``moov``) rewrite a few KB in O(metadata) time; everything
    else falls back to :func:`label_file` onto the same path (atomic). The in-place
    patch is not atomic: a crash mid-write can damage the metadata box it was
    writing, never the media payload.
    """
    label = request.build()
    name = os.fspath(path)
    try:
        with open(name, "r+b") as f:
            handler = _sniff(f, Path(name).suffix or None)
            patch = getattr(handler, "write_in_place", None)
            opts = WriteOptions(label.to_json(), request.iptc_value())
            if patch is not None and patch(f, opts, limits):
                f.flush()
                os.fsync(f.fileno())
                _verify_written(f, handler.name, label, limits)
                return LabelOutcome(name, name, handler.name, label)
    except OSError as e:
        raise FileAccessError(f"cannot label {name}: {e.strerror or e}") from e
    return label_file(name, name, request, limits=limits)
