"""How a run shows itself on the command line: its summary and exit code, and a progress bar
per pass on a terminal."""

from __future__ import annotations

from typing import Any

import click

from organiser.actions.run import RunOutcome
from organiser.engine.passes import Observer
from organiser.errors import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, signal_exit_code
from organiser.storage.models import Record


def outcome(run: RunOutcome, quiet: bool, push: bool = False) -> int:
    """Print a run's failures (stderr), pass summaries (unless ``quiet``; for a ``push`` only
    the passes that met the record) and why it was cut short; give its exit code."""
    result = run.result
    for failure in result.failures:
        click.echo(
            f"error: {failure.pass_name} {failure.doi} ({failure.identifier}): {failure.error}",
            err=True,
        )
    if not quiet:
        shown = result.passes
        if push:
            met = [c for c in shown if c.done or c.failed or c.skipped]
            shown = met or shown[-1:]
        for counts in shown:
            click.echo(counts.summary())
    if run.alert_warning:
        click.echo(f"warning: {run.alert_warning}", err=True)
    if result.interrupted:
        click.echo(
            f"interrupted by {result.interrupted}: the record in flight was finished or left "
            "as it was, claims released; the rest waits for the next run",
            err=True,
        )
        return signal_exit_code(result.interrupted)
    if result.outage:
        click.echo(
            f"error: run stopped, records not yet sent keep their state: {result.outage}",
            err=True,
        )
        return EXIT_UNAVAILABLE
    return EXIT_FAILED if result.failures else EXIT_OK


class ProgressBar(Observer):
    """A progress bar per pass on the terminal."""

    def __init__(self) -> None:
        self._bar: Any = None

    def pass_started(self, name: str, due: int) -> None:
        if due:
            self._bar = click.progressbar(length=due, label=f"{name:<8}", show_pos=True)
            self._bar.__enter__()

    def record_handled(self, name: str, record: Record, outcome: str) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def pass_finished(self, name: str) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
