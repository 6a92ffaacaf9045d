"""``aigc-label ingest``: the Art. 6 platform workflow on files, folders and globs.

Parses options into a :class:`~aigc_label.policy.Policy`, plans the batch and
calls :func:`aigc_label.platform.ingest_batch`; rendering is one line (or one
JSON object) per file, a progress bar on stderr for batches, and an optional
JSON Lines report written atomically at the end.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from .._io import atomic_output
from ..errors import AigcLabelError
from ..ledger import Ledger
from ..ledger.events import record_file_event
from ..platform import BatchItem, IngestResult, error_dict, ingest_batch, plan_batch
from ..policy import Policy, load_policy
from ._core import cli

EXIT_FAILED = 2
"""Some file could not be ingested (each failure is one stderr line)."""


def _policy(
    policy_file: str | None, platform: str | None, lang: str | None, ocr: bool | None
) -> Policy:
    policy = load_policy(policy_file) if policy_file else Policy()
    changes: dict[str, Any] = {}
    if platform:
        changes["platform"] = platform
    if lang:
        changes["language"] = lang
    if ocr is not None:
        changes["ocr"] = ocr
    return policy.with_overrides(**changes) if changes else policy


def _line(result: IngestResult) -> str:
    top = next((e for e in result.evidence if e.status == "found"), None)
    why = f" ({top.detector}: {top.detail})" if top else ""
    prompt = f" [{result.prompt}]" if result.prompt else ""
    return f"{result.input} -> {result.output}: {result.outcome}{prompt}{why}"


@cli.command("ingest")
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Output file, or a folder when INPUT is a folder, a glob or several files.",
)
@click.option(
    "--platform",
    envvar="AIGC_LABEL_PLATFORM",
    default=None,
    metavar="CODE",
    help="The platform's PG-20252A code (ContentPropagator); env AIGC_LABEL_PLATFORM.",
)
@click.option("--declared", is_flag=True, help="The uploader declared the content AI-generated.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file per line.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write a JSON Lines report (one object per file).",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Policy file (TOML or JSON): prompts, marker weight, thresholds.",
)
@click.option(
    "--lang", type=click.Choice(["zh", "en"]), default=None, help="Language of the prompt."
)
@click.option("--ocr/--no-ocr", default=None, help="Run OCR on images and video (policy default).")
@click.option(
    "--ledger",
    "ledger_url",
    envvar="AIGC_LABEL_LEDGER",
    default=None,
    metavar="URL",
    help="Record a propagation event per relabeled file in this ledger; env AIGC_LABEL_LEDGER; "
    "without either nothing is recorded.",
)
def ingest_cmd(
    inputs: Sequence[str],
    output: str,
    platform: str | None,
    declared: bool,
    as_json: bool,
    report: str | None,
    policy_file: str | None,
    lang: str | None,
    ocr: bool | None,
    ledger_url: str | None,
) -> None:
    """Classify uploads (CAC measures, Article 6) and write them relabeled or copied to OUTPUT."""
    policy = _policy(policy_file, platform, lang, ocr)
    items = plan_batch(inputs, output)
    with contextlib.ExitStack() as stack:
        ledger = stack.enter_context(Ledger.open(ledger_url)) if ledger_url else None
        _run(items, policy, declared, as_json, report, ledger)


def _run(
    items: Sequence[BatchItem],
    policy: Policy,
    declared: bool,
    as_json: bool,
    report: str | None,
    ledger: Ledger | None,
) -> None:
    records: list[dict[str, Any]] = []
    failures: list[tuple[BatchItem, AigcLabelError]] = []

    def done(item: BatchItem, outcome: IngestResult | AigcLabelError) -> None:
        if isinstance(outcome, AigcLabelError):
            failures.append((item, outcome))
            records.append(error_dict(item, outcome))
            return
        record = outcome.to_dict()
        if ledger is not None and outcome.label is not None and outcome.action != "copied":
            entry = record_file_event(
                ledger, "propagation", outcome.label, outcome.format, item.input, item.output
            )
            record["ledger_seq"] = entry.seq
        records.append(record)
        click.echo(json.dumps(record, ensure_ascii=False) if as_json else _line(outcome))

    if len(items) > 1:
        with click.progressbar(length=len(items), label="ingest", file=sys.stderr) as bar:

            def step(item: BatchItem, outcome: IngestResult | AigcLabelError) -> None:
                done(item, outcome)
                bar.update(1)

            ingest_batch(items, policy, declared, on_done=step)
    else:
        ingest_batch(items, policy, declared, on_done=done)
    if report:
        with atomic_output(report) as out:
            for record in records:
                out.write((json.dumps(record, ensure_ascii=False) + "\n").encode())
    if len(items) == 1 and failures:
        raise failures[0][1]
    for item, error in failures:
        click.echo(f"aigc-label: error: {item.input}: {error.message}", err=True)
    if failures:
        sys.exit(EXIT_FAILED)
