"""The CLI through its real console script: exit codes, stderr lines, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aigc_label.demo import DEMO_PRODUCER
from tests.conftest import FIXTURES

SAMPLES = Path(__file__).parents[1] / "src" / "aigc_label" / "samples"
CLI = [sys.executable, "-m", "aigc_label"]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def assert_clean_failure(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]


def test_unsupported_input_exit_2_no_output(tmp_path: Path) -> None:
    src = tmp_path / "random.jpg"
    src.write_bytes(os.urandom(4096))
    out = tmp_path / "out.jpg"
    proc = run("label", src, "-o", out, "--producer", DEMO_PRODUCER)
    assert_clean_failure(proc, "unrecognised file format")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]


def test_invalid_producer_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    proc = run(
        "label", SAMPLES / "sample.png", "-o", out, "--producer", "001191440300708461136A1XGW3"
    )
    assert_clean_failure(proc, "check character")
    assert not out.exists()


def test_missing_file_exit_2(tmp_path: Path) -> None:
    proc = run(
        "label", tmp_path / "nope.png", "-o", tmp_path / "o.png", "--producer", DEMO_PRODUCER
    )
    assert_clean_failure(proc, "nope.png")
    proc = run("inspect", tmp_path / "nope.png")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_inspect_json_on_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x00" * 100)
    proc = run("inspect", "--json", bad)
    assert proc.returncode == 2
    obj = json.loads(proc.stdout.splitlines()[0])
    assert obj["verdict"] == "inconclusive"
    assert obj["label"] is None
    assert obj["problems"][0]["code"] == "unsupported_format"
    assert {"path", "format", "label", "locations", "problems", "verdict"} <= set(obj)


def test_usage_error_is_not_a_traceback() -> None:
    proc = run("label")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_fixture_dir_exists() -> None:
    assert FIXTURES.is_dir()


@pytest.mark.parametrize(
    "args", [["--help"], ["label", "--help"], ["inspect", "--help"], ["--version"]]
)
def test_help(args: list[str]) -> None:
    assert run(*args).returncode == 0
