"""The API's 0.2 parameters against a hostile client, in this process (as test_api_hostile.py):
dates at the calendar's edges, statuses in odd case and look-alike letters, wildcards in
every filter; what a public read shows (never more than a reader token); and no DataCite
account's password in any answer, probe or metric."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from starlette.testclient import TestClient
from test_alerts import Inbox, free_port
from test_api_hostile import Client, add_records, lines

from organiser.api.app import create_app
from organiser.app import App
from organiser.storage.models import History, Record

from conftest import PASSWORD

SBN_PASSWORD = "sbn-secret-0815"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    made = Client(tmp_path, public_reads="true", public_metrics="true")
    with made.http:
        yield made


def listed(client: Client, token: str | None, **params: str) -> list[str]:
    """Give the DOIs ``GET /dois`` lists for ``params`` (checking it answered 200)."""
    answer = client.call("GET", "/dois", token, params=params)
    assert answer.status_code == 200, (params, answer.text)
    return [row["doi"] for row in answer.json()]


def test_dates_at_the_calendars_edges_are_a_filter_not_a_500(client: Client) -> None:
    dois = add_records(2)  # changed 2026-01-02
    everything = {
        "start_date": ("0001-01-01", "0001-01-01T00:00+01:00", "0001-01-01T00:00:00+23:59"),
        "end_date": ("9999-12-31", "9999-12-31T23:59-01:00", "9999-12-31T23:59:59.999999"),
    }
    for name, values in everything.items():
        for value in values:
            assert listed(client, "rita", **{name: value}) == dois, (name, value)
    nothing = {
        "start_date": ("9999-12-31", "9999-12-31T23:59:59.999999-01:00"),
        "end_date": ("0001-01-01", "0001-01-01T00:00+01:00"),
    }
    for name, values in nothing.items():
        for value in values:
            assert listed(client, "rita", **{name: value}) == [], (name, value)
    for value in ("99999-01-01", "2026-01-01T00:00+99:00", "2026-01-01T25:00"):
        assert lines(client.call("GET", "/dois", "rita", params={"end_date": value}), 400) == [
            f"end_date {value!r}: not an ISO date or date-time (YYYY-MM-DD[THH:MM[:SS[.ms]]])"
        ]


def test_odd_statuses_and_wildcards_are_refused_or_literal(client: Client) -> None:
    dois = add_records(2)
    Record.update(submitter="alice@example.org", node="img").execute()
    assert listed(client, "rita", status="DRAFT") == dois
    assert listed(client, "rita", organiser_status=" Reserved ") == dois
    assert listed(client, "rita", node="IMG") == dois
    assert listed(client, "rita", submitter="ALICE@example.org") == dois
    for name, value in (("node", "%"), ("submitter", "%"), ("submitter", "_lice@example.org")):
        assert listed(client, "rita", **{name: value}) == [], (name, value)  # no LIKE pattern
    assert listed(client, "rita", title="%") == [] and listed(client, "rita", ids="%") == []
    for value in (
        "\uff24\uff32\uff21\uff26\uff34",
        "draft\x00",
        "\u0130",
    ):  # full-width, NUL, a dotted capital I
        message = lines(client.call("GET", "/dois", "rita", params={"status": value}), 400)[0]
        assert message.startswith(f"status {value!r}: not a 0.2 status (error, unknown")
    message = lines(client.call("GET", "/dois", "rita", params={"organiser_status": "\u0131"}), 400)
    assert message[0].startswith("organiser_status '\u0131': not an organiser status")


def test_a_public_read_shows_what_a_reader_sees_and_writes_need_a_token(
    client: Client,
) -> None:
    dois = add_records(2)
    Record.update(submitter="alice@example.org", last_error="DataCite said 422").execute()
    reads = [
        ("/dois", {}),
        ("/dois", {"status": "draft", "submitter": "alice@example.org"}),
        ("/doi", {"identifier": dois[0]}),
        ("/dois/check", {"submitter": "x@example.org"}),
    ]
    for path, params in reads:
        public = client.call("GET", path, None, params=params)
        reader = client.call("GET", path, "rita", params=params)
        assert public.status_code == reader.status_code == 200, (path, public.text)
        assert public.json() == reader.json(), path
    before = [tuple(r) for r in Record.select().tuples()]
    for method, path, params in (
        ("POST", "/dois", {"action": "reserve"}),
        ("POST", "/doi/submit", {"identifier": dois[0]}),
        ("GET", "/dois/check", {"submitter": "x@example.org", "email": "true"}),
    ):
        answer = client.call(method, path, None, params=params, json={})
        assert answer.status_code == 401, (path, answer.text)
    assert [tuple(r) for r in Record.select().tuples()] == before
    assert History.select().count() == 0


def test_no_answer_names_an_accounts_password(client: Client) -> None:
    with client.config.open("a") as handle:
        handle.write(
            f"\n[account sbn]\nusername = NASA.SBN\npassword = {SBN_PASSWORD}\n"
            "prefix = 10.26033\nnodes = sbn\n"
        )
    add_records(1)
    app = App(str(client.config), {})
    app.open_db()
    with TestClient(create_app(app), raise_server_exceptions=False) as http:
        answers = [
            http.get(path)
            for path in (
                "/readyz",
                "/healthz",
                "/metrics",
                "/PDS_APIs/pds_doi_api/0.2/dois",
                "/PDS_APIs/pds_doi_api/0.2/dois/check?submitter=x@example.org",
                "/PDS_APIs/pds_doi_api/0.2/openapi.json",
                "/ui/signin",
            )
        ]
    assert [answer.status_code for answer in answers] == [200] * len(answers)
    assert 'organiser_account_records{account="datacite"} 1.0' in answers[2].text
    for answer in answers:
        assert SBN_PASSWORD not in answer.text and PASSWORD not in answer.text, answer.url


def test_the_mailed_reports_csv_neutralises_formulas(client: Client) -> None:
    from datetime import datetime

    from organiser.actions import report

    add_records(2)
    Record.update(status="review", title='=HYPERLINK("http://evil.example")').where(
        Record.id == 1
    ).execute()
    Record.update(status="review", title="+1", last_error="@SUM(A1)").where(
        Record.id == 2
    ).execute()
    table = list(csv.DictReader(io.StringIO(report.pending(None, datetime(2026, 2, 1)).csv())))
    assert sorted((row["title"], row["last_error"]) for row in table) == [
        ("'+1", "'@SUM(A1)"),
        ('\'=HYPERLINK("http://evil.example")', ""),
    ]


class Gone(Inbox):
    """An SMTP server that refuses alice with a two-line answer that is not ASCII."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == "alice@example.org":
            return "550-5.1.1 The mailbox is gone\r\n550 5.1.1 Gr\u00fc\u00dfe, try again"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_mail_servers_odd_answer_is_one_ascii_line_of_x_email(client: Client) -> None:
    inbox = Gone()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with client.config.open("a") as handle:
            handle.write(
                f"\n[email]\nsmtp_host = 127.0.0.1\nsmtp_port = {controller.port}\n"
                "security = none\nsender = o@example.org\nrecipients = ops@example.org\n"
                "timeout = 5\n"
            )
        add_records(1)
        Record.update(status="review", submitter="alice@example.org").execute()
        app = App(str(client.config), {})
        app.open_db()
        with TestClient(create_app(app), raise_server_exceptions=False) as http:
            answer = http.get(
                "/PDS_APIs/pds_doi_api/0.2/dois/check",
                params={"submitter": "ops@example.org", "email": "true"},
                headers={"Authorization": f"Bearer {client.tokens['olive']}"},
            )
    finally:
        controller.stop()
    assert answer.status_code == 200, answer.text
    assert [row["doi"] for row in answer.json()] == ["10.5072/r000"]
    assert answer.headers["X-Email"] == (
        "report not sent to everyone: 127.0.0.1:"
        f"{controller.port} refused the recipients: alice@example.org: 550 5.1.1 The mailbox "
        "is gone 5.1.1 Gr\\xfc\\xdfe, try again"
    )
    assert [mail.rcpt for mail in inbox.take()] == [["ops@example.org"]]
