"""The web page end to end in real headless Chromium (Debian's package, driven by Playwright).

The browser loads the page from a live server, gets a real file through the file
input and through a drop, shows what the service says, labels, ingests, downloads,
and switches language. The downloaded file is checked with the library's reader.
Skips, saying why, when Playwright or /usr/bin/chromium is missing.
"""

from __future__ import annotations

import base64
import io
import shutil
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aigc_label import api
from aigc_label.service.settings import parse_api_keys
from tests.service.live import (
    KEY_LINES,
    PLATFORM,
    PRODUCER,
    PROVIDER_KEY,
    SAMPLE_PNG,
    LiveServer,
    server_settings,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)"
)
if not Path(CHROMIUM).exists():
    pytest.skip(
        "no Chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("page")
    policy = tmp / "policy.toml"
    policy.write_text("ocr = false\n")
    with LiveServer(server_settings(tmp, policy_file=str(policy))) as srv:
        yield srv


class Page:
    """A browser tab on the service page that records errors and off-site requests."""

    def __init__(self, context: Any, url: str) -> None:
        self.url = url
        self.page = context.new_page()
        self.page.set_default_timeout(15_000)
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url + "/")
        self.page.wait_for_selector("body[data-ready=true]")

    def text(self, selector: str) -> str:
        return str(self.page.locator(selector).inner_text()).strip()

    def field(self, name: str) -> str:
        return self.text(f"#fields tr[data-field={name}] td")

    def wait_verdict(self, verdict: str) -> None:
        self.page.wait_for_selector(f"#r-verdict[data-verdict={verdict}]")

    def offsite(self) -> list[str]:
        return [u for u in self.requests if not u.startswith((self.url, "blob:", "data:"))]

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def context(browser: Any) -> Iterator[Any]:
    """One browser profile for the module (a fresh profile costs about a second)."""
    ctx = browser.new_context(locale="en-US", accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def tab(context: Any, server: LiveServer) -> Iterator[Page]:
    t = Page(context, server.url)
    yield t
    assert t.errors == []
    assert t.offsite() == []
    t.close()


def test_inspect_label_download_and_switch_language(
    tab: Page, server: LiveServer, tmp_path: Path
) -> None:
    page = tab.page
    assert tab.text("h1") == "AIGC label check"
    page.set_input_files("#file-input", str(SAMPLE_PNG))
    tab.wait_verdict("not_found")
    assert tab.text("#r-format") == "png"
    assert tab.text("#r-file") == "sample.png"
    assert tab.text("#r-verdict") == "No label found"
    assert page.locator("#no-label").is_visible()
    assert page.get_attribute("#prompt", "data-prompt-class") == "none"
    assert page.evaluate("document.querySelector('#preview-media').naturalWidth") > 0

    prompts = server.app.state.backends.prompts()
    page.check("#declared-ai")
    assert page.get_attribute("#prompt", "data-prompt-class") == "possible"
    assert tab.text("#prompt") == prompts["possible"]["en"]
    page.uncheck("#declared-ai")

    page.fill("#producer", PRODUCER)
    page.select_option("#label-value", "1")
    page.fill("#produce-id", "page-1")
    page.click("#label-button")
    tab.wait_verdict("compliant")
    assert tab.text("#r-file") == "sample-labeled.png"
    assert tab.field("ContentProducer") == PRODUCER
    assert tab.field("ProduceID") == "page-1"
    assert tab.field("Label").startswith("1")
    assert page.get_attribute("#prompt", "data-prompt-class") == "confirmed"
    assert tab.text("#prompt") == prompts["confirmed"]["en"]
    assert "TC260:AIGC" in tab.text("#locations")

    with page.expect_download() as dl:
        page.click("#download-link")
    download = dl.value
    assert download.suggested_filename == "sample-labeled.png"
    saved = tmp_path / "download.png"
    download.save_as(saved)
    report = api.inspect_file(saved)
    assert report.verdict == "compliant"
    assert report.label is not None
    assert report.label.ProduceID == "page-1"
    assert report.label.ContentProducer == PRODUCER

    page.click("#lang-toggle")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert tab.text("h1") == "AIGC 标识检查"
    assert tab.text("#r-verdict") == "合规"
    assert tab.text("#prompt") == prompts["confirmed"]["zh"]
    assert tab.text("#label-button") == "添加标识"
    page.click("#lang-toggle")
    assert page.get_attribute("html", "lang") == "en"
    assert tab.text("#r-verdict") == "Compliant"


def test_ingest_as_a_platform(tab: Page, tmp_path: Path) -> None:
    page = tab.page
    page.set_input_files("#file-input", str(SAMPLE_PNG))
    tab.wait_verdict("not_found")
    page.fill("#platform", PLATFORM)
    page.check("#declared-ai")
    page.click("#ingest-button")
    tab.wait_verdict("compliant")
    assert tab.field("ContentPropagator") == PLATFORM
    assert tab.field("Label").startswith("2")
    assert page.get_attribute("#prompt", "data-prompt-class") == "possible"
    with page.expect_download() as dl:
        page.click("#download-link")
    saved = tmp_path / "ingested.png"
    dl.value.save_as(saved)
    report = api.inspect_file(saved)
    assert report.label is not None
    assert report.label.ContentPropagator == PLATFORM


def _wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\1" * 4000)
    return out.getvalue()


def test_drop_an_audio_file(tab: Page) -> None:
    page = tab.page
    data = base64.b64encode(_wav()).decode()
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "tone.wav", { type: "audio/wav" }));
            const zone = document.getElementById("drop-zone");
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true }));
        }""",
        data,
    )
    tab.wait_verdict("not_found")
    assert tab.text("#r-format") == "wav"
    assert page.evaluate("document.querySelector('#preview-media').tagName") == "AUDIO"


def test_unsupported_file_shows_the_error(tab: Page, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02" * 50)
    tab.page.set_input_files("#file-input", str(junk))
    tab.page.wait_for_selector("#error:not([hidden])")
    assert "unsupported_format" in tab.text("#error")
    tab.errors.clear()  # the 415 itself is logged by the browser


def test_keys_and_chinese_by_default(browser: Any, tmp_path: Path) -> None:
    keys = parse_api_keys(KEY_LINES, "test")
    with LiveServer(server_settings(tmp_path, api_keys=keys)) as srv:
        ctx = browser.new_context(locale="zh-CN")
        tab = Page(ctx, srv.url)
        page = tab.page
        assert tab.text("h1") == "AIGC 标识检查"
        assert page.locator("#key-section").is_visible()
        page.set_input_files("#file-input", str(SAMPLE_PNG))
        page.wait_for_selector("#error:not([hidden])")
        assert "需要有效的 API 密钥" in tab.text("#error")
        page.fill("#api-key", PROVIDER_KEY)
        page.set_input_files("#file-input", str(SAMPLE_PNG))
        tab.wait_verdict("not_found")
        assert page.locator("#error").is_hidden()
        assert tab.text("#r-verdict") == "未发现标识"
        assert tab.offsite() == []
        ctx.close()
