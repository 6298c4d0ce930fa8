"""Subcommands that mark records in the local database; none of them talks to DataCite."""

from __future__ import annotations

import click

from organiser.actions import marking
from organiser.actions.access import Actor
from organiser.actions.views import Marked
from organiser.app import App
from organiser.commands.cli import cli
from organiser.domain.states import State


def echo_marked(done: list[Marked], prefix: str = "") -> None:
    """Print one line per marked record: DOI, identifier, status (as the mark left it)."""
    for start in range(0, len(done), 1000):  # written a block at a time
        block = done[start : start + 1000]
        click.echo("\n".join(f"{prefix}{m.doi}\t{m.identifier}\t{m.status}" for m in block))


@cli.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "--node",
    help="Steward node of these records (required for PDS4 labels and "
    "spreadsheets): atm, eng, geo, img, naif, ppi, rs, rms, sbn, or [intake] extra_nodes.",
)
@click.option("--submitter", metavar="EMAIL", help="Who asked for them (kept in history).")
@click.option(
    "--force",
    is_flag=True,
    help="Reserve even when a title is already used by another identifier, and drop a bad "
    "ORCID from its person instead of refusing the label (each with a warning).",
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
    done = marking.reserve(app, Actor.operator(submitter), sources, node, submitter, force, dry_run)
    for warning in done.warnings:
        click.echo(f"warning: {warning}", err=True)
    if dry_run:
        for new in done.new:
            doi = "(new DOI)" if new.doi_generated else new.doi
            click.echo(f"would reserve\t{doi}\t{new.identifier}\t{done.state}\t{new.source}")
        for earlier in done.related:
            click.echo(
                f"would update\t{earlier.doi}\t{earlier.identifier}\t{earlier.status}"
                "\t(new version)"
            )
        return
    for start in range(0, len(done.new), 1000):  # a line per record, written a block at a time
        block = done.new[start : start + 1000]
        click.echo("\n".join(f"{new.doi}\t{new.identifier}\t{done.state}" for new in block))
    echo_marked(done.related)


@cli.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.pass_obj
def register(app: App, ids: tuple[str, ...]) -> None:
    """Mark records to-be-registered (the next --register-all publishes them)."""
    echo_marked(marking.register(app, Actor.operator(), ids))


@cli.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.pass_obj
def delete(app: App, ids: tuple[str, ...]) -> None:
    """Mark records to-be-deleted (drafts are deleted, registered DOIs hidden)."""
    echo_marked(marking.delete(app, Actor.operator(), ids))


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
    echo_marked([done])
    if done.previous is State.REVIEW and done.status != State.REVIEW:
        click.echo(
            f"warning: {done.doi} left review: new metadata needs a new review; submit it "
            "again once the update pass (-u) has sent it",
            err=True,
        )
