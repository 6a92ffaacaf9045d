"""Audio explicit label: the Morse rhythm and/or a spoken prompt at the start, middle or end.

Spec section 2 (audio): a voice prompt holding both elements at normal speed
(120-160 Chinese characters a minute) or the rhythm "short long short short"
(Morse ``.- ..``), at the start, end and/or a middle position. The prompt is
either *inserted* (the content moves; a short silence separates the two) or
*mixed* over the content (the content is lowered by ``duck_db`` under it).

Loudness: the prompt is scaled so its gated RMS level (100 ms blocks, gates at
-70 dBFS and 10 dB under the mean, as in ITU-R BS.1770 but without the
K-weighting) equals the content's level over a few seconds around the
insertion point, plus ``level_db``; peaks stay at or under -1 dBFS, mixed sums
included. Silent content gets ``silent_level_dbfs``.

Writing: WAV is spliced at the byte level (:mod:`._pcm`), so every other chunk
and every sample outside the prompt stay bit-identical. MP3, FLAC, Ogg
(Vorbis, Opus), M4A (AAC, ALAC) and Matroska audio are decoded and re-encoded
in-process with PyAV (FFmpeg's libraries) in the same codec, sample rate,
channel layout and sample format, at about the same bit rate, with the tags and
any cover picture copied; FLAC and ALAC stay sample-exact outside the prompt.
Vorbis is encoded with libvorbis through soundfile (PyAV's FFmpeg has only the
experimental stereo-only encoder) and remuxed by PyAV to keep the comments.
Cue/sampler chunks in WAV are not shifted by an insert (a note says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal, cast

import av
import numpy as np

from .._io import atomic_output, stream_size
from ..errors import (
    CorruptFileError,
    FileAccessError,
    InvalidExplicitLabelError,
    LimitExceededError,
    UnsupportedFormatError,
)
from ..limits import DEFAULT_LIMITS, Limits
from . import _avaudio, _carry, _pcm
from ._pcm import BlockStats, Copy, FloatArray, Insert, Mix, Plan, gated_db
from .base import ExplicitOptions, ExplicitOutcome
from .morse import DEFAULT_SPEC, MorseSpec, morse_tone

MODALITY = "audio"
FORMATS: tuple[str, ...] = ("wav", "mp3", "flac", "ogg", "mp4", "matroska")
"""Sniffed format names this module writes (MP4 means M4A/MP4 audio, Matroska means MKA)."""

Signal = Literal["morse", "voice", "both"]
Position = Literal["start", "middle", "end"]
Mode = Literal["insert", "mix"]
SIGNALS: tuple[Signal, ...] = ("morse", "voice", "both")
POSITIONS: tuple[Position, ...] = ("start", "middle", "end")
MODES: tuple[Mode, ...] = ("insert", "mix")

VOICE_DIR = Path(__file__).parent / "voice"
VOICE_CLIPS: dict[str, tuple[str, str]] = {
    "zh": ("zh_ai_generated.flac", "人工智能生成"),
    "en": ("en_ai_generated.flac", "AI generated"),
}
"""Shipped spoken prompts (espeak-ng; see voice/README.md): file name and what it says."""

PEAK_LIMIT = 10 ** (-1 / 20)
"""Highest sample magnitude the prompt (or a mixed sum) may reach: -1 dBFS."""

LOUDNESS_WINDOW_S = 6.0
"""Content around the insertion point whose level the prompt matches."""

MAX_CLIP_S = 60.0
"""Longest user-supplied voice clip accepted."""

PART_GAP_S = 0.3
"""Silence between the rhythm and the voice when both are used."""


@dataclass(frozen=True)
class AudioLabelOptions:
    """What to add and where; every default is compliant."""

    signal: Signal = "morse"
    """The Morse rhythm, the spoken prompt, or both (rhythm first)."""
    positions: tuple[Position, ...] = ("start",)
    mode: Mode = "insert"
    middle_s: float | None = None
    """Where "middle" goes in the input (seconds; a mixed prompt is centred on it); None:
    half the duration."""
    morse: MorseSpec = DEFAULT_SPEC
    lang: str = "zh"
    """Shipped voice clip: "zh" (人工智能生成) or "en" (AI generated)."""
    voice_clip: Path | None = None
    """A clip of your own (any format FFmpeg decodes); it must say both elements."""
    level_db: float = 0.0
    """Prompt level relative to the content around it."""
    duck_db: float = 6.0
    """Mix mode: how far the content is lowered under the prompt."""
    gap_s: float = 0.3
    """Insert mode: silence between the prompt and the content."""
    silent_level_dbfs: float = -20.0
    """Prompt level where the content is silent."""
    bit_rate: int | None = None
    """Lossy output bit rate; None keeps the input's."""

    def __post_init__(self) -> None:
        bad = [p for p in self.positions if p not in POSITIONS]
        if not self.positions or bad:
            raise InvalidExplicitLabelError(
                f"audio positions {list(self.positions)} must be start, middle and/or end"
            )
        if self.signal not in SIGNALS:
            raise InvalidExplicitLabelError(
                f"audio signal {self.signal!r}: use morse, voice or both"
            )
        if self.mode not in MODES:
            raise InvalidExplicitLabelError(f"audio mode {self.mode!r}: use insert or mix")
        if self.voice_clip is None and self.lang not in VOICE_CLIPS:
            raise InvalidExplicitLabelError(f"no shipped voice clip for language {self.lang!r}")
        if not (-40 <= self.level_db <= 20 and 0 <= self.duck_db <= 40 and 0 <= self.gap_s <= 5):
            raise InvalidExplicitLabelError(
                "audio level_db must be -40..20, duck_db 0..40 and gap_s 0..5"
            )
        if self.middle_s is not None and self.middle_s < 0:
            raise InvalidExplicitLabelError("audio middle_s must not be negative")


@dataclass(frozen=True)
class AudioPlacement:
    """One prompt as written, in output time."""

    position: Position
    start_s: float
    end_s: float
    level_dbfs: float
    """Gated RMS level of the prompt as written."""
    content_dbfs: float | None
    """Gated RMS level of the content it was matched to (None: silent)."""


@dataclass(frozen=True)
class AudioLabelOutcome:
    """What was written, with the numbers that show it."""

    format: str
    codec: str
    sample_rate: int
    channels: int
    signal: Signal
    mode: Mode
    placements: tuple[AudioPlacement, ...]
    input_duration_s: float
    output_duration_s: float
    samples_kept: bool
    """True when every sample outside the prompts is bit-identical (WAV, FLAC, ALAC)."""
    spoken_text: str | None
    """What the voice clip says (None for the rhythm alone or a user clip)."""
    notes: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------- loudness


def _signal_db(x: FloatArray, rate: int) -> float:
    stats = BlockStats(rate)
    stats.add(x[np.newaxis, :])
    level = gated_db(stats.finish()[0])
    if level is None:
        raise InvalidExplicitLabelError("the voice clip is silent")
    return level


# ---------------------------------------------------------------- the prompt signal


def _decode_mono(source: Path | BinaryIO, rate: int) -> FloatArray:
    """The first audio stream of ``source`` as float64 mono at ``rate`` (bounded length)."""
    try:
        with av.open(source, "r") as clip:
            if not clip.streams.audio:
                raise UnsupportedFormatError("the voice clip has no audio stream")
            res = av.AudioResampler(format="dbl", layout="mono", rate=rate)
            parts: list[FloatArray] = []
            total = 0
            for frame in clip.decode(clip.streams.audio[0]):
                for out in res.resample(frame):
                    parts.append(out.to_ndarray()[0])
                    total += out.samples
                if total > MAX_CLIP_S * rate:
                    raise LimitExceededError("voice clip seconds", total // rate, int(MAX_CLIP_S))
            parts.extend(out.to_ndarray()[0] for out in res.resample(None))
    except av.FFmpegError as e:
        raise CorruptFileError("voice clip", None, str(e)) from e
    return np.concatenate([np.zeros(0), *parts]).astype(np.float64)


def voice_clip(options: AudioLabelOptions, rate: int) -> tuple[FloatArray, str | None]:
    """The spoken prompt at ``rate`` and what it says (None for a user clip)."""
    if options.voice_clip is not None:
        return _decode_mono(options.voice_clip, rate), None
    name, text = VOICE_CLIPS[options.lang]
    return _decode_mono(VOICE_DIR / name, rate), text


def prompt_signal(options: AudioLabelOptions, rate: int) -> tuple[FloatArray, str | None]:
    """The prompt as mono samples at ``rate`` (parts at equal level), and the spoken text."""
    parts: list[FloatArray] = []
    spoken = None
    if options.signal in ("morse", "both"):
        try:
            parts.append(morse_tone(options.morse, rate))
        except ValueError as e:
            raise InvalidExplicitLabelError(str(e)) from e
    if options.signal in ("voice", "both"):
        voice, spoken = voice_clip(options, rate)
        parts.append(voice)
    if len(parts) == 2:
        a, b = parts
        b = b * 10 ** ((_signal_db(a, rate) - _signal_db(b, rate)) / 20)
        parts = [a, np.zeros(round(PART_GAP_S * rate)), b]
    return np.concatenate(parts), spoken


# ---------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Event:
    position: Position
    at: int
    samples: FloatArray
    content_db: float | None


def plan_label(
    options: AudioLabelOptions,
    rate: int,
    ms: FloatArray,
    peaks: FloatArray,
    frames: int,
    prompt: FloatArray,
) -> tuple[Plan, list[AudioPlacement]]:
    """Where each prompt goes, at what gain, as a splice plan over the input samples."""
    block = max(1, rate // 10)
    n_prompt = len(prompt)
    prompt_db = _signal_db(prompt, rate)
    prompt_peak = float(np.abs(prompt).max())
    duck = 10 ** (-options.duck_db / 20) if options.mode == "mix" else 1.0
    win = round(LOUDNESS_WINDOW_S * rate)
    middle = (
        frames // 2 if options.middle_s is None else min(frames, round(options.middle_s * rate))
    )
    events: list[_Event] = []
    for pos in dict.fromkeys(options.positions):
        anchor = {"start": 0, "middle": middle, "end": frames}[pos]
        if options.mode == "mix":
            at = {"start": 0, "middle": anchor - n_prompt // 2, "end": frames - n_prompt}[pos]
            at = max(0, min(at, frames - n_prompt))
            lo, hi = at, at + n_prompt
        else:
            at = anchor
            lo, hi = anchor - win // 2, anchor + win // 2
        lo, hi = max(0, min(lo, frames - win)), min(frames, max(hi, win))
        lo_b, hi_b = lo // block, max(lo // block + 1, -(-hi // block))
        content_db = gated_db(ms[lo_b:hi_b])
        target = (
            options.silent_level_dbfs if content_db is None else content_db
        ) + options.level_db
        gain = 10 ** ((target - prompt_db) / 20)
        room = PEAK_LIMIT
        if options.mode == "mix":
            room -= duck * float(peaks[at // block : -(-(at + n_prompt) // block)].max(initial=0))
        gain = min(gain, max(room, 0.1 * PEAK_LIMIT) / prompt_peak)
        events.append(_Event(pos, at, prompt * gain, content_db))
    events.sort(key=lambda e: (e.at, POSITIONS.index(e.position)))
    if options.mode == "mix":
        return _mix_plan(events, frames, duck, rate)
    return _insert_plan(events, frames, round(options.gap_s * rate), rate)


def _placement(e: _Event, start: int, rate: int) -> AudioPlacement:
    level = _signal_db(e.samples, rate)
    n = len(e.samples)
    return AudioPlacement(e.position, start / rate, (start + n) / rate, level, e.content_db)


def _insert_plan(
    events: list[_Event], frames: int, gap: int, rate: int
) -> tuple[Plan, list[AudioPlacement]]:
    plan: Plan = []
    placements = []
    cursor = shift = 0
    for e in events:
        if e.at > cursor:
            plan.append(Copy(cursor, e.at))
            cursor = e.at
        before = gap if e.at > 0 else 0
        after = gap if e.at < frames else 0
        plan.append(Insert(np.concatenate((np.zeros(before), e.samples, np.zeros(after)))))
        placements.append(_placement(e, e.at + shift + before, rate))
        shift += before + len(e.samples) + after
    if cursor < frames:
        plan.append(Copy(cursor, frames))
    return plan, placements


def _mix_plan(
    events: list[_Event], frames: int, duck: float, rate: int
) -> tuple[Plan, list[AudioPlacement]]:
    # Overlapping prompts (content shorter than the prompts) are summed into one region.
    plan: Plan = []
    regions: list[tuple[int, FloatArray]] = []
    for e in events:
        if regions and e.at < regions[-1][0] + len(regions[-1][1]):
            a0, buf = regions[-1]
            grown = np.zeros(max(len(buf), e.at - a0 + len(e.samples)))
            grown[: len(buf)] += buf
            grown[e.at - a0 : e.at - a0 + len(e.samples)] += e.samples
            regions[-1] = (a0, np.clip(grown, -PEAK_LIMIT, PEAK_LIMIT))
        else:
            regions.append((e.at, e.samples))
    cursor = 0
    for a0, buf in regions:
        if a0 > cursor:
            plan.append(Copy(cursor, a0))
        inside = max(0, min(len(buf), frames - a0))
        if inside:
            plan.append(Mix(a0, buf[:inside], duck))
        if inside < len(buf):
            plan.append(Insert(buf[inside:]))
        cursor = a0 + inside
    if cursor < frames:
        plan.append(Copy(cursor, frames))
    return plan, [_placement(e, e.at, rate) for e in events]


# ---------------------------------------------------------------- entry points


def _is_wav(head: bytes) -> bool:
    return head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE"


def _label_wav(
    src: BinaryIO, dst: BinaryIO, options: AudioLabelOptions, limits: Limits
) -> AudioLabelOutcome:
    layout = _pcm.read_layout(src, limits)
    stats = BlockStats(layout.rate)
    for block in _pcm.iter_wav_samples(src, layout):
        stats.add(_pcm.to_float(block))
    prompt, spoken = prompt_signal(options, layout.rate)
    ms, peaks = stats.finish()
    plan, placements = plan_label(options, layout.rate, ms, peaks, layout.frames, prompt)
    _pcm.write_wav(src, dst, layout, plan)
    notes = []
    if options.mode == "insert" and _pcm.has_position_chunks(layout):
        notes.append("cue/sampler chunk offsets were not shifted by the inserted prompt")
    return AudioLabelOutcome(
        "wav", layout.codec, layout.rate, layout.channels, options.signal, options.mode,
        tuple(placements), layout.frames / layout.rate,
        _pcm.plan_length(plan) / layout.rate, True, spoken, tuple(notes),
    )  # fmt: skip


def label_audio_stream(
    src: BinaryIO,
    dst: BinaryIO,
    options: AudioLabelOptions | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> AudioLabelOutcome:
    """Write ``src`` with the audio prompt(s) to ``dst`` (seekable binary streams; ``dst``
    empty). An implicit label the input carries is kept.

    Raises:
        UnsupportedFormatError: not audio we can write, or a video file.
        CorruptFileError: the decoder failed on the input.
        InvalidExplicitLabelError: options that would not give a valid prompt.
    """
    options = options or AudioLabelOptions()
    size = stream_size(src)
    if size > limits.max_file_bytes:
        raise LimitExceededError("file size", size, limits.max_file_bytes, "audio")
    src.seek(0)
    head = src.read(12)
    src.seek(0)
    if _is_wav(head):
        return _label_wav(src, dst, options, limits)

    def make_plan(
        rate: int, ms: FloatArray, peaks: FloatArray, frames: int
    ) -> tuple[Plan, tuple[list[AudioPlacement], str | None]]:
        prompt, spoken = prompt_signal(options, rate)
        plan, placements = plan_label(options, rate, ms, peaks, frames, prompt)
        return plan, (placements, spoken)

    label = _carry.existing_label(src, limits)
    try:
        res = _avaudio.transcode(src, dst, make_plan, options.bit_rate)
    except av.FFmpegError as e:
        raise CorruptFileError("audio", None, str(e)) from e
    _carry.restore_label(dst, label, limits, res.notes)
    placements, spoken = res.extra
    return AudioLabelOutcome(
        res.container, res.codec, res.rate, res.channels, options.signal, options.mode,
        tuple(placements), res.in_frames / res.rate, res.out_frames / res.rate,
        res.lossless, spoken, tuple(res.notes),
    )  # fmt: skip


def add_audio_label(
    src: Path, dst: Path, options: AudioLabelOptions | None = None, limits: Limits = DEFAULT_LIMITS
) -> AudioLabelOutcome:
    """Label the audio file ``src`` into ``dst`` (written atomically; ``src`` untouched)."""
    try:
        with open(src, "rb") as f, atomic_output(dst) as out:
            return label_audio_stream(f, out, options, limits)
    except OSError as e:
        raise FileAccessError(f"{e.filename or src}: {e.strerror or e}") from e


# ---------------------------------------------------------------- dispatcher adapter


def options_from(options: ExplicitOptions) -> AudioLabelOptions:
    """Map the shared options to :class:`AudioLabelOptions`.

    ``position``: start, middle, end, or a comma list ("start,end"). Settings:
    ``signal`` (morse|voice|both), ``mode`` (insert|mix), ``freq_hz``,
    ``unit_ms``, ``level_db``, ``duck_db``, ``gap_ms``, ``middle_s``,
    ``voice_clip`` (a path), ``bit_rate``.
    """
    raw = options.position or "start"
    positions = tuple(p.strip() for p in raw.split(",") if p.strip())
    spec = MorseSpec()
    try:
        spec = MorseSpec(
            freq_hz=options.setting_float("freq_hz", spec.freq_hz),
            unit_s=options.setting_float("unit_ms", spec.unit_s * 1000) / 1000,
        )
    except ValueError as e:
        raise InvalidExplicitLabelError(str(e)) from e
    middle = options.settings.get("middle_s")
    clip = options.settings.get("voice_clip")
    bit_rate = options.settings.get("bit_rate")
    return AudioLabelOptions(
        signal=cast(Signal, options.setting("signal", "morse")),
        positions=cast(tuple[Position, ...], positions),
        mode=cast(Mode, options.setting("mode", "insert")),
        middle_s=None if middle is None else options.setting_float("middle_s", 0.0),
        morse=spec,
        lang=options.lang,
        voice_clip=Path(clip) if clip else None,
        level_db=options.setting_float("level_db", 0.0),
        duck_db=options.setting_float("duck_db", 6.0),
        gap_s=options.setting_float("gap_ms", 300.0) / 1000,
        bit_rate=None if bit_rate is None else int(options.setting_float("bit_rate", 0)),
    )


def accepts(src: BinaryIO, fmt: str) -> bool:
    """True when a shared container (Ogg, MP4, Matroska) holds audio and no video."""
    return _avaudio.is_audio_only(src)


def add_label(
    src: BinaryIO, dst: BinaryIO, fmt: str, options: ExplicitOptions, limits: Limits
) -> ExplicitOutcome:
    """The dispatcher's entry point (see :mod:`.base`)."""
    opts = options_from(options)
    res = label_audio_stream(src, dst, opts, limits)
    notes = list(res.notes)
    if options.text is not None:
        notes.append("custom text is not spoken: the prompt is the rhythm or the voice clip")
    text = res.spoken_text or ("Morse .- .. (AI)" if opts.signal == "morse" else "user clip")
    details: dict[str, str | int | float | bool] = {
        "signal": res.signal,
        "mode": res.mode,
        "codec": res.codec,
        "samples_kept": res.samples_kept,
        "input_duration_s": round(res.input_duration_s, 3),
        "output_duration_s": round(res.output_duration_s, 3),
    }
    for p in res.placements:
        details[f"{p.position}_start_s"] = round(p.start_s, 3)
        details[f"{p.position}_end_s"] = round(p.end_s, 3)
        details[f"{p.position}_level_dbfs"] = round(p.level_dbfs, 1)
    return ExplicitOutcome(MODALITY, fmt, text, ",".join(opts.positions), details, notes)


__all__ = [
    "AudioLabelOptions",
    "AudioLabelOutcome",
    "AudioPlacement",
    "add_audio_label",
    "label_audio_stream",
]
