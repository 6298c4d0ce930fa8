"""The web UI's sessions: a signed cookie (itsdangerous) that names the token signed in with
(never the token itself), its CSRF token and when it was made. The key that signs it is made
when the server starts and lives in the application's state, so a restart ends every session.

The cookie is HttpOnly, SameSite=Strict, Secure when the UI is served over HTTPS, and
expires (:data:`LIFETIME`); a session whose token was revoked meanwhile ends too
(:func:`organiser.actions.signin.live`), and so does a signed-out one, even when a copy of
its cookie comes again. Every POST carries the session's CSRF token in a hidden field,
compared in constant time (:meth:`Sessions.csrf_ok`).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "organiser_ui"
#: Seconds a session lasts from sign-in.
LIFETIME = 8 * 3600


@dataclass(frozen=True)
class Session:
    """A signed-in browser: the token's name and the CSRF token of its forms."""

    name: str
    csrf: str


class Sessions:
    """Issues and reads the session cookie, signed with a key of this server's own."""

    def __init__(
        self,
        lifetime: int = LIFETIME,
        key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lifetime = lifetime

        class Signer(TimestampSigner):
            def get_timestamp(self) -> int:  # ``clock``'s time, not always the machine's
                return int(clock())

        self._signer = URLSafeTimedSerializer(
            key or secrets.token_bytes(32), salt="organiser-ui", signer=Signer
        )
        self._clock = clock
        #: sessions signed out (by CSRF token) and when their cookie would expire: a cookie
        #: kept from before sign-out is no session
        self._ended: dict[str, float] = {}

    def issue(self, response: Response, name: str, secure: bool) -> Session:
        """Set a new session's cookie for the token called ``name`` on ``response``; give
        the session."""
        session = Session(name, secrets.token_urlsafe(24))
        value = self._signer.dumps({"n": session.name, "c": session.csrf})
        response.set_cookie(
            COOKIE,
            value,
            max_age=self.lifetime,
            path="/ui",
            httponly=True,
            samesite="strict",
            secure=secure,
        )
        return session

    def read(self, request: Request) -> Session | None:
        """Give the session of ``request``'s cookie, or None (none, forged or expired)."""
        value = request.cookies.get(COOKIE)
        if not value:
            return None
        try:
            data = self._signer.loads(value, max_age=self.lifetime)
        except BadSignature:  # SignatureExpired is one
            return None
        if not isinstance(data, dict) or not isinstance(data.get("n"), str):
            return None
        session = Session(data["n"], str(data.get("c", "")))
        return None if session.csrf in self._ended else session

    def end(self, response: Response, secure: bool, session: Session | None = None) -> None:
        """Remove the session cookie (sign-out); ``session`` ends here too, so that a copy
        of its cookie is no longer signed in."""
        response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict", secure=secure)
        if session is not None:
            now = self._clock()
            for csrf, expiry in list(self._ended.items()):  # forget the expired ones
                if expiry < now:
                    self._ended.pop(csrf, None)
            self._ended[session.csrf] = now + self.lifetime

    @staticmethod
    def csrf_ok(session: Session, sent: str | None) -> bool:
        """Whether a form's ``sent`` CSRF token is the session's."""
        return bool(sent) and hmac.compare_digest(session.csrf.encode(), str(sent).encode())
