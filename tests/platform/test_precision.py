"""Precision and recall on generated corpora (spec section 6 "How it must be shown").

The negative corpus (camera photos with EXIF, screenshots, scanned documents,
speech, music, beeps, news text mentioning 人工智能大会, an ordinary video) is
ingested with the default policy, OCR included: nothing may come out
``suspected`` (or anything but ``none``). Each detector family must find all
its positives. Run with ``-s`` to see the per-detector table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_label.platform import IngestResult, ingest_file
from aigc_label.policy import Policy
from tests.platform import corpus
from tests.platform import negatives as negative_corpus

pytestmark = pytest.mark.skipif(
    corpus.have_tools() is not None, reason=f"missing: {corpus.have_tools()}"
)

POLICY = Policy(platform=corpus.PLATFORM)


@pytest.fixture(scope="module")
def negatives(tmp_path_factory: pytest.TempPathFactory) -> list[IngestResult]:
    d = tmp_path_factory.mktemp("negatives")
    out = d / "out"
    out.mkdir()
    return [ingest_file(p, out / p.name, POLICY) for p in negative_corpus.build_negatives(d)]


@pytest.fixture(scope="module")
def positives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    return corpus.build_positives(tmp_path_factory.mktemp("positives"))


def test_negative_corpus_has_no_suspected(negatives: list[IngestResult]) -> None:
    wrong = {
        Path(r.input).name: (r.outcome, [e.detail for e in r.evidence])
        for r in negatives
        if r.outcome != "none"
    }
    assert wrong == {}
    assert len(negatives) >= 18


def test_negative_uploads_are_copied_unchanged(negatives: list[IngestResult]) -> None:
    for r in negatives:
        assert Path(r.output).read_bytes() == Path(r.input).read_bytes()


def test_ocr_ran_on_negative_images(negatives: list[IngestResult]) -> None:
    images = [r for r in negatives if r.format in ("jpeg", "png")]
    assert images
    assert all("ocr" in r.detectors for r in images)


def test_every_positive_is_classified(positives: dict[str, list[Path]], tmp_path: Path) -> None:
    expected = {"label": "confirmed", "iptc": "confirmed", "c2pa": "confirmed"}
    for family, files in positives.items():
        for path in files:
            r = ingest_file(path, tmp_path / path.name, POLICY)
            assert r.outcome == expected.get(family, "suspected"), (family, path.name)
            top = next(e for e in r.evidence if e.status == "found")
            got = negative_corpus.evidence_family(top.detector)
            assert got == family, (path.name, top.detector)


def test_per_detector_recall_and_false_positives(
    positives: dict[str, list[Path]], negatives: list[IngestResult]
) -> None:
    rows = negative_corpus.detector_rows(positives, negatives, POLICY)
    print("\n" + negative_corpus.markdown_table(rows))
    for row in rows:
        assert row["found"] == row["positives"], row
        assert row["false_positives"] == 0, row
