"""A DataCite that answers badly (the stand-in's answer faults, set over HTTP) through the real
passes in-process: each record fails with one clear line, nothing is marked done that is not,
and the run ends within the request deadline (``[datacite] timeout``)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from organiser.datacite.client import DataCiteClient
from organiser.datacite.errors import AnswerTooLarge
from organiser.domain.identifiers import DoiScheme
from organiser.domain.states import Action
from organiser.engine.passes import Organiser, RunResult, Settings
from organiser.standin import StandinServer
from organiser.storage import records as store
from organiser.storage.database import open_database
from organiser.storage.models import History, Record

from conftest import MINIMAL, PASSWORD, PREFIX, USER

NOW = datetime(2026, 11, 21, 12, 0)
TIMEOUT = 1.0  # [datacite] timeout of these runs, seconds
DOI = f"{PREFIX}/bad-0001"


@pytest.fixture
def record(standin: StandinServer, tmp_path: Path) -> Record:
    """One record with full metadata, marked for reservation (generated DOI)."""
    open_database(f"sqlite:///{tmp_path / 'o.db'}")
    new = store.NewRecord(
        DOI, True, "urn:nasa:pds:bad::1.0", json.dumps(MINIMAL), "https://x.org/1"
    )
    [stored] = store.insert_new([new], "test", NOW)
    return stored


def _faults(standin: StandinServer, **faults: Any) -> None:
    """Set the stand-in's faults as any client would: ``PUT /_standin/faults``."""
    answer = requests.put(f"{standin.url}/_standin/faults", json=faults, timeout=5)
    assert answer.status_code == 200, answer.text
    assert {k: answer.json()[k] for k in faults} == faults


def _run(standin: StandinServer, *passes: str, **client: Any) -> tuple[RunResult, float]:
    """Run ``passes`` once (no retries); give the result and how long it took."""
    api = DataCiteClient(
        standin.url, USER, PASSWORD, connect_timeout=TIMEOUT, timeout=TIMEOUT, **client
    )
    organiser = Organiser(
        api, DoiScheme(PREFIX), Settings(retries=1), "test", lambda: NOW, sleep=lambda s: None
    )
    started = time.monotonic()
    result = organiser.run(list(passes))
    return result, time.monotonic() - started


def _seen(standin: StandinServer) -> list[tuple[str, str | None, str | None, int]]:
    return [(s.method, s.doi, s.event, s.status) for s in standin.datacite.seen]


def _actions(record: Record) -> list[str]:
    rows = History.select().where(History.record == record.id).order_by(History.id)
    return [h.action for h in rows]


def _reserved(standin: StandinServer) -> Record:
    """Reserve the record against a well-behaved stand-in; give it marked for registration."""
    result, _ = _run(standin, "reserve")
    assert result.outcome == "ok"
    [record] = store.select()
    assert (record.status, record.remote_state) == ("reserved", "draft")
    store.mark(record, Action.MARK_REGISTER, "test", NOW)
    standin.datacite.seen.clear()
    return Record.get_by_id(record.id)


BAD_CREATES = [
    pytest.param(
        {"other_doi": True},
        f"POST /dois: the answer is about {PREFIX}/other.bad-0001, not {DOI}; not counted",
        False,
        id="another-doi",
    ),
    pytest.param(
        {"wrong_state": "findable"},
        "POST /dois: state mismatch: DataCite answered findable to a create asking for draft",
        False,
        id="wrong-state",
    ),
    pytest.param(
        {"trickle": 0.2}, "POST /dois: DataCite did not answer in time", True, id="trickled"
    ),
    pytest.param(
        {"trickle": 0.2, "trickle_headers": True},
        "POST /dois: DataCite did not answer in time",
        True,
        id="trickled-headers",
    ),
    pytest.param(
        {"oversize_mb": 11},
        "POST /dois: 201 answer is larger than 10 MB; refused",
        False,
        id="oversized",
    ),
    pytest.param(
        {"oversize_mb": 11, "oversize_chunked": True},
        "POST /dois: 201 answer is larger than 10 MB; refused",
        False,
        id="oversized-chunked",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("faults", "error", "transient"), BAD_CREATES)
def test_a_bad_answer_to_a_create_fails_the_record_and_marks_nothing(
    standin: StandinServer, record: Record, faults: dict, error: str, transient: bool
) -> None:
    _faults(standin, **faults)
    result, took = _run(standin, "reserve")

    assert took < 3 * TIMEOUT  # the deadline holds: a correctness bound, not a speed goal
    assert result.outcome == "failures"
    assert [(f.doi, f.error, f.transient) for f in result.failures] == [(DOI, error, transient)]
    [stored] = store.select()
    assert (stored.status, stored.remote_state) == ("to-be-reserved", None)
    assert (stored.attempts, stored.last_error, stored.claim_owner) == (1, error, None)
    assert _actions(stored) == ["mark-reserve"]  # nothing reserved, nothing adopted
    # DataCite applied the one create it received: only the answer was bad
    assert _seen(standin) == [("POST", DOI, None, 201)]
    assert standin.datacite.states() == {DOI: "draft"}


def test_after_a_bad_answer_the_ownership_check_adopts_the_draft(
    standin: StandinServer, record: Record
) -> None:
    _faults(standin, wrong_state="findable")
    assert _run(standin, "reserve")[0].outcome == "failures"
    _faults(standin)
    standin.datacite.seen.clear()
    Record.update(next_attempt_at=None).where(Record.id == record.id).execute()  # due now

    result, _ = _run(standin, "reserve")
    assert result.outcome == "ok"
    [stored] = store.select()
    assert (stored.status, stored.remote_state, stored.last_error) == ("reserved", "draft", None)
    # the proof: the create is refused as taken, the GET shows the DOI holds this record
    assert _seen(standin) == [("POST", DOI, None, 422), ("GET", DOI, None, 200)]
    assert _actions(stored) == ["mark-reserve", "reserved"]


def test_a_draft_answered_to_a_publishing_create_is_a_state_mismatch(
    standin: StandinServer, record: Record
) -> None:
    store.mark(record, Action.MARK_REGISTER, "test", NOW)  # never reserved: created findable
    _faults(standin, wrong_state="draft")
    result, _ = _run(standin, "register")
    error = "POST /dois: state mismatch: DataCite answered draft to a create asking for findable"
    assert [f.error for f in result.failures] == [error]
    [stored] = store.select()
    assert (stored.status, stored.remote_state, stored.last_error) == (
        "to-be-registered",
        None,
        error,
    )
    assert _seen(standin) == [("POST", DOI, "publish", 201)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("faults", "error"),
    [
        pytest.param(
            {"other_doi": True},
            f"PUT /dois/{DOI}: the answer is about {PREFIX}/other.bad-0001, not {DOI}; not counted",
            id="another-doi",
        ),
        pytest.param(
            {"trickle": 0.2}, f"PUT /dois/{DOI}: DataCite did not answer in time", id="trickled"
        ),
    ],
)
def test_a_bad_answer_to_a_publish_leaves_the_record_to_be_registered(
    standin: StandinServer, record: Record, faults: dict, error: str
) -> None:
    _reserved(standin)
    _faults(standin, **faults)
    result, took = _run(standin, "register")

    assert took < 3 * TIMEOUT
    assert [f.error for f in result.failures] == [error]
    [stored] = store.select()
    assert (stored.status, stored.remote_state, stored.last_error) == (
        "to-be-registered",
        "draft",
        error,
    )
    assert "registered" not in _actions(stored)
    assert _seen(standin) == [("PUT", DOI, "publish", 200)]


@pytest.mark.slow
def test_a_trickled_answer_is_cut_at_the_deadline_on_every_retry(
    standin: StandinServer, record: Record
) -> None:
    _faults(standin, trickle=0.2)
    api = DataCiteClient(standin.url, USER, PASSWORD, connect_timeout=TIMEOUT, timeout=TIMEOUT)
    settings = Settings(retries=2, outage_threshold=5)
    organiser = Organiser(
        api, DoiScheme(PREFIX), settings, "test", lambda: NOW, sleep=lambda s: None
    )
    started = time.monotonic()
    result = organiser.run(["reserve"])
    took = time.monotonic() - started

    assert took < 2 * 3 * TIMEOUT  # two requests, each within its own deadline
    assert [f.error for f in result.failures] == ["POST /dois: DataCite did not answer in time"]
    # the first create was applied (its answer never arrived whole); the retry's 422 "taken"
    # trickled too, so no ownership check ran: nothing marked done
    assert _seen(standin) == [("POST", DOI, None, 201), ("POST", DOI, None, 422)]
    [stored] = store.select()
    assert (stored.status, stored.remote_state) == ("to-be-reserved", None)


def test_an_oversized_listing_page_is_refused(standin: StandinServer, record: Record) -> None:
    _run(standin, "reserve")
    _faults(standin, oversize_mb=2, oversize_chunked=True)
    api = DataCiteClient(
        standin.url, USER, PASSWORD, connect_timeout=1, timeout=5, max_page_bytes=1024 * 1024
    )
    with pytest.raises(AnswerTooLarge) as raised:
        list(api.list_dois())
    assert str(raised.value) == (
        f"GET /dois?client-id={USER.lower()} (page 1): 200 answer is larger than 1 MB; refused"
    )
    _faults(standin, oversize_mb=0.5)  # under the limit: read, whitespace and all
    [page] = list(api.list_dois())
    assert [r["doi"] for r in page.records] == [DOI]
