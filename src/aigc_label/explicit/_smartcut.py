"""H.264 head re-encode ("smart render"): re-encode up to an IDR frame, copy the rest.

The head (every frame before the first IDR at or after the label's end, in
decode order) is decoded, labeled and encoded by libx264 with the source's
profile, level, pixel format, size, time base and colour description, and
with its SPS/PPS under an id the source does not use (x264 ``sps-id``). Both
sets of parameter sets go into the stream's one ``avcC`` record (ISO/IEC
14496-15 allows several), so head slices find the encoder's PPS and tail
slices the source's, the switch happens at an IDR, and the copied tail packets
are byte-for-byte the source's. The usual "smart cut" (LosslessCut, the ffmpeg
concat demuxer) instead needs encoder settings that reproduce the source's
parameter sets, or in-band parameter sets that some players ignore.

Timestamps: head PTS are the source's; head DTS are the sorted PTS shifted by
the larger of the encoder's and the source's reorder delay, which keeps every
DTS at or under its PTS and the last head DTS under the copied IDR's DTS.

A clean cut needs an IDR (not an open-GOP recovery point) whose PTS is above
every PTS before it in decode order, and no frame after it shown before it.
Each check that fails returns a reason, and the caller re-encodes everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

import av
from av.packet import Packet

from . import _h264
from ._videoio import Labeler, Source, copy_streams, open_input, open_output, tags

LOOKAHEAD_PACKETS = 64
"""Packets after the cut checked for frames shown before it."""


@dataclass
class Head:
    """The re-encoded head, ready to mux in front of the copied tail."""

    packets: list[tuple[bytes, int, int, bool, int]]
    """(payload, pts, dts, keyframe, duration) in decode order, length-prefixed NAL units."""
    avcc: bytes
    """The source's ``avcC`` with the encoder's SPS and PPS appended."""
    k_index: int
    """Decode-order index of the first copied video packet (the IDR)."""
    k_pts: int
    frames: int


def blocker(src: Source) -> str:
    """Why the head splice cannot be used on ``src`` ("" when it can)."""
    if src.codec != "h264":
        return f"{src.codec} video: the head splice is implemented for H.264 only"
    if src.out_format not in ("mp4", "mov", "matroska") or not _h264.is_avcc(src.extradata):
        return f"{src.out_format} keeps H.264 parameter sets in-band"
    config = _h264.parse_avcc(src.extradata or b"")
    if config.profile not in _h264.X264_PROFILES:
        return f"H.264 profile {config.profile} has no x264 equivalent"
    if src.pix_fmt not in [f.name for f in av.codec.Codec("libx264", "w").video_formats or ()]:
        return f"libx264 cannot encode {src.pix_fmt}"
    if _h264.free_id(config) is None:
        return "the stream uses every parameter-set id"
    return ""


def _encoder(src: Source, config: _h264.AvcConfig, sid: int, preset: str, crf: int) -> Any:
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = src.width, src.height, src.pix_fmt
    enc.time_base = src.time_base
    enc.framerate = src.rate
    for key, value in src.color.items():
        setattr(enc, key, value)
    enc.flags |= av.codec.context.Flags.global_header
    params = [f"sps-id={sid}", "repeat-headers=0", "open-gop=0"]
    if src.delay == 0:
        params.append("bframes=0")
    elif src.delay == 1:
        params.append("b-pyramid=none")
    enc.options = {
        "preset": preset,
        "crf": str(crf),
        "profile": _h264.X264_PROFILES[config.profile],
        "level": str(config.level),
        "x264-params": ":".join(params),
    }
    return enc


def encode_head(
    source: BinaryIO, src: Source, label: Labeler, label_end: int, preset: str, crf: int
) -> Head | str:
    """Decode, label and re-encode up to the cut; a reason string when no clean cut exists.

    Args:
        label_end: the cut is the first IDR with a PTS at or after this (stream time base).
    """
    config = _h264.parse_avcc(src.extradata or b"")
    sid = _h264.free_id(config)
    if sid is None:
        return "the stream uses every parameter-set id"
    enc = _encoder(src, config, sid, preset, crf)
    encoded: list[Packet[Any]] = []
    durations: dict[int, int] = {}
    k: tuple[int, int, int] | None = None
    index = frames = after = 0
    max_pts: int | None = None
    with open_input(source) as inp:
        vs = inp.streams.video[src.index]
        vs.codec_context.thread_type = "AUTO"
        for packet in inp.demux(vs):
            if packet.size == 0:  # the flush packet; skipped by mux_head too
                continue
            if packet.pts is None:
                return "video packets without timestamps"
            if k is not None:  # look past the cut for frames shown before it
                if packet.is_keyframe or after >= LOOKAHEAD_PACKETS:
                    break
                if packet.pts < k[1]:
                    return "frames after the cut are shown before it"
                after += 1
                continue
            if (
                packet.is_keyframe
                and packet.pts >= label_end
                and (max_pts is None or max_pts < packet.pts)
                and _h264.has_idr(_h264.split_length_prefixed(bytes(packet), config.length_size))
            ):
                k = (index, packet.pts, packet.dts if packet.dts is not None else packet.pts)
                continue
            max_pts = packet.pts if max_pts is None else max(max_pts, packet.pts)
            durations[packet.pts] = packet.duration or 0
            for frame in vs.codec_context.decode(packet):
                if frame.interlaced_frame:
                    return "interlaced video"
                encoded += enc.encode(label(frame))
                frames += 1
            index += 1
        if k is None:
            return "no IDR frame after the label's end"
        for frame in vs.codec_context.decode(None):
            encoded += enc.encode(label(frame))
            frames += 1
    encoded += enc.encode(None)
    if len(encoded) != frames:
        return "the encoder dropped or added frames"
    return _finish(config, sid, enc.extradata or b"", encoded, durations, k, frames)


def _finish(
    config: _h264.AvcConfig,
    sid: int,
    extradata: bytes,
    encoded: list[Packet[Any]],
    durations: dict[int, int],
    k: tuple[int, int, int],
    frames: int,
) -> Head | str:
    sets = _h264.split_annexb(extradata)
    sps = [n for n in sets if _h264.nal_type(n) == _h264.NAL_SPS]
    pps = [n for n in sets if _h264.nal_type(n) == _h264.NAL_PPS]
    if len(sps) != 1 or len(pps) != 1 or _h264.sps_id(sps[0]) != sid:
        return "the encoder's parameter sets are not what was asked for"
    if len(sps[0]) < 2 or sps[0][1] > config.profile:
        return "the encoder chose a higher profile than the source's"
    k_index, k_pts, k_dts = k
    pts_sorted = sorted(p.pts or 0 for p in encoded)
    delay = max(pts_sorted[i] - (p.pts or 0) for i, p in enumerate(encoded))
    shift = max(delay, k_pts - k_dts)
    packets = []
    for i, p in enumerate(encoded):
        nals = _h264.split_annexb(bytes(p))
        kept = [n for n in nals if _h264.nal_type(n) not in _h264.PARAMETER_SETS]
        payload = _h264.to_length_prefixed(kept, config.length_size)
        pts = p.pts or 0
        packets.append((payload, pts, pts_sorted[i] - shift, p.is_keyframe, durations.get(pts, 0)))
    avcc = config.with_sets(sps, pps).to_bytes()
    return Head(packets, avcc, k_index, k_pts, frames)


def mux_head(source: BinaryIO, dst: BinaryIO, src: Source, head: Head, notes: list[str]) -> int:
    """Write the head packets, then every source packet from the cut on; returns the
    number of copied video packets."""
    copied = 0
    with open_input(source) as inp, open_output(dst, src) as out:
        vs = inp.streams.video[src.index]
        ovs = out.add_stream_from_template(vs)
        ovs.codec_context.extradata = head.avcc
        ovs.metadata.update(tags(vs.metadata))
        ovs.disposition = vs.disposition
        others = copy_streams(inp, out, src.index, notes)
        vi = 0
        for packet in inp.demux():
            if packet.size == 0:
                continue
            if packet.stream.index == src.index:
                vi += 1
                if vi == 1:
                    for payload, pts, dts, key, dur in head.packets:
                        p = av.Packet(payload)
                        p.pts, p.dts, p.time_base, p.duration = pts, dts, src.time_base, dur
                        p.is_keyframe = key
                        p.stream = ovs
                        out.mux(p)
                if vi <= head.k_index:
                    continue
                packet.stream = ovs
                copied += 1
            elif packet.stream.index in others:
                packet.stream = others[packet.stream.index]
            else:
                continue
            out.mux(packet)
    return copied
