"""The database's binding to one DataCite endpoint and account: the first command that sends
(or imports) writes it, a command against another endpoint or account is refused until an
operator rebinds (``organiser config rebind``), and every binding is kept as a row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from organiser.errors import UserError
from organiser.redact import redact_url
from organiser.storage.models import Binding, database_proxy

FIRST_USE, REBIND = "first use", "rebind"


class BindingMismatch(UserError):
    """The configured DataCite endpoint or account is not the one the database is bound to;
    nothing was sent (exit 2)."""


@dataclass(frozen=True)
class Endpoint:
    """A DataCite API base URL (credentials removed) and a repository account."""

    url: str
    username: str

    @classmethod
    def of(cls, url: str, username: str) -> Endpoint:
        """Give the endpoint for a configured ``url`` and ``username``: the URL without
        credentials, a trailing '/' or case in its scheme and host; the username as given."""
        parts = urlsplit(url.strip().rstrip("/"))
        try:
            host = (parts.hostname or "").lower().rstrip(".")
            netloc = f"{host}:{parts.port}" if parts.port else host
        except ValueError:  # a port that is not a number: kept as written, credentials masked
            return cls(redact_url(url.strip().rstrip("/")), username.strip())
        return cls(f"{parts.scheme.lower()}://{netloc}{parts.path}", username.strip())

    def same(self, other: Endpoint) -> bool:
        """Tell whether ``other`` is this endpoint and account (DataCite's client ids are
        case-insensitive)."""
        return self.url == other.url and self.username.upper() == other.username.upper()

    def __str__(self) -> str:
        return f"{self.url} as {self.username}"


@dataclass(frozen=True)
class Bound:
    """One binding row: the endpoint, why and by whom it was written, and when."""

    endpoint: Endpoint
    reason: str
    actor: str
    host: str
    at: datetime

    def line(self) -> str:
        """Give the binding as one line for the operator."""
        return (
            f"{self.endpoint} ({self.reason} by {self.actor} on {self.host}, "
            f"{self.at.isoformat(' ', 'seconds')} UTC)"
        )


def _bound(row: Binding) -> Bound:
    return Bound(Endpoint(row.url, row.username), row.reason, row.actor, row.host, row.at)


def current() -> Bound | None:
    """Give the binding in force (the latest row), or None if the database has none yet."""
    row = Binding.select().order_by(Binding.id.desc()).first()
    return _bound(row) if row is not None else None


def history() -> list[Bound]:
    """Give every binding, the first one first."""
    return [_bound(row) for row in Binding.select().order_by(Binding.id)]


def check(endpoint: Endpoint, bind: bool, actor: str, host: str, now: datetime) -> Bound | None:
    """Give the binding after checking ``endpoint`` against it; with ``bind``, an unbound
    database is bound to ``endpoint`` first (a row "first use" by ``actor``).

    Raises :class:`BindingMismatch` (one line: what the database is bound to, what is
    configured, and how to rebind) when ``endpoint`` is another endpoint or account.
    """
    with database_proxy.atomic():
        bound = current()
        if bound is None:
            if not bind:
                return None
            return _write(endpoint, FIRST_USE, actor, host, now)
    if not bound.endpoint.same(endpoint):
        raise BindingMismatch(
            f"[datacite] url and username: this database sends to {bound.endpoint}, not to "
            f"{endpoint}; nothing was sent (if the change is intended: organiser config rebind)"
        )
    return bound


def rebind(endpoint: Endpoint, actor: str, host: str, now: datetime) -> tuple[Bound | None, Bound]:
    """Bind the database to ``endpoint`` (a row "rebind" by ``actor``, kept with the ones
    before it); give the binding before (None if there was none) and the new one. Nothing is
    written when it is bound to ``endpoint`` already."""
    with database_proxy.atomic():
        before = current()
        if before is not None and before.endpoint.same(endpoint):
            return before, before
        reason = REBIND if before is not None else FIRST_USE
        return before, _write(endpoint, reason, actor, host, now)


def _write(endpoint: Endpoint, reason: str, actor: str, host: str, now: datetime) -> Bound:
    row = Binding.create(
        url=endpoint.url, username=endpoint.username, reason=reason, actor=actor, host=host, at=now
    )
    return _bound(row)
