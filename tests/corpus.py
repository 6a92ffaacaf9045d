"""The sample corpus every generic test runs over: shipped samples + committed fixtures."""

from __future__ import annotations

from pathlib import Path

from aigc_label.formats import HANDLERS, SNIFF_BYTES, detect
from tests.conftest import FIXTURES

SAMPLES = Path(__file__).parents[1] / "src" / "aigc_label" / "samples"


def writable_files() -> list[Path]:
    """Every sample/fixture whose format a registered, writable handler recognises."""
    files = sorted(SAMPLES.glob("sample.*")) + sorted(
        p for p in FIXTURES.rglob("*") if p.is_file() and not p.name.startswith(".")
    )
    out = []
    for path in files:
        handler = detect(path.read_bytes()[:SNIFF_BYTES])
        if handler is not None and handler.can_write and not path.name.startswith("crash-"):
            out.append(path)
    return out


def handler_names() -> list[str]:
    return [h.name for h in HANDLERS]
