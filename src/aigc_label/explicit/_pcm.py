"""Sample plumbing for the audio label: a splice plan, sample conversions, the WAV byte splice.

A :class:`Plan` is the output described as segments over the input samples:
copy a range, insert new samples, or mix new samples into a range. Both
writers follow it: :func:`write_wav` below and the decoder/encoder path in
:mod:`.audio`.

WAV is written by hand at the byte level: every chunk other than ``data`` is
copied verbatim (``bext``, ``iXML``, ``LIST``, ``_PMX``, our ``AIGC``, cue
lists...), and inside ``data`` the bytes of every sample outside the mixed or
inserted range are copied unchanged, so the original samples stay
bit-identical. PyAV's and soundfile's WAV writers would drop the foreign
chunks. PCM 8/16/24/32-bit integer and 32/64-bit float, plain or
``WAVE_FORMAT_EXTENSIBLE``, in a RIFF form; RF64/BW64 is refused.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

import numpy as np
import numpy.typing as npt

from .._io import COPY_BLOCK, copy_range, read_exact
from ..errors import CorruptFileError, UnsupportedFormatError
from ..formats import _riff
from ..limits import Limits

FMT = "wav"
FloatArray = npt.NDArray[np.float64]

FMT_HEAD = struct.Struct("<HHIIHH")
"""fmt chunk: format tag, channels, sample rate, byte rate, block align, bits per sample."""

FACT = struct.Struct("<I")
"""fact chunk: sample frames per channel (float and compressed WAV)."""

TAG_PCM = 0x0001
TAG_FLOAT = 0x0003
TAG_EXTENSIBLE = 0xFFFE

POSITION_CHUNKS = (b"cue ", b"smpl", b"plst")
"""Chunks holding sample offsets, which an insert does not shift."""


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Copy:
    """Input samples ``[start, end)`` unchanged."""

    start: int
    end: int


@dataclass(frozen=True)
class Insert:
    """New mono samples (-1..1), put on every channel."""

    samples: FloatArray


@dataclass(frozen=True)
class Mix:
    """Input samples ``[start, start + len(samples))`` scaled by ``duck`` plus new mono samples."""

    start: int
    samples: FloatArray
    duck: float

    @property
    def end(self) -> int:
        return self.start + len(self.samples)


Segment = Copy | Insert | Mix
Plan = list[Segment]


def plan_length(plan: Plan) -> int:
    """Output length in samples per channel."""
    total = 0
    for seg in plan:
        total += seg.end - seg.start if isinstance(seg, Copy | Mix) else len(seg.samples)
    return total


# ---------------------------------------------------------------- conversions


def to_float(arr: npt.NDArray[np.generic]) -> FloatArray:
    """Samples of any PCM dtype as float64 in -1..1 (shape kept)."""
    if arr.dtype == np.uint8:
        return (arr.astype(np.float64) - 128.0) / 128.0
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.float64) / float(2 ** (8 * arr.dtype.itemsize - 1))
    return arr.astype(np.float64)


def from_float(x: FloatArray, dtype: np.dtype[np.generic]) -> npt.NDArray[np.generic]:
    """float64 in -1..1 to ``dtype``, rounded and clipped to its range."""
    if dtype == np.uint8:
        return np.asarray(np.clip(np.rint(x * 128.0 + 128.0), 0, 255).astype(np.uint8))
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(cast("np.dtype[np.integer[Any]]", dtype))
        scaled = np.rint(x * float(2 ** (8 * dtype.itemsize - 1)))
        return np.asarray(np.clip(scaled, info.min, info.max).astype(dtype))
    return np.asarray(x.astype(dtype))


def mix_into(
    content: npt.NDArray[np.generic], label: FloatArray, duck: float
) -> npt.NDArray[np.generic]:
    """``content`` (channels, n) times ``duck`` plus the mono ``label``, in content's dtype."""
    mixed = to_float(content) * duck + label[np.newaxis, :]
    return from_float(np.clip(mixed, -1.0, 1.0), content.dtype)


# ---------------------------------------------------------------- loudness


class BlockStats:
    """Mean square and peak per 100 ms block, accumulated chunk by chunk."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.block = max(1, rate // 10)
        self.frames = 0
        self._ms: list[FloatArray] = []
        self._pk: list[FloatArray] = []
        self._rest_sq = np.zeros(0)
        self._rest_pk = np.zeros(0)

    def add(self, chunk: FloatArray) -> None:
        """Add a (channels, n) float chunk."""
        self.frames += chunk.shape[1]
        sq = np.concatenate((self._rest_sq, np.square(chunk).mean(axis=0)))
        pk = np.concatenate((self._rest_pk, np.abs(chunk).max(axis=0, initial=0.0)))
        full = len(sq) // self.block * self.block
        self._ms.append(sq[:full].reshape(-1, self.block).mean(axis=1))
        self._pk.append(pk[:full].reshape(-1, self.block).max(axis=1, initial=0.0))
        self._rest_sq, self._rest_pk = sq[full:], pk[full:]

    def finish(self) -> tuple[FloatArray, FloatArray]:
        """Per-block mean squares and peaks, the last partial block included."""
        ms, pk = list(self._ms), list(self._pk)
        if len(self._rest_sq):
            ms.append(np.array([self._rest_sq.mean()]))
            pk.append(np.array([self._rest_pk.max()]))
        return np.concatenate([np.zeros(0), *ms]), np.concatenate([np.zeros(0), *pk])


def gated_db(ms: FloatArray) -> float | None:
    """Gated level of per-block mean squares in dBFS (RMS); None when all is silence."""
    loud = ms[ms > 1e-7]
    if not len(loud):
        return None
    loud = loud[loud > loud.mean() * 0.1]
    return 10 * math.log10(float(loud.mean()))


# ---------------------------------------------------------------- WAV layout


@dataclass(frozen=True)
class WavLayout:
    """Where the samples of a RIFF/WAVE file are and how they are coded."""

    channels: int
    rate: int
    bits: int
    is_float: bool
    block_align: int
    data: _riff.RiffChunk
    chunks: tuple[_riff.RiffChunk, ...]
    form_type: bytes

    @property
    def frames(self) -> int:
        """Whole sample frames in ``data`` (a trailing partial frame is kept as-is)."""
        return self.data.size // self.block_align

    @property
    def codec(self) -> str:
        return f"pcm_{'f' if self.is_float else ('u' if self.bits == 8 else 's')}{self.bits}le"

    def decode(self, raw: bytes) -> npt.NDArray[np.generic]:
        """Whole frames of ``raw`` as a (channels, n) array (24-bit becomes int32 << 8)."""
        if self.bits == 24:
            b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            vals = (b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)
            return np.asarray(vals.reshape(-1, self.channels).T)
        kind = "f" if self.is_float else ("u" if self.bits == 8 else "i")
        dtype = np.dtype(f"<{kind}{self.bits // 8}")
        return np.asarray(np.frombuffer(raw, dtype=dtype).reshape(-1, self.channels).T)

    def encode(self, arr: npt.NDArray[np.generic]) -> bytes:
        """A (channels, n) array in :meth:`decode`'s dtype back to interleaved bytes."""
        inter = np.ascontiguousarray(arr.T)
        if self.bits == 24:
            v = inter.reshape(-1).astype(np.int32)
            b = np.stack(((v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF), axis=1)
            return b.astype(np.uint8).tobytes()
        return inter.astype(inter.dtype.newbyteorder("<")).tobytes()

    def dtype(self) -> np.dtype[np.generic]:
        if self.bits == 24:
            return np.dtype(np.int32)
        kind = "f" if self.is_float else ("u" if self.bits == 8 else "i")
        return np.dtype(f"{kind}{self.bits // 8}")


def read_layout(f: BinaryIO, limits: Limits) -> WavLayout:
    """Parse the RIFF/WAVE chunk list and the ``fmt `` chunk.

    Raises:
        UnsupportedFormatError: RF64/BW64, or a sample coding other than PCM/float.
        CorruptFileError: no ``fmt ``/``data`` chunk, inconsistent ``fmt ``.
    """
    f.seek(0)
    if read_exact(f, 4, FMT, "form id") in _riff.RF64_IDS:
        raise UnsupportedFormatError("wav: RF64/BW64 files are not supported for audio labels")
    form = _riff.read_form(f, FMT, clamp=True)
    if form.form_type != b"WAVE":
        raise CorruptFileError(FMT, 8, f"RIFF form type {form.form_type!r} is not WAVE")
    chunks = tuple(
        _riff.iter_chunks(f, form.body_start, form.end, FMT, limits, clamp_ids=frozenset({b"data"}))
    )
    fmt_chunk = next((c for c in chunks if c.cid == b"fmt "), None)
    data = next((c for c in chunks if c.cid == b"data"), None)
    if fmt_chunk is None or data is None:
        raise CorruptFileError(FMT, None, "no 'fmt ' or 'data' chunk")
    if fmt_chunk.size < FMT_HEAD.size:
        raise CorruptFileError(FMT, fmt_chunk.offset, "'fmt ' chunk too short")
    f.seek(fmt_chunk.data_offset)
    body = read_exact(f, min(fmt_chunk.size, 40), FMT, "fmt chunk")
    tag, channels, rate, _byte_rate, align, bits = FMT_HEAD.unpack_from(body)
    if tag == TAG_EXTENSIBLE and len(body) >= 26:
        (tag,) = struct.unpack_from("<H", body, 24)
    is_float = tag == TAG_FLOAT
    ok_bits = (32, 64) if is_float else (8, 16, 24, 32)
    if tag not in (TAG_PCM, TAG_FLOAT) or bits not in ok_bits:
        raise UnsupportedFormatError(
            f"wav: sample coding tag {tag:#06x} with {bits} bits is not plain PCM or float"
        )
    if channels < 1 or rate < 1 or align != channels * bits // 8:
        raise CorruptFileError(FMT, fmt_chunk.offset, "inconsistent 'fmt ' chunk")
    return WavLayout(channels, rate, bits, is_float, align, data, chunks, form.form_type)


def iter_wav_samples(
    f: BinaryIO, layout: WavLayout, start: int = 0, end: int | None = None
) -> Iterator[npt.NDArray[np.generic]]:
    """(channels, n) arrays of frames ``[start, end)``, read in about 1 MiB blocks."""
    stop = layout.frames if end is None else end
    per_block = max(1, COPY_BLOCK // layout.block_align)
    pos = start
    while pos < stop:
        n = min(per_block, stop - pos)
        f.seek(layout.data.data_offset + pos * layout.block_align)
        raw = read_exact(f, n * layout.block_align, FMT, "sample data")
        yield layout.decode(raw)
        pos += n


def write_wav(f: BinaryIO, dst: BinaryIO, layout: WavLayout, plan: Plan) -> None:
    """Copy the WAV with its ``data`` chunk rebuilt from ``plan``; other chunks verbatim."""
    ch = layout.channels
    dtype = layout.dtype()
    origin = dst.tell()
    out_frames = plan_length(plan)
    tail = layout.data.size - layout.frames * layout.block_align
    data_size = out_frames * layout.block_align + tail
    sizes = {b"data": data_size}
    total = 4 + sum(_riff.chunk_total(sizes.get(c.cid, c.size)) for c in layout.chunks)
    dst.write(_riff.form_header(b"RIFF", total, layout.form_type, FMT))
    for chunk in layout.chunks:
        if chunk.cid == b"fact" and chunk.size >= FACT.size:
            f.seek(chunk.data_offset)
            rest = read_exact(f, chunk.size, FMT, "fact chunk")[FACT.size :]
            _riff.write_chunk(dst, b"fact", FACT.pack(out_frames & 0xFFFF_FFFF) + rest, FMT)
            continue
        if chunk.cid != b"data":
            _riff.copy_chunk(f, dst, chunk, FMT)
            continue
        dst.write(_riff.chunk_header(b"data", data_size, FMT))
        base = layout.data.data_offset
        for seg in plan:
            if isinstance(seg, Copy):
                a = base + seg.start * layout.block_align
                copy_range(f, dst, a, (seg.end - seg.start) * layout.block_align, FMT)
            elif isinstance(seg, Insert):
                mono = from_float(seg.samples, dtype)
                dst.write(layout.encode(np.broadcast_to(mono, (ch, len(mono)))))
            else:
                off = 0
                for block in iter_wav_samples(f, layout, seg.start, seg.end):
                    n = block.shape[1]
                    dst.write(layout.encode(mix_into(block, seg.samples[off : off + n], seg.duck)))
                    off += n
        if tail:
            copy_range(f, dst, base + layout.frames * layout.block_align, tail, FMT)
        if data_size & 1:
            dst.write(b"\x00")
    if dst.tell() - origin != _riff.CHUNK_HEADER.size + total:
        raise CorruptFileError(FMT, None, "written size does not match the planned size")


def has_position_chunks(layout: WavLayout) -> bool:
    """True when the file has cue/sampler/playlist chunks (their offsets are not shifted)."""
    return any(c.cid in POSITION_CHUNKS for c in layout.chunks)
