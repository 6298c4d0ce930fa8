"""Reading and writing records. Every status change goes through
:func:`organiser.domain.states.transition` and is written together with its history row in
one transaction.

Claims (what passes hold while they work) are in :mod:`organiser.storage.claims`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import peewee as pw
from peewee import SQL

from organiser.config_schema import DEFAULT_ACCOUNT
from organiser.domain.identifiers import normalise_doi
from organiser.domain.metadata import lid_of, title_of
from organiser.domain.states import Action, InvalidTransition, State, Step, transition
from organiser.errors import UserError
from organiser.storage import queries
from organiser.storage.models import History, Record, database_proxy


class RecordError(UserError):
    """A record cannot be found or changed as asked; the message is one line for the user."""


class RecordNotFound(RecordError):
    """No record has this DOI, identifier or id (HTTP 404)."""

    http_status = 404


@dataclass(frozen=True, slots=True)
class NewRecord:
    """What intake hands over to be marked for reservation."""

    doi: str
    doi_generated: bool
    identifier: str
    #: DataCite attributes as JSON text, as stored, or an object whose ``str()`` is that text
    #: (intake keeps a large batch compressed until it is written)
    attributes_json: str | object
    url: str | None
    node: str | None = None
    submitter: str | None = None
    source: str = ""  # where it came from, for error messages
    title: str | None = None  # the first title (kept for duplicate checks)
    account: str = DEFAULT_ACCOUNT  # the DataCite account it goes through


def find(ref: str) -> Record:
    """Give the record named by ``ref``: a DOI (bare, doi: or https://doi.org/), the repository
    identifier in any case (as ``list --ids`` matches it; an exact match wins), or the local
    record id.

    A live record wins over deleted ones with the same identifier; a deleted one is given
    when no live record carries it. Raises :class:`RecordError` if nothing (or more than one
    live record, or no live and several deleted ones) matches.
    """
    if "\x00" in ref:  # in no record (and no driver takes it: PostgreSQL raises ValueError)
        raise RecordNotFound(f"{ref!r}: no record with this DOI, identifier or id")
    doi = normalise_doi(ref)
    if doi is not None:
        record = Record.get_or_none(Record.doi == doi)
        if record is None:
            raise RecordNotFound(f"{ref}: no record with this DOI")
        return record
    text = ref.strip()
    live: list[Record] = []
    matches = [Record.identifier == text]  # indexed
    if text.lower() != text.upper():  # folding can change it (a plain id cannot: no scan)
        matches.append(queries.same_text(Record.identifier, text))
    for same in matches:
        live = list(Record.select().where(same & (Record.status != State.DELETED)).limit(2))
        if live:
            break
    if len(live) == 1:
        return live[0]
    if len(live) > 1:
        raise RecordError(f"{ref}: several records carry this identifier; name the DOI")
    if ref.strip().isascii() and ref.strip().isdigit() and len(ref.strip()) <= 18:  # an id
        record = Record.get_or_none(Record.id == int(ref))
        if record is not None:
            return record
    for same in matches:  # no live record: a deleted one (shown, or refused as deleted)
        gone = list(Record.select().where(same & (Record.status == State.DELETED)).limit(2))
        if len(gone) == 1:
            return gone[0]
        if gone:
            raise RecordError(f"{ref}: several deleted records carry this identifier; name the DOI")
    raise RecordNotFound(f"{ref}: no record with this DOI, identifier or id")


def add_history(
    record: Record,
    old: str | None,
    new: str,
    action: Action,
    actor: str,
    at: datetime,
    outcome: str | None,
) -> None:
    History.create(
        record=record,
        from_status=old,
        to_status=new,
        action=str(action),
        actor=actor,
        at=at,
        outcome=outcome,
    )


def insert_new(items: Iterable[NewRecord], actor: str, now: datetime) -> list[Record]:
    """Mark every item for reservation, all or nothing, in one transaction; give the records
    as stored. Raises :class:`RecordError` as :func:`write_new` does.

    Builds every record at once: for large batches, :func:`write_new` does the same work
    without giving the records back.
    """
    items = list(items)
    with database_proxy.atomic():
        write_new(items, actor, now)
        found = {record.doi: record for record in where_in(Record.doi, [i.doi for i in items])}
    return [found[i.doi] for i in items]


#: Records written per statement by :func:`write_new`: its memory does not grow with a batch.
WRITE_CHUNK = 1000


def write_new(items: Sequence[NewRecord], actor: str, now: datetime) -> State:
    """Mark every item for reservation, all or nothing, in one transaction; give the state the
    records are now in.

    Raises :class:`RecordError` (and writes nothing) if a DOI is taken or an identifier
    already has a live record. The rows are built and written a chunk at a time, inside the
    one transaction.
    """
    taken = existing_dois(i.doi for i in items)
    live = live_records(Record.identifier, (i.identifier for i in items))
    for item in items:
        if item.doi in taken:
            raise RecordError(f"{item.source}: DOI {item.doi} is already in the database")
        if item.identifier in live:
            clash = live[item.identifier][0]
            raise RecordError(
                f"{item.source}: identifier {item.identifier} already has DOI {clash.doi} "
                f"({clash.status}); use 'organiser update' to change its metadata"
            )
    step = transition(None, Action.MARK_RESERVE)
    action = str(Action.MARK_RESERVE)
    with database_proxy.atomic():
        for start in range(0, len(items), WRITE_CHUNK):
            chunk = items[start : start + WRITE_CHUNK]
            rows = [
                {
                    "doi": i.doi,
                    "doi_generated": i.doi_generated,
                    "identifier": i.identifier,
                    "lid": lid_of(i.identifier),
                    "title": i.title,
                    "status": step.state,
                    "attributes": str(i.attributes_json),
                    "url": i.url,
                    "node": i.node,
                    "submitter": i.submitter,
                    "account": i.account,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in chunk
            ]
            insert_rows(Record, rows)
            ids = dict(ids_of([i.doi for i in chunk]))
            history = [
                {
                    "record": ids[i.doi],
                    "from_status": None,
                    "to_status": step.state,
                    "action": action,
                    "actor": actor,
                    "at": now,
                    "outcome": i.source or None,
                }
                for i in chunk
            ]
            insert_rows(History, history)
    return step.state


def ids_of(dois: list[str]) -> Iterator[tuple[str, int]]:
    """Give (DOI, record id) for those of ``dois`` the database holds (asked in chunks)."""
    param = database_proxy.obj.param
    for chunk in _chunks(dois):
        cursor = database_proxy.obj.execute_sql(
            f"SELECT doi, id FROM record WHERE doi IN ({', '.join([param] * len(chunk))})", chunk
        )
        yield from cursor.fetchall()


def insert_rows(model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys; field defaults fill the rest) with one
    prepared statement.

    Peewee's ``insert_many`` renders every value into SQL in Python, which costs more than
    SQLite's own work for large batches; ``executemany`` does not.
    """
    if not rows:
        return
    fields = [f for f in model._meta.sorted_fields if f.name in rows[0] or f.default is not None]
    defaults = {f.name: f.default() if callable(f.default) else f.default for f in fields}
    database = database_proxy.obj
    open_quote, close_quote = database.quote  # e.g. '""': the identifier quote characters
    columns = ", ".join(f"{open_quote}{f.column_name}{close_quote}" for f in fields)
    sql = (
        f"INSERT INTO {open_quote}{model._meta.table_name}{close_quote} ({columns}) "
        f"VALUES ({', '.join([database.param] * len(fields))})"
    )
    plain = (pw.CharField, pw.TextField, pw.IntegerField)  # no conversion needed for these
    convert = [None if isinstance(f, plain) else f.db_value for f in fields]
    values = [
        tuple(
            value if c is None or value is None else c(value)
            for c, value in zip(
                convert, (row.get(f.name, defaults[f.name]) for f in fields), strict=True
            )
        )
        for row in rows
    ]
    with pw.__exception_wrapper__:  # the driver's errors as peewee's (as in execute_sql)
        database.cursor().executemany(sql, values)


def _chunks(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def where_in(column: Any, values: Iterable[Any], *conditions: Any) -> Iterator[Record]:
    """Give records whose ``column`` is one of ``values`` (asked in chunks).

    The IN list is passed as one SQL fragment: peewee renders a list of parameters value by
    value, which for large batches costs more than the query itself.
    """
    param = database_proxy.obj.param
    for chunk in _chunks(sorted(set(values))):
        listed = SQL(f"{column.column_name} IN ({', '.join([param] * len(chunk))})", chunk)
        yield from Record.select().where(listed, *conditions)


def existing_dois(dois: Iterable[str]) -> set[str]:
    """Give which of ``dois`` the database already holds (deleted records included)."""
    return {r.doi for r in where_in(Record.doi, dois)}


def live_records(column: Any, values: Iterable[str]) -> dict[str, list[Record]]:
    """Give the records that are not deleted whose ``column`` (identifier, lid or title) is one
    of ``values``, grouped by that value, oldest first."""
    found: dict[str, list[Record]] = {}
    for record in where_in(column, values, Record.status != State.DELETED):
        found.setdefault(getattr(record, column.name), []).append(record)
    for records in found.values():
        records.sort(key=lambda r: r.id)
    return found


def mark(
    record: Record,
    action: Action,
    actor: str,
    now: datetime,
    attributes: dict[str, Any] | None = None,
    url: str | None = None,
    identifier: str | None = None,
    outcome: str | None = None,
) -> Step:
    """Apply a local mark (register, update, delete, submit, reject, ...) to ``record``; give
    the step taken.

    New ``attributes``/``url`` go with ``MARK_UPDATE`` (and ``MARK_PROPOSE``: into
    ``update-review`` they are held in ``pending``, not applied; approving such a record with
    ``MARK_REGISTER`` applies them, any other way out drops them); ``outcome`` (e.g. why a
    review was rejected) goes into the history row's outcome column. A mark that leaves the
    status as it is writes nothing unless it brings new metadata. A record a running pass
    holds can be marked too: the pass then keeps what DataCite answered but leaves the status
    to this newer mark.
    Raises :class:`RecordError` for an invalid transition.
    """
    with database_proxy.atomic():
        fresh = locked(record.id)
        old = State(fresh.status)
        try:
            step = transition(old, action, state_or_none(fresh.prior_status))
        except InvalidTransition as exc:
            raise RecordError(f"{fresh.doi} {exc}") from None
        changes: dict[Any, Any] = {}
        _refuse_taken(
            fresh, identifier, f"{identifier} already has DOI {{other}}; {fresh.doi} cannot take it"
        )
        if step.state is State.UPDATE_REVIEW:
            if attributes is not None:  # held for review, not applied (nor sent)
                held = {"attributes": attributes, "url": url, "identifier": identifier}
                changes[Record.pending] = json.dumps(held, ensure_ascii=False)
            attributes = identifier = None
        elif old is State.UPDATE_REVIEW:
            if action is Action.MARK_REGISTER and attributes is None:  # approved: applied now
                held = pending_of(fresh) or {}
                attributes, url = held.get("attributes"), held.get("url")
                identifier = held.get("identifier")
                _refuse_taken(  # taken since it was proposed?
                    fresh,
                    identifier,
                    f"{fresh.doi}: the change in review names {identifier}, which {{other}} "
                    "now carries; reject it",
                )
            changes[Record.pending] = None
        if attributes is not None:
            changes[Record.attributes] = json.dumps(attributes, ensure_ascii=False)
            changes[Record.url] = url
            changes[Record.title] = title_of(attributes)
        if action is Action.MARK_RECREATE:  # DataCite lost it: its pass creates it again
            changes[Record.remote_state] = None
        if identifier is not None and identifier != fresh.identifier:
            changes[Record.identifier] = identifier
            changes[Record.lid] = lid_of(identifier)
        if step.state is old and not changes:
            return step
        changes.update(
            {
                Record.status: step.state,
                Record.prior_status: step.prior,
                Record.updated_at: now,
                Record.attempts: 0,
                Record.next_attempt_at: None,
                Record.last_error: None,
            }
        )
        Record.update(changes).where(Record.id == fresh.id).execute()
        add_history(fresh, old, step.state, action, actor, now, outcome)
    return step


def _refuse_taken(record: Record, identifier: str | None, message: str) -> None:
    """Refuse (:class:`RecordError`, ``message`` with ``{other}`` the other DOI) to give
    ``record`` an ``identifier`` another live record carries: identifiers name one record."""
    if not identifier or identifier == record.identifier:
        return
    for other in live_records(Record.identifier, [identifier]).get(identifier, []):
        if other.id != record.id:
            raise RecordError(message.format(other=other.doi))


def locked(record_id: int) -> Record:
    """Give the record, locked for this transaction: ``SELECT … FOR UPDATE`` on PostgreSQL
    (SQLite's ``BEGIN IMMEDIATE`` already holds the whole database)."""
    query = Record.select().where(Record.id == record_id)
    if not isinstance(database_proxy.obj, pw.SqliteDatabase):
        query = query.for_update()
    return query.get()


def state_or_none(value: str | None) -> State | None:
    return State(value) if value else None


def select(statuses: Iterable[str] | None = None, limit: int | None = None) -> Iterator[Record]:
    """Give records in id order, optionally only those in ``statuses``, at most ``limit``."""
    query = Record.select().order_by(Record.id)
    if statuses:
        query = query.where(Record.status.in_(list(statuses)))
    if limit is not None:
        query = query.limit(limit)
    return query.iterator()


def history_of(record: Record) -> list[History]:
    """Give the record's history rows, oldest first."""
    return list(History.select().where(History.record == record).order_by(History.id))


def pending_of(record: Record) -> dict[str, Any] | None:
    """Give the change held for review (``{"attributes", "url", "identifier"}``), or None."""
    return json.loads(record.pending) if record.pending else None


def attributes_of(record: Record) -> dict[str, Any]:
    """Give the record's DataCite attributes as a dict."""
    return json.loads(record.attributes)


def by_dois(dois: Iterable[str]) -> dict[str, Record]:
    """Give the records with these (lower-case) DOIs, by DOI."""
    return {record.doi: record for record in where_in(Record.doi, dois)}


def ensure_unique_doi(doi: str) -> bool:
    """Tell whether ``doi`` is free in the local database."""
    return not Record.select().where(Record.doi == doi).exists()
