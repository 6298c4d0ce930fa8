"""The web API's bearer tokens, for ``organiser token`` and for the API's authentication.
Nothing here talks to DataCite; only the SHA-256 of a token is ever stored. Tokens are given
as :class:`TokenView` (never the hash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from organiser.storage import tokens as store
from organiser.storage.models import Token

Role = store.Role
TokenError = store.TokenError


@dataclass(frozen=True, slots=True)
class TokenView:
    """A token as it may be shown: no token, no hash."""

    name: str
    role: str
    email: str | None
    created_at: datetime
    revoked_at: datetime | None


def _view(token: Token) -> TokenView:
    return TokenView(token.name, token.role, token.email, token.created_at, token.revoked_at)


def add(name: str, role: str, email: str | None, now: datetime) -> str:
    """Make a token; give it (to be shown once). Raises :class:`TokenError` for an unknown
    role, a bad or taken name, or a missing or bad address."""
    return store.add(name, Role.named(role), email, now)


def listing() -> list[TokenView]:
    """Give every token, revoked ones too, by name."""
    return [_view(token) for token in store.listing()]


def revoke(name: str, now: datetime) -> TokenView:
    """Revoke the token ``name``; give it as revoked. Raises :class:`TokenError` if it is
    unknown or revoked."""
    return _view(store.revoke(name, now))


def verify(token: str) -> TokenView | None:
    """Give the live token that ``token`` is, or None (unknown or revoked)."""
    found = store.verify(token)
    return None if found is None else _view(found)
