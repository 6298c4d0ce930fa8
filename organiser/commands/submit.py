"""``organiser submit``: submit reserved records for release (review before release)."""

from __future__ import annotations

import click

from organiser.actions import review as review_action
from organiser.actions.access import Actor
from organiser.app import App
from organiser.commands import render
from organiser.commands.cli import cli


@cli.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.option(
    "--dry-run", is_flag=True, help="Check every record and show what would change; write nothing."
)
@click.pass_obj
def submit(app: App, ids: tuple[str, ...], dry_run: bool) -> None:
    """Submit reserved records for release: they go to review, where an operator approves
    them (organiser register ID...) or sends them back (organiser reject ID... --reason).

    With [api] review = false they are marked to-be-registered directly. All or nothing:
    one unknown or refused record (e.g. not reserved yet) and nothing is changed.
    """
    done = review_action.submit(app, Actor.operator(), ids, dry_run)
    render.marked(done, "would mark\t" if dry_run else "")
