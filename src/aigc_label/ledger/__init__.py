"""The ledger: a tamper-evident log of every label, ingest and Art. 9 hand-out.

Events (:class:`Event`) are canonicalized with RFC 8785 and chained with
SHA-256 (:mod:`.chain`); storage is an embedded SQLite file by default or a
shared PostgreSQL database (:mod:`.url`). Records are kept at least 180 days.

Typical use::

    from aigc_label import api
    from aigc_label.ledger import Ledger, record_label

    with Ledger.open("sqlite:///srv/ledger.sqlite3") as ledger:
        outcome = api.label_file("in.png", "out.png", request)
        record_label(ledger, outcome, requester="user-42")
        assert ledger.verify().ok
"""

from __future__ import annotations

from .chain import GENESIS_HASH, Checkpoint, Head, VerifyProblem, VerifyResult, chain_hash
from .events import file_sha256, record_file_event, record_label, stream_sha256
from .export import write_export
from .ledger import (
    DEFAULT_LOOKUP_LIMIT,
    MIN_RETENTION_DAYS,
    Ledger,
    PurgeResult,
)
from .lookup import TraceResult, trace, trace_file, trace_key
from .record import EVENT_KINDS, Entry, Event, EventKind
from .url import ENV_VAR, LedgerURL, default_sqlite_path, parse_ledger_url

__all__ = [
    "DEFAULT_LOOKUP_LIMIT",
    "ENV_VAR",
    "EVENT_KINDS",
    "GENESIS_HASH",
    "MIN_RETENTION_DAYS",
    "Checkpoint",
    "Entry",
    "Event",
    "EventKind",
    "Head",
    "Ledger",
    "LedgerURL",
    "PurgeResult",
    "TraceResult",
    "VerifyProblem",
    "VerifyResult",
    "chain_hash",
    "default_sqlite_path",
    "file_sha256",
    "parse_ledger_url",
    "record_file_event",
    "record_label",
    "stream_sha256",
    "trace",
    "trace_file",
    "trace_key",
    "write_export",
]
