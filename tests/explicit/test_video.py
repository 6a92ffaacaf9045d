"""Video start-frame prompts on clips made by ffmpeg, checked by ffmpeg, ffprobe and OCR.

The head re-encode must leave every frame from the cut on bit-identical
(``ffmpeg -f framemd5`` of the decoded frames), the audio packets identical,
the duration unchanged, and decode with no error; the prompt must be read by
RapidOCR in frames at 0.5 s and 1.9 s with a measured ink height >= 5%.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from aigc_label.errors import (
    AigcLabelError,
    InvalidExplicitLabelError,
    LimitExceededError,
    UnsupportedFormatError,
)
from aigc_label.explicit import check_wording
from aigc_label.explicit.base import ExplicitOptions
from aigc_label.explicit.video import VideoLabelOptions, add_video_label, label_video_stream
from aigc_label.limits import Limits
from tests.conftest import have, label_bytes, read_labels
from tests.explicit.imaging import measured_ink_height

pytestmark = pytest.mark.skipif(
    not (have("ffmpeg") and have("ffprobe")), reason="ffmpeg/ffprobe needed"
)

W, H, FPS = 320, 240, 25


def run(*cmd: str | Path) -> str:
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True).stdout


def make_clip(
    path: Path, *video_args: str, seconds: int = 5, audio: bool = True, acodec: str = "aac"
) -> Path:
    cmd: list[str | Path] = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi",
                             "-i", f"testsrc2=s={W}x{H}:r={FPS}:d={seconds}"]  # fmt: skip
    if audio:
        cmd += [
            "-f",
            "lavfi",
            "-i",
            f"sine=f=440:r=48000:d={seconds}",
            "-c:a",
            acodec,
            "-b:a",
            "64k",
        ]
    run(*cmd, *video_args, "-shortest", path)
    return path


def h264(gop: int = 25, *extra: str) -> list[str]:
    return ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop),
            "-sc_threshold", "0", *extra]  # fmt: skip


def errors(path: Path) -> str:
    r = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return r.stderr.strip() + ("" if r.returncode == 0 else f" rc={r.returncode}")


def framemd5(path: Path, stream: str = "v", copy: bool = False) -> list[tuple[str, str]]:
    """(pts, md5) per decoded video frame, or per audio packet with ``copy``."""
    args = ["-c", "copy"] if copy else []
    out = run(
        "ffmpeg", "-v", "error", "-i", path, "-map", f"0:{stream}", *args, "-f", "framemd5", "-"
    )
    rows = [line.split(",") for line in out.splitlines() if line and not line.startswith("#")]
    return [(r[2].strip(), r[5].strip()) for r in rows]


def probe(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        run("ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path)
    )
    return data


def frame_at(path: Path, seconds: float, size: tuple[int, int] = (W, H)) -> Image.Image:
    """The frame shown at ``seconds``, decoded (and display-rotated) by the system ffmpeg."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-ss", str(seconds), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return Image.frombytes("RGB", size, raw)


def ink_height(before: Image.Image, after: Image.Image) -> int:
    """Ink rows on the plate; the plate is found where the frame changed a lot (the
    re-encode itself changes every pixel a little)."""
    diff = np.abs(np.asarray(after, dtype=int) - np.asarray(before, dtype=int)).max(axis=2) > 80
    rows, cols = np.where(diff.any(axis=1))[0], np.where(diff.any(axis=0))[0]
    box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    return measured_ink_height(before.crop(box), after.crop(box))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """5 s clips where the 3 s default label is used, 3 s ones for a 2 s label."""
    d = tmp_path_factory.mktemp("video")
    short = {"seconds": 3}
    return {
        "mp4": make_clip(d / "gop25.mp4", *h264()),
        "opengop": make_clip(d / "open.mp4", *h264(25, "-x264-params", "open-gop=1")),
        "mkv": make_clip(d / "gop25.mkv", *h264(), **short),
        # Main profile, no B-frames, moov first
        "fast": make_clip(
            d / "fast.mov", *h264(25, "-profile:v", "main", "-bf", "0"),
            "-movflags", "+faststart", **short,
        ),
        "p10": make_clip(d / "p10.mp4", *h264(25, "-pix_fmt", "yuv420p10le"), audio=False, **short),
        "p444": make_clip(d / "p444.mkv", *h264(25, "-pix_fmt", "yuv444p"), audio=False, **short),
        # AAC in AVI does not survive even an ffmpeg stream copy: MP3 there
        "mpeg4": make_clip(
            d / "mpeg4.avi", "-c:v", "mpeg4", "-q:v", "4", "-g", "25", acodec="libmp3lame", **short
        ),
        "hevc": make_clip(
            d / "hevc.mp4", "-c:v", "libx265", "-tag:v", "hvc1",
            "-x265-params", "log-level=error", **short,
        ),
    }  # fmt: skip


@pytest.fixture(scope="module")
def labeled(clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("labeled") / "out.mp4"
    res = add_video_label(clips["mp4"], out)
    return {"path": out, "res": res}


@pytest.fixture(scope="module")
def ocr() -> Any:
    rapidocr = pytest.importorskip(
        "rapidocr_onnxruntime", reason="rapidocr_onnxruntime not installed"
    )
    return rapidocr.RapidOCR(det_limit_side_len=320, use_cls=False)


def test_head_reencode_keeps_the_tail(clips: dict[str, Path], labeled: dict[str, Any]) -> None:
    out, res = labeled["path"], labeled["res"]
    assert res.mode == "head-reencode"
    assert res.reason == ""
    assert res.cut_s == pytest.approx(3.0)
    assert res.reencoded_frames == 3 * FPS
    assert res.copied_video_packets == 2 * FPS
    assert errors(out) == ""
    before, after = framemd5(clips["mp4"]), framemd5(out)
    assert [p for p, _ in before] == [p for p, _ in after]
    cut = 3 * FPS
    assert after[cut:] == before[cut:]  # every frame from the IDR on is bit-identical
    assert all(a != b for a, b in zip(before[:cut], after[:cut], strict=True))
    assert framemd5(out, "a", copy=True) == framemd5(clips["mp4"], "a", copy=True)
    pin, pout = probe(clips["mp4"]), probe(out)
    assert float(pout["format"]["duration"]) == pytest.approx(
        float(pin["format"]["duration"]), abs=0.05
    )
    vin, vout = pin["streams"][0], pout["streams"][0]
    for key in (
        "codec_name",
        "profile",
        "level",
        "pix_fmt",
        "width",
        "height",
        "r_frame_rate",
        "nb_frames",
    ):
        assert vin[key] == vout[key], key


def test_prompt_is_legible_and_big_enough(
    clips: dict[str, Path], labeled: dict[str, Any], ocr: Any
) -> None:
    out, res = labeled["path"], labeled["res"]
    assert res.glyph_height_ratio >= 0.05
    assert res.label_end_s >= 3.0
    for t in (0.5, 1.9):
        frame = frame_at(out, t)
        result, _ = ocr(np.asarray(frame))
        found = "".join(line[1] for line in result or [])
        assert check_wording(found).ok, (t, found)
        assert "AI生成" in found
        ink = ink_height(frame_at(clips["mp4"], t), frame)
        assert ink >= 0.05 * min(W, H), ink
        assert abs(ink - res.glyph_height_px) <= 2
    # shown for the whole 3 s, gone after it
    assert frame_at(out, 2.96).tobytes() != frame_at(clips["mp4"], 2.96).tobytes()
    assert frame_at(out, 3.2).tobytes() == frame_at(clips["mp4"], 3.2).tobytes()


@pytest.mark.parametrize("name", ["mkv", "fast", "p10", "p444"])
def test_head_reencode_other_layouts(clips: dict[str, Path], tmp_path: Path, name: str) -> None:
    src = clips[name]
    out = tmp_path / f"out{src.suffix}"
    res = add_video_label(src, out, VideoLabelOptions(duration_s=2.0, position="bottom-left"))
    assert res.mode == "head-reencode", res.reason
    assert res.cut_s == pytest.approx(2.0)
    assert errors(out) == ""
    before, after = framemd5(src), framemd5(out)
    assert after[2 * FPS :] == before[2 * FPS :]
    assert len(after) == len(before)
    assert probe(out)["format"]["format_name"] == probe(src)["format"]["format_name"]
    vin, vout = probe(src)["streams"][0], probe(out)["streams"][0]
    assert (vin["profile"], vin["pix_fmt"]) == (vout["profile"], vout["pix_fmt"])
    if name == "fast":  # moov still before mdat
        data = out.read_bytes()
        assert data.find(b"moov") < data.find(b"mdat")


@pytest.mark.parametrize(
    ("name", "opts", "reason"),
    [
        ("opengop", {}, "no IDR frame"),
        ("mp4", {"duration_s": 6.0}, "no IDR frame"),
        ("mp4", {"corner_mark": True}, "corner mark"),
        ("mpeg4", {}, "mpeg4"),
        ("hevc", {"duration_s": 2.0}, "hevc"),
    ],
)
def test_full_reencode_fallback(
    clips: dict[str, Path], tmp_path: Path, ocr: Any, name: str, opts: dict[str, Any], reason: str
) -> None:
    src = clips[name]
    out = tmp_path / f"out{src.suffix}"
    res = add_video_label(src, out, VideoLabelOptions(**opts))
    assert res.mode == "full-reencode"
    assert reason in res.reason
    assert errors(out) == ""
    assert len(framemd5(out)) == len(framemd5(src))
    vin, vout = probe(src)["streams"][0], probe(out)["streams"][0]
    assert (vin["codec_name"], vin["codec_tag_string"]) == (
        vout["codec_name"],
        vout["codec_tag_string"],
    )
    result, _ = ocr(np.asarray(frame_at(out, 0.5)))
    assert "AI生成" in "".join(line[1] for line in result or [])
    if opts.get("corner_mark"):  # the mark stays after the start prompt ends
        late = np.asarray(frame_at(out, 4.5), dtype=int) - np.asarray(frame_at(src, 4.5), dtype=int)
        changed = np.abs(late).max(axis=2) > 80
        assert changed[H // 2 :, W // 2 :].sum() > 50
        assert changed[: H // 2].sum() < 50


def test_rotated_phone_video(clips: dict[str, Path], tmp_path: Path, ocr: Any) -> None:
    """A display-matrix rotation (phones) is kept and the prompt is upright as shown."""
    src = tmp_path / "rot.mp4"
    copy = ["ffmpeg", "-v", "error", "-y"]
    done = subprocess.run(
        [*copy, "-display_rotation", "90", "-i", str(clips["mp4"]), "-c", "copy", str(src)],
        capture_output=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:  # ffmpeg < 6: the legacy rotate tag
        run(*copy, "-i", clips["mp4"], "-c", "copy", "-metadata:s:v:0", "rotate=90", src)
    out = tmp_path / "out.mp4"
    res = add_video_label(src, out)
    assert res.mode == "head-reencode"
    assert errors(out) == ""
    side = probe(out)["streams"][0].get("side_data_list", [])
    assert any(abs(int(d.get("rotation", 0))) == 90 for d in side)
    shown = frame_at(out, 0.5, (H, W))  # portrait once rotated
    result, _ = ocr(np.asarray(shown))
    line = next(r for r in result or [] if "AI生成" in r[1])
    xs, ys = [p[0] for p in line[0]], [p[1] for p in line[0]]
    assert max(xs) - min(xs) > 2 * (max(ys) - min(ys))  # upright: wider than tall
    assert max(xs) < H / 2
    assert max(ys) < W / 4


def test_implicit_label_is_kept(clips: dict[str, Path], tmp_path: Path) -> None:
    src = tmp_path / "implicit.mp4"
    src.write_bytes(label_bytes(clips["mp4"].read_bytes()))
    out = tmp_path / "out.mp4"
    res = add_video_label(src, out)
    assert read_labels(out.read_bytes()) == read_labels(src.read_bytes()) != []
    assert any("implicit label" in n for n in res.notes)
    assert errors(out) == ""


def test_video_without_audio_and_stream_api(clips: dict[str, Path]) -> None:
    out = io.BytesIO()
    opts = VideoLabelOptions(text="本视频由人工智能生成", duration_s=2.0)
    with open(clips["p10"], "rb") as f:
        res = label_video_stream(f, out, opts)
    assert res.mode == "head-reencode"
    assert res.text == "本视频由人工智能生成"
    assert len(out.getvalue()) > 1000


def test_errors_leave_nothing_behind(clips: dict[str, Path], tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=1", wav)
    with pytest.raises(UnsupportedFormatError):
        add_video_label(wav, tmp_path / "o.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    with pytest.raises(AigcLabelError):
        add_video_label(junk, tmp_path / "o.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "junk.mp4"]
    with open(clips["mp4"], "rb") as f, pytest.raises(LimitExceededError):
        label_video_stream(f, io.BytesIO(), limits=Limits(max_file_bytes=1000))
    for bad in ({"duration_s": 1.5}, {"text": "智能生成"}, {"position": "middle"}, {"crf": 99}):
        with pytest.raises(InvalidExplicitLabelError):
            VideoLabelOptions(**bad)  # type: ignore[arg-type]


def test_adapter(clips: dict[str, Path]) -> None:
    from aigc_label.explicit import video

    opts = ExplicitOptions(lang="en", settings={"duration_s": "2"})
    with open(clips["mp4"], "rb") as f:
        assert video.accepts(f, "mp4")
        out = io.BytesIO()
        outcome = video.add_label(f, out, "mp4", opts, video.DEFAULT_LIMITS)
    assert outcome.text == "AI-generated"
    assert outcome.details["mode"] == "head-reencode"
    assert outcome.details["cut_s"] == 2.0
    assert float(outcome.details["glyph_height_ratio"]) >= 0.05
