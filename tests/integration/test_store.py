"""Claims (organiser.storage.claims) and marks (organiser.storage.records) in the database:
SQLite, and PostgreSQL when ORGANISER_TEST_POSTGRES_URL names a throw-away database."""

from __future__ import annotations

import json
import random
import string
import threading
from datetime import datetime, timedelta

import pytest

from organiser.domain.metadata import TITLE_KEY_LENGTH, title_of
from organiser.domain.states import Action, State
from organiser.storage import claims
from organiser.storage import records as store
from organiser.storage.models import History, Record, database_proxy

NOW = datetime(2026, 11, 21, 12, 0, 0)
CLAIM = timedelta(minutes=15)


def _new(count: int) -> list[Record]:
    items = [
        store.NewRecord(f"10.5072/t-{n:04d}", True, f"urn:t:{n}", '{"titles": []}', None)
        for n in range(count)
    ]
    return store.insert_new(items, "test", NOW)


def test_claims_never_overlap_and_pages_by_id(db: str) -> None:
    _new(10)
    first = claims.claim_batch([State.TO_BE_RESERVED], "a", 0, 4, NOW, CLAIM)
    second = claims.claim_batch([State.TO_BE_RESERVED], "b", 0, 4, NOW, CLAIM)
    assert [r.doi[-2:] for r in first] == ["00", "01", "02", "03"]
    assert [r.doi[-2:] for r in second] == ["04", "05", "06", "07"]
    after = claims.claim_batch([State.TO_BE_RESERVED], "a", first[-1].id, 4, NOW, CLAIM)
    assert [r.doi[-2:] for r in after] == ["08", "09"]
    # expired claims are free again
    later = claims.claim_batch([State.TO_BE_RESERVED], "c", 0, 20, NOW + CLAIM * 2, CLAIM)
    assert len(later) == 10


def test_concurrent_claimers_get_disjoint_records(db: str) -> None:
    _new(60)
    got: dict[str, list[int]] = {}

    def claim(owner: str) -> None:
        ids: list[int] = []
        after = 0
        while batch := claims.claim_batch([State.TO_BE_RESERVED], owner, after, 5, NOW, CLAIM):
            ids += [r.id for r in batch]
            after = batch[-1].id
        got[owner] = ids
        database_proxy.close()  # peewee gave this thread a connection of its own

    threads = [threading.Thread(target=claim, args=(f"o{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [i for ids in got.values() for i in ids]
    assert sorted(claimed) == sorted(set(claimed))  # nobody got a record twice
    assert len(claimed) == 60


def test_finish_writes_state_and_history_and_needs_the_claim(db: str) -> None:
    [record] = _new(1)
    [claimed] = claims.claim_batch([State.TO_BE_RESERVED], "a", 0, 5, NOW, CLAIM)
    assert not claims.finish(claimed, "b", Action.RESERVED, "x", NOW, "draft", "ok")
    assert claims.finish(claimed, "a", Action.RESERVED, "x", NOW, "draft", "ok")
    fresh = Record.get_by_id(record.id)
    assert (fresh.status, fresh.remote_state, fresh.claim_owner) == ("reserved", "draft", None)
    assert [(h.from_status, h.to_status, h.outcome) for h in store.history_of(fresh)] == [
        (None, "to-be-reserved", None),
        ("to-be-reserved", "reserved", "ok"),
    ]


def test_a_mark_during_a_pass_wins_over_the_pass_outcome(db: str) -> None:
    [record] = _new(1)
    [claimed] = claims.claim_batch([State.TO_BE_RESERVED], "a", 0, 5, NOW, CLAIM)
    later = NOW + timedelta(seconds=1)
    assert store.mark(record, Action.MARK_DELETE, "x", later).state is State.TO_BE_DELETED
    # the pass created the draft meanwhile: its outcome no longer applies, what it learnt does
    assert not claims.finish(claimed, "a", Action.RESERVED, "pass", later, "draft", "ok")
    fresh = Record.get_by_id(record.id)
    assert (fresh.status, fresh.remote_state, fresh.claim_owner) == ("to-be-deleted", "draft", None)
    assert [(h.from_status, h.to_status, h.action) for h in store.history_of(fresh)] == [
        (None, "to-be-reserved", "mark-reserve"),
        ("to-be-reserved", "to-be-deleted", "mark-delete"),
        ("to-be-deleted", "to-be-deleted", "reserved"),  # what DataCite now holds, noted
    ]


def test_failed_records_wait_and_dead_runs_release_their_claims(db: str) -> None:
    records = _new(3)
    owner = "host1:999999:abc"
    claimed = claims.claim_batch([State.TO_BE_RESERVED], owner, 0, 5, NOW, CLAIM)
    assert claims.fail(claimed[0], owner, "503", NOW, NOW + timedelta(minutes=5))
    assert claims.waiting([State.TO_BE_RESERVED], NOW, None) == 3  # 1 waits, 2 are claimed
    assert claims.release_dead_claims("host1", lambda pid: pid != 999999) == 2
    assert claims.waiting([State.TO_BE_RESERVED], NOW, None) == 1
    again = claims.claim_batch([State.TO_BE_RESERVED], "b", 0, 5, NOW, CLAIM)
    assert [r.id for r in again] == [r.id for r in records[1:]]
    failed = Record.get_by_id(records[0].id)
    assert (failed.status, failed.attempts, failed.last_error) == ("to-be-reserved", 1, "503")


def test_a_refused_batch_writes_nothing(db: str) -> None:
    _new(1)
    items = [
        store.NewRecord("10.5072/new-1", True, "urn:t:new", "{}", None, source="a.json"),
        store.NewRecord("10.5072/new-2", True, "urn:t:0", "{}", None, source="b.json"),
    ]
    with pytest.raises(store.RecordError, match=r"^b\.json: identifier urn:t:0 already has DOI"):
        store.insert_new(items, "test", NOW)
    assert Record.select().count() == 1 and History.select().count() == 1


def test_a_very_long_title_is_stored_for_duplicate_checks(db: str) -> None:
    # 6,000 characters that do not compress: too long for a PostgreSQL index entry
    title = "".join(random.Random(7).choices(string.ascii_letters + " ", k=6000))
    attributes = json.dumps({"titles": [{"title": title}]})
    new = store.NewRecord(
        "10.5072/long", True, "urn:t:long", attributes, None, title=title_of(json.loads(attributes))
    )
    [record] = store.insert_new([new], "test", NOW)
    stored = Record.get_by_id(record.id)
    assert stored.title == title[:TITLE_KEY_LENGTH]
    assert list(store.live_records(Record.title, [stored.title])) == [stored.title]
