"""The Ledger API on SQLite and PostgreSQL: append, look up, stream, migrate, share."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

import pytest

from aigc_label.errors import InvalidLedgerEventError, LedgerError
from aigc_label.ledger import GENESIS_HASH, Ledger, chain_hash
from aigc_label.ledger.ledger import MAX_BATCH
from aigc_label.ledger.migrations import LATEST_VERSION
from tests.ledger.conftest import make_event, tamper


def test_append_chains_and_returns_committed_entries(ledger: Ledger) -> None:
    first = ledger.append(make_event(0))
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert first.entry_hash == chain_hash(GENESIS_HASH, 1, first.ts_us, first.event_json)
    batch = ledger.append_many([make_event(i) for i in range(1, 11)])
    assert [e.seq for e in batch] == list(range(2, 12))
    assert batch[0].prev_hash == first.entry_hash
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(batch))
    head = ledger.head()
    assert (head.seq, head.entry_hash) == (11, batch[-1].entry_hash)
    assert ledger.get(5) == batch[3]
    assert ledger.get(99) is None
    assert ledger.count() == 11
    assert [c.seq for c in ledger.checkpoints()] == [5, 10]
    assert ledger.append_many([]) == []


def test_times_never_decrease_even_when_the_clock_does(ledger_url: str) -> None:
    ticks = iter([2_000_000, 1_000_000, 3_000_000])
    with Ledger.open(ledger_url, clock=lambda: next(ticks)) as lg:
        times = [lg.append(make_event(i)).ts_us for i in range(3)]
    assert times == [2_000_000, 2_000_000, 3_000_000]


def test_lookups_by_id_and_hash(ledger: Ledger) -> None:
    ledger.append_many([make_event(i) for i in range(20)])
    relabeled = make_event(3, propagate_id="platform-77", kind="propagation", provider="PLAT")
    ledger.append(relabeled)
    assert [e.seq for e in ledger.trace("p-3")] == [4, 21]
    assert [e.seq for e in ledger.trace("platform-77")] == [21]
    after = make_event(7).sha256_after
    before = make_event(7).sha256_before
    assert after is not None
    assert before is not None
    assert [e.seq for e in ledger.trace(after)] == [8]
    assert [e.seq for e in ledger.trace(before.upper())] == [8]
    assert ledger.trace("nope") == []
    both = ledger.find(ids=["p-1", "p-2"], sha256s=[after], limit=2)
    assert [e.seq for e in both] == [2, 3]
    with pytest.raises(InvalidLedgerEventError):
        ledger.trace("  ")
    with pytest.raises(InvalidLedgerEventError):
        ledger.find(sha256s=["xyz"])


def test_entries_stream_a_time_window(ledger_url: str) -> None:
    now = [to_us(2025, 1, 1)]
    with Ledger.open(ledger_url, clock=lambda: now[0]) as lg:
        for day in range(1, 11):
            now[0] = to_us(2025, 1, day)
            lg.append(make_event(day))
        window = list(lg.entries(datetime(2025, 1, 3, tzinfo=UTC), datetime(2025, 1, 6)))
        assert [e.event.produce_id for e in window] == ["p-3", "p-4", "p-5"]
        assert len(list(lg.entries())) == 10


def to_us(y: int, m: int, d: int) -> int:
    return int(datetime(y, m, d, tzinfo=UTC).timestamp()) * 1_000_000


def test_batch_limit(ledger: Ledger) -> None:
    with pytest.raises(InvalidLedgerEventError, match="batch"):
        ledger.append_many([make_event(0)] * (MAX_BATCH + 1))


def test_reopen_keeps_the_chain_and_does_not_migrate_again(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as lg:
        lg.append(make_event(0))
    with Ledger.open(ledger_url, create=False) as lg:
        lg.append(make_event(1))
        assert lg.verify().ok
        assert lg.count() == 2
    rows = tamper(ledger_url, "UPDATE ledger_schema_migrations SET name = name")
    assert rows == LATEST_VERSION


def test_newer_schema_is_refused(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    tamper(
        ledger_url,
        "INSERT INTO ledger_schema_migrations (version, name, applied_us) VALUES (?, ?, ?)",
        (LATEST_VERSION + 1, "future", 0),
    )
    with pytest.raises(LedgerError, match="upgrade aigc-label"):
        Ledger.open(ledger_url)


def test_missing_sqlite_file_is_an_error_when_not_creating(tmp_path: object) -> None:
    with pytest.raises(LedgerError, match="no ledger at"):
        Ledger.open(f"sqlite://{tmp_path}/absent.sqlite3", create=False)


def test_unreachable_postgres_is_one_ledger_error() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(LedgerError, match="cannot open ledger") as info:
        Ledger.open("postgresql://nobody:pw@127.0.0.1:1/none?connect_timeout=2")
    assert "pw" not in info.value.message


def test_closed_ledger_refuses_work(ledger_url: str) -> None:
    lg = Ledger.open(ledger_url)
    lg.close()
    with pytest.raises(LedgerError, match="closed"):
        lg.append(make_event(0))


def test_threads_share_one_ledger(ledger: Ledger) -> None:
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(25):
                ledger.append(make_event(i, f"t{t}"))
                ledger.trace(f"t{t}-{i}")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = ledger.verify()
    assert result.ok, result.problem
    assert (result.checked, result.last_seq) == (150, 150)
