"""Hooks that turn a finished label or ingest into a ledger event.

Front ends call these right after the library call succeeds, so
:mod:`aigc_label.api` stays free of storage concerns. Content hashes are
computed by streaming the files (constant memory).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any, BinaryIO

from ..api import LabelOutcome, LabelRequest, label_file
from ..errors import FileAccessError, LedgerError
from ..model import Label
from .ledger import Ledger
from .record import Entry, Event, EventKind

HASH_BLOCK = 1024 * 1024


def stream_sha256(f: BinaryIO) -> str:
    """SHA-256 (hex) of a binary stream from its start; leaves it at the end."""
    f.seek(0)
    h = hashlib.sha256()
    while block := f.read(HASH_BLOCK):
        h.update(block)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file, read in blocks."""
    try:
        with open(path, "rb") as f:
            return stream_sha256(f)
    except OSError as e:
        raise FileAccessError(f"cannot read {os.fspath(path)}: {e.strerror or e}") from e


def record_file_event(
    ledger: Ledger,
    kind: EventKind,
    label: Label,
    fmt: str | None,
    before: str | os.PathLike[str] | None,
    after: str | os.PathLike[str] | None,
    *,
    provider: str | None = None,
    model: str | None = None,
    requester: str | None = None,
    explicit_label_omitted: bool = False,
    omitted_for: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Entry:
    """Record one event about a file pair (input ``before``, labeled output ``after``).

    ``provider`` defaults to ContentProducer for generation and hand-out events
    and to ContentPropagator for propagation (ingest) events.
    """
    event = Event.from_label(
        kind,
        label,
        provider=provider,
        sha256_before=None if before is None else file_sha256(before),
        sha256_after=None if after is None else file_sha256(after),
        format=fmt,
        model=model,
        requester=requester,
        explicit_label_omitted=explicit_label_omitted,
        omitted_for=omitted_for,
        extra=dict(extra or {}),
    )
    return ledger.append(event)


def record_label(
    ledger: Ledger,
    outcome: LabelOutcome,
    *,
    kind: EventKind = "generation",
    model: str | None = None,
    requester: str | None = None,
    explicit_label_omitted: bool = False,
    omitted_for: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Entry:
    """Record what :func:`aigc_label.api.label_file` just did (input and output hashed)."""
    return record_file_event(
        ledger,
        kind,
        outcome.label,
        outcome.format,
        outcome.input,
        outcome.output,
        model=model,
        requester=requester,
        explicit_label_omitted=explicit_label_omitted,
        omitted_for=omitted_for,
        extra=extra,
    )


def label_file_recorded(
    src_path: str | os.PathLike[str],
    dst_path: str | os.PathLike[str],
    request: LabelRequest,
    ledger_url: str | None,
    **meta: Any,
) -> tuple[LabelOutcome, Entry | None]:
    """:func:`aigc_label.api.label_file`, then record a generation event when a URL is given.

    The ledger is opened before labeling, so an unreachable ledger fails before
    any output is written. If recording fails after the output was written, the
    error says so (the output stays: it is a correct labeled file).
    ``meta`` goes to :func:`record_label` (model, requester, ...).
    """
    if not ledger_url:
        return label_file(src_path, dst_path, request), None
    with Ledger.open(ledger_url) as ledger:
        outcome = label_file(src_path, dst_path, request)
        try:
            entry = record_label(ledger, outcome, **meta)
        except LedgerError as e:
            raise LedgerError(f"{outcome.output} was written but not recorded: {e.message}") from e
    return outcome, entry
