"""Ledger fixtures: a fresh SQLite file or a fresh PostgreSQL schema per test.

PostgreSQL is the real server on 127.0.0.1:5432 (trust auth, user postgres or
root, database ``test``). When it is down and a Debian cluster is installed,
it is started with ``pg_ctlcluster``; when none can be had, the PostgreSQL
cases skip and say why. Tampering is done through the drivers directly
(:func:`tamper`), the way an attacker with database access would.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aigc_label.ledger import Event, Ledger

PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "test"
PG_USERS = ("postgres", "root")
BACKENDS = ("sqlite", "postgresql")
_counter = itertools.count()
_pg_state: dict[str, Any] = {}


def _pg_try_connect() -> str | None:
    import psycopg

    for user in PG_USERS:
        url = f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{PG_DB}"
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return url
        except psycopg.Error as e:
            if f'database "{PG_DB}" does not exist' in str(e) and _pg_create_db(user):
                return url
    return None


def _pg_create_db(user: str) -> bool:
    """The server is up but has no test database yet: create it."""
    import psycopg

    admin = f"postgresql://{user}@{PG_HOST}:{PG_PORT}/postgres"
    try:
        with psycopg.connect(admin, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {PG_DB}")
    except psycopg.Error:
        return False
    return True


def _pg_start() -> bool:
    """Try to start the Debian cluster(s); False when there is nothing to start."""
    conf = Path("/etc/postgresql")
    if not shutil.which("pg_ctlcluster") or not conf.is_dir():
        return False
    for version in sorted(p.name for p in conf.iterdir()):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    return True


def pg_base_url() -> str:
    """URL of the test database, starting the server if needed; skips when impossible."""
    if "url" not in _pg_state:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            _pg_state["url"] = None
            _pg_state["why"] = "psycopg is not installed (pip install 'psycopg[binary]')"
        else:
            url = _pg_try_connect()
            if url is None and _pg_start():
                for _ in range(20):
                    url = _pg_try_connect()
                    if url:
                        break
                    time.sleep(0.5)
            _pg_state["url"] = url
            _pg_state["why"] = (
                f"no PostgreSQL at {PG_HOST}:{PG_PORT} (users {', '.join(PG_USERS)}, "
                f"database {PG_DB}) and none could be started with pg_ctlcluster"
            )
    url = _pg_state["url"]
    if url is None:
        pytest.skip(_pg_state["why"])
    return str(url)


class PgSchema:
    """A fresh schema in the test database; its URL selects it via search_path."""

    def __init__(self) -> None:
        import psycopg

        self.base = pg_base_url()
        self.name = f"aigc_ledger_t{os.getpid()}_{next(_counter)}"
        self.url = f"{self.base}?options=-csearch_path%3D{self.name}"
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.name}")

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty ledger on each back end."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'ledger.sqlite3'}"
        return
    schema = PgSchema()
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger.open(ledger_url, checkpoint_interval=5) as lg:
        yield lg


def tamper(url: str, sql: str, params: tuple[Any, ...] = ()) -> int:
    """Run ``sql`` directly on the ledger's database (``?`` placeholders); rows changed."""
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            cur = conn.execute(sql.replace("?", "%s"), params)
            return cur.rowcount
    path = url.removeprefix("sqlite://")
    conn = sqlite3.connect(path)
    try:
        with conn:
            return conn.execute(sql, params).rowcount
    finally:
        conn.close()


def db_url(lg: Ledger) -> str:
    """The URL :func:`tamper` understands for an open ledger."""
    t = lg.url.target
    return t if lg.url.dialect == "postgresql" else f"sqlite://{t}"


def make_event(i: int, prefix: str = "p", **kw: Any) -> Event:
    """A generation event with ids ``{prefix}-{i}`` and made-up content hashes."""
    import hashlib

    fields: dict[str, Any] = {
        "kind": "generation",
        "provider": "001191440300708461136T1XGW3",
        "produce_id": f"{prefix}-{i}",
        "propagate_id": f"{prefix}-{i}",
        "sha256_before": hashlib.sha256(f"in-{prefix}-{i}".encode()).hexdigest(),
        "sha256_after": hashlib.sha256(f"out-{prefix}-{i}".encode()).hexdigest(),
        "format": "png",
        "model": "model-x",
    }
    fields.update(kw)
    return Event(**fields)


def append_worker(url: str, prefix: str, n: int) -> list[int]:
    """Child-process body: ``n`` single durable appends; returns the seqs acknowledged."""
    with Ledger.open(url) as lg:
        return [lg.append(make_event(i, prefix)).seq for i in range(n)]
