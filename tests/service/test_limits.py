"""Upload size and form limits: enforced while streaming, answered with a JSON 413."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aigc_label.service.uploads import MAX_FIELD_BYTES, MAX_FIELDS
from tests.service.live import SAMPLE_PNG, LiveServer, server_settings

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(
        server_settings(tmp_path_factory.mktemp("limits"), max_upload_bytes=LIMIT)
    ) as s:
        yield s


def _spool(server: LiveServer) -> list[Path]:
    return list(Path(str(server.settings.upload_dir)).iterdir())


def _assert_413(got: httpx.Response) -> None:
    assert got.status_code == 413, got.text
    err = got.json()["error"]
    assert err["code"] == "limit_exceeded"
    assert str(LIMIT) in err["message"]


def test_at_the_limit_is_accepted(server: LiveServer) -> None:
    data = SAMPLE_PNG.read_bytes()
    padded = data + b"\0" * (LIMIT - len(data))
    with server.client() as c:
        got = c.post("/v1/inspect", files={"file": ("a.png", padded)})
    assert got.status_code == 200


def test_declared_length_past_the_limit(server: LiveServer) -> None:
    with server.client() as c:
        _assert_413(c.post("/v1/inspect", files={"file": ("a.png", os.urandom(4 * LIMIT))}))
    assert _spool(server) == []


def test_streamed_body_past_the_limit(server: LiveServer) -> None:
    """No Content-Length (chunked): the limit trips while the file is being written."""
    boundary = "lim1t"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(8):
            yield os.urandom(LIMIT // 4)
        yield f"\r\n--{boundary}--\r\n".encode()

    with server.client() as c:
        got = c.post(
            "/v1/inspect",
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
    _assert_413(got)
    assert _spool(server) == []


def test_one_byte_over(server: LiveServer) -> None:
    with server.client() as c:
        _assert_413(c.post("/v1/inspect", files={"file": ("a.png", b"\0" * (LIMIT + 1))}))


def test_too_many_fields(server: LiveServer) -> None:
    fields = {f"f{i}": "x" for i in range(MAX_FIELDS + 1)}
    with server.client() as c:
        got = c.post("/v1/label", data=fields, files={"file": ("a.png", b"x")})
    assert got.status_code == 413
    assert got.json()["error"]["code"] == "limit_exceeded"


def test_field_too_long(server: LiveServer) -> None:
    with server.client() as c:
        got = c.post(
            "/v1/label", data={"producer": "x" * (MAX_FIELD_BYTES + 1)}, files={"file": ("a", b"x")}
        )
    assert got.status_code == 413
    assert "producer" in got.json()["error"]["message"]


def test_upload_is_spooled_to_disk_while_it_arrives(server: LiveServer) -> None:
    """Halfway through the body, the bytes already sent are in a temp file on disk."""
    boundary = "sp00l"
    data = SAMPLE_PNG.read_bytes()
    pad = b"\0" * (LIMIT // 2 - len(data))
    seen: list[int] = []

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        ).encode()
        yield data + pad
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not seen:
            seen.extend(p.stat().st_size for p in _spool(server) if p.stat().st_size > 0)
            time.sleep(0.01)
        yield pad
        yield f"\r\n--{boundary}--\r\n".encode()

    with server.client() as c:
        got = c.post(
            "/v1/inspect",
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
    assert got.status_code == 200, got.text
    assert seen, "no spool file appeared while the upload was arriving"
    assert seen[0] >= len(data)
    assert _spool(server) == []
