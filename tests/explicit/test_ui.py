"""Interface prompt: the server-side helper, the shipped assets, and the element in a browser."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import html5lib
import pytest

from aigc_label.errors import InvalidExplicitLabelError
from aigc_label.explicit.ui import render_ui_prompt, ui_asset

UI = Path(__file__).parents[2] / "src" / "aigc_label" / "explicit" / "ui"


def _element(markup: str) -> Any:
    doc = html5lib.parse(markup, namespaceHTMLElements=False)
    return next(doc.iter("aigc-label"))


def test_render_default() -> None:
    el = _element(render_ui_prompt())
    assert el.get("position") == "top"
    assert el.get("persistent") == ""
    assert el.get("role") == "note"
    assert "".join(el.itertext()) == "本内容由人工智能生成"
    assert el.get("text") == "本内容由人工智能生成"


def test_render_options_and_escaping() -> None:
    markup = render_ui_prompt('"<b>AI生成</b>"', position="inline", persistent=False)
    assert "<b>" not in markup
    el = _element(markup)
    assert "".join(el.itertext()) == '"<b>AI生成</b>"'
    assert el.get("persistent") is None
    en = _element(render_ui_prompt(lang="en", position="bottom"))
    assert en.get("lang") == "en"
    assert "AI-generated" in "".join(en.itertext())
    styled = render_ui_prompt(include_style=True)
    assert styled.startswith('<style id="aigc-label-style">')


def test_render_refuses_bad_input() -> None:
    with pytest.raises(InvalidExplicitLabelError):
        render_ui_prompt("智能生成")
    with pytest.raises(InvalidExplicitLabelError, match="top, bottom, inline, overlay"):
        render_ui_prompt(position="left")


def test_js_embeds_the_stylesheet() -> None:
    js, css = ui_asset("aigc-label.js"), ui_asset("aigc-label.css")
    m = re.search(r"const CSS = `(.*?)`;", js, re.S)
    assert m is not None
    assert m.group(1).strip() == css.strip()
    with pytest.raises(KeyError):
        ui_asset("../x")


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is not installed"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield browser.new_page()
        browser.close()


def test_demo_page_in_browser(page: Any) -> None:
    page.goto((UI / "demo.html").as_uri())
    page.wait_for_function("customElements.get('aigc-label') !== undefined")
    texts = page.eval_on_selector_all(
        "aigc-label", "els => els.map(e => [e.id, e.textContent, e.offsetHeight > 0])"
    )
    got = {i: (t, shown) for i, t, shown in texts}
    assert got["top"] == ("本内容由人工智能生成", True)
    assert got["inline"] == ("AI生成", True)
    assert got["inline-en"] == ("This content is AI-generated", True)
    assert got["bottom"] == ("本对话内容由人工智能生成", True)
    assert got["overlay"] == ("AI合成", True)
    assert got["dismissable"][0].startswith("This content is AI-generated")
    # persistent: hiding is undone; not persistent: the dismiss button hides it
    page.eval_on_selector("#top", "e => e.setAttribute('hidden', '')")
    assert page.eval_on_selector("#top", "e => e.offsetHeight > 0")
    page.click("#dismissable .aigc-label__dismiss")
    assert page.eval_on_selector("#dismissable", "e => e.offsetHeight") == 0
    top = page.eval_on_selector("#top", "e => getComputedStyle(e).position")
    assert top == "sticky"


def test_server_markup_upgrades_in_browser(page: Any, tmp_path: Path) -> None:
    js = (UI / "aigc-label.js").as_uri()
    bad = '<aigc-label id="bad" text="no label words" lang="en" position="inline"></aigc-label>'
    html = (
        f'<!doctype html><meta charset="utf-8"><body>{render_ui_prompt("豆包AI生成")}'
        f'{bad}<script src="{js}"></script></body>'
    )
    path = tmp_path / "p.html"
    path.write_text(html, encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_function("customElements.get('aigc-label') !== undefined")
    texts = page.eval_on_selector_all(
        "aigc-label .aigc-label__text", "els => els.map(e => e.textContent)"
    )
    assert texts == ["豆包AI生成", "This content is AI-generated"]  # bad words: the default
    assert page.evaluate("!!document.getElementById('aigc-label-style')")
