"""API keys and roles: who is calling, and may they do this.

A key travels as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``. Keys are
compared as SHA-256 digests with :func:`hmac.compare_digest` against every
configured key, so the time taken does not reveal how much of a key matched.
With no keys configured (loopback only, see :meth:`Settings.check_bind`) every
caller acts with every role.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ..errors import AuthenticationError, PermissionDeniedError
from .settings import ROLES, ApiKey, Role


@dataclass(frozen=True)
class Principal:
    """The caller: the requester id logged in the ledger and the roles it holds."""

    name: str
    roles: frozenset[Role]


ANONYMOUS = Principal("local", frozenset(ROLES))
"""The caller when no keys are configured (the service then listens on loopback only)."""

_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key.")


class Keyring:
    """Configured keys, looked up in constant time per key."""

    def __init__(self, keys: tuple[ApiKey, ...]) -> None:
        self._entries = [(hashlib.sha256(k.key.encode()).digest(), k) for k in keys]

    def __bool__(self) -> bool:
        return bool(self._entries)

    def find(self, presented: str) -> ApiKey | None:
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: ApiKey | None = None
        for known, key in self._entries:
            if hmac.compare_digest(known, digest):
                found = key
        return found


def authenticate(keyring: Keyring, bearer: str | None, header: str | None) -> Principal:
    """The principal for the presented key; raises :class:`AuthenticationError`."""
    if not keyring:
        return ANONYMOUS
    presented = header or bearer
    if not presented:
        msg = "an API key is required (Authorization: Bearer KEY or X-API-Key: KEY)"
        raise AuthenticationError(msg)
    key = keyring.find(presented)
    if key is None:
        msg = "unknown API key"
        raise AuthenticationError(msg)
    return Principal(key.name, key.roles)


def require(role: Role | None) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the caller, who must hold ``role`` (any valid key when None)."""

    async def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header: Annotated[str | None, Security(_header)],
    ) -> Principal:
        keyring: Keyring = request.app.state.keyring
        principal = authenticate(keyring, bearer.credentials if bearer else None, header)
        if role is not None and role not in principal.roles:
            msg = f"this API key lacks the {role} role"
            raise PermissionDeniedError(msg)
        return principal

    return dependency
