"""The GB 45438 label detector, on labels written by the real write path and broken ones."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from aigc_label.detect.label import LabelDetector
from tests.detect.helpers import detect
from tests.platform.corpus import labeled_png, photo

DET = LabelDetector()


def _png_with_text(path: Path, value: str) -> Path:
    info = PngInfo()
    info.add_text("AIGC", value)  # the in-the-wild tEXt placement
    photo(64, 64).save(path, pnginfo=info)
    return path


def test_standard_label_is_confirmed_evidence(tmp_path: Path) -> None:
    (ev,) = detect(DET, labeled_png(tmp_path)) or []
    assert ev.kind == "label"
    assert ev.confidence == 1.0
    assert ev.data["label"]["ProduceID"] == "gen-0001"
    assert "iTXt XML:com.adobe.xmp" in ev.detail


def test_no_label_no_evidence(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    photo(64, 64).save(path)
    assert detect(DET, path) == []


def test_bad_json_still_declares_ai(tmp_path: Path) -> None:
    path = _png_with_text(tmp_path / "bad.png", '{"Label":"1","ContentProducer":"0011')
    (ev,) = detect(DET, path) or []
    assert ev.confidence == 0.9
    assert "unparseable" in ev.detail
    assert "broken" in ev.detail


def test_bad_enum_still_declares_ai(tmp_path: Path) -> None:
    label = {"Label": "7", "ContentProducer": "001191440300708461136T1XGW3", "ProduceID": "x-1"}
    path = _png_with_text(tmp_path / "enum.png", json.dumps(label))
    (ev,) = detect(DET, path) or []
    assert ev.confidence == 0.9
    assert "Label must be 1, 2 or 3" in ev.detail


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_duplicate_copies_are_reported(tmp_path: Path) -> None:
    labeled = labeled_png(tmp_path).read_bytes()
    raw = Image.open(tmp_path / "labeled.png").info["XML:com.adobe.xmp"]
    value = (
        raw.split("<TC260:AIGC>")[1].split("</TC260:AIGC>")[0] if "<TC260:AIGC>" in raw else None
    )
    if value is None:  # attribute form
        value = raw.split('TC260:AIGC="')[1].split('"')[0].replace("&quot;", '"')
    dup = labeled[:-12] + _chunk(b"tEXt", b"AIGC\0" + value.encode()) + labeled[-12:]
    path = tmp_path / "dup.png"
    path.write_bytes(dup)
    (ev,) = detect(DET, path) or []
    assert ev.data["copies"] == 2
    assert ev.confidence == 0.9
    assert "copies" in ev.detail
