"""The run log: one row per organiser run, for ``organiser status`` and its metrics."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from organiser.storage.models import Run


def start(host: str, actor: str, now: datetime) -> int:
    """Write a run that has just started; give its id."""
    return Run.create(host=host, actor=actor, started_at=now).id


def finish(
    run_id: int,
    now: datetime,
    outcome: str,
    counts: dict[str, dict[str, int]],
    detail: str | None,
) -> None:
    """Write how run ``run_id`` ended."""
    Run.update(finished_at=now, outcome=outcome, counts=json.dumps(counts), detail=detail).where(
        Run.id == run_id
    ).execute()


def last() -> dict[str, Any] | None:
    """Give the latest run (finished or not) as a plain dict, or None if there was none."""
    run = Run.select().order_by(Run.id.desc()).first()
    if run is None:
        return None
    return {
        "host": run.host,
        "actor": run.actor,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "outcome": run.outcome,
        "counts": json.loads(run.counts or "{}"),
        "detail": run.detail,
    }
