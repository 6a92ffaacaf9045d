"""IPTC DigitalSourceType (written by exiftool) and C2PA manifests (signed by c2pa-python)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_label.detect.iptc_c2pa import C2paDetector, IptcDetector, ai_source_type
from tests.conftest import requires_exiftool
from tests.detect.helpers import detect
from tests.platform.corpus import CAPTURE, COMPOSITE, TRAINED, c2pa_jpeg, iptc_jpeg, photo


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (TRAINED, "trainedAlgorithmicMedia"),
        ("compositeWithTrainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"),
        (CAPTURE, None),
        ("http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia", None),
    ],
)
def test_ai_source_type(value: str, code: str | None) -> None:
    assert ai_source_type(value) == code


@requires_exiftool
@pytest.mark.parametrize("value", [TRAINED, COMPOSITE])
def test_iptc_marker(tmp_path: Path, value: str) -> None:
    (ev,) = detect(IptcDetector(), iptc_jpeg(tmp_path / "ai.jpg", value)) or []
    assert ev.kind == "marker"
    assert value.rsplit("/", 1)[1] in ev.detail


@requires_exiftool
def test_iptc_capture_is_not_ai(tmp_path: Path) -> None:
    assert detect(IptcDetector(), iptc_jpeg(tmp_path / "cam.jpg", CAPTURE)) == []


def test_c2pa_ai_manifest(tmp_path: Path) -> None:
    (ev,) = detect(C2paDetector(), c2pa_jpeg(tmp_path / "c2pa.jpg", TRAINED)) or []
    assert ev.kind == "marker"
    assert ev.status == "found"
    assert "c2pa.created with trainedAlgorithmicMedia" in ev.detail
    assert ev.data["valid"] is True  # untrusted test signer, but signature and hashes hold


def test_c2pa_capture_manifest_is_not_ai(tmp_path: Path) -> None:
    assert detect(C2paDetector(), c2pa_jpeg(tmp_path / "cam.jpg", CAPTURE)) == []


def test_c2pa_tampered_manifest_counts_with_lower_confidence(tmp_path: Path) -> None:
    path = c2pa_jpeg(tmp_path / "c2pa.jpg", TRAINED)
    data = bytearray(path.read_bytes())
    data[-200] ^= 0xFF  # a scan-data byte covered by the hard binding
    path.write_bytes(bytes(data))
    (ev,) = detect(C2paDetector(), path) or []
    assert ev.confidence == 0.8
    assert ev.data["valid"] is False


def test_c2pa_absent(tmp_path: Path) -> None:
    pytest.importorskip("c2pa")
    path = tmp_path / "plain.jpg"
    photo(64, 64).save(path)
    assert detect(C2paDetector(), path) == []
