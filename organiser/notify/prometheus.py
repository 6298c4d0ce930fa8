"""``organiser status --prometheus FILE``: the status as a node_exporter textfile."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from organiser.domain.states import QUEUED_STATES
from organiser.errors import UserError

OUTCOMES = ("ok", "failures", "outage", "interrupted", "running")


def render(status: dict[str, Any]) -> str:
    """Give ``status`` (from :func:`organiser.actions.status.status`) in the Prometheus text
    exposition format."""
    out: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, Any]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{labels} {value}" for labels, value in samples)

    statuses = status["statuses"]
    metric(
        "organiser_records",
        "gauge",
        "Records per status.",
        [(f'{{status="{s}"}}', e["records"]) for s, e in statuses.items()],
    )
    metric(
        "organiser_oldest_waiting_seconds",
        "gauge",
        "Age of the oldest record waiting for a pass, per status (0 when none waits).",
        [
            (f'{{status="{s}"}}', e["oldest_waiting_seconds"] or 0)
            for s, e in statuses.items()
            if s in QUEUED_STATES
        ],
    )
    metric(
        "organiser_records_failing",
        "gauge",
        "Records whose last try failed.",
        [("", status["failing"])],
    )
    last = status["last_run"]
    if last is not None:
        metric(
            "organiser_last_run_start_timestamp_seconds",
            "gauge",
            "When the last run started (Unix time).",
            [("", _epoch(last["started_at"]))],
        )
        if last["finished_at"]:
            metric(
                "organiser_last_run_end_timestamp_seconds",
                "gauge",
                "When the last run ended (Unix time).",
                [("", _epoch(last["finished_at"]))],
            )
        metric(
            "organiser_last_run_outcome",
            "gauge",
            "1 for how the last run ended: ok, failures, outage, interrupted, running.",
            [(f'{{outcome="{o}"}}', int(last["outcome"] == o)) for o in OUTCOMES],
        )
        samples = [
            (f'{{pass="{name}",result="{kind}"}}', value)
            for name, counts in last["counts"].items()
            for kind, value in counts.items()
        ]
        metric(
            "organiser_last_run_records",
            "gauge",
            "Records per pass and result in the last run.",
            samples,
        )
    return "\n".join(out) + "\n"


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file beside it, then a rename), so
    node_exporter never reads half a file. Raises :class:`UserError` if it cannot."""
    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as exc:
        raise UserError(f"--prometheus {path}: cannot write: {exc.strerror}") from None
