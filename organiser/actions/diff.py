"""What a push would change at DataCite, field by field: the diff the web UI shows for a
record waiting to be pushed or approved.

"What DataCite holds" is asked of DataCite (one read-only ``GET /dois/{doi}`` with a short
deadline); when DataCite cannot be asked, the last local copy stands in for it (for a
submitter's held change: the record as approved, ``attributes`` and ``url``) and the diff says
so. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from organiser.app import App
from organiser.domain.metadata import differences
from organiser.domain.states import IN_REVIEW, QUEUED_STATES, State
from organiser.errors import OrganiserError, UserError
from organiser.storage import records as store
from organiser.storage.models import Record

#: Seconds the UI waits for DataCite's answer (connect, whole answer) before it falls back.
DEADLINE = (2.0, 5.0)
#: Statuses whose record has something waiting to be sent (or approved to be sent).
PENDING = frozenset(QUEUED_STATES | IN_REVIEW) - {State.TO_BE_DELETED}


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field the push would change: what is held (``before``) and what is sent."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class RecordDiff:
    """The changes a push of one record would make, the landing page first.

    ``compared_with`` says what ``before`` is: ``"datacite"`` (asked just now),
    ``"local"`` (the last local copy: DataCite could not be asked, ``note`` says why) or
    ``"nothing"`` (DataCite holds no such DOI yet: every field is new)."""

    doi: str
    compared_with: str
    changes: tuple[FieldChange, ...]
    url_before: str | None
    url_after: str | None
    note: str | None = None

    @property
    def url_changes(self) -> bool:
        """Whether the push moves the landing page (a DOI that resolves elsewhere)."""
        return (self.url_before or None) != (self.url_after or None)


def outgoing(record: Record) -> dict[str, Any]:
    """Give what a push of ``record`` would send: its held change (``update-review``) or its
    attributes, with the landing page as ``url``."""
    pending = store.pending_of(record)
    if pending is not None:
        return dict(pending.get("attributes") or {}, url=pending.get("url"))
    return dict(store.attributes_of(record), url=record.url)


def diff(app: App, record: Record, ask: bool = True) -> RecordDiff | None:
    """Give what pushing ``record`` would change at DataCite, or None when nothing of it is
    waiting to be sent or approved. ``ask`` False compares with the local copy only (no
    request). Never raises for DataCite: an error, a timeout or a missing account becomes a
    comparison with the local copy and a ``note``."""
    if record.status not in PENDING:
        return None
    sent = outgoing(record)
    held: dict[str, Any] | None = None
    note, source = None, "datacite"
    if ask:
        try:
            held = _ask(app, record)
            if held is None:
                source = "nothing"
                held = {}
        except OrganiserError as exc:
            note = f"DataCite could not be asked ({exc}); compared with the last local copy"
        except OSError as exc:  # a socket error the client did not classify
            note = f"DataCite could not be asked ({type(exc).__name__}); compared with the last local copy"  # noqa: E501
    if held is None:
        source = "local"
        held = dict(store.attributes_of(record), url=record.url) if record.pending else {}
        if not record.pending:
            note = (note or "not asked") + "; no earlier copy is kept here: every field is shown"
    changes = _changes(sent, held, both_ways=source != "datacite")
    return RecordDiff(record.doi, source, changes, held.get("url"), sent.get("url"), note)


def _ask(app: App, record: Record) -> dict[str, Any] | None:
    """Give DataCite's copy of ``record``'s DOI (None: it holds none), asked as the account
    the record is sent through. Raises ``OrganiserError`` when DataCite cannot be asked or
    the account is not configured."""
    clients = app.clients()
    try:
        client = clients.get(record.account)
        if client is None:
            raise UserError(f"account {record.account} is not configured")
        client.timeouts = DEADLINE
        return client.get(record.doi)
    finally:
        for each in clients.values():  # no keep-alive connection outlives the page
            each.session.close()


def _changes(
    sent: dict[str, Any], held: dict[str, Any], both_ways: bool
) -> tuple[FieldChange, ...]:
    """Give the fields ``sent`` changes in ``held``, the landing page first; ``both_ways``
    also the fields of ``held`` that ``sent`` empties (DataCite's own copy has fields it
    keeps whatever is sent, so not for it)."""
    found = {d.field: FieldChange(d.field, d.remote, d.local) for d in differences(sent, held)}
    for d in differences(held, sent) if both_ways else ():
        found.setdefault(d.field, FieldChange(d.field, d.local, d.remote))
    return tuple(sorted(found.values(), key=lambda c: (c.field != "url", c.field)))
