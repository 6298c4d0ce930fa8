"""Filtered reads of records, done in SQL: what ``organiser list`` and the web API's
``GET /dois`` ask for, and the pending-release report. Nothing here writes.

Wildcard and substring filters become ``LIKE … ESCAPE '!'`` on the lower-cased column, so
they behave alike on SQLite and PostgreSQL: case-insensitive, and ``%``, ``_`` and ``!`` in
what the user typed are matched literally.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from peewee import SQL, NodeList, fn

from organiser.domain.identifiers import normalise_doi
from organiser.domain.states import State
from organiser.storage.models import Record

ESCAPE = "!"
#: Record columns a report needs (not the metadata, which may be large).
SUMMARY = (
    Record.id,
    Record.doi,
    Record.identifier,
    Record.title,
    Record.node,
    Record.submitter,
    Record.status,
    Record.updated_at,
    Record.last_error,
)


def escape_like(text: str) -> str:
    """Give ``text`` with the LIKE wildcards (and the escape character) escaped."""
    for char in (ESCAPE, "%", "_"):
        text = text.replace(char, ESCAPE + char)
    return text


def wildcard_pattern(pattern: str) -> str:
    """Give the LIKE pattern of a Unix wildcard ``pattern`` (``*`` any run of characters,
    ``?`` one character; everything else literal), lower-cased."""
    return escape_like(pattern.lower()).replace("*", "%").replace("?", "_")


def _like(column: Any, pattern: str) -> Any:
    """Give ``LOWER(column) LIKE pattern ESCAPE '!'`` (``pattern`` already lower-cased)."""
    return NodeList((fn.LOWER(column), SQL("LIKE"), pattern, SQL(f"ESCAPE '{ESCAPE}'")))


def same_text(column: Any, text: str) -> Any:
    """Give the condition that ``column`` holds ``text`` in any case, folded exactly as the
    ``--ids`` filter folds it (``LOWER(column) LIKE … ESCAPE '!'``, nothing a wildcard)."""
    return _like(column, escape_like(text.lower()))


def _any(conditions: Iterable[Any]) -> Any:
    """Give ``(a OR b OR ...)``, flat: ``a | b | ...`` nests a parenthesis per condition,
    which overflows SQLite's parser stack from about 40 conditions on."""
    return NodeList(list(conditions), glue=" OR ", parens=True)


def conditions(
    *,
    dois: Sequence[str] = (),
    submitters: Sequence[str] = (),
    nodes: Sequence[str] = (),
    statuses: Sequence[str] = (),
    ids: Sequence[str] = (),
    since: datetime | None = None,
    before: datetime | None = None,
    title: str | None = None,
    accounts: Sequence[str] = (),
) -> list[Any]:
    """Give the WHERE conditions (all must hold) for these filters; within one filter any
    value may match.

    ``dois`` in any form :func:`normalise_doi` reads; ``submitters`` and ``nodes`` compared
    without case; ``ids`` are Unix wildcards, without case, on the identifier or its LID (so a
    LID, or a pattern that ends with one, finds every version); ``since`` ≤ updated_at <
    ``before``; ``title`` a substring of the first title, without case; ``accounts`` the
    DataCite account names, as stored (lower case).
    """
    where: list[Any] = []
    if dois:
        where.append(Record.doi.in_(sorted({normalise_doi(d) or d.strip().lower() for d in dois})))
    if submitters:
        where.append(
            fn.LOWER(Record.submitter).in_(sorted({s.strip().lower() for s in submitters}))
        )
    if nodes:
        where.append(fn.LOWER(Record.node).in_(sorted({n.strip().lower() for n in nodes})))
    if statuses:
        where.append(Record.status.in_(sorted(set(statuses))))
    if ids:
        patterns = [wildcard_pattern(pattern) for pattern in ids]
        where.append(_any(_like(c, p) for p in patterns for c in (Record.identifier, Record.lid)))
    if since is not None:
        where.append(Record.updated_at >= since)
    if before is not None:
        where.append(Record.updated_at < before)
    if title:
        where.append(_like(Record.title, f"%{escape_like(title.lower())}%"))
    if accounts:
        where.append(Record.account.in_(sorted({a.strip().lower() for a in accounts})))
    return where


def page(where: Sequence[Any], limit: int | None, after_id: int = 0) -> list[Record]:
    """Give the records that meet every condition in ``where`` with an id above
    ``after_id``, in id order, at most ``limit`` (keyset pagination)."""
    query = Record.select().where(Record.id > after_id, *where).order_by(Record.id)
    if limit is not None:
        query = query.limit(limit)
    return list(query)


def summaries(condition: Any, *order: Any) -> list[Record]:
    """Give the :data:`SUMMARY` columns of every record meeting ``condition``, in
    ``order``."""
    return list(Record.select(*SUMMARY).where(condition).order_by(*order))


def present_except(dois: set[str], chunk: int = 1000) -> Iterator[Record]:
    """Give, in id order and ``chunk`` rows at a time, the reserved, in-review and registered
    records (those DataCite should hold; a registered one whose change waits in update-review
    too) whose DOI is not in ``dois``."""
    after = 0
    while True:
        batch = list(
            Record.select()
            .where(
                (
                    Record.status.in_([State.RESERVED, State.REVIEW, State.REGISTERED])
                    | (
                        (Record.status == State.UPDATE_REVIEW)
                        & (Record.prior_status == State.REGISTERED)
                    )
                )
                & (Record.id > after)
            )
            .order_by(Record.id)
            .limit(chunk)
        )
        if not batch:
            return
        after = batch[-1].id
        yield from (record for record in batch if record.doi not in dois)
