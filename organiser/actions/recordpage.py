"""One record as the web UI's record page and review queue show it: the record with its
history (:func:`organiser.actions.records.show`), its other versions, and what a push would
change at DataCite (:mod:`organiser.actions.diff`). Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass

from organiser.actions import diff as diffs
from organiser.actions.records import RecordView, show
from organiser.actions.views import RecordSummary, summary
from organiser.app import App
from organiser.domain.states import IN_REVIEW
from organiser.storage import records as store
from organiser.storage.models import Record

#: Records the review queue shows at once (the oldest first).
REVIEW_PAGE = 50
#: Records of the review queue whose diff asks DataCite (the others: the local copy).
ASKED = 10
#: The largest record id a database holds (a signed 64-bit integer).
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class RecordPage:
    """A record, its other versions (same LID, newest first) and its diff (None when
    nothing of it waits to be sent or approved)."""

    view: RecordView
    versions: tuple[RecordSummary, ...]
    diff: diffs.RecordDiff | None


def record_page(app: App, ref: str, ask: bool = True) -> RecordPage:
    """Give the record ``ref`` names (DOI, identifier or id) for its page; ``ask`` whether
    DataCite is asked for its copy. Raises ``RecordNotFound`` or ``RecordError``."""
    app.open_db()
    view = show(ref)
    record = Record.get_by_id(view.record.id)
    versions: tuple[RecordSummary, ...] = ()
    if record.lid:
        others = (
            Record.select()
            .where((Record.lid == record.lid) & (Record.id != record.id))
            .order_by(Record.id.desc())
            .limit(50)
        )
        versions = tuple(summary(r) for r in others)
    return RecordPage(view, versions, diffs.diff(app, record, ask))


def review_queue(
    app: App, ask: bool = True, limit: int = REVIEW_PAGE
) -> tuple[int, list[RecordPage]]:
    """Give how many records are in review and the oldest ``limit`` of them (longest
    waiting first), each with its diff. DataCite is asked for the first :data:`ASKED` only,
    and for none after it could not be asked once (the page never waits on it per record)."""
    app.open_db()
    where = Record.status.in_(sorted(IN_REVIEW))
    total = Record.select().where(where).count()
    oldest = Record.select(Record.doi).where(where).order_by(Record.updated_at, Record.id)
    pages = []
    for n, record in enumerate(oldest.limit(limit)):
        shown = record_page(app, record.doi, ask and n < ASKED)
        if shown.diff is not None and shown.diff.compared_with == "local" and ask:
            ask = False  # DataCite could not be asked: do not wait for it again
        pages.append(shown)
    return total, pages


def doi_of(record_id: int) -> str:
    """Give the DOI of the record with id ``record_id`` (what the UI's links carry). Raises
    ``RecordNotFound``."""
    # an id the database cannot hold (SQLite and PostgreSQL: 64 bits) names no record
    found = Record.get_or_none(Record.id == record_id) if 0 < record_id <= MAX_ID else None
    if found is None:
        raise store.RecordNotFound(f"record {record_id}: no such record")
    return str(found.doi)
