"""``organiser delete``: mark records to-be-deleted."""

from __future__ import annotations

import click

from organiser.actions import marking
from organiser.actions.access import Actor
from organiser.app import App
from organiser.commands import render
from organiser.commands.cli import cli


@cli.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.pass_obj
def delete(app: App, ids: tuple[str, ...]) -> None:
    """Mark records to-be-deleted (drafts are deleted, registered DOIs hidden)."""
    render.marked(marking.delete(app, Actor.operator(), ids))
