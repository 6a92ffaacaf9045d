"""OOXML handler (placeholder until implemented)."""

from __future__ import annotations

from typing import BinaryIO

from ..limits import Limits
from .base import Handler, ReadResult, WriteOptions


class OoxmlHandler(Handler):
    name = "ooxml"
    extensions = (
        "docx",
        "xlsx",
        "pptx",
        "docm",
        "xlsm",
        "pptm",
    )
    mime_types = (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    )

    def sniff(self, head: bytes) -> bool:
        return False

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        raise NotImplementedError

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        raise NotImplementedError
