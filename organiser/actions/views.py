"""What the actions give back: plain frozen views of records, never database rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from organiser.domain.states import State
from organiser.storage.models import Record


@dataclass(frozen=True, slots=True)
class Marked:
    """A record as a mark left it: ``status`` is its new status, ``previous`` the one before
    (equal when the mark changed nothing)."""

    id: int
    doi: str
    identifier: str
    title: str | None
    node: str | None
    submitter: str | None
    status: State
    previous: State
    updated_at: datetime | None


def marked(record: Record, previous: str) -> Marked:
    """Give the view of ``record`` (read after the mark) that was ``previous`` before it."""
    return Marked(
        id=record.id,
        doi=record.doi,
        identifier=record.identifier,
        title=record.title,
        node=record.node,
        submitter=record.submitter,
        status=State(record.status),
        previous=State(previous),
        updated_at=record.updated_at,
    )
