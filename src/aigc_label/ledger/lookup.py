"""``trace``: find the records for an id, a content hash, or a file.

A file is traced by its SHA-256 (matches the content before or after
labeling) and by the ProduceID and PropagateID of the label read from it, so
a copy that was relabeled by a platform still finds its generation record.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import api
from ..model import Label
from .events import file_sha256
from .ledger import DEFAULT_LOOKUP_LIMIT, Ledger
from .record import Entry, is_sha256


@dataclass
class TraceResult:
    """The records found and what they were looked up by."""

    query: str
    source: Literal["id", "sha256", "file"]
    ids: list[str] = field(default_factory=list)
    sha256s: list[str] = field(default_factory=list)
    label: Label | None = None
    """The label read from the file (file queries only)."""
    entries: list[Entry] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "source": self.source,
            "ids": self.ids,
            "sha256s": self.sha256s,
            "label": None if self.label is None else self.label.to_dict(),
            "records": [e.to_dict() for e in self.entries],
        }


def trace(ledger: Ledger, query: str, *, limit: int = DEFAULT_LOOKUP_LIMIT) -> TraceResult:
    """Trace an id or a SHA-256, or a file when ``query`` names an existing file (CLI use)."""
    if os.path.isfile(query):
        return trace_file(ledger, query, limit=limit)
    return trace_key(ledger, query, limit=limit)


def trace_key(ledger: Ledger, query: str, *, limit: int = DEFAULT_LOOKUP_LIMIT) -> TraceResult:
    """Trace an id or a SHA-256 only; never touches the filesystem (for services)."""
    key = query.strip()
    if is_sha256(key.lower()):
        return TraceResult(
            query, "sha256", [key], [key.lower()], entries=ledger.trace(key, limit=limit)
        )
    return TraceResult(query, "id", [key], entries=ledger.trace(key, limit=limit))


def trace_file(
    ledger: Ledger, path: str | os.PathLike[str], *, limit: int = DEFAULT_LOOKUP_LIMIT
) -> TraceResult:
    """Records matching a file's content hash or the ids in its label."""
    name = os.fspath(path)
    digest = file_sha256(Path(name))
    report = api.inspect_file(name)
    ids = []
    if report.label is not None:
        ids = [i for i in (report.label.ProduceID, report.label.PropagateID) if i]
    entries = ledger.find(ids=ids, sha256s=[digest], limit=limit)
    return TraceResult(name, "file", sorted(set(ids)), [digest], report.label, entries)
