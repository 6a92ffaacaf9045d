"""The embedded ledger: one SQLite file in WAL mode with durable commits.

``journal_mode=WAL`` lets readers run beside the one writer;
``synchronous=FULL`` fsyncs the WAL at every COMMIT, so an append that
returned survives a crash or power loss (NORMAL would only survive a process
crash; opt in with ``?synchronous=normal`` for several times the append
rate). Writers take the database write lock with ``BEGIN IMMEDIATE`` before
reading the head, so concurrent processes queue (``busy_timeout``) instead of
forking the chain.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from ..errors import LedgerError
from .store import Cursor, SqlStore

CACHE_KIB = 64 * 1024
"""Page cache per connection: keeps the five lookup indexes hot at millions of rows."""

BUSY_TIMEOUT_S = 60.0
"""How long a writer waits for another process's write lock before failing."""

_writer_locks: dict[str, threading.Lock] = {}
_writer_locks_guard = threading.Lock()


@functools.lru_cache(maxsize=64)
def _lock_key(path: str) -> str:
    return os.path.realpath(path)


def _writer_lock(path: str) -> threading.Lock:
    """One lock per database file per process (several stores may open the same file)."""
    key = _lock_key(path)
    with _writer_locks_guard:
        return _writer_locks.setdefault(key, threading.Lock())


def _forget_locks() -> None:
    global _writer_locks_guard
    _writer_locks.clear()  # a forked child must not inherit a lock held by a parent thread
    _writer_locks_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_locks)


class SqliteStore(SqlStore):
    dialect = "sqlite"
    placeholder = "?"
    db_errors = (sqlite3.Error,)

    @property
    def path(self) -> str:
        return self.url.target

    def _connect(self) -> sqlite3.Connection:
        path = Path(self.path)
        if self.create:
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as e:
                raise LedgerError(f"cannot create ledger {path}: {e.strerror or e}") from e
        elif not path.is_file():
            raise LedgerError(f"no ledger at {path} (pass --ledger or set AIGC_LABEL_LEDGER)")
        mode = "rwc" if self.create else "rw"
        uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode={mode}"
        try:
            conn = sqlite3.connect(
                uri,
                uri=True,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as e:
            raise LedgerError(f"cannot open ledger {path}: {e}") from e
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
            conn.execute(f"PRAGMA synchronous={self.url.synchronous.upper()}")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        except sqlite3.Error as e:
            conn.close()
            raise LedgerError(f"cannot open ledger {path}: {e}") from e
        return conn

    def _close_conn(self, conn: sqlite3.Connection) -> None:
        with contextlib.suppress(sqlite3.Error):
            conn.close()

    def _healthy(self, conn: sqlite3.Connection) -> bool:
        return not conn.in_transaction

    @contextlib.contextmanager
    def _tx(self, conn: sqlite3.Connection, begin: str) -> Iterator[Cursor]:
        cur = conn.cursor()
        cur.execute(begin)
        try:
            yield cur
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            cur.close()

    @contextlib.contextmanager
    def _write_tx(self, conn: sqlite3.Connection) -> Iterator[Cursor]:
        # Threads of this process queue on a lock instead of SQLite's sleeping busy handler.
        with _writer_lock(self.path), self._tx(conn, "BEGIN IMMEDIATE") as cur:
            yield cur

    def _read_tx(self, conn: sqlite3.Connection) -> contextlib.AbstractContextManager[Cursor]:
        # A deferred transaction: the WAL snapshot is fixed at its first read.
        return self._tx(conn, "BEGIN")

    def _statement(self, conn: sqlite3.Connection) -> contextlib.AbstractContextManager[Cursor]:
        return contextlib.closing(conn.cursor())

    def _table_exists_sql(self) -> str:
        return (
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
            "AND name = 'ledger_schema_migrations'"
        )
