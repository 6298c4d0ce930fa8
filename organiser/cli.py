"""The ``organiser`` command: DSpace's doi-organiser flags, plus intake subcommands that mark.

Exit codes: 0 all done or nothing to do; 1 some records failed; 2 usage, configuration or
input error; 75 DataCite unreachable or credentials refused (the run was cut short).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Iterable
from typing import Any

import click

from organiser import __version__, claims, intake, marking, store
from organiser.app import App, setup_logging, utcnow
from organiser.config import ConfigError, example_ini
from organiser.db import DatabaseError, Record, redact_url
from organiser.passes import ORDER, RunResult
from organiser.states import QUEUED_STATES, Action, State

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 75
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
USER_ERRORS = (ConfigError, DatabaseError, intake.InputError, store.RecordError)


class UserError(click.ClickException):
    """Errors for the user, one line each, exit code 2."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        for line in self.message.splitlines():
            click.echo(f"Error: {line}", err=True)


class OrganiserGroup(click.Group):
    """Turns the organiser's own user errors into one-line messages with exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            raise UserError(str(exc)) from None


PUSH_OPTIONS = {  # option -> (pass names run for it, the mark applied first)
    "reserve_doi": (("reserve",), None),
    "update_doi": (("update",), Action.MARK_UPDATE),
    "register_doi": (("update", "register"), Action.MARK_REGISTER),
    "delete_doi": (("delete",), Action.MARK_DELETE),
}


@click.group(cls=OrganiserGroup, invoke_without_command=True, context_settings=CONTEXT)
@click.option(
    "--config",
    "config_path",
    envvar="ORGANISER_CONFIG",
    metavar="FILE",
    help="INI configuration file (also ORGANISER_CONFIG).",
)
@click.option(
    "-l",
    "--list",
    "list_queued",
    is_flag=True,
    help="List records waiting for a pass (marked, not yet sent).",
)
@click.option(
    "-u", "--update-all", is_flag=True, help="Send new metadata of records marked update-*."
)
@click.option(
    "-s", "--reserve-all", is_flag=True, help="Reserve (create as draft) records to-be-reserved."
)
@click.option(
    "-r", "--register-all", is_flag=True, help="Register (publish) records to-be-registered."
)
@click.option(
    "-d",
    "--delete-all",
    is_flag=True,
    help="Delete drafts and hide registered DOIs of records to-be-deleted.",
)
@click.option("--reserve-doi", metavar="ID", help="Reserve this one record now.")
@click.option("--update-doi", metavar="ID", help="Send this one record's metadata now.")
@click.option(
    "--register-doi",
    metavar="ID",
    help="Register this one record now (from reserved or any marked state).",
)
@click.option("--delete-doi", metavar="ID", help="Delete (or hide) this one record now.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors (for cron).")
@click.option("-v", "--verbose", is_flag=True, help="Log each record and retry to stderr.")
@click.version_option(__version__, "-V", "--version")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    list_queued: bool,
    quiet: bool,
    verbose: bool,
    **flags: Any,
) -> None:
    """Keep a repository's DOIs in step with DataCite.

    Intake subcommands (reserve, register, update, delete) only mark records in the local
    database. The flags run the organiser's passes against DataCite, always in the order
    update → reserve → register → delete, whatever order they are given in:

    \b
      organiser reserve metadata/          # mark
      organiser --reserve-all --register-all --quiet   # push (e.g. from cron)

    ID is a DOI (bare, doi: or https://doi.org/ form), the repository's identifier (e.g. a
    PDS4 LIDVID) or the local record id.

    Exit codes: 0 all done or nothing to do; 1 some records failed; 2 usage, configuration
    or input error; 75 DataCite unreachable or credentials refused (run cut short).
    """
    setup_logging(quiet, verbose)
    ctx.obj = App(config_path)
    ctx.meta["quiet"] = quiet
    all_passes = [n for n in ORDER if flags[f"{n}_all"]]
    pushes = {k: v for k, v in flags.items() if k in PUSH_OPTIONS and v}
    if ctx.invoked_subcommand is not None:
        if all_passes or pushes or list_queued:
            raise click.UsageError("give pass flags or a subcommand, not both")
        return
    if not (all_passes or pushes or list_queued):
        click.echo(ctx.get_help())
        ctx.exit(0)
    app: App = ctx.obj
    if list_queued:
        app.open_db()
        _print_records(store.select(sorted(QUEUED_STATES)), as_json=False)
    code = 0
    if all_passes:
        code = _run(
            app, all_passes, None, "organiser " + " ".join(f"--{n}-all" for n in all_passes)
        )
    for option, ref in pushes.items():
        if code == EXIT_UNREACHABLE:
            break
        code = max(code, _push(app, option, ref))
    ctx.exit(code)


def _run(app: App, names: list[str], only: Record | None, actor: str) -> int:
    organiser = app.organiser(actor)
    claims.release_dead_claims(socket.gethostname(), _alive)
    result = organiser.run(names, only)
    return _report(result, click.get_current_context().meta["quiet"])


def _push(app: App, option: str, ref: str) -> int:
    names, action = PUSH_OPTIONS[option]
    flag = "--" + option.replace("_", "-")
    app.open_db()
    record = store.find(ref)
    if action is None and record.status != State.TO_BE_RESERVED:
        raise store.RecordError(
            f"{record.doi} is {record.status}; {flag} pushes a record marked to-be-reserved"
        )
    if action is Action.MARK_UPDATE:
        attributes = store.attributes_of(record)
        store.mark(record, action, f"organiser {flag}", utcnow(), attributes, record.url)
    elif action is not None:
        store.mark(record, action, f"organiser {flag}", utcnow())
    return _run(app, list(names), Record.get_by_id(record.id), f"organiser {flag} {ref}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _report(result: RunResult, quiet: bool) -> int:
    for failure in result.failures:
        click.echo(
            f"error: {failure.pass_name} {failure.doi} ({failure.identifier}): {failure.error}",
            err=True,
        )
    if not quiet:
        for counts in result.passes:
            click.echo(counts.summary())
    if result.outage:
        click.echo(
            f"error: run stopped, records not yet sent keep their state: {result.outage}", err=True
        )
        return EXIT_UNREACHABLE
    return EXIT_FAILED if result.failures else 0


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
    if node is not None and node not in app.nodes:
        raise UserError(f"--node {node!r}: not a known node ({', '.join(sorted(app.nodes))})")
    items = intake.read_all(sources, app.intake_options(node))
    app.open_db()
    plan = marking.plan_reserve(
        items, app.scheme, node, submitter, app.config["intake"]["versioned_dois"], force
    )
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    if dry_run:
        for new in plan.new:
            doi = "(new DOI)" if new.doi_generated else new.doi
            click.echo(f"would reserve\t{doi}\t{new.identifier}\t{new.source}")
        for earlier, _ in plan.relate:
            click.echo(f"would update\t{earlier.doi}\t{earlier.identifier}\t(new version)")
        return
    for record in marking.reserve(plan, _actor(submitter), utcnow()):
        click.echo(f"{record.doi}\t{record.identifier}\t{record.status}")
    for earlier, _ in plan.relate:
        click.echo(f"{earlier.doi}\t{earlier.identifier}\t{store.find(earlier.doi).status}")


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
    for record, step in marking.mark_all(list(ids), action, _actor(None), utcnow()):
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
    if node is not None and node not in app.nodes:
        raise UserError(f"--node {node!r}: not a known node ({', '.join(sorted(app.nodes))})")
    ref, source = (first, second) if second is not None else (None, first)
    app.open_db()
    record, step = marking.update(
        ref,
        source,
        app.intake_options(node),
        app.config["intake"]["versioned_dois"],
        _actor(None),
        utcnow(),
    )
    click.echo(f"{record.doi}\t{record.identifier}\t{step.state}")


@cli.command(name="list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in State]),
    help="Only records in this status (repeatable).",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many records.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of records.")
@click.pass_obj
def list_(app: App, statuses: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    """List records with their DOI, identifier, status and last error."""
    app.open_db()
    _print_records(store.select(statuses, limit), as_json)


def _print_records(records: Iterable[Record], as_json: bool) -> None:
    if as_json:
        click.echo("[", nl=False)
        for n, r in enumerate(records):
            row = {
                "id": r.id,
                "doi": r.doi,
                "identifier": r.identifier,
                "status": r.status,
                "remote_state": r.remote_state,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "node": r.node,
                "submitter": r.submitter,
                "updated_at": r.updated_at.isoformat() if r.updated_at else None,
            }
            click.echo(("," if n else "") + "\n" + json.dumps(row, ensure_ascii=False), nl=False)
        click.echo("\n]")
        return
    for r in records:
        error = f"\t{r.last_error}" if r.last_error else ""
        click.echo(f"{r.id}\t{r.doi}\t{r.status}\t{r.identifier}{error}")


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
    """Check the configuration and print it (the password is not shown)."""
    values = app.config
    click.echo(f"# configuration OK (from {values.source})")
    for section, keys in values.values.items():
        click.echo(f"[{section}]")
        for key, value in keys.items():
            shown = "***" if key == "password" else value
            if section == "database":
                shown = redact_url(value)
            click.echo(f"{key} = {shown}")


main = cli
