"""The API's errors: every error answer is JSON ``{"errors": [{"name", "message"}, ...]}``,
one entry per line of the organiser's one-line messages (the lines the CLI prints, naming the
API's parameters where the CLI names its flags). The database's errors are answered without
their text (it names the database's path or URL); a 405 lists the methods allowed."""

from __future__ import annotations

import re
from collections.abc import Mapping

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from organiser.errors import OrganiserError, Unavailable, UserError
from organiser.storage.database import DatabaseError, DatabaseUnavailable

log = structlog.get_logger("organiser.api")


class ApiError(OrganiserError):
    """An answer other than success, with its HTTP ``status`` and one-line message."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})


def body(name: str, message: str) -> dict[str, list[dict[str, str]]]:
    """Give the JSON error body for ``message`` (one entry per line)."""
    return {"errors": [{"name": name, "message": line} for line in message.splitlines() or [""]]}


def answer(
    status: int, name: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """Give the error response ``status`` for ``message``."""
    return JSONResponse(body(name, message), status_code=status, headers=dict(headers or {}))


def status_of(exc: OrganiserError) -> int:
    """Give the HTTP status for an organiser error: the API's own, 503 for a database that
    is unavailable or cannot be used (the service cannot answer, as ``/readyz`` says; the
    request was not at fault), 400 for the user's input (the CLI's exit 2)."""
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, Unavailable):
        return 503
    if isinstance(exc, DatabaseError):
        return 503
    if isinstance(exc, UserError):  # 403 Forbidden, 404 RecordNotFound carry their own
        return int(getattr(exc, "http_status", 400))
    return 500


#: The command line's flags in messages from shared code, as the API's parameters say it.
_FLAGS = (
    (re.compile(r"--force\b"), "force=true"),
    (re.compile(r"--reason TEXT\b"), "reason=TEXT"),
    (re.compile(r"--(node|reason|submitter|force)\b"), r"\1"),
)


def api_words(message: str) -> str:
    """Give ``message`` (a line the command line also prints) naming the API's query
    parameters instead of the command line's flags (``--node`` → ``node``, ``--force`` →
    ``force=true``)."""
    for flag, name in _FLAGS:
        message = flag.sub(name, message)
    return message


def public(exc: OrganiserError) -> tuple[int, str, str]:
    """Give (status, name, message) to answer ``exc`` with, and log it as its status
    deserves. The database's errors are answered without their text (it names the
    database's path or URL): the log has it."""
    status = status_of(exc)
    name, message = type(exc).__name__, api_words(str(exc))
    if isinstance(exc, DatabaseUnavailable):
        log.warning("api request failed", status=status, error=str(exc))
        message = "the database is unavailable; try again later"
    elif isinstance(exc, DatabaseError):
        log.error("api request failed", status=status, error=str(exc))
        message = "the database cannot be used (the server's log says why)"
    elif status == 501:
        log.info("api request refused", status=status, error=message)  # documented, expected
    elif status >= 500:
        log.error("api request failed", status=status, error=message)
    return status, name, message


#: The methods an ``Allow`` header may name.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Give the methods some route of ``request``'s application answers at its path."""
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def install(api: FastAPI) -> None:
    """Make ``api`` answer every error with the JSON error body."""

    @api.exception_handler(OrganiserError)
    async def organiser_error(_request: Request, exc: OrganiserError) -> JSONResponse:
        status, name, message = public(exc)
        headers = exc.headers if isinstance(exc, ApiError) else None
        return answer(status, name, message, headers)

    @api.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        lines = []
        for error in exc.errors():
            where = error.get("loc", ())
            kind = where[0] if where else "request"
            name = ".".join(str(part) for part in where[1:]) or kind
            lines.append(f"{kind} parameter {name!r}: {error.get('msg', 'invalid')}")
        return answer(400, "InvalidArgument", "\n".join(lines) or "invalid request")

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        message = str(exc.detail)
        if exc.status_code == 405:
            methods = allowed_methods(request)
            headers["Allow"] = ", ".join(methods)
            message = (
                f"{request.method} {request.url.path}: method not allowed "
                f"(allowed: {', '.join(methods)})"
            )
        return answer(exc.status_code, "HTTPError", message, headers)

    @api.exception_handler(Exception)
    async def internal(_request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error in an api request", exc_info=exc)
        return answer(500, "InternalError", f"internal error ({type(exc).__name__}); logged")
