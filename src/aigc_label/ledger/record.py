"""The ledger's event model: what happened to one piece of content, versioned.

An :class:`Event` is what a caller records (a generation, a propagation, or an
Art. 9 hand-out without the explicit label). The ledger wraps it in an
:class:`Entry` with a sequence number, the time it was recorded and the hash
chain values. Events are serialized with RFC 8785 (JSON Canonicalization
Scheme, via the ``rfc8785`` package) so the same event always hashes to the
same bytes, whatever produced it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

import rfc8785

from ..errors import InvalidLedgerEventError, LedgerIntegrityError
from ..model import Label

EventKind = Literal["generation", "propagation", "unlabeled_handout"]
"""generation: a provider labeled new content; propagation: a platform ingested
content and wrote its ContentPropagator/PropagateID; unlabeled_handout: content
was handed out without the explicit label on request (Art. 9 of the measures)."""

EVENT_KINDS: tuple[str, ...] = get_args(EventKind)

EVENT_VERSION = 1
"""Value of the ``v`` key; bump it (and keep reading old versions) when fields change."""

MAX_FIELD_CHARS = 1024
"""Longest id, code or name accepted in one field (keeps rows and indexes small)."""

MAX_EVENT_BYTES = 64 * 1024
"""Largest canonical event accepted (``extra`` and the label included)."""

_SHA256_RE = re.compile(r"[0-9a-f]{64}")

_STR_FIELDS = ("provider", "produce_id", "propagate_id")
_OPT_STR_FIELDS = ("format", "model", "requester", "omitted_for")


def is_sha256(value: str) -> bool:
    """True for 64 lowercase hex digits."""
    return _SHA256_RE.fullmatch(value) is not None


@dataclass(frozen=True)
class Event:
    """One thing that happened to a piece of content, as the caller reports it."""

    kind: EventKind
    provider: str
    """Provider code (generation, hand-out) or platform code (propagation)."""
    produce_id: str = ""
    propagate_id: str = ""
    sha256_before: str | None = None
    """SHA-256 (hex) of the content as it came in; None when there was no input file."""
    sha256_after: str | None = None
    """SHA-256 (hex) of the content as it went out (labeled)."""
    format: str | None = None
    label: Mapping[str, str] | None = None
    """The implicit label written or found (the seven Annex E fields)."""
    model: str | None = None
    """Model or service id that generated or handled the content."""
    requester: str | None = None
    """Who asked for the operation (user or account id)."""
    explicit_label_omitted: bool = False
    omitted_for: str | None = None
    """Who received the content without its explicit label (Art. 9); required when omitted."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Further JSON values a front end wants kept (e.g. the ingest verdict)."""

    def __post_init__(self) -> None:
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object that is canonicalized and hashed."""
        return {
            "v": EVENT_VERSION,
            "kind": self.kind,
            "provider": self.provider,
            "produce_id": self.produce_id,
            "propagate_id": self.propagate_id,
            "sha256_before": self.sha256_before,
            "sha256_after": self.sha256_after,
            "format": self.format,
            "label": dict(self.label) if self.label is not None else None,
            "model": self.model,
            "requester": self.requester,
            "explicit_label_omitted": self.explicit_label_omitted,
            "omitted_for": self.omitted_for,
            "extra": dict(self.extra),
        }

    def canonical_json(self) -> str:
        """RFC 8785 form of :meth:`to_dict`; raises when it is too large or not JSON."""
        # Fixed fields are validated strings/booleans/null: only the open parts need a check.
        fast = all(k.isascii() for k in self.label or ()) and _fast_subset(dict(self.extra))
        data = canonicalize(self.to_dict(), known_fast=fast)
        if len(data) > MAX_EVENT_BYTES:
            raise InvalidLedgerEventError(
                f"event is {len(data)} bytes, above the limit of {MAX_EVENT_BYTES}"
            )
        return data.decode("utf-8")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Rebuild an event read back from storage; raises on an unknown version."""
        if data.get("v") != EVENT_VERSION:
            raise InvalidLedgerEventError(f"unknown event version {data.get('v')!r}")
        label = data.get("label")
        return cls(
            kind=data.get("kind"),  # type: ignore[arg-type]  # checked in _validate
            provider=data.get("provider"),  # type: ignore[arg-type]
            produce_id=data.get("produce_id", ""),
            propagate_id=data.get("propagate_id", ""),
            sha256_before=data.get("sha256_before"),
            sha256_after=data.get("sha256_after"),
            format=data.get("format"),
            label=dict(label) if isinstance(label, dict) else label,
            model=data.get("model"),
            requester=data.get("requester"),
            explicit_label_omitted=data.get("explicit_label_omitted", False),
            omitted_for=data.get("omitted_for"),
            extra=data.get("extra") or {},
        )

    @classmethod
    def from_label(
        cls,
        kind: EventKind,
        label: Label,
        *,
        provider: str | None = None,
        **fields: Any,
    ) -> Event:
        """An event for ``label``: ids from the label, provider from the right field.

        Generation and hand-out events default to ContentProducer, propagation to
        ContentPropagator.
        """
        if provider is None:
            provider = label.ContentPropagator if kind == "propagation" else label.ContentProducer
        return cls(
            kind=kind,
            provider=provider,
            produce_id=label.ProduceID,
            propagate_id=label.PropagateID,
            label=label.to_dict(),
            **fields,
        )


_MAX_SAFE_INT = 2**53 - 1


def _fast_subset(value: Any, depth: int = 0) -> bool:
    """True when ``json.dumps`` gives the same bytes as RFC 8785 for ``value``.

    That holds for strings, booleans, null, integers within the IEEE-754 safe
    range, and objects whose keys are ASCII (so UTF-16 and code-point key order
    agree). Floats and non-ASCII keys go to the ``rfc8785`` package.
    """
    if value is None or isinstance(value, (str, bool)):
        return True
    if isinstance(value, int):
        return -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT
    if depth > 32:
        return False
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and k.isascii() and _fast_subset(v, depth + 1)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return all(_fast_subset(v, depth + 1) for v in value)
    return False


def canonicalize(value: Any, *, known_fast: bool | None = None) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value.

    The ``rfc8785`` package is the reference; it is pure Python and about five
    times slower than the standard library, so values in the subset where
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    is byte-identical to JCS (see :func:`_fast_subset`; both escape exactly
    ``"``, ``\\`` and control characters, with lowercase ``\\u00xx``) take
    that path. Equality with ``rfc8785`` is property-tested.
    """
    if known_fast if known_fast is not None else _fast_subset(value):
        try:
            text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return text.encode("utf-8")
        except (UnicodeEncodeError, ValueError):
            pass  # lone surrogates: let rfc8785 give the precise error
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        raise InvalidLedgerEventError(f"event is not canonical JSON: {e}") from e


def _validate(ev: Event) -> None:
    def bad(msg: str) -> InvalidLedgerEventError:
        return InvalidLedgerEventError(f"ledger event: {msg}")

    if ev.kind not in EVENT_KINDS:
        raise bad(f"kind must be one of {', '.join(EVENT_KINDS)}, got {ev.kind!r}")
    for name in _STR_FIELDS + _OPT_STR_FIELDS:
        value = getattr(ev, name)
        if value is None and name in _OPT_STR_FIELDS:
            continue
        if not isinstance(value, str):
            raise bad(f"{name} must be a string, got {type(value).__name__}")
        if len(value) > MAX_FIELD_CHARS:
            raise bad(f"{name} is longer than {MAX_FIELD_CHARS} characters")
    if not ev.provider:
        raise bad("provider (provider or platform code) is required")
    for name in ("sha256_before", "sha256_after"):
        value = getattr(ev, name)
        if value is not None and not (isinstance(value, str) and is_sha256(value)):
            raise bad(f"{name} must be 64 lowercase hex digits")
    if not isinstance(ev.explicit_label_omitted, bool):
        raise bad("explicit_label_omitted must be true or false")
    if ev.explicit_label_omitted and not ev.omitted_for:
        raise bad("omitted_for (who received it, Art. 9) is required when the label is omitted")
    if ev.kind == "unlabeled_handout" and not ev.explicit_label_omitted:
        raise bad("an unlabeled_handout event must set explicit_label_omitted")
    if ev.label is not None and not (
        isinstance(ev.label, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in ev.label.items())
    ):
        raise bad("label must map field names to strings")
    if not isinstance(ev.extra, Mapping) or not all(isinstance(k, str) for k in ev.extra):
        raise bad("extra must be a JSON object")


@dataclass(frozen=True)
class Entry:
    """An event as stored: its place in the chain, when it was recorded, its hashes."""

    seq: int
    ts_us: int
    """Recording time, microseconds since the Unix epoch (UTC)."""
    event: Event
    event_json: str
    prev_hash: str
    entry_hash: str

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.ts_us / 1_000_000, UTC)

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON for exports and APIs: chain fields plus the event."""
        from .chain import format_time

        return {
            "seq": self.seq,
            "time": format_time(self.ts_us),
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
            "event": self.event.to_dict(),
        }


Row = tuple[int, int, str, str, str, str | None, str | None, str, str, str]
"""A stored row: seq, ts_us, kind, produce_id, propagate_id, sha256_before,
sha256_after, event_json, prev_hash, entry_hash (the column order of ROW_COLUMNS)."""

ROW_COLUMNS = (
    "seq, ts_us, kind, produce_id, propagate_id, sha256_before, sha256_after, "
    "event_json, prev_hash, entry_hash"
)


def entry_from_row(row: Row) -> Entry:
    """Parse a stored row; a row whose JSON does not parse is an integrity error."""
    seq, ts_us, _kind, _pid, _gid, _before, _after, event_json, prev_hash, entry_hash = row
    try:
        data = json.loads(event_json)
        if not isinstance(data, dict):
            msg = "event is not a JSON object"
            raise ValueError(msg)
        event = Event.from_dict(cast(dict[str, Any], data))
    except (ValueError, InvalidLedgerEventError) as e:
        raise LedgerIntegrityError(f"ledger entry {seq}: stored event is unreadable: {e}") from e
    return Entry(int(seq), int(ts_us), event, event_json, prev_hash, entry_hash)
