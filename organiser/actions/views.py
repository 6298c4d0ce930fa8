"""What the actions give back: plain frozen views of records, never database rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from organiser.domain.states import State
from organiser.storage.models import Record


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """A record as lists show it (``list``, ``GET /dois``) and the fields of ``show``."""

    id: int
    doi: str
    identifier: str
    title: str | None
    status: str
    remote_state: str | None
    url: str | None
    node: str | None
    submitter: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    #: the DataCite account it is sent through ("datacite": ``[datacite]``'s)
    account: str


def summary(record: Record) -> RecordSummary:
    """Give the view of ``record`` as read."""
    return RecordSummary(
        id=record.id,
        doi=record.doi,
        identifier=record.identifier,
        title=record.title,
        status=record.status,
        remote_state=record.remote_state,
        url=record.url,
        node=record.node,
        submitter=record.submitter,
        attempts=record.attempts,
        last_error=record.last_error,
        next_attempt_at=record.next_attempt_at,
        created_at=record.created_at,
        updated_at=record.updated_at,
        account=record.account,
    )


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One row of a record's history."""

    at: datetime
    from_status: str | None
    to_status: str
    action: str
    actor: str
    outcome: str | None


@dataclass(frozen=True, slots=True)
class Marked(RecordSummary):
    """A record as a mark left it (read back in the mark's transaction): ``status`` is its
    new status, ``previous`` the one before (equal when the mark changed nothing)."""

    previous: State


def marked(record: Record, previous: str) -> Marked:
    """Give the view of ``record`` (read after the mark) that was ``previous`` before it."""
    return Marked(**asdict(summary(record)), previous=State(previous))
