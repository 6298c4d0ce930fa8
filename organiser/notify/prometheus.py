"""The organiser's figures as Prometheus metrics (``prometheus_client``): the exposition of
``/metrics`` and the node_exporter textfile (``status --prometheus FILE``, the daemon after each
tick, a run on every way out). Each call builds its own registry: no global state."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from organiser.errors import UserError

OUTCOMES = ("ok", "failures", "outage", "interrupted", "running")
#: The content type of :func:`render`'s text (Prometheus text format 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class LastRun:
    """The latest run that was not a push: times as Unix seconds."""

    started: float
    ended: float | None
    outcome: str
    counts: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Figures:
    """What the metrics say. Without the database (``database_up`` false) only the build and
    that the database is down are known; the rest stays empty and is not exported."""

    version: str
    python: str
    database_up: bool
    #: status -> records
    records: dict[str, int] = field(default_factory=dict)
    #: DataCite account ("datacite" or an [account NAME]) -> records
    accounts: dict[str, int] = field(default_factory=dict)
    #: account -> records whose last try failed
    failing: dict[str, int] = field(default_factory=dict)
    #: waiting status -> age in seconds of the oldest record in it (0: none waits)
    oldest_waiting: dict[str, float] = field(default_factory=dict)
    last_run: LastRun | None = None
    #: pass -> when the latest non-push run that got through it ended (Unix seconds)
    last_success: dict[str, float] = field(default_factory=dict)
    #: (kind, outcome) -> runs, kind "passes" or "push"
    runs: dict[tuple[str, str], int] = field(default_factory=dict)


class _Collector(Collector):
    """Gives the metric families of one :class:`Figures`."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        info = InfoMetricFamily("organiser_build", "The organiser's version and Python's.")
        info.add_metric([], {"version": f.version, "python": f.python})
        yield info
        yield GaugeMetricFamily(
            "organiser_database_up",
            "1 if the database answered when these figures were taken, else 0.",
            value=int(f.database_up),
        )
        if not f.database_up:
            return
        yield _gauge("organiser_records", "Records per status.", "status", f.records)
        yield _gauge(
            "organiser_account_records",
            "Records per DataCite account (datacite: [datacite]; else [account NAME]).",
            "account",
            f.accounts,
        )
        yield _gauge(
            "organiser_records_failing",
            "Records whose last try failed, per DataCite account.",
            "account",
            f.failing,
        )
        yield _gauge(
            "organiser_oldest_waiting_seconds",
            "Age of the oldest record waiting for a pass, per status (0 when none waits).",
            "status",
            f.oldest_waiting,
        )
        yield _gauge(
            "organiser_last_success_timestamp_seconds",
            "When the latest scheduled (not push) run that got through the pass ended.",
            "pass",
            f.last_success,
            ordered=False,
        )
        runs = CounterMetricFamily(
            "organiser_runs",
            "Runs logged, per kind (passes: scheduled or -X/--X-all; push: --X-doi) and outcome.",
            labels=["kind", "outcome"],
        )
        for kind in ("passes", "push"):
            for outcome in OUTCOMES:
                runs.add_metric([kind, outcome], f.runs.get((kind, outcome), 0))
        yield runs
        yield from self._last_run()

    def _last_run(self) -> Iterator[Metric]:
        last = self.figures.last_run
        if last is None:
            return
        yield GaugeMetricFamily(
            "organiser_last_run_start_timestamp_seconds",
            "When the latest run that was not a push started.",
            value=last.started,
        )
        if last.ended is not None:
            yield GaugeMetricFamily(
                "organiser_last_run_end_timestamp_seconds",
                "When the latest run that was not a push ended.",
                value=last.ended,
            )
        outcome = GaugeMetricFamily(
            "organiser_last_run_outcome",
            "1 for how the latest run that was not a push ended: ok, failures, outage, "
            "interrupted, running.",
            labels=["outcome"],
        )
        for name in OUTCOMES:
            outcome.add_metric([name], int(last.outcome == name))
        yield outcome
        records = GaugeMetricFamily(
            "organiser_last_run_records",
            "Records per pass and result in the latest run that was not a push.",
            labels=["pass", "result"],
        )
        for name, counts in last.counts.items():
            for result, value in counts.items():
                records.add_metric([name, result], value)
        yield records


def registry(figures: Figures) -> CollectorRegistry:
    """Give a new registry holding ``figures`` (and nothing else)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(_Collector(figures))
    return found


def render(figures: Figures) -> bytes:
    """Give ``figures`` in the Prometheus text exposition format (:data:`CONTENT_TYPE`)."""
    return generate_latest(registry(figures))


def write(path: str, figures: Figures, source: str = "--prometheus") -> None:
    """Write ``figures`` to ``path`` as a node_exporter textfile, atomically (a temporary
    file beside it, then a rename), readable by the exporter's user. Raises
    :class:`UserError` (naming ``source``, where the path came from) if it cannot."""
    try:
        write_to_textfile(path, registry(figures))
        os.chmod(path, 0o644)
    except OSError as exc:
        raise UserError(f"{source} {path}: cannot write: {exc.strerror}") from None


def _gauge(
    name: str, documentation: str, label: str, values: Mapping[str, float], ordered: bool = True
) -> GaugeMetricFamily:
    """Give the gauge ``name`` with one sample per ``values`` item, labelled ``label``
    (sorted by label value unless ``ordered`` is False: then in ``values``' order)."""
    gauge = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()) if ordered else values.items():
        gauge.add_metric([key], value)
    return gauge
