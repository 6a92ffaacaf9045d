"""Audible labels: the Morse rhythm "short long short short" (.- .., "AI") in audio.

Spec section 2 allows an audio label to be that rhythm at the start, end or a
middle position. The rhythm detector itself belongs to the explicit-label
package (``aigc_label.explicit.morse.detect_morse_ai(samples, rate)``, shared
with the code that writes the rhythm); this module only decodes the first and
last ``audio_seconds`` of the first audio stream in-process with PyAV (mono,
float32) and hands each window to it. Without that module the detector stays
registered and reports "unavailable".
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from .base import Detector, Evidence, Subject

if TYPE_CHECKING:
    import numpy as np

    from ..policy import Policy

MORSE_MODULE = "aigc_label.explicit.morse"
"""Where the shared Morse rhythm detector lives."""

MAX_DECODE_SECONDS = 60.0
"""Never decode more than this much audio for one file."""

ANALYSIS_RATE = 16_000
"""Audio is resampled to at most this rate: ample for the 800 Hz default tone, and it
bounds the detector's work on 48 kHz uploads."""

OPEN_OPTIONS = {"probesize": "32768"}
"""Audio headers are small; FFmpeg's default 5 MB probe costs ~10 ms per WAV."""


def _morse() -> Any:
    try:
        if importlib.util.find_spec(MORSE_MODULE) is None:
            return None
    except ModuleNotFoundError:  # aigc_label.explicit itself is missing
        return None
    module = importlib.import_module(MORSE_MODULE)
    return getattr(module, "detect_morse_ai", None)


def _decode(frames: Any, resampler: Any, limit: int) -> np.ndarray[Any, Any]:
    import numpy as np

    chunks: list[np.ndarray[Any, Any]] = []
    total = 0
    for frame in frames:
        for out in resampler.resample(frame):
            data = out.to_ndarray().reshape(-1)
            chunks.append(data)
            total += data.size
        if total >= limit:
            break
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32)


def audio_ends(subject: Subject, seconds: float) -> tuple[list[np.ndarray[Any, Any]], int]:
    """Mono float32 sample windows at the start and at the end, and the sample rate."""
    import av

    def open_stream() -> tuple[Any, Any]:
        container = av.open(subject.stream(), mode="r", options=OPEN_OPTIONS)
        if not container.streams.audio:
            container.close()
            raise ValueError("no audio stream")
        return container, container.streams.audio[0]

    container, stream = open_stream()
    with container:
        native = int(stream.rate or stream.codec_context.sample_rate or 0)
        if native <= 0:
            raise ValueError("unknown sample rate")
        rate = min(native, ANALYSIS_RATE)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        duration = float(container.duration / 1_000_000) if container.duration else None
        whole = duration is None or duration <= 2 * seconds
        limit = int(rate * (min(MAX_DECODE_SECONDS, 2 * seconds + 1) if whole else seconds))
        head = _decode(container.decode(stream), resampler, limit)
    if whole or duration is None:
        n = int(seconds * rate)
        return ([head[:n], head[-n:]] if head.size > n else [head]), rate
    container, stream = open_stream()
    with container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        container.seek(int(max(0.0, duration - seconds - 0.5) * 1_000_000))
        tail = _decode(container.decode(stream), resampler, int(rate * (seconds + 1)))
    return [head, tail[-int(seconds * rate) :]], rate


def _verdict(hits: Any) -> tuple[bool, float]:
    """``detect_morse_ai`` returns hits (objects with ``confidence``) in time order."""
    if not hits:
        return False, 0.0
    best = max(float(getattr(h, "confidence", 0.8)) for h in hits)
    return True, best


class MorseDetector(Detector):
    """The "short long short short" rhythm at the start or end of audio."""

    name = "morse"
    cost = 60
    modules = ("av", "numpy")

    def applies(self, subject: Subject, policy: Policy) -> bool:
        return subject.modality == "audio"

    def missing(self) -> str | None:
        base = super().missing()
        if base is not None:
            return base
        if _morse() is None:
            return f"{MORSE_MODULE}.detect_morse_ai is not available in this build"
        return None

    def run(self, subject: Subject, policy: Policy) -> list[Evidence]:
        import av

        detect = _morse()
        try:
            windows, rate = audio_ends(subject, policy.thresholds.audio_seconds)
        except (av.FFmpegError, ValueError, OSError) as e:
            return [Evidence("morse.audio", f"cannot decode audio: {e}", 0.0, "trace", "error")]
        names = ("start", "end")
        for name, samples in zip(names, windows, strict=False):
            if samples.size == 0:
                continue
            found, conf = _verdict(detect(samples, rate))
            if found:
                return [
                    Evidence(
                        "morse.audio",
                        f'Morse rhythm ".- .." ("AI") at the {name} of the audio',
                        conf,
                        "trace",
                        data={"position": name},
                    )
                ]
        return []
