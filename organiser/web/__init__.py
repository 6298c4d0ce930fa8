"""The operator's and reviewer's web UI under ``/ui`` of ``organiser serve``: server-rendered
pages (Jinja2 templates through FastAPI), one stylesheet of its own, no script needed.

Sign-in is with an API token (:mod:`organiser.web.session`); the pages call the same actions
as the command line and the API, so the roles, ownership and review rules are theirs.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from organiser.app import App
from organiser.web import acting, common, pages
from organiser.web.session import Sessions

PREFIX = common.PREFIX


def create(app: App, sessions: Sessions | None = None) -> FastAPI:
    """Give the UI's application (to be served under :data:`PREFIX`) for ``app``."""
    ui = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, root_path="")
    ui.state.organiser = app
    ui.state.sessions = sessions or Sessions()
    common.install(ui)
    ui.mount("/static", StaticFiles(directory=str(common.HERE / "static")), name="static")
    ui.include_router(acting.router)  # /records/{id}/delete before /records/{ref:path}
    ui.include_router(pages.router)
    return ui


class Beside:
    """ASGI: requests under :data:`PREFIX` go to the UI (its bodies read up to
    ``max_bytes``: 413 beyond), every other one to ``rest`` (the API, with its own limits)."""

    def __init__(self, ui: ASGIApp, rest: ASGIApp, max_bytes: int) -> None:
        self.ui, self.rest, self.max_bytes = ui, rest, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] in ("http", "websocket") else ""
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            await self.rest(scope, receive, send)
            return
        if path == PREFIX:
            await _redirect(send, PREFIX + "/")
            return
        # as a Starlette Mount does: the full path stays, the prefix becomes the root path
        scope = dict(scope, root_path=scope.get("root_path", "") + PREFIX)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _answer(send, 413, "the upload is larger than [api] max_body_bytes")
            return
        if length is None and b"chunked" in headers.get(b"transfer-encoding", b""):
            await _answer(send, 411, "a form must be sent with its Content-Length")
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:  # more than Content-Length said: stop reading
                return {"type": "http.disconnect"}
            return message

        await self.ui(scope, limited, send)


async def _redirect(send: Send, location: str) -> None:
    headers = [(b"location", location.encode()), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 307, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _answer(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
