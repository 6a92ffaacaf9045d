"""Tamper evidence: rows edited or deleted behind the ledger's back are found.

Each case changes the database with its own driver connection, as someone with
database access would, then checks that verify names the first bad entry.
What storage alone cannot reveal (a consistent rewrite of every later hash,
the head row and the checkpoints) is shown to be caught by a checkpoint kept
elsewhere.
"""

from __future__ import annotations

import json

import pytest

from aigc_label.ledger import Checkpoint, Ledger, chain_hash
from tests.ledger.conftest import db_url, make_event, tamper

N = 12


@pytest.fixture
def filled(ledger: Ledger) -> Ledger:
    """A ledger with N entries and checkpoints at 5 and 10."""
    ledger.append_many([make_event(i) for i in range(N)])
    assert ledger.verify().ok
    return ledger


def first_problem(lg: Ledger, *external: Checkpoint) -> tuple[int, str]:
    result = lg.verify(external)
    assert not result.ok
    assert result.problem is not None
    return result.problem.seq, result.problem.reason


def test_intact_chain_verifies(filled: Ledger) -> None:
    result = filled.verify()
    assert result.ok
    assert (result.checked, result.first_seq, result.last_seq) == (N, 1, N)
    assert result.checkpoints_checked == 2
    assert result.head is not None
    assert result.head.seq == N


def test_empty_ledger_verifies(ledger: Ledger) -> None:
    result = ledger.verify()
    assert result.ok
    assert result.checked == 0


def test_edited_event_json(filled: Ledger) -> None:
    row = filled.get(4)
    assert row is not None
    forged = row.event_json.replace('"p-3"', '"p-X"')
    tamper(db_url(filled), "UPDATE ledger_entries SET event_json = ? WHERE seq = 4", (forged,))
    assert first_problem(filled) == (4, "hash mismatch (entry edited)")


def test_edited_event_with_its_hash_recomputed(filled: Ledger) -> None:
    row = filled.get(4)
    assert row is not None
    forged = row.event_json.replace('"model-x"', '"model-y"')
    digest = chain_hash(row.prev_hash, 4, row.ts_us, forged)
    tamper(
        db_url(filled),
        "UPDATE ledger_entries SET event_json = ?, entry_hash = ? WHERE seq = 4",
        (forged, digest),
    )
    seq, reason = first_problem(filled)
    assert seq == 5
    assert "prev_hash" in reason


def test_edited_time(filled: Ledger) -> None:
    tamper(db_url(filled), "UPDATE ledger_entries SET ts_us = ts_us - 1 WHERE seq = 7")
    assert first_problem(filled) == (7, "hash mismatch (entry edited)")


def test_edited_index_column_only(filled: Ledger) -> None:
    tamper(db_url(filled), "UPDATE ledger_entries SET produce_id = 'decoy' WHERE seq = 9")
    seq, reason = first_problem(filled)
    assert seq == 9
    assert "produce_id" in reason


def test_deleted_middle_row(filled: Ledger) -> None:
    tamper(db_url(filled), "DELETE FROM ledger_entries WHERE seq = 6")
    assert first_problem(filled) == (6, "entry 6 missing (row deleted)")


def test_deleted_first_rows_without_purge_anchor(filled: Ledger) -> None:
    tamper(db_url(filled), "DELETE FROM ledger_entries WHERE seq <= 2")
    seq, reason = first_problem(filled)
    assert seq == 1
    assert "no purge anchor" in reason


def test_deleted_last_row_is_caught_by_the_head_row(filled: Ledger) -> None:
    tamper(db_url(filled), "DELETE FROM ledger_entries WHERE seq = ?", (N,))
    seq, reason = first_problem(filled)
    assert seq == N
    assert "truncated" in reason


def test_truncation_with_head_rewritten_is_caught_by_a_checkpoint(filled: Ledger) -> None:
    e8 = filled.get(8)
    assert e8 is not None
    tamper(db_url(filled), "DELETE FROM ledger_entries WHERE seq > 8")
    tamper(
        db_url(filled),
        "UPDATE ledger_head SET seq = 8, entry_hash = ?, ts_us = ? WHERE id = 1",
        (e8.entry_hash, e8.ts_us),
    )
    seq, reason = first_problem(filled)
    assert seq == 9
    assert "checkpoint at 10" in reason


def test_consistent_rewrite_needs_an_external_checkpoint(filled: Ledger) -> None:
    """Rewrite entry 11 and everything after it consistently: storage alone cannot tell."""
    kept = Checkpoint(N, filled.head().entry_hash, "external")
    e11 = filled.get(11)
    assert e11 is not None
    forged = json.loads(e11.event_json)
    forged["requester"] = "someone-else"
    forged_json = make_event(10, requester="someone-else").canonical_json()
    assert json.loads(forged_json) == forged
    prev = e11.prev_hash
    for seq in (11, 12):
        row = filled.get(seq)
        assert row is not None
        body = forged_json if seq == 11 else row.event_json
        digest = chain_hash(prev, seq, row.ts_us, body)
        tamper(
            db_url(filled),
            "UPDATE ledger_entries SET event_json = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
            (body, prev, digest, seq),
        )
        prev = digest
    tamper(db_url(filled), "UPDATE ledger_head SET entry_hash = ? WHERE id = 1", (prev,))
    assert filled.verify().ok  # undetectable from storage alone (documented)
    seq, reason = first_problem(filled, kept)
    assert seq == N
    assert "external checkpoint" in reason
