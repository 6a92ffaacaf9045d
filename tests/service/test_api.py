"""The HTTP API through real HTTP: inspect, label, errors, ledger routes, nothing left behind."""

from __future__ import annotations

import hashlib
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from PIL import Image

from aigc_label import api
from aigc_label.cli import cli
from tests.conftest import exiftool_aigc, requires_exiftool
from tests.service.live import PRODUCER, SAMPLE_PNG, SAMPLES, LiveServer


def post_file(
    client: httpx.Client, route: str, data: bytes, name: str = "sample.png", **fields: str
) -> httpx.Response:
    return client.post(route, files={"file": (name, data)}, data=fields)


def cli_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, list(args))
    line: dict[str, Any] = json.loads(result.output.splitlines()[0])
    return line


def cli_error(*args: str) -> str:
    """The one stderr line the CLI prints for a failing command."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code != 0
    assert result.exception is not None
    return str(getattr(result.exception, "message", result.exception))


def test_health_and_openapi(client: httpx.Client) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["auth"] == "open"
    assert health["ledger"] == "sqlite"
    spec = client.get("/openapi.json").json()
    for path in ("/v1/label", "/v1/ingest", "/v1/inspect", "/v1/records/{seq}", "/v1/trace"):
        assert path in spec["paths"]
    # Swagger UI would load assets from a CDN: it is off.
    assert client.get("/docs").status_code == 404


@pytest.mark.parametrize("sample", ["sample.png", "sample.jpg", "sample.gif"])
def test_inspect_is_what_the_cli_prints(client: httpx.Client, tmp_path: Path, sample: str) -> None:
    labeled = tmp_path / sample
    api.label_file(SAMPLES / sample, labeled, api.LabelRequest(producer=PRODUCER))
    got = post_file(client, "/v1/inspect", labeled.read_bytes(), sample)
    assert got.status_code == 200
    expected = cli_json("inspect", "--json", str(labeled))
    expected["path"] = sample
    assert got.json() == expected
    assert got.json()["verdict"] == "compliant"


def test_label_returns_the_labeled_file(client: httpx.Client, tmp_path: Path) -> None:
    original = SAMPLE_PNG.read_bytes()
    got = post_file(client, "/v1/label", original, producer=PRODUCER, produce_id="svc-label-1")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-aigc-format"] == "png"
    assert got.headers["content-disposition"] == 'attachment; filename="sample-labeled.png"'
    header_label = json.loads(got.headers["x-aigc-label"])
    assert header_label["ProduceID"] == "svc-label-1"
    assert header_label["ContentProducer"] == PRODUCER
    out = tmp_path / "out.png"
    out.write_bytes(got.content)
    report = api.inspect_file(out)
    assert report.verdict == "compliant"
    assert report.label is not None
    assert report.label.to_dict() == header_label
    with Image.open(io.BytesIO(original)) as a, Image.open(out) as b:
        assert a.tobytes() == b.tobytes()


@requires_exiftool
def test_labeled_download_reads_in_exiftool(client: httpx.Client, tmp_path: Path) -> None:
    got = post_file(client, "/v1/label", SAMPLE_PNG.read_bytes(), producer=PRODUCER, label="3")
    out = tmp_path / "out.png"
    out.write_bytes(got.content)
    assert exiftool_aigc(out) == got.headers["x-aigc-label"]
    assert json.loads(got.headers["x-aigc-label"])["Label"] == "3"


def test_non_ascii_file_name_is_encoded(client: httpx.Client) -> None:
    got = post_file(client, "/v1/label", SAMPLE_PNG.read_bytes(), "图片 1.png", producer=PRODUCER)
    assert got.status_code == 200
    cd = got.headers["content-disposition"]
    assert "filename*=UTF-8''%E5%9B%BE%E7%89%87%201-labeled.png" in cd


def _truncated_png() -> bytes:
    return SAMPLE_PNG.read_bytes()[:60]


@pytest.mark.parametrize(
    ("route", "data", "name", "fields", "status"),
    [
        ("/v1/inspect", b"\x00\x01 not a known format " * 10, "x.bin", {}, 415),
        ("/v1/inspect", b"", "empty.png", {}, 415),
        ("/v1/label", SAMPLE_PNG.read_bytes(), "a.png", {"producer": "0011BAD"}, 400),
        ("/v1/label", b"plain text\n", "a.txt", {"producer": PRODUCER}, 415),
        (
            "/v1/label",
            SAMPLE_PNG.read_bytes(),
            "a.png",
            {"producer": PRODUCER, "produce_id": "a b"},
            400,
        ),
    ],
)
def test_library_errors_keep_the_cli_code_and_message(
    client: httpx.Client,
    tmp_path: Path,
    route: str,
    data: bytes,
    name: str,
    fields: dict[str, str],
    status: int,
) -> None:
    got = post_file(client, route, data, name, **fields)
    assert got.status_code == status
    body = got.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    src = tmp_path / name
    src.write_bytes(data)
    if route == "/v1/inspect":
        report = api.inspect_file(src)
        assert report.error is not None
        assert body["error"]["code"] == report.error.code
        assert body["error"]["message"] == report.error.message
        return
    args = ["label", str(src), "-o", str(tmp_path / ("out-" + name))]
    for key, value in fields.items():
        args += [f"--{key.replace('_', '-')}", value]
    message = cli_error(*args)
    assert body["error"]["message"] == message


def test_truncated_file_is_a_typed_error(client: httpx.Client) -> None:
    got = post_file(client, "/v1/inspect", _truncated_png())
    assert got.status_code in (415, 422)
    assert got.json()["error"]["code"] in ("truncated", "corrupt_file", "unsupported_format")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        (
            {"content": b"x=1", "headers": {"content-type": "application/x-www-form-urlencoded"}},
            "invalid_request",
        ),
        ({"data": {"producer": PRODUCER}, "files": {"other": ("a", b"x")}}, "invalid_request"),
        ({"files": {"file": ("a.png", SAMPLE_PNG.read_bytes())}}, "invalid_request"),
        (
            {
                "files": {"file": ("a.png", SAMPLE_PNG.read_bytes())},
                "data": {"producer": PRODUCER, "label": "4"},
            },
            "invalid_request",
        ),
        (
            {
                "files": {"file": ("a.png", SAMPLE_PNG.read_bytes())},
                "data": {"producer": PRODUCER, "iptc": "maybe"},
            },
            "invalid_request",
        ),
        (
            {
                "content": b"--b\r\nContent-Disposition: form-data; name=file; "
                b"filename=a\r\n\r\nabc",
                "headers": {"content-type": "multipart/form-data; boundary=b"},
            },
            "invalid_request",
        ),
    ],
)
def test_bad_requests(client: httpx.Client, kwargs: dict[str, Any], code: str) -> None:
    got = client.post("/v1/label", **kwargs)
    assert got.status_code == 400, got.text
    assert got.json()["error"]["code"] == code


def test_framework_errors_are_json_too(client: httpx.Client) -> None:
    assert client.get("/nope").json() == {"error": {"code": "not_found", "message": "Not Found"}}
    got = client.get("/v1/inspect")
    assert got.status_code == 405
    assert got.json()["error"]["code"] == "method_not_allowed"
    got = client.get("/v1/records/abc")
    assert got.status_code == 400
    assert got.json()["error"]["code"] == "invalid_request"


def test_ledger_records_what_the_service_labeled(client: httpx.Client, tmp_path: Path) -> None:
    got = post_file(
        client,
        "/v1/label",
        SAMPLE_PNG.read_bytes(),
        producer=PRODUCER,
        produce_id="svc-ledger-1",
        model="model-7",
    )
    assert got.status_code == 200
    found = client.get("/v1/trace", params={"id": "svc-ledger-1"}).json()
    assert found["source"] == "id"
    (rec,) = found["records"]
    event = rec["event"]
    assert event["kind"] == "generation"
    assert event["produce_id"] == "svc-ledger-1"
    assert event["requester"] == "local"
    assert event["model"] == "model-7"
    assert event["sha256_before"] == hashlib.sha256(SAMPLE_PNG.read_bytes()).hexdigest()
    assert event["sha256_after"] == hashlib.sha256(got.content).hexdigest()
    assert client.get(f"/v1/records/{rec['seq']}").json() == rec
    by_hash = client.get("/v1/trace", params={"id": event["sha256_after"]}).json()
    assert by_hash["source"] == "sha256"
    assert [r["seq"] for r in by_hash["records"]] == [rec["seq"]]
    by_file = post_file(client, "/v1/trace", got.content, "copy.png").json()
    assert by_file["query"] == "copy.png"
    assert by_file["source"] == "file"
    assert [r["seq"] for r in by_file["records"]] == [rec["seq"]]
    missing = client.get("/v1/records/999999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_trace_never_reads_server_files(client: httpx.Client) -> None:
    found = client.get("/v1/trace", params={"id": str(SAMPLE_PNG)}).json()
    assert found["source"] == "id"
    assert found["records"] == []


def test_ingest_without_platform_package_is_501(client: httpx.Client, server: LiveServer) -> None:
    if server.app.state.backends.platform is not None:
        pytest.skip("platform ingest is installed: see test_ingest")
    got = post_file(client, "/v1/ingest", SAMPLE_PNG.read_bytes(), platform=PRODUCER)
    assert got.status_code == 501
    assert got.json()["error"]["code"] == "not_available"


def test_parallel_requests(client: httpx.Client, server: LiveServer) -> None:
    data = SAMPLE_PNG.read_bytes()

    def one(i: int) -> int:
        with server.client() as c:
            if i % 2:
                return post_file(c, "/v1/inspect", data).status_code
            return post_file(c, "/v1/label", data, producer=PRODUCER).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(12))) == {200}


def test_nothing_left_in_the_spool(client: httpx.Client, server: LiveServer) -> None:
    data = SAMPLE_PNG.read_bytes()
    assert post_file(client, "/v1/label", data, producer=PRODUCER).status_code == 200
    assert post_file(client, "/v1/label", data, producer="0011BAD").status_code == 400
    assert post_file(client, "/v1/inspect", b"\x00\x01" * 100, "x.bin").status_code == 415
    assert post_file(client, "/v1/inspect", data).status_code == 200
    spool = Path(str(server.settings.upload_dir))
    assert list(spool.iterdir()) == []


def test_page_loads_nothing_from_elsewhere(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs
    for ref in refs:
        assert ref.startswith(("/static/", "/openapi.json", "#", "data:")), ref
        if ref.startswith("/static/"):
            assert client.get(ref).status_code == 200
    js = client.get("/static/app.js").text
    assert "http://" not in js
    assert "https://" not in js
