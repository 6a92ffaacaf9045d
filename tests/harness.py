"""Hostile-input and CLI harnesses the format tests share.

The rule every format test checks on truncated, mutated or hand-broken bytes:
reading and writing either succeed or raise :class:`AigcLabelError`, and a file
that was written reads back with exactly one label. The helpers below run that
rule through a handler or through the public API, draw the byte mutations, and
run the command line in-process (Click) or as ``python -m aigc_label``.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import strategies as st

from aigc_label import api
from aigc_label.cli import cli
from aigc_label.errors import AigcLabelError
from aigc_label.formats import Handler
from aigc_label.formats.base import WriteOptions
from aigc_label.limits import DEFAULT_LIMITS, Limits
from tests.conftest import PRODUCER, label_bytes, make_label, read_labels

LABEL = make_label()
OPTS = WriteOptions(LABEL.to_json(), None)
FUZZ_LABEL = make_label("fuzz")
SRC = Path(__file__).parents[1] / "src"

# ---------------------------------------------------------------- timing and streams


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """The block must finish in under ``seconds`` (monotonic clock)."""
    start = time.monotonic()
    yield
    assert time.monotonic() - start < seconds


class CountingStream(io.BytesIO):
    """Records the largest single read, to show payload is streamed, not loaded."""

    largest = 0

    def read(self, n: int | None = -1, /) -> bytes:
        data = super().read(n)
        self.largest = max(self.largest, len(data))
        return data


# ---------------------------------------------------------------- handler round trips


def write_bytes(
    handler: Handler, data: bytes, limits: Limits = DEFAULT_LIMITS, opts: WriteOptions = OPTS
) -> bytes:
    """``handler.write`` on in-memory bytes (the default label, no digital source type)."""
    out = io.BytesIO()
    handler.write(io.BytesIO(data), out, opts, limits)
    return out.getvalue()


def handler_labels(handler: Handler, data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Raw label values ``handler`` itself reads in ``data`` (no sniffing)."""
    return [f.raw for f in handler.read(io.BytesIO(data), limits).labels]


# ---------------------------------------------------------------- fail-cleanly checks


def read_cleanly(handler: Handler, data: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    """Reading ``data`` succeeds or raises AigcLabelError."""
    with contextlib.suppress(AigcLabelError):
        handler.read(io.BytesIO(data), limits)


def read_and_write_cleanly(
    handler: Handler, data: bytes, limits: Limits = DEFAULT_LIMITS, *, keeps_prefix: bool = False
) -> None:
    """Read and write succeed or raise AigcLabelError; a written file holds just our label.

    ``keeps_prefix``: a written file must also start with the input (append-only formats).
    """
    read_cleanly(handler, data, limits)
    try:
        out = write_bytes(handler, data, limits)
    except AigcLabelError:
        return
    if keeps_prefix:
        assert out.startswith(data)
    assert handler_labels(handler, out, limits) == [LABEL.to_json()]


def read_and_label_cleanly(
    handler: Handler, data: bytes, hint: str, limits: Limits = DEFAULT_LIMITS
) -> None:
    """Read through ``handler``, label through the API: clean errors, one label after."""
    read_cleanly(handler, data, limits)
    try:
        out = label_bytes(data, hint=hint)
    except AigcLabelError:
        return
    assert len(read_labels(out)) == 1


def inspect_and_label_cleanly(
    blob: bytes, hint: str, handler: Handler | None = None, *, read_back: Handler | None = None
) -> None:
    """Inspect, then label with FUZZ_LABEL through the API: clean errors, that label after.

    Inspection goes through ``handler`` when given, else through ``api.inspect_stream``
    (as ``x.<hint>``). The output is read back by ``read_back`` when given, else by
    sniffing (``read_labels``).
    """
    if handler is None:
        with contextlib.suppress(AigcLabelError):
            api.inspect_stream(io.BytesIO(blob), "x." + hint.lstrip("."))
    else:
        read_cleanly(handler, blob)
    out = io.BytesIO()
    try:
        api.label_stream(io.BytesIO(blob), out, FUZZ_LABEL, hint=hint)
    except AigcLabelError:
        return
    labeled = out.getvalue()
    found = read_labels(labeled) if read_back is None else handler_labels(read_back, labeled)
    assert found == [FUZZ_LABEL.to_json()]


def truncations_fail_cleanly(handler: Handler, data: bytes, step: int = 1) -> None:
    """Reading and writing every ``step``-th prefix of ``data`` succeed or raise cleanly."""
    for cut in range(0, len(data), step):
        read_cleanly(handler, data[:cut])
        with contextlib.suppress(AigcLabelError):
            write_bytes(handler, data[:cut])


def truncations_raise(handler: Handler, data: bytes) -> None:
    """Every proper prefix of ``data`` is refused by both read and write."""
    for n in range(len(data)):
        with pytest.raises(AigcLabelError):
            handler.read(io.BytesIO(data[:n]), DEFAULT_LIMITS)
        with pytest.raises(AigcLabelError):
            write_bytes(handler, data[:n])


# ---------------------------------------------------------------- mutations

MUTATIONS = ("flip", "ff", "zero", "insert", "delete")


def mutate(
    data: st.DataObject,
    raw: bytearray,
    positions: Callable[[bytearray], st.SearchStrategy[int]] | None = None,
    *,
    kinds: Sequence[str] = MUTATIONS,
    zero: int = 4,
    run: int = 16,
    edits: int = 6,
) -> bytes:
    """Apply 1-``edits`` drawn edits to ``raw`` in place and return the result.

    Each edit draws a position (from ``positions(raw)``, default anywhere in ``raw``)
    and a kind: flip one bit, write four 0xff, write ``zero`` zero bytes, insert
    1-``run`` drawn bytes, or delete 1-``run`` bytes.
    """
    for _ in range(data.draw(st.integers(1, edits))):
        pos = data.draw(st.integers(0, len(raw) - 1) if positions is None else positions(raw))
        kind = data.draw(st.sampled_from(kinds))
        if kind == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "ff":
            raw[pos : pos + 4] = b"\xff\xff\xff\xff"
        elif kind == "zero":
            raw[pos : pos + zero] = bytes(zero)
        elif kind == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=run))
        else:
            del raw[pos : pos + data.draw(st.integers(1, run))]
    return bytes(raw)


def poke(data: st.DataObject, raw: bytearray, last: int, *, cut_from: int | None = None) -> bytes:
    """Overwrite 1-6 drawn bytes at positions 0..``last`` of ``raw`` in place.

    ``cut_from``: then maybe truncate at a drawn offset from there on.
    """
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, last))
        raw[at] = data.draw(st.integers(0, 255))
    if cut_from is not None and data.draw(st.booleans()):
        del raw[data.draw(st.integers(cut_from, len(raw) - 1)) :]
    return bytes(raw)


def splice(data: st.DataObject, raw: bytearray, tokens: Sequence[bytes]) -> bytes:
    """1-6 drawn edits to ``raw`` in place: replace a byte by a token, or delete 1-8 bytes."""
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        if data.draw(st.booleans()):
            raw[pos : pos + 1] = data.draw(st.sampled_from(tokens))
        else:
            del raw[pos : pos + data.draw(st.integers(1, 8))]
    return bytes(raw)


def byte_edits(
    last: int | None = None, *, min_size: int = 0, max_size: int = 6
) -> st.SearchStrategy[list[tuple[int, int]]]:
    """Lists of (position, byte value); positions up to ``last`` (unbounded when None)."""
    pos = st.integers(min_value=0) if last is None else st.integers(0, last)
    return st.lists(st.tuples(pos, st.integers(0, 255)), min_size=min_size, max_size=max_size)


def apply_edits(base: bytes, edits: list[tuple[int, int]]) -> bytes:
    """``base`` with each (position modulo its length, value) written in turn."""
    raw = bytearray(base)
    for pos, value in edits:
        raw[pos % len(raw)] = value
    return bytes(raw)


# ---------------------------------------------------------------- command line


def invoke_label(src: Path, out: Path, *extra: str) -> Result:
    """``aigc-label label SRC -o OUT --producer PRODUCER EXTRA`` in-process (Click)."""
    args = ["label", str(src), "-o", str(out), "--producer", PRODUCER, *extra]
    return CliRunner().invoke(cli, args)


def run_aigc_label(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m aigc_label ARGS`` in a fresh interpreter on this checkout's sources."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cmd = [sys.executable, "-m", "aigc_label", *map(str, args)]
    return subprocess.run(
        cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=60, check=False
    )
