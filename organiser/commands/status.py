"""``organiser status``: how the queue is doing, from the database alone."""

from __future__ import annotations

import json

import click

from organiser.actions.status import status as queue_status
from organiser.app import App
from organiser.commands.cli import cli
from organiser.storage.database import redact_url


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="As one JSON object.")
@click.option(
    "--prometheus",
    "textfile",
    metavar="FILE",
    help="Also write the metrics as a node_exporter textfile (atomically), even when the "
    "database does not answer (organiser_database_up 0).",
)
@click.option(
    "--textfile",
    "configured",
    is_flag=True,
    help="Also write the metrics to [organiser] metrics_textfile, as a run does on every way "
    "out (nothing when that key is empty); for a unit's ExecStopPost=.",
)
@click.pass_context
def status(ctx: click.Context, as_json: bool, textfile: str | None, configured: bool) -> None:
    """How the queue is doing: records per status, the oldest waiting record per status,
    records with failures, and the last run. With -q (and --prometheus or --textfile)
    nothing is printed."""
    app: App = ctx.obj
    if textfile or configured:  # first: without a database it says so (database_up 0)
        from organiser.actions import metrics

        if textfile:
            metrics.write_textfile(app, textfile)
        if configured:
            metrics.write_configured(app)
    app.open_db()
    figures = queue_status(app.clock())
    figures["database"] = redact_url(app.config["database"]["url"])
    if app.config.accounts:  # several DataCite accounts: each one's records by status
        from organiser.actions.status import by_account

        figures["accounts"] = by_account()
    if ctx.meta.get("quiet"):
        return
    if as_json:
        click.echo(json.dumps(figures, indent=2))
        return
    click.echo(f"database: {figures['database']}")
    click.echo(f"{'status':<28}{'records':>9}  oldest waiting")
    for name, entry in figures["statuses"].items():
        age = entry["oldest_waiting_seconds"]
        click.echo(f"{name:<28}{entry['records']:>9}  {'' if age is None else _age(age)}")
    click.echo(f"{'records failing':<28}{figures['failing']:>9}")
    for name, counts in figures.get("accounts", {}).items():
        click.echo(f"account {name}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    last = figures["last_run"]
    if last is None:
        click.echo("last run: none yet")
        return
    counts = ", ".join(
        f"{name} {c['done']} done/{c['failed']} failed" for name, c in last["counts"].items()
    )
    click.echo(
        f"last run: {last['started_at']} → {last['finished_at'] or '(running)'} UTC on "
        f"{last['host']}, {last['outcome']}{': ' + counts if counts else ''}"
    )
    if last["detail"]:
        click.echo(f"  {last['detail']}")


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
