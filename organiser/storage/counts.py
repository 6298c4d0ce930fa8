"""How many records are in each status, and how long the oldest of each waiting status has
waited: what ``organiser status``, the metrics and the web dashboard show. Neither reads the
record table: the counts come from ``status_count`` (kept by triggers, see
:mod:`organiser.storage.indexes`), the oldest from one seek per status in the
(status, updated_at) index."""

from __future__ import annotations

import contextlib
from datetime import datetime

from peewee import fn

from organiser.domain.states import QUEUED_STATES
from organiser.storage.database import DRIVER_ERRORS
from organiser.storage.indexes import is_sqlite
from organiser.storage.models import Record, database_proxy

#: PostgreSQL: ``status_count`` rows beyond which :func:`status_counts` folds them into one
#: per status (every status change appends two).
FOLD_ABOVE = 500
#: The advisory lock that lets one session at a time fold (others just add up).
_FOLD_LOCK = 0x6F726753  # "orgS"


def status_counts() -> dict[str, int]:
    """Give the number of records per status (only statuses that have records).

    Raises the database driver's error when the database cannot be read.
    """
    db = database_proxy.obj
    rows = db.execute_sql(
        "SELECT status, SUM(records), COUNT(*) FROM status_count GROUP BY status"
    ).fetchall()
    if not is_sqlite(db) and sum(row[2] for row in rows) > FOLD_ABOVE:
        _fold(db)
    return {str(status): int(total) for status, total, _ in rows if total}


def _fold(db: object) -> None:
    """Replace PostgreSQL's ``status_count`` rows by one per status (same sums), unless
    another session is at it; a database that refuses the write (read-only) is left as is."""
    with contextlib.suppress(*DRIVER_ERRORS), database_proxy.atomic():
        taken = database_proxy.execute_sql("SELECT pg_try_advisory_xact_lock(%s)", (_FOLD_LOCK,))
        if taken.fetchone()[0]:
            database_proxy.execute_sql(
                "WITH gone AS (DELETE FROM status_count RETURNING status, records) "
                "INSERT INTO status_count (status, records) "
                "SELECT status, SUM(records) FROM gone GROUP BY status"
            )


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
