"""The web UI under /ui of a running ``organiser serve``, through plain HTTP (no browser):
sessions and their cookie, sign-in that comes back to the page, CSRF, the roles, errors as
pages, search, CSV export, retry, delete. The browser tests are in test_web_browser.py."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests
from test_api import ALICE, Api, start_api  # noqa: F401  (start_api: a fixture)

from organiser.storage.database import open_database
from organiser.storage.models import History, Record

from conftest import Env, write_records

pytestmark = pytest.mark.slow  # each test starts `organiser serve` as a process

PAGES = ("/ui/", "/ui/records", "/ui/records?status=reserved", "/ui/review", "/ui/reserve")


def root(api: Api) -> str:
    """Give the server's address (the UI is beside the API's base path)."""
    return api.url.split("/PDS_APIs")[0]


def sign_in(api: Api, name: str) -> requests.Session:
    """Give a session signed in with the token called ``name`` (through the sign-in form)."""
    browser = requests.Session()
    form = browser.get(f"{root(api)}/ui/signin", timeout=30)
    assert form.status_code == 200, form.text
    answer = browser.post(
        f"{root(api)}/ui/signin",
        data={"token": api.tokens[name], "csrf": hidden(form.text), "next": "/ui/"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 303, answer.text
    return browser


def hidden(html: str, name: str = "csrf") -> str:
    """Give the value of the first hidden field ``name`` of ``html``."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, html
    return found.group(1)


def reserve(env: Env, count: int, *options: str) -> list[Record]:
    """Reserve ``count`` records (as alice, node img) and send them as drafts; give them."""
    write_records(env.tmp / "in", count)
    env.ok("reserve", "--node", "img", "--submitter", ALICE, *options, str(env.tmp / "in"))
    env.ok("-s")
    return env.records()


def rows(env: Env) -> list[tuple[object, ...]]:
    open_database(env.db_url)
    return [tuple(r) for r in Record.select().tuples()] + [
        tuple(h) for h in History.select().tuples()
    ]


def test_without_a_session_every_page_sends_to_sign_in_and_back(
    env: Env,
    start_api: Callable[[], Api],  # noqa: F811
) -> None:
    api = start_api()
    [record] = reserve(env, 1)
    base = root(api)
    for path in (*PAGES, f"/ui/records/{record.id}", f"/ui/records/{record.id}/delete"):
        answer = requests.get(base + path, allow_redirects=False, timeout=30)
        assert answer.status_code == 303, (path, answer.status_code)
        assert answer.headers["location"] == f"/ui/signin?next={quote(path, safe='/')}"
    before = rows(env)
    for action in ("submit", "retry", "delete"):  # a form sent without a session: nothing done
        answer = requests.post(
            f"{base}/ui/records/{record.id}/{action}", data={"csrf": "x"}, allow_redirects=False
        )
        assert answer.status_code == 303 and "/ui/signin" in answer.headers["location"]
    assert rows(env) == before
    # a form sent after the session expired: back to the page it was sent from
    answer = requests.post(
        f"{base}/ui/review/{record.id}/approve",
        data={"csrf": "x"},
        headers={"Referer": f"{base}/ui/review?x=1"},
        allow_redirects=False,
    )
    assert answer.headers["location"] == "/ui/signin?next=/ui/review%3Fx%3D1"

    # signing in comes back to the page asked for
    browser = requests.Session()
    form = browser.get(f"{base}/ui/signin?next=/ui/records%3Fstatus%3Dreserved", timeout=30)
    assert hidden(form.text, "next") == "/ui/records?status=reserved"
    answer = browser.post(
        f"{base}/ui/signin",
        data={
            "token": api.tokens["rita"],
            "csrf": hidden(form.text),
            "next": "/ui/records?status=reserved",
        },
        allow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/records?status=reserved"
    cookie = answer.headers["set-cookie"]
    for flag in ("HttpOnly", "SameSite=strict", "Path=/ui", "Max-Age=28800"):
        assert flag.lower() in cookie.lower(), cookie
    assert "secure" not in cookie.lower()  # plain HTTP on 127.0.0.1
    assert api.tokens["rita"] not in cookie
    page = browser.get(base + answer.headers["location"], timeout=30)
    assert page.status_code == 200 and record.doi in page.text

    # never back to another site
    form = browser.get(f"{base}/ui/signin", timeout=30)
    answer = browser.post(
        f"{base}/ui/signin",
        data={"token": api.tokens["rita"], "csrf": hidden(form.text), "next": "//evil.example/"},
        allow_redirects=False,
    )
    assert answer.headers["location"] == "/ui/"


def test_a_bad_token_a_missing_csrf_and_sign_out(env: Env, start_api: Callable[[], Api]) -> None:  # noqa: F811
    api = start_api()
    base = root(api)
    browser = requests.Session()
    form = browser.get(f"{base}/ui/signin", timeout=30)
    bad = browser.post(f"{base}/ui/signin", data={"token": "nope", "csrf": hidden(form.text)})
    assert bad.status_code == 401
    assert "token: unknown or revoked" in bad.text
    assert "organiser_ui=" not in bad.headers.get("set-cookie", "")
    refused = browser.post(f"{base}/ui/signin", data={"token": api.tokens["olive"]})
    assert refused.status_code == 403 and "CSRF token is missing or wrong" in refused.text

    olive = sign_in(api, "olive")
    assert olive.get(f"{base}/ui/", timeout=30).status_code == 200
    assert olive.post(f"{base}/ui/signout", data={}, allow_redirects=False).status_code == 403
    out = olive.post(
        f"{base}/ui/signout", data={"csrf": csrf_of(olive, base)}, allow_redirects=False
    )
    assert out.status_code == 303 and out.headers["location"] == "/ui/signin"
    assert olive.get(f"{base}/ui/", allow_redirects=False).status_code == 303

    # a revoked token's session ends at once
    rita = sign_in(api, "rita")
    env.ok("token", "revoke", "rita")
    assert rita.get(f"{base}/ui/", allow_redirects=False).status_code == 303


def csrf_of(browser: requests.Session, base: str) -> str:
    return hidden(browser.get(f"{base}/ui/", timeout=30).text)


def test_roles_and_csrf_on_the_forms(env: Env, start_api: Callable[[], Api]) -> None:  # noqa: F811
    api = start_api()
    base = root(api)
    first, second = reserve(env, 2)
    env.ok("submit", first.doi)  # review
    rita, alice, olive = (sign_in(api, n) for n in ("rita", "alice", "olive"))

    # a reader reaches no form that writes
    answer = rita.get(f"{base}/ui/reserve")
    assert answer.status_code == 403 and "is a reader; this needs a submitter" in answer.text
    assert 'enctype="multipart/form-data"' not in answer.text
    for path in (f"/ui/records/{first.id}", "/ui/review", "/ui/", "/ui/records"):
        page = rita.get(base + path)
        assert page.status_code == 200
        forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]*)"', page.text)
        assert forms == ["/ui/signout"], (path, forms)
    assert rita.get(f"{base}/ui/records/{first.id}/delete").status_code == 403

    before = rows(env)
    token = csrf_of(rita, base)
    answer = rita.post(f"{base}/ui/review/{first.id}/approve", data={"csrf": token})
    assert answer.status_code == 403 and "needs an operator" in answer.text
    # no CSRF token, or another session's: refused, nothing written
    for data in ({}, {"csrf": "forged"}, {"csrf": csrf_of(alice, base)}):
        answer = olive.post(f"{base}/ui/review/{first.id}/approve", data=data)
        assert answer.status_code == 403, answer.text
        assert "CSRF token is missing or wrong" in answer.text
    assert rows(env) == before

    # a submitter submits its own record; approving is an operator's
    answer = alice.post(
        f"{base}/ui/records/{second.id}/submit", data={"csrf": csrf_of(alice, base)}
    )
    assert answer.status_code == 200 and f"{second.doi} submitted: review" in answer.text
    answer = alice.post(
        f"{base}/ui/review/{second.id}/approve", data={"csrf": csrf_of(alice, base)}
    )
    assert answer.status_code == 403
    answer = olive.post(
        f"{base}/ui/review/{second.id}/approve", data={"csrf": csrf_of(olive, base)}
    )
    assert answer.status_code == 200 and "approved: to-be-registered" in answer.text
    assert {r.doi: r.status for r in env.records()} == {
        first.doi: "review",
        second.doi: "to-be-registered",
    }
    # an empty reason is refused beside its field
    answer = olive.post(
        f"{base}/ui/review/{first.id}/reject", data={"csrf": csrf_of(olive, base), "reason": " "}
    )
    assert answer.status_code == 400
    assert f'id="reason-error-{first.id}"' in answer.text and "reason is required" in answer.text
    assert env.records()[0].status == "review"
    # an update with a bad file: the message beside the file field, nothing written
    before = rows(env)
    page = alice.post(
        f"{base}/ui/records/{second.id}/update",
        data={"csrf": csrf_of(alice, base)},
        files={"file": ("broken.json", b'{"data": ', "application/json")},
    )
    assert page.status_code == 400
    assert re.search(r'<ul id="update-errors" class="field-error"><li>broken.json: ', page.text)
    assert rows(env) == before
    # a submitter's form on another submitter's record: refused by the action
    api.token("bob", "submitter", "bob@example.org")
    bob = sign_in(api, "bob")
    write_records(env.tmp / "bob", 1, start=1)  # second's identifier
    page = bob.post(
        f"{base}/ui/records/{second.id}/update",
        data={"csrf": csrf_of(bob, base)},
        files={"file": ("r.json", (env.tmp / "bob" / "record_00001.json").read_bytes())},
    )
    assert page.status_code == 403
    assert f"{second.doi}: submitted by {ALICE}; only its submitter" in page.text
    assert rows(env) == before
    # an error is a page with the one-line message, never a traceback
    answer = olive.get(f"{base}/ui/records/999999")
    assert answer.status_code == 404 and "record 999999: no such record" in answer.text
    assert "Traceback" not in answer.text


def test_search_csv_delete_and_retry(env: Env, start_api: Callable[[], Api]) -> None:  # noqa: F811
    env.write_config(organiser={"retry_delay": "3600", "max_retry_delay": "3600"})
    api = start_api()
    base = root(api)
    records = reserve(env, 3)
    olive = sign_in(api, "olive")
    found = olive.get(f"{base}/ui/records", params={"ids": "URN:NASA:PDS:organiser_test_0000[12]*"})
    assert found.status_code == 200
    assert [r.doi for r in records if r.doi in found.text] == []  # [ ] is literal, not a set
    found = olive.get(f"{base}/ui/records", params={"ids": "urn:nasa:pds:organiser_test_0000?::*"})
    assert [r.doi for r in records if r.doi in found.text] == [r.doi for r in records]
    bad = olive.get(f"{base}/ui/records", params={"status": "nope"})
    assert bad.status_code == 400 and "status &#39;nope&#39;: not a status" in bad.text
    bad = olive.get(f"{base}/ui/records", params={"since": "May"})
    assert bad.status_code == 400 and "since &#39;May&#39;: not a date" in bad.text

    # CSV: the same filters, every column
    export = olive.get(f"{base}/ui/records.csv", params={"ids": "urn:nasa:pds:*_00001::*"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["doi"], r["status"], r["submitter"]) for r in table] == [
        (records[1].doi, "reserved", ALICE)
    ]

    # the record page names the DataCite account the record is sent through
    page = olive.get(f"{base}/ui/records/{records[1].id}")
    assert '<dd id="account">datacite</dd>' in page.text

    # delete: the confirmation says what DataCite will do with a draft
    confirm = olive.get(f"{base}/ui/records/{records[0].id}/delete")
    assert "DataCite deletes the draft DOI" in confirm.text
    answer = olive.post(
        f"{base}/ui/records/{records[0].id}/delete", data={"csrf": hidden(confirm.text)}
    )
    assert answer.status_code == 200 and "marked for deletion: to-be-deleted" in answer.text
    assert env.records()[0].status == "to-be-deleted"

    # retry now: only a failing record; it becomes due at once
    answer = olive.post(
        f"{base}/ui/records/{records[1].id}/retry", data={"csrf": csrf_of(olive, base)}
    )
    assert answer.status_code == 400 and "not failing" in answer.text
    env.ok("register", records[1].doi)
    env.faults(fail_dois={records[1].doi: 422})
    env.run("-r")
    env.faults()
    failing = env.records()[1]
    assert failing.last_error and failing.status == "to-be-registered"
    answer = olive.post(
        f"{base}/ui/records/{records[1].id}/retry", data={"csrf": csrf_of(olive, base)}
    )
    assert answer.status_code == 200 and "is due now" in answer.text
    retried = env.records()[1]
    assert failing.next_attempt_at - retried.next_attempt_at > timedelta(minutes=50)
    assert env.history(retried)[-1] == ("to-be-registered", "to-be-registered", "retry-now")
