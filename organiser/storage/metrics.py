"""The database's figures for the metrics: records per status (the kept counts of
:mod:`organiser.storage.counts`) and per account, failing records, and what the run log says
about scheduled runs and pushes."""

from __future__ import annotations

import collections
import functools
import json
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from peewee import Case, fn

from organiser.storage import counts
from organiser.storage.models import Record, Run, SchemaVersion

#: Outcomes of a run that got through every pass it ran (failed records included).
COMPLETED = ("ok", "failures")


@dataclass(frozen=True)
class RunRow:
    """One run as the metrics need it."""

    started_at: datetime
    finished_at: datetime | None
    outcome: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def records_per_status() -> dict[str, int]:
    """Give records per status (:func:`organiser.storage.counts.status_counts`: no read of
    the record table)."""
    return counts.status_counts()


def records_per_account() -> dict[str, int]:
    """Give records per DataCite account: one ``GROUP BY`` over the record table, the only
    pass over it a scrape makes."""
    rows = Record.select(Record.account, fn.COUNT(Record.id)).group_by(Record.account).tuples()
    return {str(account): int(n) for account, n in rows}


def failing_per_account() -> dict[str, int]:
    """Give the records whose last try failed, per account. Counted here rather than by a
    ``GROUP BY account``, for which SQLite walks the account index over every record (0.4 s
    at a million): this reads the failing records alone, through their partial index."""
    rows = Record.select(Record.account).where(Record.last_error.is_null(False)).tuples()
    return dict(collections.Counter(str(account) for (account,) in rows))


def push_condition(push_flags: Iterable[str]) -> Any:
    """Give the condition that a run is a push of one record by hand (its actor is
    ``organiser --X-doi ID``, :func:`organiser.actions.run.push`)."""
    return functools.reduce(
        operator.or_, (Run.actor.startswith(f"organiser {flag} ") for flag in push_flags)
    )


def run_totals(push_flags: Iterable[str]) -> dict[tuple[str, str], int]:
    """Give the number of runs per (kind, outcome), kind ``push`` or ``passes``."""
    kind = Case(None, [(push_condition(push_flags), "push")], "passes")
    rows = Run.select(kind, Run.outcome, fn.COUNT(Run.id)).group_by(kind, Run.outcome).tuples()
    return {(str(k), str(outcome)): count for k, outcome, count in rows}


def last_run(push_flags: Iterable[str]) -> RunRow | None:
    """Give the latest run that was not a push (finished or not), or None."""
    run = Run.select().where(~push_condition(push_flags)).order_by(Run.id.desc()).first()
    if run is None:
        return None
    return RunRow(run.started_at, run.finished_at, run.outcome, json.loads(run.counts or "{}"))


def last_success(pass_name: str, push_flags: Iterable[str]) -> datetime | None:
    """Give when the latest run that was not a push and got through pass ``pass_name`` (ended
    ok or with failed records, not cut short by an outage or a signal) ended, or None."""
    run = (
        Run.select(Run.finished_at)
        .where(
            ~push_condition(push_flags),
            Run.outcome.in_(COMPLETED),
            Run.counts.contains(f'"{pass_name}"'),
        )
        .order_by(Run.id.desc())
        .first()
    )
    return run.finished_at if run is not None else None


def schema_version() -> int:
    """Give the schema version the database is at. Raises the driver's error when the
    database cannot be read."""
    row = SchemaVersion.select(SchemaVersion.version).first()
    return row.version if row is not None else 0
