"""Stream a multipart upload to a temp file on disk, enforcing the size limit as bytes arrive.

Starlette's own form parser keeps file parts under 1 MiB in memory and knows no
per-request limit, so the service feeds the request stream to python-multipart's
push parser itself: the file part goes straight to disk, small text fields stay
in memory under tight bounds, and the first byte past ``max_upload_bytes`` ends
the upload with a 413. The rest of an oversized body is read and dropped (up to
:data:`DRAIN_BYTES`) so the client, still sending, sees the 413 instead of a reset.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from ..errors import InvalidRequestError, LimitExceededError

FILE_FIELD = "file"
"""The one form field that carries the file."""

MAX_FIELDS = 32
"""Most form parts in one request."""

MAX_FIELD_BYTES = 8 * 1024
"""Largest text field value (codes, ids and flags are short)."""

FORM_OVERHEAD = 64 * 1024
"""Room for boundaries, part headers and text fields on top of the file size limit."""

DRAIN_BYTES = 64 * 1024 * 1024
"""How much of an oversized body is read and dropped before the 413 is sent."""

_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


@dataclass
class UploadedFile:
    """The file part, on disk."""

    path: Path
    filename: str
    """The client's file name reduced to a safe base name (``upload`` when none was sent)."""
    size: int = 0

    @property
    def suffix(self) -> str:
        return safe_suffix(self.filename)


@dataclass
class Form:
    """Text fields and the file part of one request."""

    fields: dict[str, str] = field(default_factory=dict)
    file: UploadedFile | None = None

    def text(self, name: str) -> str | None:
        """A field's value with surrounding blanks removed; None when absent or empty."""
        value = self.fields.get(name, "").strip()
        return value or None

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean field: true/false, 1/0, yes/no, on/off."""
        value = self.text(name)
        if value is None:
            return default
        low = value.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        msg = f"field {name!r} must be true or false, not {value[:40]!r}"
        raise InvalidRequestError(msg)

    def require_file(self) -> UploadedFile:
        if self.file is None:
            msg = f"no file uploaded: send multipart/form-data with a {FILE_FIELD!r} part"
            raise InvalidRequestError(msg)
        return self.file


def safe_filename(raw: str | None) -> str:
    """A base name safe to echo back: no directories, control characters or odd lengths."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[:200] or "upload"


def safe_suffix(name: str) -> str:
    """The name's extension when it is short and alphanumeric (used as a format hint)."""
    suffix = Path(name).suffix
    return suffix.lower() if _SAFE_SUFFIX.match(suffix) else ""


class _Collector:
    """python-multipart callbacks: route each part to a field buffer or the temp file."""

    def __init__(self, tmp_dir: str | None, max_file_bytes: int) -> None:
        self.tmp_dir = tmp_dir
        self.max_file_bytes = max_file_bytes
        self.form = Form()
        self.too_large = False
        self.ended = False
        self._parts = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition: bytes | None = None
        self._field: str | None = None
        self._value = bytearray()
        self._out: BinaryIO | None = None

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_FIELDS:
            raise LimitExceededError("form part count", self._parts, MAX_FIELDS)
        self._disposition = None
        self._field = None
        self._value.clear()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        kind, params = parse_options_header(self._disposition)
        name = params.get(b"name")
        if kind != b"form-data" or name is None:
            msg = "multipart part without a Content-Disposition: form-data name"
            raise InvalidRequestError(msg)
        self._field = name.decode("utf-8", "replace")
        if b"filename" not in params:
            return
        if self._field != FILE_FIELD or self.form.file is not None:
            msg = f"unexpected file part {self._field!r}: send one file as {FILE_FIELD!r}"
            raise InvalidRequestError(msg)
        filename = safe_filename(params[b"filename"].decode("utf-8", "replace"))
        fd, tmp = tempfile.mkstemp(
            prefix="aigc-upload-", suffix=safe_suffix(filename), dir=self.tmp_dir
        )
        self.form.file = UploadedFile(Path(tmp), filename)
        self._out = os.fdopen(fd, "wb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        upload = self.form.file
        if self._out is not None and upload is not None:
            upload.size += end - start
            if upload.size > self.max_file_bytes:
                self.too_large = True
                return
            self._out.write(memoryview(data)[start:end])
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise LimitExceededError(
                f"form field {self._field!r} size", len(self._value), MAX_FIELD_BYTES
            )

    def _part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            return
        if self._field is not None:
            self.form.fields[self._field] = self._value.decode("utf-8", "replace")

    def _end(self) -> None:
        self.ended = True

    def discard(self) -> None:
        """Close and remove the temp file (on error or after the request)."""
        if self._out is not None:
            self._out.close()
            self._out = None
        discard(self.form)


def discard(form: Form) -> None:
    """Remove the upload's temp file; safe to call twice."""
    if form.file is not None:
        with contextlib.suppress(OSError):
            form.file.path.unlink()


def _boundary(request: Request) -> bytes:
    kind, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        msg = "send the file as multipart/form-data (a 'file' part and text fields)"
        raise InvalidRequestError(msg)
    return boundary


@contextlib.asynccontextmanager
async def receive_form(
    request: Request, *, max_upload_bytes: int, tmp_dir: str | None = None
) -> AsyncIterator[Form]:
    """Parse the request body; yield the form; always remove the temp file afterwards."""
    boundary = _boundary(request)
    declared = request.headers.get("content-length", "")
    collector = _Collector(tmp_dir, max_upload_bytes)
    if declared.isdigit() and int(declared) > max_upload_bytes + FORM_OVERHEAD:
        collector.too_large = True
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    drained = 0
    try:
        try:
            async for chunk in request.stream():
                if collector.too_large:
                    drained += len(chunk)
                    if drained > DRAIN_BYTES:
                        break
                    continue
                parser.write(chunk)
        except FormParserError as e:
            msg = f"malformed multipart body: {e}"
            raise InvalidRequestError(msg) from e
        except ClientDisconnect as e:
            if not collector.too_large:
                msg = "the client went away before the upload ended"
                raise InvalidRequestError(msg) from e
        if collector.too_large:
            size = int(declared) if declared.isdigit() else 0
            if collector.form.file is not None:
                size = max(size, collector.form.file.size)
            raise LimitExceededError("upload size", size, max_upload_bytes)
        if not collector.ended:
            msg = "incomplete multipart body (no closing boundary)"
            raise InvalidRequestError(msg)
        yield collector.form
    finally:
        collector.discard()
