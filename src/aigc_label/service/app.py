"""The FastAPI application: routes, one error mapping, the web page and its assets.

:func:`create_app` builds an app from explicit :class:`Settings` (tests, embedding);
:func:`app_from_env` is the factory each uvicorn worker calls, reading the same
settings from ``AIGC_LABEL_*`` variables. The page at ``/`` uses only files served
from ``/static`` (no CDN), and a strict Content-Security-Policy says so to the browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from . import errors
from .auth import Keyring
from .backends import Backends
from .routes import router
from .settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
"""index.html, app.js, app.css: the web page, no build step."""

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
"""Sent with every response: the page may load nothing from elsewhere."""

DESCRIPTION = """\
Label AI-generated content per GB 45438-2025, inspect labels, ingest as a platform,
and audit the ledger. Upload routes take multipart/form-data with one `file` part.

Errors are `{"error": {"code": ..., "message": ...}}` with the CLI's codes.
API keys (when configured) go in `Authorization: Bearer KEY` or `X-API-Key: KEY`;
roles: provider (label), platform (ingest), auditor (records, trace).
"""


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware) adding SECURITY_HEADERS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; ``settings`` default to :meth:`Settings.from_env`."""
    settings = settings if settings is not None else Settings.from_env()
    backends = Backends(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            backends.close()

    app = FastAPI(
        title="aigc-label",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.keyring = Keyring(settings.api_keys)
    app.state.backends = backends
    errors.install(app)
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)
    return app


def app_from_env() -> FastAPI:
    """uvicorn factory (``--factory``): settings from the environment, one app per worker."""
    return create_app(Settings.from_env())
