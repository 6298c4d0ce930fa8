"""``organiser reject``: send records in review back, with a reason."""

from __future__ import annotations

import click

from organiser.actions import review as review_action
from organiser.actions.access import Actor
from organiser.app import App
from organiser.commands import render
from organiser.commands.cli import cli


@cli.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.option("--reason", required=True, metavar="TEXT", help="Why (kept in the records' history).")
@click.option(
    "--dry-run", is_flag=True, help="Check every record and show what would change; write nothing."
)
@click.pass_obj
def reject(app: App, ids: tuple[str, ...], reason: str, dry_run: bool) -> None:
    """Send records in review back, with the reason in their history: a first release to
    reserved, a submitter's change to a published DOI (update-review) dropped. All or
    nothing: one unknown record or one not in review and nothing is changed."""
    done = review_action.reject(app, Actor.operator(), ids, reason, dry_run)
    render.marked(done, "would mark\t" if dry_run else "")
