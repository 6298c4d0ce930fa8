"""``organiser show``: one record, its metadata and history."""

from __future__ import annotations

import json

import click

from organiser.actions import records as read
from organiser.app import App
from organiser.commands import render
from organiser.commands.cli import cli


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
        row.update(
            url=record.url, attributes=view.attributes, pending=view.pending, history=history
        )
        click.echo(json.dumps(row, ensure_ascii=False, indent=2))
        return
    row["title"] = record.title
    row["url"] = record.url
    for key, value in row.items():
        click.echo(f"{key + ':':<18}{'' if value is None else value}")
    if view.pending is not None:  # update-review: a submitter's change waiting for approval
        click.echo("proposed change (waiting for an operator: register approves, reject drops):")
        for field, now, proposed in view.proposed_changes:
            flag = "  LANDING PAGE" if field == "url" else ""
            click.echo(f"  {field}: {now} → {proposed}{flag}")
    click.echo("history:")
    for h in history:
        outcome = f"  ({h['outcome']})" if h["outcome"] else ""
        click.echo(
            f"  {h['at']}  {h['from'] or '-'} → {h['to']}  {h['action']} by {h['actor']}{outcome}"
        )
