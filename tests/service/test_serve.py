"""``aigc-label serve`` as a user runs it: refusals at startup, several workers, one ledger."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigc_label.cli import main
from aigc_label.ledger import Ledger
from tests.service.live import PRODUCER, SAMPLE_PNG

EXE = str(Path(sys.executable).with_name("aigc-label"))
N_LABELS = 12


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AIGC_LABEL_")}


def _serve_fails(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    """Run ``aigc-label serve`` in-process where it must stop before listening."""
    before = dict(os.environ)
    with pytest.raises(SystemExit) as stop:
        main(["serve", *args])
    assert stop.value.code == 2
    assert dict(os.environ) == before, "a refused start must not change the environment"
    return capsys.readouterr().err.strip().splitlines()


def test_refuses_a_public_address_without_keys(capsys: pytest.CaptureFixture[str]) -> None:
    (line,) = _serve_fails(capsys, "--host", "0.0.0.0", "--port", "1")
    assert line.startswith("aigc-label: error: refusing to listen on 0.0.0.0 without API keys")


def test_bad_key_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("tooshort provider\n")
    assert _serve_fails(capsys, "--api-keys", str(keys), "--port", "1") == [
        f"aigc-label: error: {keys}: entry 1: key is shorter than 16 characters"
    ]


def test_bad_ledger_url_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    (line,) = _serve_fails(capsys, "--ledger", "mysql://nope", "--port", "1")
    assert line.startswith("aigc-label: error: ")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[str, subprocess.Popen[str]]:
        port = _free_port()
        proc = subprocess.Popen(
            [EXE, "serve", "--port", str(port), "--upload-dir", str(tmp_path), *args],
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/healthz", timeout=1)
                return url, proc
            except httpx.TransportError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        pytest.fail(f"serve did not start: {proc.stderr.read() if proc.stderr else ''}")

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _label_many(url: str, n: int) -> None:
    data = SAMPLE_PNG.read_bytes()

    def one(i: int) -> int:
        files = {"file": ("a.png", data)}
        fields = {"producer": PRODUCER, "produce_id": f"workers-{i}"}
        return httpx.post(url + "/v1/label", files=files, data=fields, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(n))) == {200}


def _check_ledger(ledger_url: str, n: int) -> None:
    with Ledger.open(ledger_url, create=False) as lg:
        assert lg.count() == n
        assert lg.verify().ok
        ids = {e.event.produce_id for e in lg.entries()}
    assert ids == {f"workers-{i}" for i in range(n)}


def _ledger_url(tmp_path: Path) -> str:
    """The shared PostgreSQL test database when there is one (the production setup for
    several workers), else a SQLite file (the embedded default)."""
    try:
        from tests.ledger.conftest import pg_base_url
    except ImportError:  # pragma: no cover - the ledger tests are part of the tree
        return f"sqlite://{tmp_path / 'shared.sqlite3'}"
    try:
        pg_base_url()
    except pytest.skip.Exception:
        return f"sqlite://{tmp_path / 'shared.sqlite3'}"
    from tests.ledger.conftest import PgSchema

    schema = PgSchema()
    _schemas.append(schema)
    return schema.url


_schemas: list[Any] = []


@pytest.fixture
def shared_ledger(tmp_path: Path) -> Iterator[str]:
    url = _ledger_url(tmp_path)
    yield url
    while _schemas:
        _schemas.pop().drop()


def test_two_workers_share_one_ledger(serve: Any, shared_ledger: str) -> None:
    url, proc = serve("--workers", "2", "--ledger", shared_ledger)
    _label_many(url, N_LABELS)
    _check_ledger(shared_ledger, N_LABELS)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)
    err = proc.stderr.read()
    assert "no API keys configured" in err
    assert "aigc-label: ledger: " in err
