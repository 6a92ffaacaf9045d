"""The explicit-label entry points: dispatch by format, both labels in one step, the CLI."""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from aigc_label import api, explicit
from aigc_label.api import LabelRequest
from aigc_label.cli import main
from aigc_label.errors import (
    InvalidExplicitLabelError,
    InvalidProducerCodeError,
    NotAvailableError,
    UnsupportedFormatError,
)
from aigc_label.explicit import (
    ExplicitOptions,
    add_explicit_label,
    label_with_explicit,
    label_with_explicit_recorded,
)
from tests.conftest import FIXTURES, PRODUCER
from tests.explicit.imaging import background

CLI = [sys.executable, "-m", "aigc_label"]
PROMPT = "本内容由人工智能生成"


def _jpeg(tmp_path: Path) -> Path:
    path = tmp_path / "in.jpg"
    background("noisy", (320, 240)).save(path, quality=80)
    return path


def test_no_explicit_label_for_pdf(tmp_path: Path) -> None:
    pdf = next((FIXTURES / "pdf").glob("*.pdf"))
    with pytest.raises(UnsupportedFormatError, match="pdf"):
        add_explicit_label(pdf, tmp_path / "o.pdf")
    assert list(tmp_path.iterdir()) == []


def test_missing_modules_and_dependencies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("hello\n", encoding="utf-8")
    monkeypatch.setattr(explicit, "MODALITY_MODULES", ("not_installed", "text"))
    add_explicit_label(src, tmp_path / "b.txt")
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == PROMPT + "\n\nhello\n"

    real = importlib.import_module

    def without_pillow(name: str, package: str | None = None) -> object:
        if name.endswith(".image"):
            raise ModuleNotFoundError("No module named 'PIL'", name="PIL")
        return real(name, package)

    monkeypatch.setattr(explicit.importlib, "import_module", without_pillow)
    monkeypatch.setattr(explicit, "MODALITY_MODULES", ("text", "image"))
    with pytest.raises(NotAvailableError, match="'PIL'"):
        add_explicit_label(_jpeg(tmp_path), tmp_path / "o.jpg")


def test_bad_producer_fails_before_work(tmp_path: Path) -> None:
    src = _jpeg(tmp_path)
    bad = LabelRequest(producer="001191440300708461136A1XGW3")
    with pytest.raises(InvalidProducerCodeError):
        label_with_explicit(src, tmp_path / "o.jpg", bad, ExplicitOptions())
    assert [p.name for p in tmp_path.iterdir()] == ["in.jpg"]


def test_failure_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "tiny.png"
    background("white", (40, 30)).save(src)
    options = ExplicitOptions(text="本内容由人工智能生成，" * 6)
    with pytest.raises(InvalidExplicitLabelError, match="does not fit"):
        label_with_explicit(src, tmp_path / "o.png", LabelRequest(producer=PRODUCER), options)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.png"]


def test_both_labels_and_input_untouched(tmp_path: Path) -> None:
    src = _jpeg(tmp_path)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    out = tmp_path / "o.jpg"
    result = label_with_explicit(src, out, LabelRequest(producer=PRODUCER), None)
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest
    assert result.implicit is not None
    assert result.implicit.input == str(src)
    assert api.inspect_file(out).verdict == "compliant"
    assert result.to_dict()["explicit"]["details"]["glyph_height_ratio"] >= 0.05
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg", "o.jpg"]


def test_recorded_in_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    src = tmp_path / "a.txt"
    src.write_text("generated text\n", encoding="utf-8")
    request = LabelRequest(producer=PRODUCER)
    text_out, entry = label_with_explicit_recorded(src, tmp_path / "b.txt", request, None, url)
    assert text_out.implicit is None
    assert entry is not None
    event = entry.event.to_dict()
    assert event["extra"]["explicit_label"]["text"] == PROMPT
    after = hashlib.sha256((tmp_path / "b.txt").read_bytes()).hexdigest()
    assert event["sha256_after"] == after
    _, entry2 = label_with_explicit_recorded(
        _jpeg(tmp_path), tmp_path / "o.jpg", request, None, url
    )
    assert entry2 is not None
    assert entry2.seq == entry.seq + 1


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=60)


def test_cli_plain_text_and_image(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("第一段。\n\n第二段。\n", encoding="utf-8")
    proc = run("label", src, "-o", tmp_path / "b.txt", "--producer", PRODUCER, "--explicit",
               "--position", "end")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "b.txt").read_text(encoding="utf-8").endswith("第二段。\n\n" + PROMPT + "\n")
    assert "no metadata slot" in proc.stdout
    proc = run("label", _jpeg(tmp_path), "-o", tmp_path / "o.jpg", "--producer", PRODUCER,
               "--explicit-text", "豆包AI生成", "--position", "top-left", "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["explicit"]["text"] == "豆包AI生成"
    assert data["explicit"]["position"] == "top-left"
    assert data["label"]["ContentProducer"] == PRODUCER


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--explicit-text", "智能生成"), "AI element"),
        (("--explicit", "--position", "middle"), "not available for images"),
        (("--explicit-option", "novalue"), "KEY=VALUE"),
    ],
)
def test_cli_errors_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str
) -> None:
    """In process through the console-script entry point (the subprocess path is tested above)."""
    argv = ["label", str(_jpeg(tmp_path)), "-o", str(tmp_path / "o.jpg"), "--producer", PRODUCER]
    with pytest.raises(SystemExit) as exc:
        main([*argv, *args])
    assert exc.value.code == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1
    assert needle in lines[0]
    assert not (tmp_path / "o.jpg").exists()
