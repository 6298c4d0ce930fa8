"""The PDS DOI Service API 0.2 through real HTTP against a running ``organiser serve``: every
endpoint, from a labels payload, a PDS4 label body and a URL to findable at the stand-in;
listing with each filter; the pending-release report mailed to a real SMTP server.

Bad input, authentication, URL and size limits, the OpenAPI document and Swagger UI are in
test_api_limits.py (with the same fixtures, from here)."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from test_alerts import OPERATORS, Inbox, free_port, smtp, with_mail  # noqa: F401  (smtp)
from test_pds4_marking import label

from organiser.actions import tokens
from organiser.storage.database import open_database
from organiser.storage.models import History, Record

from conftest import ORGANISER, PASSWORD, Env, clean_environment

pytestmark = pytest.mark.slow  # each test starts `organiser serve` as a process

BASE = "/PDS_APIs/pds_doi_api/0.2"
ALICE, CAROL = "alice@example.org", "carol@example.org"
#: The local label server's address: allowed by name in url_hosts (an IP address listed there
#: is taken as the operator's choice); 127.0.0.1 is not.
LABEL_HOST = "127.0.0.2"


class Api:
    """One ``organiser serve`` on a free port of 127.0.0.1, with tokens."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{BASE}"
        self.tokens: dict[str, str] = {}
        self.emails: dict[str, str] = {}
        self.process: subprocess.Popen[str] | None = None
        self.log = env.tmp / "serve.log"
        env.write_config(
            api={
                "port": str(self.port),
                "url_hosts": f"{LABEL_HOST}, localhost, pds.nasa.gov",
                "max_body_bytes": "300000",
            }
        )

    def token(self, name: str, role: str, email: str | None = None, cli: bool = False) -> str:
        """Make a token (with ``organiser token add`` if ``cli``, else in this process, which
        is quicker); give it."""
        if email:
            self.emails[name] = email
        if cli:
            args = ["token", "add", name, "--role", role] + (["--email", email] if email else [])
            result = self.env.run(*args)
            assert result.returncode == 0, result.stderr
            self.tokens[name] = result.stdout.strip()
        else:
            open_database(self.env.db_url)
            self.tokens[name] = tokens.add(name, role, email, datetime.now(UTC))
        return self.tokens[name]

    def start(self) -> Api:
        environ = clean_environment()
        environ.update(ORGANISER_CONFIG=str(self.env.config), ORGANISER_DATACITE_PASSWORD=PASSWORD)
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [str(ORGANISER), "serve"],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env=environ,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if requests.get(f"{self.url}/openapi.json", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("organiser serve did not start: " + self.log.read_text())

    def stop(self) -> str:
        """Stop the server with SIGTERM; check it exited 0 and logged no token; give its log."""
        assert self.process is not None
        self.process.terminate()
        assert self.process.wait(timeout=30) == 0, self.log.read_text()
        text = self.log.read_text()
        for secret in self.tokens.values():
            assert secret not in text
        assert "Traceback" not in text
        return text

    def call(
        self, method: str, path: str, token: str | None = "alice", **kwargs: Any
    ) -> requests.Response:
        """Send a request as the token called ``token`` (None: none). ``POST /dois`` gets
        0.2's required ``submitter`` (the token's address) and ``node`` (img) unless given
        (``None``: left out)."""
        headers = dict(kwargs.pop("headers", {}))  # a copy: callers pass shared constants
        if token is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(token, token)}"
        if (method, path) == ("POST", "/dois"):
            kwargs["params"] = spec_params(kwargs.get("params"), self.emails.get(token or ""))
        return requests.request(method, self.url + path, headers=headers, timeout=60, **kwargs)


def spec_params(given: dict[str, Any] | None, email: str | None) -> dict[str, Any]:
    """Give ``POST /dois``'s query parameters with 0.2's required ``submitter`` (``email``, or
    a made-up address) and ``node`` (img) added unless given; a given ``None`` leaves one
    out."""
    params = {"submitter": email or "someone@example.org", "node": "img", **(given or {})}
    return {key: value for key, value in params.items() if value is not None}


@pytest.fixture
def start_api(env: Env) -> Iterator[Callable[[], Api]]:
    """Give a function that starts ``organiser serve`` for this test's env (configure the env
    first); the server is stopped (SIGTERM, exit 0) at the end."""
    started: list[Api] = []

    def start() -> Api:
        api = Api(env)
        api.token("alice", "submitter", ALICE, cli=True)
        api.token("olive", "operator", "olive@example.org")
        api.token("rita", "reader")
        started.append(api.start())
        return api

    yield start
    for api in started:
        api.stop()


@pytest.fixture
def api(start_api: Callable[[], Api]) -> Api:
    return start_api()


@pytest.fixture
def label_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.2 serving tmp_path/www (``/redirect?to=URL`` redirects);
    gives (base URL, paths asked for)."""
    root = tmp_path / "www"
    root.mkdir()
    asked: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self) -> None:
            asked.append(self.path)
            if self.path.startswith("/redirect?to="):
                self.send_response(302)
                self.send_header("Location", self.path.split("=", 1)[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((LABEL_HOST, 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    yield f"http://{LABEL_HOST}:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def labels_payload(*names: str, node_title: str = "") -> dict[str, list[dict[str, str]]]:
    """Give a 0.2 labels payload with one row per name (the spreadsheet's columns)."""
    return {
        "labels": [
            {
                "status": "Reserved",
                "title": f"Organiser API Test {name.title()} Bundle{node_title}",
                "publication_date": "2024-05-01",
                "product_type_specific": "PDS4 Refereed Data Bundle",
                "author_last_name": "Johnson",
                "author_first_name": "J. R.",
                "related_resource": f"urn:nasa:pds:organiser_api_{name}::1.0",
            }
            for name in names
        ]
    }


def actors(env: Env, doi: str) -> list[tuple[str, str]]:
    """Give (to_status, actor) of the record's history."""
    open_database(env.db_url)
    record = Record.get(Record.doi == doi)
    rows = History.select().where(History.record == record).order_by(History.id)
    return [(h.to_status, h.actor) for h in rows]


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_every_endpoint_from_reserve_to_findable(
    env: Env, api: Api, label_server: tuple[str, list[str]]
) -> None:
    # reserve: a labels payload, a PDS4 label as the body, a label fetched from a url
    rows = api.call(
        "POST",
        "/dois",
        params={"action": "reserve", "node": "img"},
        json=labels_payload("one", "two"),
    )
    assert rows.status_code == 200, rows.text
    assert [
        (r["identifier"], r["status"], r["organiser_status"], r["submitter"], r["node"])
        for r in rows.json()
    ] == [
        ("urn:nasa:pds:organiser_api_one::1.0", "draft", "to-be-reserved", ALICE, "img"),
        ("urn:nasa:pds:organiser_api_two::1.0", "draft", "to-be-reserved", ALICE, "img"),
    ]
    body = label(env.tmp / "in", "body.xml", title="API Body Bundle").read_bytes()
    posted = api.call(
        "POST",
        "/dois",
        params={"action": "reserve", "node": "img", "submitter": ALICE},
        data=body,
        headers={"Content-Type": "application/xml"},
    )
    assert posted.status_code == 200, posted.text
    [from_body] = posted.json()
    assert from_body["identifier"] == "urn:nasa:pds:insight_cameras::1.0"
    base_url, asked = label_server
    label(env.tmp / "www", "served.xml", lid="urn:nasa:pds:insight_served", title="Served Bundle")
    fetched = api.call(
        "POST",
        "/dois",
        params={"action": "reserve", "node": "geo", "url": f"{base_url}/served.xml"},
    )
    assert fetched.status_code == 200, fetched.text
    assert asked == ["/served.xml"]
    [from_url] = fetched.json()
    assert from_url["identifier"] == "urn:nasa:pds:insight_served::1.0"
    assert len(env.records()) == 4
    assert actors(env, from_url["doi"]) == [("to-be-reserved", "api:alice")]

    ok(env.run("-s"))  # the reserve pass: drafts at the stand-in
    assert set(env.remote.values()) == {"draft"}

    # update (and 0.2's draft, the same): found by the label's LIDVID
    changed = label(env.tmp / "in", "body.xml", title="API Body Bundle, Revised").read_bytes()
    updated = api.call(
        "POST",
        "/dois",
        params={"action": "update"},
        data=changed,
        headers={"Content-Type": "application/xml"},
    )
    assert updated.status_code == 200, updated.text
    assert [(r["doi"], r["status"], r["organiser_status"]) for r in updated.json()] == [
        (from_body["doi"], "draft", "update-reserved")
    ]
    revised = labels_payload("two", node_title=" (revised)")
    drafted = api.call("POST", "/dois", params={"action": "draft", "node": "img"}, json=revised)
    assert drafted.status_code == 200, drafted.text
    ok(env.run("-u"))
    held = env.server.datacite.dois[from_body["doi"]]["attributes"]["titles"]
    assert held == [{"title": "API Body Bundle, Revised"}]

    # submit → review; an operator approves one through the API, the CLI the other
    one, two = rows.json()[0]["doi"], rows.json()[1]["doi"]
    for doi in (one, from_body["identifier"]):
        submitted = api.call("POST", "/doi/submit", params={"identifier": doi})
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["status"] == submitted.json()["organiser_status"] == "review"
    released = api.call("POST", "/doi/release", "olive", params={"identifier": one})
    assert released.status_code == 200, released.text
    assert (released.json()["status"], released.json()["organiser_status"]) == (
        "pending",
        "to-be-registered",
    )
    ok(env.run("register", from_body["doi"]))
    rejected = api.call("POST", "/doi/submit", params={"identifier": two})
    assert rejected.status_code == 200
    back = api.call("POST", "/doi/reject", "olive", params={"identifier": two, "reason": "typo"})
    assert back.status_code == 200
    assert (back.json()["status"], back.json()["organiser_status"]) == ("draft", "reserved")

    ok(env.run("-r"))  # the register pass
    assert env.remote[one] == "findable"
    assert env.remote[from_body["doi"]] == "findable"
    assert env.remote[two] == "draft"

    # one record: metadata, status, DataCite state, history naming the tokens
    shown = api.call("GET", "/doi", "rita", params={"identifier": from_body["identifier"]})
    assert shown.status_code == 200, shown.text
    record = shown.json()
    assert (record["doi"], record["status"], record["datacite_state"]) == (
        from_body["doi"],
        "findable",
        "findable",
    )
    assert record["metadata"]["titles"] == [{"title": "API Body Bundle, Revised"}]
    assert json.loads(record["record"])["data"]["attributes"]["doi"] == from_body["doi"]
    assert record["organiser_status"] == "registered"
    assert record["last_error"] == record["message"] == ""  # strings, never null
    steps = [(h["to_status"], h["actor"]) for h in record["history"]]
    assert steps[0] == ("to-be-reserved", "api:alice")
    assert ("review", "api:alice") in steps
    assert steps[-1][0] == "registered"
    assert [
        h["actor"]
        for h in api.call("GET", "/doi", params={"identifier": one}).json()["history"]
        if h["to_status"] == "to-be-registered"
    ] == ["api:olive"]
    missing = api.call("GET", "/doi", params={"identifier": "urn:nasa:pds:nothing::1.0"})
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["message"].startswith("urn:nasa:pds:nothing::1.0: no record")
    assert api.call("PUT", "/doi", params={"identifier": one}).status_code == 501


def test_listing_with_each_filter_a_page_at_a_time(env: Env, api: Api) -> None:
    names = ["alpha", "beta", "gamma", "delta", "epsilon"]
    for n, name in enumerate(names):
        params = {
            "action": "reserve",
            "node": "img" if n % 2 else "geo",
            "submitter": CAROL if n == 4 else ALICE,
        }
        answer = api.call("POST", "/dois", "olive", params=params, json=labels_payload(name))
        assert answer.status_code == 200, answer.text
    records = env.records()
    open_database(env.db_url)
    old = records[0].updated_at.replace(year=2020)
    Record.update(updated_at=old).where(Record.id == records[0].id).execute()

    def dois(token: str = "rita", **params: Any) -> list[str]:
        answer = api.call("GET", "/dois", token, params=params)
        assert answer.status_code == 200, answer.text
        return [r["doi"] for r in answer.json()]

    every = [r.doi for r in records]
    assert dois() == every
    assert dois(doi=[every[1], f"https://doi.org/{every[3]}"]) == [every[1], every[3]]
    assert dois(submitter=[CAROL.upper()]) == [every[4]]
    assert dois(node=["img"]) == [every[1], every[3]]
    assert dois(status=["draft"]) == dois(status=["DRAFT"]) == every
    assert dois(organiser_status=["to-be-reserved"]) == every
    assert dois(status=["review", "findable", "unknown"]) == []
    assert dois(node=["IMG"]) == [every[1], every[3]]
    assert dois(ids=["urn:nasa:pds:organiser_api_*a::1.0"]) == [
        every[0],
        every[1],
        every[2],
        every[3],
    ]
    assert dois(ids=["*_beta", "*_delta"]) == [every[1], every[3]]
    assert dois(start_date="2021-01-01") == every[1:]
    assert dois(end_date="2020-12-31T23:59:00.00") == [every[0]]
    # the time part counts: up to the instant record 0 changed, and not a second before
    assert dois(end_date=old.isoformat()) == [every[0]]
    assert dois(end_date=f"{(old - timedelta(seconds=1)).isoformat()}Z") == []
    assert dois(start_date=(old + timedelta(seconds=1)).isoformat(), end_date="2020-12-31") == []
    assert dois(title="gamma") == [every[2]]

    pages, params = [], {"limit": 2}
    while True:
        answer = api.call("GET", "/dois", "rita", params=params)
        pages.append([r["doi"] for r in answer.json()])
        if "X-Next-Cursor" not in answer.headers:
            break
        assert answer.links["next"]["url"].endswith(answer.headers["X-Next-Cursor"])
        params = {"limit": 2, "cursor": answer.headers["X-Next-Cursor"]}
    assert pages == [every[0:2], every[2:4], every[4:5]]

    bad = api.call("GET", "/dois", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400
    assert api.call("GET", "/dois", params={"status": "nonsense"}).status_code == 400
    assert api.call("GET", "/dois", params={"limit": "0"}).status_code == 400
    assert api.call("GET", "/dois", params={"start_date": "yesterday"}).status_code == 400


def test_the_pending_release_report_is_mailed_with_an_attachment(
    env: Env,
    smtp: tuple[Inbox, int],  # noqa: F811
    start_api: Callable[[], Api],
) -> None:
    inbox, port = smtp
    with_mail(env, port)
    api = start_api()
    reserved = api.call(
        "POST", "/dois", params={"action": "reserve", "node": "img"}, json=labels_payload("report")
    )
    assert reserved.status_code == 200, reserved.text
    ok(env.run("-s"))
    doi = reserved.json()[0]["doi"]
    assert api.call("POST", "/doi/submit", params={"identifier": doi}).status_code == 200

    read = api.call("GET", "/dois/check", "rita", params={"submitter": "rita@example.org"})
    assert read.status_code == 200, read.text
    [pending] = read.json()  # 0.2's answer: a list of doi_record
    assert (pending["doi"], pending["status"], pending["node"], pending["submitter"]) == (
        doi,
        "review",
        "img",
        ALICE,
    )
    assert json.loads(pending["record"])["data"]["attributes"]["doi"] == doi
    assert "X-Email" not in read.headers
    assert inbox.take() == []
    asked = {"submitter": "rita@example.org", "email": "true"}
    assert api.call("GET", "/dois/check", "rita", params=asked).status_code == 403
    assert api.call("GET", "/dois/check", "rita").status_code == 400  # 0.2 requires submitter

    mailed = api.call(
        "GET", "/dois/check", params={"submitter": ALICE, "email": "true", "attachment": "true"}
    )
    assert mailed.status_code == 200, mailed.text
    assert [r["doi"] for r in mailed.json()] == [doi]
    assert mailed.headers["X-Email"] == "sent"
    mails = inbox.take()
    assert sorted(address for mail in mails for address in mail.rcpt) == sorted([*OPERATORS, ALICE])
    for mail in mails:
        assert "1 in review" in mail.subject
        assert doi in mail.body
        [attached] = [p for p in mail.message.iter_attachments()]
        assert isinstance(attached, EmailMessage)
        assert attached.get_filename() == "pending-release.csv"
        csv_text = attached.get_content()
        csv_text = csv_text.decode() if isinstance(csv_text, bytes) else csv_text
        assert csv_text.splitlines()[0].startswith("doi,identifier,title")
        assert doi in csv_text
