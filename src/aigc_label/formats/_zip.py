"""A ZIP reader/rewriter that copies unchanged members raw (APPNOTE 6.3.10, ZIP64 included).

The standard library's :mod:`zipfile` can only write a member by compressing
it again, which would change every member's bytes; this module instead copies
each unchanged member (local header, compressed data, data descriptor) byte for
byte in blocks, writes replaced or added members deflated with a correct CRC,
and writes a new central directory with updated offsets. Replaced members keep
their position in the archive, so ``[Content_Types].xml`` stays first.

Bounds: the end-of-central-directory record is searched in the last 64 KiB +
22 bytes; the central directory is at most ``limits.max_metadata_bytes`` and
holds at most ``limits.max_items`` entries; members must not overlap each other
or the central directory; a member is inflated only up to
``limits.max_decompressed`` bytes and its CRC-32 is checked. Multi-disk
archives are refused. Member names with ``..`` components or absolute paths are
reported by :func:`unsafe_names` (this module never writes to the file system).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, replace
from typing import BinaryIO

from .._io import copy_range, read_exact, stream_size
from ..errors import CorruptFileError, LimitExceededError, TruncatedError
from ..limits import Limits

LOCAL = struct.Struct("<4sHHHHHIIIHH")
"""Local file header: sig, needed, flags, method, time, date, crc, csize, usize, name/extra len."""

CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
"""Central directory header: sig, made by, needed, flags, method, time, date, crc, csize,
usize, name/extra/comment len, disk, internal attrs, external attrs, local header offset."""

EOCD = struct.Struct("<4sHHHHIIH")
"""End of central directory: sig, disk, cd disk, entries here, entries, cd size, cd offset,
comment length."""

ZIP64_LOCATOR = struct.Struct("<4sIQI")
"""ZIP64 end of central directory locator: sig, disk, offset of the ZIP64 EOCD, disks."""

ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")
"""ZIP64 end of central directory record (fixed part)."""

EXTRA_HEAD = struct.Struct("<HH")
"""An extra field's id and data size."""

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"
EOCD_SIG = b"PK\x05\x06"
ZIP64_EOCD_SIG = b"PK\x06\x06"
ZIP64_LOCATOR_SIG = b"PK\x06\x07"
ZIP64_EXTRA_ID = 0x0001
MAX16 = 0xFFFF
MAX32 = 0xFFFF_FFFF
FLAG_ENCRYPTED = 0x0001
FLAG_DESCRIPTOR = 0x0008
FLAG_UTF8 = 0x0800
STORED, DEFLATED = 0, 8
VERSION_DEFAULT = 20
"""Version 2.0: deflate."""
VERSION_ZIP64 = 45
DOS_DATE_1980 = 0x0021
"""1980-01-01, the DOS epoch: the timestamp of members we create (keeps output deterministic)."""

MAX_EOCD_SEARCH = EOCD.size + 0xFFFF
"""The EOCD is at most a maximal comment away from the end."""


@dataclass(frozen=True)
class Member:
    """One central directory entry."""

    name: str
    raw_name: bytes
    made_by: int
    needed: int
    flags: int
    method: int
    time: int
    date: int
    crc: int
    csize: int
    usize: int
    disk: int
    iattr: int
    eattr: int
    offset: int
    extra: bytes
    comment: bytes


@dataclass
class Archive:
    """The parsed central directory of a ZIP file."""

    members: list[Member]
    cd_offset: int
    comment: bytes
    zip64: bool
    size: int


def _extras(extra: bytes) -> list[tuple[int, bytes]]:
    out = []
    pos = 0
    while pos + EXTRA_HEAD.size <= len(extra):
        ident, n = EXTRA_HEAD.unpack_from(extra, pos)
        out.append((ident, extra[pos + 4 : pos + 4 + n]))
        pos += 4 + n
    return out


def _apply_zip64(m: Member, fmt: str, at: int) -> Member:
    """Replace 0xFFFFFFFF placeholders with the values of the ZIP64 extra field."""
    if MAX32 not in (m.usize, m.csize, m.offset) and m.disk != MAX16:
        return m
    data = next((d for i, d in _extras(m.extra) if i == ZIP64_EXTRA_ID), None)
    if data is None:
        raise CorruptFileError(fmt, at, f"member {m.name!r} lacks its ZIP64 extra field")
    values: dict[str, int] = {}
    pos = 0
    for field_name, size in (("usize", 8), ("csize", 8), ("offset", 8), ("disk", 4)):
        if getattr(m, field_name) == (MAX16 if field_name == "disk" else MAX32):
            if pos + size > len(data):
                raise CorruptFileError(fmt, at, f"member {m.name!r}: short ZIP64 extra field")
            values[field_name] = int.from_bytes(data[pos : pos + size], "little")
            pos += size
    return replace(
        m,
        usize=values.get("usize", m.usize),
        csize=values.get("csize", m.csize),
        offset=values.get("offset", m.offset),
        disk=values.get("disk", m.disk),
    )


def read_archive(src: BinaryIO, limits: Limits, fmt: str) -> Archive:
    """Parse the EOCD and central directory; check every member against the file."""
    size = stream_size(src)
    n = min(size, MAX_EOCD_SEARCH)
    src.seek(size - n)
    tail = read_exact(src, n, fmt, "end of archive")
    at = len(tail)
    while True:
        at = tail.rfind(EOCD_SIG, 0, at)
        if at < 0:
            raise CorruptFileError(fmt, None, "no ZIP end-of-central-directory record")
        if at + EOCD.size <= len(tail):
            fields = EOCD.unpack_from(tail, at)
            if at + EOCD.size + fields[7] <= len(tail):
                break
    eocd_pos = size - n + at
    _, disk, cd_disk, _here, count, cd_size, cd_offset, clen = fields
    comment = tail[at + EOCD.size : at + EOCD.size + clen]
    zip64 = False
    loc_at = at - ZIP64_LOCATOR.size
    if loc_at >= 0 and tail[loc_at : loc_at + 4] == ZIP64_LOCATOR_SIG:
        zip64 = True
        _, _, z_off, _ = ZIP64_LOCATOR.unpack_from(tail, loc_at)
        if z_off + ZIP64_EOCD.size > eocd_pos:
            raise CorruptFileError(fmt, eocd_pos, "ZIP64 locator points past the EOCD")
        src.seek(z_off)
        z = ZIP64_EOCD.unpack(read_exact(src, ZIP64_EOCD.size, fmt, "ZIP64 EOCD"))
        if z[0] != ZIP64_EOCD_SIG:
            raise CorruptFileError(fmt, z_off, "bad ZIP64 end-of-central-directory record")
        _, _, _, _, disk, cd_disk, _, count, cd_size, cd_offset = z
        eocd_pos = z_off
    if disk or cd_disk:
        raise CorruptFileError(fmt, eocd_pos, "multi-disk ZIP archives are not supported")
    if count > limits.max_items:
        raise LimitExceededError("ZIP members", count, limits.max_items, fmt)
    if cd_size > limits.max_metadata_bytes:
        raise LimitExceededError("ZIP central directory", cd_size, limits.max_metadata_bytes, fmt)
    if cd_offset + cd_size > eocd_pos:
        raise CorruptFileError(fmt, eocd_pos, "central directory overlaps its end record")
    src.seek(cd_offset)
    cd = read_exact(src, cd_size, fmt, "central directory")
    members: list[Member] = []
    pos = 0
    for _ in range(count):
        if pos + CENTRAL.size > len(cd) or cd[pos : pos + 4] != CENTRAL_SIG:
            raise CorruptFileError(fmt, cd_offset + pos, "bad central directory entry")
        f = CENTRAL.unpack_from(cd, pos)
        name_len, extra_len, comment_len = f[10], f[11], f[12]
        start = pos + CENTRAL.size
        end = start + name_len + extra_len + comment_len
        if end > len(cd):
            raise TruncatedError(fmt, cd_offset + pos, "central directory entry runs past its end")
        raw_name = cd[start : start + name_len]
        name = raw_name.decode("utf-8" if f[3] & FLAG_UTF8 else "cp437", errors="replace")
        m = Member(
            name, raw_name, f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9],
            f[13], f[14], f[15], f[16],
            cd[start + name_len : start + name_len + extra_len],
            cd[start + name_len + extra_len : end],
        )  # fmt: skip
        members.append(_apply_zip64(m, fmt, cd_offset + pos))
        pos = end
    archive = Archive(members, cd_offset, comment, zip64, size)
    _check_layout(archive, fmt)
    return archive


def _check_layout(archive: Archive, fmt: str) -> None:
    """Members must start inside the file, in order, without overlapping."""
    spans = sorted(archive.members, key=lambda m: m.offset)
    for m, nxt in zip(spans, [*spans[1:], None], strict=True):
        end = nxt.offset if nxt is not None else archive.cd_offset
        if m.offset + LOCAL.size + m.csize > end:
            raise CorruptFileError(fmt, m.offset, f"member {m.name!r} overlaps the next one")


def unsafe_names(archive: Archive) -> list[str]:
    """Member names that would escape an extraction directory (``..``, absolute paths)."""
    out = []
    for m in archive.members:
        parts = m.name.replace("\\", "/").split("/")
        if (
            m.name.startswith(("/", "\\"))
            or ".." in parts
            or (len(m.name) > 1 and m.name[1] == ":")
        ):
            out.append(m.name)
    return out


def _data_start(src: BinaryIO, m: Member, fmt: str) -> int:
    src.seek(m.offset)
    head = LOCAL.unpack(read_exact(src, LOCAL.size, fmt, "local header"))
    if head[0] != LOCAL_SIG:
        raise CorruptFileError(fmt, m.offset, f"bad local header for {m.name!r}")
    return m.offset + LOCAL.size + int(head[9]) + int(head[10])


def read_member(src: BinaryIO, m: Member, limits: Limits, fmt: str) -> bytes:
    """The uncompressed content of a small member, CRC-checked and bounded."""
    if m.flags & FLAG_ENCRYPTED:
        raise CorruptFileError(fmt, m.offset, f"member {m.name!r} is encrypted")
    if m.usize > limits.max_decompressed:
        raise LimitExceededError(f"size of {m.name}", m.usize, limits.max_decompressed, fmt)
    if m.csize > limits.max_metadata_bytes:
        raise LimitExceededError(f"size of {m.name}", m.csize, limits.max_metadata_bytes, fmt)
    start = _data_start(src, m, fmt)
    src.seek(start)
    raw = read_exact(src, m.csize, fmt, m.name)
    if m.method == STORED:
        data = raw
    elif m.method == DEFLATED:
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            data = d.decompress(raw, limits.max_decompressed)
        except zlib.error as e:
            raise CorruptFileError(fmt, start, f"bad deflate data in {m.name!r}: {e}") from e
        if d.unconsumed_tail:
            raise LimitExceededError(f"size of {m.name}", m.usize, limits.max_decompressed, fmt)
    else:
        raise CorruptFileError(fmt, m.offset, f"{m.name!r}: unsupported method {m.method}")
    if zlib.crc32(data) != m.crc or len(data) != m.usize:
        raise CorruptFileError(fmt, start, f"CRC or size mismatch in {m.name!r}")
    return data


def _zip64_extra(values: list[int], rest: bytes) -> bytes:
    """``rest`` (other extra fields) with a ZIP64 field holding ``values`` (8 bytes each)."""
    kept = b"".join(EXTRA_HEAD.pack(i, len(d)) + d for i, d in _extras(rest) if i != ZIP64_EXTRA_ID)
    body = b"".join(v.to_bytes(8, "little") for v in values)
    return (EXTRA_HEAD.pack(ZIP64_EXTRA_ID, len(body)) + body if values else b"") + kept


def _central(m: Member, offset: int) -> bytes:
    """The central directory record of ``m`` with its local header at ``offset``."""
    big = [v for v in (m.usize, m.csize) if v >= MAX32]
    z_values = [*big, offset] if offset >= MAX32 else big
    extra = _zip64_extra(z_values, m.extra)
    needed = max(m.needed, VERSION_ZIP64) if z_values else m.needed
    head = CENTRAL.pack(
        CENTRAL_SIG, m.made_by, needed, m.flags, m.method, m.time, m.date, m.crc,
        min(m.csize, MAX32), min(m.usize, MAX32), len(m.raw_name), len(extra), len(m.comment),
        0, m.iattr, m.eattr, min(offset, MAX32),
    )  # fmt: skip
    return head + m.raw_name + extra + m.comment


def _deflated(template: Member, data: bytes) -> tuple[Member, bytes]:
    """A new member (central fields, local record) holding ``data`` deflated."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = comp.compress(data) + comp.flush()
    flags = FLAG_UTF8 if not template.raw_name.isascii() else 0
    m = replace(
        template,
        needed=VERSION_DEFAULT,
        flags=flags,
        method=DEFLATED,
        crc=zlib.crc32(data),
        csize=len(body),
        usize=len(data),
        extra=b"",
    )
    local = LOCAL.pack(
        LOCAL_SIG, VERSION_DEFAULT, flags, DEFLATED, m.time, m.date, m.crc, m.csize, m.usize,
        len(m.raw_name), 0,
    )  # fmt: skip
    return m, local + m.raw_name + body


def new_member(name: str) -> Member:
    """A central-directory template for a member we create."""
    raw = name.encode("utf-8")
    return Member(
        name, raw, VERSION_DEFAULT, VERSION_DEFAULT, 0, DEFLATED, 0, DOS_DATE_1980,
        0, 0, 0, 0, 0, 0, 0, b"", b"",
    )  # fmt: skip


def rewrite(
    src: BinaryIO,
    dst: BinaryIO,
    archive: Archive,
    changed: dict[str, bytes],
    added: list[tuple[str, bytes]],
    fmt: str,
) -> None:
    """Copy the archive with members named in ``changed`` replaced and ``added`` appended.

    Members are written in their physical order; everything between members
    (data descriptors, padding) travels with the member before it.
    """
    by_offset = sorted(archive.members, key=lambda m: m.offset)
    first = by_offset[0].offset if by_offset else archive.cd_offset
    copy_range(src, dst, 0, first, fmt)
    pos = first
    new_offsets: dict[int, tuple[Member, int]] = {}
    for m, nxt in zip(by_offset, [*by_offset[1:], None], strict=True):
        end = nxt.offset if nxt is not None else archive.cd_offset
        if m.name in changed:
            record, blob = _deflated(m, changed[m.name])
            dst.write(blob)
            new_offsets[id(m)] = (record, pos)
            pos += len(blob)
        else:
            copy_range(src, dst, m.offset, end - m.offset, fmt)
            new_offsets[id(m)] = (m, pos)
            pos += end - m.offset
    central = [new_offsets[id(m)] for m in archive.members]
    for name, data in added:
        record, blob = _deflated(new_member(name), data)
        dst.write(blob)
        central.append((record, pos))
        pos += len(blob)
    cd_offset = pos
    cd = b"".join(_central(m, off) for m, off in central)
    dst.write(cd)
    _write_end(dst, len(central), cd_offset, len(cd), archive)


def _write_end(dst: BinaryIO, count: int, cd_offset: int, cd_size: int, archive: Archive) -> None:
    end_at = cd_offset + cd_size
    zip64 = archive.zip64 or count >= MAX16 or cd_offset >= MAX32 or cd_size >= MAX32
    if zip64:
        record = ZIP64_EOCD.pack(
            ZIP64_EOCD_SIG, ZIP64_EOCD.size - 12, VERSION_ZIP64, VERSION_ZIP64,
            0, 0, count, count, cd_size, cd_offset,
        )  # fmt: skip
        dst.write(record + ZIP64_LOCATOR.pack(ZIP64_LOCATOR_SIG, 0, end_at, 1))
    end = EOCD.pack(
        EOCD_SIG, 0, 0, min(count, MAX16), min(count, MAX16), min(cd_size, MAX32),
        min(cd_offset, MAX32), len(archive.comment),
    )  # fmt: skip
    dst.write(end + archive.comment)
