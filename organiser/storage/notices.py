"""What the alerts have told whom, so that a failure is mailed once (see
:class:`organiser.storage.models.Notice`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from organiser.storage.models import Notice, Record, database_proxy

SYSTEMIC, CLEARED = "systemic", "systemic-cleared"
DRIFT = "drift"  # the last check's findings


@dataclass(frozen=True)
class FailureNote:
    """A failing record as the digest shows it; ``fingerprint`` decides what is "the same"."""

    record_id: int
    fingerprint: str
    detail: dict[str, Any]
    submitter: str | None


def update(
    failures: Iterable[FailureNote], outage: str | None, recovered: bool, now: datetime
) -> None:
    """Bring the notices up to date after a run, in one transaction.

    A record that no longer has an error loses its notice (so failing again is news); a
    failure that differs from what was noted replaces it, unsent; an unchanged one is kept
    as it is. ``outage`` starts a systemic notice (once); ``recovered`` (the run reached
    DataCite) ends it, with a "cleared" notice if the start was mailed.
    """
    with database_proxy.atomic():
        _forget_recovered()
        for note in failures:
            key = f"record:{note.record_id}"
            held = Notice.get_or_none(Notice.key == key)
            if held is not None and held.fingerprint == note.fingerprint:
                continue
            fields = {
                Notice.fingerprint: note.fingerprint,
                Notice.detail: json.dumps(note.detail, ensure_ascii=False, default=str),
                Notice.submitter: note.submitter,
                Notice.sent: False,
                Notice.submitter_sent: False,
                Notice.at: now,
            }
            if held is None:  # another host may insert the same key meanwhile: then update
                Notice.insert({Notice.key: key, **fields}).on_conflict_ignore().execute()
            Notice.update(fields).where(Notice.key == key).execute()
        started = Notice.get_or_none(Notice.key == SYSTEMIC)
        if outage and started is None:
            unsent = Notice.get_or_none((Notice.key == CLEARED) & ~Notice.sent)
            if unsent is not None:
                # back before the news that it cleared went out: for the operators it never
                # cleared, so it goes on as the outage they were told of (one "cleared" mail
                # when it is really over, no second "started")
                unsent.delete_instance()
                held = json.loads(unsent.detail)
                detail = json.dumps({"reason": held["reason"], "since": held["since"]})
                _add(key=SYSTEMIC, fingerprint=outage, detail=detail, sent=True, at=unsent.at)
            else:
                detail = json.dumps({"reason": outage, "since": now.isoformat(" ", "seconds")})
                _add(key=SYSTEMIC, fingerprint=outage, detail=detail, at=now)
        elif recovered and not outage and started is not None:
            if started.sent:
                detail = json.loads(started.detail)
                detail["cleared"] = now.isoformat(" ", "seconds")
                Notice.delete().where(Notice.key == CLEARED).execute()
                _add(key=CLEARED, fingerprint="cleared", detail=json.dumps(detail), at=now)
            started.delete_instance()


def note_drift(fingerprint: str, detail: dict[str, Any] | None, now: datetime) -> None:
    """Keep the findings of the last drift check for the digest: new findings replace the
    notice (unsent); the same findings again are not news; ``detail`` None (no drift) drops
    it, so that drift found later is news again."""
    with database_proxy.atomic():
        held = Notice.get_or_none(Notice.key == DRIFT)
        if detail is None:
            if held is not None:
                held.delete_instance()
            return
        if held is not None and held.fingerprint == fingerprint:
            return
        Notice.delete().where(Notice.key == DRIFT).execute()
        text = json.dumps(detail, ensure_ascii=False)
        _add(key=DRIFT, fingerprint=fingerprint, detail=text, at=now)


def _add(**fields: Any) -> None:
    """Insert a notice unless another host just inserted the same key (then theirs stands)."""
    Notice.insert(**fields).on_conflict_ignore().execute()


def _forget_recovered() -> None:
    keys = [n.key for n in Notice.select(Notice.key).where(Notice.key.startswith("record:"))]
    ids = {int(k.split(":", 1)[1]): k for k in keys}
    if not ids:
        return
    failing = {
        r.id
        for r in Record.select(Record.id).where(
            Record.id.in_(list(ids)) & Record.last_error.is_null(False)
        )
    }
    gone = [key for record_id, key in ids.items() if record_id not in failing]
    if gone:
        Notice.delete().where(Notice.key.in_(gone)).execute()


def pending(for_submitters: bool = False) -> list[Notice]:
    """Give the notices not yet mailed to the operators (or to their submitters), in order."""
    if for_submitters:
        where = ~Notice.submitter_sent & Notice.submitter.is_null(False)
    else:
        where = ~Notice.sent
    return list(Notice.select().where(where).order_by(Notice.at, Notice.id))


def mark_sent(notices: Iterable[Notice], to_submitters: bool = False) -> None:
    """Remember that ``notices`` went out; a "cleared" notice is then done with."""
    keys = [n.key for n in notices]
    if not keys:
        return
    with database_proxy.atomic():
        column = Notice.submitter_sent if to_submitters else Notice.sent
        Notice.update({column: True}).where(Notice.key.in_(keys)).execute()
        if not to_submitters:
            Notice.delete().where((Notice.key == CLEARED) & Notice.sent).execute()
