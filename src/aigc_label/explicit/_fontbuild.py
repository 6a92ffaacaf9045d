"""Developer tool: rebuild the shipped subset CJK font (not imported at run time).

The image, video and scene labels must render Chinese on a fresh machine
without system fonts, so the package ships a subset of Noto Sans CJK SC Bold
(SIL OFL 1.1, see ``fonts/OFL.txt``): printable ASCII, common CJK and
full-width punctuation, the 3755 level-1 hanzi of GB 2312 (the most common
characters, taken from Python's own ``gb2312`` codec so no data is downloaded)
and every character of the default wordings. ``fonts/<name>.chars.txt`` lists
the covered characters so the renderer can refuse a text it cannot draw
without needing fontTools at run time.

Usage (needs ``pip install fonttools`` and ``apt-get install fonts-noto-cjk``)::

    python -m aigc_label.explicit._fontbuild [/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc]
"""

from __future__ import annotations

import sys
from pathlib import Path

from .wording import DEFAULT_TEXTS

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
"""Debian's fonts-noto-cjk collection; face 2 is Noto Sans CJK SC Bold."""

SC_FACE = 2
OUT_DIR = Path(__file__).parent / "fonts"
FONT_NAME = "NotoSansCJKsc-Bold-subset.otf"
PUNCTUATION = "，。、；：？！“”‘’（）《》【】—…·「」『』〈〉～￥・　"


def covered_characters() -> set[str]:
    """Every character the subset must contain."""
    chars = {chr(c) for c in range(0x20, 0x7F)}
    chars |= set(PUNCTUATION)
    chars |= {chr(c) for c in range(0xFF01, 0xFF5F)}
    for hi in range(0xB0, 0xD8):  # GB 2312 level 1: rows 16-55
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    for text in DEFAULT_TEXTS.values():
        chars |= set(text)
    return chars


def build(source: str = SOURCE) -> Path:
    """Write the subset font and its character list into ``fonts/``."""
    from fontTools import subset  # type: ignore[import-untyped]
    from fontTools.ttLib import TTCollection  # type: ignore[import-untyped]

    chars = covered_characters()
    font = TTCollection(source).fonts[SC_FACE]
    opts = subset.Options()
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.hinting = False
    opts.layout_features = []  # horizontal text only: no vertical/locale alternates (halves size)
    opts.notdef_outline = True
    subsetter = subset.Subsetter(opts)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars))
    subsetter.subset(font)
    out = OUT_DIR / FONT_NAME
    font.save(str(out))
    cmap = font.getBestCmap()
    have = "".join(sorted(chr(c) for c in cmap if chr(c) in chars))
    (OUT_DIR / (FONT_NAME + ".chars.txt")).write_text(have + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    path = build(*sys.argv[1:2])
    print(f"{path}: {path.stat().st_size} bytes")
