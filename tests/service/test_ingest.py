"""POST /v1/ingest over real HTTP: the platform library's classes, prompts and labels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigc_label import api
from tests.service.live import PLATFORM, PRODUCER, SAMPLE_PNG, LiveServer, server_settings

pytest.importorskip("aigc_label.platform", reason="platform ingest is not installed")

POLICY = """
ocr = false   # OCR loads a model: seconds per test, and the sample has no text
[prompts.suspected]
en = "Maybe AI: look twice"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("ingest")
    policy = tmp / "policy.toml"
    policy.write_text(POLICY)
    with LiveServer(server_settings(tmp, policy_file=str(policy))) as srv:
        yield srv


def ingest(client: httpx.Client, data: bytes, **fields: str) -> httpx.Response:
    return client.post("/v1/ingest", files={"file": ("up.png", data)}, data=fields)


def summary(got: httpx.Response) -> dict[str, Any]:
    assert got.status_code == 200, got.text
    result: dict[str, Any] = json.loads(got.headers["x-aigc-ingest"])
    return result


def test_labeled_upload_is_confirmed_and_relabeled(client: httpx.Client, tmp_path: Path) -> None:
    labeled = tmp_path / "in.png"
    api.label_file(SAMPLE_PNG, labeled, api.LabelRequest(producer=PRODUCER, produce_id="ing-1"))
    got = ingest(client, labeled.read_bytes(), platform=PLATFORM)
    info = summary(got)
    assert info["class"] == "confirmed"
    assert info["prompt"] == "作品含AI生成内容"
    assert info["input"] == "up.png"
    assert info["output"] is None
    out = tmp_path / "out.png"
    out.write_bytes(got.content)
    report = api.inspect_file(out)
    assert report.label is not None
    assert report.label.ProduceID == "ing-1"
    assert report.label.ContentProducer == PRODUCER
    assert report.label.ContentPropagator == PLATFORM
    assert report.label.to_json() == got.headers["x-aigc-label"]
    records = client.get("/v1/trace", params={"id": "ing-1"}).json()["records"]
    kinds = [r["event"]["kind"] for r in records]
    assert kinds == ["propagation"]
    assert records[0]["event"]["extra"] == {"class": "confirmed", "declared": False}
    assert records[0]["event"]["requester"] == "local"


def test_declared_upload_is_possible(client: httpx.Client, tmp_path: Path) -> None:
    got = ingest(
        client, SAMPLE_PNG.read_bytes(), platform=PLATFORM, declared_ai="true", language="en"
    )
    info = summary(got)
    assert info["class"] == "possible"
    assert info["prompt"] == client.get("/v1/prompts").json()["possible"]["en"]
    out = tmp_path / "out.png"
    out.write_bytes(got.content)
    report = api.inspect_file(out)
    assert report.label is not None
    assert report.label.Label == "2"


def test_bad_platform_code_is_the_library_error(client: httpx.Client) -> None:
    got = ingest(client, SAMPLE_PNG.read_bytes(), platform="0011BAD")
    assert got.status_code == 400
    assert got.json()["error"]["code"] == "invalid_producer_code"


def test_bad_language(client: httpx.Client) -> None:
    got = ingest(client, SAMPLE_PNG.read_bytes(), platform=PLATFORM, language="fr")
    assert got.status_code == 400
    assert got.json()["error"]["code"] == "invalid_request"


def test_prompts_come_from_the_policy(client: httpx.Client, server: LiveServer) -> None:
    from aigc_label.policy import DEFAULT_PROMPTS

    prompts = client.get("/v1/prompts").json()
    for cls in ("confirmed", "possible"):
        assert prompts[cls] == dict(DEFAULT_PROMPTS[cls])
    assert prompts["suspected"] == {
        "zh": DEFAULT_PROMPTS["suspected"]["zh"],
        "en": "Maybe AI: look twice",
    }
    assert server.app.state.backends.platform is not None


def test_nothing_found_is_an_unchanged_copy(client: httpx.Client) -> None:
    data = SAMPLE_PNG.read_bytes()
    got = ingest(client, data, platform=PLATFORM)
    info = summary(got)
    if info["class"] != "none":
        pytest.skip(f"a detector found {info['class']} traces in the sample")
    assert got.content == data
    assert "x-aigc-label" not in got.headers
    assert info["prompt"] is None
