"""The guard between test and production: a command that sends to DataCite (or imports from
it) checks the configured endpoint and account against the database's binding before its
first request; ``organiser config rebind`` moves the binding, recorded."""

from __future__ import annotations

from organiser.app import App
from organiser.storage import binding
from organiser.storage.binding import Bound, Endpoint


def endpoint(app: App) -> Endpoint:
    """Give the configured DataCite endpoint and account. Raises ``ConfigError`` without an
    account."""
    dc = app.config.require("datacite", "username")
    return Endpoint.of(dc["url"], dc["username"])


def guard(app: App, actor: str, bind: bool = True) -> Bound | None:
    """Check the configured endpoint and account against the database's binding (the
    database must be open); with ``bind``, an unbound database is bound to them by ``actor``.
    Give the binding (None when unbound and not ``bind``).

    Raises :class:`organiser.storage.binding.BindingMismatch` when they differ: the caller
    has sent nothing yet and sends nothing.
    """
    return binding.check(endpoint(app), bind, actor, app.host, app.clock())


def rebind(app: App, actor: str) -> tuple[Bound | None, Bound]:
    """Bind the database to the configured endpoint and account, under the run lock (never
    while a run sends); give the binding before (None if there was none) and after. The
    row names ``actor``, the host and the time; the rows before it are kept.

    Raises ``ConfigError`` without an account, ``LockHeld`` while a run holds the lock, and
    the database's errors.
    """
    wanted = endpoint(app)
    with app.run_lock.held_for():
        app.open_db()
        return binding.rebind(wanted, actor, app.host, app.clock())


def bound(app: App) -> list[Bound]:
    """Give every binding of the database, the first one first (the last is in force)."""
    app.open_db()
    return binding.history()
