"""The Morse rhythm detector on sox-made audio, through the shared explicit.morse detector."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aigc_label.detect import audio
from aigc_label.detect.audio import MorseDetector
from tests.detect.helpers import detect, fired
from tests.platform import corpus

pytestmark = [
    pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed"),
    pytest.mark.skipif(
        MorseDetector().missing() is not None, reason="PyAV or explicit.morse missing"
    ),
]


def test_rhythm_at_start(tmp_path: Path) -> None:
    (ev,) = fired(detect(MorseDetector(), corpus.morse_wav(tmp_path)))
    assert ev.data["position"] == "start"


def test_rhythm_at_end_of_long_audio(tmp_path: Path) -> None:
    rhythm = corpus.morse_wav(tmp_path)
    music = tmp_path / "long_music.wav"
    corpus._sox("-n -r 16000 -b 16 -c 1", music, "synth 20 pluck E3 vol 0.3")
    path = tmp_path / "ends_with_rhythm.wav"
    corpus._sox(music, rhythm, path)
    (ev,) = fired(detect(MorseDetector(), path))
    assert ev.data["position"] == "end"


def test_unavailable_without_the_shared_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audio, "MORSE_MODULE", "aigc_label.explicit.no_such_module")
    assert "not available" in (MorseDetector().missing() or "")
