"""The platform policy: defaults, files, validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aigc_label.errors import InvalidPolicyError
from aigc_label.policy import DEFAULT_PROMPTS, Policy, load_policy, policy_from_mapping


def test_defaults() -> None:
    p = Policy()
    assert p.prompt("confirmed") == "作品含AI生成内容"
    assert p.prompt("possible") == "内容可能由AI生成"
    assert p.prompt("suspected") == "疑似使用了AI生成技术，请谨慎甄别"
    assert p.prompt("none") == ""
    assert p.metadata_markers == "confirmed"
    assert p.ocr is True


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        'platform = "001191310115MA1K3P4T7P20001"\nlanguage = "en"\n'
        'metadata_markers = "suspected"\n'
        'ocr = false\ndisabled_detectors = ["watermark"]\n'
        '[prompts.suspected]\nen = "Possibly made with AI"\n'
        "[thresholds]\nwatermark_max_chance = 1e-12\nocr_max_side = 800\n",
        "utf-8",
    )
    p = load_policy(path)
    assert p.language == "en"
    assert p.metadata_markers == "suspected"
    assert p.prompt("suspected") == "Possibly made with AI"
    assert p.prompt("confirmed") == DEFAULT_PROMPTS["confirmed"]["en"]
    assert p.thresholds.watermark_max_chance == 1e-12
    assert p.thresholds.ocr_max_side == 800
    assert p.disabled_detectors == ("watermark",)
    assert p.ocr is False


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"language": "zh", "producer_when_unlabeled": "UNKNOWN"}), "utf-8")
    assert load_policy(path).producer_when_unlabeled == "UNKNOWN"


@pytest.mark.parametrize(
    "data",
    [
        {"colour": "red"},
        {"language": "fr"},
        {"metadata_markers": "ignored"},
        {"thresholds": {"ocr_max_side": "big"}},
        {"thresholds": {"unknown": 1}},
        {"thresholds": {"ocr_max_side": 1.5}},
        {"prompts": {"maybe": {"zh": "x"}}},
        {"prompts": {"possible": {"zh": 3}}},
        {"ocr": "yes"},
        {"platform": 42},
        {"disabled_detectors": "ocr"},
    ],
)
def test_invalid(data: dict[str, object]) -> None:
    with pytest.raises(InvalidPolicyError):
        policy_from_mapping(data)


def test_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("platform = ", "utf-8")
    with pytest.raises(InvalidPolicyError, match="not valid"):
        load_policy(path)
    with pytest.raises(InvalidPolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")


def test_overrides_are_validated() -> None:
    assert Policy().with_overrides(language="en").language == "en"
    with pytest.raises(InvalidPolicyError):
        Policy().with_overrides(language="de")
