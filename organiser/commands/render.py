"""How commands show records: one line each (DOI, identifier, status, then the rest) or
JSON. A run's summary and progress bar are in :mod:`organiser.commands.progress`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

from organiser.actions.views import Marked, RecordSummary


def record_row(r: RecordSummary) -> dict[str, Any]:
    """Give the record's fields shown by ``list --json`` and ``show``, in the order every
    command prints records: DOI, identifier, status, then the rest."""
    return {
        "doi": r.doi,
        "identifier": r.identifier,
        "status": r.status,
        "id": r.id,
        "remote_state": r.remote_state,
        "attempts": r.attempts,
        "last_error": r.last_error,
        "next_attempt_at": r.next_attempt_at.isoformat(" ", "seconds")
        if r.next_attempt_at
        else None,
        "node": r.node,
        "submitter": r.submitter,
        "account": r.account,
        "updated_at": r.updated_at.isoformat(" ", "seconds") if r.updated_at else None,
    }


def records(rows: Iterable[RecordSummary], as_json: bool, accounts: bool = False) -> None:
    """Print records, one tab-separated line each (DOI, identifier, status, local id, with
    ``accounts`` the DataCite account, and the last error if any: the marking commands'
    order, plus the rest), or as one JSON array (streamed; always with the account)."""
    if as_json:
        click.echo("[", nl=False)
        for n, r in enumerate(rows):
            text = json.dumps(record_row(r), ensure_ascii=False)
            click.echo(("," if n else "") + "\n" + text, nl=False)
        click.echo("\n]")
        return
    for r in rows:
        account = f"\t{r.account}" if accounts else ""
        error = f"\t{r.last_error}" if r.last_error else ""
        click.echo(f"{r.doi}\t{r.identifier}\t{r.status}\t{r.id}{account}{error}")


def quiet() -> bool:
    """Tell whether ``-q`` was given (before or after the subcommand): the marking commands
    then print nothing but errors and warnings (the exit code says how it went)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get("quiet"))


def marked(done: list[Marked], prefix: str = "") -> None:
    """Print one line per marked record: DOI, identifier, status (as the mark left it);
    nothing with ``-q``."""
    if quiet():
        return
    for start in range(0, len(done), 1000):  # written a block at a time
        block = done[start : start + 1000]
        click.echo("\n".join(f"{prefix}{m.doi}\t{m.identifier}\t{m.status}" for m in block))
