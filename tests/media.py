"""Independent checkers the format tests share: ffmpeg/ffprobe runs, Pillow decodes, exiftool JSON.

Each helper asks a tool that is not ours what it sees in a file, so a test can
compare the answer for the original with the answer for the labeled copy. The
ffmpeg/ffprobe helpers fail the test when the tool fails or, where a clean
answer is the point (md5s, probes), when it prints anything at ``-v error``.
Small RIFF builders shared by the WebP, WAV and AVI tests live here too.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
from pathlib import Path
from typing import Any

from PIL import Image, ImageSequence

from tests.conftest import exiftool

# ---------------------------------------------------------------- ffmpeg


def ffmpeg(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``ffmpeg -v error -nostdin -y ARGS``; the caller checks the result."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def ffmpeg_ok(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """:func:`ffmpeg` that must exit 0."""
    res = ffmpeg(*args)
    assert res.returncode == 0, res.stderr
    return res


def framemd5(path: Path, *pre: str) -> str:
    """Per-packet checksums of every stream (``pre``: input options such as ``-ss``)."""
    res = ffmpeg_ok(*pre, "-i", path, "-map", "0", "-f", "framemd5", "-")
    assert res.stderr == ""
    return res.stdout


def audio_md5(path: Path) -> str:
    """MD5 of the decoded audio samples."""
    res = ffmpeg_ok("-i", path, "-map", "0:a", "-f", "md5", "-")
    assert res.stderr == ""
    return res.stdout.strip()


def decode_errors(path: Path) -> str:
    """What ffmpeg complains about while decoding the whole file ("" when clean)."""
    return ffmpeg("-i", path, "-f", "null", "-").stderr


# ---------------------------------------------------------------- ffprobe


def ffprobe(path: Path, *args: str) -> dict[str, Any]:
    """``ffprobe -v error ARGS -of json PATH``, parsed; ffprobe must succeed silently."""
    cmd = ["ffprobe", "-v", "error", *args, "-of", "json", str(path)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert res.stderr == ""
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def ffprobe_tags(path: Path) -> dict[str, str]:
    """Container-level (format) tags."""
    tags: dict[str, str] = ffprobe(path, "-show_entries", "format_tags")["format"].get("tags", {})
    return tags


def ffprobe_stream_tags(path: Path, index: int = 0) -> dict[str, str]:
    """Tags of stream ``index``."""
    streams = ffprobe(path, "-show_entries", "stream_tags")["streams"]
    tags: dict[str, str] = streams[index].get("tags", {})
    return tags


def ffprobe_errors(path: Path) -> str:
    """What ffprobe complains about while opening the file ("" when clean)."""
    cmd = ["ffprobe", "-v", "error", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stderr


# ---------------------------------------------------------------- exiftool


def exiftool_json(path: Path, *args: str) -> dict[str, Any]:
    """``exiftool -j ARGS PATH`` (TC260 config), the one file's tag dict."""
    tags: dict[str, Any] = json.loads(exiftool("-j", *args, path))[0]
    return tags


# ---------------------------------------------------------------- Pillow


def pixels(data: bytes) -> list[bytes]:
    """Raw pixel bytes of every frame/page, in the image's own mode."""
    with Image.open(io.BytesIO(data)) as im:
        return [f.tobytes() for f in ImageSequence.Iterator(im)]


def frames_and_info(data: bytes) -> tuple[list[tuple[bytes, Any]], dict[str, Any]]:
    """(RGBA pixels, duration) of every frame, and Pillow's info once the last is decoded."""
    with Image.open(io.BytesIO(data)) as im:
        out = []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            out.append((im.convert("RGBA").tobytes(), im.info.get("duration")))
        return out, dict(im.info)


def frames(data: bytes) -> list[tuple[bytes, Any]]:
    """(RGBA pixels, duration) of every frame."""
    return frames_and_info(data)[0]


# ---------------------------------------------------------------- RIFF builders


def riff_chunk(cid: bytes, data: bytes) -> bytes:
    """One RIFF chunk: id, little-endian size, data, pad byte when the size is odd."""
    return cid + struct.pack("<I", len(data)) + data + b"\x00" * (len(data) & 1)


def riff_form(form_type: bytes, *chunks: bytes, size: int | None = None) -> bytes:
    """A RIFF file of ``form_type`` holding ``chunks``; ``size`` overrides the true form size."""
    body = form_type + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) if size is None else size) + body
