"""Response shapes for the OpenAPI document (and the schema tests that check responses).

Routes return the library's own ``to_dict()`` output as-is; these models only
describe it, so the document cannot drift from what the CLI prints without the
schema tests noticing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class LabelOut(BaseModel):
    """The seven Annex E fields."""

    Label: str
    ContentProducer: str
    ProduceID: str
    ReservedCode1: str
    ContentPropagator: str
    PropagateID: str
    ReservedCode2: str


class LocationOut(BaseModel):
    placement: str
    offset: int | None
    standard: bool


class ProblemOut(BaseModel):
    code: str
    message: str
    severity: Literal["error", "warning"]
    field: str | None = None


class InspectOut(BaseModel):
    """What ``aigc-label inspect --json`` prints for one file."""

    path: str
    format: str | None
    label: LabelOut | None
    locations: list[LocationOut]
    problems: list[ProblemOut]
    verdict: Literal["compliant", "noncompliant", "not_found", "inconclusive"]
    digital_source_types: list[str]


class FormatInfo(BaseModel):
    name: str
    can_write: bool
    extensions: list[str]
    mime_types: list[str]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    auth: Literal["open", "api_keys"]
    ledger: str | None = Field(description="Ledger backend (sqlite, postgresql) or null.")
    ingest: bool = Field(description="Whether platform ingest is available.")


class PromptText(BaseModel):
    zh: str
    en: str


class Prompts(BaseModel):
    """Art. 6 prompt wording by class."""

    confirmed: PromptText
    possible: PromptText
    suspected: PromptText


class EventOut(BaseModel):
    """A ledger event (``aigc_label.ledger.Event.to_dict``)."""

    v: int
    kind: Literal["generation", "propagation", "unlabeled_handout"]
    provider: str
    produce_id: str
    propagate_id: str
    sha256_before: str | None
    sha256_after: str | None
    format: str | None
    label: dict[str, str] | None
    model: str | None
    requester: str | None
    explicit_label_omitted: bool
    omitted_for: str | None
    extra: dict[str, Any]


class RecordOut(BaseModel):
    """One ledger record: chain position and hashes, and the event."""

    seq: int
    time: str
    prev_hash: str
    entry_hash: str
    event: EventOut


class TraceOut(BaseModel):
    """What ``aigc-label trace --json`` prints."""

    query: str
    source: Literal["id", "sha256", "file"]
    ids: list[str]
    sha256s: list[str]
    label: LabelOut | None
    records: list[RecordOut]


def multipart_body(
    fields: dict[str, dict[str, Any]], required: list[str] | None = None
) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body :mod:`.uploads` parses by hand."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            **fields,
                        },
                        "required": ["file", *(required or [])],
                    }
                }
            },
        }
    }
