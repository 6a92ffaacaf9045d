"""The :class:`Ledger`: append events, look them up, verify, export, purge.

One object per process (or per worker) is enough: it is thread-safe, keeps a
small connection pool, and the database serializes appends from every
process. Open it from a URL (see :mod:`.url`)::

    with Ledger.open("sqlite:///var/lib/aigc/ledger.sqlite3") as ledger:
        entry = ledger.append(Event(kind="generation", provider=code, produce_id=pid))
        ledger.trace(pid)
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType

from ..errors import InvalidLedgerEventError, LedgerIntegrityError, RetentionError
from .chain import Checkpoint, Head, VerifyResult, to_us
from .record import Entry, Event, entry_from_row, is_sha256
from .store import SqlStore
from .url import LedgerURL, parse_ledger_url

MIN_RETENTION_DAYS = 180
"""Records are kept at least six months (Art. 9 of the measures): the floor for any setting."""

DEFAULT_CHECKPOINT_INTERVAL = 1000
"""A checkpoint row is written at every seq divisible by this."""

DEFAULT_LOOKUP_LIMIT = 1000
"""Most entries one lookup returns."""

MAX_BATCH = 10_000
"""Most events one :meth:`Ledger.append_many` call takes (one transaction)."""


def _system_clock() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class PurgeResult:
    """What a purge removed and the anchor it kept so the rest still verifies."""

    deleted: int
    anchor: Checkpoint | None
    before: datetime


def open_store(url: LedgerURL, *, create: bool, checkpoint_interval: int) -> SqlStore:
    """The storage back end for ``url``."""
    if url.dialect == "postgresql":
        from .store_postgres import PostgresStore

        return PostgresStore(url, create=create, checkpoint_interval=checkpoint_interval)
    from .store_sqlite import SqliteStore

    return SqliteStore(url, create=create, checkpoint_interval=checkpoint_interval)


@dataclass
class _Pending:
    """One event waiting for a group commit."""

    prepared: tuple[Event, str]
    entry: Entry | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class _GroupCommit:
    """Queue + locks shared by the threads of one process appending to one ledger."""

    pid: int = field(default_factory=os.getpid)
    queue: list[_Pending] = field(default_factory=list)
    queue_lock: threading.Lock = field(default_factory=threading.Lock)
    commit_lock: threading.Lock = field(default_factory=threading.Lock)


class Ledger:
    """A tamper-evident, append-only log of labeling events."""

    def __init__(
        self,
        url: str | LedgerURL | None = None,
        *,
        create: bool = True,
        checkpoint_interval: int = DEFAULT_CHECKPOINT_INTERVAL,
        clock: Callable[[], int] | None = None,
    ) -> None:
        """Open (and migrate) the ledger at ``url``.

        Args:
            url: ``sqlite:///path``, a path, ``postgresql://...``; None means
                ``AIGC_LABEL_LEDGER`` or the default SQLite file.
            create: create a missing SQLite file; False makes a missing file an error
                (for commands that only read).
            checkpoint_interval: write a checkpoint row every this many entries (0: never).
            clock: microseconds since the epoch for recording times (default: the system
                clock); lets tests and imports write entries dated in the past.
        """
        self._clock = clock or _system_clock
        self.url = url if isinstance(url, LedgerURL) else parse_ledger_url(url)
        self._store = open_store(self.url, create=create, checkpoint_interval=checkpoint_interval)
        self._group_state = _GroupCommit()

    @classmethod
    def open(
        cls,
        url: str | LedgerURL | None = None,
        *,
        create: bool = True,
        checkpoint_interval: int = DEFAULT_CHECKPOINT_INTERVAL,
        clock: Callable[[], int] | None = None,
    ) -> Ledger:
        """Same as the constructor; reads well in ``with Ledger.open(url) as ledger:``."""
        return cls(url, create=create, checkpoint_interval=checkpoint_interval, clock=clock)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- writing -----------------------------------------------------------------

    def append(self, event: Event) -> Entry:
        """Record one event durably; returns it with its seq and hashes once committed.

        Group commit: threads of this process that append at the same time share
        one transaction (one fsync). The first waiter commits everything queued so
        far, the others find their entry done; each call still returns only after
        its own event is durable, and a failed commit fails every event in it.
        """
        pending = _Pending((event, event.canonical_json()))
        group = self._group()
        with group.queue_lock:
            group.queue.append(pending)
        with group.commit_lock:
            while not pending.done:
                with group.queue_lock:
                    batch = group.queue[:MAX_BATCH]
                    del group.queue[:MAX_BATCH]
                try:
                    entries = self._store.append([p.prepared for p in batch], self._clock())
                except BaseException as e:
                    for p in batch:
                        p.error, p.done = e, True
                else:
                    for p, entry in zip(batch, entries, strict=True):
                        p.entry, p.done = entry, True
        if pending.error is not None:
            raise pending.error
        if pending.entry is None:  # pragma: no cover - done implies entry or error
            raise LedgerIntegrityError("group commit finished without an entry")
        return pending.entry

    def _group(self) -> _GroupCommit:
        """This process's group-commit state (a forked child starts a fresh one)."""
        if self._group_state.pid != os.getpid():
            self._group_state = _GroupCommit()
        return self._group_state

    def append_many(self, events: Sequence[Event]) -> list[Entry]:
        """Record events in one transaction (one fsync): all are committed or none."""
        if len(events) > MAX_BATCH:
            raise InvalidLedgerEventError(
                f"{len(events)} events in one batch, above the limit of {MAX_BATCH}"
            )
        prepared = [(e, e.canonical_json()) for e in events]
        if not prepared:
            return []
        return self._store.append(prepared, self._clock())

    def purge(
        self,
        before: datetime,
        *,
        retention_days: int = MIN_RETENTION_DAYS,
        now: datetime | None = None,
    ) -> PurgeResult:
        """Delete entries recorded before ``before``, never ones younger than the retention.

        Refuses (:class:`RetentionError`) when ``before`` is later than
        ``now - retention_days`` or the retention is below 180 days, and
        (:class:`LedgerIntegrityError`) when the chain does not verify, so a
        purge never destroys the evidence of tampering. The hash of the last
        deleted entry stays as a ``purge`` checkpoint: the remaining chain
        verifies from it.
        """
        if retention_days < MIN_RETENTION_DAYS:
            raise RetentionError(
                f"retention of {retention_days} days is below the minimum of "
                f"{MIN_RETENTION_DAYS} days (records are kept at least six months)"
            )
        now = now or datetime.fromtimestamp(self._clock() / 1_000_000, UTC)
        if before.tzinfo is None:
            before = before.replace(tzinfo=UTC)
        limit = now - timedelta(days=retention_days)
        if before > limit:
            raise RetentionError(
                f"refusing to purge records younger than {retention_days} days: "
                f"--before must be on or before {limit:%Y-%m-%dT%H:%M:%SZ}"
            )
        result = self.verify()
        if not result.ok:
            raise LedgerIntegrityError(f"ledger does not verify, not purging: {result.problem}")
        deleted, anchor = self._store.purge_before(to_us(before), to_us(now))
        return PurgeResult(deleted, anchor, before)

    # --- reading -----------------------------------------------------------------

    def head(self) -> Head:
        """The newest entry's seq and hash (publish it elsewhere to pin history)."""
        return self._store.head()

    def get(self, seq: int) -> Entry | None:
        """The entry with sequence number ``seq``, or None."""
        return self._store.get(seq)

    def find(
        self,
        *,
        ids: Iterable[str] = (),
        sha256s: Iterable[str] = (),
        limit: int = DEFAULT_LOOKUP_LIMIT,
    ) -> list[Entry]:
        """Entries whose ProduceID or PropagateID is in ``ids``, or whose content
        SHA-256 (before or after labeling) is in ``sha256s``; oldest first."""
        id_list = sorted({i for i in ids if i})
        sha_list = sorted({s.lower() for s in sha256s if s})
        for s in sha_list:
            if not is_sha256(s):
                raise InvalidLedgerEventError(f"not a SHA-256 hex digest: {s!r}")
        return self._store.find(id_list, sha_list, limit)

    def trace(self, key: str, *, limit: int = DEFAULT_LOOKUP_LIMIT) -> list[Entry]:
        """Entries for a ProduceID, PropagateID or content SHA-256 (64 hex digits)."""
        key = key.strip()
        if not key:
            raise InvalidLedgerEventError("empty trace key")
        if is_sha256(key.lower()):
            return self.find(ids=[key], sha256s=[key.lower()], limit=limit)
        return self.find(ids=[key], limit=limit)

    def entries(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[Entry]:
        """Entries recorded in ``[since, until)`` in chain order, streamed from one snapshot."""
        rows = self._store.iter_rows(
            None if since is None else to_us(since), None if until is None else to_us(until)
        )
        for row in rows:
            yield entry_from_row(row)

    def count(self) -> int:
        """Entries currently stored (purged ones excluded)."""
        return self._store.count()

    def checkpoints(self) -> list[Checkpoint]:
        return self._store.checkpoints()

    def verify(self, checkpoints: Sequence[Checkpoint] = ()) -> VerifyResult:
        """Recompute the whole chain from storage; ``checkpoints`` are ones kept elsewhere."""
        return self._store.verify(checkpoints)
