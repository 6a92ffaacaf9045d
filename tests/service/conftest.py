"""Fixtures for the service tests: one live server per module (open access, SQLite ledger)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.service.live import LiveServer, server_settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(server_settings(tmp_path_factory.mktemp("service"))) as srv:
        yield srv


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c
