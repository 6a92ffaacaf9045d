"""The label model: Annex E fields, JSON forms, validation, provider codes, content ids."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigc_label import model
from aigc_label.errors import InvalidLabelError, InvalidProducerCodeError
from aigc_label.model import (
    FIELDS,
    Label,
    check_charset,
    check_provider_code,
    check_uscc,
    new_content_id,
    parse_label_json,
    require_valid,
    uscc_check_char,
)
from tests.conftest import PRODUCER, make_label

EXAMPLE = (
    '{"Label":"1","ContentProducer":"001191440300708461136T1XGW3","ProduceID":"8f2c",'
    '"ReservedCode1":"","ContentPropagator":"001191440300708461136T1XGW3",'
    '"PropagateID":"8f2c","ReservedCode2":""}'
)


def codes(problems: list[model.Problem]) -> set[str]:
    return {p.code for p in problems if p.severity == "error"}


def test_canonical_json_has_seven_keys_in_order_compact() -> None:
    text = Label("1", PRODUCER, "8f2c", "", PRODUCER, "8f2c", "").to_json()
    assert text == EXAMPLE
    assert list(json.loads(text)) == list(FIELDS)


def test_parse_bare_and_wrapped_forms() -> None:
    bare = parse_label_json(EXAMPLE)
    wrapped = parse_label_json('{"AIGC":' + EXAMPLE + "}")
    assert bare.form == "bare"
    assert wrapped.form == "wrapped"
    assert bare.label == wrapped.label
    assert not codes(bare.problems)


def test_parse_xml_escaped_value() -> None:
    parsed = parse_label_json(EXAMPLE.replace('"', "&quot;"))
    assert parsed.label is not None
    assert parsed.label.ProduceID == "8f2c"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "bad_json"),
        ("[1,2]", "bad_json"),
        ('{"AIGC":"x"}', "bad_json"),
        ('{"Label":"1","ProduceID":"x"}', "missing_field"),
        ('{"Label":"1","ContentProducer":"","ProduceID":"x"}', "empty_field"),
        ('{"Label":"4","ContentProducer":"' + PRODUCER + '","ProduceID":"x"}', "bad_label_value"),
        ('{"Label":"1","ContentProducer":"' + PRODUCER + '","ProduceID":"a b"}', "charset"),
        ('{"Label":"1","ContentProducer":"' + PRODUCER + '","ProduceID":"中文"}', "charset"),
        (
            '{"Label":"1","ContentProducer":"' + PRODUCER + '","ProduceID":"x","Foo":"y"}',
            "unknown_field",
        ),
        ('{"Label":1,"ContentProducer":"' + PRODUCER + '","ProduceID":"x"}', "non_string"),
        (
            '{"Label":"1","Label":"2","ContentProducer":"' + PRODUCER + '","ProduceID":"x"}',
            "duplicate_key",
        ),
    ],
)
def test_parse_reports_typed_problems(text: str, code: str) -> None:
    assert code in codes(parse_label_json(text).problems)


def test_field_order_and_missing_optional_are_warnings() -> None:
    text = '{"ProduceID":"x","Label":"1","ContentProducer":"' + PRODUCER + '"}'
    parsed = parse_label_json(text)
    assert not codes(parsed.problems)
    warnings = {p.code for p in parsed.problems if p.severity == "warning"}
    assert {"field_order", "missing_field"} <= warnings


def test_charset_rules() -> None:
    assert check_charset('abc!#[]^~"')
    assert not check_charset("a b")
    assert not check_charset("a\\b")
    assert not check_charset("é")
    assert check_charset("")


def test_uscc_check_character() -> None:
    assert uscc_check_char("91440300708461136") == "T"
    assert check_uscc("91440300708461136T") is None
    assert "check character" in (check_uscc("91440300708461136A") or "")
    assert "outside" in (check_uscc("9144030070846113IT") or "")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (PRODUCER, set()),
        ("001191440300708461136T00000", set()),
        ("001191440300708461136A1XGW3", {"provider_code_uscc"}),
        ("001191440300708461136T3XGW3", {"provider_code_extension"}),
        ("001191440300708461136T1XGW", {"provider_code_structure"}),
        ("001191440300708461136t1XGW3", {"provider_code_structure"}),
        ("011191440300708461136T1XGW3", {"provider_code_structure"}),
    ],
)
def test_provider_code_errors(code: str, expected: set[str]) -> None:
    assert codes(check_provider_code(code)) == expected


def test_unverifiable_codes_warn() -> None:
    for code in ("MyStudio", "002191440300708461136T1XGW3"):
        problems = check_provider_code(code)
        assert [p.severity for p in problems] == ["warning"]


def test_bad_producer_is_error_on_write_warning_on_read() -> None:
    bad = Label("1", "001191440300708461136A1XGW3", "x")
    with pytest.raises(InvalidProducerCodeError):
        require_valid(bad)
    parsed = parse_label_json(bad.to_json())
    assert not codes(parsed.problems)
    assert "provider_code_uscc" in {p.code for p in parsed.problems}


def test_require_valid_rejects_bad_label() -> None:
    with pytest.raises(InvalidLabelError):
        require_valid(Label("9", PRODUCER, "x"))
    require_valid(make_label())


def test_uuid7_shape_and_order() -> None:
    ids = [new_content_id() for _ in range(50)]
    pat = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(pat.match(i) for i in ids)
    assert len(set(ids)) == 50
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)
    assert all(check_charset(i) for i in ids)


@given(st.text(max_size=200))
def test_parse_never_raises(text: str) -> None:
    parse_label_json(text)


@given(
    st.builds(
        Label,
        *[
            st.text(
                alphabet=st.characters(
                    min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="\\"
                ),
                max_size=30,
            )
            for _ in FIELDS
        ],
    )
)
def test_round_trip_any_valid_charset_label(label: Label) -> None:
    assert parse_label_json(label.to_json()).label == label
