"""Every writable handler x every corpus file: the invariants all handlers share."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from aigc_label import api
from aigc_label.formats import SNIFF_BYTES, detect
from tests.conftest import label_bytes, make_label, read_labels
from tests.corpus import writable_files

FILES = writable_files()
IDS = [p.relative_to(p.parents[1]).as_posix() for p in FILES]


@pytest.fixture(params=FILES, ids=IDS)
def sample(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


def test_corpus_is_not_empty() -> None:
    assert FILES, "no writable handler recognised any sample"


def test_write_then_read_one_equal_label(sample: Path) -> None:
    data = sample.read_bytes()
    out = label_bytes(data, hint=sample.suffix)
    assert read_labels(out) == [make_label().to_json()]


def test_relabel_keeps_exactly_one(sample: Path) -> None:
    once = label_bytes(sample.read_bytes())
    second = make_label("second-id", "2")
    twice = label_bytes(once, second)
    assert read_labels(twice) == [second.to_json()]


def test_output_is_same_format(sample: Path) -> None:
    data = sample.read_bytes()
    before = detect(data[:SNIFF_BYTES])
    after = detect(label_bytes(data)[:SNIFF_BYTES])
    assert before is not None
    assert after is before


def test_stream_and_file_paths_agree_and_input_untouched(sample: Path, tmp_path: Path) -> None:
    digest = hashlib.sha256(sample.read_bytes()).hexdigest()
    out = tmp_path / f"out{sample.suffix}"
    req = api.LabelRequest(producer=make_label().ContentProducer, produce_id=make_label().ProduceID)
    api.label_file(sample, out, req)
    assert hashlib.sha256(sample.read_bytes()).hexdigest() == digest
    assert out.read_bytes() == label_bytes(sample.read_bytes())
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_inspect_reports_compliant(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / f"out{sample.suffix}"
    out.write_bytes(label_bytes(sample.read_bytes()))
    report = api.inspect_file(out)
    assert report.verdict == "compliant", report.problems
    assert report.label == make_label()
    assert report.locations
    assert all(loc.standard for loc in report.locations)


def test_reading_is_side_effect_free(sample: Path) -> None:
    data = sample.read_bytes()
    buf = io.BytesIO(data)
    api.inspect_stream(buf, str(sample))
    assert buf.getvalue() == data
