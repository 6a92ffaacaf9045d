"""ingest_file per Art. 6 outcome: classification, early stop, relabel, copies."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL.PngImagePlugin import PngInfo

from aigc_label import LabelRequest, api
from aigc_label.errors import (
    AigcLabelError,
    FileAccessError,
    InvalidPolicyError,
    InvalidProducerCodeError,
    UnsupportedFormatError,
)
from aigc_label.platform import ingest_file
from aigc_label.policy import Policy
from tests.conftest import exiftool_aigc, read_labels, requires_exiftool
from tests.platform import corpus

POLICY = Policy(platform=corpus.PLATFORM, ocr=False)


def labeled(tmp_path: Path, **request: str) -> Path:
    src = tmp_path / "_src.png"
    corpus.photo(96, 64).save(src)
    out = tmp_path / "labeled.png"
    args = {"producer": corpus.PRODUCER, "produce_id": "gen-42", "reserved1": "sig-abc", **request}
    api.label_file(src, out, LabelRequest(**args))  # type: ignore[arg-type]
    return out


def only_label(path: Path) -> dict[str, str]:
    (raw,) = read_labels(path.read_bytes())
    data: dict[str, str] = json.loads(raw)
    return data


def test_label_kept_and_propagation_fields_ours(tmp_path: Path) -> None:
    src = labeled(tmp_path)
    before = src.read_bytes()
    r = ingest_file(src, tmp_path / "out.png", POLICY)
    assert r.outcome == "confirmed"
    assert r.prompt == "作品含AI生成内容"
    assert r.detectors == ["label"]  # decided by the cheapest detector
    lab = only_label(tmp_path / "out.png")
    assert (lab["Label"], lab["ContentProducer"], lab["ProduceID"], lab["ReservedCode1"]) == (
        "1",
        corpus.PRODUCER,
        "gen-42",
        "sig-abc",
    )
    assert lab["ContentPropagator"] == corpus.PLATFORM
    assert uuid.UUID(lab["PropagateID"]).version == 7
    assert r.label is not None
    assert r.label.to_dict() == lab
    assert src.read_bytes() == before  # input untouched


@requires_exiftool
def test_relabel_seen_by_exiftool(tmp_path: Path) -> None:
    r = ingest_file(labeled(tmp_path), tmp_path / "out.png", POLICY)
    assert r.label is not None
    assert exiftool_aigc(tmp_path / "out.png") == r.label.to_json()


def test_foreign_unverifiable_producer_does_not_block(tmp_path: Path) -> None:
    src = labeled(tmp_path, producer="SomeStudio")
    r = ingest_file(src, tmp_path / "out.png", POLICY)
    assert only_label(tmp_path / "out.png")["ContentProducer"] == "SomeStudio"
    assert r.outcome == "confirmed"


def test_invalid_platform_code_is_refused(tmp_path: Path) -> None:
    src = labeled(tmp_path)
    bad = POLICY.with_overrides(platform="001191440300708461136U1XGW3")
    with pytest.raises(InvalidProducerCodeError):
        ingest_file(src, tmp_path / "out.png", bad)
    with pytest.raises(InvalidPolicyError):
        ingest_file(src, tmp_path / "out.png", Policy())
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(("value", "by_value"), [("2", "possible"), ("3", "suspected")])
def test_existing_label_value_sets_the_class(tmp_path: Path, value: str, by_value: str) -> None:
    src = labeled(tmp_path, label=value)
    r = ingest_file(src, tmp_path / "a.png", POLICY)
    assert (r.outcome, only_label(tmp_path / "a.png")["Label"]) == (by_value, value)
    r = ingest_file(
        src, tmp_path / "b.png", POLICY.with_overrides(existing_label_class="confirmed")
    )
    assert (r.outcome, only_label(tmp_path / "b.png")["Label"]) == ("confirmed", value)


def _text_label_png(path: Path, value: str) -> Path:
    info = PngInfo()
    info.add_text("AIGC", value)
    corpus.photo(64, 64).save(path, pnginfo=info)
    return path


def test_bad_json_label_is_declared_ai(tmp_path: Path) -> None:
    src = _text_label_png(tmp_path / "bad.png", '{"Label":"1","ContentProd')
    r = ingest_file(src, tmp_path / "out.png", POLICY)
    assert r.outcome == "confirmed"
    assert any(p.code == "bad_json" for p in r.problems)
    lab = only_label(tmp_path / "out.png")
    assert lab["Label"] == "1"
    assert lab["ContentProducer"] == corpus.PLATFORM  # unknown producer -> policy default
    assert lab["ProduceID"] == lab["PropagateID"]


def test_bad_enum_label_keeps_producer(tmp_path: Path) -> None:
    value = json.dumps({"Label": "9", "ContentProducer": corpus.PRODUCER, "ProduceID": "p-9"})
    r = ingest_file(_text_label_png(tmp_path / "e.png", value), tmp_path / "out.png", POLICY)
    lab = only_label(tmp_path / "out.png")
    assert (lab["Label"], lab["ContentProducer"], lab["ProduceID"]) == ("1", corpus.PRODUCER, "p-9")
    assert any("not 1/2/3" in n for n in r.notes)


def test_duplicate_labels_become_one(tmp_path: Path) -> None:
    src = labeled(tmp_path)
    value = only_label(src)
    info = PngInfo()
    info.add_text("AIGC", json.dumps(value, separators=(",", ":")))
    from PIL import Image

    with Image.open(src) as im:
        for k, v in im.info.items():
            if isinstance(v, str):
                info.add_itxt(k, v)
        dup = tmp_path / "dup.png"
        im.save(dup, pnginfo=info)
    assert len(read_labels(dup.read_bytes())) == 2
    r = ingest_file(dup, tmp_path / "out.png", POLICY)
    assert any(p.code == "duplicate_label" for p in r.problems)
    assert only_label(tmp_path / "out.png")["ProduceID"] == "gen-42"


@requires_exiftool
def test_iptc_marker_confirmed_or_suspected(tmp_path: Path) -> None:
    src = corpus.iptc_jpeg(tmp_path / "ai.jpg")
    r = ingest_file(src, tmp_path / "c.jpg", POLICY)
    assert r.outcome == "confirmed"
    assert only_label(tmp_path / "c.jpg")["Label"] == "1"
    demoted = POLICY.with_overrides(metadata_markers="suspected")
    r = ingest_file(src, tmp_path / "s.jpg", demoted)
    assert r.outcome == "suspected"
    assert only_label(tmp_path / "s.jpg")["Label"] == "3"
    r = ingest_file(src, tmp_path / "p.jpg", demoted, declared=True)
    assert r.outcome == "possible"


def test_c2pa_relabel_warns_about_the_binding(tmp_path: Path) -> None:
    pytest.importorskip("c2pa")
    r = ingest_file(corpus.c2pa_jpeg(tmp_path / "c.jpg"), tmp_path / "out.jpg", POLICY)
    assert r.outcome == "confirmed"
    assert any("C2PA" in n for n in r.notes)


def test_declared_only_is_possible(tmp_path: Path) -> None:
    src = tmp_path / "plain.png"
    corpus.photo(64, 64).save(src)
    r = ingest_file(src, tmp_path / "out.png", POLICY, declared=True)
    assert (r.outcome, r.prompt) == ("possible", "内容可能由AI生成")
    lab = only_label(tmp_path / "out.png")
    assert lab["Label"] == "2"
    assert lab["ContentPropagator"] == corpus.PLATFORM


def test_declaration_outranks_traces_and_skips_them(tmp_path: Path) -> None:
    r = ingest_file(corpus.a1111_png(tmp_path), tmp_path / "out.png", POLICY, declared=True)
    assert r.outcome == "possible"
    assert "generator" not in r.detectors


def test_traces_are_suspected_and_stop_early(tmp_path: Path) -> None:
    policy = POLICY.with_overrides(ocr=True)
    r = ingest_file(corpus.a1111_png(tmp_path), tmp_path / "out.png", policy)
    assert r.outcome == "suspected"
    assert r.detectors[-1] == "generator"  # watermark and OCR never ran
    assert only_label(tmp_path / "out.png")["Label"] == "3"
    assert r.evidence[0].detector == "generator.a1111"


def test_unlabeled_producer_literal(tmp_path: Path) -> None:
    policy = POLICY.with_overrides(producer_when_unlabeled="UNKNOWN-PRODUCER")
    ingest_file(corpus.a1111_png(tmp_path), tmp_path / "out.png", policy)
    assert only_label(tmp_path / "out.png")["ContentProducer"] == "UNKNOWN-PRODUCER"


def test_none_is_a_byte_identical_copy(tmp_path: Path) -> None:
    src = tmp_path / "plain.jpg"
    corpus.photo(300, 200).save(src, quality=90)
    r = ingest_file(src, tmp_path / "out.jpg", POLICY)
    assert (r.outcome, r.label, r.action) == ("none", None, "copied")
    assert (tmp_path / "out.jpg").read_bytes() == src.read_bytes()
    d = r.to_dict()
    assert (d["class"], d["prompt"], d["label"]) == ("none", None, None)


def test_text_has_no_slot(tmp_path: Path) -> None:
    src = corpus.text_label_txt(tmp_path)
    r = ingest_file(src, tmp_path / "out.txt", POLICY)
    assert (r.outcome, r.label, r.action) == ("suspected", None, "copied")
    assert "no metadata slot" in r.notes[0]
    assert (tmp_path / "out.txt").read_bytes() == src.read_bytes()


def test_output_may_not_be_the_input(tmp_path: Path) -> None:
    src = labeled(tmp_path)
    with pytest.raises(FileAccessError):
        ingest_file(src, src, POLICY)


def test_unsupported_input_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "blob.bin"
    src.write_bytes(b"\x00\x01\x02binary" * 10)
    with pytest.raises(UnsupportedFormatError):
        ingest_file(src, tmp_path / "out.bin", POLICY)
    assert not (tmp_path / "out.bin").exists()


def test_undecodable_pixels_do_not_fail_the_upload(tmp_path: Path) -> None:
    import struct
    import zlib

    src = tmp_path / "garbled.png"
    corpus.photo(512, 512).save(src)
    data = bytearray(src.read_bytes())
    at = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[at - 4 : at])
    data[at + 4 : at + 4 + length] = bytes(range(256)) * (length // 256) + bytes(length % 256)
    crc = zlib.crc32(data[at : at + 4 + length])
    data[at + 4 + length : at + 8 + length] = struct.pack(">I", crc)  # valid chunk, bad zlib
    src.write_bytes(bytes(data))
    r = ingest_file(src, tmp_path / "out.png", POLICY.with_overrides(ocr=True))
    assert r.outcome == "none"


def test_to_dict_shape(tmp_path: Path) -> None:
    r = ingest_file(corpus.a1111_png(tmp_path), tmp_path / "out.png", POLICY)
    d = r.to_dict()
    assert {"class", "prompt", "evidence", "label"} <= set(d)
    assert {"detector", "detail", "confidence"} <= set(d["evidence"][0])
    json.dumps(d)


@pytest.mark.parametrize(
    "build", [corpus.a1111_png, corpus.comfyui_webp, corpus.a1111_jpeg, corpus.novelai_stealth_png]
)
def test_damaged_uploads_fail_cleanly(tmp_path: Path, build: Callable[[Path], Path]) -> None:
    """Cut or scribbled copies either ingest or raise one AigcLabelError; never a traceback."""
    data = build(tmp_path).read_bytes()
    rng = random.Random(7)
    for i in range(12):
        damaged = bytearray(data[: rng.randrange(16, len(data))] if i % 2 else data)
        for _ in range(8):
            damaged[rng.randrange(8, len(damaged))] = rng.randrange(256)
        src = tmp_path / f"damaged{i}.bin"
        src.write_bytes(bytes(damaged))
        out = tmp_path / f"out{i}"
        try:
            ingest_file(src, out, POLICY)
        except AigcLabelError:
            assert not out.exists()
