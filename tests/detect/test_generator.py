"""Generator metadata rules on files laid out the way each generator writes them."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aigc_label.detect.generator import GeneratorDetector, StealthDetector, read_stealth
from tests.conftest import requires_ffmpeg
from tests.detect.helpers import detect, fired
from tests.platform import corpus

GEN = GeneratorDetector()

IMAGE_CASES: list[tuple[Callable[[Path], Path], str]] = [
    (corpus.a1111_png, "generator.a1111"),
    (corpus.forge_png, "generator.a1111"),
    (corpus.a1111_jpeg, "generator.a1111"),
    (corpus.comfyui_png, "generator.comfyui"),
    (corpus.comfyui_webp, "generator.comfyui"),
    (corpus.invokeai_png, "generator.invokeai"),
    (corpus.novelai_png, "generator.novelai"),
    (corpus.fooocus_png, "generator.fooocus"),
    (corpus.swarmui_png, "generator.swarmui"),
    (corpus.flux_jpeg, "generator.flux"),
    (corpus.midjourney_png, "generator.midjourney"),
]


@pytest.mark.parametrize(("build", "name"), IMAGE_CASES, ids=[b.__name__ for b, _ in IMAGE_CASES])
def test_generator_found(tmp_path: Path, build: Callable[[Path], Path], name: str) -> None:
    evidence = fired(detect(GEN, build(tmp_path)))
    assert evidence, "nothing found"
    assert evidence[0].detector == name


def test_forge_is_named(tmp_path: Path) -> None:
    (ev,) = fired(detect(GEN, corpus.forge_png(tmp_path)))
    assert ev.data["tool"] == "Forge"


@requires_ffmpeg
def test_suno_comment(tmp_path: Path) -> None:
    (ev,) = fired(detect(GEN, corpus.suno_mp3(tmp_path)))
    assert ev.detector == "generator.suno"


def test_ordinary_text_chunks_are_not_a_generator(tmp_path: Path) -> None:
    texts = {
        "parameters": "exposure 1/250, f/8",
        "prompt": "not json",
        "Software": "GIMP 2.10",
        "Comment": '{"author": "me"}',
        "Description": "Job interview photo",
    }
    path = corpus._png(tmp_path, "plain.png", corpus.photo(64, 64), texts)
    assert fired(detect(GEN, path)) == []


def test_stealth_alpha(tmp_path: Path) -> None:
    (ev,) = fired(detect(StealthDetector(), corpus.novelai_stealth_png(tmp_path)))
    assert ev.detector == "generator.novelai_stealth"
    assert "NovelAI" in ev.detail


def test_stealth_plain_payload_roundtrip() -> None:
    payload = json.dumps({"parameters": "x"}).encode()
    im = corpus.inject_stealth(corpus.photo(40, 200), payload, b"stealth_pnginfo")
    found = read_stealth(np.asarray(im)[..., 3], 1 << 20)
    assert found == ("stealth_pnginfo", {"parameters": "x"})


def test_stealth_gzip_bomb_is_bounded() -> None:
    payload = gzip.compress(b"{" + b" " * 5_000_000 + b"}")
    im = corpus.inject_stealth(corpus.photo(600, 600), payload)
    magic, meta = read_stealth(np.asarray(im)[..., 3], 1024) or ("", {})
    assert magic == "stealth_pngcomp"
    assert meta is None  # cut at 1 KiB: not parsed, but the magic alone is evidence


def test_opaque_rgba_has_no_stealth(tmp_path: Path) -> None:
    path = tmp_path / "rgba.png"
    corpus.photo(200, 200).convert("RGBA").save(path)
    assert detect(StealthDetector(), path) == []


def test_rgb_png_skips_stealth(tmp_path: Path) -> None:
    path = tmp_path / "rgb.png"
    Image.new("RGB", (64, 64)).save(path)
    assert detect(StealthDetector(), path) is None
