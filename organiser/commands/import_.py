"""``organiser import``: load what the DataCite account already holds."""

from __future__ import annotations

import json
import sys
from typing import IO

import click

from organiser import logs
from organiser.actions import imports
from organiser.app import App
from organiser.commands.cli import cli
from organiser.commands.progress import TerminalBar
from organiser.commands.signals import stopping_on_signals
from organiser.domain.states import DATACITE_STATES
from organiser.engine.stop import StopFlag
from organiser.errors import EXIT_UNAVAILABLE, signal_exit_code
from organiser.storage.imported import KEPT, NEW, REFRESHED, SKIPPED, Outcome

#: Outcome -> what a dry run says it would do (unchanged records are not listed).
_WOULD = {NEW: "would import", REFRESHED: "would refresh", KEPT: "would keep"}


@cli.command(name="import")
@click.option(
    "--prefix",
    metavar="PREFIX",
    help="Only DOIs under this prefix (e.g. 10.17189); default: every DOI of the account.",
)
@click.option(
    "--since",
    metavar="DATE",
    help="Only DOIs changed at DataCite since then: YYYY-MM-DD or an ISO 8601 time (UTC "
    "unless it says otherwise).",
)
@click.option(
    "--state",
    type=click.Choice(DATACITE_STATES),
    help="Only DOIs in this DataCite state.",
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 1000),
    default=1000,
    show_default=True,
    help="DOIs asked for per request (DataCite gives at most 1000).",
)
@click.option(
    "--dry-run", is_flag=True, help="Read DataCite and say what would be done; write nothing."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per DOI on stdout (doi, identifier, outcome, status, remote_state, "
    "reason); the summary goes to stderr.",
)
@click.pass_context
def import_(
    ctx: click.Context,
    prefix: str | None,
    since: str | None,
    state: str | None,
    page_size: int,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Load the DOIs the DataCite accounts already hold into the local database.

    Lists each account ([datacite], then every [account NAME]: GET /dois?client-id=<its
    username>, a page at a time, under the rate limit, each page retried like a pass retries
    a record; with --prefix, the accounts holding it) and makes a local record, of that account,
    per DOI in the status that matches DataCite: draft → reserved, findable → registered,
    registered (hidden) → deleted, the record organiser's own delete of a findable DOI
    leaves. Each record gets DataCite's metadata and url, the PDS4 LIDVID it carries as its
    identifier (else the DOI), the node of its DataCurator contributor when that is a PDS
    node, and a history row "imported".

    Safe to run again: records are matched by DOI, never duplicated. Records waiting for a
    pass or claimed by a run, records changed here after DataCite's last change and deleted
    records (a DOI is never reused) are kept as they are; records DataCite changed since
    are refreshed from it. Each page is written in one transaction: an import cut short
    keeps the pages it wrote, and running it again completes it. It takes the run lock, so
    it never overlaps a run on this host (--dry-run does not).

    Prints each record kept, and a summary:

    \b
      import: 2500 imported, 0 refreshed, 0 unchanged, 0 kept

    \b
    Exit codes: 0 done; 2 bad option or configuration, or DataCite refused
    the listing (nothing written); 75 DataCite unreachable or refusing the
    credentials, or a run holds the lock (pages written stay: run it again);
    130/143 stopped by SIGINT/SIGTERM (likewise).
    """
    app: App = ctx.obj
    quiet = bool(ctx.meta.get("quiet"))
    request = imports.Request(
        prefix=imports.check_prefix(prefix) if prefix else None,
        state=state,
        since=imports.parse_since(since) if since is not None else None,
        page_size=page_size,
        dry_run=dry_run,
    )
    bar = sys.stdout.isatty() and not quiet and not as_json
    printer = _Printer(as_json, dry_run, bar)
    stop = StopFlag()
    try:
        with stopping_on_signals(stop):
            result = imports.import_account(app, request, stop, printer)
    finally:
        printer.close()
    if not quiet:  # with --json, stdout is the JSON lines: the summary goes to stderr
        if as_json:
            logs.say(result.summary(dry_run), "info")
        else:
            click.echo(result.summary(dry_run))
    if result.interrupted:
        logs.say(
            f"interrupted by {result.interrupted}: the pages imported so far are written; "
            "run it again to finish",
            "warning",
        )
        ctx.exit(signal_exit_code(result.interrupted))
    if result.outage:
        logs.say(
            f"error: import stopped, the pages imported so far are written; run it again to "
            f"finish: {result.outage}"
        )
        ctx.exit(EXIT_UNAVAILABLE)


class _Printer(imports.Observer):
    """Per-DOI output and, on a terminal, a progress bar (``file``: stdout unless given)
    with the output and log lines written above it."""

    def __init__(
        self, as_json: bool, dry_run: bool, bar: bool, file: IO[str] | None = None
    ) -> None:
        self.as_json, self.dry_run, self.want_bar, self.file = as_json, dry_run, bar, file
        self._bar: TerminalBar | None = None

    def started(self, total: int | None) -> None:
        if self._bar is not None and total:  # the next account's listing: a longer bar
            self._bar.lengthen(self._bar.length + total)
        elif self.want_bar and total:
            self._bar = TerminalBar(total, "import", self.file)

    def page_done(self, outcomes: list[Outcome]) -> None:
        lines = [line for line in map(self._line, outcomes) if line is not None]
        if lines:
            text = "\n".join(lines)
            if self._bar is not None:
                self._bar.above(text + "\n")
            else:
                click.echo(text, file=self.file)
        if self._bar is not None:
            self._bar.advance(len(outcomes))

    def _line(self, o: Outcome) -> str | None:
        if self.as_json:
            row = {
                "doi": o.doi,
                "identifier": o.identifier,
                "outcome": o.outcome,
                "status": o.status or None,
                "remote_state": o.remote_state,
                "reason": o.reason,
            }
            if self.dry_run:
                row["dry_run"] = True
            return json.dumps(row, ensure_ascii=False)
        if self.dry_run and o.outcome in _WOULD:
            reason = f"\t{o.reason}" if o.reason else ""
            return f"{_WOULD[o.outcome]}\t{o.doi}\t{o.identifier}\t{o.status}{reason}"
        if o.outcome in (KEPT, SKIPPED):
            return f"{o.outcome}\t{o.doi}\t{o.identifier}\t{o.reason}"
        return None

    def close(self) -> None:
        """End the bar, if one was shown."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
