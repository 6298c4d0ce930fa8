"""The organiser's figures for Prometheus and the health checks, from the database alone (so
they agree across processes): ``/metrics``, ``/readyz``, the node_exporter textfile."""

from __future__ import annotations

import platform
from datetime import UTC, datetime

import structlog

from organiser import __version__
from organiser.app import App
from organiser.config_schema import DEFAULT_ACCOUNT
from organiser.domain.passes import ORDER, PASSES
from organiser.domain.states import QUEUED_STATES, State
from organiser.errors import OrganiserError
from organiser.notify import prometheus
from organiser.notify.prometheus import Figures, LastRun
from organiser.storage import counts
from organiser.storage import metrics as stored
from organiser.storage.database import DRIVER_ERRORS, classify

log = structlog.get_logger("organiser.metrics")
PUSH_FLAGS = tuple(p.push_flag for p in PASSES)


def figures(app: App) -> Figures:
    """Give the figures of the open database. Raises the driver's errors when it cannot be
    read."""
    now = app.clock()
    records = {str(state): 0 for state in State} | stored.records_per_status()
    accounts = {DEFAULT_ACCOUNT: 0} | stored.records_per_account()
    failing = dict.fromkeys(accounts, 0) | stored.failing_per_account()
    oldest = {str(s): 0.0 for s in QUEUED_STATES}
    for status, when in counts.oldest_waiting().items():
        oldest[status] = max(0.0, round((now - when).total_seconds()))
    last = stored.last_run(PUSH_FLAGS)
    success = {}
    for name in ORDER:
        when = stored.last_success(name, PUSH_FLAGS)
        if when is not None:
            success[name] = _epoch(when)
    return Figures(
        version=__version__,
        python=platform.python_version(),
        database_up=True,
        records=records,
        accounts=accounts,
        failing=failing,
        oldest_waiting=oldest,
        last_run=None
        if last is None
        else LastRun(
            _epoch(last.started_at),
            _epoch(last.finished_at) if last.finished_at else None,
            last.outcome,
            last.counts,
        ),
        last_success=success,
        runs=stored.run_totals(PUSH_FLAGS),
    )


def gather(app: App) -> Figures:
    """Give the figures, opening the database if need be; when it cannot be opened or read,
    the figures that say so (``organiser_database_up 0``, the build) instead. Never raises
    for database trouble."""
    try:
        app.open_db()
        return figures(app)
    except (OrganiserError, *DRIVER_ERRORS) as exc:
        reason = exc if isinstance(exc, OrganiserError) else classify(exc, _url(app))
        log.info("metrics without the database", error=str(reason))
        return down()


def down() -> Figures:
    """Give the figures of an organiser whose database does not answer: the build, and
    ``organiser_database_up 0``."""
    return Figures(__version__, platform.python_version(), database_up=False)


def write_textfile(app: App, path: str, source: str = "--prometheus") -> None:
    """Write the figures (:func:`gather`) to the node_exporter textfile ``path``. Raises
    ``UserError`` (naming ``source``) when the file cannot be written."""
    prometheus.write(path, gather(app), source)


def write_configured(app: App) -> None:
    """Write ``[organiser] metrics_textfile`` if it is set; a file that cannot be written
    is logged, never raised (the run's own outcome matters more)."""
    try:
        path = str(app.config["organiser"]["metrics_textfile"] or "")
    except OrganiserError:  # no usable configuration: nothing to write to
        return
    if not path:
        return
    try:
        write_textfile(app, path, "[organiser] metrics_textfile")
    except OrganiserError as exc:
        log.warning("metrics textfile not written", error=str(exc))


def readiness(app: App) -> dict[str, str]:
    """Give each readiness check and ``ok`` or why it failed (one line, no secret): the
    database answers and holds the organiser's schema. The caller holds a connection."""
    try:
        version = stored.schema_version()
    except DRIVER_ERRORS as exc:
        return {"database": str(classify(exc, _url(app)))}
    if version == 0:
        return {"database": "the database holds no organiser schema"}
    return {"database": "ok"}


def _url(app: App) -> str:
    return str(app.config["database"]["url"])


def _epoch(when: datetime) -> float:
    """Give the Unix time of a naive UTC datetime from the database (SQLite gives text)."""
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    return when.replace(tzinfo=UTC).timestamp()
