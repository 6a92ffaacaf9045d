"""Shared test helpers: real external checkers (exiftool, ffmpeg) and label builders."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from aigc_label import Label, api
from aigc_label.formats import SNIFF_BYTES, detect
from aigc_label.limits import DEFAULT_LIMITS

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
EXIFTOOL_CONFIG = HERE / "exiftool_tc260.config"
PRODUCER = "001191440300708461136T1XGW3"
"""The PG-20252A example code (valid USCC check character)."""


def make_label(produce_id: str = "0190f0c8-7d3a-7b1e-8f00-000000000001", value: str = "1") -> Label:
    return Label(
        Label=value,
        ContentProducer=PRODUCER,
        ProduceID=produce_id,
        ContentPropagator=PRODUCER,
        PropagateID=produce_id,
    )


def label_bytes(data: bytes, label: Label | None = None, hint: str | None = None) -> bytes:
    """Run the real write path on in-memory bytes and return the output."""
    out = io.BytesIO()
    api.label_stream(io.BytesIO(data), out, label or make_label(), hint=hint)
    return out.getvalue()


def read_labels(data: bytes) -> list[str]:
    """Raw label values the registry's handler finds in ``data``."""
    handler = detect(data[:SNIFF_BYTES])
    assert handler is not None
    return [f.raw for f in handler.read(io.BytesIO(data), DEFAULT_LIMITS).labels]


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


requires_exiftool = pytest.mark.skipif(not have("exiftool"), reason="exiftool not installed")
requires_ffmpeg = pytest.mark.skipif(not have("ffmpeg"), reason="ffmpeg not installed")


def exiftool(*args: str | Path) -> str:
    """Run exiftool with the TC260 namespace config; return stdout."""
    cmd = ["exiftool", "-config", str(EXIFTOOL_CONFIG), *map(str, args)]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def exiftool_aigc(path: Path) -> str | None:
    """The TC260:AIGC value exiftool reads from ``path`` (None if absent)."""
    data = json.loads(exiftool("-j", "-XMP-TC260:AIGC", path))[0]
    value = data.get("AIGC")
    return None if value is None else str(value)


def exiftool_warnings(path: Path) -> list[str]:
    """Warnings/errors reported by ``exiftool -validate -warning -a``."""
    out = exiftool("-validate", "-warning", "-error", "-a", "-s", path)
    return [line for line in out.splitlines() if line.strip() and "Validate" not in line]


@pytest.fixture
def label() -> Label:
    return make_label()
