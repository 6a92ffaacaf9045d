"""H.264 bitstream pieces the video head re-encode needs: NAL units, ``avcC``, parameter-set ids.

ISO/IEC 14496-10 (NAL unit header, SPS/PPS syntax up to their ids, Annex B
start codes, emulation prevention) and ISO/IEC 14496-15 5.3.3
(AVCDecoderConfigurationRecord, the ``avcC`` box and Matroska CodecPrivate).

Why by hand: the head re-encode splices a second set of parameter sets (the
encoder's, under ids the source does not use) into the one ``avcC`` record and
rewrites Annex B packets as length-prefixed ones; FFmpeg's bitstream filters
do the format change but not the merge, and no Python package edits ``avcC``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import CorruptFileError

FMT = "h264"

NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9
PARAMETER_SETS = (NAL_SPS, NAL_PPS, NAL_AUD)
"""NAL types dropped from re-encoded packets: parameter sets live in ``avcC``."""

HIGH_PROFILES = (100, 110, 122, 144, 244)
"""profile_idc values whose ``avcC`` may carry the chroma/bit-depth extension."""

MAX_SPS_ID = 31
"""Largest seq_parameter_set_id (and the largest id x264's ``sps-id`` takes)."""

U16 = struct.Struct(">H")


@dataclass(frozen=True)
class AvcConfig:
    """An AVCDecoderConfigurationRecord."""

    profile: int
    compat: int
    level: int
    length_size: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]
    tail: bytes
    """Bytes after the PPS list (the High-profile extension), kept verbatim."""

    def to_bytes(self) -> bytes:
        out = bytearray((1, self.profile, self.compat, self.level, 0xFC | (self.length_size - 1)))
        out.append(0xE0 | len(self.sps))
        for nal in self.sps:
            out += U16.pack(len(nal)) + nal
        out.append(len(self.pps))
        for nal in self.pps:
            out += U16.pack(len(nal)) + nal
        return bytes(out + self.tail)

    def with_sets(self, sps: list[bytes], pps: list[bytes]) -> AvcConfig:
        """This record with more parameter sets appended (same profile/level fields)."""
        if len(self.sps) + len(sps) > 31 or len(self.pps) + len(pps) > 255:
            raise CorruptFileError(FMT, None, "too many parameter sets for one avcC")
        return AvcConfig(
            self.profile,
            self.compat,
            self.level,
            self.length_size,
            (*self.sps, *sps),
            (*self.pps, *pps),
            self.tail,
        )


def is_avcc(extradata: bytes | None) -> bool:
    return bool(extradata) and extradata is not None and extradata[0] == 1


def parse_avcc(data: bytes) -> AvcConfig:
    """Parse an ``avcC`` record, checking every length against the data."""
    if len(data) < 7 or data[0] != 1:
        raise CorruptFileError(FMT, 0, "avcC record is missing or not version 1")
    pos = 6
    sets: list[list[bytes]] = [[], []]
    for which, count in ((0, data[5] & 0x1F), (1, -1)):
        if count < 0:
            if pos >= len(data):
                raise CorruptFileError(FMT, pos, "avcC ends before the PPS count")
            count = data[pos]
            pos += 1
        for _ in range(count):
            if pos + 2 > len(data):
                raise CorruptFileError(FMT, pos, "avcC parameter set length cut short")
            (n,) = U16.unpack_from(data, pos)
            if pos + 2 + n > len(data) or n == 0:
                raise CorruptFileError(FMT, pos, "avcC parameter set runs past the record")
            sets[which].append(data[pos + 2 : pos + 2 + n])
            pos += 2 + n
    return AvcConfig(
        data[1], data[2], data[3], (data[4] & 3) + 1, tuple(sets[0]), tuple(sets[1]), data[pos:]
    )


def split_annexb(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (start codes of 3 or 4 bytes)."""
    starts: list[int] = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    nals = []
    for k, s in enumerate(starts):
        e = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
        nal = data[s:e]
        if k + 1 < len(starts):
            nal = nal.rstrip(b"\x00")  # the zero byte of a 4-byte start code, trailing zeros
        if nal:
            nals.append(nal)
    return nals


def split_length_prefixed(data: bytes, length_size: int) -> list[bytes]:
    """The NAL units of an ``avcC``-style packet."""
    nals = []
    pos = 0
    while pos < len(data):
        if pos + length_size > len(data):
            raise CorruptFileError(FMT, pos, "NAL length field cut short")
        n = int.from_bytes(data[pos : pos + length_size], "big")
        pos += length_size
        if pos + n > len(data):
            raise CorruptFileError(FMT, pos, "NAL unit runs past the packet")
        nals.append(data[pos : pos + n])
        pos += n
    return nals


def to_length_prefixed(nals: list[bytes], length_size: int) -> bytes:
    limit = 1 << (8 * length_size)
    out = bytearray()
    for nal in nals:
        if len(nal) >= limit:
            raise CorruptFileError(FMT, None, "NAL unit too large for the avcC length field")
        out += len(nal).to_bytes(length_size, "big") + nal
    return bytes(out)


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F


def _rbsp(nal: bytes, limit: int = 64) -> bytes:
    """The first bytes of a NAL payload with emulation-prevention bytes removed."""
    out = bytearray()
    zeros = 0
    for b in nal[1 : 1 + limit]:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def bit(self) -> int:
        if self.pos >= 8 * len(self.data):
            raise CorruptFileError(FMT, None, "parameter set ends inside a field")
        b = (self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return b

    def bits(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise CorruptFileError(FMT, None, "bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.bits(zeros)


def sps_id(nal: bytes) -> int:
    """seq_parameter_set_id of an SPS NAL unit."""
    r = _Bits(_rbsp(nal))
    r.bits(24)  # profile_idc, constraint flags, level_idc
    return r.ue()


def pps_ids(nal: bytes) -> tuple[int, int]:
    """(pic_parameter_set_id, seq_parameter_set_id) of a PPS NAL unit."""
    r = _Bits(_rbsp(nal))
    return r.ue(), r.ue()


def free_id(config: AvcConfig) -> int | None:
    """An id no SPS or PPS of ``config`` uses, for the encoder's parameter sets."""
    used = {sps_id(s) for s in config.sps}
    for p in config.pps:
        used.update(pps_ids(p))
    return next((i for i in range(MAX_SPS_ID + 1) if i not in used), None)


def has_idr(nals: list[bytes]) -> bool:
    return any(nal_type(n) == NAL_IDR for n in nals)


X264_PROFILES = {
    66: "baseline",
    77: "main",
    100: "high",
    110: "high10",
    122: "high422",
    244: "high444",
}
"""avcC profile_idc to the x264 profile that writes it (Extended, 88, has none)."""
