"""Filtered reads of records, done in SQL: what ``organiser list`` and the web API's
``GET /dois`` ask for, and the pending-release report. Nothing here writes.

Wildcard and substring filters become ``LIKE … ESCAPE '!'`` on the lower-cased column, so
they behave alike on SQLite and PostgreSQL: case-insensitive, and ``%``, ``_`` and ``!`` in
what the user typed are matched literally.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from peewee import SQL, NodeList, fn

from organiser.domain.identifiers import normalise_doi
from organiser.domain.states import State
from organiser.storage.indexes import SEARCH_TABLE, has_search, is_sqlite
from organiser.storage.models import Record, database_proxy

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
    ``--ids`` filter folds it (``LOWER(column) LIKE … ESCAPE '!'``, nothing a wildcard; on
    SQLite ``LOWER(column) = …``, the same there, which the lower-cased index serves)."""
    folded = text.lower()
    if is_sqlite(database_proxy.obj):
        return fn.LOWER(column) == folded
    return _like(column, escape_like(folded))


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
        where.append(_any(_id_matches(pattern) for pattern in sorted(set(ids))))
    if since is not None:
        where.append(Record.updated_at >= since)
    if before is not None:
        where.append(Record.updated_at < before)
    if title:
        where.append(_like(Record.title, f"%{escape_like(title.lower())}%"))
        where += _contains("title", title.lower())
    if accounts:
        where.append(Record.account.in_(sorted({a.strip().lower() for a in accounts})))
    return where


def _id_matches(wildcard: str) -> Any:
    """Give the condition that the identifier or the LID matches ``wildcard`` (a Unix
    wildcard, without case), in a form an index serves (:func:`_lower_like`); a pattern that
    starts with a wildcard is narrowed by the substring search to its longest literal run
    (the identifier holds the LID, so whatever either matches, the identifier contains)."""
    folded = wildcard.lower()
    either = _any(_lower_like(c, folded) for c in (Record.identifier, Record.lid))
    if not folded or folded[0] not in "*?":
        return either
    run = max(re.split(r"[*?]", folded), key=len)
    if is_sqlite(database_proxy.obj):
        narrowed = _contains("identifier", run)
    else:  # the pg_trgm index on the identifier serves this; the LID has none
        narrowed = [_like(Record.identifier, f"%{escape_like(run)}%")] if len(run) >= 3 else []
    return NodeList([either, *narrowed], glue=" AND ", parens=True)


def _lower_like(column: Any, folded: str) -> Any:
    """Give the condition that ``LOWER(column)`` matches the lower-cased Unix wildcard
    ``folded``: ``LIKE … ESCAPE '!'`` (PostgreSQL's ``text_pattern_ops`` index serves it as
    it is). On SQLite, where LIKE on an expression is never a range, in the same meaning: a
    literal is ``=``; a literal prefix is the range ``prefix ≤ … < prefix'`` (text sorts by
    code point), alone when a ``*`` ends the pattern, else with the LIKE."""
    like = _like(column, wildcard_pattern(folded))
    if not is_sqlite(database_proxy.obj):
        return like
    prefix = re.split(r"[*?]", folded, maxsplit=1)[0]
    lowered = fn.LOWER(column)
    if prefix == folded:
        return lowered == folded
    following = ord(prefix[-1]) + 1 if prefix else 0
    if not prefix or following > 0x10FFFF or 0xD800 <= following < 0xE000:
        return like
    span = (lowered >= prefix) & (lowered < prefix[:-1] + chr(following))
    return span if folded == prefix + "*" else NodeList([span, like], " AND ", parens=True)


def _contains(column: str, text: str) -> list[Any]:
    """Give the conditions (none or one) that narrow to the records whose ``column``
    (identifier or title) may contain ``text`` (lower-cased) through the substring search:
    SQLite's trigram FTS table, when there is one and ``text`` has 3 characters or more (the
    caller keeps the exact LIKE: this only narrows). Fewer than :data:`SORT_AT_MOST` hits
    are the ids to read; more are many, read by walking the ids from the first hit on (the
    search gives its hits in id order: neither counting nor the first reads them all).
    PostgreSQL's pg_trgm index serves the LIKE itself: nothing to add."""
    db = database_proxy.obj
    if len(text) < 3 or not has_search(db):
        return []
    match = [f'{column} : "{text.replace(chr(34), chr(34) * 2)}"']
    hits = f"SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH ?"
    counted = f"SELECT COUNT(*) FROM ({hits} LIMIT {SORT_AT_MOST})"
    if db.execute_sql(counted, match).fetchone()[0] < SORT_AT_MOST:
        return [NodeList((Record.id, SQL(f"IN ({hits})", match)))]
    first = db.execute_sql(f"{hits} LIMIT 1", match).fetchone()[0]
    return [Record.id >= first]


#: A filter that fewer records than this meet is read through its index, the ids sorted
#: (SQLite: counted through that index, stopping here; PostgreSQL: the planner's estimate).
#: One that more meet first walks :data:`WALK_FIRST` ids in id order (many matches are met
#: soon), then reads the rest through its index. Neither database's planner alone gets both
#: right: SQLite (without STAT4) cannot tell how many records a range or a substring
#: matches, and PostgreSQL walks the ids for a page of a filter whose records are all near
#: the end (the last month's changes) as if they were spread evenly.
SORT_AT_MOST = 5_000
WALK_FIRST = 20_000


def page(where: Sequence[Any], limit: int | None, after_id: int = 0) -> list[Record]:
    """Give the records that meet every condition in ``where`` with an id above
    ``after_id``, in id order, at most ``limit`` (keyset pagination)."""
    query = Record.select().where(Record.id > after_id, *where).order_by(Record.id)
    if limit is None:
        return list(query)
    few = _few(where, after_id) if where else None
    if few is None:
        return list(query.limit(limit))
    if few:
        return _through_index(where, after_id, limit)
    window = Record.select().where(Record.id > after_id, Record.id <= after_id + WALK_FIRST)
    window = window.where(*where).order_by(Record.id).limit(limit)
    if is_sqlite(database_proxy.obj):  # NOT INDEXED: the ids are walked, not the filter's
        sql, params = window.sql()
        window = Record.raw(sql.replace(' AS "t1" ', ' AS "t1" NOT INDEXED ', 1), *params)
    found = list(window)
    if len(found) == limit:
        return found
    return found + _through_index(where, after_id + WALK_FIRST, limit - len(found))


def _few(where: Sequence[Any], after_id: int) -> bool | None:
    """Tell whether fewer than :data:`SORT_AT_MOST` records above ``after_id`` meet
    ``where``; None when no index serves it on SQLite (its plan walks the table in id
    order: so does the page)."""
    db = database_proxy.obj
    counted = Record.select(SQL("1")).where((Record.id + 0) > after_id, *where)
    sql, params = counted.sql()
    if not is_sqlite(db):
        [(plan,)] = db.execute_sql("EXPLAIN (FORMAT JSON) " + sql, params).fetchall()
        return bool(plan[0]["Plan"]["Plan Rows"] < SORT_AT_MOST)
    plan = [row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params)]
    if any(re.match(_WALKS, line) for line in plan):
        return None
    return bool(counted.limit(SORT_AT_MOST).count() < SORT_AT_MOST)


#: A plan line that reads the records in id order, testing each (no index narrows).
_WALKS = r"SCAN (TABLE )?\S+( |$)|SEARCH \S+ USING INTEGER PRIMARY KEY \(rowid[<>]"


def _through_index(where: Sequence[Any], after_id: int, limit: int) -> list[Record]:
    """Give :func:`page`'s records read through the filter's index: their ids first (sorted
    without the rows), then the rows."""
    after = (Record.id + 0) > after_id  # not a range of ids, so the filter's index is used
    ids = Record.select(Record.id).where(after, *where).order_by(Record.id + 0).limit(limit)
    chosen = [row[0] for row in ids.tuples()]
    if not chosen:
        return []
    return list(Record.select().where(Record.id.in_(chosen)).order_by(Record.id))


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
