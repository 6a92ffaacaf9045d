"""Explicit labels (GB 45438 section 2): the prompt a person sees or hears.

One entry point per job, dispatching on the sniffed format:

- :func:`add_explicit_label` -- a copy of a file with the prompt suited to its
  modality (text, image, audio, video), written atomically;
- :func:`label_with_explicit` -- the explicit label, then the implicit metadata
  label through :func:`aigc_label.api.label_file`, in one atomic step. Plain
  text has no metadata slot, so there the explicit label is the only one;
- :func:`label_with_explicit_recorded` -- the same plus a generation event in the
  ledger (what the CLI's ``label --explicit --ledger URL`` runs).

Modality modules are loaded lazily by name (``explicit/text.py``, ``image.py``,
``video.py``, ``audio.py``; see ``base.py`` for the contract), so a module that
is not installed, or whose optional dependency is missing, only matters for its
own formats. Interfaces and virtual scenes have their own helpers:
``explicit.ui.render_ui_prompt`` and ``explicit.scene``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from .. import formats
from .._io import atomic_output
from ..api import LabelOutcome, LabelRequest, label_file
from ..errors import FileAccessError, NotAvailableError, UnsupportedFormatError
from ..limits import DEFAULT_LIMITS, Limits
from .base import ExplicitOptions, ExplicitOutcome, ModalityModule
from .wording import check_wording, default_text, require_wording

if TYPE_CHECKING:
    from ..ledger.record import Entry

MODALITY_MODULES = ("text", "image", "video", "audio")
"""Tried in this order; video before audio so a container with a video track is video."""

NO_SLOT_NOTE = (
    "plain text has no metadata slot: the explicit label is the only label; keep the "
    "generation log (GB 45438 section 2)"
)


def _load(name: str, missing: dict[str, str]) -> ModalityModule | None:
    modname = f"{__name__}.{name}"
    try:
        module: ModuleType = importlib.import_module(modname)
    except ModuleNotFoundError as e:
        if e.name != modname:
            missing[name] = e.name or "?"
        return None
    return cast(ModalityModule, module)


def modality_for(src: BinaryIO, fmt: str) -> ModalityModule:
    """The module that labels format ``fmt`` (``src`` is the file, for ``accepts``)."""
    missing: dict[str, str] = {}
    for name in MODALITY_MODULES:
        module = _load(name, missing)
        if module is None or fmt not in module.FORMATS:
            continue
        accepts = getattr(module, "accepts", None)
        src.seek(0)
        if accepts is not None and not accepts(src, fmt):
            continue
        src.seek(0)
        return module
    if missing:
        needs = ", ".join(f"{k} labels need the package {v!r}" for k, v in missing.items())
        raise NotAvailableError(f"no explicit label for {fmt} in this installation ({needs})")
    raise UnsupportedFormatError(f"no explicit label is available for {fmt} files")


def _sniff(src: BinaryIO, hint: str | None) -> str:
    src.seek(0)
    head = src.read(formats.SNIFF_BYTES)
    src.seek(0)
    handler = formats.detect(head, hint)
    if handler is None:
        raise UnsupportedFormatError("empty file" if not head else "unrecognised file format")
    return handler.name


def add_explicit_stream(
    src: BinaryIO,
    dst: BinaryIO,
    options: ExplicitOptions | None = None,
    *,
    hint: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ExplicitOutcome:
    """Write ``src`` with its explicit label to ``dst`` (both seekable binary streams)."""
    opts = options or ExplicitOptions()
    try:
        fmt = _sniff(src, hint)
        module = modality_for(src, fmt)
        src.seek(0)
        return module.add_label(src, dst, fmt, opts, limits)
    except OSError as e:
        raise FileAccessError(f"explicit label: I/O failed: {e.strerror or e}") from e


def add_explicit_label(
    src_path: str | os.PathLike[str],
    dst_path: str | os.PathLike[str],
    options: ExplicitOptions | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> ExplicitOutcome:
    """Write a copy of ``src_path`` with its explicit label to ``dst_path``, atomically."""
    src_name, dst_name = os.fspath(src_path), os.fspath(dst_path)
    try:
        with open(src_name, "rb") as src, atomic_output(dst_name) as dst:
            return add_explicit_stream(
                src, dst, options, hint=Path(src_name).suffix or None, limits=limits
            )
    except OSError as e:
        raise FileAccessError(f"cannot label {src_name}: {e.strerror or e}") from e


@dataclass
class ExplicitLabelOutcome:
    """Both labels of one file: the explicit one always, the implicit one where it fits."""

    input: str
    output: str
    format: str
    explicit: ExplicitOutcome
    implicit: LabelOutcome | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "output": self.output,
            "format": self.format,
            "explicit": self.explicit.to_dict(),
            "label": self.implicit.label.to_dict() if self.implicit else None,
            "notes": [*self.explicit.notes, *self.notes],
        }


def label_with_explicit(
    src_path: str | os.PathLike[str],
    dst_path: str | os.PathLike[str],
    request: LabelRequest | None,
    options: ExplicitOptions | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> ExplicitLabelOutcome:
    """Add the explicit label, then the implicit one (``request``), into ``dst_path``.

    The explicit copy goes to a temp file beside the output, which
    :func:`~aigc_label.api.label_file` then labels into ``dst_path``
    atomically; the temp file is always removed. With ``request`` None, or for
    plain text (no metadata slot), only the explicit label is written.
    """
    src_name, dst_name = os.fspath(src_path), os.fspath(dst_path)
    hint = Path(src_name).suffix or None
    try:
        with open(src_name, "rb") as src:
            fmt = _sniff(src, hint)
    except OSError as e:
        raise FileAccessError(f"cannot read {src_name}: {e.strerror or e}") from e
    handler = formats.handler_named(fmt)
    if request is None or handler is None or not handler.can_write:
        if request is not None:
            request.build()  # still refuse a bad producer code
        explicit = add_explicit_label(src_name, dst_name, options, limits=limits)
        notes = [NO_SLOT_NOTE] if request is not None else []
        return ExplicitLabelOutcome(src_name, dst_name, fmt, explicit, None, notes)
    request.build()  # a bad producer code fails before any work
    target = Path(dst_name)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=hint or "", dir=target.parent)
    try:
        with os.fdopen(fd, "w+b") as mid, open(src_name, "rb") as src:
            explicit = add_explicit_stream(src, mid, options, hint=hint, limits=limits)
        implicit = label_file(tmp, dst_name, request, limits=limits)
    except OSError as e:
        raise FileAccessError(f"cannot label {src_name}: {e.strerror or e}") from e
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    implicit.input = src_name
    return ExplicitLabelOutcome(src_name, dst_name, fmt, explicit, implicit)


def label_with_explicit_recorded(
    src_path: str | os.PathLike[str],
    dst_path: str | os.PathLike[str],
    request: LabelRequest,
    options: ExplicitOptions | None,
    ledger_url: str | None,
) -> tuple[ExplicitLabelOutcome, Entry | None]:
    """:func:`label_with_explicit`, then a generation event in the ledger at ``ledger_url``.

    Mirrors :func:`aigc_label.ledger.events.label_file_recorded`: the ledger is
    opened first; the event hashes the original input and the final output and
    carries the explicit label in ``extra``. Plain text (no implicit label in the
    file) is recorded with the label the request describes: that log is what
    GB 45438 asks a provider to keep for it.
    """
    if not ledger_url:
        return label_with_explicit(src_path, dst_path, request, options), None
    from ..errors import LedgerError
    from ..ledger.events import record_file_event
    from ..ledger.ledger import Ledger

    with Ledger.open(ledger_url) as ledger:
        outcome = label_with_explicit(src_path, dst_path, request, options)
        label = outcome.implicit.label if outcome.implicit else request.build()
        try:
            entry = record_file_event(
                ledger,
                "generation",
                label,
                outcome.format,
                outcome.input,
                outcome.output,
                extra={"explicit_label": outcome.explicit.to_dict()},
            )
        except LedgerError as e:
            raise LedgerError(f"{outcome.output} was written but not recorded: {e.message}") from e
    return outcome, entry


__all__ = [
    "MODALITY_MODULES",
    "ExplicitLabelOutcome",
    "ExplicitOptions",
    "ExplicitOutcome",
    "add_explicit_label",
    "add_explicit_stream",
    "check_wording",
    "default_text",
    "label_with_explicit",
    "label_with_explicit_recorded",
    "modality_for",
    "require_wording",
]
