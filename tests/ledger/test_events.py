"""Recording real label operations and tracing real files back to their records."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from aigc_label import api
from aigc_label.errors import LedgerError
from aigc_label.ledger import Ledger, record_label, stream_sha256, trace, trace_key
from aigc_label.ledger.events import label_file_recorded
from tests.conftest import PRODUCER

PLATFORM = "001191440300708461136T2XGW3"


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "gen.png"
    Image.new("RGB", (32, 24), (200, 30, 60)).save(path)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_record_label_hashes_input_and_output(ledger: Ledger, png: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    outcome = api.label_file(png, out, api.LabelRequest(producer=PRODUCER, produce_id="gen-1"))
    entry = record_label(ledger, outcome, model="img-model-3", requester="user-42")
    ev = entry.event
    assert (ev.kind, ev.provider, ev.produce_id, ev.format) == (
        "generation",
        PRODUCER,
        "gen-1",
        "png",
    )
    assert (ev.sha256_before, ev.sha256_after) == (sha(png), sha(out))
    assert ev.label == outcome.label.to_dict()
    assert (ev.model, ev.requester, ev.explicit_label_omitted) == ("img-model-3", "user-42", False)
    stored = ledger.get(entry.seq)
    assert stored is not None
    assert json.loads(stored.event_json)["label"]["ProduceID"] == "gen-1"


def test_trace_a_file_through_a_platform_relabel(ledger: Ledger, png: Path, tmp_path: Path) -> None:
    """The generated file, then a platform's relabeled copy: the copy finds both records."""
    gen = tmp_path / "gen-labeled.png"
    first = api.label_file(png, gen, api.LabelRequest(producer=PRODUCER, produce_id="gen-2"))
    record_label(ledger, first)
    relabeled = tmp_path / "platform.png"
    request = api.LabelRequest(
        producer=PRODUCER, produce_id="gen-2", propagator=PLATFORM, propagate_id="plat-9"
    )
    second = api.label_file(gen, relabeled, request)
    record_label(ledger, second, kind="propagation")
    result = trace(ledger, str(relabeled))
    assert result.source == "file"
    assert result.label is not None
    assert result.label.PropagateID == "plat-9"
    assert [e.event.kind for e in result.entries] == ["generation", "propagation"]
    assert result.entries[1].event.provider == PLATFORM
    by_hash = trace(ledger, sha(gen))
    assert [e.seq for e in by_hash.entries] == [1, 2]  # output of one, input of the other
    assert by_hash.source == "sha256"
    unlabeled = trace(ledger, str(png))
    assert [e.seq for e in unlabeled.entries] == [1]
    assert unlabeled.label is None
    assert trace(ledger, "plat-9").to_dict()["records"][0]["seq"] == 2
    by_key = trace_key(ledger, str(relabeled))  # a service's key is never read as a path
    assert by_key.source == "id"
    assert by_key.entries == []


def test_label_file_recorded_opens_the_ledger_first(png: Path, tmp_path: Path) -> None:
    out = tmp_path / "never.png"
    request = api.LabelRequest(producer=PRODUCER)
    (tmp_path / "blocker").write_bytes(b"")
    with pytest.raises(LedgerError, match="cannot create ledger"):
        label_file_recorded(png, out, request, f"sqlite://{tmp_path}/blocker/x.db")
    assert not out.exists()
    _outcome, entry = label_file_recorded(png, out, request, None)
    assert entry is None
    assert out.exists()


def test_stream_sha256() -> None:
    data = b"x" * (3 * 1024 * 1024 + 5)
    assert stream_sha256(io.BytesIO(data)) == hashlib.sha256(data).hexdigest()
