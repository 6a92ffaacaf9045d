"""The ledger commands through the real console script: exit codes, stderr, outputs."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import rfc8785
from PIL import Image

from aigc_label.cli import main
from tests.conftest import PRODUCER
from tests.ledger.conftest import tamper

CLI = [sys.executable, "-m", "aigc_label"]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """Run the CLI's entry point in-process (same error mapping as the console script)."""
    saved = dict(os.environ)
    os.environ.pop("AIGC_LABEL_LEDGER", None)
    os.environ.update(env or {})
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main([str(a) for a in args])
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Result(code, out.getvalue(), err.getvalue())


def one_error_line(proc: Result, needle: str) -> None:
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0], proc.stderr


@pytest.fixture
def labeled(ledger_url: str, tmp_path: Path) -> tuple[str, Path, Path]:
    """Two images labeled with --ledger (the second through AIGC_LABEL_LEDGER)."""
    src = tmp_path / "in.png"
    Image.new("RGB", (16, 16), (10, 200, 10)).save(src)
    out1, out2 = tmp_path / "a.png", tmp_path / "b.png"
    p1 = run("label", src, "-o", out1, "--producer", PRODUCER, "--produce-id", "cli-1",
             "--ledger", ledger_url, "--json")  # fmt: skip
    assert p1.returncode == 0, p1.stderr
    assert json.loads(p1.stdout)["ledger_seq"] == 1
    p2 = run("label", src, "-o", out2, "--producer", PRODUCER, "--produce-id", "cli-2",
             env={"AIGC_LABEL_LEDGER": ledger_url})  # fmt: skip
    assert p2.returncode == 0, p2.stderr
    assert "recorded as ledger entry 2" in p2.stdout
    return ledger_url, out1, out2


def test_label_without_a_ledger_records_nothing(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(src)
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    proc = run("label", src, "-o", tmp_path / "o.png", "--producer", PRODUCER, "--json", env=env)
    assert proc.returncode == 0
    assert "ledger_seq" not in proc.stdout
    assert not (tmp_path / "xdg").exists()
    one_error_line(run("ledger", "verify", env=env), "no ledger at")


def test_verify_ok_then_broken(labeled: tuple[str, Path, Path]) -> None:
    url = labeled[0]
    ok = run("ledger", "verify", "--ledger", url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: 2 entries 1..2")
    head = ok.stdout.splitlines()[1].removeprefix("head ")
    pinned = run("ledger", "verify", "--ledger", url, "--checkpoint", head, "--json")
    assert json.loads(pinned.stdout)["checkpoints_checked"] == 1
    tamper(url, "UPDATE ledger_entries SET event_json = replace(event_json, 'png', 'gif')")
    bad = run("ledger", "verify", "--ledger", url)
    assert bad.returncode == 1
    assert (
        bad.stderr.strip() == "aigc-label: ledger broken at entry 1: hash mismatch (entry edited)"
    )
    bad_json = run("ledger", "verify", "--ledger", url, "--json")
    assert json.loads(bad_json.stdout)["problem"]["seq"] == 1
    assert bad_json.returncode == 1


def test_trace_by_id_hash_and_file(labeled: tuple[str, Path, Path]) -> None:
    url, out1, _ = labeled
    by_id = run("trace", "cli-2", "--ledger", url)
    assert by_id.returncode == 0
    assert by_id.stdout.splitlines()[0].split()[:3] == ["SEQ", "TIME", "KIND"]
    assert by_id.stdout.splitlines()[1].split()[0] == "2"
    digest = hashlib.sha256(out1.read_bytes()).hexdigest()
    by_hash = json.loads(run("trace", digest, "--ledger", url, "--json").stdout)
    assert [r["seq"] for r in by_hash["records"]] == [1]
    by_file = json.loads(run("trace", out1, "--ledger", url, "--json").stdout)
    assert by_file["source"] == "file"
    assert by_file["ids"] == ["cli-1"]
    assert [r["seq"] for r in by_file["records"]] == [1]
    missing = run("trace", "no-such-id", "--ledger", url)
    assert missing.returncode == 1
    assert "no records for no-such-id" in missing.stderr


def test_export_jsonl_reverifies_offline_and_csv_parses(
    labeled: tuple[str, Path, Path], tmp_path: Path
) -> None:
    url = labeled[0]
    dest = tmp_path / "audit.jsonl"
    proc = run("ledger", "export", "--ledger", url, "--since", "2000-01-01", "-o", dest)
    assert proc.returncode == 0, proc.stderr
    prev = "0" * 64
    lines = dest.read_text().splitlines()
    assert len(lines) == 2
    for line in lines:  # an auditor's own recomputation, independent of aigc_label
        rec = json.loads(line)
        body = {"event": rec["event"], "seq": rec["seq"], "time": rec["time"]}
        digest = hashlib.sha256(bytes.fromhex(prev) + rfc8785.dumps(body)).hexdigest()
        assert rec["prev_hash"] == prev
        assert rec["entry_hash"] == digest
        prev = digest
    out = run("ledger", "export", "--ledger", url, "--format", "csv", "--until", "2000-01-01")
    assert out.stdout.splitlines() == [out.stdout.splitlines()[0]]  # header only
    full = run("ledger", "export", "--ledger", url, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(full.stdout)))
    assert [r["produce_id"] for r in rows] == ["cli-1", "cli-2"]
    assert json.loads(rows[0]["label"])["ProduceID"] == "cli-1"
    usage = run("ledger", "export", "--ledger", url, "--since", "yesterday")
    assert usage.returncode == 2
    assert "not an ISO 8601 date" in usage.stderr


def test_purge_refuses_young_records(labeled: tuple[str, Path, Path]) -> None:
    url = labeled[0]
    one_error_line(
        run("ledger", "purge", "--ledger", url, "--before", "2999-01-01"), "younger than 180 days"
    )
    one_error_line(
        run("ledger", "purge", "--ledger", url, "--before", "2000-01-01", "--retention-days", "30"),
        "minimum of 180 days",
    )
    old = run("ledger", "purge", "--ledger", url, "--before", "2000-01-01")
    assert old.returncode == 0
    assert old.stdout.startswith("nothing recorded before")
    assert run("ledger", "verify", "--ledger", url).returncode == 0


def test_bad_ledger_urls_are_one_line(tmp_path: Path) -> None:
    one_error_line(run("trace", "x", "--ledger", "mysql://h/db"), "unsupported ledger URL")
    one_error_line(run("ledger", "verify", "--ledger", tmp_path / "absent.db"), "no ledger at")
    src = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(src)
    (tmp_path / "blocker").write_bytes(b"")
    out = tmp_path / "o.png"
    proc = run("label", src, "-o", out, "--producer", PRODUCER,
               "--ledger", f"sqlite://{tmp_path}/blocker/l.db")  # fmt: skip
    one_error_line(proc, "cannot create ledger")
    assert not out.exists()


def test_console_script_end_to_end(tmp_path: Path) -> None:
    """The installed entry point, in its own process: label --ledger, then verify and trace."""
    src = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(src)
    env = {**os.environ, "AIGC_LABEL_LEDGER": f"sqlite://{tmp_path}/l.sqlite3"}

    def script(*args: str | Path) -> subprocess.CompletedProcess[str]:
        cmd = [*CLI, *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)

    labeled = script("label", src, "-o", tmp_path / "o.png", "--producer", PRODUCER)
    assert labeled.returncode == 0
    assert "recorded as ledger entry 1" in labeled.stdout
    assert script("ledger", "verify").stdout.startswith("ok: 1 entries 1..1")
    assert script("trace", tmp_path / "o.png").returncode == 0
