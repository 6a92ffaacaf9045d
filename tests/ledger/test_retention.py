"""Retention: purge refuses young records and leaves a chain that still verifies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from aigc_label.errors import LedgerIntegrityError, RetentionError
from aigc_label.ledger import Ledger
from tests.ledger.conftest import db_url, make_event, tamper

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def us(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return us(self.now)


@pytest.fixture
def aged(ledger_url: str) -> Iterator[Ledger]:
    """Entries 1-10 recorded 400..391 days ago, 11-15 recorded 10 days ago."""
    clock = Clock()
    lg = Ledger.open(ledger_url, clock=clock, checkpoint_interval=4)
    for i in range(10):
        clock.now = NOW - timedelta(days=400 - i)
        lg.append(make_event(i))
    clock.now = NOW - timedelta(days=10)
    lg.append_many([make_event(i) for i in range(10, 15)])
    clock.now = NOW
    with lg:
        yield lg


def test_purge_refuses_records_younger_than_the_retention(aged: Ledger) -> None:
    with pytest.raises(RetentionError, match="younger than 180 days"):
        aged.purge(NOW - timedelta(days=179))
    with pytest.raises(RetentionError, match="younger than 365 days"):
        aged.purge(NOW - timedelta(days=200), retention_days=365)
    assert aged.count() == 15


def test_retention_below_180_days_is_refused(aged: Ledger) -> None:
    with pytest.raises(RetentionError, match="minimum of 180"):
        aged.purge(NOW - timedelta(days=300), retention_days=90)
    assert aged.count() == 15


def test_purge_keeps_an_anchor_and_the_rest_verifies(aged: Ledger) -> None:
    e6 = aged.get(6)
    assert e6 is not None
    result = aged.purge(NOW - timedelta(days=394, hours=12))
    assert result.deleted == 6
    assert result.anchor is not None
    assert (result.anchor.seq, result.anchor.entry_hash) == (6, e6.entry_hash)
    assert aged.get(6) is None
    assert aged.get(7) is not None
    check = aged.verify()
    assert check.ok, check.problem
    assert (check.first_seq, check.last_seq, check.checked) == (7, 15, 9)
    # appends continue the same chain after a purge
    assert aged.append(make_event(99)).seq == 16
    assert aged.verify().ok
    # a second purge moves the anchor forward
    again = aged.purge(NOW - timedelta(days=300))
    assert again.deleted == 4
    assert again.anchor is not None
    assert again.anchor.seq == 10
    assert aged.verify().ok


def test_nothing_old_enough_is_a_no_op(aged: Ledger) -> None:
    result = aged.purge(NOW - timedelta(days=500))
    assert (result.deleted, result.anchor) == (0, None)


def test_purging_everything_still_verifies(ledger_url: str) -> None:
    clock = Clock()
    clock.now = NOW - timedelta(days=365)
    lg = Ledger.open(ledger_url, clock=clock)
    lg.append_many([make_event(i) for i in range(3)])
    clock.now = NOW
    assert lg.purge(NOW - timedelta(days=200)).deleted == 3
    result = lg.verify()
    assert result.ok
    assert result.checked == 0
    assert lg.append(make_event(3)).seq == 4
    assert lg.verify().ok


def test_deleting_the_anchor_is_detected(aged: Ledger) -> None:
    aged.purge(NOW - timedelta(days=394, hours=12))
    tamper(db_url(aged), "DELETE FROM ledger_checkpoints WHERE reason = 'purge'")
    result = aged.verify()
    assert not result.ok
    assert result.problem is not None
    assert "no purge anchor" in result.problem.reason


def test_purge_refuses_a_broken_chain(aged: Ledger) -> None:
    tamper(db_url(aged), "DELETE FROM ledger_entries WHERE seq = 3")
    with pytest.raises(LedgerIntegrityError, match="entry 3"):
        aged.purge(NOW - timedelta(days=200))
    assert aged.count() == 14
