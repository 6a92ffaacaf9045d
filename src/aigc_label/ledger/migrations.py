"""Versioned schema migrations, one list for SQLite and PostgreSQL.

Each migration is applied once, in order, inside the same transaction that
records it in ``ledger_schema_migrations``; the stores take a write lock first
(SQLite ``BEGIN IMMEDIATE``, PostgreSQL an advisory lock) so two processes
opening a fresh ledger at once do not both migrate. The only dialect
difference is the 64-bit integer type: ``INTEGER`` in SQLite (so ``seq`` is
the rowid), ``BIGINT`` in PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Dialect = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]

    def render(self, dialect: Dialect) -> list[str]:
        int64 = "INTEGER" if dialect == "sqlite" else "BIGINT"
        return [s.format(int64=int64) for s in self.statements]


MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS ledger_schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us {int64} NOT NULL)"
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "entries, head, checkpoints",
        (
            "CREATE TABLE ledger_entries ("
            " seq {int64} PRIMARY KEY,"
            " ts_us {int64} NOT NULL,"
            " kind TEXT NOT NULL,"
            " produce_id TEXT NOT NULL,"
            " propagate_id TEXT NOT NULL,"
            " sha256_before TEXT,"
            " sha256_after TEXT,"
            " event_json TEXT NOT NULL,"
            " prev_hash TEXT NOT NULL,"
            " entry_hash TEXT NOT NULL)",
            "CREATE INDEX ledger_entries_ts ON ledger_entries (ts_us)",
            "CREATE INDEX ledger_entries_produce_id ON ledger_entries (produce_id)",
            "CREATE INDEX ledger_entries_propagate_id ON ledger_entries (propagate_id)",
            "CREATE INDEX ledger_entries_sha256_before ON ledger_entries (sha256_before)",
            "CREATE INDEX ledger_entries_sha256_after ON ledger_entries (sha256_after)",
            "CREATE TABLE ledger_head ("
            " id INTEGER PRIMARY KEY CHECK (id = 1),"
            " seq {int64} NOT NULL,"
            " entry_hash TEXT NOT NULL,"
            " ts_us {int64} NOT NULL)",
            "INSERT INTO ledger_head (id, seq, entry_hash, ts_us) VALUES (1, 0, '"
            + "0" * 64
            + "', 0)",
            "CREATE TABLE ledger_checkpoints ("
            " seq {int64} PRIMARY KEY,"
            " entry_hash TEXT NOT NULL,"
            " entry_ts_us {int64} NOT NULL,"
            " created_us {int64} NOT NULL,"
            " reason TEXT NOT NULL)",
        ),
    ),
)
"""Append new migrations; never edit a released one."""

LATEST_VERSION = MIGRATIONS[-1].version
