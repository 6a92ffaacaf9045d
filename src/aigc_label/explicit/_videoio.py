"""Video container plumbing for the video label: probing, stream copying, the full re-encode.

All in-process with PyAV. Every stream other than the labeled video (audio,
subtitles, data, attachments) is stream-copied with its tags and disposition;
one that the output format refuses is dropped with a note. A "faststart" MP4
(``moov`` before ``mdat``) stays faststart.
"""

from __future__ import annotations

import contextlib
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, cast

import av
from av.container import InputContainer, OutputContainer
from av.stream import Disposition
from av.video.stream import VideoStream

from ..errors import UnsupportedFormatError

FULL_ENCODERS = {
    "h264": "libx264",
    "hevc": "libx265",
    "vp9": "libvpx-vp9",
    "vp8": "libvpx",
    "mpeg4": "mpeg4",
    "mpeg2video": "mpeg2video",
    "mjpeg": "mjpeg",
    "av1": "libsvtav1",
}
"""Decoder name to the encoder of the same codec used for a full re-encode."""

DROPPED_TAGS = ("encoder", "major_brand", "minor_version", "compatible_brands")
"""Tags the muxer writes itself."""

COLOR_FIELDS = ("color_range", "colorspace", "color_primaries", "color_trc")
"""Colour description copied from the source to the encoder (and so to the VUI)."""

BOX_HEADER = struct.Struct(">I4s")
BOX_SIZE64 = struct.Struct(">Q")
"""ISO BMFF box header and its 64-bit size extension (for the faststart check)."""

Labeler = Callable[[av.VideoFrame], av.VideoFrame]


@dataclass
class Source:
    """What the writers need to know about the input's video stream."""

    index: int
    codec: str
    out_format: str
    width: int
    height: int
    time_base: Fraction
    rate: Fraction
    start: int
    """First presentation time, in ``time_base`` units."""
    pix_fmt: str
    extradata: bytes | None
    delay: int
    """Reorder depth (frames a decoder holds back for B-frames)."""
    duration_s: float
    faststart: bool
    color: dict[str, int] = field(default_factory=dict)
    tag: str = ""
    """The sample-entry fourcc (``hvc1`` vs ``hev1`` matters to Apple players)."""


def open_input(src: BinaryIO) -> InputContainer:
    src.seek(0)
    return av.open(src, "r")


def video_stream(inp: InputContainer) -> VideoStream:
    """The first video stream that is not a cover picture."""
    for v in inp.streams.video:
        if not v.disposition & Disposition.attached_pic:
            return v
    raise UnsupportedFormatError("no video stream to label")


def has_video(src: BinaryIO) -> bool:
    """True when ``src`` holds a video stream (cover pictures do not count)."""
    try:
        with open_input(src) as inp:
            video_stream(inp)
        ok = True
    except (av.FFmpegError, UnsupportedFormatError):
        ok = False
    src.seek(0)
    return ok


def _out_format(inp: InputContainer, head: bytes) -> str:
    name = inp.format.name
    if name.startswith("mov,mp4"):
        return "mov" if str(inp.metadata.get("major_brand", "")).strip() == "qt" else "mp4"
    if name.startswith("matroska"):
        return "webm" if b"webm" in head[:64] else "matroska"
    if name in ("avi", "flv", "mpegts"):
        return name
    raise UnsupportedFormatError(f"video labels cannot be written to {name} files")


def _moov_first(src: BinaryIO) -> bool:
    """True when an MP4's ``moov`` box comes before ``mdat`` (a "faststart" file)."""
    pos = 0
    for _ in range(32):
        src.seek(pos)
        head = src.read(16)
        if len(head) < 8:
            return False
        size, kind = cast(tuple[int, bytes], BOX_HEADER.unpack(head[:8]))
        if size == 1 and len(head) == 16:
            size = int(BOX_SIZE64.unpack(head[8:16])[0])
        if kind in (b"moov", b"mdat"):
            return kind == b"moov"
        if size < 8:
            return False
        pos += size
    return False


def probe(src: BinaryIO) -> Source:
    """Read the video stream's parameters (one open, no decoding)."""
    src.seek(0)
    head = src.read(64)
    with open_input(src) as inp:
        vs = video_stream(inp)
        cc = vs.codec_context
        out_format = _out_format(inp, head)
        rate = vs.average_rate or vs.guessed_rate or Fraction(25)
        duration = float(inp.duration / av.time_base) if inp.duration else 0.0
        info = Source(
            vs.index, cc.name, out_format, cc.width, cc.height, vs.time_base or Fraction(1, 90000),
            Fraction(rate), vs.start_time or 0, cc.format.name if cc.format else "",
            cc.extradata, cc.reorder_depth, duration, False,
            {k: getattr(cc, k) for k in COLOR_FIELDS},
        )  # fmt: skip
        tag = cc.codec_tag
        info.tag = tag if len(tag) == 4 and tag.isprintable() else ""
    info.faststart = out_format in ("mp4", "mov") and _moov_first(src)
    return info


def tags(meta: Any) -> dict[str, str]:
    return {k: v for k, v in dict(meta).items() if k.lower() not in DROPPED_TAGS}


@contextlib.contextmanager
def open_output(dst: BinaryIO, src: Source) -> Iterator[OutputContainer]:
    """The output container; a faststart MP4 goes through a named temp file, because
    FFmpeg's second pass (moving ``moov`` ahead of ``mdat``) reopens the file by name."""
    if not src.faststart:
        with av.open(dst, "w", format=src.out_format) as out:
            yield out
        return
    with tempfile.TemporaryDirectory(prefix="aigc-video-") as tmp:
        path = Path(tmp) / f"out.{src.out_format}"
        opts = {"movflags": "+faststart"}
        with av.open(str(path), "w", format=src.out_format, container_options=opts) as out:
            yield out
        with open(path, "rb") as f:
            shutil.copyfileobj(f, dst, 1 << 20)


def copy_streams(
    inp: InputContainer, out: OutputContainer, skip: int, notes: list[str]
) -> dict[int, Any]:
    """Output streams copying every input stream except ``skip``, by input index."""
    out.metadata.update(tags(inp.metadata))
    found: dict[int, Any] = {}
    for s in inp.streams:
        if s.index == skip:
            continue
        try:
            ost = out.add_stream_from_template(s)
        except (ValueError, av.FFmpegError):
            notes.append(f"stream {s.index} ({s.type}) cannot be copied into {out.format.name}")
            continue
        ost.metadata.update(tags(s.metadata))
        ost.disposition = s.disposition
        found[s.index] = ost
    return found


def full_reencode(
    source: BinaryIO, dst: BinaryIO, src: Source, crf: int, label: Labeler, notes: list[str]
) -> int:
    """Decode, label and encode every frame in the source's codec; returns the frame count.

    Raises:
        UnsupportedFormatError: no encoder for the source's codec.
    """
    name = FULL_ENCODERS.get(src.codec)
    if name is None:
        raise UnsupportedFormatError(f"no encoder for {src.codec} video")
    frames = 0
    with open_input(source) as inp, open_output(dst, src) as out:
        vs = inp.streams.video[src.index]
        vs.codec_context.thread_type = "AUTO"
        ovs = cast(VideoStream, out.add_stream(name, rate=src.rate))
        cc = ovs.codec_context
        cc.width, cc.height, cc.time_base = src.width, src.height, src.time_base
        formats = [f.name for f in cc.codec.video_formats or ()]
        cc.pix_fmt = src.pix_fmt if src.pix_fmt in formats else formats[0]
        if cc.pix_fmt != src.pix_fmt:
            notes.append(f"pixel format changed from {src.pix_fmt} to {cc.pix_fmt}")
        for key, value in src.color.items():
            setattr(cc, key, value)
        if vs.sample_aspect_ratio:
            cc.sample_aspect_ratio = vs.sample_aspect_ratio
        cc.options = quality_options(name, crf)
        if src.tag and src.out_format in ("mp4", "mov"):
            cc.codec_tag = src.tag
        if not cc.options:  # no constant-quality mode: keep the source's bit rate
            cc.bit_rate = vs.codec_context.bit_rate or inp.bit_rate or 0
        ovs.metadata.update(tags(vs.metadata))
        others = copy_streams(inp, out, src.index, notes)
        for packet in inp.demux():
            if packet.stream.index == src.index:
                for decoded in packet.decode():
                    frame = cast(av.VideoFrame, decoded)
                    if frame.format.name != cc.pix_fmt:
                        frame = frame.reformat(format=cc.pix_fmt)
                    out.mux(ovs.encode(label(frame)))
                    frames += 1
            elif packet.stream.index in others and packet.size:
                packet.stream = others[packet.stream.index]
                out.mux(packet)
        out.mux(ovs.encode(None))
    return frames


def quality_options(encoder: str, crf: int) -> dict[str, str]:
    """Constant-quality settings for a full re-encode (x264's CRF scale, mapped)."""
    if encoder == "libx264":
        return {"preset": "medium", "crf": str(crf)}
    if encoder == "libx265":  # x265 logs to stderr by itself unless told not to
        return {"preset": "medium", "crf": str(crf), "x265-params": "log-level=error"}
    if encoder in ("libvpx", "libvpx-vp9"):
        return {"crf": str(min(63, crf + 13)), "b": "0"}
    if encoder == "libsvtav1":
        return {"crf": str(min(63, crf + 12))}
    return {}
