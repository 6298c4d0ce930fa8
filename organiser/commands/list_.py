"""``organiser list``: records, filtered."""

from __future__ import annotations

from datetime import date

import click

from organiser.actions import records as read
from organiser.app import App
from organiser.commands import render
from organiser.commands.cli import cli
from organiser.domain.states import State
from organiser.errors import UserError


@cli.command(name="list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in State]),
    help="Only records in this status (repeatable).",
)
@click.option("--doi", "dois", multiple=True, metavar="DOI", help="Only this DOI (repeatable).")
@click.option(
    "--submitter",
    "submitters",
    multiple=True,
    metavar="EMAIL",
    help="Only records of this submitter, any case (repeatable).",
)
@click.option("--node", "nodes", multiple=True, help="Only records of this node (repeatable).")
@click.option(
    "--ids",
    multiple=True,
    metavar="PATTERN",
    help="Only identifiers (or their LIDs) matching this pattern, any case; * and ? are "
    "wildcards: 'urn:nasa:pds:insight_*' (repeatable).",
)
@click.option("--since", metavar="DATE", help="Only records last changed on or after this UTC day.")
@click.option(
    "--until", metavar="DATE", help="Only records last changed on or before this UTC day."
)
@click.option("--title", metavar="TEXT", help="Only records whose title contains TEXT, any case.")
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="NAME",
    help="Only records sent through this DataCite account: datacite ([datacite]) or the NAME "
    "of an [account NAME] (repeatable).",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many records.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of records.")
@click.pass_obj
def list_(
    app: App,
    statuses: tuple[str, ...],
    dois: tuple[str, ...],
    submitters: tuple[str, ...],
    nodes: tuple[str, ...],
    ids: tuple[str, ...],
    since: str | None,
    until: str | None,
    title: str | None,
    accounts: tuple[str, ...],
    limit: int | None,
    as_json: bool,
) -> None:
    """List records with their DOI, identifier, status and last error (and their DataCite
    account when more than one is configured).

    Filters combine (a record must meet each one given); a repeated option matches any of
    its values. DATE is YYYY-MM-DD; --since and --until count whole days (UTC) of the
    record's last change.
    """
    filters = read.RecordFilter(
        dois=dois,
        submitters=submitters,
        nodes=nodes,
        statuses=statuses,
        ids=ids,
        since=_day("--since", since),
        until=_day("--until", until),
        title=title,
        accounts=accounts,
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise UserError(f"--since {since}: after --until {until}")
    app.open_db()
    read.check_accounts(accounts, {a.name for a in app.accounts.all})
    several = len(app.accounts.all) > 1  # one account: the line as it always was
    render.records(read.each(filters, limit), as_json, accounts=several)


def _day(option: str, text: str | None) -> date | None:
    """Give the day ``text`` names (YYYY-MM-DD). Raises ``UserError`` naming ``option``."""
    if text is None:
        return None
    try:
        if len(text.strip()) != 10:
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{option} {text!r}: not a date (YYYY-MM-DD)") from None
