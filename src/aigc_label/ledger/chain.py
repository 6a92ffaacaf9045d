"""The hash chain that makes the ledger tamper-evident, and its verifier.

Each entry's hash is ``SHA-256(prev_hash || JCS({"event": E, "seq": n, "time": t}))``
where ``prev_hash`` is the previous entry's hash as 32 raw bytes (32 zero bytes
for entry 1) and ``JCS`` is RFC 8785. Because the event is stored already
canonical and the three keys sort as written, the canonical bytes are built by
concatenation (no re-serialization while verifying a million rows).

A hash chain rather than an RFC 6962 Merkle tree: the ledger is read back
whole by ``verify`` and auditors receive contiguous exports, so inclusion
proofs are not needed yet; the head row and checkpoints give the same
truncation detection a signed tree head would. What verify can and cannot
detect is listed in :func:`verify_rows`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .record import Row

GENESIS_HASH = "0" * 64
"""``prev_hash`` of entry 1."""


@functools.lru_cache(maxsize=4096)
def format_time(ts_us: int) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2025-09-01T08:00:00.000000Z``."""
    return (
        datetime.fromtimestamp(ts_us // 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        + f".{ts_us % 1_000_000:06d}Z"
    )


def to_us(when: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def entry_bytes(seq: int, ts_us: int, event_json: str) -> bytes:
    """RFC 8785 bytes of ``{"event": E, "seq": seq, "time": t}`` for a canonical ``E``."""
    return b"".join(
        (
            b'{"event":',
            event_json.encode("utf-8"),
            b',"seq":',
            str(seq).encode("ascii"),
            b',"time":"',
            format_time(ts_us).encode("ascii"),
            b'"}',
        )
    )


def chain_hash(prev_hash: str, seq: int, ts_us: int, event_json: str) -> str:
    """The hash of entry ``seq`` given the previous entry's hash (hex)."""
    h = hashlib.sha256(bytes.fromhex(prev_hash))
    h.update(entry_bytes(seq, ts_us, event_json))
    return h.hexdigest()


@dataclass(frozen=True)
class Head:
    """The newest entry as the head row records it (seq 0 for an empty ledger)."""

    seq: int
    entry_hash: str
    ts_us: int


@dataclass(frozen=True)
class Checkpoint:
    """A remembered (seq, hash): written every N appends and by purge as the anchor."""

    seq: int
    entry_hash: str
    reason: str
    """``periodic``, ``purge`` (anchor of deleted history) or ``external`` (given to verify)."""

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse ``SEQ:HASH`` as printed by ``ledger verify``."""
        seq, _, digest = text.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            msg = f"checkpoint must be SEQ:SHA256HEX, got {text!r}"
            raise ValueError(msg)
        return cls(int(seq), digest.lower(), "external")

    def __str__(self) -> str:
        return f"{self.seq}:{self.entry_hash}"


@dataclass(frozen=True)
class VerifyProblem:
    """The first thing wrong with the chain, at entry ``seq``."""

    seq: int
    reason: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.reason}"


@dataclass
class VerifyResult:
    """Outcome of recomputing the chain from storage."""

    checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head: Head | None = None
    problem: VerifyProblem | None = None
    checkpoints_checked: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "head": None
            if self.head is None
            else {"seq": self.head.seq, "entry_hash": self.head.entry_hash},
            "checkpoints_checked": self.checkpoints_checked,
            "problem": None
            if self.problem is None
            else {"seq": self.problem.seq, "reason": self.problem.reason},
            "notes": self.notes,
        }


_COLUMN_KEYS = ("kind", "produce_id", "propagate_id", "sha256_before", "sha256_after")


def verify_rows(rows: Iterable[Row], head: Head, checkpoints: Sequence[Checkpoint]) -> VerifyResult:
    """Recompute the chain over ``rows`` (ascending seq) and check head and checkpoints.

    Detected: an edited event, time or hash (its hash or the next one no longer
    matches); a deleted middle row (gap in seq); deleted newest rows (the head
    row or a checkpoint is past the last row); deleted oldest rows without a
    purge anchor; indexed columns that disagree with the hashed JSON (trace
    could be misled). Not detected from storage alone: someone with write
    access who rewrites every later hash, the head row and the checkpoints
    consistently; compare with a checkpoint kept elsewhere (``--checkpoint``)
    for that.
    """
    result = VerifyResult(head=head)
    by_seq: dict[int, list[Checkpoint]] = {}
    for c in checkpoints:
        by_seq.setdefault(c.seq, []).append(c)
    prev = ""
    expected: int | None = None
    for row in rows:
        seq, ts_us, _kind, _pid, _gid, _before, _after, event_json, prev_hash, entry_hash = row
        if expected is None:
            result.first_seq = seq
            prev, problem = _start(seq, by_seq)
            if problem is not None:
                result.problem = problem
                return result
        elif seq != expected:
            what = f"entry {expected}" if seq == expected + 1 else f"entries {expected}..{seq - 1}"
            result.problem = VerifyProblem(expected, f"{what} missing (row deleted)")
            return result
        if prev_hash != prev:
            result.problem = VerifyProblem(seq, "prev_hash does not match the previous entry")
            return result
        digest = chain_hash(prev, seq, ts_us, event_json)
        if digest != entry_hash:
            result.problem = VerifyProblem(seq, "hash mismatch (entry edited)")
            return result
        mismatch = _column_mismatch(row)
        if mismatch is not None:
            result.problem = VerifyProblem(seq, mismatch)
            return result
        for cp in by_seq.get(seq, ()):
            if cp.entry_hash != digest:
                result.problem = VerifyProblem(
                    seq, f"hash differs from the {cp.reason} checkpoint (history rewritten)"
                )
                return result
            result.checkpoints_checked += 1
        prev, expected = digest, seq + 1
        result.checked += 1
        result.last_seq = seq
    result.problem = _check_end(result, head, prev, checkpoints, by_seq)
    return result


def _anchor(by_seq: dict[int, list[Checkpoint]], seq: int) -> Checkpoint | None:
    return next((c for c in by_seq.get(seq, ()) if c.reason == "purge"), None)


def _start(seq: int, by_seq: dict[int, list[Checkpoint]]) -> tuple[str, VerifyProblem | None]:
    if seq == 1:
        return GENESIS_HASH, None
    anchor = _anchor(by_seq, seq - 1)
    if anchor is None:
        return "", VerifyProblem(1, f"entries 1..{seq - 1} missing and no purge anchor")
    for c in by_seq.get(seq - 1, ()):
        if c.entry_hash != anchor.entry_hash:
            return "", VerifyProblem(
                seq - 1, f"purge anchor differs from the {c.reason} checkpoint"
            )
    return anchor.entry_hash, None


def _check_end(
    result: VerifyResult,
    head: Head,
    prev: str,
    checkpoints: Sequence[Checkpoint],
    by_seq: dict[int, list[Checkpoint]],
) -> VerifyProblem | None:
    last = result.last_seq
    if last is None:
        if head.seq == 0 and not checkpoints:
            return None
        anchor = _anchor(by_seq, head.seq)
        if anchor is not None and anchor.entry_hash == head.entry_hash:
            result.notes.append(f"all entries up to {head.seq} purged")
            return None
        return VerifyProblem(1, f"no entries, but the head row says {head.seq}")
    if head.seq > last:
        return VerifyProblem(last + 1, f"entries {last + 1}..{head.seq} missing (truncated)")
    if head.seq < last:
        return VerifyProblem(head.seq + 1, f"head row says {head.seq}, entries go to {last}")
    if head.entry_hash != prev:
        return VerifyProblem(last, "hash differs from the head row")
    beyond = [c for c in checkpoints if c.seq > last]
    if beyond:
        c = min(beyond, key=lambda c: c.seq)
        return VerifyProblem(last + 1, f"{c.reason} checkpoint at {c.seq} is past the last entry")
    first = result.first_seq if result.first_seq is not None else 1
    for c in checkpoints:
        if c.reason == "external" and c.seq < first:
            result.notes.append(f"checkpoint {c.seq} is before the oldest kept entry (purged)")
    return None


def _column_mismatch(row: Row) -> str | None:
    try:
        data = json.loads(row[7])
    except ValueError:
        return "stored event is not JSON"
    if not isinstance(data, dict):
        return "stored event is not a JSON object"
    for key, column in zip(_COLUMN_KEYS, row[2:7], strict=True):
        if data.get(key) != column:
            return f"column {key} differs from the hashed event (row edited)"
    return None
