"""The web API's bearer tokens, for ``organiser token`` and for the API's authentication.
Nothing here talks to DataCite; only the SHA-256 of a token is ever stored."""

from __future__ import annotations

from datetime import datetime

from organiser.storage import tokens as store
from organiser.storage.models import Token

Role = store.Role
TokenError = store.TokenError


def add(name: str, role: str, email: str | None, now: datetime) -> str:
    """Make a token; give it (to be shown once). Raises :class:`TokenError` for an unknown
    role, a bad or taken name, or a missing or bad address."""
    return store.add(name, Role.named(role), email, now)


def listing() -> list[Token]:
    """Give every token, revoked ones too, by name (their hashes are not for showing)."""
    return store.listing()


def revoke(name: str, now: datetime) -> Token:
    """Revoke the token ``name``. Raises :class:`TokenError` if it is unknown or revoked."""
    return store.revoke(name, now)


def verify(token: str) -> Token | None:
    """Give the live token that ``token`` is, or None (unknown or revoked)."""
    return store.verify(token)
