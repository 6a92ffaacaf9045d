"""Auditor exports: JSON Lines (the full entries, re-verifiable) or flat CSV.

JSON Lines keeps every entry exactly as hashed (``event`` is the stored
canonical object, with ``seq``, ``time``, ``prev_hash`` and ``entry_hash``), so
an auditor can recompute the chain over the exported range with
:func:`aigc_label.ledger.chain.chain_hash`. CSV flattens the same data for a
spreadsheet; the label stays one JSON cell.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Literal, TextIO

from .chain import format_time
from .record import Entry

ExportFormat = Literal["jsonl", "csv"]

CSV_COLUMNS: tuple[str, ...] = (
    "seq",
    "time",
    "kind",
    "provider",
    "produce_id",
    "propagate_id",
    "sha256_before",
    "sha256_after",
    "format",
    "model",
    "requester",
    "explicit_label_omitted",
    "omitted_for",
    "label",
    "extra",
    "prev_hash",
    "entry_hash",
)


def write_jsonl(entries: Iterable[Entry], out: TextIO) -> int:
    """One entry per line; returns the count."""
    n = 0
    for e in entries:
        line = (
            f'{{"seq":{e.seq},"time":"{format_time(e.ts_us)}","prev_hash":"{e.prev_hash}",'
            f'"entry_hash":"{e.entry_hash}","event":{e.event_json}}}\n'
        )
        out.write(line)
        n += 1
    return n


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return str(value)


def write_csv(entries: Iterable[Entry], out: TextIO) -> int:
    """A header row, then one row per entry; returns the count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for e in entries:
        data = e.event.to_dict()
        data.update(seq=e.seq, time=format_time(e.ts_us), prev_hash=e.prev_hash)
        data["entry_hash"] = e.entry_hash
        writer.writerow([_cell(data.get(c)) for c in CSV_COLUMNS])
        n += 1
    return n


def write_export(entries: Iterable[Entry], out: TextIO, fmt: ExportFormat) -> int:
    """Write ``entries`` as ``fmt``; returns how many were written."""
    return write_csv(entries, out) if fmt == "csv" else write_jsonl(entries, out)
