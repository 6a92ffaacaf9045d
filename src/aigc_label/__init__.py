"""aigc-label: implicit labels for AI-generated content (GB 45438-2025).

Public API: :func:`inspect_file`, :func:`label_file`, :class:`LabelRequest`,
:class:`Label` and the error hierarchy.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import InspectReport, LabelOutcome, LabelRequest, inspect_file, inspect_stream, label_file
from .errors import (
    AigcLabelError,
    AmbiguousLabelError,
    CorruptFileError,
    InvalidLabelError,
    InvalidProducerCodeError,
    LimitExceededError,
    NoMetadataSlotError,
    TruncatedError,
    UnsupportedFormatError,
)
from .limits import DEFAULT_LIMITS, Limits
from .model import FIELDS, Label, Problem, check_provider_code, new_content_id, parse_label_json

__all__ = [
    "DEFAULT_LIMITS",
    "FIELDS",
    "AigcLabelError",
    "AmbiguousLabelError",
    "CorruptFileError",
    "InspectReport",
    "InvalidLabelError",
    "InvalidProducerCodeError",
    "Label",
    "LabelOutcome",
    "LabelRequest",
    "LimitExceededError",
    "Limits",
    "NoMetadataSlotError",
    "Problem",
    "TruncatedError",
    "UnsupportedFormatError",
    "__version__",
    "check_provider_code",
    "inspect_file",
    "inspect_stream",
    "label_file",
    "new_content_id",
    "parse_label_json",
]
