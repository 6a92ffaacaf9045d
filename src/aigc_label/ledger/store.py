"""SQL storage shared by the SQLite and PostgreSQL back ends.

Appends are serialized by the database, not by this process: the write
transaction first locks the head row (SQLite ``BEGIN IMMEDIATE``, PostgreSQL
``SELECT ... FOR UPDATE``), computes the new entries from the head it read,
inserts them and moves the head, all before COMMIT. So any number of threads,
processes and hosts append to one consistent chain. Reads that must agree with
each other (verify, export) run in one snapshot transaction.

Connections come from a small per-process pool, so one :class:`SqlStore` may
be shared by threads; after a fork the child opens its own connections.
"""

from __future__ import annotations

import contextlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

from ..errors import LedgerError
from .chain import Checkpoint, Head, VerifyResult, chain_hash, verify_rows
from .migrations import LATEST_VERSION, MIGRATIONS, MIGRATIONS_TABLE, Dialect
from .record import ROW_COLUMNS, Entry, Event, Row, entry_from_row
from .url import LedgerURL

PAGE_ROWS = 5000
"""Rows fetched per page when streaming (verify, export)."""

MAX_IDLE_CONNECTIONS = 8
"""Connections a pool keeps open between uses."""


class Cursor(Protocol):
    """The DB-API cursor subset both drivers provide."""

    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...

    def executemany(self, sql: Any, params: Any, /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


C = TypeVar("C")


class _Pool(Generic[C]):
    """Idle connections for reuse; thread-safe, and reset in a forked child."""

    def __init__(
        self,
        connect: Callable[[], C],
        close: Callable[[C], None],
        healthy: Callable[[C], bool],
    ) -> None:
        self._connect, self._close, self._healthy = connect, close, healthy
        self._lock = threading.Lock()
        self._idle: list[C] = []
        self._pid = os.getpid()
        self._closed = False

    @contextlib.contextmanager
    def connection(self) -> Iterator[C]:
        if self._closed:
            msg = "ledger is closed"
            raise LedgerError(msg)
        conn = None
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's connections are not ours
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                conn = self._idle.pop()
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        except BaseException:
            self._close(conn)
            raise
        if not self._healthy(conn):
            self._close(conn)
            return
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS and not self._closed:
                self._idle.append(conn)
                conn = None
        if conn is not None:
            self._close(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            mine = self._pid == os.getpid()
        for conn in idle if mine else ():
            self._close(conn)


_INSERT_ENTRY = f"INSERT INTO ledger_entries ({ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_CHECKPOINT = (  # an existing checkpoint keeps its hash: purge never rewrites evidence
    "INSERT INTO ledger_checkpoints (seq, entry_hash, entry_ts_us, created_us, reason) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (seq) DO UPDATE SET reason = excluded.reason"
)
_SELECT_HEAD = "SELECT seq, entry_hash, ts_us FROM ledger_head WHERE id = 1"


class SqlStore(ABC):
    """Ledger storage over a DB-API driver; subclasses supply the dialect details."""

    dialect: Dialect
    placeholder = "?"
    db_errors: tuple[type[Exception], ...] = ()

    def __init__(self, url: LedgerURL, *, create: bool, checkpoint_interval: int) -> None:
        self.url = url
        self.create = create
        self.checkpoint_interval = checkpoint_interval
        self._pool: _Pool[Any] = _Pool(self._connect, self._close_conn, self._healthy)
        with self._conn() as conn:
            self._migrate(conn)

    # --- dialect hooks -----------------------------------------------------------

    @abstractmethod
    def _connect(self) -> Any: ...

    @abstractmethod
    def _close_conn(self, conn: Any) -> None: ...

    @abstractmethod
    def _healthy(self, conn: Any) -> bool: ...

    @abstractmethod
    def _write_tx(self, conn: Any) -> contextlib.AbstractContextManager[Cursor]:
        """A transaction that holds the ledger's write lock from its first statement."""

    @abstractmethod
    def _read_tx(self, conn: Any) -> contextlib.AbstractContextManager[Cursor]:
        """A read-only transaction over one consistent snapshot."""

    @abstractmethod
    def _statement(self, conn: Any) -> contextlib.AbstractContextManager[Cursor]:
        """A cursor for one self-contained statement (autocommit: no BEGIN/COMMIT round trips)."""

    @abstractmethod
    def _table_exists_sql(self) -> str: ...

    head_for_update = _SELECT_HEAD

    def _migration_lock(self, cur: Cursor) -> None:
        """Serialize migrations between processes (SQLite: BEGIN IMMEDIATE already does)."""
        return

    # --- plumbing ----------------------------------------------------------------

    def q(self, sql: str) -> str:
        """``sql`` with ``?`` placeholders in this driver's style."""
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    @contextlib.contextmanager
    def _conn(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except self.db_errors as e:
            raise LedgerError(f"ledger {self.url}: {_one_line(e)}") from e

    def close(self) -> None:
        self._pool.close()

    def _migrate(self, conn: Any) -> None:
        with self._read_tx(conn) as cur:
            cur.execute(self._table_exists_sql())
            exists = bool(cur.fetchone()[0])
            version = 0
            if exists:
                cur.execute("SELECT MAX(version) FROM ledger_schema_migrations")
                version = cur.fetchone()[0] or 0
        if version > LATEST_VERSION:
            raise LedgerError(
                f"ledger {self.url} has schema version {version}; this aigc-label "
                f"supports up to {LATEST_VERSION}: upgrade aigc-label"
            )
        if version == LATEST_VERSION:
            return
        with self._write_tx(conn) as cur:
            self._migration_lock(cur)
            cur.execute(self.q(MIGRATIONS_TABLE.format(int64=_int64(self.dialect))))
            cur.execute("SELECT version FROM ledger_schema_migrations")
            done = {int(r[0]) for r in cur.fetchall()}
            for m in MIGRATIONS:
                if m.version in done:
                    continue
                for stmt in m.render(self.dialect):
                    cur.execute(stmt)
                cur.execute(
                    self.q(
                        "INSERT INTO ledger_schema_migrations (version, name, applied_us) "
                        "VALUES (?, ?, ?)"
                    ),
                    (m.version, m.name, _now_us()),
                )

    # --- writes ------------------------------------------------------------------

    def append(self, prepared: Sequence[tuple[Event, str]], now_us: int) -> list[Entry]:
        """Chain and insert ``(event, canonical_json)`` pairs in one transaction."""
        entries: list[Entry] = []
        with self._conn() as conn, self._write_tx(conn) as cur:
            cur.execute(self.head_for_update)
            seq, prev, head_ts = cur.fetchone()
            ts = max(now_us, int(head_ts))
            for event, event_json in prepared:
                seq += 1
                digest = chain_hash(prev, seq, ts, event_json)
                entries.append(Entry(seq, ts, event, event_json, prev, digest))
                prev = digest
            cur.executemany(
                self.q(_INSERT_ENTRY),
                [
                    (
                        e.seq,
                        e.ts_us,
                        e.event.kind,
                        e.event.produce_id,
                        e.event.propagate_id,
                        e.event.sha256_before,
                        e.event.sha256_after,
                        e.event_json,
                        e.prev_hash,
                        e.entry_hash,
                    )
                    for e in entries
                ],
            )
            interval = self.checkpoint_interval
            periodic = [
                (e.seq, e.entry_hash, e.ts_us, now_us, "periodic")
                for e in entries
                if interval and e.seq % interval == 0
            ]
            if periodic:
                cur.executemany(self.q(_INSERT_CHECKPOINT), periodic)
            last = entries[-1]
            cur.execute(
                self.q("UPDATE ledger_head SET seq = ?, entry_hash = ?, ts_us = ? WHERE id = 1"),
                (last.seq, last.entry_hash, last.ts_us),
            )
        return entries

    def purge_before(self, before_us: int, now_us: int) -> tuple[int, Checkpoint | None]:
        """Delete the entries recorded before ``before_us``; keep the last one's hash as anchor.

        Entry times never decrease along the chain, so this removes a prefix and
        the remaining chain still verifies from the anchor.
        """
        with self._conn() as conn, self._write_tx(conn) as cur:
            cur.execute(self.head_for_update)
            cur.execute(
                self.q(
                    "SELECT seq, entry_hash, ts_us FROM ledger_entries WHERE ts_us < ? "
                    "ORDER BY ts_us DESC, seq DESC LIMIT 1"
                ),
                (before_us,),
            )
            found = cur.fetchone()
            if found is None:
                return 0, None
            seq, digest, ts_us = int(found[0]), str(found[1]), int(found[2])
            cur.execute(self.q("SELECT COUNT(*) FROM ledger_entries WHERE seq <= ?"), (seq,))
            count = int(cur.fetchone()[0])
            cur.execute(
                self.q(_INSERT_CHECKPOINT),
                (seq, digest, ts_us, now_us, "purge"),
            )
            cur.execute(self.q("DELETE FROM ledger_entries WHERE seq <= ?"), (seq,))
        return count, Checkpoint(seq, digest, "purge")

    # --- reads -------------------------------------------------------------------

    def head(self) -> Head:
        with self._conn() as conn, self._statement(conn) as cur:
            return self._head(cur)

    def _head(self, cur: Cursor) -> Head:
        cur.execute(_SELECT_HEAD)
        seq, digest, ts_us = cur.fetchone()
        return Head(int(seq), str(digest), int(ts_us))

    def _checkpoints(self, cur: Cursor) -> list[Checkpoint]:
        cur.execute("SELECT seq, entry_hash, reason FROM ledger_checkpoints ORDER BY seq")
        return [Checkpoint(int(s), str(h), str(r)) for s, h, r in cur.fetchall()]

    def checkpoints(self) -> list[Checkpoint]:
        with self._conn() as conn, self._statement(conn) as cur:
            return self._checkpoints(cur)

    def get(self, seq: int) -> Entry | None:
        with self._conn() as conn, self._statement(conn) as cur:
            cur.execute(self.q(f"SELECT {ROW_COLUMNS} FROM ledger_entries WHERE seq = ?"), (seq,))
            row = cur.fetchone()
        return None if row is None else entry_from_row(tuple(row))

    def find(self, ids: Sequence[str], sha256s: Sequence[str], limit: int) -> list[Entry]:
        """Entries with a ProduceID/PropagateID in ``ids`` or a content hash in ``sha256s``.

        One indexed SELECT per column, joined with UNION, so each uses its index
        whatever the planner thinks of OR.
        """
        parts: list[str] = []
        params: list[Any] = []
        for column, values in (
            ("produce_id", ids),
            ("propagate_id", ids),
            ("sha256_before", sha256s),
            ("sha256_after", sha256s),
        ):
            if values:
                marks = ", ".join("?" * len(values))
                parts.append(
                    f"SELECT {ROW_COLUMNS} FROM ledger_entries WHERE {column} IN ({marks})"
                )
                params.extend(values)
        if not parts:
            return []
        sql = " UNION ".join(parts) + " ORDER BY seq LIMIT ?"
        with self._conn() as conn, self._statement(conn) as cur:
            cur.execute(self.q(sql), (*params, limit))
            rows = cur.fetchall()
        return [entry_from_row(tuple(r)) for r in rows]

    def iter_rows(self, since_us: int | None, until_us: int | None) -> Iterator[Row]:
        """Rows in seq order with ``since_us <= ts_us < until_us``, from one snapshot.

        Times never decrease along the chain, so the window is turned into a
        seq range with two index lookups and then paged by primary key (a
        ``ts_us`` condition in the paging query would let the planner sort the
        whole table once per page).
        """
        with self._conn() as conn, self._read_tx(conn) as cur:
            first, last = 0, None
            if since_us is not None:
                cur.execute(
                    self.q("SELECT MIN(seq) FROM ledger_entries WHERE ts_us >= ?"), (since_us,)
                )
                found = cur.fetchone()[0]
                if found is None:
                    return
                first = int(found) - 1
            if until_us is not None:
                cur.execute(
                    self.q("SELECT MAX(seq) FROM ledger_entries WHERE ts_us < ?"), (until_us,)
                )
                found = cur.fetchone()[0]
                if found is None:
                    return
                last = int(found)
            lo = -(2**62) if since_us is None else since_us
            hi = 2**62 if until_us is None else until_us
            for row in self._pages(cur, first, last):
                if lo <= row[1] < hi:  # exact even if a time was edited out of order
                    yield row

    def _pages(self, cur: Cursor, after: int, last: int | None) -> Iterator[Row]:
        """Rows with ``after < seq <= last`` in seq order, PAGE_ROWS per query."""
        top = 2**62 if last is None else last
        sql = self.q(
            f"SELECT {ROW_COLUMNS} FROM ledger_entries WHERE seq > ? AND seq <= ? "
            "ORDER BY seq LIMIT ?"
        )
        while True:
            cur.execute(sql, (after, top, PAGE_ROWS))
            rows = cur.fetchall()
            for r in rows:
                yield tuple(r)
            if len(rows) < PAGE_ROWS:
                return
            after = int(rows[-1][0])

    def verify(self, external: Sequence[Checkpoint]) -> VerifyResult:
        """Recompute the chain over one snapshot of entries, head and checkpoints."""
        with self._conn() as conn, self._read_tx(conn) as cur:
            head = self._head(cur)
            checkpoints = [*self._checkpoints(cur), *external]
            return verify_rows(self._pages(cur, 0, None), head, checkpoints)

    def count(self) -> int:
        with self._conn() as conn, self._statement(conn) as cur:
            cur.execute("SELECT COUNT(*) FROM ledger_entries")
            return int(cur.fetchone()[0])


def _int64(dialect: Dialect) -> str:
    return "INTEGER" if dialect == "sqlite" else "BIGINT"


def _now_us() -> int:
    import time

    return time.time_ns() // 1000


def _one_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return " ".join(text.split())
