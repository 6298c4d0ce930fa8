"""What the web UI's dashboard shows, from the database alone: records per status with the
oldest waiting age, the failing records with DataCite's own error text and their next retry,
an outage while DataCite is unreachable, the last run and the next scheduled one, and the
drift found by the last ``organiser check``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from organiser.actions.views import RecordSummary, summary
from organiser.app import App
from organiser.domain.states import QUEUED_STATES, State
from organiser.errors import OrganiserError
from organiser.storage import counts, notices, runs
from organiser.storage.models import Notice, Record

#: Failing records the dashboard lists (the soonest retry first); the rest are counted.
FAILING_SHOWN = 20


@dataclass(frozen=True, slots=True)
class StatusLine:
    """One status: how many records are in it and, for a state a pass works on, how long
    the oldest of them has waited (seconds since it was last marked or tried)."""

    status: str
    records: int
    oldest_waiting_seconds: int | None


@dataclass(frozen=True)
class Dashboard:
    """The dashboard, as read in one go."""

    statuses: tuple[StatusLine, ...]
    total: int
    failing: tuple[RecordSummary, ...]
    failing_count: int
    outage: dict[str, Any] | None  # {"reason", "since"} while DataCite is unreachable
    last_run: dict[str, Any] | None
    next_run: datetime | None
    drift: dict[str, Any] | None  # the last check's findings ({"at", "summary", "lines"})


def status_counts() -> list[tuple[str, int, datetime | None]]:
    """Give (status, records, oldest last change of a waiting status) per status that has
    records, without reading the record table (:mod:`organiser.storage.counts`)."""
    oldest = counts.oldest_waiting()
    return [(status, n, oldest.get(status)) for status, n in counts.status_counts().items()]


def dashboard(app: App, now: datetime) -> Dashboard:
    """Give the dashboard at ``now`` (naive UTC, as the database keeps times). Raises
    ``DatabaseError`` when the database cannot be read; ``ConfigError`` never (a broken
    schedule shows no next run)."""
    counted = {status: (count, oldest) for status, count, oldest in status_counts()}
    lines = []
    for state in State:
        count, oldest = counted.pop(state.value, (0, None))
        waited = None
        if state in QUEUED_STATES and oldest is not None:
            waited = max(0, round((now - oldest).total_seconds()))
        lines.append(StatusLine(state.value, count, waited))
    lines += [StatusLine(s, c, None) for s, (c, _) in sorted(counted.items())]
    failing_where = Record.last_error.is_null(False)
    failing = (
        Record.select()
        .where(failing_where)
        .order_by(Record.next_attempt_at.asc(nulls="LAST"), Record.id)
        .limit(FAILING_SHOWN)
    )
    return Dashboard(
        statuses=tuple(lines),
        total=sum(line.records for line in lines),
        failing=tuple(summary(r) for r in failing),
        failing_count=Record.select().where(failing_where).count(),
        outage=_notice(notices.SYSTEMIC),
        last_run=runs.last(),
        next_run=next_run(app, now),
        drift=_notice(notices.DRIFT),
    )


def _notice(key: str) -> dict[str, Any] | None:
    held = Notice.get_or_none(Notice.key == key)
    if held is None:
        return None
    detail: dict[str, Any] = json.loads(held.detail)
    return detail


def next_run(app: App, now: datetime) -> datetime | None:
    """Give when ``organiser daemon`` next runs the passes by ``[scheduler] cron`` (naive
    UTC), or None when the schedule cannot be read."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        cron = str(app.config["scheduler"]["cron"])
        trigger = CronTrigger.from_crontab(cron, timezone=UTC)
        fire = trigger.get_next_fire_time(None, now.replace(tzinfo=UTC))
    except (OrganiserError, ValueError, TypeError):  # a dashboard shows what it can
        return None
    return None if fire is None else fire.astimezone(UTC).replace(tzinfo=None)
