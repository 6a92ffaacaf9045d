"""MP3 handler: the label is an ID3v2 ``TXXX`` frame, description ``AIGC``, value the JSON.

Implements spec section 4 (MP3 row). The tag work (v2.3/v2.4 frames, padding,
unsynchronisation, in-the-wild ``COMM``/``PRIV`` XMP copies) lives in
:mod:`._id3`; this module finds the tags at the head of the file, decides the
format and streams the MPEG audio. Writing keeps the tag's version and every
other frame byte-for-byte; a file without a tag gets a new ID3v2.3 tag (read by
every ID3 reader, Windows Explorer included) with 1 KiB of padding. The JSON is
ASCII, so the frame uses text encoding 0 (ISO-8859-1), valid in v2.3 and v2.4.
The audio frames, an ID3v1 tag and an APEv2 tag at the end are copied verbatim
in blocks and never parsed. An ID3 tag followed by ``fLaC`` is a FLAC file in
disguise: it is handed to :class:`~.flac.FlacHandler` (the bytes decide).

Sniffing accepts an ID3v2.2-2.4 header, or an MPEG-1/2/2.5 Layer II/III frame
header with valid version, layer, bitrate, sample rate and emphasis fields (and,
when it lies within the sniffed bytes, a second valid header at the computed
frame length). Layer I is refused so UTF-16LE text (``FF FE``) is not mistaken
for audio.

Hand-written because mutagen edits in place and ffmpeg remuxes; limits are those
of :mod:`._id3` (tag size checked against the file, ``max_items`` frames and
tags, frame data bounded by ``max_metadata_bytes``).
"""

from __future__ import annotations

from typing import BinaryIO

from .._io import copy_range
from ..limits import Limits
from . import _id3
from .base import Handler, ReadResult, WriteOptions
from .flac import MAGIC as FLAC_MAGIC
from .flac import FlacHandler

FMT = "mp3"

_BITRATES_KBPS: dict[tuple[int, int], tuple[int, ...]] = {
    (1, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
"""Bitrate index -> kbit/s for (MPEG-1 or 2/2.5, layer); index 15 is invalid, 0 is free format."""

_SAMPLE_RATES: dict[int, tuple[int, int, int]] = {
    3: (44100, 48000, 32000),
    2: (22050, 24000, 16000),
    0: (11025, 12000, 8000),
}
"""Version bits (11 MPEG-1, 10 MPEG-2, 00 MPEG-2.5) -> sample rates by index."""

_LAYERS = {1: 3, 2: 2}
"""Layer bits -> layer number (01 Layer III, 10 Layer II; 11 Layer I is not accepted)."""


def mpeg_frame_length(head: bytes) -> int | None:
    """Length of the MPEG audio frame whose 4-byte header starts ``head``, or None if invalid."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate_index, rate_index, padding = head[2] >> 4, (head[2] >> 2) & 3, (head[2] >> 1) & 1
    if version == 1 or layer_bits not in _LAYERS or rate_index == 3 or head[3] & 3 == 2:
        return None
    if bitrate_index in (0, 15):
        return None
    layer = _LAYERS[layer_bits]
    kbps = _BITRATES_KBPS[(1 if version == 3 else 2, layer)][bitrate_index]
    rate = _SAMPLE_RATES[version][rate_index]
    factor = 144 if layer == 2 or version == 3 else 72
    return factor * kbps * 1000 // rate + padding


def sniff_mpeg(head: bytes) -> bool:
    """True when ``head`` starts with a valid Layer II/III frame header."""
    length = mpeg_frame_length(head)
    if length is None:
        return False
    if length + 4 <= len(head):
        return mpeg_frame_length(head[length : length + 4]) is not None
    return True


def _is_flac_after(src: BinaryIO, tags: list[_id3.Tag]) -> bool:
    if not tags:
        return False
    src.seek(tags[-1].end)
    return src.read(len(FLAC_MAGIC)) == FLAC_MAGIC


class Mp3Handler(Handler):
    name = "mp3"
    extensions = ("mp3",)
    mime_types = ("audio/mpeg",)

    def sniff(self, head: bytes) -> bool:
        return _id3.is_tag_header(head) or sniff_mpeg(head)

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        tags = _id3.scan_tags(src, 0, FMT, limits)
        if _is_flac_after(src, tags):
            return FlacHandler().read(src, limits)
        result = ReadResult()
        _id3.collect_labels(tags, FMT, limits, result, txxx_standard=True)
        return result

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        tags = _id3.scan_tags(src, 0, FMT, limits)
        if _is_flac_after(src, tags):
            FlacHandler().write(src, dst, opts, limits)
            return
        if tags:
            _id3.rewrite_tags(src, dst, tags, FMT, limits, opts.label_json)
        else:
            dst.write(_id3.new_tag(opts.label_json))
        copy_range(src, dst, tags[-1].end if tags else 0, None, FMT)
