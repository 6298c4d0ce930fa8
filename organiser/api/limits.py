"""A limit on request bodies: a body over ``[api] max_body_bytes`` gets 413 and never
reaches the application (nor the database)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from organiser.api.errors import body as error_body


class BodyLimit:
    """ASGI middleware: read an HTTP request's body (up to ``max_bytes``) before the app
    runs, and answer 413 when it is larger: by its ``Content-Length`` before reading, or as
    soon as the bytes read pass the limit (a chunked body). A request without a bearer token
    reaches the app with an empty body (it gets 401 there), its body never read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if not headers.get(b"authorization", b"").lower().startswith(b"bearer "):
            # no token: the app answers 401 (or serves the docs) without the body, so an
            # anonymous client never makes the server buffer anything
            await self.app(scope, _without_body(receive), send)
            return
        length = headers.get(b"content-length")
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
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        megabytes = f"{self.max_bytes / (1024 * 1024):g} MB"
        content = json.dumps(
            error_body(
                "PayloadTooLarge",
                f"request body larger than the {megabytes} limit ([api] max_body_bytes)",
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})


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
