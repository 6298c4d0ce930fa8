"""``organiser status``: how the queue is doing, from the database alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from peewee import fn

from organiser.domain.states import QUEUED_STATES, State
from organiser.storage import counts, runs
from organiser.storage.models import Record


def status(now: datetime) -> dict[str, Any]:
    """Give records per status, the oldest waiting record per status (seconds since it was
    last marked or tried), records with failures, and the last run."""
    statuses: dict[str, dict[str, Any]] = {
        str(s): {"records": 0, "oldest_waiting_seconds": None} for s in State
    }
    for status_name, count in counts.status_counts().items():  # no read of the records
        statuses.setdefault(status_name, {"records": 0, "oldest_waiting_seconds": None})
        statuses[status_name]["records"] = count
    for status_name, oldest in counts.oldest_waiting().items():  # one index seek each
        if status_name in statuses:
            waited = max(0, round((now - oldest).total_seconds()))
            statuses[status_name]["oldest_waiting_seconds"] = waited
    failing = Record.select().where(Record.last_error.is_null(False)).count()
    last = runs.last()
    if last is not None:
        for key in ("started_at", "finished_at"):
            last[key] = last[key].isoformat(" ", "seconds") if last[key] else None
    return {
        "statuses": statuses,
        "records": sum(e["records"] for e in statuses.values()),
        "waiting": sum(e["records"] for s, e in statuses.items() if s in QUEUED_STATES),
        "failing": failing,
        "last_run": last,
    }


def by_account() -> dict[str, dict[str, int]]:
    """Give the records of each DataCite account by status (accounts and statuses in name
    order; statuses without records left out): what ``status`` shows when there are
    several accounts."""
    rows = (
        Record.select(Record.account, Record.status, fn.COUNT(Record.id))
        .group_by(Record.account, Record.status)
        .order_by(Record.account, Record.status)
        .tuples()
    )
    found: dict[str, dict[str, int]] = {}
    for account, status_name, count in rows:
        found.setdefault(account, {})[status_name] = count
    return found
