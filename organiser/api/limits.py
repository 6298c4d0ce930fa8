"""What every request passes before the application sees it: its token, its body's size, and
a place among the ``url`` fetches.

- :class:`BodyLimit`: the bearer token is verified first (in a worker thread), and a bad one
  gets 401 with the body never read; then a body over ``[api] max_body_bytes`` gets 413 and
  never reaches the application (nor the database).
- :class:`FetchGate`: at most ``[api] url_fetches`` POSTs with a ``url`` at once; one that
  finds them all busy for :data:`FETCH_WAIT` seconds gets 503, so slow hosts hold a few
  worker threads at most and never starve other requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
from collections.abc import Mapping
from urllib.parse import parse_qs

import structlog
from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from organiser.actions import tokens
from organiser.actions.tokens import Role
from organiser.api import errors
from organiser.api.auth import CHALLENGE, Caller
from organiser.api.deps import opened
from organiser.app import App
from organiser.errors import OrganiserError

log = structlog.get_logger("organiser.api")
#: Where :class:`BodyLimit` leaves the verified :class:`~organiser.api.auth.Caller` in the
#: request's state (``request.state.caller``).
CALLER = "caller"
#: Seconds a request with a ``url`` waits for a fetch to finish before it gets 503.
FETCH_WAIT = 1.0
REFUSED = "the bearer token is unknown or revoked"
#: Request bodies from this size on are followed by :func:`release_memory`.
TRIM_FROM = 1024 * 1024


def release_memory() -> None:
    """Give the memory freed after a large request back to the system: collect cycles, then
    ask glibc to return its free heap pages (``malloc_trim``; nothing where there is no
    glibc). Without it, the server's RSS stays at its peak after a 10 MB request."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def bearer_token(scope: Scope) -> str | None:
    """Give the token of the request's ``Authorization: Bearer TOKEN`` header, or None (no
    such header, another scheme, or no token)."""
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token if scheme.lower() == "bearer" and token else None
    return None


def verify(app: App, token: str) -> Caller | None:
    """Give the caller whose live token ``token`` is, or None (unknown or revoked). Reads the
    database (call it in a worker thread); raises the database's errors."""
    with opened(app):
        found = tokens.verify(token)
    return None if found is None else Caller(found.name, Role.named(found.role), found.email)


async def _answer(
    send: Send, status: int, name: str, message: str, headers: Mapping[str, str] | None = None
) -> None:
    """Send the JSON error answer (the body :func:`errors.body` gives) without the app."""
    content = json.dumps(errors.body(name, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


class BodyLimit:
    """ASGI middleware: verify an HTTP request's bearer token, then read its body (up to
    ``max_bytes``) before the app runs.

    A request without a bearer token reaches the app with an empty body (it gets 401 there,
    or is served a public page), its body never read; one with a token that is unknown or
    revoked gets 401 here, its body never read either. A verified caller is left in the
    request's state (:data:`CALLER`) for the routes. A body over ``max_bytes`` gets 413: by
    its ``Content-Length`` before reading, or as soon as the bytes read pass the limit."""

    def __init__(self, app: ASGIApp, organiser: App, max_bytes: int) -> None:
        self.app = app
        self.organiser = organiser
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        if token is None:
            # no token: the app answers 401 (or serves the docs) without the body, so an
            # anonymous client never makes the server buffer anything
            await self.app(scope, _without_body(receive), send)
            return
        try:
            caller = await to_thread.run_sync(verify, self.organiser, token)
        except OrganiserError as exc:
            status, name, message = errors.public(exc)
            await _answer(send, status, name, message)
            return
        if caller is None:
            client = scope.get("client")
            log.warning("api token refused", client=client[0] if client else None)
            await _answer(send, 401, "ApiError", REFUSED, {**CHALLENGE, "Connection": "close"})
            return
        scope.setdefault("state", {})[CALLER] = caller
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        data = b"".join(chunks)
        del chunks
        replayed = False

        async def replay() -> Message:
            nonlocal replayed, data
            if not replayed:
                replayed = True
                message = {"type": "http.request", "body": data, "more_body": False}
                data = b""  # the app holds the only reference from now on
                return message
            return await receive()  # after the body: wait for the disconnect

        try:
            await self.app(scope, replay, send)
        finally:
            if size >= TRIM_FROM:
                await to_thread.run_sync(release_memory)

    async def _too_large(self, send: Send) -> None:
        megabytes = f"{self.max_bytes / (1024 * 1024):g} MB"
        await _answer(
            send,
            413,
            "PayloadTooLarge",
            f"request body larger than the {megabytes} limit ([api] max_body_bytes)",
            {"Connection": "close"},
        )


class FetchGate:
    """ASGI middleware: let at most ``fetches`` POST requests that name a ``url`` (query
    parameter) run at once; one that waits :data:`FETCH_WAIT` seconds for a place gets 503
    with ``Retry-After``. Waiting happens here, in the event loop, not in a worker thread."""

    def __init__(self, app: ASGIApp, fetches: int) -> None:
        self.app = app
        self.fetches = fetches
        self._places: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    def _semaphore(self) -> asyncio.Semaphore:
        # one per event loop (a server has one; tests may start several)
        loop = asyncio.get_running_loop()
        if loop not in self._places:
            self._places = {
                known: places for known, places in self._places.items() if not known.is_closed()
            }
            self._places[loop] = asyncio.Semaphore(self.fetches)
        return self._places[loop]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _names_url(scope):
            await self.app(scope, receive, send)
            return
        places = self._semaphore()
        try:
            await asyncio.wait_for(places.acquire(), FETCH_WAIT)
        except TimeoutError:
            log.warning("api url fetches busy", fetches=self.fetches)
            await _answer(
                send,
                503,
                "Unavailable",
                f"{self.fetches} metadata URLs are being fetched already ([api] url_fetches); "
                "try again shortly",
                {"Retry-After": "5"},
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            places.release()


def _names_url(scope: Scope) -> bool:
    """Tell whether the request has a non-empty ``url`` query parameter."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return any(value.strip() for value in query.get("url", ()))


def _without_body(receive: Receive) -> Receive:
    """Give a ``receive`` that tells the app the body is empty, then waits for the end."""
    told = False

    async def empty() -> Message:
        nonlocal told
        if not told:
            told = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return empty
