"""The negative ingest corpus and the per-detector recall / false-positive table.

Negatives are ordinary uploads made by real tools (Pillow photos with camera
EXIF, UI screenshots, scanned-looking documents, espeak-ng speech, sox music
and beeps, news text that mentions 人工智能大会, an ffmpeg video): none may come
out ``suspected``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from aigc_label import api
from aigc_label.platform import IngestResult
from aigc_label.policy import Policy
from tests.platform.corpus import _ffmpeg, _jpeg_exif, _sox, cjk_font, photo

CAMERAS = (
    ("Canon", "Canon EOS R5", "Adobe Photoshop Lightroom Classic 13.0 (Windows)"),
    ("NIKON CORPORATION", "NIKON Z 6_2", "Ver.1.60"),
    ("Apple", "iPhone 15 Pro", "17.5.1"),
    ("SONY", "ILCE-7M4", "ILCE-7M4 v2.01"),
)


def camera_photos(d: Path) -> list[Path]:
    out = []
    for i, (make, model, software) in enumerate(CAMERAS):
        im = photo(640 + 64 * i, 480, 100 + i)
        ifd0 = {0x010F: make, 0x0110: model, 0x0131: software, 0x0132: "2025:06:01 10:00:00"}
        out.append(_jpeg_exif(d, f"camera{i}.jpg", im, ifd0))
    png = d / "camera_png.png"
    photo(600, 400, 110).save(png)
    out.append(png)
    return out


SCREEN_TEXTS = (
    ("设置", "通知", "隐私与安全", "人工智能大会 报名入口"),
    ("Settings", "Notifications", "Generate report", "AI conference 2025"),
)


def screenshots(d: Path) -> list[Path]:
    out = []
    for i, rows in enumerate(SCREEN_TEXTS):
        im = Image.new("RGB", (720, 1280) if i == 0 else (1280, 720), (245, 245, 247))
        draw = ImageDraw.Draw(im)
        font = cjk_font(34)
        draw.rectangle((0, 0, im.width, 90), fill=(30, 30, 30))
        draw.text((24, 24), "12:30  5G  87%", font=font, fill=(255, 255, 255))
        for j, text in enumerate(rows):
            top = 140 + j * 120
            draw.rounded_rectangle((24, top, im.width - 24, top + 96), 16, fill=(255, 255, 255))
            draw.text((48, top + 26), text, font=font, fill=(20, 20, 20))
        path = d / f"screenshot{i}.png"
        if i == 1:  # a window capture: RGBA with transparent rounded corners
            mask = Image.new("L", im.size, 0)
            ImageDraw.Draw(mask).rounded_rectangle((0, 0, *im.size), 24, fill=255)
            im = im.convert("RGBA")
            im.putalpha(mask)
        im.save(path)
        out.append(path)
    return out


SCAN_LINES = (
    "关于召开2025世界人工智能大会的通知",
    "各有关单位：",
    "根据《生成式人工智能服务管理暂行办法》要求，",
    "现将会议议程和报名事项通知如下。",
    "一、会议时间：2025年7月26日",
    "二、会议地点：上海世博中心",
    "三、联系人：王先生",
    "办公室  2025年6月1日",
)


def scanned_documents(d: Path) -> list[Path]:
    out = []
    for i in range(2):
        page = Image.new("L", (827, 1169), 250)  # A4 at 100 dpi
        draw = ImageDraw.Draw(page)
        font = cjk_font(27)
        for j, line in enumerate(SCAN_LINES):
            draw.text((80, 110 + j * 72), line, font=font, fill=25)
        page = page.rotate(0.6 if i else -0.4, fillcolor=250, resample=Image.Resampling.BILINEAR)
        page = page.filter(ImageFilter.GaussianBlur(0.6))
        noise = np.random.default_rng(i).integers(-4, 5, page.size[::-1])
        arr = np.asarray(page).astype(np.int16) + noise
        scan = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB")
        path = d / (f"scan{i}.jpg" if i else f"scan{i}.png")
        scan.save(path, **({"quality": 85} if i else {}))
        out.append(path)
    return out


def speech_and_music(d: Path) -> list[Path]:
    out = []
    speech = d / "speech_zh.wav"
    words = "今天天气很好，我们欢迎各位参加人工智能大会。"
    subprocess.run(["espeak-ng", "-v", "cmn", "-w", speech, words], check=True, capture_output=True)
    out.append(speech)
    speech_en = d / "speech_en.wav"
    words = "Welcome to the morning news. The weather is fine."
    subprocess.run(
        ["espeak-ng", "-v", "en", "-w", speech_en, words], check=True, capture_output=True
    )
    out.append(speech_en)
    music = d / "music.wav"
    _sox("-n -r 44100 -b 16 -c 2", music, "synth 3 pluck C4 pluck E4 fade 0.1 3 0.5")
    out.append(music)
    mp3 = d / "music.mp3"
    tags = ["-metadata", "title=Morning", "-metadata", "artist=Local Band"]
    _ffmpeg("-i", music, "-c:a libmp3lame -b:a 96k -metadata comment=live", tags, mp3)
    out.append(mp3)
    beeps = d / "beeps.wav"  # an ordinary alarm beep pattern: evenly spaced, not the rhythm
    _sox("-n -r 16000 -b 16 -c 1", beeps, "synth 0.3 sine 800 pad 0 0.3 repeat 5")
    out.append(beeps)
    return out


NEWS_TEXT = (
    "2025世界人工智能大会今日在上海开幕。\n"
    "来自全球的专家围绕生成式人工智能的发展展开讨论。\n"
    "会上解读了《人工智能生成合成内容标识办法》的主要条款。\n"
    "多家企业展示了最新的大模型产品。\n"
    "The AI conference drew thousands of visitors this year.\n"
    "记者 张三\n"
)


def texts(d: Path) -> list[Path]:
    news = d / "news.txt"
    news.write_text(NEWS_TEXT, "utf-8")
    md = d / "notes.md"
    md.write_text("# 会议纪要\n\n- 人工智能大会筹备\n- 预算审批\n", "utf-8")
    html = d / "page.html"
    html.write_text(
        "<!doctype html><html><head><title>人工智能大会</title></head>"
        "<body><p>欢迎参加人工智能大会。</p><p>Generative AI panel at 3pm.</p></body></html>",
        "utf-8",
    )
    return [news, md, html]


def ordinary_video(d: Path) -> list[Path]:
    frame = photo(640, 360, 30)
    ImageDraw.Draw(frame).text((16, 300), "第一集", font=cjk_font(36), fill=(255, 255, 255))
    still = d / "_frame_neg.png"
    frame.save(still)
    path = d / "episode.mkv"
    _ffmpeg("-loop 1 -i", still, "-t 3 -r 10 -c:v libx264 -pix_fmt yuv420p", path)
    still.unlink()
    return [path]


NEGATIVES: tuple[Callable[[Path], list[Path]], ...] = (
    camera_photos,
    screenshots,
    scanned_documents,
    speech_and_music,
    texts,
    ordinary_video,
)


def build_negatives(d: Path) -> list[Path]:
    return [p for build in NEGATIVES for p in build(d)]


# --- per-detector recall and false positives ---------------------------------------


def evidence_family(detector: str) -> str:
    """The detector family an evidence name belongs to (stealth reports as generator.*)."""
    return "stealth" if detector == "generator.novelai_stealth" else detector.split(".")[0]


def detector_rows(
    positives: dict[str, list[Path]], negative_results: list[IngestResult], policy: Policy
) -> list[dict[str, Any]]:
    """Recall of each detector family on its own positives, false positives on negatives.

    Positives are run through the family's detectors directly (no early stop).
    Negatives come from full ``ingest_file`` runs: an undecided upload runs
    every applicable detector, so its evidence is each detector's verdict.
    """
    from aigc_label.detect import DETECTORS, Subject

    rows = []
    for family, files in positives.items():
        dets = [d for d in DETECTORS if d.name == family]
        hits = 0
        for path in files:
            with open(path, "rb") as f:
                subject = Subject(str(path), f, api.inspect_stream(f, str(path)))
                found = [
                    e
                    for d in dets
                    if d.applies(subject, policy)
                    for e in d.run(subject, policy)
                    if e.status == "found"
                    and (e.kind == "label" or e.confidence >= policy.thresholds.min_confidence)
                ]
            hits += bool(found)
        checked = [r for r in negative_results if family in r.detectors]
        false = [
            r
            for r in checked
            if any(
                evidence_family(e.detector) == family
                and e.status == "found"
                and e.confidence >= policy.thresholds.min_confidence
                for e in r.evidence
            )
        ]
        rows.append(
            {
                "detector": family,
                "positives": len(files),
                "found": hits,
                "negatives": len(checked),
                "false_positives": len(false),
            }
        )
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = "| detector | positives | found (recall) | negatives checked | false positives |"
    lines = [head, "|---|---|---|---|---|"]
    for r in rows:
        recall = r["found"] / r["positives"] if r["positives"] else 0.0
        lines.append(
            f"| {r['detector']} | {r['positives']} | {r['found']} ({recall:.0%}) | "
            f"{r['negatives']} | {r['false_positives']} |"
        )
    return "\n".join(lines)
