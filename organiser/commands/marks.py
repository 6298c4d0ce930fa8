"""Subcommands that mark records in the local database; none of them talks to DataCite."""

from __future__ import annotations

import getpass
from collections.abc import Iterable

import click

from organiser import intake
from organiser.actions import mark
from organiser.actions import records as read
from organiser.app import App
from organiser.commands.cli import cli
from organiser.domain.states import Action, State


def _check_node(app: App, node: str | None) -> None:
    mark.check_node(app.nodes, node)


def _actor(submitter: str | None) -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return submitter or user


@cli.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "--node",
    help="Steward node of these records (required for PDS4 labels and "
    "spreadsheets): atm, eng, geo, img, naif, ppi, rs, rms, sbn, or [intake] extra_nodes.",
)
@click.option("--submitter", metavar="EMAIL", help="Who asked for them (kept in history).")
@click.option(
    "--force", is_flag=True, help="Reserve even when a title is already used by another identifier."
)
@click.option(
    "--dry-run", is_flag=True, help="Check everything and show what would be marked; write nothing."
)
@click.pass_obj
def reserve(
    app: App,
    sources: tuple[str, ...],
    node: str | None,
    submitter: str | None,
    force: bool,
    dry_run: bool,
) -> None:
    """Mark new records to-be-reserved from metadata files, directories or URLs.

    SOURCE is a PDS4 label (.xml, .lblx; needs --node), the PDS reserve spreadsheet (.csv,
    .xlsx; needs --node), DataCite REST JSON or DataCite XML kernel-4; directories are searched
    recursively; http(s) URLs are fetched. Everything is checked against the DataCite schema
    and the database first, and every problem is reported: one bad file and nothing is marked.
    """
    _check_node(app, node)
    items = intake.read_all(sources, app.intake_options(node))
    app.open_db()
    plan = mark.plan_reserve(
        items, app.scheme, node, submitter, app.config["intake"]["versioned_dois"], force
    )
    del items  # the plan holds what is written
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    if dry_run:
        for new in plan.new:
            doi = "(new DOI)" if new.doi_generated else new.doi
            click.echo(f"would reserve\t{doi}\t{new.identifier}\t{new.source}")
        for earlier, _ in plan.relate:
            click.echo(f"would update\t{earlier.doi}\t{earlier.identifier}\t(new version)")
        return
    state = mark.reserve(plan, _actor(submitter), app.clock())
    for start in range(0, len(plan.new), 1000):  # a line per record, written a block at a time
        block = plan.new[start : start + 1000]
        click.echo("\n".join(f"{new.doi}\t{new.identifier}\t{state}" for new in block))
    for earlier, _ in plan.relate:
        click.echo(f"{earlier.doi}\t{earlier.identifier}\t{read.find(earlier.doi).status}")


@cli.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.pass_obj
def register(app: App, ids: tuple[str, ...]) -> None:
    """Mark records to-be-registered (the next --register-all publishes them)."""
    _mark(app, ids, Action.MARK_REGISTER)


@cli.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.pass_obj
def delete(app: App, ids: tuple[str, ...]) -> None:
    """Mark records to-be-deleted (drafts are deleted, registered DOIs hidden)."""
    _mark(app, ids, Action.MARK_DELETE)


def _mark(app: App, ids: Iterable[str], action: Action) -> None:
    app.open_db()
    for record, step in mark.mark_all(list(ids), action, _actor(None), app.clock()):
        click.echo(f"{record.doi}\t{record.identifier}\t{step.state}")


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
    _check_node(app, node)
    ref, source = (first, second) if second is not None else (None, first)
    app.open_db()
    record, step = mark.update(
        ref,
        source,
        app.intake_options(node),
        app.config["intake"]["versioned_dois"],
        _actor(None),
        app.clock(),
    )
    click.echo(f"{record.doi}\t{record.identifier}\t{step.state}")
    if record.status == State.REVIEW and step.state is not State.REVIEW:
        click.echo(
            f"warning: {record.doi} left review: new metadata needs a new review; submit it "
            "again once the update pass (-u) has sent it",
            err=True,
        )
