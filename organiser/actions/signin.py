"""Signing in to the web UI with an API token: the token is checked once, at sign-in; the
session then names the token, and every request checks that it is still live (a revoked
token ends its sessions). The token itself is never kept."""

from __future__ import annotations

from organiser.actions.access import Actor
from organiser.actions.tokens import Role, TokenView, verify
from organiser.storage.models import Token


def sign_in(token: str) -> TokenView | None:
    """Give the live token that ``token`` is, or None (unknown or revoked)."""
    return verify(token.strip()) if token and token.strip() else None


def live(name: str) -> Actor | None:
    """Give the actor of the live token called ``name`` (the history names ``ui:<name>``),
    or None when there is no such token or it was revoked."""
    found = Token.get_or_none(Token.name == name)
    if found is None or found.revoked_at is not None:
        return None
    return Actor(f"ui:{found.name}", Role.named(found.role), found.email, f"token {found.name!r}")
