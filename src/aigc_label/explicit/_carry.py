"""Keep an existing implicit label across a decode/re-encode or a remux.

The audio and video labels rewrite the container with FFmpeg's muxers, which
keep ordinary tags but not every place our implicit label can live (an MP4
``mdta`` key, XMP in a ``uuid`` box). The project never removes a label
(CAC measures Art. 10), so a label read from the input before the rewrite is
written again onto the output, through the same format handlers as ``label``,
whenever the output no longer carries it.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import BinaryIO

from .. import api
from ..errors import AigcLabelError
from ..limits import Limits
from ..model import Label
from ..xmp import DST_TRAINED


def existing_label(src: BinaryIO, limits: Limits) -> Label | None:
    """The valid implicit label ``src`` carries, if any (read errors count as none)."""
    src.seek(0)
    try:
        report = api.inspect_stream(src, limits=limits)
    except AigcLabelError:
        return None
    finally:
        src.seek(0)
    return report.label


def restore_label(dst: BinaryIO, label: Label | None, limits: Limits, notes: list[str]) -> None:
    """Write ``label`` onto the finished output ``dst`` again unless it still has it."""
    if label is None:
        return
    dst.seek(0)
    try:
        kept = api.inspect_stream(dst, limits=limits).label
    except AigcLabelError:
        kept = None
    if kept == label:
        return
    dst_type = DST_TRAINED if label.Label == "1" else None
    with tempfile.TemporaryFile() as tmp:
        dst.seek(0)
        shutil.copyfileobj(dst, tmp, 1 << 20)
        tmp.seek(0)
        dst.seek(0)
        dst.truncate()
        api.label_stream(tmp, dst, label, digital_source_type=dst_type, limits=limits)
    notes.append("the input's implicit label was written again onto the output")
