"""The ``aigc-label`` group and its core commands: ``label``, ``inspect``, ``formats``, ``demo``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from .. import __version__, api, formats
from ..errors import InvalidExplicitLabelError
from ..explicit import ExplicitOptions, label_with_explicit_recorded
from ..ledger.events import label_file_recorded

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
@click.option(
    "--ledger",
    "ledger_url",
    envvar="AIGC_LABEL_LEDGER",
    default=None,
    metavar="URL",
    help="Record a generation event in this ledger (sqlite:///path, a path, or "
    "postgresql://...); env AIGC_LABEL_LEDGER; without either nothing is recorded.",
)
@click.option(
    "--explicit",
    is_flag=True,
    help="Also add the explicit label suited to the modality (text prompt, drawn image "
    "label...); plain text gets only this one. Implied by --explicit-text, --position, "
    "--font and --explicit-option.",
)
@click.option(
    "--explicit-text",
    default=None,
    metavar="TEXT",
    help="Explicit label wording (must hold 人工智能/AI and 生成/合成); default "
    "本内容由人工智能生成 (pictures: AI生成).",
)
@click.option(
    "--position",
    default=None,
    help="Explicit label place: text start|end|middle; image top-left|top-right|"
    "bottom-left|bottom-right|top|bottom; audio/video: see their docs.",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of the default explicit wording.",
)
@click.option(
    "--font",
    default=None,
    type=click.Path(dir_okay=False, exists=True),
    help="Font for drawn labels; default: the built-in Noto Sans CJK subset.",
)
@click.option(
    "--explicit-option",
    "explicit_settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Modality-specific explicit label setting (repeatable), e.g. after_chars=500.",
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
    ledger_url: str | None,
    explicit: bool,
    explicit_text: str | None,
    position: str | None,
    lang: str,
    font: str | None,
    explicit_settings: tuple[str, ...],
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
    if explicit or explicit_text or position or font or explicit_settings:
        options = _explicit_options(explicit_text, position, lang, font, explicit_settings)
        _label_explicit(input_path, output, request, ledger_url, as_json, options)
        return
    outcome, entry = label_file_recorded(input_path, output, request, ledger_url)
    recorded = {} if entry is None else {"ledger_seq": entry.seq, "entry_hash": entry.entry_hash}
    if as_json:
        click.echo(
            json.dumps(
                {
                    "input": outcome.input,
                    "output": outcome.output,
                    "format": outcome.format,
                    "label": outcome.label.to_dict(),
                    **recorded,
                },
                ensure_ascii=False,
            )
        )
    else:
        click.echo(f"{outcome.output}: {outcome.format}, label {outcome.label.to_json()}")
        if entry is not None:
            click.echo(f"recorded as ledger entry {entry.seq}")


def _explicit_options(
    text: str | None, position: str | None, lang: str, font: str | None, settings: Sequence[str]
) -> ExplicitOptions:
    pairs = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidExplicitLabelError(f"--explicit-option {item!r} is not KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return ExplicitOptions(
        text=text, lang="en" if lang == "en" else "zh", position=position, font=font, settings=pairs
    )


def _label_explicit(
    input_path: str,
    output: str,
    request: api.LabelRequest,
    ledger_url: str | None,
    as_json: bool,
    options: ExplicitOptions,
) -> None:
    """``label --explicit``: explicit then implicit label (plain text: explicit only)."""
    outcome, entry = label_with_explicit_recorded(input_path, output, request, options, ledger_url)
    recorded = {} if entry is None else {"ledger_seq": entry.seq, "entry_hash": entry.entry_hash}
    if as_json:
        click.echo(json.dumps({**outcome.to_dict(), **recorded}, ensure_ascii=False))
        return
    exp = outcome.explicit
    line = f'{outcome.output}: {outcome.format}, explicit {exp.position} "{exp.text}"'
    if outcome.implicit is not None:
        line += f", label {outcome.implicit.label.to_json()}"
    click.echo(line)
    for note in [*exp.notes, *outcome.notes]:
        click.echo(f"note: {note}")
    if entry is not None:
        click.echo(f"recorded as ledger entry {entry.seq}")


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
