"""Who is asking: every API operation needs ``Authorization: Bearer <token>``, except the
reads when ``[api] public_reads`` is true (then a request without a token reads as the
anonymous reader, :data:`ANONYMOUS`).

A missing, unknown or revoked token gets 401; a token whose role is too low for the
operation, 403. What each role may do with which record is the actions' to decide
(:mod:`organiser.actions.access`), in the write's transaction. The history names the token
(actor ``api:<name>``). A token is never logged.
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
from organiser.actions.access import Actor
from organiser.actions.tokens import Role
from organiser.api.deps import app_of, opened
from organiser.api.errors import ApiError

log = structlog.get_logger("organiser.api")
bearer = HTTPBearer(
    auto_error=False,
    description="A token made with `organiser token add NAME --role reader|submitter|operator`.",
)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="organiser"'}


@dataclass(frozen=True)
class Caller:
    """The token a request came with."""

    name: str
    role: Role
    email: str | None
    #: no token: a public read (``[api] public_reads``)
    anonymous: bool = False

    @property
    def actor(self) -> Actor:
        """The actor the actions are called with (the history names ``api:<name>``); the
        rules of its role are the actions' to enforce."""
        return Actor(f"api:{self.name}", self.role, self.email, f"token {self.name!r}")


#: Who reads without a token when ``[api] public_reads`` is true (the history never names it:
#: reads write nothing).
ANONYMOUS = Caller("anonymous", Role.READER, None, anonymous=True)


def needs(role: Role, public: bool = False) -> Callable[..., object]:
    """Give a dependency that gives the :class:`Caller`, refusing (401) a request without a
    live token and (403) one whose token's role is below ``role``. With ``public`` (a read)
    and ``[api] public_reads`` true, a request without a token is :data:`ANONYMOUS`."""

    async def caller(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Caller:
        app = app_of(request)
        if credentials is None and public and app.config["api"]["public_reads"]:
            return ANONYMOUS
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiError(
                401, "a bearer token is required (Authorization: Bearer TOKEN)", CHALLENGE
            )

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
#: a read that ``[api] public_reads`` opens to requests without a token
public_reader = needs(Role.READER, public=True)
submitter = needs(Role.SUBMITTER)
operator = needs(Role.OPERATOR)


def _a(word: str) -> str:
    """Give ``word`` with its indefinite article ("an operator", "a reader")."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
