"""Benchmark what one scrape of ``/metrics`` (or one textfile) costs over a large database:
the figures (:func:`organiser.actions.metrics.figures`) and their exposition, with the run log
holding a year of scheduled runs every 15 minutes (35,040) and some pushes.

    .venv/bin/python scripts/bench_queries.py fill URL --records 1000000   # the records, once
    .venv/bin/python scripts/bench_metrics.py URL [--repeat N]

Prints the median (and the worst) of N scrapes after one warm-up (cache warm), and the
time of each part.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from organiser.actions import metrics
from organiser.app import App
from organiser.notify import prometheus
from organiser.storage import counts
from organiser.storage import metrics as stored
from organiser.storage.database import open_database
from organiser.storage.models import Run, database_proxy

YEAR_OF_RUNS = 4 * 24 * 365


def fill_runs(count: int) -> None:
    """Give the run log ``count`` runs (one push in 20), unless it holds that many already."""
    have = Run.select().count()
    if have >= count:
        return
    start = datetime(2025, 1, 1)
    counts_json = json.dumps({p: {"done": 1, "failed": 0, "skipped": 0} for p in ("reserve",)})
    rows = []
    for n in range(have, count):
        at = start + timedelta(minutes=15 * n)
        push = n % 20 == 0
        rows.append(
            {
                "host": "bench",
                "actor": "organiser --register-doi 1" if push else "organiser daemon",
                "started_at": at,
                "finished_at": at + timedelta(seconds=20),
                "outcome": "outage" if n % 97 == 0 else "ok",
                "counts": counts_json,
            }
        )
    with database_proxy.atomic():
        for i in range(0, len(rows), 500):
            Run.insert_many(rows[i : i + 500]).execute()


def timed(what: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Give the median and the worst seconds of ``repeat`` calls (after one warm-up)."""
    what()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        what()
        times.append(time.perf_counter() - began)
    return statistics.median(times), max(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    open_database(args.url)
    fill_runs(YEAR_OF_RUNS)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "organiser.ini"
        config.write_text(f"[database]\nurl = {args.url}\n")
        app = App(str(config), environ={})
        app.open_db()
        parts: dict[str, Callable[[], Any]] = {
            "scrape (figures + exposition)": lambda: prometheus.render(metrics.figures(app)),
            "  records per status": counts.status_counts,
            "  records per account": stored.records_per_account,
            "  failing per account": stored.failing_per_account,
            "  oldest waiting": counts.oldest_waiting,
            "  last run": lambda: stored.last_run(metrics.PUSH_FLAGS),
            "  last success (4 passes)": lambda: [
                stored.last_success(p, metrics.PUSH_FLAGS)
                for p in ("update", "reserve", "register", "delete")
            ],
            "  runs per kind and outcome": lambda: stored.run_totals(metrics.PUSH_FLAGS),
        }
        print(f"records: {stored.records_per_account()}  runs: {Run.select().count()}")
        for name, what in parts.items():
            median, worst = timed(what, args.repeat)
            print(f"{name:<32} median {median * 1000:8.1f} ms   worst {worst * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
