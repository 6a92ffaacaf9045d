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


class InvalidExplicitLabelError(AigcLabelError):
    """An explicit label that would not count: wording without both elements, text a font
    cannot draw, a position or size the modality does not allow (GB 45438 section 2)."""

    code = "invalid_explicit_label"


class AmbiguousLabelError(AigcLabelError):
    """Several label copies that disagree; we refuse to guess which to keep."""

    code = "ambiguous_label"
    http_status = 409


class LabelNotFoundError(AigcLabelError):
    """An operation that needs a label found none."""

    code = "label_not_found"
    http_status = 404


class InvalidRequestError(AigcLabelError):
    """A service request is malformed: a missing or bad field, or not the form expected."""

    code = "invalid_request"


class NotFoundError(AigcLabelError):
    """The thing asked for (a route, a ledger record) does not exist."""

    code = "not_found"
    http_status = 404


class AuthenticationError(AigcLabelError):
    """No API key, or one the service does not know."""

    code = "unauthenticated"
    http_status = 401


class PermissionDeniedError(AigcLabelError):
    """The API key is valid but lacks the role the operation needs."""

    code = "forbidden"
    http_status = 403


class NotAvailableError(AigcLabelError):
    """The operation needs a component this installation lacks (ledger, platform ingest)."""

    code = "not_available"
    http_status = 501


class ConfigurationError(AigcLabelError):
    """Settings that cannot work: a bad key file, a public bind without API keys."""

    code = "config_error"
    http_status = 500


class LedgerError(AigcLabelError):
    """The ledger cannot be opened or used (unreachable database, unknown schema version)."""

    code = "ledger_error"
    http_status = 503


class InvalidLedgerURLError(LedgerError):
    """A ledger URL is neither ``sqlite:///path``, a path, nor ``postgresql://...``."""

    code = "invalid_ledger_url"
    http_status = 400


class InvalidLedgerEventError(LedgerError):
    """An event to record is malformed (unknown kind, bad hash, missing recipient)."""

    code = "invalid_event"
    http_status = 400


class RetentionError(LedgerError):
    """A purge would delete records younger than the retention period (>= 180 days)."""

    code = "retention_refused"
    http_status = 409


class LedgerIntegrityError(LedgerError):
    """Stored ledger data does not match its hash chain (edited or deleted rows)."""

    code = "ledger_integrity"
    http_status = 500


class InvalidPolicyError(AigcLabelError):
    """A platform ingest policy (file or options) is malformed or inconsistent."""

    code = "invalid_policy"
