"""Who is asking: every API operation needs ``Authorization: Bearer <token>``.

A missing, unknown or revoked token gets 401; a token whose role is too low, 403. Readers
list and read; submitters also reserve, update and submit, always as their token's submitter
address, and only records they submitted; operators also approve (release) and reject, for
anyone. The history names the token (actor ``api:<name>``). A token is never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from organiser.actions import tokens
from organiser.actions.tokens import Role
from organiser.api.deps import app_of, opened
from organiser.api.errors import ApiError
from organiser.domain.states import State
from organiser.storage.models import Record

log = structlog.get_logger("organiser.api")
bearer = HTTPBearer(
    auto_error=False,
    description="A token made with `organiser token add NAME --role reader|submitter|operator`.",
)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="organiser"'}
#: Statuses a record is in once approved for release: a submitter may not change it any more.
APPROVED = frozenset({State.TO_BE_REGISTERED, State.UPDATE_BEFORE_REGISTRATION})


@dataclass(frozen=True)
class Caller:
    """The token a request came with."""

    name: str
    role: Role
    email: str | None

    @property
    def actor(self) -> str:
        """Who the history names for what this caller marks."""
        return f"api:{self.name}"

    def submitter(self, asked: str | None) -> str | None:
        """Give the submitter address to record: a submitter token's own (``asked`` must be
        it, or absent), or what an operator or reader ``asked`` for (an operator's own when
        absent). Raises :class:`ApiError` 403 when a submitter asks for another address."""
        if self.role is Role.SUBMITTER:
            if asked and self.email and asked.strip().lower() != self.email.lower():
                raise ApiError(
                    403, f"submitter {asked.strip()!r}: token {self.name!r} submits as {self.email}"
                )
            return self.email
        if self.role is Role.OPERATOR:
            return asked.strip() if asked and asked.strip() else self.email
        return asked.strip() if asked and asked.strip() else None

    def may_change(self, record: Record) -> None:
        """Refuse (403) a submitter token a record that another submitter reserved, or one
        already approved for release (new metadata there would skip the review)."""
        if self.role is Role.SUBMITTER:
            own = (record.submitter or "").lower() == (self.email or "").lower()
            if not own:
                raise ApiError(
                    403,
                    f"{record.doi}: submitted by {record.submitter or 'someone else'}; only its "
                    "submitter or an operator may change it",
                )
            if record.status in APPROVED:
                raise ApiError(
                    403,
                    f"{record.doi} is {record.status} (approved for release); only an operator "
                    "may change it now",
                )


def needs(role: Role) -> Callable[..., object]:
    """Give a dependency that gives the :class:`Caller`, refusing (401) a request without a
    live token and (403) one whose token's role is below ``role``."""

    async def caller(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Caller:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiError(
                401, "a bearer token is required (Authorization: Bearer TOKEN)", CHALLENGE
            )
        app = app_of(request)

        def check() -> Caller | None:
            with opened(app):
                found = tokens.verify(credentials.credentials)
            if found is None:
                return None
            return Caller(found.name, Role.named(found.role), found.email)

        # verified before the body was read (organiser.api.limits.BodyLimit), or not yet
        who = getattr(request.state, "caller", None) or await run_in_threadpool(check)
        if who is None:
            log.warning("api token refused", client=request.client.host if request.client else None)
            raise ApiError(401, "the bearer token is unknown or revoked", CHALLENGE)
        if who.role < role:
            held, needed = _a(who.role.label), _a(role.label)
            raise ApiError(403, f"token {who.name!r} is {held}; this needs {needed} token")
        return who

    return caller


reader = needs(Role.READER)
submitter = needs(Role.SUBMITTER)
operator = needs(Role.OPERATOR)


def _a(word: str) -> str:
    """Give ``word`` with its indefinite article ("an operator", "a reader")."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
