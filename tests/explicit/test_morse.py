"""The Morse rhythm "AI" (.- ..): timing, tone, and the detector platform ingest reuses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from aigc_label.explicit.morse import MorseSpec, detect_morse_ai, morse_tone
from tests.conftest import have

RATE = 16000


def _noise(seconds: float, level: float, seed: int = 3) -> np.ndarray:
    """Smoothed (red-ish) noise, closer to speech/music than white noise."""
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(0, 1, int(seconds * RATE)))
    x -= np.convolve(x, np.ones(400) / 400, mode="same")
    return level * x / np.sqrt(np.mean(x**2))


def test_default_timing() -> None:
    spec = MorseSpec()
    # dot, gap, dash / letter gap / dot, gap, dot
    assert spec.elements() == [(0, 1), (2, 3), (8, 1), (10, 1)]
    assert spec.units == 11
    assert spec.duration_s == pytest.approx(1.32)
    assert MorseSpec(pattern="... -").elements() == [(0, 1), (2, 1), (4, 1), (8, 3)]
    assert MorseSpec(pattern="./.").elements() == [(0, 1), (8, 1)]


@pytest.mark.parametrize(
    "kwargs",
    [{"freq_hz": 5.0}, {"unit_s": 0.001}, {"pattern": ""}, {"pattern": ".x-"}, {"pattern": " / "}],
)
def test_bad_spec(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is the user's
        MorseSpec(**kwargs)  # type: ignore[arg-type]


def test_tone_shape() -> None:
    spec = MorseSpec()
    x = morse_tone(spec, RATE)
    assert len(x) == round(1.32 * RATE)
    assert np.abs(x).max() <= 1.0
    unit = int(0.12 * RATE)
    # silent between the elements, loud inside them
    assert np.abs(x[unit + 10 : 2 * unit - 10]).max() == 0
    assert np.sqrt(np.mean(x[2 * unit + 100 : 5 * unit - 100] ** 2)) == pytest.approx(
        1 / np.sqrt(2), rel=0.02
    )
    spectrum = np.abs(np.fft.rfft(x))
    assert np.fft.rfftfreq(len(x), 1 / RATE)[spectrum.argmax()] == pytest.approx(800, abs=2)
    # ramps: no click at the edges
    assert abs(x[0]) < 0.01
    assert abs(x[unit - 1]) < 0.2
    with pytest.raises(ValueError):  # noqa: PT011
        morse_tone(MorseSpec(freq_hz=9000), RATE)


@pytest.mark.parametrize("offset", [0.0, 0.437, 3.0])
def test_detects_position(offset: float) -> None:
    tone = 0.3 * morse_tone(MorseSpec(), RATE)
    x = np.concatenate([np.zeros(int(offset * RATE)), tone, np.zeros(RATE)])
    hits = detect_morse_ai(x, RATE)
    assert len(hits) == 1
    assert hits[0].start_s == pytest.approx(offset, abs=0.01)
    assert hits[0].end_s == pytest.approx(offset + 1.32, abs=0.01)
    assert hits[0].confidence > 0.95
    assert hits[0].tonality > 0.95
    assert hits[0].level_dbfs == pytest.approx(20 * np.log10(0.3), abs=0.5)


def test_rhythm_at_the_very_end() -> None:
    tone = morse_tone(MorseSpec(), RATE)
    x = np.concatenate([_noise(2.0, 0.1), tone])
    (hit,) = detect_morse_ai(x, RATE)
    assert hit.start_s == pytest.approx(2.0, abs=0.01)


def test_detects_over_content_and_in_int16_stereo() -> None:
    tone = 0.2 * morse_tone(MorseSpec(), RATE)
    content = _noise(6.0, 0.1)
    content[RATE : RATE + len(tone)] += tone
    content[4 * RATE : 4 * RATE + len(tone)] += tone
    stereo = np.stack([content, content * 0.8], axis=1)
    pcm = np.clip(stereo * 32767, -32768, 32767).astype(np.int16)
    hits = detect_morse_ai(pcm, RATE)
    expected = [pytest.approx(1.0, abs=0.02), pytest.approx(4.0, abs=0.02)]
    assert [round(h.start_s, 2) for h in hits] == expected
    assert all(h.confidence > 0.8 for h in hits)


@pytest.mark.parametrize(
    "signal",
    ["silence", "noise", "steady_tone", "wrong_rhythm", "noise_bursts", "other_frequency"],
)
def test_no_false_hits(signal: str) -> None:
    spec = MorseSpec()
    if signal == "silence":
        x = np.zeros(3 * RATE)
    elif signal == "noise":
        x = np.random.default_rng(1).normal(0, 0.2, 5 * RATE)
    elif signal == "steady_tone":
        x = 0.3 * np.sin(2 * np.pi * 800 * np.arange(3 * RATE) / RATE)
    elif signal == "wrong_rhythm":
        x = morse_tone(MorseSpec(pattern="... ..."), RATE)  # "SS"
    elif signal == "noise_bursts":  # broadband noise switched on and off in the AI rhythm
        gate = np.abs(morse_tone(spec, RATE)) > 0
        gate = np.convolve(gate.astype(float), np.ones(64) / 64, mode="same") > 0.1
        x = np.random.default_rng(2).normal(0, 0.3, len(gate)) * gate
    else:
        x = morse_tone(MorseSpec(freq_hz=1200), RATE)
    assert (
        detect_morse_ai(np.concatenate([np.zeros(RATE // 2), x, np.zeros(RATE // 2)]), RATE) == []
    )


def test_configurable_unit_and_frequency() -> None:
    spec = MorseSpec(freq_hz=1000, unit_s=0.08)
    x = np.concatenate([np.zeros(RATE), 0.5 * morse_tone(spec, RATE), np.zeros(RATE)])
    assert detect_morse_ai(x, RATE) == []  # the default spec does not match
    (hit,) = detect_morse_ai(x, RATE, spec=spec)
    assert hit.start_s == pytest.approx(1.0, abs=0.01)
    assert hit.end_s - hit.start_s == pytest.approx(0.88)


def test_quiet_rhythm_below_floor_is_ignored() -> None:
    x = 10 ** (-70 / 20) * morse_tone(MorseSpec(), RATE)
    assert detect_morse_ai(x, RATE) == []
    assert len(detect_morse_ai(x, RATE, min_level_dbfs=-80)) == 1


def test_bad_shape() -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        detect_morse_ai(np.zeros((2, 2, 2)), RATE)
    assert detect_morse_ai(np.zeros(10), RATE) == []


@pytest.mark.skipif(not have("sox"), reason="sox not installed")
def test_detects_rhythm_made_by_sox(tmp_path: Path) -> None:
    """An independent tool's ".- .." at 800 Hz / 120 ms is found where it starts."""
    parts = []
    for i, (kind, secs) in enumerate(
        [("gap", 0.75), ("tone", 0.12), ("gap", 0.12), ("tone", 0.36), ("gap", 0.36),
         ("tone", 0.12), ("gap", 0.12), ("tone", 0.12), ("gap", 0.5)]
    ):  # fmt: skip
        p = tmp_path / f"{i}.wav"
        synth = ["sine", "800"] if kind == "tone" else ["sine", "0", "vol", "0"]
        cmd = ["sox", "-n", "-r", "22050", "-b", "16", str(p), "synth", str(secs), *synth]
        subprocess.run([*cmd, "vol", "0.5"], check=True)
        parts.append(str(p))
    out = tmp_path / "ai.wav"
    subprocess.run(["sox", *parts, str(out)], check=True)
    import soundfile

    data, rate = soundfile.read(out, dtype="int16")
    (hit,) = detect_morse_ai(data, rate)
    assert hit.start_s == pytest.approx(0.75, abs=0.01)
