"""The audio rhythm label "short long short short" (Morse ``.- ..`` = "AI"): tone and detector.

Spec section 2 (audio) allows a rhythm instead of a voice prompt but fixes
neither tone, unit length nor loudness (uncertain, project decision): the
defaults are 800 Hz and a 120 ms unit, with the ITU-R M.1677 timing (dot 1
unit, dash 3 units, 1 unit between the elements of a letter, 3 units between
letters), all configurable through :class:`MorseSpec`.

The detector (:func:`detect_morse_ai`) is shared with platform ingest, which
looks for the rhythm at the start and end of uploads. It measures the tone's
amplitude with a single-bin DFT over a sliding window - the value the Goertzel
algorithm computes, obtained here as per-hop complex sums so it vectorises in
numpy and runs in bounded memory - then correlates that envelope with the
expected on/off template (normalised cross-correlation, so the result does not
depend on loudness) and checks that the "on" parts are tonal (the share of the
signal's energy at the tone frequency), which rejects broadband bursts that
happen to follow the rhythm. Written by hand because no maintained Python
package detects a given Morse rhythm; numpy does the arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DOT = "."
DASH = "-"
LETTER_GAP = " "
WORD_GAP = "/"

AI_PATTERN = ".- .."
"""Morse for "AI": short long, short short."""

STEPS_PER_UNIT = 8
"""Envelope hops per Morse unit: the detector's time resolution (15 ms at 120 ms)."""

BLOCK_HOPS = 4096
"""Hops processed per numpy block, which bounds the detector's working memory."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MorseSpec:
    """Tone and timing of a Morse rhythm."""

    freq_hz: float = 800.0
    """Tone frequency."""

    unit_s: float = 0.120
    """Length of a dot; a dash is 3 units, the gap inside a letter 1, between letters 3."""

    pattern: str = AI_PATTERN
    """``.`` dot, ``-`` dash, space between letters, ``/`` between words."""

    ramp_s: float = 0.005
    """Raised-cosine fade at each tone edge, which keeps the rhythm free of clicks."""

    def __post_init__(self) -> None:
        if not (20.0 <= self.freq_hz <= 20000.0):
            msg = f"Morse tone frequency {self.freq_hz} Hz is outside 20-20000 Hz"
            raise ValueError(msg)
        if not (0.02 <= self.unit_s <= 1.0):
            msg = f"Morse unit {self.unit_s} s is outside 0.02-1 s"
            raise ValueError(msg)
        if not self.pattern.strip(" /") or set(self.pattern) - {DOT, DASH, LETTER_GAP, WORD_GAP}:
            msg = f"Morse pattern {self.pattern!r} must use '.', '-', ' ' and '/' only"
            raise ValueError(msg)

    def elements(self) -> list[tuple[int, int]]:
        """The tones as ``(start, length)`` in units from the start of the rhythm."""
        out: list[tuple[int, int]] = []
        t = 0
        prev_tone = False
        for ch in self.pattern.strip(" /"):
            if ch in (DOT, DASH):
                if prev_tone:
                    t += 1
                length = 1 if ch == DOT else 3
                out.append((t, length))
                t += length
                prev_tone = True
            elif prev_tone:
                t += 3 if ch == LETTER_GAP else 7
                prev_tone = False
            else:  # a run of separators: the longer gap wins
                if ch == WORD_GAP:
                    t += 4
        return out

    @property
    def units(self) -> int:
        """Length of the rhythm in units, from the first tone's start to the last one's end."""
        start, length = self.elements()[-1]
        return start + length

    @property
    def duration_s(self) -> float:
        """Length of the rhythm in seconds (1.32 s for the default)."""
        return self.units * self.unit_s


DEFAULT_SPEC = MorseSpec()
"""800 Hz, 120 ms unit, ``.- ..``."""


@dataclass(frozen=True)
class MorseHit:
    """One place where the rhythm was found."""

    start_s: float
    """Start of the first tone, in seconds from the start of the samples passed in."""

    end_s: float
    """End of the last tone."""

    confidence: float
    """Normalised correlation of the tone envelope with the rhythm's template (0..1)."""

    tonality: float
    """Share of the signal's energy at the tone frequency while the tone is on (0..1)."""

    level_dbfs: float
    """Peak amplitude of the tone, in dB relative to full scale."""


def morse_tone(spec: MorseSpec, rate: int) -> FloatArray:
    """The rhythm as mono float64 samples at ``rate`` with a peak of 1.0.

    Args:
        spec: tone and timing.
        rate: sample rate in Hz; must be above twice the tone frequency.

    Returns:
        ``spec.duration_s * rate`` samples (rounded), silent between tones.
    """
    if rate <= 2 * spec.freq_hz:
        msg = f"sample rate {rate} Hz cannot carry a {spec.freq_hz} Hz tone"
        raise ValueError(msg)
    unit = spec.unit_s * rate
    out = np.zeros(round(spec.units * unit))
    ramp_n = max(1, round(spec.ramp_s * rate))
    for start_u, length_u in spec.elements():
        a = round(start_u * unit)
        b = round((start_u + length_u) * unit)
        n = np.arange(b - a)
        burst = np.sin(2.0 * np.pi * spec.freq_hz * n / rate)
        r = min(ramp_n, (b - a) // 2)
        fade = 0.5 - 0.5 * np.cos(np.pi * np.arange(r) / r)
        burst[:r] *= fade
        burst[b - a - r :] *= fade[::-1]
        out[a:b] = burst
    return out


def _to_mono(samples: npt.NDArray[np.generic]) -> FloatArray:
    """Float64 mono in -1..1 from ``(n,)`` or ``(n, channels)`` samples of any dtype."""
    arr = np.asarray(samples)
    if arr.ndim == 2:
        arr = arr.astype(np.float64).mean(axis=1) if arr.shape[1] > 1 else arr[:, 0]
    elif arr.ndim != 1:
        msg = f"samples must be (n,) or (n, channels), got shape {arr.shape}"
        raise ValueError(msg)
    if np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        mid = (int(info.max) + int(info.min) + 1) / 2
        return (arr.astype(np.float64) - mid) / (int(info.max) - mid + 1)
    return arr.astype(np.float64, copy=False)


def tone_envelope(
    samples: npt.NDArray[np.generic], rate: int, freq_hz: float, hop: int
) -> tuple[FloatArray, FloatArray]:
    """Tone amplitude and tonality per hop, over a window of two hops.

    Args:
        samples: ``(n,)`` or ``(n, channels)``; integers are scaled to -1..1.
        rate: sample rate in Hz.
        freq_hz: the frequency measured.
        hop: hop length in samples; window ``k`` covers samples ``[k*hop, (k+2)*hop)``.

    Returns:
        ``(amplitude, tonality)``: the sine amplitude a pure tone would need to
        give the measured DFT bin, and the share of the window's energy that bin
        holds (1.0 for a pure tone, near 0 for noise).
    """
    x = _to_mono(samples)
    n_hops = len(x) // hop
    sums = np.empty(n_hops, dtype=np.complex128)
    energy = np.empty(n_hops)
    w = 2.0 * np.pi * freq_hz / rate
    step = BLOCK_HOPS * hop
    for b in range(0, n_hops * hop, step):
        block = x[b : min(b + step, n_hops * hop)].reshape(-1, hop)
        phase = np.exp(-1j * w * (b + np.arange(block.size))).reshape(block.shape)
        k = b // hop
        sums[k : k + len(block)] = (block * phase).sum(axis=1)
        energy[k : k + len(block)] = np.square(block).sum(axis=1)
    if n_hops < 2:
        return np.zeros(0), np.zeros(0)
    bins = np.abs(sums[:-1] + sums[1:])
    win_energy = energy[:-1] + energy[1:]
    window = 2 * hop
    amplitude = 2.0 * bins / window
    with np.errstate(divide="ignore", invalid="ignore"):
        tonality = np.where(win_energy > 0, 2.0 * bins**2 / (window * win_energy), 0.0)
    return amplitude, np.clip(tonality, 0.0, 1.0)


def _template(spec: MorseSpec, margin_units: int) -> FloatArray:
    """Expected envelope (window-overlap fraction) at hop resolution, with silent margins."""
    steps = STEPS_PER_UNIT
    on = np.zeros((spec.units + 2 * margin_units) * steps)
    for start_u, length_u in spec.elements():
        a = (start_u + margin_units) * steps
        on[a : a + length_u * steps] = 1.0
    # Window k spans hops k and k+1, so its value is the mean of two hop states.
    return 0.5 * (on[:-1] + on[1:])


def _ncc(env: FloatArray, tmpl: FloatArray) -> FloatArray:
    """Normalised cross-correlation of ``env`` with ``tmpl`` at every full overlap."""
    n = len(tmpl)
    t0 = tmpl - tmpl.mean()
    t_norm = float(np.sqrt(np.square(t0).sum()))
    num = np.correlate(env, t0, mode="valid")
    c1 = np.concatenate(([0.0], np.cumsum(env)))
    c2 = np.concatenate(([0.0], np.cumsum(np.square(env))))
    s1 = c1[n:] - c1[:-n]
    s2 = c2[n:] - c2[:-n]
    var = np.maximum(s2 - s1 * s1 / n, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(var > 1e-18, num / (np.sqrt(var) * t_norm), 0.0)
    return np.asarray(out, dtype=np.float64)


def detect_morse_ai(
    samples: npt.NDArray[np.generic],
    rate: int,
    *,
    spec: MorseSpec = DEFAULT_SPEC,
    min_confidence: float = 0.9,
    min_tonality: float = 0.2,
    min_level_dbfs: float = -60.0,
) -> list[MorseHit]:
    """Find every occurrence of the rhythm in ``samples``.

    Args:
        samples: ``(n,)`` or ``(n, channels)`` audio (channels are averaged);
            integer samples are scaled to -1..1, floats are taken as -1..1.
        rate: sample rate in Hz.
        spec: the tone frequency, unit and pattern to look for.
        min_confidence: lowest normalised correlation accepted (the rhythm on
            silence scores about 0.98, mixed over noise or music at equal
            loudness 0.95-0.99; "SS" (``... ...``) scores 0.84).
        min_tonality: lowest tone share of the energy in the "on" parts.
        min_level_dbfs: quieter tones are ignored.

    Returns:
        Hits in time order, at most one per rhythm length.
    """
    hop = max(1, round(spec.unit_s * rate / STEPS_PER_UNIT))
    hop_s = hop / rate
    margin = 2
    amp, ton = tone_envelope(samples, rate, spec.freq_hz, hop)
    tmpl = _template(spec, margin)
    # Silence outside the samples: a rhythm at the very start or end still has its margins.
    pad = margin * STEPS_PER_UNIT
    # Two spare windows at the end cover the hop rounding and the last partial hop.
    amp = np.concatenate((np.zeros(pad), amp, np.zeros(pad + 2)))
    ton = np.concatenate((np.zeros(pad), ton, np.zeros(pad + 2)))
    if len(amp) < len(tmpl):
        return []
    score = _ncc(amp, tmpl)
    full_on = tmpl >= 0.999
    hits: list[MorseHit] = []
    order = np.argsort(score)[::-1]
    taken = np.zeros(len(score), dtype=bool)
    span = len(tmpl) // 2
    for i in order:
        c = float(score[i])
        if c < min_confidence:
            break
        if taken[i]:
            continue
        level = float(np.median(amp[i : i + len(tmpl)][full_on]))
        tonal = float(np.median(ton[i : i + len(tmpl)][full_on]))
        if tonal < min_tonality or level <= 0 or 20 * math.log10(level) < min_level_dbfs:
            continue
        taken[max(0, i - span) : i + span + 1] = True
        # Parabolic interpolation of the peak refines the position below one hop.
        frac = 0.0
        if 0 < i < len(score) - 1:
            a, b, d = score[i - 1], score[i], score[i + 1]
            den = a - 2 * b + d
            if den < 0:
                frac = float(np.clip(0.5 * (a - d) / den, -0.5, 0.5))
        # Lag i puts template hop j on hop i + j - pad of the input; the first tone starts
        # at template hop pad, so at input hop i.
        start = (i + frac) * hop_s
        hits.append(
            MorseHit(
                start_s=max(0.0, float(start)),
                end_s=float(start) + spec.duration_s,
                confidence=c,
                tonality=tonal,
                level_dbfs=20 * math.log10(level),
            )
        )
    return sorted(hits, key=lambda h: h.start_s)
