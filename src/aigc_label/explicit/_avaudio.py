"""Decode, splice and re-encode compressed audio in-process with PyAV (FFmpeg's libraries).

Two passes over the input: the first decodes everything to measure the level
per 100 ms block and count the samples (what the planner needs); the second
decodes again and feeds the spliced samples to an encoder of the same codec
with the same sample rate, channel layout and (where the encoder takes it)
sample format, at the input's bit rate. Memory stays bounded by one decoded
frame plus the prompt. Container and stream tags are copied; a cover picture
(an attached-picture stream) is stream-copied where the output format carries
one. Vorbis goes through libvorbis in soundfile, because the FFmpeg bundled
with PyAV has only its experimental, stereo-only Vorbis encoder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, BinaryIO, Generic, TypeVar, cast

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.stream import Disposition, Stream

from ..errors import NotAvailableError, UnsupportedFormatError
from ._pcm import BlockStats, Copy, FloatArray, Insert, Mix, Plan, from_float, mix_into, to_float

T = TypeVar("T")

ENCODERS = {
    "mp3": "libmp3lame",
    "mp3float": "libmp3lame",
    "aac": "aac",
    "flac": "flac",
    "alac": "alac",
    "opus": "libopus",
    "libopus": "libopus",
}
"""Decoder name to the encoder that writes the same codec (Vorbis is handled apart)."""

LOSSLESS = ("flac", "alac")

DROPPED_TAGS = ("encoder", "major_brand", "minor_version", "compatible_brands")
"""Tags the muxer writes itself."""

VORBIS_QUALITY_KBPS = (64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 500)
"""libvorbis nominal stereo bit rate at quality 0..10, to map a bit rate back to a quality."""


@dataclass
class TranscodeResult(Generic[T]):
    container: str
    codec: str
    rate: int
    channels: int
    in_frames: int
    out_frames: int
    lossless: bool
    extra: T
    notes: list[str] = field(default_factory=list)


PlanFn = Callable[[int, FloatArray, FloatArray, int], tuple[Plan, T]]


def _open(src: BinaryIO) -> InputContainer:
    src.seek(0)
    return av.open(src, "r")


def _is_picture(stream: Any) -> bool:
    return bool(stream.disposition & Disposition.attached_pic)


def is_audio_only(src: BinaryIO) -> bool:
    """True when ``src`` has an audio stream and no video apart from cover pictures."""
    try:
        with _open(src) as inp:
            ok = bool(inp.streams.audio) and all(_is_picture(v) for v in inp.streams.video)
    except av.FFmpegError:
        ok = False
    src.seek(0)
    return ok


def _audio_stream(inp: InputContainer) -> AudioStream:
    if not inp.streams.audio:
        raise UnsupportedFormatError("no audio stream to label")
    if not all(_is_picture(v) for v in inp.streams.video):
        raise UnsupportedFormatError("the file holds video: use the video label")
    return inp.streams.audio[0]


def _array(frame: av.AudioFrame) -> npt.NDArray[np.generic]:
    """A decoded frame as (channels, n)."""
    arr = frame.to_ndarray()
    if frame.format.is_planar:
        return arr
    return np.asarray(arr.reshape(-1, len(frame.layout.channels)).T)


def _frames(
    inp: InputContainer, stream: AudioStream, other: Callable[[Packet[Stream]], None] | None = None
) -> Iterator[npt.NDArray[np.generic]]:
    for packet in inp.demux():
        if packet.stream.index == stream.index:
            for frame in packet.decode():
                yield _array(cast(av.AudioFrame, frame))
        elif other is not None and packet.dts is not None:
            other(packet)


def _out_format(inp: InputContainer, head: bytes) -> str:
    name = inp.format.name
    if name.startswith("mov,mp4"):
        brand = str(inp.metadata.get("major_brand", "")).strip()
        return "ipod" if brand.startswith("M4") else ("mov" if brand == "qt" else "mp4")
    if name.startswith("matroska"):
        return "webm" if b"webm" in head else "matroska"
    if name in ("mp3", "flac", "ogg"):
        return name
    raise UnsupportedFormatError(f"audio labels cannot be written to {name} files")


def _tags(meta: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in meta.items() if k.lower() not in DROPPED_TAGS}


def _apply(
    content: Iterator[npt.NDArray[np.generic]], plan: Plan, dtype: np.dtype[np.generic], ch: int
) -> Iterator[npt.NDArray[np.generic]]:
    """The spliced output as (channels, n) chunks in ``dtype``."""
    pending: list[npt.NDArray[np.generic]] = []

    def take(n: int) -> Iterator[npt.NDArray[np.generic]]:
        while n > 0:
            if not pending:
                nxt = next(content, None)
                if nxt is None:
                    return
                pending.append(nxt)
            head = pending.pop()
            if head.shape[1] > n:
                pending.append(head[:, n:])
                head = head[:, :n]
            n -= head.shape[1]
            yield head

    for seg in plan:
        if isinstance(seg, Copy):
            yield from take(seg.end - seg.start)
        elif isinstance(seg, Insert):
            mono = from_float(seg.samples, dtype)
            yield np.ascontiguousarray(np.broadcast_to(mono, (ch, len(mono))))
        elif isinstance(seg, Mix):
            off = 0
            for chunk in take(seg.end - seg.start):
                n = chunk.shape[1]
                yield mix_into(chunk, seg.samples[off : off + n], seg.duck)
                off += n
    for _ in content:  # drain, so side effects (cover packets) still happen
        pass


def transcode(
    src: BinaryIO, dst: BinaryIO, make_plan: PlanFn[T], bit_rate: int | None
) -> TranscodeResult[T]:
    """Measure, plan and write; ``make_plan(rate, ms, peaks, frames)`` returns the plan."""
    src.seek(0)
    head = src.read(64)
    with _open(src) as inp:
        stream = _audio_stream(inp)
        out_format = _out_format(inp, head)
        dec_name = stream.codec_context.codec.name
        enc_name = ENCODERS.get(dec_name)
        if enc_name is None and dec_name != "vorbis":
            raise UnsupportedFormatError(f"no encoder for {dec_name} audio")
        stats: BlockStats | None = None
        fmt_name = layout = ""
        dtype: np.dtype[np.generic] = np.dtype(np.float32)
        rate = stream.codec_context.sample_rate
        for frame in inp.decode(stream):
            if stats is None:
                rate, fmt_name, layout = frame.sample_rate, frame.format.name, frame.layout.name
                stats = BlockStats(rate)
            arr = _array(frame)
            dtype = arr.dtype
            stats.add(to_float(arr))
        if stats is None:
            raise UnsupportedFormatError("the audio stream holds no samples")
        channels = stream.codec_context.channels
        rate_in = bit_rate or stream.codec_context.bit_rate or inp.bit_rate or 0
        meta, stream_meta = _tags(dict(inp.metadata)), _tags(dict(stream.metadata))
    ms, peaks = stats.finish()
    plan, extra = make_plan(rate, ms, peaks, stats.frames)
    result = TranscodeResult(
        out_format.replace("ipod", "m4a"), dec_name, rate, channels, stats.frames,
        sum(s.end - s.start if isinstance(s, Copy | Mix) else len(s.samples) for s in plan),
        dec_name in LOSSLESS, extra,
    )  # fmt: skip
    with _open(src) as inp, av.open(dst, "w", format=out_format) as out:
        stream = _audio_stream(inp)
        out.metadata.update(meta)
        pictures = _picture_streams(inp, out, result.notes) if enc_name else {}
        if enc_name is None and inp.streams.video:
            result.notes.append("the cover picture was dropped (Vorbis output)")

        def other(packet: Packet[Stream]) -> None:
            target = pictures.get(packet.stream.index)
            if target is not None:
                packet.stream = target
                out.mux(packet)

        chunks = _apply(_frames(inp, stream, other), plan, dtype, channels)
        if enc_name is None:
            _vorbis(chunks, out, rate, channels, rate_in, stream_meta)
        else:
            ost = cast(AudioStream, out.add_stream(enc_name, rate=rate))
            cc = ost.codec_context
            cc.layout = layout
            cc.sample_rate = rate
            names = [f.name for f in (cc.codec.audio_formats or ())]
            cc.format = fmt_name if fmt_name in names else names[0]
            if rate_in and dec_name not in LOSSLESS:
                cc.bit_rate = rate_in
            ost.metadata.update(stream_meta)
            pts = 0
            for chunk in chunks:
                data = chunk if av.AudioFormat(fmt_name).is_planar else chunk.T.reshape(1, -1)
                fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), fmt_name, layout)
                fr.sample_rate, fr.pts, fr.time_base = rate, pts, Fraction(1, rate)
                pts += chunk.shape[1]
                out.mux(ost.encode(fr))
            out.mux(ost.encode(None))
    return result


def _picture_streams(inp: InputContainer, out: OutputContainer, notes: list[str]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for v in inp.streams.video:
        try:
            ost = out.add_stream_from_template(v)
        except ValueError:
            notes.append(
                f"the cover picture cannot be carried in {out.format.name} and was dropped"
            )
            continue
        ost.disposition = v.disposition
        found[v.index] = ost
    return found


def _vorbis(
    chunks: Iterator[npt.NDArray[np.generic]],
    out: OutputContainer,
    rate: int,
    channels: int,
    bit_rate: int,
    stream_meta: dict[str, str],
) -> None:
    """Encode with libvorbis (soundfile) into a temp Ogg, then remux into ``out`` with the tags."""
    try:
        import soundfile  # type: ignore[import-untyped]
    except ModuleNotFoundError as e:
        raise NotAvailableError("Ogg Vorbis output needs the soundfile package") from e

    per_channel = (bit_rate or 112_000 * channels // 2) / 1000 / max(channels, 1) * 2
    quality = float(np.interp(per_channel, VORBIS_QUALITY_KBPS, np.arange(11))) / 10
    with tempfile.TemporaryFile() as tmp:
        with soundfile.SoundFile(
            tmp, "w", rate, channels, "VORBIS", format="OGG", compression_level=1.0 - quality
        ) as sf:
            for chunk in chunks:
                sf.write(to_float(chunk).T.astype(np.float32))
        tmp.seek(0)
        with av.open(tmp, "r") as enc:
            ost = out.add_stream_from_template(enc.streams.audio[0])
            ost.metadata.update(stream_meta)
            for packet in enc.demux(enc.streams.audio[0]):
                if packet.dts is None:
                    continue
                packet.stream = ost
                out.mux(packet)
