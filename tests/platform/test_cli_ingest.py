"""``aigc-label ingest`` through the real console entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.platform import corpus

CLI = [sys.executable, "-m", "aigc_label", "ingest"]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_single_file_json(tmp_path: Path) -> None:
    src = corpus.a1111_png(tmp_path)
    out = tmp_path / "out.png"
    proc = run(src, "-o", out, "--platform", corpus.PLATFORM, "--json", "--no-ocr")
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    record = json.loads(line)
    assert record["class"] == "suspected"
    assert record["prompt"] == "疑似使用了AI生成技术，请谨慎甄别"
    assert record["evidence"][0]["detector"] == "generator.a1111"
    assert record["label"]["Label"] == "3"
    assert record["label"]["ContentPropagator"] == corpus.PLATFORM
    assert out.exists()


def test_folder_report_and_progress(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    corpus.a1111_png(inbox)
    corpus.text_label_txt(inbox / "sub")
    (inbox / "sub" / "plain.jpg").write_bytes(corpus.image_bytes(corpus.photo(64, 64), "JPEG"))
    (inbox / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    out, report = tmp_path / "out", tmp_path / "report.jsonl"
    proc = run(
        inbox, "-o", out, "--platform", corpus.PLATFORM, "--report", report, "--no-ocr",
        "--lang", "en", "--declared",
    )  # fmt: skip
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("aigc-label: error")]
    assert len(errors) == 1
    assert "broken.png" in errors[0]
    assert "ingest" in proc.stderr  # the progress bar label
    records = [json.loads(ln) for ln in report.read_text("utf-8").splitlines()]
    by_name = {Path(r["input"]).name: r for r in records}
    assert set(by_name) == {"a1111.png", "text_label.txt", "plain.jpg", "broken.png"}
    assert by_name["plain.jpg"]["class"] == "possible"
    assert by_name["plain.jpg"]["prompt"] == "This content may be AI-generated"
    assert by_name["broken.png"]["error"]["code"] in ("truncated", "corrupt_file")
    assert (out / "sub" / "plain.jpg").exists()
    assert (out / "sub" / "text_label.txt").read_bytes() == (
        inbox / "sub" / "text_label.txt"
    ).read_bytes()
    assert not (out / "broken.png").exists()


def test_glob_and_policy_file(tmp_path: Path) -> None:
    corpus.a1111_png(tmp_path)
    corpus.comfyui_png(tmp_path)
    policy = tmp_path / "policy.toml"
    policy.write_text(f'platform = "{corpus.PLATFORM}"\nocr = false\nlanguage = "en"\n', "utf-8")
    out = tmp_path / "out"
    proc = run(str(tmp_path / "*.png"), "-o", out, "--policy", policy)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2
    assert all(": suspected [" in ln for ln in lines)
    assert sorted(p.name for p in out.iterdir()) == ["a1111.png", "comfyui.png"]


def test_bad_platform_one_line_exit_2(tmp_path: Path) -> None:
    src = corpus.a1111_png(tmp_path)
    proc = run(src, "-o", tmp_path / "o.png", "--platform", "001191440300708461136U1XGW3")
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1
    assert "platform code" in lines[0]
    assert not (tmp_path / "o.png").exists()


def test_ledger_records_propagation_and_trace_finds_it(tmp_path: Path) -> None:
    src = corpus.a1111_png(tmp_path)
    out = tmp_path / "out.png"
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    proc = run(src, "-o", out, "--platform", corpus.PLATFORM, "--json", "--no-ocr", "--ledger", url)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["ledger_seq"] >= 1
    base = [sys.executable, "-m", "aigc_label"]
    verify = subprocess.run([*base, "ledger", "verify", "--ledger", url], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    trace = subprocess.run(
        [*base, "trace", record["label"]["PropagateID"], "--json", "--ledger", url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert trace.returncode == 0, trace.stderr
    assert '"propagation"' in trace.stdout
    assert corpus.PLATFORM in trace.stdout
