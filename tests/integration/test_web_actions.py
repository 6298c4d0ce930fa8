"""The actions behind the web UI, against the stand-in and the database: the dashboard (counts
as the database has them, failing records with DataCite's own text, the outage, the drift,
the next run), the diff a push would make (DataCite asked, or the local copy when it cannot
be), and the session cookie (signed, expiring, its CSRF token)."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from organiser.actions import dashboard, diff, marking
from organiser.actions.access import Actor, Role
from organiser.app import App
from organiser.storage import notices
from organiser.storage.models import Record
from organiser.web.session import COOKIE, Sessions

from conftest import Env, template, write_records

ALICE = "alice@example.org"
NEW_URL = "https://pds.nasa.gov/ds-view/pds/viewBundle.jsp?identifier=elsewhere"


def _app(env: Env) -> App:
    app = App(str(env.config), env.environment())
    app.open_db()
    return app


def _reserve(env: Env, count: int) -> list[Record]:
    write_records(env.tmp / "in", count)
    env.ok("reserve", "--node", "img", "--submitter", ALICE, str(env.tmp / "in"))
    env.ok("-s")
    return env.records()


def test_the_dashboard_is_the_database(env: Env) -> None:
    env.write_config(organiser={"retry_delay": "3600"}, scheduler={"cron": "*/15 * * * *"})
    first, second, _ = _reserve(env, 3)
    env.ok("register", first.doi, second.doi)
    env.faults(fail_dois={second.doi: 422})
    env.run("-r")
    env.faults()
    app = _app(env)
    now = datetime(2030, 1, 2, 3, 4, 5)
    board = dashboard.dashboard(app, now)

    shown = {line.status: line.records for line in board.statuses if line.records}
    assert shown == {"registered": 1, "to-be-registered": 1, "reserved": 1}
    assert board.total == 3
    waiting = {line.status: line.oldest_waiting_seconds for line in board.statuses}
    failing = env.records()[1]
    assert waiting["to-be-registered"] == round((now - failing.updated_at).total_seconds())
    assert waiting["reserved"] is None  # not waiting for a pass
    assert [(r.doi, r.last_error, r.next_attempt_at) for r in board.failing] == [
        (second.doi, failing.last_error, failing.next_attempt_at)
    ]
    assert "422" in (failing.last_error or "") and board.failing_count == 1
    assert board.last_run is not None and board.last_run["actor"] == "organiser --register-all"
    assert board.next_run == datetime(2030, 1, 2, 3, 15)
    assert board.outage is None and board.drift is None

    notices.update([], "DataCite unreachable: connection refused", False, now)
    notices.note_drift(
        "f", {"at": "2030-01-02 03:00", "summary": "check: 1 drifted", "lines": []}, now
    )
    board = dashboard.dashboard(app, now)
    assert board.outage == {
        "reason": "DataCite unreachable: connection refused",
        "since": "2030-01-02 03:04:05",
    }
    assert board.drift is not None and board.drift["summary"] == "check: 1 drifted"


def _changed(env: Env, record: Record, url: str) -> Path:
    attributes = copy.deepcopy(template())
    attributes["identifiers"] = [{"identifier": record.identifier, "identifierType": "PDS4 LIDVID"}]
    attributes["titles"] = [{"title": "A new title"}]
    attributes["url"] = url
    path = env.tmp / "changed.json"
    path.write_text(json.dumps({"data": {"attributes": attributes}}))
    return path


def test_the_diff_against_datacite_and_against_the_local_copy(env: Env) -> None:
    first, second = _reserve(env, 2)
    env.ok("register", first.doi)
    env.ok("-r")
    app = _app(env)
    alice = Actor("api:alice", Role.SUBMITTER, ALICE, "token 'alice'")
    marking.update(app, alice, first.doi, str(_changed(env, first, NEW_URL)))
    held = Record.get(Record.doi == first.doi)
    assert held.status == "update-review"

    asked = diff.diff(app, held)
    assert asked is not None and asked.compared_with == "datacite" and asked.note is None
    assert (asked.url_before, asked.url_after, asked.url_changes) == (first.url, NEW_URL, True)
    assert [c.field for c in asked.changes][:1] == ["url"]  # the landing page first
    titles = [c for c in asked.changes if c.field == "titles"]
    assert titles and "A new title" in titles[0].after and "A new title" not in titles[0].before

    # DataCite out of reach: the last local copy (the record as approved), and a note
    env.write_config(datacite={"url": "http://127.0.0.1:9/", "connect_timeout": "1"})
    local = diff.diff(_app(env), held)
    assert local is not None and local.compared_with == "local"
    assert local.note and local.note.startswith("DataCite could not be asked")
    assert (local.url_before, local.url_after) == (first.url, NEW_URL)
    assert {c.field for c in local.changes} == {c.field for c in asked.changes}

    # a settled record has nothing to push; a draft not yet sent to DataCite has everything
    assert diff.diff(app, Record.get(Record.doi == second.doi)) is None
    write_records(env.tmp / "more", 1, start=7)
    env.ok("reserve", "--node", "img", str(env.tmp / "more"))
    new = Record.get(Record.status == "to-be-reserved")
    fresh = diff.diff(_app(env), new, ask=False)
    assert fresh is not None and fresh.compared_with == "local" and fresh.url_before is None
    assert "url" in {c.field for c in fresh.changes} and "titles" in {
        c.field for c in fresh.changes
    }


def _request(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "GET", "path": "/ui/", "headers": headers})


def test_the_session_cookie_is_signed_expires_and_carries_no_token() -> None:
    now = [1_000_000.0]
    sessions = Sessions(lifetime=60, clock=lambda: now[0])
    response = Response()
    issued = sessions.issue(response, "olive", secure=True)
    header = response.headers["set-cookie"]
    for flag in ("httponly", "samesite=strict", "secure", "max-age=60", "path=/ui"):
        assert flag in header.lower()
    value = header.split(";")[0].split("=", 1)[1]
    assert sessions.read(_request(value)) == issued
    assert Sessions.csrf_ok(issued, issued.csrf)
    assert not Sessions.csrf_ok(issued, "") and not Sessions.csrf_ok(issued, issued.csrf + "x")
    # another server's key, a changed cookie, none: no session
    assert Sessions(clock=lambda: now[0]).read(_request(value)) is None
    assert sessions.read(_request(value[:-2] + "xx")) is None
    assert sessions.read(_request(None)) is None
    now[0] += 61  # expired
    assert sessions.read(_request(value)) is None
