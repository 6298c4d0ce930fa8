"""What every page of the web UI shares: who is signed in, the templates, and errors as
pages (a one-line message and the right status; never a traceback)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from organiser.actions import signin
from organiser.actions.access import Actor, Forbidden, Role
from organiser.api.deps import app_of, opened, public_base
from organiser.errors import OrganiserError, Unavailable, UserError
from organiser.storage.records import RecordNotFound
from organiser.web import citation
from organiser.web.session import Session, Sessions

log = structlog.get_logger("organiser.web")
PREFIX = "/ui"
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(age=citation.age, when=citation.when, pretty=citation.pretty)
templates.env.globals.update(citation=citation.citation)


#: Every page's headers: never cached; no script, plugin or frame of any origin, no framing
#: by another site, forms only to the UI itself; the type as sent.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SignInNeeded(OrganiserError):
    """No live session: the browser is sent to sign in, then back to ``back``."""

    def __init__(self, back: str) -> None:
        super().__init__("sign in first")
        self.back = back


class CsrfRefused(UserError):
    """A form came without the session's CSRF token (HTTP 403)."""

    http_status = 403


class Signed:
    """The signed-in browser of one request: its actor and its session."""

    def __init__(self, actor: Actor, session: Session) -> None:
        self.actor, self.session = actor, session

    @property
    def role(self) -> Role:
        return self.actor.role

    def may(self, role: str) -> bool:
        """Whether the actor's role is at least ``role`` (for what a page offers)."""
        return self.actor.role >= Role.named(role)


def sessions(request: Request) -> Sessions:
    """Give the UI's session keeper (made with the app)."""
    kept: Sessions = request.app.state.sessions
    return kept


def secure(request: Request) -> bool:
    """Whether cookies must be Secure: the UI is served, or published, over HTTPS."""
    return request.url.scheme == "https" or public_base(app_of(request)).startswith("https:")


def back_to(request: Request) -> str:
    """Give where to come back to after signing in: this page (for a form sent, the page it
    was sent from)."""
    if request.method == "GET":
        return local(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    sent_from = urlsplit(request.headers.get("referer", ""))
    return local(sent_from.path + (f"?{sent_from.query}" if sent_from.query else ""))


def local(target: str | None) -> str:
    """Give ``target`` when it is a page of the UI, else the dashboard (no open redirect)."""
    odd = any(char in (target or "") for char in "\\\r\n")
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//") and not odd:
        return target
    return f"{PREFIX}/"


def signed_in(request: Request, csrf: str | None = None, posted: bool = False) -> Signed:
    """Give the signed-in actor of ``request`` (call inside :func:`opened`); for a form
    (``posted``) check its ``csrf`` token too. Raises :class:`SignInNeeded` without a live
    session, :class:`CsrfRefused` for a form without the session's CSRF token."""
    session = sessions(request).read(request)
    actor = signin.live(session.name) if session is not None else None
    if session is None or actor is None:
        raise SignInNeeded(back_to(request))
    if posted and not Sessions.csrf_ok(session, csrf):
        raise CsrfRefused("the form's CSRF token is missing or wrong: reload the page and retry")
    return Signed(actor, session)


def page(
    request: Request, template: str, signed: Signed | None, status: int = 200, **values: Any
) -> HTMLResponse:
    """Give ``template`` rendered for ``signed`` (None: signed out) with ``values``."""
    context = {"signed": signed, "prefix": PREFIX, "csrf": signed.session.csrf if signed else ""}
    context.update(values)
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(HEADERS)
    return response


def see(target: str) -> RedirectResponse:
    """Give a 303 to ``target`` (after a form: the browser GETs it)."""
    return RedirectResponse(target, status_code=303)


def db(request: Request) -> AbstractContextManager[None]:
    """Give a context manager holding a database connection of this thread."""
    return opened(app_of(request))


def error_page(request: Request, status: int, lines: list[str]) -> HTMLResponse:
    """Give the error page: the message's lines and a way back."""
    return page(request, "error.html", None, status, lines=lines, code=status)


def install(ui: FastAPI) -> None:
    """Answer every error of ``ui`` with a page: sign-in for a missing session, the one-line
    message with its status for the organiser's errors, never a traceback."""

    @ui.exception_handler(SignInNeeded)
    async def sign_in(request: Request, exc: SignInNeeded) -> Response:
        return see(f"{PREFIX}/signin?next={quote(exc.back, safe='/')}")

    @ui.exception_handler(OrganiserError)
    async def organiser_error(request: Request, exc: OrganiserError) -> Response:
        if isinstance(exc, Forbidden | CsrfRefused):
            status = 403
        elif isinstance(exc, RecordNotFound):
            status = 404
        elif isinstance(exc, UserError):
            status = int(getattr(exc, "http_status", 400) or 400)
        elif isinstance(exc, Unavailable):
            status = 503
        else:
            status = 500
        if status >= 500:
            log.error("ui request failed", path=request.url.path, error=str(exc))
        return error_page(request, status, str(exc).splitlines() or ["error"])

    @ui.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        text = "no such page" if exc.status_code == 404 else str(exc.detail)
        return error_page(request, exc.status_code, [text])

    @ui.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        lines = []
        for error in exc.errors():
            where = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "form")]
            lines.append(f"{'.'.join(where) or 'request'}: {error.get('msg', 'invalid')}")
        return error_page(request, 400, lines[:5])

    @ui.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("ui request failed", path=request.url.path, error=type(exc).__name__)
        return error_page(request, 500, ["internal error: the server's log says more"])
