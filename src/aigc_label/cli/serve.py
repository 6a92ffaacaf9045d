"""``aigc-label serve``: the HTTP service and its web page, under uvicorn.

Options become ``AIGC_LABEL_*`` variables so that every worker process (``--workers``)
builds the same settings through :func:`aigc_label.service.app.app_from_env`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from ._core import cli

if TYPE_CHECKING:
    from ..service.settings import Settings


@cli.command("serve")
@click.option("--host", default=None, help="Address to listen on.  [default: 127.0.0.1]")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="[default: 8000]")
@click.option(
    "--ledger",
    default=None,
    help="Ledger URL (sqlite:///path or postgresql://...); env AIGC_LABEL_LEDGER.",
)
@click.option("--no-ledger", is_flag=True, help="Record nothing (auditor routes answer 501).")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Processes."
)
@click.option(
    "--api-keys",
    "api_keys_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="File of 'KEY ROLE[,ROLE] [NAME]' lines; env AIGC_LABEL_API_KEYS_FILE.",
)
@click.option(
    "--max-upload",
    default=None,
    help="Largest upload, e.g. 256M; env AIGC_LABEL_MAX_UPLOAD.  [default: 256M]",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Platform policy for /v1/ingest (TOML/JSON); env AIGC_LABEL_POLICY.",
)
@click.option("--upload-dir", default=None, type=click.Path(file_okay=False), help="Spool dir.")
def serve_cmd(
    host: str | None,
    port: int | None,
    ledger: str | None,
    no_ledger: bool,
    workers: int,
    api_keys_file: str | None,
    max_upload: str | None,
    policy_file: str | None,
    upload_dir: str | None,
) -> None:
    """Serve the HTTP API and the web page (http://127.0.0.1:8000/ by default)."""
    import uvicorn

    from ..service.settings import ENV_PREFIX, Settings, parse_size

    overrides = {
        "HOST": host,
        "PORT": None if port is None else str(port),
        "LEDGER": ledger,
        "NO_LEDGER": "1" if no_ledger else None,
        "API_KEYS_FILE": api_keys_file,
        "MAX_UPLOAD": None if max_upload is None else str(parse_size(max_upload)),
        "UPLOAD_DIR": upload_dir,
        "POLICY": policy_file,
    }
    env = dict(os.environ)
    env.update({ENV_PREFIX + k: v for k, v in overrides.items() if v is not None})
    settings = Settings.from_env(env)
    settings.check_bind()
    _check_backends(settings)
    # Only now, with everything checked: the workers rebuild the settings from these.
    os.environ.update(settings.to_env())
    if settings.open_access:
        click.echo(
            "aigc-label: no API keys configured: every caller may label, ingest and audit; "
            f"listening on loopback ({settings.host}) only",
            err=True,
        )
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    click.echo(f"aigc-label: serving http://{shown}:{settings.port}/", err=True)
    uvicorn.run(
        "aigc_label.service.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
    )


def _check_backends(settings: Settings) -> None:
    """Open the ledger and load the policy once here, so a bad URL or policy fails with
    one line instead of a traceback in every worker."""
    from ..service.backends import Backends

    backends = Backends(settings)
    try:
        if backends.ledger is not None:
            click.echo(f"aigc-label: ledger: {backends.ledger.where}", err=True)
        elif settings.ledger_enabled:
            click.echo("aigc-label: ledger package not installed: recording nothing", err=True)
    finally:
        backends.close()
