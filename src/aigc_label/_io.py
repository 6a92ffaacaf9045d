"""Small, careful stream helpers shared by every handler.

Reads never trust a declared length: :func:`read_exact` raises
:class:`TruncatedError` on a short read, and callers compare declared sizes with
:func:`remaining` before allocating. Writes go through :func:`atomic_output`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import LimitExceededError, TruncatedError

COPY_BLOCK = 1024 * 1024
"""Block size for streaming copies of payload bytes."""


def stream_size(f: BinaryIO) -> int:
    """Total size of a seekable stream, leaving the position unchanged."""
    pos = f.tell()
    end = f.seek(0, os.SEEK_END)
    f.seek(pos)
    return end


def remaining(f: BinaryIO) -> int:
    """Bytes between the current position and the end of the stream."""
    return stream_size(f) - f.tell()


def read_exact(f: BinaryIO, n: int, fmt: str, what: str = "data") -> bytes:
    """Read exactly ``n`` bytes or raise :class:`TruncatedError` naming the offset."""
    offset = f.tell()
    if n < 0:
        raise TruncatedError(fmt, offset, f"negative length for {what}")
    data = f.read(n)
    if len(data) != n:
        raise TruncatedError(fmt, offset, f"{what}: wanted {n} bytes, file has {len(data)}")
    return data


def read_bounded(f: BinaryIO, n: int, limit: int, fmt: str, what: str) -> bytes:
    """Read a declared-length block after checking it against a limit and the file size."""
    if n > limit:
        raise LimitExceededError(f"{what} size", n, limit, fmt)
    if n > remaining(f):
        raise TruncatedError(fmt, f.tell(), f"{what} declares {n} bytes past the end of file")
    return read_exact(f, n, fmt, what)


def copy_range(src: BinaryIO, dst: BinaryIO, start: int, length: int | None, fmt: str) -> None:
    """Copy ``length`` bytes (or to EOF when None) from ``start`` in blocks."""
    src.seek(start)
    if length is None:
        shutil.copyfileobj(src, dst, COPY_BLOCK)
        return
    left = length
    while left > 0:
        block = src.read(min(COPY_BLOCK, left))
        if not block:
            raise TruncatedError(fmt, src.tell(), f"expected {left} more bytes")
        dst.write(block)
        left -= len(block)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, durable: bool = True) -> Iterator[BinaryIO]:
    """Yield a temp file beside ``path``; on success fsync and rename it into place.

    ``durable=False`` skips the fsync (the rename is still atomic): faster for
    batch jobs that can redo work after a power loss, as ``cp`` does.

    The temp file is opened read-write so the caller can verify what it wrote.

    On any exception the temp file is removed and ``path`` is left as it was,
    so a failed write never leaves a partial output behind.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w+b") as out:
            yield out
            out.flush()
            if durable:
                os.fsync(out.fileno())
        with contextlib.suppress(OSError):
            mode = os.stat(target).st_mode if target.exists() else 0o666 & ~_umask()
            os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
