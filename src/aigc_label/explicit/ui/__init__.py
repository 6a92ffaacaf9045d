"""Interface prompt (GB 45438 section 2, Interactive interface): ``<aigc-label>``.

``aigc-label.js`` is a dependency-free custom element that shows a persistent
prompt near content or at the top/bottom of a chat UI; ``aigc-label.css`` styles
it; ``demo.html`` shows every position. :func:`render_ui_prompt` renders the
same element on the server, with its text already inside, so the prompt shows
before (or without) the script; the script then upgrades it in place.
"""

from __future__ import annotations

import html
from importlib import resources

from ..wording import UI_POSITIONS, Lang, require_position, resolve_text

ASSETS = ("aigc-label.js", "aigc-label.css", "demo.html")
"""Files shipped in this package, for a web server to expose."""

DEFAULT_POSITION = "top"


def ui_asset(name: str) -> str:
    """The text of a shipped asset (``aigc-label.js``, ``aigc-label.css``, ``demo.html``)."""
    if name not in ASSETS:
        raise KeyError(name)
    return (resources.files(__package__) / name).read_text(encoding="utf-8")


def render_ui_prompt(
    text: str | None = None,
    *,
    lang: Lang = "zh",
    position: str = DEFAULT_POSITION,
    persistent: bool = True,
    include_style: bool = False,
) -> str:
    """``<aigc-label>`` markup for server-side rendering (the text is validated).

    Args:
        text: the prompt; None means the default for ``lang``.
        lang: ``zh`` or ``en``.
        position: ``top``, ``bottom``, ``inline`` or ``overlay``.
        persistent: no dismiss button; the element cannot be hidden.
        include_style: prepend the stylesheet (``<style id="aigc-label-style">``), for
            pages that do not link ``aigc-label.css``.
    """
    pos = require_position(position, UI_POSITIONS, DEFAULT_POSITION, "interfaces")
    label = resolve_text(text, lang)
    attrs = [
        f'text="{html.escape(label)}"',
        f'lang="{lang}"',
        f'position="{pos}"',
        *(["persistent"] if persistent else []),
        'role="note"',
        f'aria-label="{html.escape(label)}"',
    ]
    element = (
        f'<aigc-label {" ".join(attrs)}><span class="aigc-label__text">'
        f"{html.escape(label)}</span></aigc-label>"
    )
    if include_style:
        css = ui_asset("aigc-label.css")
        return f'<style id="aigc-label-style">\n{css}</style>\n{element}'
    return element


__all__ = ["ASSETS", "render_ui_prompt", "ui_asset"]
