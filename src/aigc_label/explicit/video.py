"""Video explicit label: the prompt burnt into the opening frames, re-encoding only the head.

Spec section 2 (video): a text prompt at the start frame, glyph height >= 5%
of the shortest side, shown for >= 2 s (default 3 s). The text is laid out and
measured by :class:`.image.LabelRenderer` (glyph ink height, contrast plate)
and blended into the frames' YUV planes by :mod:`._overlay`.

Head re-encode (:mod:`._smartcut`): only the frames from the start up to the
first IDR frame at or after the label's end are decoded, labeled and encoded
again; every packet from that IDR on - video, audio, subtitles - is copied
unchanged, so the cost is a few seconds of encoding whatever the length.

Full re-encode (``mode="full-reencode"``, with the reason, :mod:`._videoio`)
when that cannot work: another codec, a container that keeps H.264 parameter
sets in-band (AVI, FLV, MPEG-TS), interlaced or Extended-profile H.264, no IDR
after the label's end (open GOP, or a label as long as the video), frames that
cross the cut, or a persistent corner mark (it changes every frame). All
in-process with PyAV (FFmpeg's libraries); ffmpeg is never run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import av
from PIL import Image

from .._io import atomic_output, stream_size
from ..errors import (
    CorruptFileError,
    FileAccessError,
    InvalidExplicitLabelError,
    LimitExceededError,
)
from ..limits import DEFAULT_LIMITS, Limits
from . import _carry, _smartcut, _videoio
from ._overlay import Overlay
from ._videoio import Source, has_video
from .base import ExplicitOptions, ExplicitOutcome, Style
from .image import LabelRenderer
from .wording import (
    DEFAULT_DURATION_S,
    DEFAULT_HEIGHT_RATIO,
    IMAGE_POSITIONS,
    MIN_HEIGHT_RATIO,
    Lang,
    require_duration,
    require_height_ratio,
    require_position,
    resolve_text,
)

MODALITY = "video"
FORMATS: tuple[str, ...] = ("mp4", "mov", "matroska", "avi", "flv")
"""Sniffed format names this module writes (when the file holds video)."""

Mode = Literal["head-reencode", "full-reencode"]

DEFAULT_POSITION = "top-left"
"""Away from player controls and subtitles, which sit at the bottom."""

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")


@dataclass(frozen=True)
class VideoLabelOptions:
    """What to draw and how to write it; every default is compliant."""

    text: str | None = None
    """None: the short default for ``lang`` ("AI生成")."""
    lang: Lang = "zh"
    position: str = DEFAULT_POSITION
    height_ratio: float = DEFAULT_HEIGHT_RATIO
    style: Style = "plate"
    font: str | None = None
    duration_s: float = DEFAULT_DURATION_S
    corner_mark: bool = False
    """Also keep a small mark on every frame (forces a full re-encode)."""
    mark_position: str = "bottom-right"
    preset: str = "veryfast"
    """x264 preset for the re-encoded head (a full re-encode uses "medium")."""
    crf: int = 18
    full_reencode: bool = False
    """Re-encode everything even when the head splice would work."""

    def __post_init__(self) -> None:
        require_duration(self.duration_s)
        require_height_ratio(self.height_ratio)
        require_position(self.position, IMAGE_POSITIONS, DEFAULT_POSITION, "a video")
        require_position(self.mark_position, IMAGE_POSITIONS, "bottom-right", "a corner mark")
        resolve_text(self.text, self.lang, short=True)
        if self.preset not in X264_PRESETS or not 0 <= self.crf <= 51:
            raise InvalidExplicitLabelError(
                f"video preset must be one of {', '.join(X264_PRESETS)} and crf 0..51"
            )

    @property
    def resolved_text(self) -> str:
        return resolve_text(self.text, self.lang, short=True)


@dataclass(frozen=True)
class VideoLabelOutcome:
    """What was written, with the numbers that show it."""

    format: str
    codec: str
    mode: Mode
    reason: str
    """Why the whole video was re-encoded ("" for a head re-encode)."""
    width: int
    height: int
    text: str
    label_end_s: float
    """The prompt is on every frame from the first one until this time."""
    glyph_height_px: int
    glyph_height_ratio: float
    reencoded_frames: int
    copied_video_packets: int
    cut_s: float | None
    """Start of the stream-copied tail (the IDR frame), None after a full re-encode."""
    duration_s: float
    notes: tuple[str, ...] = ()


class _Labeler:
    """Draws the prompt (and the optional mark) on frames; built on the first frame."""

    def __init__(self, options: VideoLabelOptions, src: Source) -> None:
        self.options = options
        self.src = src
        self.end = src.start + round(options.duration_s / src.time_base)
        self.renderer = LabelRenderer(
            options.resolved_text, options.position, options.height_ratio, options.style,
            options.font,
        )  # fmt: skip
        self.layout = self.renderer.layout((src.width, src.height))
        """The layout the size rule is reported on (replaced by the displayed one)."""
        self.main: Overlay | None = None
        self.mark: Overlay | None = None
        self.last_labeled = src.start

    def _overlay(self, renderer: LabelRenderer, frame: av.VideoFrame) -> Overlay:
        """The label laid out on the picture as displayed (a display-matrix rotation, e.g.
        from a phone, is applied first), then turned back to the stored orientation."""
        turns = round(float(getattr(frame, "rotation", 0) or 0) / 90) % 4
        stored: Image.Image = cast(Any, frame).to_image()
        shown = stored.rotate(90 * turns, expand=True) if turns else stored
        layout = renderer.layout(shown.size)
        tile = renderer.tile(layout, renderer.choose_dark(shown, layout))
        xy = layout.box[:2]
        if turns:
            canvas = Image.new("RGBA", shown.size, (0, 0, 0, 0))
            canvas.paste(tile, xy)
            back = canvas.rotate(-90 * turns, expand=True)
            box = back.getbbox() or (0, 0, 1, 1)
            tile, xy = back.crop(box), box[:2]
        if renderer is self.renderer:
            self.layout = layout
        cs, cr = self.src.color.get("colorspace", 2), self.src.color.get("color_range", 0)
        return Overlay(tile, xy, frame.format.name, (frame.width, frame.height), cs, cr)

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        pts = frame.pts if frame.pts is not None else 0
        labeled = pts < self.end
        if labeled:
            if self.main is None:
                self.main = self._overlay(self.renderer, frame)
            frame = self.main.apply(frame)
            self.last_labeled = max(self.last_labeled, pts)
        if self.options.corner_mark and not (
            labeled and self.options.mark_position == self.options.position
        ):
            if self.mark is None:
                mark = LabelRenderer(
                    self.options.resolved_text, self.options.mark_position, MIN_HEIGHT_RATIO,
                    self.options.style, self.options.font,
                )  # fmt: skip
                self.mark = self._overlay(mark, frame)
            frame = self.mark.apply(frame)
        frame.pict_type = av.video.frame.PictureType.NONE
        return frame

    def label_end_s(self) -> float:
        step = 1 / float(self.src.rate) if self.src.rate else 0.0
        return float((self.last_labeled - self.src.start) * self.src.time_base) + step


# ---------------------------------------------------------------- entry points


def _blocker(src: Source, options: VideoLabelOptions) -> str:
    """Why the whole video must be re-encoded ("" when the head splice may work)."""
    if options.full_reencode:
        return "a full re-encode was requested"
    if options.corner_mark:
        return "the persistent corner mark changes every frame"
    return _smartcut.blocker(src)


def label_video_stream(
    source: BinaryIO,
    dst: BinaryIO,
    options: VideoLabelOptions | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> VideoLabelOutcome:
    """Write ``source`` with the start-frame prompt to ``dst`` (seekable binary streams;
    ``dst`` empty). An implicit label the input carries is kept.

    Raises:
        UnsupportedFormatError: no video stream, or a codec/container we cannot write.
        CorruptFileError: the decoder or the H.264 parser failed on the input.
        InvalidExplicitLabelError: a prompt that is not a valid label or does not fit.
    """
    options = options or VideoLabelOptions()
    size = stream_size(source)
    if size > limits.max_file_bytes:
        raise LimitExceededError("file size", size, limits.max_file_bytes, "video")
    label = _carry.existing_label(source, limits)
    try:
        src = _videoio.probe(source)
        labeler = _Labeler(options, src)
        notes: list[str] = []
        head: _smartcut.Head | str = _blocker(src, options)
        mode: Mode = "full-reencode"
        if not head:
            head = _smartcut.encode_head(
                source, src, labeler, labeler.end, options.preset, options.crf
            )
        if isinstance(head, _smartcut.Head):
            copied = _smartcut.mux_head(source, dst, src, head, notes)
            frames, mode, reason = head.frames, "head-reencode", ""
            cut: float | None = float((head.k_pts - src.start) * src.time_base)
        else:
            labeler = _Labeler(options, src)
            frames = _videoio.full_reencode(source, dst, src, options.crf, labeler, notes)
            copied, cut, reason = 0, None, head
        _carry.restore_label(dst, label, limits, notes)
    except av.FFmpegError as e:
        raise CorruptFileError("video", None, str(e)) from e
    report = labeler.renderer.report(labeler.layout, True)
    return VideoLabelOutcome(
        src.out_format, src.codec, mode, reason, src.width, src.height,
        options.resolved_text, labeler.label_end_s(), report.glyph_height_px,
        report.glyph_height_ratio, frames, copied, cut, src.duration_s, tuple(notes),
    )  # fmt: skip


def add_video_label(
    src: Path, dst: Path, options: VideoLabelOptions | None = None, limits: Limits = DEFAULT_LIMITS
) -> VideoLabelOutcome:
    """Label the video file ``src`` into ``dst`` (written atomically; ``src`` untouched)."""
    try:
        with open(src, "rb") as f, atomic_output(dst) as out:
            return label_video_stream(f, out, options, limits)
    except OSError as e:
        raise FileAccessError(f"{e.filename or src}: {e.strerror or e}") from e


def options_from(options: ExplicitOptions) -> VideoLabelOptions:
    """Map the shared options. Settings: ``duration_s``, ``corner_mark`` (yes/no),
    ``mark_position``, ``preset``, ``crf``, ``full_reencode`` (yes/no)."""
    return VideoLabelOptions(
        text=options.text,
        lang=options.lang,
        position=options.position or DEFAULT_POSITION,
        height_ratio=options.height_ratio,
        style=options.style,
        font=options.font,
        duration_s=options.setting_float("duration_s", DEFAULT_DURATION_S),
        corner_mark=options.setting_bool("corner_mark", False),
        mark_position=options.setting("mark_position", "bottom-right"),
        preset=options.setting("preset", "veryfast"),
        crf=int(options.setting_float("crf", 18)),
        full_reencode=options.setting_bool("full_reencode", False),
    )


def accepts(src: BinaryIO, fmt: str) -> bool:
    """True when the container holds a video stream."""
    return has_video(src)


def add_label(
    src: BinaryIO, dst: BinaryIO, fmt: str, options: ExplicitOptions, limits: Limits
) -> ExplicitOutcome:
    """The dispatcher's entry point (see :mod:`.base`)."""
    opts = options_from(options)
    res = label_video_stream(src, dst, opts, limits)
    notes = list(res.notes)
    if res.mode == "full-reencode":
        notes.append(f"the whole video was re-encoded: {res.reason}")
    details: dict[str, str | int | float | bool] = {
        "mode": res.mode,
        "reason": res.reason,
        "codec": res.codec,
        "glyph_height_px": res.glyph_height_px,
        "glyph_height_ratio": round(res.glyph_height_ratio, 4),
        "label_end_s": round(res.label_end_s, 3),
        "reencoded_frames": res.reencoded_frames,
        "copied_video_packets": res.copied_video_packets,
    }
    if res.cut_s is not None:
        details["cut_s"] = round(res.cut_s, 3)
    return ExplicitOutcome(MODALITY, fmt, res.text, opts.position, details, notes)


__all__ = [
    "VideoLabelOptions",
    "VideoLabelOutcome",
    "add_video_label",
    "label_video_stream",
]
