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

from organiser import __version__, intake, marking, store
from organiser.app import App, setup_logging, utcnow
from organiser.config import ConfigError, example_ini
from organiser.db import DatabaseError, Record, redact_url
from organiser.passes import ORDER, RunResult
from organiser.states import QUEUED_STATES, Action, State

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 75
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
USER_ERRORS = (ConfigError, DatabaseError, intake.InputError, store.RecordError)


class UserError(click.ClickException):
    """A one-line error for the user, exit code 2."""

    exit_code = EXIT_USAGE


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
    store.release_dead_claims(socket.gethostname(), _alive)
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
    return _run(app, list(names), store.find(str(record.id)), f"organiser {flag} {ref}")


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
@click.option("--node", help="Node (team) responsible for these records.")
@click.option("--submitter", metavar="EMAIL", help="Who asked for them (kept in history).")
@click.pass_obj
def reserve(app: App, sources: tuple[str, ...], node: str | None, submitter: str | None) -> None:
    """Mark new records to-be-reserved from metadata files or directories.

    SOURCE is DataCite REST JSON (bare attributes or a {"data": ...} document) or DataCite
    XML kernel-4; directories are searched recursively for *.json and *.xml. All files are
    checked first: one bad file and nothing is marked.
    """
    items = marking.read_sources(sources, app.scheme)
    app.open_db()
    records = marking.reserve(items, app.scheme, node, submitter, _actor(submitter), utcnow())
    for record in records:
        click.echo(f"{record.doi}\t{record.identifier}\t{record.status}")


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
@click.argument("ref", metavar="ID")
@click.argument("source", metavar="SOURCE")
@click.pass_obj
def update(app: App, ref: str, source: str) -> None:
    """Give a record new metadata from one file; the next --update-all sends it."""
    app.open_db()
    record, step = marking.update(ref, source, app.scheme, _actor(None), utcnow())
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
