"""Reading records for the commands (and later the web API): lists, one record with its
history. Nothing here needs DataCite."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import MINYEAR, UTC, date, datetime, time, timedelta
from typing import Any

from organiser.actions.views import HistoryEntry, RecordSummary, summary
from organiser.domain import dialect
from organiser.domain.metadata import differences
from organiser.domain.states import QUEUED_STATES, State
from organiser.errors import UserError
from organiser.storage import queries, records
from organiser.storage.models import Record, database_proxy

#: Records read per query when :func:`each` streams a listing.
STREAM_BATCH = 1000


class FilterError(UserError):
    """A filter cannot be used (an unknown status, a start after the end); one line."""


def cursor_of(last_id: int) -> str:
    """Give the opaque cursor of the page after record ``last_id``: what ``GET /dois`` and
    the web UI's search hand out, and :func:`after_of` reads back."""
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def after_of(cursor: str | None, giver: str = "this server") -> int:
    """Give the record id ``cursor`` continues after (0 for none). Raises
    :class:`FilterError` naming ``cursor`` (and ``giver``) for anything :func:`cursor_of`
    did not make."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind == "after" and number.isascii() and number.isdigit() and len(number) <= 18:
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise FilterError(f"cursor {cursor!r}: not a cursor {giver} gave")


@dataclass(frozen=True)
class RecordFilter:
    """Which records a listing gives: each field that is set must match (within one field,
    any of its values may). Empty tuples and ``None`` filter nothing.

    ``dois`` in any DOI form (bare, ``doi:``, ``https://doi.org/``); ``submitters`` and
    ``nodes`` without case; ``statuses`` organiser status values; ``statuses_0_2`` the PDS
    DOI Service API 0.2's statuses, any case, each selecting every organiser status that maps
    to it (:mod:`organiser.domain.dialect`); ``ids`` Unix wildcards (``*``, ``?``) on the
    identifier or its LID, without case (``urn:nasa:pds:insight_*``); ``since``/``until`` of
    the record's last change (``updated_at``, UTC), inclusive: a :class:`date` is the whole
    UTC day, a :class:`datetime` that instant (naive: UTC); ``title`` a substring of its
    first title, without case.
    """

    dois: tuple[str, ...] = ()
    submitters: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    since: date | datetime | None = None
    until: date | datetime | None = None
    title: str | None = None
    statuses_0_2: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()  # DataCite account names ("datacite": [datacite]'s)

    def conditions(self) -> list[Any]:
        """Give the SQL conditions of this filter. Raises :class:`FilterError` for a status
        that does not exist, ``since`` after ``until`` or a value with a NUL character, and
        :class:`~organiser.domain.dialect.StatusError` for a value of ``statuses_0_2`` that
        is no 0.2 status."""
        texts = (
            ("doi", self.dois),
            ("submitter", self.submitters),
            ("node", self.nodes),
            ("ids", self.ids),
            ("title", (self.title or "",)),
            ("account", self.accounts),
        )
        for name, values in texts:  # no driver takes a NUL (PostgreSQL: ValueError)
            if any("\x00" in value for value in values):
                raise FilterError(f"{name}: a NUL character is in no record's value")
        known = {s.value for s in State}
        for status in self.statuses:
            if status not in known:
                raise FilterError(f"status {status!r}: not a status ({', '.join(sorted(known))})")
        since, before = _start(self.since), _end(self.until)
        if since is not None and before is not None and since >= before:
            raise FilterError(f"since {self.since} is after until {self.until}")
        where = queries.conditions(
            dois=self.dois,
            submitters=self.submitters,
            nodes=self.nodes,
            statuses=self.statuses,
            ids=self.ids,
            since=since,
            before=before,
            title=self.title,
            accounts=self.accounts,
        )
        if self.statuses_0_2:  # a 0.2 status no organiser status maps to selects nothing
            where.append(Record.status.in_([s.value for s in dialect.states_of(self.statuses_0_2)]))
        return where


def check_accounts(names: Iterator[str] | tuple[str, ...], configured: set[str]) -> None:
    """Raise :class:`FilterError` for an account in ``names`` that is neither configured nor
    any record's (a typo would otherwise list nothing, silently). Reads the database: it must
    be open."""
    for name in names:
        if name in configured:
            continue
        if not Record.select(Record.id).where(Record.account == name).exists():
            known = ", ".join(sorted(configured))
            raise FilterError(f"account {name!r}: no such account (configured: {known})")


def _utc(moment: datetime) -> datetime:
    """Give ``moment`` as the database stores times: naive UTC (naive is taken as UTC). A
    moment whose UTC time falls outside the years 1 to 9999 is the first or last instant."""
    if not moment.tzinfo:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00, 9999-12-31T23:59-01:00
        return datetime.min if moment.year == MINYEAR else datetime.max


def _start(since: date | datetime | None) -> datetime | None:
    """Give the first instant ``since`` includes: its midnight for a day."""
    if since is None or isinstance(since, datetime):
        return _utc(since) if since is not None else None
    return datetime.combine(since, time())


def _end(until: date | datetime | None) -> datetime | None:
    """Give the first instant after ``until`` (the condition is ``updated_at <`` it): the
    next midnight for a day, the next microsecond (what the database keeps) for an instant;
    None (no end) when that is after the last instant a date-time can hold."""
    if until is None:
        return None
    try:
        if isinstance(until, datetime):
            return _utc(until) + timedelta(microseconds=1)
        return datetime.combine(until + timedelta(days=1), time())
    except OverflowError:  # until 9999-12-31: every record changed before its end
        return None


@dataclass(frozen=True)
class RecordView:
    """One record as ``show`` presents it: its fields, its DataCite attributes, the change a
    submitter proposed (``update-review``: held for an operator, not yet applied), and its
    history, oldest first."""

    record: RecordSummary
    attributes: dict[str, Any]
    pending: dict[str, Any] | None
    history: tuple[HistoryEntry, ...]
    #: the held change field by field: (field, now, proposed), the landing page first
    proposed_changes: tuple[tuple[str, str, str], ...] = ()


def listing(
    filters: RecordFilter = RecordFilter(), limit: int | None = None, after_id: int = 0
) -> list[RecordSummary]:
    """Give the records ``filters`` selects whose id is above ``after_id``, in id order, at
    most ``limit`` (keyset pagination: the next page starts after the last id given).

    Raises :class:`FilterError` as :meth:`RecordFilter.conditions` does.
    """
    return [summary(r) for r in queries.page(filters.conditions(), limit, after_id)]


def each(
    filters: RecordFilter = RecordFilter(), limit: int | None = None
) -> Iterator[RecordSummary]:
    """Give the records ``filters`` selects, in id order, at most ``limit``, read
    :data:`STREAM_BATCH` at a time (a long listing is never held at once).

    Raises :class:`FilterError` (before anything is read) as :func:`listing` does.
    """
    where = filters.conditions()

    def stream() -> Iterator[RecordSummary]:
        after, left = 0, limit
        while left is None or left > 0:
            size = STREAM_BATCH if left is None else min(left, STREAM_BATCH)
            batch = queries.page(where, size, after)
            yield from (summary(r) for r in batch)
            if len(batch) < size:
                return
            after = batch[-1].id
            left = None if left is None else left - len(batch)

    return stream()


def queued() -> Iterator[RecordSummary]:
    """Give the records waiting for a pass (marked, not yet sent)."""
    return (summary(r) for r in records.select(sorted(QUEUED_STATES)))


def find(ref: str) -> RecordSummary:
    """Give the record ``ref`` names (DOI, identifier or id). Raises ``RecordNotFound``
    (or ``RecordError`` when several live records carry the identifier)."""
    return summary(records.find(ref))


def show(ref: str) -> RecordView:
    """Give the record ``ref`` names with its history, in one transaction. Raises
    ``RecordNotFound`` or ``RecordError`` as :func:`find` does."""
    with database_proxy.atomic():
        record = records.find(ref)
        history = tuple(
            HistoryEntry(h.at, h.from_status, h.to_status, h.action, h.actor, h.outcome)
            for h in records.history_of(record)
        )
        attributes, pending = records.attributes_of(record), records.pending_of(record)
        changes = _changes(dict(attributes, url=record.url), pending) if pending else ()
        return RecordView(summary(record), attributes, pending, history, changes)


def _changes(now: dict[str, Any], pending: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """Give what a held change alters, field by field, the landing page first."""
    proposed = dict(pending.get("attributes") or {}, url=pending.get("url"))
    found = {d.field: (d.field, d.remote, d.local) for d in differences(proposed, now)}
    for d in differences(now, proposed):  # fields the change removes
        found.setdefault(d.field, (d.field, d.local, d.remote))
    return tuple(sorted(found.values(), key=lambda change: (change[0] != "url", change[0])))
