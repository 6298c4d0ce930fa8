"""``organiser reserve``: mark new records to-be-reserved (through the reserve action)."""

from __future__ import annotations

import click

from organiser import logs
from organiser.actions import marking
from organiser.actions.access import Actor
from organiser.app import App
from organiser.commands import render
from organiser.commands.cli import cli


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
        logs.say(f"warning: {warning}", "warning")
    if render.quiet():
        return
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
    render.marked(done.related)
