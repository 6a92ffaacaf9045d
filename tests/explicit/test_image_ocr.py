"""Legibility checked by an independent offline OCR (RapidOCR ships its ONNX models).

One small picture per background, the label at a different corner or edge on
each, so every background and every corner is read once (OCR is slow on 2 cores).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from aigc_label.explicit import check_wording
from aigc_label.explicit.base import Style
from aigc_label.explicit.image import LabelRenderer
from tests.explicit.imaging import background, measured_ink_height

rapidocr = pytest.importorskip(
    "rapidocr_onnxruntime", reason="rapidocr_onnxruntime not installed (test extra)"
)

CASES: list[tuple[str, str, str, Style]] = [
    ("white", "top-left", "AI生成", "plate"),
    ("black", "top-right", "AI生成", "plate"),
    ("grey", "bottom-left", "本内容由人工智能生成", "plate"),
    ("noisy", "bottom-right", "AI生成", "plate"),
    ("noisy", "top", "本内容由人工智能生成", "outline"),
]


@pytest.fixture(scope="module")
def ocr() -> Any:
    # native resolution (the default upscales to 736 px) and no angle classifier: labels
    # are upright; this is 4x faster and reads no more than a viewer sees
    return rapidocr.RapidOCR(det_limit_side_len=320, use_cls=False)


@pytest.mark.parametrize(("kind", "position", "text", "style"), CASES)
def test_ocr_reads_label(ocr: Any, kind: str, position: str, text: str, style: Style) -> None:
    before = background(kind, (320, 240))
    after, report = LabelRenderer(text, position, style=style).apply(before)
    if style == "plate":
        assert measured_ink_height(before, after) >= 0.05 * 240
    result, _ = ocr(np.asarray(after))
    found = "".join(line[1] for line in result or [])
    check = check_wording(found)
    assert check.ok, (found, report)
    assert text in found
    # the label sits where it was asked to: the OCR box centre is in that part of the picture
    box = next(line[0] for line in result if text in line[1])
    cx, cy = sum(p[0] for p in box) / 4, sum(p[1] for p in box) / 4
    if "left" in position:
        assert cx < 160
    if "right" in position:
        assert cx > 160
    if position.startswith("top"):
        assert cy < 120
    if position.startswith("bottom"):
        assert cy > 120
