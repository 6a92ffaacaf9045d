"""The two-element wording rule and option validation (spec section 2)."""

from __future__ import annotations

import pytest

from aigc_label.errors import InvalidExplicitLabelError
from aigc_label.explicit import ExplicitOptions, check_wording, default_text, require_wording
from aigc_label.explicit.wording import DEFAULT_TEXTS, require_duration


@pytest.mark.parametrize(
    "text",
    [
        "AI生成",
        "本内容由人工智能生成",
        "豆包AI生成",
        "AIGC合成内容",
        "ＡＩ生成",
        *DEFAULT_TEXTS.values(),
    ],
)
def test_valid_wordings(text: str) -> None:
    check = check_wording(text)
    assert check.ok, check
    assert require_wording(text) == text


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("AI", "generation element"),
        ("智能生成", "AI element"),
        ("人工智能", "generation element"),
        ("said generated", "AI element"),  # "ai" inside a word is not the element
        ("   ", "empty"),
        ("AI生成\x07", "control"),
    ],
)
def test_invalid_wordings(text: str, missing: str) -> None:
    with pytest.raises(InvalidExplicitLabelError, match=missing):
        require_wording(text)


def test_chinese_flag() -> None:
    assert check_wording("AI生成").chinese
    assert not check_wording("AI-generated").chinese
    assert check_wording("AI-generated").ok


def test_defaults() -> None:
    assert default_text() == "本内容由人工智能生成"
    assert default_text("zh", short=True) == "AI生成"
    assert check_wording(default_text("en")).ok
    with pytest.raises(InvalidExplicitLabelError):
        default_text("fr")  # type: ignore[arg-type]


def test_options_validate_early() -> None:
    with pytest.raises(InvalidExplicitLabelError, match="5%"):
        ExplicitOptions(height_ratio=0.04)
    with pytest.raises(InvalidExplicitLabelError):
        ExplicitOptions(text="生成")
    with pytest.raises(InvalidExplicitLabelError):
        ExplicitOptions(style="shadow")  # type: ignore[arg-type]
    opts = ExplicitOptions(settings={"n": "2.5", "flag": "yes", "bad": "x"})
    assert opts.setting_float("n", 0) == 2.5
    assert opts.setting_bool("flag", False) is True
    with pytest.raises(InvalidExplicitLabelError):
        opts.setting_float("bad", 0)
    assert opts.resolved_text() == "本内容由人工智能生成"
    assert opts.resolved_text(short=True) == "AI生成"


def test_duration_floor() -> None:
    assert require_duration(2.0) == 2.0
    with pytest.raises(InvalidExplicitLabelError, match=r"2\.0 s"):
        require_duration(1.5)
