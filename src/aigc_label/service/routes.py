"""The HTTP routes: parse the request, call one library function, render the result.

Uploads arrive as multipart/form-data with one ``file`` part and are spooled to
disk by :mod:`.uploads`; the library then works on that file in a worker thread
so a large file never blocks the event loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import tempfile
from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from .. import __version__, api, formats
from .._io import COPY_BLOCK
from ..errors import InvalidRequestError
from ..model import LABEL_VALUES
from . import backends
from .auth import Principal, require
from .errors import ERROR_RESPONSES, ErrorBody
from .models import FormatInfo, Health, InspectOut, Prompts, RecordOut, TraceOut, multipart_body
from .settings import Settings
from .uploads import Form, UploadedFile, receive_form

router = APIRouter()

LABEL_HEADER = "X-AIGC-Label"
"""Response header with the implicit label written (compact JSON, ASCII)."""
FORMAT_HEADER = "X-AIGC-Format"
INGEST_HEADER = "X-AIGC-Ingest"
"""Response header with the ingest result (JSON, non-ASCII escaped)."""
LABELED_SUFFIX = "-labeled"
"""Added to the download's file name stem (once)."""

_FILE_HEADERS: dict[str, Any] = {
    LABEL_HEADER: {"description": "The label written, compact JSON.", "schema": {"type": "string"}},
    FORMAT_HEADER: {"description": "Format name, as in /v1/formats.", "schema": {"type": "string"}},
}
_FILE_RESPONSE: dict[str, Any] = {
    "description": "The labeled file (download), with its format's media type.",
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    "headers": _FILE_HEADERS,
}
_NOT_AVAILABLE: dict[int | str, dict[str, Any]] = {
    501: {"model": ErrorBody, "description": "Not available in this installation."},
    503: {"model": ErrorBody, "description": "Ledger unreachable."},
}

AnyCaller = Annotated[Principal, Depends(require(None))]
Provider = Annotated[Principal, Depends(require("provider"))]
Platform = Annotated[Principal, Depends(require("platform"))]
Auditor = Annotated[Principal, Depends(require("auditor"))]


def _backends(request: Request) -> backends.Backends:
    found: backends.Backends = request.app.state.backends
    return found


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _form(request: Request) -> contextlib.AbstractAsyncContextManager[Form]:
    settings = _settings(request)
    return receive_form(
        request, max_upload_bytes=settings.max_upload_bytes, tmp_dir=settings.upload_dir
    )


@router.get("/healthz", response_model=Health, tags=["service"])
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness and what this installation offers."""
    b = _backends(request)
    return {
        "status": "ok",
        "version": __version__,
        "auth": "open" if _settings(request).open_access else "api_keys",
        "ledger": b.ledger_kind,
        "ingest": b.platform is not None,
    }


@router.get("/v1/formats", response_model=list[FormatInfo], tags=["files"])
async def list_formats() -> list[dict[str, Any]]:
    """Every supported format and whether it can be labeled."""
    return [
        {
            "name": h.name,
            "can_write": h.can_write,
            "extensions": list(h.extensions),
            "mime_types": list(h.mime_types),
        }
        for h in formats.HANDLERS
    ]


@router.get("/v1/prompts", response_model=Prompts, tags=["platform"])
async def prompts(request: Request) -> dict[str, Any]:
    """The Art. 6 prompts a platform shows, by class, in Chinese and English."""
    b = _backends(request)
    return b.prompts()


@router.post(
    "/v1/inspect",
    response_model=InspectOut,
    responses=ERROR_RESPONSES,
    openapi_extra=multipart_body({}),
    tags=["files"],
)
async def inspect(request: Request, _: AnyCaller) -> JSONResponse:
    """Read the implicit label of an uploaded file: the object ``inspect --json`` prints."""
    async with _form(request) as form:
        upload = form.require_file()
        report = await run_in_threadpool(_inspect, upload)
    return JSONResponse(report)


def _inspect(upload: UploadedFile) -> dict[str, Any]:
    with open(upload.path, "rb") as f:
        return api.inspect_stream(f, upload.filename).to_dict()


_LABEL_FIELDS: dict[str, dict[str, Any]] = {
    "producer": {"type": "string", "description": "Service-provider code (PG-20252A)."},
    "produce_id": {"type": "string", "description": "Content number; default: a new UUIDv7."},
    "label": {"type": "string", "enum": list(LABEL_VALUES), "default": "1"},
    "reserved1": {"type": "string"},
    "propagator": {"type": "string", "description": "Default: the producer code."},
    "propagate_id": {"type": "string", "description": "Default: the ProduceID."},
    "iptc": {"type": "boolean", "default": True},
    "allow_unverified_producer": {"type": "boolean", "default": False},
    "model": {"type": "string", "description": "Model or service id, for the ledger."},
}


@router.post(
    "/v1/label",
    response_class=StreamingResponse,
    responses={200: _FILE_RESPONSE, **ERROR_RESPONSES},
    openapi_extra=multipart_body(_LABEL_FIELDS, required=["producer"]),
    tags=["provider"],
)
async def label(request: Request, caller: Provider) -> StreamingResponse:
    """Write the implicit label into an uploaded file and return the labeled copy."""
    b = _backends(request)
    async with _form(request) as form:
        upload = form.require_file()
        producer = form.text("producer")
        if producer is None:
            msg = "field 'producer' (the service-provider code) is required"
            raise InvalidRequestError(msg)
        value = form.text("label") or "1"
        if value not in LABEL_VALUES:
            msg = f"field 'label' must be one of {', '.join(LABEL_VALUES)}"
            raise InvalidRequestError(msg)
        req = api.LabelRequest(
            producer=producer,
            produce_id=form.text("produce_id"),
            label=value,
            reserved1=form.text("reserved1") or "",
            propagator=form.text("propagator"),
            propagate_id=form.text("propagate_id"),
            digital_source_type="auto" if form.flag("iptc", True) else None,
            strict_producer_code=not form.flag("allow_unverified_producer"),
        )
        out = _output_path(_settings(request), upload)
        try:
            outcome = await run_in_threadpool(api.label_file, upload.path, out, req)
            await run_in_threadpool(b.record_label, outcome, caller.name, form.text("model"))
        except BaseException:
            _unlink(out)
            raise
    return _file_response(out, upload, outcome.format, {LABEL_HEADER: outcome.label.to_json()})


_INGEST_FIELDS: dict[str, dict[str, Any]] = {
    "platform": {
        "type": "string",
        "description": "Platform code (ContentPropagator); default: the service policy's.",
    },
    "declared_ai": {
        "type": "boolean",
        "default": False,
        "description": "The uploader declares the content AI-generated.",
    },
    "language": {"type": "string", "enum": ["zh", "en"], "description": "Prompt language."},
}


@router.post(
    "/v1/ingest",
    response_class=StreamingResponse,
    responses={
        200: {
            **_FILE_RESPONSE,
            "headers": {
                **_FILE_HEADERS,
                INGEST_HEADER: {
                    "description": "What ``aigc-label ingest --json`` prints (class, prompt, "
                    "evidence...), as JSON with non-ASCII escaped.",
                    "schema": {"type": "string"},
                },
            },
        },
        **ERROR_RESPONSES,
        **_NOT_AVAILABLE,
    },
    openapi_extra=multipart_body(_INGEST_FIELDS),
    tags=["platform"],
)
async def ingest(request: Request, caller: Platform) -> StreamingResponse:
    """Ingest an upload as a platform (Art. 6): classify it, relabel it, return the file."""
    b = _backends(request)
    platform = b.require_platform()
    async with _form(request) as form:
        upload = form.require_file()
        language = form.text("language")
        if language not in (None, "zh", "en"):
            msg = "field 'language' must be zh or en"
            raise InvalidRequestError(msg)
        args = backends.IngestArgs(form.text("platform"), form.flag("declared_ai"), language)
        out = _output_path(_settings(request), upload)
        try:
            result = await run_in_threadpool(platform.run, upload.path, out, args, upload.filename)
            await run_in_threadpool(b.record_ingest, result, upload.path, out, caller.name)
        except BaseException:
            _unlink(out)
            raise
    headers = {INGEST_HEADER: json.dumps(result.summary, ensure_ascii=True)}
    if result.label is not None:
        headers[LABEL_HEADER] = result.label.to_json()
    return _file_response(out, upload, result.format, headers)


_AUDIT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid request."},
    401: {"model": ErrorBody, "description": "No or unknown API key."},
    403: {"model": ErrorBody, "description": "The key lacks the auditor role."},
    **_NOT_AVAILABLE,
}


@router.get(
    "/v1/records/{seq}",
    response_model=RecordOut,
    responses={404: {"model": ErrorBody, "description": "No such record."}, **_AUDIT_ERRORS},
    tags=["auditor"],
)
async def record(
    request: Request, seq: Annotated[int, Path(ge=1, le=2**62)], _: Auditor
) -> JSONResponse:
    """One ledger record by its sequence number."""
    ledger = _backends(request).require_ledger()
    return JSONResponse(await run_in_threadpool(ledger.record, seq))


@router.get("/v1/trace", response_model=TraceOut, responses=_AUDIT_ERRORS, tags=["auditor"])
async def trace(
    request: Request,
    _: Auditor,
    id: Annotated[
        str,
        Query(
            min_length=1,
            max_length=1024,
            pattern=r"\S",
            description="ProduceID, PropagateID or content SHA-256 (hex).",
        ),
    ],
) -> JSONResponse:
    """Every ledger record for a ProduceID, PropagateID or content hash, oldest first."""
    ledger = _backends(request).require_ledger()
    return JSONResponse(await run_in_threadpool(ledger.trace_key, id))


@router.post(
    "/v1/trace",
    response_model=TraceOut,
    responses={**ERROR_RESPONSES, **_AUDIT_ERRORS},
    openapi_extra=multipart_body({}),
    tags=["auditor"],
)
async def trace_upload(request: Request, _: Auditor) -> JSONResponse:
    """Every ledger record for an uploaded file: its SHA-256 and the ids in its label."""
    ledger = _backends(request).require_ledger()
    async with _form(request) as form:
        upload = form.require_file()
        found = await run_in_threadpool(ledger.trace_file, upload.path, upload.filename)
    return JSONResponse(found)


def _output_path(settings: Settings, upload: UploadedFile) -> pathlib.Path:
    fd, name = tempfile.mkstemp(prefix="aigc-out-", suffix=upload.suffix, dir=settings.upload_dir)
    os.close(fd)
    return pathlib.Path(name)


def _unlink(path: pathlib.Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _file_response(
    out: pathlib.Path, upload: UploadedFile, fmt: str, headers: dict[str, str]
) -> StreamingResponse:
    """Stream ``out`` back; it is unlinked first, so nothing is left behind if the client leaves."""
    handler = formats.handler_named(fmt)
    media = handler.mime_types[0] if handler and handler.mime_types else "application/octet-stream"
    stem, suffix = (
        pathlib.Path(upload.filename).stem or "upload",
        pathlib.Path(upload.filename).suffix,
    )
    stem = stem.removesuffix(LABELED_SUFFIX)
    f = open(out, "rb")  # noqa: SIM115 - closed by _chunks
    _unlink(out)
    size = os.fstat(f.fileno()).st_size
    return StreamingResponse(
        _chunks(f),
        media_type=media,
        headers={
            "Content-Length": str(size),
            "Content-Disposition": content_disposition(f"{stem}{LABELED_SUFFIX}{suffix}"),
            FORMAT_HEADER: fmt,
            **headers,
        },
    )


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    with f:
        while block := f.read(COPY_BLOCK):
            yield block


def content_disposition(filename: str) -> str:
    """``attachment`` with the name, RFC 6266/8187-encoded when it is not plain ASCII."""
    quoted = quote(filename, safe="")
    if quoted == filename:
        return f'attachment; filename="{filename}"'
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
