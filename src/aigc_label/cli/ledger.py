"""Ledger commands: ``ledger verify|export|purge`` and ``trace``.

Every command takes ``--ledger URL`` (``sqlite:///path``, a path, or
``postgresql://...``), falling back to ``AIGC_LABEL_LEDGER`` and then to the
default SQLite file. These commands only read an existing ledger (purge
deletes from one): a missing SQLite file is an error, never silently created.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, date, datetime
from typing import Any

import click

from .._io import atomic_output
from ..ledger import MIN_RETENTION_DAYS, Checkpoint, Entry, Ledger, trace
from ..ledger.chain import format_time
from ..ledger.export import ExportFormat, write_export
from ..ledger.url import ENV_VAR
from ._core import cli

EXIT_BROKEN = 1
"""``ledger verify``: the chain does not verify. ``trace``: nothing found."""


def ledger_option(fn: Any) -> Any:
    return click.option(
        "--ledger",
        "ledger_url",
        envvar=ENV_VAR,
        default=None,
        metavar="URL",
        help="sqlite:///path, a file path, or postgresql://...; env AIGC_LABEL_LEDGER; "
        "default: the embedded SQLite file under $XDG_DATA_HOME/aigc-label/.",
    )(fn)


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """Parse an ISO 8601 date or date-time; naive values are UTC."""
    if value is None:
        return None
    text = value.strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            d = date.fromisoformat(text)
        except ValueError:
            msg = f"{text!r} is not an ISO 8601 date or date-time"
            raise click.BadParameter(msg, ctx, param) from None
        when = datetime(d.year, d.month, d.day)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@cli.group("ledger")
def ledger_group() -> None:
    """Verify, export and purge the tamper-evident event log."""


@ledger_group.command("verify")
@ledger_option
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    metavar="SEQ:HASH",
    help="A head printed by an earlier verify and kept elsewhere; must still match.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify_cmd(ledger_url: str | None, checkpoints: tuple[str, ...], as_json: bool) -> None:
    """Recompute the hash chain from storage; exit 1 naming the first bad entry."""
    try:
        external = [Checkpoint.parse(c) for c in checkpoints]
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--checkpoint") from e
    with Ledger.open(ledger_url, create=False) as ledger:
        result = ledger.verify(external)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    elif result.ok:
        head = result.head
        span = f"entries {result.first_seq}..{result.last_seq}" if result.checked else "no entries"
        click.echo(f"ok: {result.checked} {span}; {result.checkpoints_checked} checkpoints match")
        if head is not None:
            click.echo(f"head {head.seq}:{head.entry_hash}")
        for note in result.notes:
            click.echo(f"note: {note}")
    if not result.ok:
        click.echo(f"aigc-label: ledger broken at {result.problem}", err=True)
        sys.exit(EXIT_BROKEN)


@ledger_group.command("export")
@ledger_option
@click.option(
    "--since", metavar="DATE", callback=_when, help="Start (inclusive), ISO 8601; UTC if naive."
)
@click.option(
    "--until", metavar="DATE", callback=_when, help="End (exclusive), ISO 8601; UTC if naive."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="JSON Lines (full entries, re-verifiable) or CSV.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=None, help="File (default stdout)."
)
def export_cmd(
    ledger_url: str | None,
    since: datetime | None,
    until: datetime | None,
    fmt: ExportFormat,
    output: str | None,
) -> None:
    """Write the entries recorded in [SINCE, UNTIL) for an auditor."""
    with Ledger.open(ledger_url, create=False) as ledger:
        entries = ledger.entries(since, until)
        if output is None:
            write_export(entries, sys.stdout, fmt)
            sys.stdout.flush()
            return
        with atomic_output(output) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            n = write_export(entries, text, fmt)
            text.flush()
            text.detach()
    click.echo(f"{output}: {n} entries", err=True)


@ledger_group.command("purge")
@ledger_option
@click.option(
    "--before",
    required=True,
    metavar="DATE",
    callback=_when,
    help="Delete entries recorded before this.",
)
@click.option(
    "--retention-days",
    type=int,
    envvar="AIGC_LABEL_RETENTION_DAYS",
    default=MIN_RETENTION_DAYS,
    show_default=True,
    help="Refuse to delete anything younger than this (never below 180); "
    "env AIGC_LABEL_RETENTION_DAYS.",
)
def purge_cmd(ledger_url: str | None, before: datetime, retention_days: int) -> None:
    """Delete old entries, keeping the chain verifiable from an anchor checkpoint."""
    with Ledger.open(ledger_url, create=False) as ledger:
        result = ledger.purge(before, retention_days=retention_days)
    if result.anchor is None:
        click.echo(f"nothing recorded before {before:%Y-%m-%dT%H:%M:%SZ}")
    else:
        click.echo(
            f"purged {result.deleted} entries up to {result.anchor.seq}; "
            f"anchor {result.anchor.seq}:{result.anchor.entry_hash}"
        )


TRACE_COLUMNS = ("SEQ", "TIME", "KIND", "PROVIDER", "PRODUCE ID", "PROPAGATE ID", "FORMAT")


def _row(e: Entry) -> tuple[str, ...]:
    ev = e.event
    return (
        str(e.seq),
        format_time(e.ts_us)[:19] + "Z",
        ev.kind,
        ev.provider,
        ev.produce_id or "-",
        ev.propagate_id or "-",
        ev.format or "-",
    )


@cli.command("trace")
@click.argument("query", metavar="ID|FILE")
@ledger_option
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def trace_cmd(ledger_url: str | None, query: str, limit: int, as_json: bool) -> None:
    """Find the records for a ProduceID, PropagateID, content SHA-256, or a file.

    A FILE is looked up by its SHA-256 and by the ids in the label read from it.
    Exits 1 when nothing is found.
    """
    with Ledger.open(ledger_url, create=False) as ledger:
        result = trace(ledger, query, limit=limit)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    elif result.entries:
        rows = [_row(e) for e in result.entries]
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(TRACE_COLUMNS)]
        click.echo("  ".join(c.ljust(w) for c, w in zip(TRACE_COLUMNS, widths, strict=True)))
        for r in rows:
            click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    if not result.entries:
        keys = ", ".join([*result.ids, *result.sha256s])
        click.echo(f"aigc-label: no records for {keys or query}", err=True)
        sys.exit(EXIT_BROKEN)
