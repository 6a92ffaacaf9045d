"""``aigc-label demo``: label the shipped sample images and inspect the results."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from . import api
from .errors import AigcLabelError

DEMO_PRODUCER = "001191440300708461136T1XGW3"
"""The example provider code from TC260 PG-20252A."""


def run_demo(workdir: Path, echo: Callable[[str], object]) -> None:
    """Copy the samples to ``workdir``, label each into ``*.labeled.*`` and inspect both."""
    workdir.mkdir(parents=True, exist_ok=True)
    samples = resources.files("aigc_label") / "samples"
    for entry in sorted(samples.iterdir(), key=lambda e: e.name):
        if not entry.name.startswith("sample."):
            continue
        src = workdir / entry.name
        with entry.open("rb") as fin, open(src, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        dst = src.with_name(f"{src.stem}.labeled{src.suffix}")
        before = api.inspect_file(src)
        try:
            outcome = api.label_file(src, dst, api.LabelRequest(producer=DEMO_PRODUCER))
        except AigcLabelError as e:
            echo(f"{src.name:<22} {before.format or '-':<6} label failed: {e.message}")
            continue
        after = api.inspect_file(dst)
        echo(
            f"{src.name:<22} {outcome.format:<6} before: {before.verdict:<10} "
            f"after: {after.verdict:<10} ProduceID {outcome.label.ProduceID}"
        )
    echo(f"labeled files are in {workdir}/ ; try: aigc-label inspect {workdir}/*.labeled.*")
