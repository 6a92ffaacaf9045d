"""Audio prompts on real files (sox, ffmpeg), checked with independent readers.

soundfile (libsndfile) reads WAV/FLAC samples, the system ffmpeg decodes every
format to float and ffprobe reports codec parameters; the rhythm is found by
the Goertzel detector at the reported place.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aigc_label.errors import AigcLabelError, InvalidExplicitLabelError, UnsupportedFormatError
from aigc_label.explicit.audio import (
    VOICE_DIR,
    AudioLabelOptions,
    add_audio_label,
    label_audio_stream,
)
from aigc_label.explicit.base import ExplicitOptions
from aigc_label.explicit.morse import MorseSpec, detect_morse_ai
from tests.conftest import have, label_bytes, read_labels

soundfile = pytest.importorskip("soundfile", reason="soundfile not installed (test extra)")
pytestmark = pytest.mark.skipif(
    not (have("sox") and have("ffmpeg") and have("ffprobe")), reason="sox and ffmpeg needed"
)

SECONDS = 4
TONE_S = MorseSpec().duration_s


def run(*cmd: str | Path) -> str:
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True).stdout


def probe(path: Path) -> dict[str, Any]:
    out = run("ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path)
    data: dict[str, Any] = json.loads(out)
    return data


def audio_info(path: Path) -> dict[str, Any]:
    stream: dict[str, Any] = probe(path)["streams"][0]
    return stream


def decode(path: Path) -> tuple[np.ndarray, int]:
    """(n, channels) float32 and the rate, decoded by the system ffmpeg."""
    info = audio_info(path)
    ch, rate = int(info["channels"]), int(info["sample_rate"])
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-acodec", "pcm_f32le", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype="<f4").reshape(-1, ch), rate


def plays_clean(path: Path) -> bool:
    r = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return r.returncode == 0 and not r.stderr.strip()


def hits_at(path: Path) -> list[float]:
    x, rate = decode(path)
    return [h.start_s for h in detect_morse_ai(x, rate)]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Content with energy around 800 Hz too (pink noise with a tremolo), in every format."""
    d = tmp_path_factory.mktemp("audio")
    wav = d / "content.wav"
    run("sox", "-n", "-r", "44100", "-c", "2", "-b", "16", wav,
        "synth", str(SECONDS), "pinknoise", "tremolo", "3", "60", "vol", "0.3")  # fmt: skip
    files = {"wav": wav}
    for name, args in {
        "wav24": ["-b", "24"],
        "wavf32": ["-e", "floating-point", "-b", "32"],
        "wav8": ["-b", "8", "-c", "1"],
    }.items():
        files[name] = d / f"{name}.wav"
        run("sox", wav, *args, files[name])
    for ext, codec in {
        "mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
        "flac": ["-c:a", "flac"],
        "ogg": ["-c:a", "libvorbis", "-q:a", "4"],
        "opus": ["-c:a", "libopus", "-b:a", "96k"],
        "m4a": ["-c:a", "aac", "-b:a", "128k"],
    }.items():
        files[ext] = d / f"content.{ext}"
        run("ffmpeg", "-v", "error", "-i", wav, *codec, "-metadata", "title=Test tone",
            "-metadata", "artist=aigc", files[ext])  # fmt: skip
    return files


# ---------------------------------------------------------------- WAV: bit-exact


def test_wav_insert_at_start_keeps_every_sample_and_chunk(
    media: dict[str, Path], tmp_path: Path
) -> None:
    src = tmp_path / "labeled-implicit.wav"
    src.write_bytes(label_bytes(media["wav"].read_bytes()))  # an AIGC chunk to keep
    before = src.read_bytes()
    out = tmp_path / "out.wav"
    res = add_audio_label(src, out)
    assert src.read_bytes() == before
    assert res.format == "wav"
    assert res.codec == "pcm_s16le"
    assert res.samples_kept
    (p,) = res.placements
    assert (p.position, p.start_s) == ("start", 0.0)
    assert p.end_s == pytest.approx(TONE_S, abs=1e-3)
    assert hits_at(out) == [pytest.approx(0.0, abs=0.01)]
    orig, _ = soundfile.read(src, dtype="int16")
    new, rate = soundfile.read(out, dtype="int16")
    lead = round((TONE_S + 0.3) * rate)
    assert len(new) == len(orig) + lead
    assert np.array_equal(new[lead:], orig)
    assert not new[round(TONE_S * rate) + 1 : lead].any()  # the gap is silence
    assert read_labels(out.read_bytes()) == read_labels(before)
    assert plays_clean(out)


@pytest.mark.parametrize("position", ["middle", "end"])
def test_wav_insert_elsewhere(media: dict[str, Path], tmp_path: Path, position: str) -> None:
    out = tmp_path / "out.wav"
    res = add_audio_label(media["wav"], out, AudioLabelOptions(positions=(position,)))  # type: ignore[arg-type]
    (p,) = res.placements
    assert hits_at(out) == [pytest.approx(p.start_s, abs=0.01)]
    orig, rate = soundfile.read(media["wav"], dtype="int16")
    new, _ = soundfile.read(out, dtype="int16")
    a = round((p.start_s - 0.3) * rate)
    b = round((p.end_s + (0.3 if position == "middle" else 0)) * rate)
    assert np.array_equal(np.concatenate([new[:a], new[b:]]), orig)
    if position == "middle":
        assert p.start_s == pytest.approx(SECONDS / 2 + 0.3, abs=1e-3)
    else:
        assert p.end_s == pytest.approx(res.output_duration_s, abs=1e-3)


def test_wav_mix_changes_only_the_prompt_region(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    opts = AudioLabelOptions(positions=("start", "end"), mode="mix")
    res = add_audio_label(media["wav"], out, opts)
    assert res.output_duration_s == res.input_duration_s == SECONDS
    starts = [p.start_s for p in res.placements]
    assert starts == [0.0, pytest.approx(SECONDS - TONE_S, abs=1e-3)]
    assert hits_at(out) == [pytest.approx(s, abs=0.01) for s in starts]
    orig, rate = soundfile.read(media["wav"], dtype="int16")
    new, _ = soundfile.read(out, dtype="int16")
    n = round(TONE_S * rate)
    assert len(new) == len(orig)
    assert np.array_equal(new[n:-n], orig[n:-n])
    assert not np.array_equal(new[:n], orig[:n])


@pytest.mark.parametrize(
    ("name", "dtype"), [("wav24", "int32"), ("wavf32", "float32"), ("wav8", "int16")]
)
def test_wav_sample_formats(media: dict[str, Path], tmp_path: Path, name: str, dtype: str) -> None:
    out = tmp_path / "out.wav"
    res = add_audio_label(media[name], out, AudioLabelOptions(positions=("end",)))
    orig, _rate = soundfile.read(media[name], dtype=dtype)
    new, _ = soundfile.read(out, dtype=dtype)
    assert np.array_equal(new[: len(orig)], orig)
    assert soundfile.info(out).subtype == soundfile.info(media[name]).subtype
    assert hits_at(out) == [pytest.approx(res.placements[0].start_s, abs=0.01)]
    assert plays_clean(out)


@pytest.mark.parametrize("volume", ["0.03", "0.6"])
def test_loudness_follows_the_content(tmp_path: Path, volume: str) -> None:
    src = tmp_path / "in.wav"
    run(
        "sox",
        "-n",
        "-r",
        "48000",
        "-c",
        "1",
        "-b",
        "16",
        src,
        "synth",
        "5",
        "pinknoise",
        "vol",
        volume,
    )
    out = tmp_path / "out.wav"
    (p,) = add_audio_label(src, out).placements
    x, rate = soundfile.read(out)
    unit = round(0.12 * rate)
    dash = x[2 * unit + 200 : 5 * unit - 200]  # the dash, away from its ramps
    content = x[round((TONE_S + 0.3) * rate) :]
    tone_db = 20 * np.log10(np.sqrt(np.mean(dash**2)))
    content_db = 20 * np.log10(np.sqrt(np.mean(content**2)))
    assert tone_db == pytest.approx(content_db, abs=1.5)
    assert p.content_dbfs == pytest.approx(content_db, abs=1.5)


def test_mix_over_loud_content_does_not_clip(tmp_path: Path) -> None:
    src = tmp_path / "loud.wav"
    run(
        "sox",
        "-n",
        "-r",
        "44100",
        "-c",
        "2",
        "-b",
        "16",
        src,
        "synth",
        "4",
        "square",
        "200",
        "vol",
        "0.97",
    )
    out = tmp_path / "out.wav"
    add_audio_label(src, out, AudioLabelOptions(mode="mix"))
    x, rate = soundfile.read(out, dtype="int16")
    region = x[: round(TONE_S * rate)].astype(np.int32)
    assert np.abs(region).max() <= 32767 * 10 ** (-1 / 20) + 1  # -1 dBFS, mixed sum included
    assert hits_at(out) == [pytest.approx(0.0, abs=0.01)]


def test_silent_content_gets_the_default_level(tmp_path: Path) -> None:
    src = tmp_path / "silence.wav"
    run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", src, "trim", "0", "2")
    (p,) = add_audio_label(src, tmp_path / "out.wav").placements
    assert p.content_dbfs is None
    assert p.level_dbfs == pytest.approx(-20.0, abs=0.5)


# ---------------------------------------------------------------- compressed formats


@pytest.mark.parametrize("fmt", ["mp3", "flac", "ogg", "opus", "m4a"])
def test_compressed_formats(media: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    src = media[fmt]
    out = tmp_path / f"out.{fmt}"
    res = add_audio_label(src, out, AudioLabelOptions(positions=("start", "end")))
    assert plays_clean(out)
    pin, pout = probe(src), probe(out)
    a, b = pin["streams"][0], pout["streams"][0]
    for key in ("codec_name", "sample_rate", "channels", "sample_fmt"):
        assert a[key] == b[key], key
    tags = {k.lower(): v for k, v in pout["format"].get("tags", {}).items()}
    tags.update({k.lower(): v for k, v in b.get("tags", {}).items()})
    assert tags.get("title") == "Test tone"
    if fmt == "ogg":  # Vorbis is VBR: its nominal rate is what an encoder is asked for
        assert int(b["bit_rate"]) == pytest.approx(int(a["bit_rate"]), rel=0.1)
    elif fmt != "flac":
        in_rate = int(pin["format"]["bit_rate"])
        assert int(pout["format"]["bit_rate"]) == pytest.approx(in_rate, rel=0.35)
    new, rate = decode(out)
    starts = [p.start_s for p in res.placements]
    assert [h.start_s for h in detect_morse_ai(new, rate)] == [
        pytest.approx(s, abs=0.03) for s in starts
    ]
    # the content follows the prompt unchanged (lossless) or nearly so (lossy)
    orig, _ = decode(src)
    lead = round((TONE_S + 0.3) * rate)
    seg = orig[rate : 3 * rate, 0]
    if fmt == "flac":
        assert res.samples_kept
        assert np.array_equal(new[lead + rate : lead + 3 * rate, 0], seg)
        return
    # codec delays differ: find the lag on a short piece, then compare the whole segment
    window = new[lead + rate - 4096 : lead + 3 * rate + 4096, 0]
    lag = int(np.argmax(np.correlate(window[: 4096 * 2 + 4410], seg[:4410], mode="valid")))
    r = float(np.corrcoef(window[lag : lag + len(seg)], seg)[0, 1])
    assert abs(lag - 4096) < 2048
    assert r > 0.9, r


@pytest.mark.parametrize("fmt", ["m4a", "mp3", "ogg"])
def test_implicit_label_is_kept(media: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    src = tmp_path / f"implicit.{fmt}"
    src.write_bytes(label_bytes(media[fmt].read_bytes()))
    out = tmp_path / f"out.{fmt}"
    add_audio_label(src, out, AudioLabelOptions(mode="mix"))
    assert read_labels(out.read_bytes()) == read_labels(src.read_bytes()) != []


def test_mono_vorbis(tmp_path: Path) -> None:
    src = tmp_path / "mono.ogg"
    run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=300:d=3", "-c:a", "libvorbis", src)
    out = tmp_path / "out.ogg"
    res = add_audio_label(src, out, AudioLabelOptions(mode="mix"))
    assert (res.codec, res.channels) == ("vorbis", 1)
    assert audio_info(out)["channels"] == 1
    assert plays_clean(out)
    assert hits_at(out) == [pytest.approx(0.0, abs=0.03)]


# ---------------------------------------------------------------- voice


def test_shipped_voice_clip_speed() -> None:
    clip = VOICE_DIR / "zh_ai_generated.flac"
    assert clip.stat().st_size < 150_000
    seconds = float(probe(clip)["format"]["duration"])
    per_minute = 6 / seconds * 60  # 人工智能生成: six characters
    assert 120 <= per_minute <= 160, per_minute
    x, _rate = decode(clip)
    blocks = np.sqrt(np.mean(x[: len(x) // 2205 * 2205, 0].reshape(-1, 2205) ** 2, axis=1))
    assert (blocks > 0.01).mean() > 0.6  # speech fills the clip; silence was trimmed
    assert (VOICE_DIR / "README.md").exists()
    assert float(probe(VOICE_DIR / "en_ai_generated.flac")["format"]["duration"]) < 2.0


def test_voice_and_rhythm_inserted(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    res = add_audio_label(media["wav"], out, AudioLabelOptions(signal="both"))
    assert res.spoken_text == "人工智能生成"
    clip_s = float(probe(VOICE_DIR / "zh_ai_generated.flac")["format"]["duration"])
    (p,) = res.placements
    assert p.end_s - p.start_s == pytest.approx(TONE_S + 0.3 + clip_s, abs=0.01)
    assert hits_at(out) == [pytest.approx(0.0, abs=0.01)]
    orig, rate = soundfile.read(media["wav"], dtype="int16")
    new, _ = soundfile.read(out, dtype="int16")
    lead = len(new) - len(orig)
    assert np.array_equal(new[lead:], orig)
    voice = new[round((TONE_S + 0.3) * rate) : round(p.end_s * rate), 0].astype(float)
    assert np.sqrt(np.mean(voice**2)) > 300  # the spoken part is there, not silence


def test_user_voice_clip(media: dict[str, Path], tmp_path: Path) -> None:
    clip = tmp_path / "mine.wav"
    run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", clip, "synth", "1.5", "sine", "300")
    opts = AudioLabelOptions(signal="voice", voice_clip=clip, positions=("end",))
    res = add_audio_label(media["flac"], tmp_path / "out.flac", opts)
    assert res.spoken_text is None
    (p,) = res.placements
    assert p.end_s - p.start_s == pytest.approx(1.5, abs=0.01)


# ---------------------------------------------------------------- errors and the dispatcher


def test_refuses_non_audio_and_video(tmp_path: Path) -> None:
    png = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (8, 8)).save(png)
    with pytest.raises(AigcLabelError):
        add_audio_label(png, tmp_path / "o.png")
    video = tmp_path / "v.mp4"
    run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x48:d=1", "-f", "lavfi",
        "-i", "sine=d=1", "-shortest", video)  # fmt: skip
    with pytest.raises(UnsupportedFormatError):
        add_audio_label(video, tmp_path / "o.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4", "x.png"]


@pytest.mark.parametrize(
    "kwargs",
    [{"positions": ()}, {"positions": ("begin",)}, {"signal": "beep"}, {"mode": "overlay"},
     {"lang": "fr"}, {"level_db": 99.0}],
)  # fmt: skip
def test_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidExplicitLabelError):
        AudioLabelOptions(**kwargs)


def test_size_limit(media: dict[str, Path]) -> None:
    from aigc_label.errors import LimitExceededError
    from aigc_label.limits import Limits

    with open(media["wav"], "rb") as f, pytest.raises(LimitExceededError):
        label_audio_stream(f, io.BytesIO(), limits=Limits(max_file_bytes=1000))


def test_stream_api_and_adapter(media: dict[str, Path]) -> None:
    from aigc_label.explicit import audio

    out = io.BytesIO()
    with open(media["wav"], "rb") as f:
        res = label_audio_stream(f, out)
    assert res.placements[0].start_s == 0
    opts = ExplicitOptions(position="start,end", settings={"signal": "both", "mode": "mix"})
    with open(media["mp3"], "rb") as f:
        out = io.BytesIO()
        outcome = audio.add_label(f, out, "mp3", opts, audio.DEFAULT_LIMITS)
    assert outcome.modality == "audio"
    assert outcome.text == "人工智能生成"
    assert outcome.details["mode"] == "mix"
    assert "end_start_s" in outcome.details
    with open(media["m4a"], "rb") as f:
        assert audio.accepts(f, "mp4")
