"""``organiser update``: give a record new metadata (through the update action)."""

from __future__ import annotations

import click

from organiser import logs
from organiser.actions import marking
from organiser.actions.access import Actor
from organiser.app import App
from organiser.commands import render
from organiser.commands.cli import cli
from organiser.domain.states import State


@cli.command()
@click.argument("first", metavar="[ID]")
@click.argument("second", required=False, metavar="SOURCE")
@click.option("--node", help="Node for crosswalking a PDS4 label (default: the record's own).")
@click.pass_obj
def update(app: App, first: str, second: str | None, node: str | None) -> None:
    """Give a record new metadata from one file or URL; the next --update-all sends it.

    Without ID the record is found by the source's DOI, its identifier, or (a new version of
    a PDS4 product) its LID; the earlier LIDVIDs stay in the record's identifiers.
    """
    ref, source = (first, second) if second is not None else (None, first)
    done = marking.update(app, Actor.operator(), ref, source, node)
    render.marked([done])
    if done.previous is State.UPDATE_REVIEW:
        logs.say(
            f"warning: {done.doi}: this update replaces the change that was waiting for review",
            "warning",
        )
    if done.previous is State.REVIEW and done.status != State.REVIEW:
        logs.say(
            f"warning: {done.doi} left review: new metadata needs a new review; submit it "
            "again once the update pass (-u) has sent it",
            "warning",
        )
