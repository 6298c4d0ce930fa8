"""``organiser register``: mark records to-be-registered; approves a record in review."""

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
def register(app: App, ids: tuple[str, ...]) -> None:
    """Mark records to-be-registered (the next --register-all publishes them)."""
    render.marked(marking.register(app, Actor.operator(), ids))
