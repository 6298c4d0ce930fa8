"""Subcommands that read: list, show, status, config. None needs a DataCite account."""

from __future__ import annotations

import json
from datetime import date

import click

from organiser.actions import records as read
from organiser.actions.status import status as queue_status
from organiser.app import App
from organiser.commands import render
from organiser.commands.cli import cli
from organiser.config import SCHEMA, ConfigError, example_ini
from organiser.domain.states import State
from organiser.errors import UserError
from organiser.notify import prometheus
from organiser.storage.database import redact_url


@cli.command(name="list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in State]),
    help="Only records in this status (repeatable).",
)
@click.option("--doi", "dois", multiple=True, metavar="DOI", help="Only this DOI (repeatable).")
@click.option(
    "--submitter",
    "submitters",
    multiple=True,
    metavar="EMAIL",
    help="Only records of this submitter, any case (repeatable).",
)
@click.option("--node", "nodes", multiple=True, help="Only records of this node (repeatable).")
@click.option(
    "--ids",
    multiple=True,
    metavar="PATTERN",
    help="Only identifiers (or their LIDs) matching this pattern, any case; * and ? are "
    "wildcards: 'urn:nasa:pds:insight_*' (repeatable).",
)
@click.option("--since", metavar="DATE", help="Only records last changed on or after this UTC day.")
@click.option(
    "--until", metavar="DATE", help="Only records last changed on or before this UTC day."
)
@click.option("--title", metavar="TEXT", help="Only records whose title contains TEXT, any case.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many records.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of records.")
@click.pass_obj
def list_(
    app: App,
    statuses: tuple[str, ...],
    dois: tuple[str, ...],
    submitters: tuple[str, ...],
    nodes: tuple[str, ...],
    ids: tuple[str, ...],
    since: str | None,
    until: str | None,
    title: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List records with their DOI, identifier, status and last error.

    Filters combine (a record must meet each one given); a repeated option matches any of
    its values. DATE is YYYY-MM-DD; --since and --until count whole days (UTC) of the
    record's last change.
    """
    filters = read.RecordFilter(
        dois=dois,
        submitters=submitters,
        nodes=nodes,
        statuses=statuses,
        ids=ids,
        since=_day("--since", since),
        until=_day("--until", until),
        title=title,
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise UserError(f"--since {since}: after --until {until}")
    app.open_db()
    render.records(read.each(filters, limit), as_json)


def _day(option: str, text: str | None) -> date | None:
    """Give the day ``text`` names (YYYY-MM-DD). Raises ``UserError`` naming ``option``."""
    if text is None:
        return None
    try:
        if len(text.strip()) != 10:
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{option} {text!r}: not a date (YYYY-MM-DD)") from None


@cli.command()
@click.argument("ref", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="As one JSON object.")
@click.pass_obj
def show(app: App, ref: str, as_json: bool) -> None:
    """Show one record: its fields, metadata and history."""
    app.open_db()
    view = read.show(ref)
    record = view.record
    row = render.record_row(record)
    history = [
        {
            "at": h.at.isoformat(" ", "seconds"),
            "from": h.from_status,
            "to": h.to_status,
            "action": h.action,
            "actor": h.actor,
            "outcome": h.outcome,
        }
        for h in view.history
    ]
    if as_json:
        row.update(url=record.url, attributes=view.attributes, history=history)
        click.echo(json.dumps(row, ensure_ascii=False, indent=2))
        return
    row["title"] = record.title
    row["url"] = record.url
    for key, value in row.items():
        click.echo(f"{key + ':':<18}{'' if value is None else value}")
    click.echo("history:")
    for h in history:
        outcome = f"  ({h['outcome']})" if h["outcome"] else ""
        click.echo(
            f"  {h['at']}  {h['from'] or '-'} → {h['to']}  {h['action']} by {h['actor']}{outcome}"
        )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="As one JSON object.")
@click.option(
    "--prometheus",
    "textfile",
    metavar="FILE",
    help="Also write the figures as a node_exporter textfile (atomically).",
)
@click.pass_context
def status(ctx: click.Context, as_json: bool, textfile: str | None) -> None:
    """How the queue is doing: records per status, the oldest waiting record per status,
    records with failures, and the last run. With -q (and --prometheus) nothing is
    printed."""
    app: App = ctx.obj
    app.open_db()
    figures = queue_status(app.clock())
    figures["database"] = redact_url(app.config["database"]["url"])
    if textfile:
        prometheus.write(textfile, prometheus.render(figures))
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


@cli.group()
def config() -> None:
    """Show or check the configuration."""


@config.command()
def generate() -> None:
    """Print an INI file documenting every key and its default."""
    click.echo(example_ini(), nl=False)


@config.command()
@click.pass_obj
def check(app: App) -> None:
    """Check the configuration and print it (passwords and URL credentials are masked).

    Required keys that are missing are errors here, although commands that only read the
    database run without them.
    """
    values = app.config
    if values.missing:
        raise ConfigError("\n".join(values.missing.values()))
    click.echo(f"# configuration OK (from {values.source})")
    for section, keys in values.values.items():
        click.echo(f"[{section}]")
        for key, value in keys.items():
            shown = value
            if SCHEMA[section][key].secret and value:
                shown = "***"
            elif key == "url" and section in ("database", "datacite"):
                shown = redact_url(value)
            elif isinstance(value, tuple):
                shown = ", ".join(value)
            elif isinstance(value, dict):
                shown = "; ".join(f"{k}={v}" for k, v in value.items())
            elif isinstance(value, bool):
                shown = str(value).lower()
            click.echo(f"{key} = {shown}")
