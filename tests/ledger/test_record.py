"""The event model, its canonical form, the chain hash, and ledger URLs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from aigc_label.errors import InvalidLedgerEventError, InvalidLedgerURLError
from aigc_label.ledger import Event, chain_hash, parse_ledger_url
from aigc_label.ledger.chain import Checkpoint, entry_bytes, format_time, to_us
from aigc_label.ledger.record import MAX_EVENT_BYTES
from aigc_label.ledger.url import default_sqlite_path
from tests.conftest import make_label
from tests.ledger.conftest import make_event


def test_canonical_json_is_rfc8785_and_stable() -> None:
    ev = make_event(1, extra={"zh": "人工智能生成", "n": 3, "nested": {"b": 1, "a": [True, None]}})
    text = ev.canonical_json()
    assert text.encode() == rfc8785.dumps(json.loads(text))
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert Event.from_dict(json.loads(text)) == ev
    assert Event.from_dict(json.loads(text)).canonical_json() == text


def test_entry_bytes_equal_rfc8785_of_the_entry_object() -> None:
    ev = make_event(7, extra={"é": "\u2028\n"})
    ts = to_us(__import__("datetime").datetime(2025, 9, 1, 8, 0, 0, 123456))
    obj = {"event": json.loads(ev.canonical_json()), "seq": 42, "time": format_time(ts)}
    assert entry_bytes(42, ts, ev.canonical_json()) == rfc8785.dumps(obj)
    prev = hashlib.sha256(b"x").hexdigest()
    expected = hashlib.sha256(bytes.fromhex(prev) + rfc8785.dumps(obj)).hexdigest()
    assert chain_hash(prev, 42, ts, ev.canonical_json()) == expected
    assert format_time(ts) == "2025-09-01T08:00:00.123456Z"


def test_from_label_picks_the_right_provider() -> None:
    label = make_label("pid-9")
    gen = Event.from_label("generation", label)
    assert (gen.provider, gen.produce_id, gen.propagate_id) == (
        label.ContentProducer,
        "pid-9",
        "pid-9",
    )
    prop = Event.from_label("propagation", label, provider="PLATFORM")
    assert prop.provider == "PLATFORM"
    assert prop.label == label.to_dict()


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"kind": "deletion"}, "kind must be one of"),
        ({"provider": ""}, "provider"),
        ({"sha256_before": "ABC"}, "sha256_before"),
        ({"sha256_after": "A" * 64}, "sha256_after"),
        ({"explicit_label_omitted": True}, "omitted_for"),
        ({"kind": "unlabeled_handout"}, "explicit_label_omitted"),
        ({"produce_id": "x" * 2000}, "longer than"),
        ({"label": {"Label": 1}}, "label must map"),
        ({"extra": {"blob": "x" * MAX_EVENT_BYTES}}, "above the limit"),
        ({"extra": {"f": float("nan")}}, "canonical JSON"),
    ],
)
def test_invalid_events_raise_one_typed_error(fields: dict[str, object], needle: str) -> None:
    with pytest.raises(InvalidLedgerEventError, match=needle):
        make_event(1, **fields).canonical_json()


def test_art9_handout_event() -> None:
    ev = make_event(1, kind="unlabeled_handout", explicit_label_omitted=True, omitted_for="user-42")
    assert json.loads(ev.canonical_json())["omitted_for"] == "user-42"


def test_unknown_version_is_refused() -> None:
    data = json.loads(make_event(1).canonical_json())
    data["v"] = 99
    with pytest.raises(InvalidLedgerEventError, match="version"):
        Event.from_dict(data)


def test_checkpoint_parse() -> None:
    cp = Checkpoint.parse("12:" + "AB" * 32)
    assert (cp.seq, cp.entry_hash, str(cp)) == (12, "ab" * 32, "12:" + "ab" * 32)
    with pytest.raises(ValueError, match="SEQ:"):
        Checkpoint.parse("12-abc")


def test_urls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AIGC_LABEL_LEDGER", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    default = tmp_path / "aigc-label" / "ledger.sqlite3"
    assert default_sqlite_path() == default
    assert parse_ledger_url(None).target == str(default)
    assert parse_ledger_url("sqlite://").target == str(default)
    assert parse_ledger_url("sqlite:///abs/x.db").target == "/abs/x.db"
    assert parse_ledger_url("sqlite:////abs/x.db").target == "/abs/x.db"
    assert parse_ledger_url("sqlite:rel/x.db").target == "rel/x.db"
    assert parse_ledger_url("./x.db").target == "./x.db"
    pg = parse_ledger_url("postgresql://u:secret@h:5432/db")
    assert (pg.dialect, pg.target) == ("postgresql", "postgresql://u:secret@h:5432/db")
    assert "secret" not in str(pg)
    assert parse_ledger_url("postgres://h/db").dialect == "postgresql"
    with pytest.raises(InvalidLedgerURLError, match="mysql"):
        parse_ledger_url("mysql://h/db")
    monkeypatch.setenv("AIGC_LABEL_LEDGER", "sqlite:///from/env.db")
    assert parse_ledger_url(None).target == "/from/env.db"


_json_scalars = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=8)
_json = st.recursive(
    _json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(st.characters(exclude_categories=()), max_size=12),  # lone surrogates too
    label_keys=st.lists(st.text(min_size=1, max_size=4), max_size=3),
    extra=st.dictionaries(st.text(max_size=4), _json, max_size=3),
)
def test_fast_canonical_path_equals_rfc8785(
    text: str, label_keys: list[str], extra: dict[str, object]
) -> None:
    ev = make_event(1, model=text, label={k: text for k in label_keys}, extra=extra)
    try:
        expected: bytes | None = rfc8785.dumps(ev.to_dict())
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, ValueError):
        expected = None
    if expected is None:
        with pytest.raises(InvalidLedgerEventError):
            ev.canonical_json()
    else:
        assert ev.canonical_json().encode("utf-8") == expected


def test_sqlite_synchronous_option() -> None:
    assert parse_ledger_url("sqlite:///abs/x.db").synchronous == "full"
    url = parse_ledger_url("sqlite:///abs/x.db?synchronous=normal")
    assert (url.target, url.synchronous) == ("/abs/x.db", "normal")
    assert str(url) == "sqlite:///abs/x.db?synchronous=normal"
    assert parse_ledger_url(str(url)) == url
    for bad in ("sqlite:///x.db?synchronous=off", "sqlite:///x.db?journal=wal"):
        with pytest.raises(InvalidLedgerURLError):
            parse_ledger_url(bad)
