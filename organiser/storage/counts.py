"""How many records are in each status, and how long the oldest of each waiting status has
waited: what ``organiser status``, the metrics and the web dashboard show. Nothing here
writes."""

from __future__ import annotations

from datetime import datetime

from peewee import fn

from organiser.domain.states import QUEUED_STATES
from organiser.storage.models import Record


def status_counts() -> dict[str, int]:
    """Give the number of records per status (only statuses that have records).

    Raises the database driver's error when the database cannot be read.
    """
    rows = Record.select(Record.status, fn.COUNT(Record.id)).group_by(Record.status).tuples()
    return {str(status): int(count) for status, count in rows if count}


def oldest_waiting() -> dict[str, datetime]:
    """Give, per waiting status (:data:`QUEUED_STATES`) that has records, the oldest
    ``updated_at`` (when the record was last marked or tried).

    Raises the database driver's error when the database cannot be read.
    """
    found: dict[str, datetime] = {}
    for status in sorted(QUEUED_STATES):
        oldest = Record.select(fn.MIN(Record.updated_at)).where(Record.status == status).scalar()
        if oldest is not None:
            found[str(status)] = _datetime(oldest)
    return found


def _datetime(value: datetime | str) -> datetime:
    """Give ``value`` as a datetime (SQLite's aggregates give text)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value
