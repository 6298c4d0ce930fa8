"""``organiser serve``: uvicorn serving the API, logging through organiser's logging, telling
systemd when it is ready (``Type=notify``) and that its loop is alive (``WATCHDOG=1``, under
``WatchdogSec=``), and stopping cleanly on SIGTERM or SIGINT (open
requests finish; exit 0)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from types import FrameType

import structlog
import uvicorn

from organiser.api.app import create_app
from organiser.app import App
from organiser.errors import Unavailable
from organiser.notify.sdnotify import notify, watchdog_interval

log = structlog.get_logger("organiser.api")


class _Server(uvicorn.Server):
    """uvicorn's server, telling systemd READY once it listens, WATCHDOG=1 every
    ``watchdog`` seconds from a task of its event loop (a loop that hangs stops the pings),
    and STOPPING at a signal."""

    def __init__(self, config: uvicorn.Config, watchdog: float | None = None) -> None:
        super().__init__(config)
        self.watchdog = watchdog
        self._pings: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            notify("READY=1\nSTATUS=serving the API")
            if self.watchdog:
                self._pings = asyncio.create_task(self._ping(self.watchdog))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)  # pings go on while open requests finish
        if self._pings is not None:
            self._pings.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pings

    @staticmethod
    async def _ping(interval: float) -> None:
        while True:
            notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            notify("STOPPING=1")
            log.info("stopping", signal=signal.Signals(sig).name)
        super().handle_exit(sig, frame)


def listen(host: str, port: int) -> socket.socket:
    """Give a socket bound to ``host``:``port`` (IPv4 or IPv6, as the host is). Raises
    :class:`Unavailable` when the address is taken or cannot be used."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise Unavailable(
            f"[api] host {host}: cannot listen there: {exc.strerror or exc}"
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise Unavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def serve(app: App, host: str, port: int) -> int:
    """Serve the API on ``host``:``port`` until SIGTERM or SIGINT; give the exit code (0).

    The database is opened (and upgraded) and the DOI prefix checked first. Raises
    ``ConfigError``, database errors, or :class:`Unavailable` when the address is taken.
    """
    app.scheme  # noqa: B018 (fails now, not at the first reserve, without a prefix)
    app.open_db()
    sock = listen(host, port)
    config = uvicorn.Config(
        create_app(app),
        log_config=None,  # organiser's logging (organiser.logs) handles uvicorn's loggers
        access_log=True,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=30,
        lifespan="off",
    )
    server = _Server(config, watchdog_interval(app.environ))
    # uvicorn raises the signal again once it has shut down; with these handlers in place that
    # ends nothing, and the command exits 0 as the daemon does
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        log.info("api listening", host=host, port=port)
        server.run(sockets=[sock])
    finally:
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("api stopped")
    return 0
