"""The web UI under /ui against a hostile visitor, reader or submitter, in this process
(the API's ASGI application with the UI beside it, a fresh SQLite database): ids no database
holds, dates at the calendar's edges, formulas in the CSV export, markup in every field a
page shows, a landing page that is not a web address, open redirects, other people's records,
hostile uploads, and the headers that keep a page from being framed or running script.
Every refusal is a page with a one-line message and a 4xx, and writes nothing."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_api_hostile import MINIMAL, Client, add_records

from organiser.actions import tokens
from organiser.storage.models import History, Record

#: Markup that would run, or break out of an attribute, if a page did not escape it.
EVIL = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
CAROL = "carol@example.org"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    made = Client(tmp_path)
    made.tokens["carl"] = tokens.add("carl", "submitter", CAROL, datetime.now(UTC))
    with made.http:
        yield made


def hidden(html: str, name: str = "csrf") -> str:
    """Give the value of the first hidden field ``name`` of ``html``."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, html
    return found.group(1)


def sign_in(client: Client, name: str, next_page: str = "/ui/") -> Any:
    """Sign in (the cookie jar keeps the session) with the token called ``name``; give the
    sign-in form's answer (a 303)."""
    client.http.cookies.clear()
    form = client.http.get("/ui/signin")
    answer = client.http.post(
        "/ui/signin",
        data={"token": client.tokens[name], "csrf": hidden(form.text), "next": next_page},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return answer


def csrf_of(client: Client) -> str:
    return hidden(client.http.get("/ui/").text)


def message(answer: Any) -> list[str]:
    """Give the error page's lines."""
    found = re.search(r'<div class="error" role="alert">(.*?)</div>', answer.text, re.S)
    assert found, answer.text
    return [line.strip() for line in re.findall(r"<p>(.*?)</p>", found.group(1), re.S)]


def rows() -> list[tuple[object, ...]]:
    return [tuple(r) for r in Record.select().tuples()] + [
        tuple(h) for h in History.select().tuples()
    ]


def test_ids_no_database_holds_are_404_not_500(client: Client) -> None:
    add_records(1)
    sign_in(client, "olive")
    csrf = csrf_of(client)
    before = rows()
    for ref in ("99999999999999999999", str(2**63), "9" * 5000):
        for path in (f"/ui/records/{ref}", f"/ui/records/{ref}/delete"):
            answer = client.http.get(path)
            assert answer.status_code in (400, 404), (path[:40], answer.status_code)
            assert "internal error" not in answer.text
        for action in ("records/{}/submit", "records/{}/retry", "records/{}/delete"):
            answer = client.http.post(f"/ui/{action.format(ref)}", data={"csrf": csrf})
            assert answer.status_code in (400, 404), (action, answer.status_code)
        for action in ("approve", "reject"):
            answer = client.http.post(
                f"/ui/review/{ref}/{action}", data={"csrf": csrf, "reason": "no"}
            )
            assert answer.status_code in (400, 404), (action, answer.status_code)
    answer = client.http.get(f"/ui/records/{2**63}")
    assert (answer.status_code, message(answer)) == (404, [f"record {2**63}: no such record"])
    answer = client.http.post("/ui/review/99999999999999999999/approve", data={"csrf": csrf})
    assert (answer.status_code, message(answer)) == (
        404,
        ["record 99999999999999999999: no such record"],
    )
    assert rows() == before


def test_dates_at_the_calendars_edges_are_searched_not_a_500(client: Client) -> None:
    dois = add_records(2)
    sign_in(client, "rita")
    for query in ("until=9999-12-31", "since=0001-01-01", "since=0001-01-01&until=9999-12-31"):
        answer = client.http.get(f"/ui/records?{query}")
        assert answer.status_code == 200, (query, answer.status_code)
        assert all(doi in answer.text for doi in dois)
        export = client.http.get(f"/ui/records.csv?{query}")
        assert export.status_code == 200
        assert [row[0] for row in csv.reader(io.StringIO(export.text))][1:] == dois
    answer = client.http.get("/ui/records?since=9999-12-31")
    assert answer.status_code == 200 and dois[0] not in answer.text


def test_the_csv_export_neutralises_formulas(client: Client) -> None:
    titles = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "A=B"]
    add_records(len(titles))
    for n, title in enumerate(titles, start=1):
        Record.update(title=title, last_error="=cmd|' /C calc'!A0" if n == 1 else None).where(
            Record.id == n
        ).execute()
    sign_in(client, "rita")
    export = client.http.get("/ui/records.csv")
    assert export.status_code == 200
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert [row["title"] for row in table] == [
        "'" + title if title[0] in "=+-@\t" else title for title in titles
    ]
    assert table[0]["last_error"] == "'=cmd|' /C calc'!A0"
    assert table[0]["attempts"] == "0" and table[1]["last_error"] == ""


def test_markup_in_any_field_is_shown_as_text(client: Client) -> None:
    add_records(2)
    attributes = dict(MINIMAL, creators=[{"name": EVIL}], publisher=EVIL, version=EVIL)
    attributes["titles"] = [{"title": EVIL}]
    Record.update(
        title=EVIL,
        identifier="urn:nasa:pds:x" + EVIL,
        submitter=EVIL,
        last_error="DataCite said: " + EVIL,
        status="to-be-registered",
        attributes=json.dumps(attributes),
        url="https://pds.nasa.gov/x?" + EVIL,
    ).where(Record.id == 1).execute()
    Record.update(title=EVIL, status="review", submitter=EVIL).where(Record.id == 2).execute()
    sign_in(client, "olive")
    pages = (
        "/ui/",
        "/ui/records",
        "/ui/records/1",
        "/ui/records/2",
        "/ui/review",
        f"/ui/records?title={EVIL}&ids={EVIL}&submitter={EVIL}&done={EVIL}",
        f"/ui/records/{EVIL}",
        f"/ui/signin?next=/ui/{EVIL}",
    )
    for path in pages:
        answer = client.http.get(path)
        assert answer.status_code in (200, 400, 404), (path, answer.status_code)
        assert "<script>alert" not in answer.text and "<img src=x" not in answer.text, path
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in answer.text, path
    assert "<script>alert" not in client.http.get("/ui/records/1/delete").text
    record_page = client.http.get("/ui/records/1").text
    citation = re.search(r'<p class="citation">(.*?)</p>', record_page, re.S)
    assert citation and "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in citation.group(1)


def test_a_landing_page_that_is_no_web_address_is_not_a_link(client: Client) -> None:
    add_records(3)
    for n, url in enumerate(("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x")):
        Record.update(url=url).where(Record.id == n + 1).execute()  # as if imported so
    Record.update(url="HTTPS://pds.nasa.gov/ok").where(Record.id == 3).execute()
    sign_in(client, "rita")
    for n in (1, 2):
        page = client.http.get(f"/ui/records/{n}").text
        assert 'href="javascript' not in page.lower() and 'href=" javascript' not in page.lower()
        assert "alert(1)" in page  # shown, as text
    page = client.http.get("/ui/records/3").text
    assert '<a href="HTTPS://pds.nasa.gov/ok" rel="noreferrer">' in page


def test_every_page_forbids_framing_and_script(client: Client) -> None:
    add_records(1)
    for path in ("/ui/signin", "/ui/records/1"):  # signed out: the sign-in page
        answer = client.http.get(path)
        assert answer.headers["x-frame-options"] == "DENY"
    sign_in(client, "rita")
    for path in ("/ui/", "/ui/records", "/ui/records/1", "/ui/records/nope", "/ui/reserve"):
        answer = client.http.get(path)
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, path
        assert "script-src" not in policy  # no script at all
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example/",
        "https:evil.example",
        "https://evil.example/ui/",
        "/ui/\\\\evil.example",
        "\t//evil.example",
        "/ui/\r\nSet-Cookie: x=1",
        "ui/",
        "/uix//evil.example",
    ],
)
def test_signing_in_never_leaves_the_ui(client: Client, target: str) -> None:
    answer = sign_in(client, "rita", target)
    assert answer.headers["location"] == "/ui/"
    assert "set-cookie: x=1" not in str(answer.headers).lower()


def test_another_submitters_record_and_a_readers_writes_are_refused(client: Client) -> None:
    add_records(2)
    Record.update(submitter="alice@example.org").execute()
    Record.update(status="review").where(Record.id == 2).execute()
    good = json.dumps(dict(MINIMAL, url="https://pds.nasa.gov/new")).encode()
    before = rows()
    for who, refusal in (("carl", "only its submitter or an operator"), ("rita", "a reader")):
        sign_in(client, who)
        csrf = csrf_of(client)
        for path in ("/ui/records/1/submit", "/ui/records/1/update"):
            answer = client.http.post(
                path, data={"csrf": csrf}, files={"file": ("new.json", good, "application/json")}
            )
            assert answer.status_code == 403, (who, path, answer.text)
            assert refusal in " ".join(message(answer))
        for path in ("/ui/review/2/approve", "/ui/records/1/retry", "/ui/records/1/delete"):
            answer = client.http.post(path, data={"csrf": csrf})
            assert answer.status_code == 403, (who, path)
            assert "this needs an operator" in " ".join(message(answer))
    sign_in(client, "alice")  # the submitter cannot approve its own record either
    answer = client.http.post("/ui/review/2/approve", data={"csrf": csrf_of(client)})
    assert answer.status_code == 403 and "this needs an operator" in message(answer)[0]
    # a CSRF token of another session is no CSRF token
    other = csrf_of(client)
    sign_in(client, "olive")
    answer = client.http.post("/ui/review/2/approve", data={"csrf": other})
    assert answer.status_code == 403 and "CSRF token is missing or wrong" in message(answer)[0]
    assert rows() == before


def test_hostile_uploads_are_refused_with_a_line_naming_the_file(client: Client) -> None:
    sign_in(client, "alice")
    csrf = csrf_of(client)
    cases = {
        ("a.csv", b"\xff\xfe,\x80\n\x81"): "a.csv: not UTF-8 text",
        ("a.xlsx", b"PK\x03\x04garbage"): "a.xlsx: not an XLSX workbook (BadZipFile)",
        ("../../etc/a.json", b"{"): "a.json: ",
        (f"{EVIL}.json", b"[]"): "",
    }
    for (name, data), start in cases.items():
        answer = client.http.post(
            "/ui/reserve", data={"csrf": csrf, "node": "img"}, files={"file": (name, data)}
        )
        assert answer.status_code == 400, (name, answer.status_code)
        errors = re.findall(r'<ul id="file-errors" class="field-error">(.*?)</ul>', answer.text)
        assert errors and errors[0].startswith(f"<li>{start}"), (name, errors)
        assert "<script>alert" not in answer.text
    bodies = {
        b"garbage": "multipart/form-data",
        b"--x\r\nContent-Disposition: form-data; name=csrf\r\n\r\n": "multipart/form-data; "
        "boundary=x",
    }
    for body, kind in bodies.items():
        answer = client.http.post("/ui/reserve", content=body, headers={"content-type": kind})
        assert answer.status_code in (400, 403), answer.text
    big = client.http.post(
        "/ui/reserve",
        content=b"x" * (int(client.app.config["api"]["max_body_bytes"]) + 1),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert big.status_code == 413 and "larger than [api] max_body_bytes" in big.text
    assert Record.select().count() == 0


def test_a_signed_out_sessions_cookie_is_no_session(client: Client) -> None:
    sign_in(client, "olive")
    kept = client.http.cookies.get("organiser_ui")
    assert kept and client.http.get("/ui/", follow_redirects=False).status_code == 200
    answer = client.http.post("/ui/signout", data={"csrf": csrf_of(client)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/signin"
    client.http.cookies.clear()
    client.http.cookies.set("organiser_ui", kept, path="/ui")  # a copy kept from before
    answer = client.http.get("/ui/records", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/signin?next=/ui/records"
    answer = client.http.post("/ui/records/1/delete", data={"csrf": "x"}, follow_redirects=False)
    assert answer.status_code == 303 and "/ui/signin" in answer.headers["location"]
    sign_in(client, "olive")  # signing in again is a new session
    assert client.http.get("/ui/", follow_redirects=False).status_code == 200
