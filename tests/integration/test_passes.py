"""The pass engine in-process, with the clock and sleep seams: Retry-After is honoured."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from organiser.datacite.client import DataCiteClient
from organiser.domain.identifiers import DoiScheme
from organiser.engine.passes import Organiser, Settings
from organiser.standin import Faults, StandinServer
from organiser.storage import records as store
from organiser.storage.database import open_database

from conftest import PASSWORD, PREFIX, USER

NOW = datetime(2026, 11, 21, 12, 0)


def _organiser(standin: StandinServer, sleeps: list[float], **settings: object) -> Organiser:
    client = DataCiteClient(standin.url, USER, PASSWORD, connect_timeout=2, timeout=5)
    return Organiser(
        client, DoiScheme(PREFIX), Settings(**settings), "test", lambda: NOW, sleep=sleeps.append
    )


def test_retry_after_is_honoured_and_failures_wait(standin: StandinServer, tmp_path: Path) -> None:
    open_database(f"sqlite:///{tmp_path / 'o.db'}")
    store.insert_new([store.NewRecord("10.5072/ra-0001", True, "urn:t:1", "{}", None)], "t", NOW)
    standin.datacite.set_faults(Faults(rate_limit_rate=1.0, retry_after=17))
    sleeps: list[float] = []
    result = _organiser(
        standin, sleeps, retries=3, max_backoff=60, retry_delay=timedelta(minutes=5)
    ).run(["reserve"])
    assert sleeps == [17.0, 17.0]  # DataCite's hint, not our own backoff
    assert [f.error for f in result.failures] == ["POST /dois: 429 Too many requests"]
    [record] = store.select()
    assert record.next_attempt_at == NOW + timedelta(minutes=5)
    assert record.status == "to-be-reserved" and record.claim_owner is None

    # a long hint is capped at max_backoff; the second failure waits twice as long
    standin.datacite.set_faults(Faults(rate_limit_rate=1.0, retry_after=3600))
    sleeps.clear()
    _organiser(standin, sleeps, retries=2, max_backoff=60, retry_delay=timedelta(minutes=5)).run(
        ["reserve"], only=record
    )
    assert sleeps == [60.0]
    [record] = store.select()
    assert (record.attempts, record.next_attempt_at) == (2, NOW + timedelta(minutes=10))
