"""A real uvicorn server on a free loopback port, in a background thread, for the service tests.

The socket is bound before the server starts (no port race); requests go over
real HTTP with httpx.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from aigc_label.service import Settings, create_app

SAMPLES = Path(__file__).parents[2] / "src" / "aigc_label" / "samples"
SAMPLE_PNG = SAMPLES / "sample.png"
PRODUCER = "001191440300708461136T1XGW3"
PLATFORM = "001191440300708461136T2XGW3"
"""A second code of the same organisation (service type 2: propagation)."""

PROVIDER_KEY = "provider-key-0123456789"
PLATFORM_KEY = "platform-key-0123456789"
AUDITOR_KEY = "auditor-key-0123456789ab"
KEY_LINES = (
    f"{PROVIDER_KEY} provider gen-service\n"
    f"{PLATFORM_KEY} platform\n"
    f"{AUDITOR_KEY} auditor audit-team\n"
)


def server_settings(tmp: Path, **changes: Any) -> Settings:
    """Settings for a test server: a fresh SQLite ledger and a spool dir under ``tmp``."""
    spool = tmp / "spool"
    spool.mkdir(exist_ok=True)
    base = Settings(ledger_url=f"sqlite://{tmp / 'ledger.sqlite3'}", upload_dir=str(spool))
    return dataclasses.replace(base, **changes)


class LiveServer:
    """``with LiveServer(settings) as srv: httpx.get(srv.url + "/healthz")``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                msg = "test server did not start"
                raise RuntimeError(msg)
            time.sleep(0.02)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)
