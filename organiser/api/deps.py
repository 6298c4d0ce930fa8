"""What every request needs: the composition root and a database connection of its own."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterator

from starlette.requests import HTTPConnection

from organiser.app import App
from organiser.storage.database import DRIVER_ERRORS, classify
from organiser.storage.models import database_proxy


def app_of(request: HTTPConnection) -> App:
    """Give the :class:`App` the API was built with."""
    app: App = request.app.state.organiser
    return app


@contextlib.contextmanager
def opened(app: App) -> Iterator[None]:
    """Hold a database connection of this thread for the block, closed after it (so that a
    database server restarted meanwhile is no problem); the driver's errors become
    ``DatabaseUnavailable`` (503) or ``DatabaseError`` (500)."""
    try:
        with database_proxy.connection_context():
            yield
    except DRIVER_ERRORS as exc:
        raise classify(exc, str(app.config["database"]["url"])) from None


def public_base(app: App) -> str:
    """Give the API's public address without a trailing slash: ``[api] base_url``, or
    ``http://HOST:PORT`` from ``[api] host`` and ``port`` (this machine's name when the host
    is a wildcard address). Never the client's ``Host`` header."""
    api = app.config["api"]
    if api["base_url"]:
        return str(api["base_url"]).rstrip("/")
    host = str(api["host"]).strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = socket.getfqdn()
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a name
    return f"http://{host}:{api['port']}"
