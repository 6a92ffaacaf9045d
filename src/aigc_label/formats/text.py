"""Plain text: no metadata slot (spec section 4, last row; section 2 for the explicit label).

A ``.txt`` file has nowhere to keep an implicit label without changing the
text a reader sees, so this handler cannot write. GB 45438 section 2 asks for an
explicit text prompt instead ("本内容由人工智能生成" at the start or end) and the
provider keeps the generation log. ``read`` reports that as a warning so
``inspect`` can say "inconclusive" rather than "no label".

Sniffing claims UTF-8 (a multibyte character may be cut by the 64-byte window)
or UTF-16 with a BOM, and no NUL characters; the registry lists this handler
last, so it only gets files no binary or markup handler recognised. Nothing
past the sniff head is read.
"""

from __future__ import annotations

from typing import BinaryIO

from ..errors import NoMetadataSlotError
from ..limits import Limits
from ..model import Problem
from ._text import sniff_text
from .base import Handler, ReadResult, WriteOptions

NO_SLOT_MESSAGE = (
    "plain text has no metadata slot for the implicit label; check for an explicit text "
    'label (GB 45438 section 2: a prompt such as "本内容由人工智能生成" at the start or end '
    "of the text) and the provider's generation log"
)
"""The warning ``read`` reports for every plain-text file."""


class TextHandler(Handler):
    """UTF-8 / UTF-16 plain text: read-only, reports the missing slot."""

    name = "text"
    extensions = (
        "txt",
        "text",
        "log",
    )
    mime_types = ("text/plain",)
    can_write = False

    def sniff(self, head: bytes) -> bool:
        return sniff_text(head) is not None

    def read(self, src: BinaryIO, limits: Limits) -> ReadResult:
        return ReadResult(problems=[Problem("no_metadata_slot", NO_SLOT_MESSAGE, "warning")])

    def write(self, src: BinaryIO, dst: BinaryIO, opts: WriteOptions, limits: Limits) -> None:
        raise NoMetadataSlotError(NO_SLOT_MESSAGE)
