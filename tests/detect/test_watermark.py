"""The dwtDct decoder against the real invisible-watermark encoder, PyWavelets and OpenCV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aigc_label.detect.watermark import (
    PAYLOADS,
    WatermarkDetector,
    best_matches,
    chance,
    haar_ll,
    u_plane,
)
from tests.detect.helpers import detect, fired
from tests.platform import corpus

needs_encoder = pytest.mark.skipif(
    corpus.imwatermark_encoder() is None,
    reason="invisible-watermark (pip install --no-deps invisible-watermark) + opencv + PyWavelets",
)
DET = WatermarkDetector()


@needs_encoder
def test_sd_payload_found(tmp_path: Path) -> None:
    (ev,) = fired(detect(DET, corpus.sd_watermark_png(tmp_path)))
    assert ev.detector == "watermark.sd"
    assert ev.data["chance"] < 1e-9


@needs_encoder
def test_sdxl_payload_found_with_diffusers_channel_order(tmp_path: Path) -> None:
    (ev,) = fired(detect(DET, corpus.sdxl_watermark_png(tmp_path)))
    assert ev.detector == "watermark.sdxl"
    assert ev.data["order"] == "rgb"  # diffusers hands RGB to an encoder expecting BGR


@needs_encoder
def test_decoded_bits_equal_the_reference_decoder() -> None:
    import cv2

    embed = corpus.imwatermark_encoder()
    bits = list(PAYLOADS["sdxl"])
    bgr = cv2.cvtColor(np.asarray(corpus.photo(400, 300, 5)), cv2.COLOR_RGB2BGR)
    marked = embed(bits, wmLen=len(bits)).encode(bgr)
    reference = np.array(embed([], wmLen=len(bits)).decode(marked), dtype=int)
    (_, sdxl) = best_matches(cv2.cvtColor(marked, cv2.COLOR_BGR2RGB))
    assert sdxl.matches == int(np.sum(reference == np.array(bits)))


def test_haar_ll_matches_pywavelets() -> None:
    pywt = pytest.importorskip("pywt")
    plane = np.random.default_rng(0).uniform(0, 255, (64, 48))
    expected, _ = pywt.dwt2(plane, "haar")
    np.testing.assert_allclose(haar_ll(plane), expected, atol=1e-9)


def test_u_plane_matches_opencv() -> None:
    cv2 = pytest.importorskip("cv2")
    bgr = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[..., 1].astype(float)
    assert np.max(np.abs(u_plane(bgr) - expected)) <= 1.0


def test_chance() -> None:
    assert chance(48, 48) == pytest.approx(2.0**-48)
    assert chance(0, 48) == pytest.approx(1.0)
    assert chance(103, 136) < 1e-9 < chance(102, 136)


@pytest.mark.parametrize(
    "image",
    [
        corpus.photo(512, 512, 99),
        Image.new("RGB", (512, 512), (255, 0, 0)),
        Image.new("RGB", (512, 512), (128, 128, 128)),
    ],
    ids=["photo", "saturated", "flat"],
)
def test_unmarked_images(tmp_path: Path, image: Image.Image) -> None:
    path = tmp_path / "clean.png"
    image.save(path)
    assert fired(detect(DET, path)) == []


def test_small_images_skipped(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    corpus.photo(200, 200).save(path)
    assert detect(DET, path) is None
