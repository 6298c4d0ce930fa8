"""The ``organiser`` command: DSpace's doi-organiser flags, plus subcommands that mark,
show, check and schedule. Its exit codes are :data:`organiser.errors.EXIT_CODES`.
"""

from __future__ import annotations

import inspect
import os
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from organiser import __version__, logs
from organiser.commands.flags import configure_logging, with_output_flags
from organiser.commands.lazy import Lazy, LazyGroup
from organiser.domain.passes import BY_NAME, PASSES
from organiser.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_CODES,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    Interrupted,
    OrganiserError,
    signal_exit_code,
)
from organiser.lock import LockHeld

if TYPE_CHECKING:  # the rest is imported where it is used: a command loads what it needs
    from organiser.app import App

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: The subcommands: where each is defined and its help line (the first sentence of its
#: docstring; tests/unit/test_startup.py checks they agree). A module is imported only when
#: one of its commands runs, so ``organiser --help`` and ``organiser status`` start quickly.
COMMANDS = {
    "check": Lazy(
        "organiser.commands.check:check",
        "Compare each settled record with DataCite: state, URL and the metadata organiser sends.",
    ),
    "config": Lazy("organiser.commands.config:config", "Show or check the configuration."),
    "daemon": Lazy(
        "organiser.commands.daemon:daemon",
        "Run the passes on a schedule ([scheduler] cron, UTC; default every 15 minutes).",
    ),
    "delete": Lazy(
        "organiser.commands.delete:delete",
        "Mark records to-be-deleted (drafts are deleted, registered DOIs hidden).",
    ),
    "import": Lazy(
        "organiser.commands.import_:import_",
        "Load the DOIs the DataCite accounts already hold into the local database.",
    ),
    "install": Lazy(
        "organiser.commands.install:install",
        "Print or write the systemd units, cron file or example configuration it carries.",
    ),
    "list": Lazy(
        "organiser.commands.list_:list_",
        "List records with their DOI, identifier, status and last error (and their DataCite "
        "account when more than one is configured).",
    ),
    "register": Lazy(
        "organiser.commands.register:register",
        "Mark records to-be-registered (the next --register-all publishes them).",
    ),
    "reject": Lazy(
        "organiser.commands.reject:reject",
        "Send records in review back, with the reason in their history: a first release to "
        "reserved, a submitter's change to a published DOI (update-review) dropped.",
    ),
    "report": Lazy(
        "organiser.commands.report:report",
        "What is pending release: records in review, approved records waiting for the "
        "register pass, and records whose last try failed, per node and submitter, with age.",
    ),
    "reserve": Lazy(
        "organiser.commands.reserve:reserve",
        "Mark new records to-be-reserved from metadata files, directories or URLs.",
    ),
    "serve": Lazy(
        "organiser.commands.serve:serve",
        "Serve the PDS DOI Service API 0.2 over HTTP (uvicorn).",
    ),
    "show": Lazy(
        "organiser.commands.show:show", "Show one record: its fields, metadata and history."
    ),
    "status": Lazy(
        "organiser.commands.status:status",
        "How the queue is doing: records per status, the oldest waiting record per status, "
        "records with failures, and the last run.",
    ),
    "submit": Lazy(
        "organiser.commands.submit:submit",
        # click ends the first sentence at the first word ending in a full stop ("ID...")
        "Submit reserved records for release: they go to review, where an operator approves "
        "them (organiser register ID...) or sends them back (organiser reject ID...",
    ),
    "token": Lazy(
        "organiser.commands.token:token", "Bearer tokens of the web API (organiser serve)."
    ),
    "update": Lazy(
        "organiser.commands.update:update",
        "Give a record new metadata from one file or URL; the next --update-all sends it.",
    ),
}


#: Subcommands that work on records already there: without a database they say so instead
#: of creating an empty one (reserve, import, serve, daemon, token and the passes create it).
NEEDS_DATABASE = frozenset(
    "status list show report check register update delete submit reject".split()
)


def _log() -> Any:
    """Give the organiser's logger (structlog is imported only when something is logged)."""
    import structlog

    return structlog.get_logger("organiser")


def _driver_errors() -> tuple[type[Exception], ...]:
    """Give the database driver's exception types (looked up only when an exception that is
    not the organiser's own gets this far)."""
    from organiser.storage.database import DRIVER_ERRORS

    return DRIVER_ERRORS


class Failed(click.ClickException):
    """An organiser error shown as one line per problem, with its own exit code."""

    def __init__(self, message: str, code: int, quiet: bool = False) -> None:
        super().__init__(message)
        self.exit_code = code
        self.quiet = quiet

    def show(self, file: Any = None) -> None:
        if self.quiet:
            return
        for line in self.message.splitlines():
            logs.say(f"Error: {line}", "error", file)


class OrganiserGroup(LazyGroup):
    """Turns the organiser's errors into one-line messages with their exit code, and an
    unexpected exception into one line on stderr with the traceback in the log."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Give the subcommand ``cmd_name`` (as :class:`LazyGroup` does), accepting ``-q`` and
        ``-v`` after its name too."""
        command = super().get_command(ctx, cmd_name)
        return None if command is None else with_output_flags(command)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OrganiserError as exc:
            quiet = (
                ctx.meta.get("quiet", False)
                and exc.exit_code == EXIT_UNAVAILABLE
                and isinstance(exc, LockHeld)
            )
            code = exc.exit_code
            if isinstance(exc, Interrupted):
                code = signal_exit_code(str(exc))
            raise Failed(str(exc), code, quiet) from None
        except _driver_errors() as exc:  # the database failed after it was opened
            from organiser.storage.database import classify

            error = classify(exc, _database_url(ctx))
            raise Failed(str(error), error.exit_code) from None
        except BrokenPipeError:  # e.g. `organiser list | head`: the reader has enough
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (nothing more gets written)
            ctx.exit(EXIT_BROKEN_PIPE)
        except KeyboardInterrupt:
            raise Failed(
                "interrupted (SIGINT); nothing was left half-done", EXIT_INTERRUPTED
            ) from None
        except Exception as exc:
            where = _log_traceback(ctx)
            raise Failed(
                f"internal error: {type(exc).__name__}: {exc} (traceback in {where})",
                EXIT_INTERNAL,
            ) from None


def _database_url(ctx: click.Context) -> str:
    try:
        return str(ctx.obj.config["database"]["url"])
    except (AttributeError, OrganiserError):
        return "(database)"


def _log_traceback(ctx: click.Context) -> str:
    """Log the current exception's traceback where it does not end up in a cron mail; give
    where it went."""
    app: App | None = ctx.obj
    fmt, file = "auto", ""
    try:
        if app is not None:
            fmt, file = app.config["logging"]["format"], app.config["logging"]["file"]
    except OrganiserError:
        pass
    if file:
        _log().error("internal error", exc_info=True, console=False)
        return file
    if logs.has_traceback_sink(fmt, file, app.environ if app else {}):
        _log().error("internal error", exc_info=True)
        return "the journal"
    try:
        folder = app.state_dir if app is not None else None
    except OrganiserError:
        folder = None
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "last-error.log"
            path.write_text(traceback.format_exc())
            return str(path)
        except OSError:
            pass
    _log().error("internal error", exc_info=True)
    return "the log"


def _pass_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add each pass's ``-X/--X-all`` flag, then each pass's ``--X-doi`` push, from the pass
    table (in run order)."""
    for step in reversed(PASSES):  # click lists options in the order they are applied
        command = click.option(
            step.push_flag,
            metavar="ID",
            multiple=True,
            help=f"{step.push_help} Repeatable.",
        )(command)
    for step in reversed(PASSES):
        command = click.option(f"-{step.letter}", step.all_flag, is_flag=True, help=step.effect)(
            command
        )
    return command


@click.group(
    cls=OrganiserGroup, lazy=COMMANDS, invoke_without_command=True, context_settings=CONTEXT
)
@click.option(
    "--config",
    "config_path",
    envvar="ORGANISER_CONFIG",
    metavar="FILE",
    help="INI configuration file (also ORGANISER_CONFIG).",
)
@click.option("-l", "--list", "list_queued", is_flag=True, help="List records waiting for a pass.")
@_pass_options
@click.option(
    "--dry-run",
    is_flag=True,
    help="With pass flags or --X-doi: show what would be sent; send and change nothing.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and warnings (for cron).")
@click.option("-v", "--verbose", is_flag=True, help="Log each record and retry to stderr.")
@click.version_option(__version__, "-V", "--version")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    list_queued: bool,
    dry_run: bool,
    quiet: bool,
    verbose: bool,
    **flags: Any,
) -> None:
    """Keep a repository's DOIs in step with DataCite.

    Subcommands that mark (reserve, register, update, delete) only change the local
    database. The flags run the organiser's passes against DataCite, always in the order
    update → reserve → register → delete, whatever order they are given in:

    \b
      organiser reserve metadata/                      # mark
      organiser --reserve-all --register-all --quiet   # push (e.g. from cron)
      organiser daemon                                 # or let the scheduler push

    ID is a DOI (bare, doi: or https://doi.org/ form), the repository's identifier (e.g. a
    PDS4 LIDVID) or the local record id.
    """
    from organiser.app import App

    logs.setup()  # first phase: defaults, until the configuration is read
    ctx.obj = app = App(config_path)
    # -l and --dry-run only read too
    app.creates_db = ctx.invoked_subcommand not in NEEDS_DATABASE and not (list_queued or dry_run)
    ctx.meta["quiet"], ctx.meta["verbose"] = quiet, verbose
    configure_logging(app, quiet, verbose, daemon=ctx.invoked_subcommand == "daemon")
    all_passes = [p.name for p in PASSES if flags[f"{p.name}_all"]]
    pushes = [(p.name, ref) for p in PASSES for ref in flags[f"{p.name}_doi"]]
    if ctx.invoked_subcommand is not None:
        if all_passes or pushes or list_queued or dry_run:
            raise click.UsageError("give pass flags or a subcommand, not both")
        return
    if not (all_passes or pushes or list_queued):
        if dry_run:
            raise click.UsageError("--dry-run goes with pass flags or --X-doi")
        click.echo(ctx.get_help())
        ctx.exit(EXIT_OK)
    if list_queued:
        from organiser.actions import records as read
        from organiser.commands import render

        app.open_db()
        render.records(read.queued(), as_json=False)
    if dry_run:
        _dry_run(app, all_passes, pushes)
        ctx.exit(EXIT_OK)
    if all_passes or pushes:
        ctx.exit(_run(app, all_passes, pushes, quiet))


cli.help = (
    inspect.cleandoc(cli.help or "")
    + "\n\n\b\nExit codes:\n"
    + "\n".join(f"  {code:<8}{meaning}" for code, meaning in EXIT_CODES)
)


def _dry_run(app: App, names: list[str], pushes: list[tuple[str, str]]) -> None:
    from organiser.actions import run as run_action

    lines = run_action.plan(app, names) if names else []
    for what, ref in pushes:
        lines += run_action.plan_push(app, what, ref)
    for line in lines:
        click.echo(f"would {line}")
    click.echo(f"dry run: {len(lines)} record(s) would be worked on; nothing sent or changed")


def _run(app: App, names: list[str], pushes: list[tuple[str, str]], quiet: bool) -> int:
    from organiser.actions import run as run_action
    from organiser.commands import progress
    from organiser.commands.signals import stopping_on_signals
    from organiser.engine.stop import StopFlag

    stop = StopFlag()
    observer = progress.ProgressBar() if sys.stdout.isatty() and not quiet else None
    code = 0
    try:
        with stopping_on_signals(stop), app.run_lock.held_for():
            if names:
                actor = "organiser " + " ".join(BY_NAME[n].all_flag for n in names)
                outcome = run_action.run_passes(app, names, actor, stop, observer)
                code = progress.outcome(outcome, quiet)
            for what, ref in pushes:
                if code >= EXIT_UNAVAILABLE:  # DataCite unreachable or interrupted: stop
                    break
                outcome = run_action.push(app, what, ref, stop, observer)
                code = max(code, progress.outcome(outcome, quiet, push=True))
    finally:  # however the run ends: [organiser] metrics_textfile never goes stale
        from organiser.actions import metrics

        metrics.write_configured(app)
    return code
