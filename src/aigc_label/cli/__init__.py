"""Command line: ``aigc-label COMMAND``.

Each command lives in a small module of this package, parses options, calls
one library function and renders the result. Errors are mapped to exit codes
in one place (:func:`main`): any :class:`AigcLabelError` prints one line on
stderr and exits with its ``exit_code`` (2), never a traceback. A new command
module registers itself on :data:`cli` and is imported below.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from ..errors import AigcLabelError
from . import _core, ingest, ledger, serve
from ._core import cli

__all__ = ["cli", "main"]
_COMMAND_MODULES = (_core, ingest, ledger, serve)
"""Imported for their side effect of registering commands on ``cli``."""


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: map every library error to one stderr line + exit code."""
    try:
        cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aigc-label: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except AigcLabelError as e:
        click.echo(f"aigc-label: error: {e.message}", err=True)
        sys.exit(e.exit_code)
    except OSError as e:
        click.echo(f"aigc-label: error: {e.strerror or e}", err=True)
        sys.exit(2)
