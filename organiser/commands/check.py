"""``organiser check``: find (and repair) drift between the database and DataCite."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import IO

import click

from organiser import logs
from organiser.actions import check as check_action
from organiser.app import App
from organiser.commands.cli import cli
from organiser.commands.progress import TerminalBar
from organiser.errors import EXIT_FAILED, EXIT_OK


@cli.command()
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Compare only the first N DOIs DataCite lists (a sample; records missing at "
    "DataCite are looked for only in a full check).",
)
@click.option(
    "--repair",
    is_flag=True,
    help="Mark drifted records for update (the local metadata wins) and records DataCite "
    "lacks to be sent again; the next run does it. Nothing is deleted at DataCite.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per difference.")
@click.pass_context
def check(ctx: click.Context, limit: int | None, repair: bool, as_json: bool) -> None:
    """Compare each settled record with DataCite: state, URL and the metadata organiser sends.

    Pages through each account's listing (1,000 DOIs a request, through the rate limit) and
    prints one line per difference: DOI, identifier, field, local value, DataCite value
    (tab-separated), then a summary. A reserved record should be a draft at DataCite, a
    registered one findable, a deleted one hidden (registered) or gone. Records waiting for
    a pass are skipped: their pass sends them anyway.

    \b
    Exit codes: 0 no drift; 1 drift found (with --repair: and marked); 2 no
    DataCite account; 75 DataCite unreachable or a run holds the lock.
    """
    app: App = ctx.obj
    quiet = ctx.meta.get("quiet", False)
    bar = _CheckBar(not (quiet or as_json) and sys.stdout.isatty())
    actor = "organiser check" + (" --repair" if repair else "")
    try:
        result = check_action.check(app, actor, limit, repair, bar.progress)
    finally:
        bar.close()
    for drift in result.drifts:
        click.echo(json.dumps(asdict(drift), ensure_ascii=False) if as_json else drift.line())
    if as_json and (not quiet or result.drifts):  # stdout is the JSON lines
        logs.say(result.summary(), "info")
    elif not quiet or result.drifts:
        click.echo(result.summary())
    if result.alert_warning:
        logs.say(f"warning: {result.alert_warning}", "warning")
    ctx.exit(EXIT_FAILED if result.drifts else EXIT_OK)


class _CheckBar:
    """The check's progress bar on the terminal (when ``wanted``), shown from the first
    page of the listing; log lines are written above it (:class:`TerminalBar`)."""

    def __init__(self, wanted: bool, file: IO[str] | None = None) -> None:
        self.wanted, self.file = wanted, file
        self.bar: TerminalBar | None = None

    def progress(self, done: int, total: int | None) -> None:
        """Show ``done`` of ``total`` DOIs compared (the next account's listing makes
        ``total`` larger)."""
        if not self.wanted or not total:
            return
        if self.bar is None:
            self.bar = TerminalBar(total, "check", self.file)
        self.bar.lengthen(total)
        self.bar.advance(done - self.bar.pos)

    def close(self) -> None:
        """End the bar, if one was shown."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
