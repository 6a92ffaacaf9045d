"""Visible (explicit) labels: phrases in text files, OCR of images and video frames.

- Text, Markdown, HTML: the head and tail lines (where section 2 puts a text
  label) are matched with :mod:`.phrases`; only a bounded window at each end is
  read.
- Images: rapidocr (PaddleOCR models shipped as ONNX inside the package; no
  download, no network) reads the image scaled to ``ocr_max_side`` with its
  centre blanked out: section 2 puts image labels on an edge or corner, so
  only the outer ``ocr_edge_fraction`` band is read, which also keeps body
  text (documents, screenshots) out of the expensive recognition step. The
  angle classifier is off (labels are upright).
- Video: PyAV decodes in-process the first ``video_seconds`` and OCRs
  ``video_frames`` frames spread over them (section 2: the label shows on the
  start frame for >= 2 s).

OCR is the most expensive detector; the workflow runs it last and only when
nothing cheaper decided the outcome.
"""

from __future__ import annotations

import functools
import html
import re
from typing import TYPE_CHECKING, Any

from ..formats._text import detect_bom
from .base import Detector, Evidence, Subject
from .phrases import PhraseMatch, find_phrases, head_tail_lines

if TYPE_CHECKING:
    import numpy as np

    from ..policy import Policy

_HTML_DROP = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]{0,2000}>")
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|h[1-6]|tr|section|footer|header)\b[^>]*>", re.I)


def read_ends(subject: Subject, chars: int) -> str:
    """The first and last ``chars`` characters (about) of a text file, decoded."""
    f = subject.stream()
    head = f.read(chars * 4)
    size = f.seek(0, 2)
    tail = b""
    if size > chars * 8:
        f.seek(size - chars * 4)
        tail = f.read(chars * 4)
    elif size > len(head):
        f.seek(len(head))
        tail = f.read()
    codec, skip = detect_bom(head)
    codec = codec or "utf-8"
    if codec.startswith("utf-16") and len(tail) % 2:
        tail = tail[1:]
    text = head[skip:].decode(codec, errors="ignore")
    if tail:
        sep = "\n" if size > chars * 8 else ""
        text += sep + tail.decode(codec, errors="ignore")
    return text


def visible_text(subject: Subject, raw: str) -> str:
    """What a reader sees: HTML without scripts, styles and tags."""
    if subject.format != "html":
        return raw
    text = _HTML_DROP.sub(" ", raw)
    text = _BLOCK_TAG.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


class TextPhraseDetector(Detector):
    """Label phrases at the start or end of text documents."""

    name = "phrases"
    cost = 15

    def applies(self, subject: Subject, policy: Policy) -> bool:
        return subject.modality == "text"

    def run(self, subject: Subject, policy: Policy) -> list[Evidence]:
        text = visible_text(subject, read_ends(subject, policy.thresholds.text_scan_chars))
        best: PhraseMatch | None = None
        for line in head_tail_lines(text):
            for m in find_phrases(line):
                if best is None or m.confidence > best.confidence:
                    best = m
        if best is None:
            return []
        return [
            Evidence(
                "phrases.text",
                f"text label phrase {best.phrase!r} in line {best.line!r}",
                best.confidence,
                "trace",
            )
        ]


@functools.lru_cache(maxsize=1)
def ocr_engine() -> Any:
    """The rapidocr engine, built once per process (loading the models takes ~1 s).

    Its text detector upscales every image to a shortest side of 736 px by
    default; limiting the longest side instead lets ``ocr_max_side`` decide
    the cost (labels are >= 5 % of the shortest side, large enough at 640 px).
    """
    from rapidocr_onnxruntime import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
        RapidOCR,
    )

    return RapidOCR(det_limit_side_len=2000, det_limit_type="max")


def ocr_labels(rgb: np.ndarray[Any, Any], policy: Policy, where: str) -> list[Evidence]:
    """OCR one RGB frame; evidence for each label phrase, edge boxes first."""
    import numpy as np
    from PIL import Image

    t = policy.thresholds
    h, w = rgb.shape[:2]
    scale = min(1.0, t.ocr_max_side / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
    sh, sw = rgb.shape[:2]
    f = t.ocr_edge_fraction
    edges = np.array(rgb, copy=True)
    y0c, y1c, x0c, x1c = round(sh * f), round(sh * (1 - f)), round(sw * f), round(sw * (1 - f))
    if y1c > y0c and x1c > x0c:
        edges[y0c:y1c, x0c:x1c] = edges.reshape(-1, edges.shape[-1]).mean(axis=0).astype(np.uint8)
    result, _ = ocr_engine()(edges, use_cls=False)
    found: list[Evidence] = []
    for box, text, score in result or []:
        score = float(score)
        if score < t.ocr_min_score:
            continue
        xs = [p[0] / sw for p in box]
        ys = [p[1] / sh for p in box]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        for m in find_phrases(str(text), ocr=True):
            height = (y1 - y0) * sh / min(sh, sw)
            found.append(
                Evidence(
                    "ocr." + where.split()[0],
                    f"visible label {m.phrase!r} ({text!r}) at the edge of {where}",
                    0.9 * score,
                    "trace",
                    data={
                        "text": str(text),
                        "box": [round(v, 3) for v in (x0, y0, x1, y1)],
                        "height_ratio": round(height, 3),
                        "ocr_score": round(score, 3),
                    },
                )
            )
    return sorted(found, key=lambda e: -e.confidence)


class ImageOcrDetector(Detector):
    """Visible labels on image edges and corners, read by offline OCR."""

    name = "ocr"
    cost = 100
    modules = ("rapidocr_onnxruntime", "PIL", "numpy")

    def applies(self, subject: Subject, policy: Policy) -> bool:
        return policy.ocr and subject.modality == "image"

    def run(self, subject: Subject, policy: Policy) -> list[Evidence]:
        rgb = subject.pixels("RGB", policy.thresholds.ocr_max_pixels)
        if rgb is None:
            return []
        return ocr_labels(rgb, policy, "image")


def video_frames(subject: Subject, seconds: float, count: int, max_pixels: int) -> list[Any]:
    """Up to ``count`` RGB frames spread over the first ``seconds`` of the first video stream."""
    import av

    wanted = [seconds * i / max(1, count) for i in range(count)]
    frames: list[Any] = []
    with av.open(subject.stream(), mode="r") as container:
        if not container.streams.video:
            return []
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for decoded, frame in enumerate(container.decode(stream), 1):
            t = float(frame.time) if frame.time is not None else 0.0
            if t > seconds or decoded > 2000 or not wanted:
                break
            if t + 1e-6 >= wanted[0]:
                while wanted and t + 1e-6 >= wanted[0]:
                    wanted.pop(0)
                if frame.width * frame.height <= max_pixels:
                    frames.append(frame.to_ndarray(format="rgb24"))
    return frames


class VideoOcrDetector(Detector):
    """Visible labels in the first seconds of a video, read by offline OCR."""

    name = "ocr"
    cost = 200
    modules = ("rapidocr_onnxruntime", "av", "numpy", "PIL")

    def applies(self, subject: Subject, policy: Policy) -> bool:
        return policy.ocr and subject.modality == "video"

    def run(self, subject: Subject, policy: Policy) -> list[Evidence]:
        import av

        t = policy.thresholds
        try:
            frames = video_frames(subject, t.video_seconds, t.video_frames, t.ocr_max_pixels)
        except (av.FFmpegError, ValueError, OSError) as e:
            return [
                Evidence("ocr.video", f"cannot decode video frames: {e}", 0.0, "trace", "error")
            ]
        best: list[Evidence] = []
        for i, rgb in enumerate(frames):
            found = ocr_labels(rgb, policy, f"video frame {i + 1}/{len(frames)}")
            if found and found[0].confidence >= t.min_confidence:
                return found[:1]
            best.extend(found[:1])
        return sorted(best, key=lambda e: -e.confidence)[:1]
