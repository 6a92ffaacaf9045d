"""The shared ledger: PostgreSQL through psycopg 3, same schema as SQLite.

Appends lock the single head row with ``SELECT ... FOR UPDATE`` inside the
transaction that inserts the new entries, so workers on any number of hosts
extend one chain; ``synchronous_commit=on`` is set per session so COMMIT
returns only once the WAL is flushed. Migrations take a transaction-level
advisory lock. Readers that need a consistent view use REPEATABLE READ.
The URL is passed to libpq unchanged; a schema is chosen with
``?options=-csearch_path%3Dname``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import LedgerError
from .store import Cursor, SqlStore
from .url import LedgerURL, redact

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 10
MIGRATION_LOCK_KEY = 0x6169_6763_6C65_6467  # "aigcledg"
"""pg_advisory_xact_lock key held while migrating."""


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as e:  # pragma: no cover - depends on the install
        msg = "a postgresql:// ledger needs psycopg: pip install 'psycopg[binary]'"
        raise LedgerError(msg) from e
    return psycopg


class PostgresStore(SqlStore):
    dialect = "postgresql"
    placeholder = "%s"

    def __init__(self, url: LedgerURL, *, create: bool, checkpoint_interval: int) -> None:
        self._pg = _psycopg()
        self.db_errors = (self._pg.Error,)
        super().__init__(url, create=create, checkpoint_interval=checkpoint_interval)

    head_for_update = "SELECT seq, entry_hash, ts_us FROM ledger_head WHERE id = 1 FOR UPDATE"

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn: psycopg.Connection[Any] = self._pg.connect(
                self.url.target, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
            conn.execute("SET synchronous_commit TO on")
        except self._pg.Error as e:
            msg = " ".join(str(e).split())
            raise LedgerError(f"cannot open ledger {redact(self.url.target)}: {msg}") from e
        return conn

    def _close_conn(self, conn: psycopg.Connection[Any]) -> None:
        with contextlib.suppress(Exception):
            conn.close()

    def _healthy(self, conn: psycopg.Connection[Any]) -> bool:
        return not conn.closed and not conn.broken

    @contextlib.contextmanager
    def _tx(self, conn: psycopg.Connection[Any], first: str | None) -> Iterator[Cursor]:
        with conn.transaction(), conn.cursor() as cur:
            if first:
                cur.execute(first)
            yield cur

    def _write_tx(self, conn: psycopg.Connection[Any]) -> contextlib.AbstractContextManager[Cursor]:
        return self._tx(conn, None)

    def _read_tx(self, conn: psycopg.Connection[Any]) -> contextlib.AbstractContextManager[Cursor]:
        return self._tx(conn, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def _statement(
        self, conn: psycopg.Connection[Any]
    ) -> contextlib.AbstractContextManager[Cursor]:
        return conn.cursor()

    def _table_exists_sql(self) -> str:
        return "SELECT to_regclass('ledger_schema_migrations') IS NOT NULL"

    def _migration_lock(self, cur: Cursor) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
