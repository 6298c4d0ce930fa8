"""``organiser check``: find (and repair) drift between the database and DataCite."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any

import click

from organiser.actions import check as check_action
from organiser.app import App
from organiser.commands.cli import cli
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

    Pages through the account's listing (1,000 DOIs a request, through the rate limit) and
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
    bar: Any = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if quiet or as_json or not sys.stdout.isatty() or not total:
            return
        if bar is None:
            bar = click.progressbar(length=total, label="check   ", show_pos=True)
            bar.__enter__()
        bar.length = max(bar.length, total)  # the next account's listing makes it longer
        bar.update(done - bar.pos)

    actor = "organiser check" + (" --repair" if repair else "")
    try:
        result = check_action.check(app, actor, limit, repair, progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for drift in result.drifts:
        click.echo(json.dumps(asdict(drift), ensure_ascii=False) if as_json else drift.line())
    if not quiet or result.drifts:
        click.echo(result.summary(), err=as_json)
    if result.alert_warning:
        click.echo(f"warning: {result.alert_warning}", err=True)
    ctx.exit(EXIT_FAILED if result.drifts else EXIT_OK)
