"""Status counts and the oldest waiting record per status (organiser.storage.counts): the
same as a GROUP BY over the records after inserts, marks, claims' outcomes and deletes
through the store's own functions, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from peewee import fn

from organiser.domain.states import QUEUED_STATES, Action, State
from organiser.storage import counts
from organiser.storage import records as store
from organiser.storage.indexes import query_indexes
from organiser.storage.models import History, Record, database_proxy

NOW = datetime(2026, 11, 21, 12, 0, 0)


def _new(first: int, count: int, now: datetime) -> list[Record]:
    items = [
        store.NewRecord(f"10.5072/c-{n:05d}", True, f"urn:c:{n}", '{"titles": []}', None)
        for n in range(first, first + count)
    ]
    return store.insert_new(items, "test", now)


def _grouped() -> dict[str, int]:
    rows = Record.select(Record.status, fn.COUNT(Record.id)).group_by(Record.status).tuples()
    return {status: n for status, n in rows}


def _oldest() -> dict[str, datetime]:
    rows = (
        Record.select(Record.status, fn.MIN(Record.updated_at))
        .where(Record.status.in_(sorted(QUEUED_STATES)))
        .group_by(Record.status)
        .tuples()
    )
    return {s: datetime.fromisoformat(t) if isinstance(t, str) else t for s, t in rows}


def test_an_empty_database_has_no_counts(db: str) -> None:
    assert counts.status_counts() == {}
    assert counts.oldest_waiting() == {}


def test_counts_follow_inserts_marks_and_deletes(db: str) -> None:
    first = _new(0, 12, NOW)
    assert counts.status_counts() == {"to-be-reserved": 12}
    assert counts.oldest_waiting() == {"to-be-reserved": NOW}
    # a run reserves some, the operator registers some of those and deletes another
    later = NOW + timedelta(hours=1)
    for record in first[:6]:
        store.mark(record, Action.RESERVED, "run", later)
    for record in first[:3]:
        store.mark(record, Action.MARK_REGISTER, "op", later + timedelta(minutes=5))
    store.mark(first[6], Action.MARK_DELETE, "op", later)
    _new(100, 4, later + timedelta(hours=2))
    # a record's rows removed outright (no command does it; the counts must follow anyway)
    gone = first[11]
    History.delete().where(History.record == gone.id).execute()
    Record.delete().where(Record.id == gone.id).execute()
    # a status set by a bulk UPDATE, not by a mark
    Record.update(status=State.REGISTERED).where(Record.id.in_([first[3].id])).execute()

    expected = {
        "to-be-reserved": 4 + 4,
        "reserved": 2,
        "to-be-registered": 3,
        "registered": 1,
        "to-be-deleted": 1,
    }
    assert _grouped() == expected
    assert counts.status_counts() == expected
    assert counts.oldest_waiting() == _oldest()
    assert counts.oldest_waiting()["to-be-reserved"] == NOW
    assert counts.oldest_waiting()["to-be-registered"] == later + timedelta(minutes=5)


def test_counts_stay_right_when_their_rows_are_folded(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _new(0, 30, NOW)
    for record in records[:20]:
        store.mark(record, Action.RESERVED, "run", NOW)
    monkeypatch.setattr(counts, "FOLD_ABOVE", 0)  # PostgreSQL folds on this read
    assert counts.status_counts() == {"to-be-reserved": 10, "reserved": 20}
    kept = database_proxy.execute_sql("SELECT COUNT(*) FROM status_count").fetchone()[0]
    assert kept <= len(State)  # one row per status (PostgreSQL had 1 + 2 per mark)
    for record in records[20:]:
        store.mark(record, Action.RESERVED, "run", NOW)
    assert counts.status_counts() == {"reserved": 30} == _grouped()


def test_an_upgrade_counts_the_records_already_there(db: str) -> None:
    _new(0, 5, NOW)
    database_proxy.execute_sql("DELETE FROM status_count")  # as before the step that adds it
    for _ in range(2):  # again: nothing doubles
        with database_proxy.atomic():  # as the upgrade runs it
            query_indexes(database_proxy.obj)
        assert counts.status_counts() == {"to-be-reserved": 5}
    _new(5, 1, NOW)
    assert counts.status_counts() == {"to-be-reserved": 6}


def test_counts_stay_right_under_concurrent_writers(db: str) -> None:
    """Four threads mark records at once (on PostgreSQL each in its own transactions, as a
    pass's workers do): no change is lost and none waits on another's counter."""
    records = _new(0, 80, NOW)

    def work(mine: list[Record]) -> None:
        for record in mine:
            store.mark(record, Action.RESERVED, "run", NOW)
            if record.id % 3 == 0:
                store.mark(store.find(record.doi), Action.MARK_REGISTER, "op", NOW)
        database_proxy.close()  # peewee gave this thread a connection of its own

    threads = [threading.Thread(target=work, args=(records[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts.status_counts() == _grouped()
    assert sum(counts.status_counts().values()) == 80
    assert counts.status_counts()["to-be-registered"] == len([r for r in records if r.id % 3 == 0])
