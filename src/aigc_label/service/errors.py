"""One table from error class to HTTP status, applied by one set of exception handlers.

Every library error already names its HTTP status and code (``http_status``,
``code`` on :class:`AigcLabelError`), so the table is derived from the class
hierarchy; the codes are the ones the CLI prints. Framework errors (unknown
route, wrong method, bad query parameter) get the same JSON body:
``{"error": {"code": ..., "message": ...}}``. Anything else is a bug: it is
logged with its traceback and answered with a bare 500.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import errors

log = logging.getLogger("aigc_label.service")

INTERNAL_ERROR = "internal_error"
"""Code for failures that are our bug, not the caller's."""

_HTTP_CODES = {
    404: errors.NotFoundError.code,
    405: "method_not_allowed",
    413: errors.LimitExceededError.code,
}
"""Codes for errors raised by the framework itself, keyed by status."""


def _all_error_classes() -> list[type[errors.AigcLabelError]]:
    found: list[type[errors.AigcLabelError]] = []
    todo: list[type[errors.AigcLabelError]] = [errors.AigcLabelError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def status_table() -> dict[str, int]:
    """Error code -> HTTP status, for every error class known now (documented in OpenAPI)."""
    return {cls.code: cls.http_status for cls in _all_error_classes()}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _library_error(_: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, errors.AigcLabelError):  # pragma: no cover - registered for it
        raise exc
    if exc.http_status >= 500:
        log.error("%s: %s", exc.code, exc.message)
    return error_response(exc.http_status, exc.code, exc.message)


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover - registered for it
        raise exc
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover - registered for it
        raise exc
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return error_response(400, errors.InvalidRequestError.code, "; ".join(parts) or "invalid")


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return error_response(500, INTERNAL_ERROR, "internal error; see the service log")


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(errors.AigcLabelError, _library_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Invalid request, label or file (code names which)."),
        (401, "No or unknown API key."),
        (403, "The key lacks the role."),
        (413, "Upload or a declared size past a limit."),
        (415, "Unsupported format."),
        (422, "Corrupt file."),
    )
}
"""Error responses shared by every upload route (for the OpenAPI document)."""
