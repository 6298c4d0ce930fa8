"""The web API's bearer tokens: made, listed, revoked and checked here.

A token is shown once, when it is made (:func:`add`); the database keeps only its SHA-256,
so a stolen database (or backup) gives no usable token. Checking a token hashes it and
compares the hashes in constant time (:func:`verify`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from enum import IntEnum

from organiser.errors import UserError
from organiser.storage.models import Token, database_proxy


class Role(IntEnum):
    """What a token may do; each role may do everything the ones below it may."""

    READER = 1  # list and read records, the pending-release report
    SUBMITTER = 2  # also reserve, update and submit (as the token's submitter address)
    OPERATOR = 3  # also approve (release) and reject records in review, for anyone

    @property
    def label(self) -> str:
        """The role's name as stored and typed: reader, submitter, operator."""
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Role:
        """Give the role called ``name``. Raises :class:`TokenError`."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise TokenError(
                f"role {name!r}: must be one of {', '.join(r.label for r in cls)}"
            ) from None


class TokenError(UserError):
    """A token cannot be made or revoked as asked; one line for the user."""


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def digest(token: str) -> str:
    """Give the hex SHA-256 of ``token`` (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add(name: str, role: Role, email: str | None, now: datetime) -> str:
    """Make a token called ``name`` with ``role``; give the token (shown once, never stored).

    Submitter and operator tokens need the ``email`` they submit as; reader tokens take none.
    Raises :class:`TokenError` for a bad or taken name or a missing or bad address.
    """
    if not _NAME.fullmatch(name):
        raise TokenError(
            f"token name {name!r}: 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    if role is Role.READER and email:
        raise TokenError("--email: reader tokens submit nothing, so they take no address")
    if role is not Role.READER:
        if not email:
            raise TokenError(f"--email: required for {role.label} tokens (their submitter address)")
        if not _EMAIL.fullmatch(email):
            raise TokenError(f"--email {email!r}: not an email address")
    token = secrets.token_urlsafe(32)
    with database_proxy.atomic():
        held = Token.get_or_none(Token.name == name)
        if held is not None:
            state = f"revoked {held.revoked_at:%Y-%m-%d}" if held.revoked_at else "in use"
            raise TokenError(f"token {name!r} already exists ({state}); choose another name")
        Token.create(
            name=name,
            role=role.label,
            email=email or None,
            sha256=digest(token),
            created_at=now,
        )
    return token


def listing() -> list[Token]:
    """Give every token (revoked ones too), by name."""
    return list(Token.select().order_by(Token.name))


def revoke(name: str, now: datetime) -> Token:
    """Revoke the token ``name`` at ``now``; give it. Raises :class:`TokenError` if there is
    no such token or it is already revoked."""
    with database_proxy.atomic():
        token = Token.get_or_none(Token.name == name)
        if token is None:
            raise TokenError(f"token {name!r}: no such token (organiser token list)")
        if token.revoked_at is not None:
            raise TokenError(
                f"token {name!r}: already revoked at {token.revoked_at:%Y-%m-%d %H:%M}"
            )
        token.revoked_at = now
        token.save(only=[Token.revoked_at])
    return token


def verify(token: str) -> Token | None:
    """Give the live (not revoked) token whose hash is that of ``token``, or None.

    The hash is looked up by its index and then compared with :func:`hmac.compare_digest`,
    so the comparison takes the same time wherever two hashes differ.
    """
    wanted = digest(token)
    found = Token.get_or_none(Token.sha256 == wanted)
    if found is None or not hmac.compare_digest(found.sha256, wanted):
        return None
    return None if found.revoked_at is not None else found
