"""AI-content detectors for platform ingest (spec section 6), one module per family.

Every detector is registered once in :data:`DETECTORS`, cheapest first; the
platform workflow walks that order and stops as soon as the outcome is
decided. None needs a network or downloads a model; detectors whose optional
packages are missing report "unavailable" instead of failing.

| module | detectors | needs |
|---|---|---|
| label.py | GB 45438 label (any placement the handlers read, broken ones too) | - |
| iptc_c2pa.py | IPTC DigitalSourceType; C2PA manifest actions | c2pa-python (C2PA) |
| generator.py | A1111/Forge, ComfyUI, InvokeAI, NovelAI (+ alpha stealth), Fooocus, |
|  | SwarmUI, FLUX, Midjourney, Suno | Pillow, mutagen, numpy |
| ocr.py | text label phrases; OCR of image edges and first video seconds | rapidocr, PyAV |
| watermark.py | SD 1.x/2.x and SDXL dwtDct invisible watermark | Pillow, numpy |
| audio.py | Morse "short long short short" rhythm | PyAV, explicit.morse |
"""

from __future__ import annotations

from .audio import MorseDetector
from .base import MODALITIES, Detector, Evidence, Subject
from .generator import GeneratorDetector, StealthDetector
from .iptc_c2pa import C2paDetector, IptcDetector
from .label import LabelDetector
from .ocr import ImageOcrDetector, TextPhraseDetector, VideoOcrDetector
from .watermark import WatermarkDetector

DETECTORS: tuple[Detector, ...] = tuple(
    sorted(
        (
            LabelDetector(),
            IptcDetector(),
            C2paDetector(),
            GeneratorDetector(),
            TextPhraseDetector(),
            StealthDetector(),
            WatermarkDetector(),
            MorseDetector(),
            ImageOcrDetector(),
            VideoOcrDetector(),
        ),
        key=lambda d: d.cost,
    )
)
"""Every detector, cheapest first."""

DETECTOR_NAMES: tuple[str, ...] = tuple(dict.fromkeys(d.name for d in DETECTORS))
"""Family names usable in ``Policy.disabled_detectors``."""

__all__ = ["DETECTORS", "DETECTOR_NAMES", "MODALITIES", "Detector", "Evidence", "Subject"]
