"""Retry now: a failing record waiting for its next attempt is made due at once (the next
pass, the daemon's or a push's, tries it). Operators only; nothing here talks to DataCite."""

from __future__ import annotations

from organiser.actions.access import Actor, Role, require
from organiser.actions.views import RecordSummary, summary
from organiser.app import App
from organiser.domain.states import QUEUED_STATES
from organiser.storage import records as store
from organiser.storage.models import Record, database_proxy

#: What the history calls it.
RETRY_NOW = "retry-now"


def retry_now(app: App, actor: Actor, ref: str) -> RecordSummary:
    """Make the failing record ``ref`` names due now; give it as left. Raises
    ``Forbidden`` below operator, ``RecordNotFound``, or ``RecordError`` when the record is
    not failing or not waiting for a pass (nothing written then)."""
    require(actor, Role.OPERATOR)
    app.open_db()
    now = app.clock()
    with database_proxy.atomic():
        record = store.locked(store.find(ref).id)
        if record.last_error is None or record.status not in QUEUED_STATES:
            raise store.RecordError(
                f"{record.doi} is {record.status} and not failing; only a failing record "
                "waiting for a pass is retried"
            )
        Record.update(next_attempt_at=now).where(Record.id == record.id).execute()
        store.add_history(
            record, record.status, record.status, RETRY_NOW, actor.name, now, "due now"
        )  # type: ignore[arg-type]
        return summary(Record.get_by_id(record.id))
