"""Format detection: bytes beat the extension, the extension only breaks ties."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aigc_label import api
from aigc_label.formats import HANDLERS, SNIFF_BYTES, detect
from tests.corpus import SAMPLES


def test_handler_names_unique_and_extensions_disjoint() -> None:
    names = [h.name for h in HANDLERS]
    assert len(names) == len(set(names))
    seen: dict[str, str] = {}
    for h in HANDLERS:
        for ext in h.extensions:
            assert ext not in seen, f"{ext} claimed by {seen.get(ext)} and {h.name}"
            seen[ext] = h.name


@pytest.mark.parametrize(
    ("sample", "fmt"),
    [
        ("sample.png", "png"),
        ("sample.jpg", "jpeg"),
        ("sample.gif", "gif"),
        ("sample.webp", "webp"),
        ("sample.tif", "tiff"),
    ],
)
def test_samples_detected(sample: str, fmt: str) -> None:
    handler = detect((SAMPLES / sample).read_bytes()[:SNIFF_BYTES])
    assert handler is not None
    assert handler.name == fmt


def test_wrong_extension_uses_bytes(tmp_path: Path) -> None:
    fake = tmp_path / "really_png.jpg"
    shutil.copyfile(SAMPLES / "sample.png", fake)
    report = api.inspect_file(fake)
    assert report.format == "png"
    out = tmp_path / "out.jpg"
    outcome = api.label_file(fake, out, api.LabelRequest(producer="001191440300708461136T1XGW3"))
    assert outcome.format == "png"
    assert out.read_bytes().startswith(b"\x89PNG")


def test_unknown_bytes() -> None:
    assert detect(b"\x00\x01\x02\x03" * 16) is None
    assert detect(b"") is None
