"""The parts of the service that live in other library packages: the ledger and platform ingest.

Both are optional at import time: an installation without them still serves
inspect and label, and answers the routes that need them with 501
(:class:`NotAvailableError`). This module is the one place that knows their APIs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api import LabelOutcome
from ..errors import NotAvailableError, NotFoundError
from ..model import Label
from .settings import Settings

log = logging.getLogger("aigc_label.service")

PROMPT_CLASSES = ("confirmed", "possible", "suspected")

DEFAULT_PROMPTS: dict[str, dict[str, str]] = {
    "confirmed": {"zh": "作品含AI生成内容", "en": "This work contains AI-generated content"},
    "possible": {"zh": "内容可能由AI生成", "en": "This content may be AI-generated"},
    "suspected": {
        "zh": "疑似使用了AI生成技术，请谨慎甄别",
        "en": "Suspected use of AI generation technology; please judge with care",
    },
}
"""Art. 6 prompt wording (spec section 6), used when the platform package is absent."""


@dataclass(frozen=True)
class IngestArgs:
    """What a platform sends with an upload."""

    platform: str | None
    """Platform code; None: the one in the service's policy."""
    declared_ai: bool
    language: str | None
    """Prompt language (zh, en); None: the policy's."""


@dataclass(frozen=True)
class IngestOutcome:
    """What the route and the ledger need from one ingest."""

    format: str
    label: Label | None
    """The label now in the output (None when the output is an unchanged copy)."""
    summary: dict[str, Any]
    """The platform library's JSON (``IngestResult.to_dict``), server paths removed."""


class Backends:
    """Ledger and platform, when this installation has them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.platform = PlatformAccess.open(settings.policy_file)
        self.ledger: LedgerAccess | None = None
        if settings.ledger_enabled:
            self.ledger = LedgerAccess.open(settings.ledger_url)

    @property
    def ledger_kind(self) -> str | None:
        return None if self.ledger is None else self.ledger.kind

    def close(self) -> None:
        """Release the ledger's connections (called at shutdown)."""
        if self.ledger is not None:
            self.ledger.close()

    def prompts(self) -> dict[str, dict[str, str]]:
        return DEFAULT_PROMPTS if self.platform is None else self.platform.prompts()

    def require_platform(self) -> PlatformAccess:
        if self.platform is None:
            msg = "platform ingest is not available in this installation"
            raise NotAvailableError(msg)
        return self.platform

    def require_ledger(self) -> LedgerAccess:
        if self.ledger is None:
            msg = "this service runs without a ledger (see aigc-label serve --ledger)"
            raise NotAvailableError(msg)
        return self.ledger

    def record_label(self, outcome: LabelOutcome, requester: str, model: str | None) -> None:
        """Log a generation event when a ledger is configured."""
        if self.ledger is not None:
            self.ledger.record_label(outcome, requester, model)

    def record_ingest(self, outcome: IngestOutcome, src: Path, dst: Path, requester: str) -> None:
        """Log a propagation event when a ledger is configured and a label was written."""
        if self.ledger is not None and outcome.label is not None:
            self.ledger.record_ingest(outcome, src, dst, requester)


class PlatformAccess:
    """The calls the service makes on :mod:`aigc_label.platform` with one policy."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy

    @classmethod
    def open(cls, policy_file: str | None) -> PlatformAccess | None:
        """Load the policy (``None``: defaults); None when the package is absent."""
        try:
            from .. import platform  # noqa: F401 - probe: ingest needs it
            from ..policy import Policy, load_policy
        except ImportError as e:
            log.warning("platform ingest unavailable: %s", e)
            return None
        return cls(load_policy(policy_file) if policy_file else Policy())

    def prompts(self) -> dict[str, dict[str, str]]:
        return {
            cls: {
                lang: self.policy.prompts.get(cls, {}).get(lang) or DEFAULT_PROMPTS[cls][lang]
                for lang in ("zh", "en")
            }
            for cls in PROMPT_CLASSES
        }

    def run(self, src: Path, dst: Path, args: IngestArgs, name: str) -> IngestOutcome:
        """Ingest ``src`` into ``dst``; ``name`` replaces server paths in the summary."""
        from ..platform import ingest_file

        changes: dict[str, Any] = {}
        if args.platform:
            changes["platform"] = args.platform
        if args.language:
            changes["language"] = args.language
        policy = self.policy.with_overrides(**changes) if changes else self.policy
        result = ingest_file(src, dst, policy, args.declared_ai)
        summary: dict[str, Any] = result.to_dict()
        summary["input"] = name
        summary["output"] = None
        return IngestOutcome(result.format, result.label, summary)


class LedgerAccess:
    """The calls the service makes on :mod:`aigc_label.ledger` (thread-safe there)."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger
        self.kind = str(ledger.url.dialect)
        self.where = str(ledger.url)
        """Where the ledger is (passwords redacted)."""

    @classmethod
    def open(cls, url: str | None) -> LedgerAccess | None:
        """Open the ledger at ``url`` (None: its default); None when the package is absent."""
        try:
            from .. import ledger as ledger_pkg
        except ImportError as e:
            log.warning("ledger unavailable: %s", e)
            return None
        return cls(ledger_pkg.Ledger.open(url))

    def close(self) -> None:
        self._ledger.close()

    def record_label(self, outcome: LabelOutcome, requester: str, model: str | None) -> None:
        from ..ledger import record_label

        record_label(self._ledger, outcome, model=model, requester=requester)

    def record_ingest(self, outcome: IngestOutcome, src: Path, dst: Path, requester: str) -> None:
        from ..ledger import record_file_event

        if outcome.label is None:  # pragma: no cover - checked by the caller
            return
        summary = outcome.summary
        record_file_event(
            self._ledger,
            "propagation",
            outcome.label,
            outcome.format,
            src,
            dst,
            requester=requester,
            extra={"class": summary.get("class"), "declared": summary.get("declared")},
        )

    def record(self, seq: int) -> dict[str, Any]:
        entry = self._ledger.get(seq)
        if entry is None:
            msg = f"no ledger record {seq}"
            raise NotFoundError(msg)
        result: dict[str, Any] = entry.to_dict()
        return result

    def trace_key(self, key: str) -> dict[str, Any]:
        """Records for an id or a SHA-256 (never a server-side path, unlike ``trace``)."""
        from ..ledger import TraceResult
        from ..ledger.record import is_sha256

        key = key.strip()
        if is_sha256(key.lower()):
            found = TraceResult(key, "sha256", [key], [key.lower()])
        else:
            found = TraceResult(key, "id", [key])
        found.entries = self._ledger.trace(key)
        result: dict[str, Any] = found.to_dict()
        return result

    def trace_file(self, path: Path, name: str) -> dict[str, Any]:
        """Records for an uploaded file: its hash and the ids in its label."""
        from ..ledger import trace_file

        found = trace_file(self._ledger, path)
        found.query = name
        result: dict[str, Any] = found.to_dict()
        return result
