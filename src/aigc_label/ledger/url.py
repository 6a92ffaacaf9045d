"""Where the ledger lives: parse ``--ledger`` / ``AIGC_LABEL_LEDGER`` values.

Accepted forms:

- ``sqlite:///abs/path.sqlite3`` (three slashes, then an absolute path, as in
  ``file:///``), ``sqlite:relative/path`` or ``sqlite://relative/path``;
  ``sqlite://`` alone means the default path;
- a plain filesystem path (``./ledger.sqlite3``, ``~/x.db``): SQLite;
- ``postgresql://user@host:5432/db?...`` or ``postgres://...``: handed to libpq
  as is (so ``?options=-csearch_path%3Dschema`` selects a schema).

The default SQLite file is ``$XDG_DATA_HOME/aigc-label/ledger.sqlite3``
(``~/.local/share/aigc-label/ledger.sqlite3`` when XDG_DATA_HOME is unset).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import InvalidLedgerURLError

ENV_VAR = "AIGC_LABEL_LEDGER"
"""Environment variable holding the ledger URL for every command that takes --ledger."""

DEFAULT_FILE = "ledger.sqlite3"

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def default_sqlite_path() -> Path:
    """The embedded ledger's default file (XDG base directory spec)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "aigc-label" / DEFAULT_FILE


@dataclass(frozen=True)
class LedgerURL:
    """A parsed ledger location."""

    dialect: Literal["sqlite", "postgresql"]
    target: str
    """Filesystem path (sqlite) or the libpq connection URL (postgresql)."""
    synchronous: Literal["full", "normal"] = "full"
    """SQLite commit durability: ``full`` fsyncs every commit (survives power loss);
    ``normal`` (``?synchronous=normal``) survives a process crash or kill -9 but may
    lose the last commits on an OS crash or power loss, for several times the
    append rate."""

    def __str__(self) -> str:
        if self.dialect == "sqlite":
            query = "" if self.synchronous == "full" else "?synchronous=normal"
            base = f"sqlite://{self.target}" if self.target.startswith("/") else self.target
            return base + query
        return redact(self.target)


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``, for messages and logs."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _sqlite_query(rest: str) -> tuple[str, Literal["full", "normal"]]:
    """Split ``?synchronous=full|normal`` (the only SQLite URL option) off a sqlite URL."""
    path, sep, query = rest.partition("?")
    if not sep:
        return rest, "full"
    options = urllib.parse.parse_qs(query, keep_blank_values=True)
    unknown = set(options) - {"synchronous"}
    value = (options.get("synchronous") or ["full"])[-1].lower()
    if unknown or value not in ("full", "normal"):
        raise InvalidLedgerURLError(
            f"unsupported SQLite ledger option {query!r}: only synchronous=full|normal"
        )
    return path, "normal" if value == "normal" else "full"


def parse_ledger_url(value: str | None) -> LedgerURL:
    """Parse a ledger URL; None or "" means ``AIGC_LABEL_LEDGER``, else the default file."""
    if not value:
        value = os.environ.get(ENV_VAR) or ""
    if not value:
        return LedgerURL("sqlite", str(default_sqlite_path()))
    m = _SCHEME_RE.match(value)
    scheme = m.group(1).lower() if m else ""
    if scheme in ("postgresql", "postgres"):
        return LedgerURL("postgresql", value)
    if scheme == "sqlite":
        rest = value[m.end() :] if m else value
        rest, sync = _sqlite_query(rest)
        if rest.startswith("//"):
            rest = rest[2:]
        if not rest:
            return LedgerURL("sqlite", str(default_sqlite_path()), sync)
        if rest.startswith("/"):  # sqlite:////abs (SQLAlchemy's spelling) is /abs too
            rest = "/" + rest.lstrip("/")
        return LedgerURL("sqlite", os.path.expanduser(rest), sync)
    if len(scheme) > 1:
        raise InvalidLedgerURLError(
            f"unsupported ledger URL scheme {scheme!r}: use sqlite:///path, a file path, "
            "or postgresql://..."
        )
    return LedgerURL("sqlite", os.path.expanduser(value))
