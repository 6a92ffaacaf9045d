"""One error hierarchy for the whole library.

Every failure a user can cause (bad file, bad code, bad label) is an
:class:`AigcLabelError` subclass. The CLI maps the class to an exit code once
(``exit_code``); the service will map it to an HTTP status once (``http_status``).
"""

from __future__ import annotations


class AigcLabelError(Exception):
    """Root of every error raised on purpose by aigc_label."""

    code = "error"
    exit_code = 2
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FileAccessError(AigcLabelError):
    """The file could not be opened, read or written (an OS-level I/O failure)."""

    code = "io_error"
    http_status = 500


class UnsupportedFormatError(AigcLabelError):
    """The bytes match no handler, or the handler cannot do what was asked."""

    code = "unsupported_format"
    http_status = 415


class CorruptFileError(AigcLabelError):
    """The file is malformed at a known place."""

    code = "corrupt_file"
    http_status = 422

    def __init__(self, fmt: str, offset: int | None, reason: str) -> None:
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"{fmt}: {reason}{where}")
        self.format = fmt
        self.offset = offset
        self.reason = reason


class TruncatedError(CorruptFileError):
    """The file ends before a declared structure does."""

    code = "truncated"


class LimitExceededError(AigcLabelError):
    """A declared size, count or depth is past a configured :class:`Limits` bound."""

    code = "limit_exceeded"
    http_status = 413

    def __init__(self, limit: str, value: int, maximum: int, fmt: str = "") -> None:
        prefix = f"{fmt}: " if fmt else ""
        super().__init__(f"{prefix}{limit} is {value}, above the limit of {maximum}")
        self.limit = limit
        self.value = value
        self.maximum = maximum


class InvalidLabelError(AigcLabelError):
    """A label the caller asked us to write does not satisfy Annex E."""

    code = "invalid_label"


class InvalidProducerCodeError(InvalidLabelError):
    """A provider code failed the PG-20252A structure or the GB 32100 check."""

    code = "invalid_producer_code"


class NoMetadataSlotError(UnsupportedFormatError):
    """The format has no place for an implicit label (plain text)."""

    code = "no_metadata_slot"


class AmbiguousLabelError(AigcLabelError):
    """Several label copies that disagree; we refuse to guess which to keep."""

    code = "ambiguous_label"
    http_status = 409


class LabelNotFoundError(AigcLabelError):
    """An operation that needs a label found none."""

    code = "label_not_found"
    http_status = 404
