"""API keys and roles over real HTTP: who may label, ingest, inspect and audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aigc_label.service.settings import parse_api_keys
from tests.service.live import (
    AUDITOR_KEY,
    KEY_LINES,
    PLATFORM_KEY,
    PRODUCER,
    PROVIDER_KEY,
    SAMPLE_PNG,
    LiveServer,
    server_settings,
)

DATA = SAMPLE_PNG.read_bytes()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("auth")
    settings = server_settings(tmp, api_keys=parse_api_keys(KEY_LINES, "test"))
    with LiveServer(settings) as srv:
        yield srv


def label(c: httpx.Client, **headers: str) -> httpx.Response:
    files = {"file": ("a.png", DATA)}
    return c.post("/v1/label", files=files, data={"producer": PRODUCER}, headers=headers)


def test_health_and_page_need_no_key(server: LiveServer) -> None:
    with server.client() as c:
        assert c.get("/healthz").json()["auth"] == "api_keys"
        assert c.get("/").status_code == 200
        assert c.get("/static/app.js").status_code == 200
        assert c.get("/openapi.json").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong-key-0123456789"}, {"Authorization": "Bearer nope"}],
)
def test_missing_or_unknown_key_is_401(server: LiveServer, headers: dict[str, str]) -> None:
    with server.client() as c:
        got = label(c, **headers)
        assert got.status_code == 401
        assert got.json()["error"]["code"] == "unauthenticated"
        got = c.post("/v1/inspect", files={"file": ("a.png", DATA)}, headers=headers)
        assert got.status_code == 401


def test_provider_key_labels_by_either_header(server: LiveServer) -> None:
    with server.client() as c:
        assert label(c, **{"X-API-Key": PROVIDER_KEY}).status_code == 200
        assert label(c, Authorization=f"Bearer {PROVIDER_KEY}").status_code == 200


@pytest.mark.parametrize(
    ("key", "method", "route"),
    [
        (PLATFORM_KEY, "label", "/v1/label"),
        (AUDITOR_KEY, "label", "/v1/label"),
        (PROVIDER_KEY, "post", "/v1/ingest"),
        (AUDITOR_KEY, "post", "/v1/ingest"),
        (PROVIDER_KEY, "get", "/v1/trace?id=x"),
        (PLATFORM_KEY, "get", "/v1/records/1"),
    ],
)
def test_wrong_role_is_403(server: LiveServer, key: str, method: str, route: str) -> None:
    with server.client(key) as c:
        if method == "label":
            got = label(c)
        elif method == "post":
            got = c.post(route, files={"file": ("a.png", DATA)}, data={"platform": PRODUCER})
        else:
            got = c.get(route)
        assert got.status_code == 403, got.text
        assert got.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("key", [PROVIDER_KEY, PLATFORM_KEY, AUDITOR_KEY])
def test_any_key_may_inspect(server: LiveServer, key: str) -> None:
    with server.client(key) as c:
        assert c.post("/v1/inspect", files={"file": ("a.png", DATA)}).status_code == 200


def test_auditor_sees_the_requester_named_by_the_key(server: LiveServer) -> None:
    with server.client(PROVIDER_KEY) as c:
        files = {"file": ("a.png", DATA)}
        got = c.post("/v1/label", files=files, data={"producer": PRODUCER, "produce_id": "auth-1"})
        assert got.status_code == 200
    with server.client(AUDITOR_KEY) as c:
        (rec,) = c.get("/v1/trace", params={"id": "auth-1"}).json()["records"]
    assert rec["event"]["requester"] == "gen-service"


def test_key_file_names_a_requester_or_a_hash(tmp_path: Path) -> None:
    keys = parse_api_keys(KEY_LINES, "test")
    assert keys[0].name == "gen-service"
    assert keys[1].name.startswith("key-")
    assert keys[1].roles == frozenset({"platform"})
