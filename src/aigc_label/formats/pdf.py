"""PDF handler (placeholder until implemented)."""

from __future__ import annotations

from typing import BinaryIO

from ..limits import Limits
from .base import Handler, ReadResult, WriteOptions


class PdfHandler(Handler):
    name = "pdf"
    extensions = ("pdf",)
    mime_types = ("application/pdf",)

    def sniff(self, head: bytes) -> bool:
        return False

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        raise NotImplementedError

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        raise NotImplementedError
