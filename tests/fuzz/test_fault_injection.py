"""Fault injection over every handler: damaged inputs give AigcLabelError or a clean result.

Truncations, bit flips, inserted junk and a stream that fails mid-read are fed
to inspect and label; anything but success or an AigcLabelError is a bug. When
a damaged file still labels, the output must read back with exactly one label.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigc_label import AigcLabelError, api
from aigc_label.formats import SNIFF_BYTES, detect
from tests.conftest import label_bytes, make_label, read_labels
from tests.corpus import writable_files
from tests.harness import mutate

FILES = writable_files()
LABELED = {p: label_bytes(p.read_bytes()) for p in FILES}


def exercise(data: bytes) -> None:
    with contextlib.suppress(AigcLabelError):
        api.inspect_stream(io.BytesIO(data))
    out = io.BytesIO()
    try:
        api.label_stream(io.BytesIO(data), out, make_label("fuzz"))
    except AigcLabelError:
        return
    assert detect(out.getvalue()[:SNIFF_BYTES]) is not None
    assert read_labels(out.getvalue()) == [make_label("fuzz").to_json()]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_truncation(path: Path) -> None:
    data = LABELED[path]
    step = max(1, len(data) // 300)
    for cut in range(0, len(data), step):
        exercise(data[:cut])


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutations(path: Path, data: st.DataObject) -> None:
    raw = bytearray(LABELED[path])
    exercise(mutate(data, raw, edits=8))


class FailingStream(io.BytesIO):
    """A stream that raises OSError after ``budget`` reads (a dying disk)."""

    def __init__(self, data: bytes, budget: int) -> None:
        super().__init__(data)
        self.budget = budget

    def read(self, n: int | None = -1, /) -> bytes:
        self.budget -= 1
        if self.budget < 0:
            raise OSError(5, "injected I/O error")
        return super().read(n)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_io_errors_surface_as_library_errors(path: Path) -> None:
    data = LABELED[path]
    for budget in range(0, 40):
        try:
            api.inspect_stream(FailingStream(data, budget))
        except AigcLabelError:
            continue
        break


@given(st.binary(max_size=512))
@settings(max_examples=300, deadline=None)
def test_random_bytes(blob: bytes) -> None:
    for prefix in (b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"II*\x00", b"MM\x00*"):
        exercise(prefix + blob)
