"""Service settings: where to listen, which ledger, who may do what, how big an upload may be.

Settings come from the environment (``AIGC_LABEL_*``) so that every uvicorn worker
process builds the same object; ``aigc-label serve`` turns its options into those
variables before it starts the workers.

API keys are lines ``KEY ROLE[,ROLE...] [NAME]`` (``#`` starts a comment), either
in a file (``AIGC_LABEL_API_KEYS_FILE``) or inline in ``AIGC_LABEL_API_KEYS``
(lines separated by newlines or ``;``). NAME is the requester id written to the
ledger; without it a short hash of the key stands in.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import ConfigurationError

Role = Literal["provider", "platform", "auditor"]
ROLES: tuple[Role, ...] = ("provider", "platform", "auditor")
"""provider: label; platform: ingest; auditor: ledger records and trace."""

ENV_PREFIX = "AIGC_LABEL_"
DEFAULT_MAX_UPLOAD = 256 * 1024 * 1024
"""Largest upload accepted by default (bytes); larger requests get 413."""

MIN_KEY_CHARS = 16
"""Shorter keys are refused: they could be guessed."""

_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """``"512M"`` -> bytes; plain numbers are bytes, units are binary (K = 1024)."""
    m = _SIZE.match(text)
    if m is None or int(m.group(1)) <= 0:
        msg = f"not a positive size: {text!r} (use e.g. 1048576, 512K, 256M, 2G)"
        raise ConfigurationError(msg)
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


@dataclass(frozen=True)
class ApiKey:
    """One API key, the roles it grants and the requester id logged for it."""

    key: str = field(repr=False)
    roles: frozenset[Role]
    name: str


def parse_api_keys(text: str, source: str) -> tuple[ApiKey, ...]:
    """Parse key lines; raise :class:`ConfigurationError` naming the bad line."""
    keys: list[ApiKey] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(re.split(r"[;\n]", text), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        where = f"{source}: entry {lineno}"
        if len(parts) not in (2, 3):
            msg = f"{where}: expected 'KEY ROLE[,ROLE] [NAME]'"
            raise ConfigurationError(msg)
        key, role_text = parts[0], parts[1]
        roles = {r.strip().lower() for r in role_text.split(",") if r.strip()}
        unknown = sorted(roles - set(ROLES))
        if unknown or not roles:
            msg = f"{where}: unknown role {', '.join(unknown) or '(none)'}; use {', '.join(ROLES)}"
            raise ConfigurationError(msg)
        if len(key) < MIN_KEY_CHARS:
            msg = f"{where}: key is shorter than {MIN_KEY_CHARS} characters"
            raise ConfigurationError(msg)
        if key in seen:
            msg = f"{where}: key listed twice"
            raise ConfigurationError(msg)
        seen.add(key)
        name = (
            parts[2] if len(parts) == 3 else "key-" + hashlib.sha256(key.encode()).hexdigest()[:8]
        )
        keys.append(ApiKey(key, frozenset(r for r in ROLES if r in roles), name))
    return tuple(keys)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses; unknown names count as public."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """Everything the app factory needs; immutable once built."""

    host: str = "127.0.0.1"
    port: int = 8000
    ledger_url: str | None = None
    """``sqlite:///path`` or ``postgresql://...``; None: the ledger's default SQLite file."""
    ledger_enabled: bool = True
    """False: record nothing; the auditor routes answer 501."""
    api_keys: tuple[ApiKey, ...] = ()
    api_keys_file: str | None = None
    """Where the keys came from (passed on to worker processes)."""
    policy_file: str | None = None
    """Platform policy (TOML/JSON, see :mod:`aigc_label.policy`) for /v1/ingest."""
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    upload_dir: str | None = None
    """Where uploads are spooled; None: the system temp directory."""

    @property
    def open_access(self) -> bool:
        """No keys configured: every caller may do everything (loopback only)."""
        return not self.api_keys

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``AIGC_LABEL_*`` variables (defaults where unset)."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name)
            return value if value else None

        keys: tuple[ApiKey, ...] = ()
        keys_file = get("API_KEYS_FILE")
        if keys_file is not None:
            try:
                text = Path(keys_file).read_text(encoding="utf-8")
            except OSError as e:
                msg = f"cannot read API key file {keys_file}: {e.strerror or e}"
                raise ConfigurationError(msg) from e
            keys += parse_api_keys(text, keys_file)
        inline = get("API_KEYS")
        if inline is not None:
            keys += parse_api_keys(inline, ENV_PREFIX + "API_KEYS")
        if len({k.key for k in keys}) != len(keys):
            msg = "the same API key is listed twice"
            raise ConfigurationError(msg)
        port_text = get("PORT") or "8000"
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            msg = f"{ENV_PREFIX}PORT: not a port number: {port_text!r}"
            raise ConfigurationError(msg)
        return cls(
            host=get("HOST") or "127.0.0.1",
            port=int(port_text),
            ledger_url=get("LEDGER"),
            ledger_enabled=(get("NO_LEDGER") or "0").lower() in ("0", "false", "no", ""),
            api_keys=keys,
            api_keys_file=keys_file,
            policy_file=get("POLICY"),
            max_upload_bytes=parse_size(get("MAX_UPLOAD") or str(DEFAULT_MAX_UPLOAD)),
            upload_dir=get("UPLOAD_DIR"),
        )

    def to_env(self) -> dict[str, str]:
        """Variables that rebuild these settings in a worker process (inline keys stay in env)."""
        env = {
            ENV_PREFIX + "HOST": self.host,
            ENV_PREFIX + "PORT": str(self.port),
            ENV_PREFIX + "MAX_UPLOAD": str(self.max_upload_bytes),
        }
        if self.ledger_url:
            env[ENV_PREFIX + "LEDGER"] = self.ledger_url
        if not self.ledger_enabled:
            env[ENV_PREFIX + "NO_LEDGER"] = "1"
        if self.api_keys_file:
            env[ENV_PREFIX + "API_KEYS_FILE"] = self.api_keys_file
        if self.upload_dir:
            env[ENV_PREFIX + "UPLOAD_DIR"] = self.upload_dir
        if self.policy_file:
            env[ENV_PREFIX + "POLICY"] = self.policy_file
        return env

    def check_bind(self) -> None:
        """Refuse a non-loopback address when no API keys are configured."""
        if self.open_access and not is_loopback(self.host):
            msg = (
                f"refusing to listen on {self.host} without API keys: anyone could label files "
                f"in your name; configure keys ({ENV_PREFIX}API_KEYS_FILE or --api-keys) or "
                "listen on 127.0.0.1"
            )
            raise ConfigurationError(msg)
