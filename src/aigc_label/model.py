"""The GB 45438-2025 implicit label (Annex E), its validation and provider codes.

A label is seven string fields in a fixed order, serialized as compact UTF-8
JSON. Values are restricted to printable ASCII without space and backslash
(Annex E j; a double quote is allowed and travels JSON-escaped). Provider codes
follow TC260 PG-20252A: "00" + subject type + binding + an 18-character Unified
Social Credit Code (GB 32100, with its check character) + a 5-character
service extension.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from .errors import InvalidLabelError, InvalidProducerCodeError

FIELDS: tuple[str, ...] = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)
"""The seven Annex E keys, in the order they must be serialized."""

REQUIRED_FIELDS: tuple[str, ...] = ("Label", "ContentProducer", "ProduceID")
"""Keys that must be present and non-empty."""

LABEL_VALUES: dict[str, str] = {"1": "AI-generated", "2": "possibly AI", "3": "suspected AI"}
"""Allowed values of the Label key and their meaning."""

WRAPPER_KEY = "AIGC"
"""Key of the Annex E wrapper form {"AIGC": {...}}."""

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding about a label or a file: machine code, human message, severity."""

    code: str
    message: str
    severity: Severity = "error"
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "message": self.message, "severity": self.severity}
        if self.field is not None:
            d["field"] = self.field
        return d


@dataclass(frozen=True)
class Label:
    """The seven-field implicit label. All values are strings; empty means unset."""

    Label: str = "1"
    ContentProducer: str = ""
    ProduceID: str = ""
    ReservedCode1: str = ""
    ContentPropagator: str = ""
    PropagateID: str = ""
    ReservedCode2: str = ""

    def to_dict(self) -> dict[str, str]:
        """The fields as an ordered dict (Annex E order)."""
        return {name: getattr(self, name) for name in FIELDS}

    def to_json(self) -> str:
        """Canonical compact JSON, keys in Annex E order, bare (no wrapper)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Self:
        """Build from a mapping, keeping only known keys, coercing values to str."""
        return cls(**{k: "" if data.get(k) is None else str(data[k]) for k in FIELDS if k in data})


@dataclass(frozen=True)
class ParsedLabel:
    """Outcome of parsing one stored label value."""

    label: Label | None
    problems: list[Problem] = field(default_factory=list)
    form: Literal["bare", "wrapped", "invalid"] = "bare"


def _allowed_char(ch: str) -> bool:
    return 0x21 <= ord(ch) <= 0x7E and ch != "\\"


def check_charset(value: str) -> bool:
    """True when every character is in the Annex E j set (printable ASCII, no space/backslash)."""
    return all(_allowed_char(c) for c in value)


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    dups = []
    for k, v in pairs:
        if k in seen:
            dups.append(k)
        seen[k] = v
    if dups:
        seen["\x00duplicate_keys"] = dups
    return seen


def parse_label_json(raw: str) -> ParsedLabel:
    """Parse a stored label value in bare or {"AIGC": {...}} form and validate it."""
    text = raw.strip().lstrip("\ufeff")
    if text.startswith("{&quot;"):
        import html

        text = html.unescape(text)
    try:
        data = json.loads(text, object_pairs_hook=_pairs_hook)
    except (ValueError, RecursionError) as e:
        return ParsedLabel(None, [Problem("bad_json", f"label is not valid JSON: {e}")], "invalid")
    if not isinstance(data, dict):
        return ParsedLabel(None, [Problem("bad_json", "label JSON is not an object")], "invalid")
    problems: list[Problem] = []
    form: Literal["bare", "wrapped"] = "bare"
    if set(data) - {"\x00duplicate_keys"} == {WRAPPER_KEY}:
        inner = data[WRAPPER_KEY]
        if not isinstance(inner, dict):
            return ParsedLabel(
                None, [Problem("bad_json", "AIGC wrapper does not hold an object")], "invalid"
            )
        data, form = inner, "wrapped"
    for k in data.pop("\x00duplicate_keys", []):
        problems.append(Problem("duplicate_key", f"key {k!r} appears more than once", field=k))
    for k, v in data.items():
        if k not in FIELDS:
            problems.append(Problem("unknown_field", f"unknown field {k!r}", field=k))
        elif not isinstance(v, str):
            problems.append(
                Problem("non_string", f"{k} must be a JSON string, got {type(v).__name__}", field=k)
            )
    known = [k for k in data if k in FIELDS]
    if known != [k for k in FIELDS if k in data]:
        problems.append(Problem("field_order", "fields are not in Annex E order", "warning"))
    label = Label.from_mapping(data)
    problems.extend(validate_label(label, present=set(data), strict_codes=False))
    return ParsedLabel(label, problems, form)


def validate_label(
    label: Label, *, present: set[str] | None = None, strict_codes: bool = True
) -> list[Problem]:
    """Check a label against Annex E; provider-code problems are errors only when strict."""
    problems: list[Problem] = []
    for name in FIELDS:
        value = getattr(label, name)
        if present is not None and name not in present:
            if name in REQUIRED_FIELDS:
                problems.append(
                    Problem("missing_field", f"required field {name} is missing", field=name)
                )
            else:
                problems.append(
                    Problem("missing_field", f"field {name} is missing", "warning", field=name)
                )
            continue
        if name in REQUIRED_FIELDS and value == "":
            problems.append(Problem("empty_field", f"required field {name} is empty", field=name))
        if not check_charset(value):
            problems.append(
                Problem(
                    "charset",
                    f"{name} has characters outside Annex E j (printable ASCII, no space or "
                    "backslash)",
                    field=name,
                )
            )
    if label.Label and label.Label not in LABEL_VALUES:
        problems.append(
            Problem(
                "bad_label_value", f"Label must be 1, 2 or 3, got {label.Label!r}", field="Label"
            )
        )
    for name in ("ContentProducer", "ContentPropagator"):
        value = getattr(label, name)
        if value and check_charset(value):
            for p in check_provider_code(value):
                sev: Severity = p.severity if strict_codes else "warning"
                problems.append(Problem(p.code, f"{name}: {p.message}", sev, field=name))
    return problems


def require_valid(label: Label, *, strict_codes: bool = True) -> None:
    """Raise when a label we are about to write has any error-level problem."""
    errors = [p for p in validate_label(label, strict_codes=strict_codes) if p.severity == "error"]
    if not errors:
        return
    first = errors[0]
    if first.code.startswith("provider_code"):
        raise InvalidProducerCodeError(first.message)
    raise InvalidLabelError("; ".join(p.message for p in errors))


# --- provider codes (PG-20252A) and the USCC check character (GB 32100) ---------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of GB 32100 (no I, O, S, V, Z)."""

USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
"""Weights of the first 17 USCC characters (3^i mod 31)."""

PROVIDER_CODE_LENGTH = 27


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 USCC characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(code: str) -> str | None:
    """None when ``code`` is a valid USCC, else the reason it is not."""
    if len(code) != 18:
        return f"USCC must have 18 characters, has {len(code)}"
    bad = [c for c in code if c not in USCC_ALPHABET]
    if bad:
        return f"USCC has characters outside GB 32100: {''.join(sorted(set(bad)))}"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"USCC check character is {code[17]!r}, expected {expected!r}"
    return None


def check_provider_code(code: str) -> list[Problem]:
    """Problems with a service-provider code; empty when it is a valid organisation code.

    Codes that are not organisation codes (individuals, names) are not verifiable:
    they give a warning. A code that claims the organisation structure but fails
    it (length, USCC check, extension) gives an error.
    """
    if not (code.startswith("0011") or len(code) == PROVIDER_CODE_LENGTH):
        return [
            Problem(
                "provider_code_unverifiable",
                f"{code!r} is not a PG-20252A organisation code; cannot verify",
                "warning",
            )
        ]
    if len(code) != PROVIDER_CODE_LENGTH or not all(c.isdigit() or "A" <= c <= "Z" for c in code):
        return [
            Problem(
                "provider_code_structure",
                f"{code!r}: a provider code has 27 characters 0-9/A-Z",
            )
        ]
    if code[:2] != "00":
        return [Problem("provider_code_structure", f"{code!r}: format prefix must be '00'")]
    if code[2:4] != "11":
        return [
            Problem(
                "provider_code_unverifiable",
                f"{code!r}: subject type/binding {code[2:4]!r} is not an organisation bound to a "
                "USCC; cannot verify",
                "warning",
            )
        ]
    reason = check_uscc(code[4:22])
    if reason:
        return [Problem("provider_code_uscc", f"{code!r}: {reason}")]
    ext = code[22:]
    if ext != "00000" and ext[0] not in "12":
        return [
            Problem(
                "provider_code_extension",
                f"{code!r}: service extension must be 00000 or start with 1 (generation) or "
                "2 (propagation)",
            )
        ]
    return []


# --- content numbers -----------------------------------------------------------


def new_content_id() -> str:
    """A fresh UUIDv7 (RFC 9562): time-ordered, unique, Annex E charset-safe."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def check_content_id(value: str, name: str = "ProduceID") -> None:
    """Raise when a caller-supplied content number is empty or breaks the charset."""
    if not value:
        raise InvalidLabelError(f"{name} must not be empty")
    if not check_charset(value):
        raise InvalidLabelError(
            f"{name} {value!r} has characters outside Annex E j (printable ASCII, no space or "
            "backslash)"
        )
