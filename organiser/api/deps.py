"""What every request needs: the composition root and a database connection of its own."""

from __future__ import annotations

import contextlib
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
