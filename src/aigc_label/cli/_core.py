"""The ``aigc-label`` group and its core commands: ``label``, ``inspect``, ``formats``, ``demo``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from .. import __version__, api, formats

EXIT_OK = 0
EXIT_FINDINGS = 1
"""``inspect --strict``: some file is not compliant."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aigc-label")
def cli() -> None:
    """Label AI-generated content per GB 45438-2025 and inspect labels."""


@cli.command("label")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output file.")
@click.option("--producer", required=True, help="Service-provider code (PG-20252A).")
@click.option("--produce-id", default=None, help="Content number; default: a new UUIDv7.")
@click.option(
    "--label",
    "label_value",
    type=click.Choice(["1", "2", "3"]),
    default="1",
    show_default=True,
    help="1 AI-generated, 2 possibly, 3 suspected.",
)
@click.option("--reserved1", default="", help="ReservedCode1 (producer integrity data).")
@click.option(
    "--propagator",
    default=None,
    help="ContentPropagator; default: the producer code, as real files carry.",
)
@click.option("--propagate-id", default=None, help="PropagateID; default: the ProduceID.")
@click.option(
    "--iptc/--no-iptc",
    default=True,
    show_default=True,
    help="Also set Iptc4xmpExt:DigitalSourceType (Label 1) in XMP formats.",
)
@click.option(
    "--allow-unverified-producer",
    is_flag=True,
    help="Accept a producer code that is not a verifiable organisation code (warns).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def label_cmd(
    input_path: str,
    output: str,
    producer: str,
    produce_id: str | None,
    label_value: str,
    reserved1: str,
    propagator: str | None,
    propagate_id: str | None,
    iptc: bool,
    allow_unverified_producer: bool,
    as_json: bool,
) -> None:
    """Write a labeled copy of INPUT to OUTPUT (the input is never modified)."""
    request = api.LabelRequest(
        producer=producer,
        produce_id=produce_id,
        label=label_value,
        reserved1=reserved1,
        propagator=propagator,
        propagate_id=propagate_id,
        digital_source_type="auto" if iptc else None,
        strict_producer_code=not allow_unverified_producer,
    )
    outcome = api.label_file(input_path, output, request)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "input": outcome.input,
                    "output": outcome.output,
                    "format": outcome.format,
                    "label": outcome.label.to_dict(),
                },
                ensure_ascii=False,
            )
        )
    else:
        click.echo(f"{outcome.output}: {outcome.format}, label {outcome.label.to_json()}")


@cli.command("inspect")
@click.argument("paths", metavar="FILE...", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file per line.")
@click.option("--strict", is_flag=True, help="Exit 1 when any file is not compliant.")
def inspect_cmd(paths: Sequence[str], as_json: bool, strict: bool) -> None:
    """Report the implicit label of each FILE, where it is, and what is wrong with it."""
    reports = []
    for path in paths:
        report = api.inspect_file(path)
        reports.append(report)
        if as_json:
            click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    if not as_json:
        _print_table(reports)
    failed = [r for r in reports if r.error is not None]
    for r in failed:
        click.echo(f"aigc-label: {r.path}: {r.error}", err=True)
    if failed:
        sys.exit(failed[0].error.exit_code if failed[0].error else 2)
    if strict and any(r.verdict != "compliant" for r in reports):
        sys.exit(EXIT_FINDINGS)


TABLE_COLUMNS = ("FILE", "FORMAT", "VERDICT", "LABEL", "PRODUCER", "PRODUCE ID", "WHERE")


def _print_table(reports: Sequence[api.InspectReport]) -> None:
    """One row per file, then its problems indented beneath it."""
    rows = []
    for r in reports:
        where = ", ".join(
            loc.placement + ("" if loc.standard else " (non-standard)") for loc in r.locations
        )
        lab = r.label
        rows.append(
            (
                r.path,
                r.format or "-",
                r.verdict,
                lab.Label if lab else "-",
                lab.ContentProducer if lab else "-",
                lab.ProduceID if lab else "-",
                where or "-",
            )
        )
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(TABLE_COLUMNS)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(TABLE_COLUMNS, widths, strict=True)).rstrip())
    for r, row in zip(reports, rows, strict=True):
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        for p in r.problems:
            if r.error is None:
                click.echo(f"    {p.severity}: {p.code}: {p.message}")


@cli.command("formats")
def formats_cmd() -> None:
    """List the supported formats and whether each can be labeled."""
    for h in formats.HANDLERS:
        mode = "read/write" if h.can_write else "read only"
        click.echo(f"{h.name:<8} {mode:<10} {' '.join(h.extensions)}")


@cli.command("demo")
@click.option(
    "--dir",
    "workdir",
    default="aigc-label-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where to write the sample files.",
)
def demo_cmd(workdir: str) -> None:
    """Make sample images, label them and inspect the results."""
    from ..demo import run_demo

    run_demo(Path(workdir), click.echo)
