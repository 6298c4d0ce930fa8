"""The API against a hostile or careless client (issue 13), through the ASGI application in
this process: every request that answered 500, read a body before checking its token, or
held a worker now gets a one-line 400, 401, 413 or 503; error bodies name no path; 405s say
what is allowed; the next-page link comes from the configuration, not the client."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from starlette.testclient import TestClient
from starlette.types import Message

from organiser.actions import tokens
from organiser.api import BASE_PATH
from organiser.api.app import create_app
from organiser.app import App
from organiser.storage.models import Record, database_proxy

from conftest import MINIMAL, PASSWORD, PREFIX, USER

JSON = {"Content-Type": "application/json"}


class Client:
    """The API of a fresh configuration and SQLite database, in process, with tokens."""

    def __init__(self, tmp: Path, intake: str = "", **api: str) -> None:
        self.db = tmp / "o.db"
        self.config = tmp / "organiser.ini"
        lines = [
            f"[datacite]\nusername = {USER}\npassword = {PASSWORD}\nprefix = {PREFIX}",
            f"[database]\nurl = sqlite:///{self.db}",
            "[api]\n" + "\n".join(f"{key} = {value}" for key, value in api.items()),
            f"[intake]\n{intake}",
        ]
        self.config.write_text("\n\n".join(lines) + "\n")
        self.app = App(str(self.config), {})
        self.app.open_db()
        now = datetime.now(UTC)
        self.tokens = {
            "rita": tokens.add("rita", "reader", None, now),
            "alice": tokens.add("alice", "submitter", "alice@example.org", now),
            "olive": tokens.add("olive", "operator", "olive@example.org", now),
        }
        self.asgi = create_app(self.app)
        self.http = TestClient(self.asgi, raise_server_exceptions=False)

    def call(self, method: str, path: str, token: str | None = "alice", **kwargs: Any) -> Any:
        """Send a request as the token called ``token`` (None: none); ``POST /dois`` gets
        0.2's required ``submitter`` and ``node`` unless given (test_api.spec_params)."""
        from test_api import spec_params

        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(token, token)}"
        if (method, path) == ("POST", "/dois"):
            email = {"alice": "alice@example.org", "olive": "olive@example.org"}.get(token or "")
            kwargs["params"] = spec_params(kwargs.get("params"), email)
        return self.http.request(method, BASE_PATH + path, headers=headers, **kwargs)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    made = Client(tmp_path)
    with made.http:
        yield made


def lines(answer: Any, status: int) -> list[str]:
    """Check ``answer`` has ``status`` and the JSON error body; give its lines."""
    assert answer.status_code == status, answer.text
    return [error["message"] for error in answer.json()["errors"]]


def add_records(count: int) -> list[str]:
    """Insert ``count`` reserved records (urn:nasa:pds:rNN::1.0); give their DOIs."""
    now = datetime(2026, 1, 2)
    dois = []
    for n in range(count):
        doi = f"{PREFIX}/r{n:03d}"
        Record.create(
            doi=doi,
            identifier=f"urn:nasa:pds:r{n:03d}::1.0",
            lid=f"urn:nasa:pds:r{n:03d}",
            title=f"Record {n}",
            status="reserved",
            attributes=json.dumps(MINIMAL),
            created_at=now,
            updated_at=now,
        )
        dois.append(doi)
    return dois


def test_many_filter_values_are_bounded_not_a_500(client: Client) -> None:
    dois = add_records(3)
    wanted = [f"urn:nasa:pds:none{n}*" for n in range(99)] + ["urn:nasa:pds:r001"]
    for count in (43, 100):  # 43 overflowed SQLite's parser stack
        answer = client.call("GET", "/dois", "rita", params={"ids": wanted[-count:]})
        assert answer.status_code == 200, answer.text
        assert [row["doi"] for row in answer.json()] == [dois[1]]
    for name, count in (("ids", 101), ("ids", 2600), ("doi", 101), ("status", 500)):
        answer = client.call("GET", "/dois", "rita", params={name: ["x"] * count})
        assert lines(answer, 400) == [
            f"query parameter {name!r}: List should have at most 100 items after validation, "
            f"not {count}"
        ]


def test_hostile_bodies_get_one_line_400_and_mark_nothing(client: Client) -> None:
    reserve = {"action": "reserve", "node": "img"}
    label = {
        "title": "A Bundle",
        "product_type_specific": "PDS4 Bundle",
        "author_last_name": "Johnson",
        "author_first_name": "J. R.",
        "related_resource": "urn:nasa:pds:a_bundle::1.0",
    }
    huge_number = json.dumps({"labels": [label]}).replace(
        '"title"', '"publication_date": ' + "9" * 5000 + ', "title"'
    )
    cases = {
        b"[" * 50_000 + b"]" * 50_000: "body: nested deeper than 64 arrays and objects",
        huge_number.encode(): "body: a number of 5000 characters (at most 100)",
        json.dumps(MINIMAL | {"titles": [{"title": "t" * 10_000_000}]}).encode(): (
            "body: titles[0].title: 10000000 characters (at most 10000)"
        ),
    }
    for data, message in cases.items():
        answer = client.call("POST", "/dois", params=reserve, content=data, headers=JSON)
        assert lines(answer, 400) == [message]
    assert Record.select().count() == 0


def test_messages_name_the_api_parameters_not_the_cli_flags(client: Client) -> None:
    label = (Path(__file__).parents[1] / "data" / "pds4").glob("collection_*.xml")
    data = next(iter(sorted(label))).read_bytes()
    xml = {"content": data, "headers": {"Content-Type": "application/xml"}}
    answer = client.call("POST", "/dois", params={"action": "reserve", "node": None}, **xml)
    assert lines(answer, 400) == ["query parameter 'node': Field required"]  # 0.2 requires it
    answer = client.call("POST", "/dois", params={"action": "reserve", "submitter": " "}, **xml)
    assert lines(answer, 400) == ["query parameter 'submitter': required"]
    answer = client.call("POST", "/dois", params={"action": "reserve", "node": "xyz"}, **xml)
    assert lines(answer, 400)[0].startswith("node 'xyz': not a known node (atm, eng, geo")
    assert Record.select().count() == 0


def _raw(asgi: Any, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes, int]:
    """Send one POST /dois straight to the ASGI app, its body never coming; give (status,
    body, how often the app asked for the body)."""
    asked = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal asked
        asked += 1
        return {"type": "http.request", "body": b"{" * 65536, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{BASE_PATH}/dois",
        "raw_path": f"{BASE_PATH}/dois".encode(),
        "root_path": "",
        "query_string": b"action=reserve&node=img",
        "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
    }
    asyncio.run(asgi(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, asked


def test_a_token_is_checked_before_the_body_is_read(client: Client) -> None:
    huge = (b"content-length", b"10000000000")
    for value in (b"Bearer junk", b"bearer " + b"x" * 64, b"Bearer " + b"a" * 10_000):
        status, body, asked = _raw(client.asgi, [(b"authorization", value), huge])
        assert (status, asked) == (401, 0)
        assert json.loads(body)["errors"][0]["message"] == "the bearer token is unknown or revoked"
    for value in (b"Basic eDp5", b"Bearer ", b"Bearer"):
        status, body, asked = _raw(client.asgi, [(b"authorization", value), huge])
        assert (status, asked) == (401, 0), value
    good = (b"authorization", f"Bearer {client.tokens['alice']}".encode())
    status, body, asked = _raw(client.asgi, [good, huge])
    assert (status, asked) == (413, 0)  # refused by its Content-Length, unread
    status, body, asked = _raw(client.asgi, [good])  # no length: read until over the limit
    assert status == 413 and asked == 10485760 // 65536 + 1
    assert Record.select().count() == 0


def test_database_errors_name_no_path(client: Client) -> None:
    database_proxy.close()
    for leftover in client.db.parent.glob("o.db-*"):  # the WAL would still hold the pages
        leftover.unlink()
    client.db.write_bytes(b"this is not a database" * 100)
    for token in ("rita", None):
        answer = client.call("GET", "/dois", token)
        if token is None:
            assert answer.status_code == 401  # nothing asked of the database
            continue
        assert lines(answer, 503) == ["the database cannot be used (the server's log says why)"]
        assert str(client.db) not in answer.text and "sqlite" not in answer.text


def test_put_doi_is_a_documented_501_not_an_error_in_the_log(client: Client) -> None:
    with structlog.testing.capture_logs() as logged:
        answer = client.call("PUT", "/doi", "rita")
    assert lines(answer, 501) == [
        "PUT /doi is not implemented (as in 0.2); use POST /dois?action=update"
    ]
    assert [entry["log_level"] for entry in logged] == ["info"]


def test_405_says_which_methods_are_allowed(client: Client) -> None:
    for method, path, allowed in [
        ("PATCH", "/doi", "GET, PUT"),
        ("DELETE", "/dois", "GET, POST"),
        ("GET", "/doi/submit", "POST"),
        ("POST", "/dois/check", "GET"),
    ]:
        answer = client.call(method, path, "rita")
        assert answer.status_code == 405, (method, path)
        assert answer.headers["Allow"] == allowed
        assert lines(answer, 405) == [
            f"{method} {BASE_PATH}{path}: method not allowed (allowed: {allowed})"
        ]


@pytest.mark.parametrize(
    ("api", "base"),
    [
        ({"base_url": "https://doi.example.org/api/"}, "https://doi.example.org/api"),
        ({"host": "127.0.0.1", "port": "8123"}, "http://127.0.0.1:8123"),
        ({"host": "::1"}, "http://[::1]:8080"),
    ],
)
def test_the_next_link_is_built_from_the_configuration(
    tmp_path: Path, api: dict[str, str], base: str
) -> None:
    made = Client(tmp_path, **api)
    with made.http:
        add_records(3)
        answer = made.call(
            "GET", "/dois", "rita", params={"limit": 2}, headers={"Host": "evil.example"}
        )
    assert answer.status_code == 200
    cursor = answer.headers["X-Next-Cursor"]
    assert answer.headers["Link"] == (
        f'<{base}{BASE_PATH}/dois?limit=2&cursor={cursor}>; rel="next"'
    )


@pytest.fixture
def slow_host() -> Iterator[tuple[str, threading.Event]]:
    """A host on 127.0.0.2 (listed in url_hosts by address) that accepts a connection,
    sets the event it gives, and then sends one byte a second; gives (URL, event)."""
    listener = socket.create_server(("127.0.0.2", 0))
    connected = threading.Event()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=trickle, args=(connection,), daemon=True).start()

    def trickle(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            connected.set()
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100:
                if stop.wait(1.0):  # a hostile host's pace, not synchronisation
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.2:{listener.getsockname()[1]}/label.xml", connected
    stop.set()
    listener.close()


@pytest.mark.slow
def test_slow_url_fetches_are_bounded_and_starve_nothing(
    tmp_path: Path, slow_host: tuple[str, threading.Event]
) -> None:
    url, connected = slow_host
    made = Client(tmp_path, "url_timeout = 4", url_hosts="127.0.0.2", url_fetches="1")
    reserve = {"action": "reserve", "node": "img", "url": url}
    first: dict[str, Any] = {}

    def fetch() -> None:
        first["answer"] = made.call("POST", "/dois", params=reserve)

    with made.http:
        holder = threading.Thread(target=fetch)
        holder.start()
        assert connected.wait(10)  # the first request holds the only fetch place now
        busy = made.call("POST", "/dois", params=reserve)
        assert lines(busy, 503) == [
            "1 metadata URLs are being fetched already ([api] url_fetches); try again shortly"
        ]
        assert busy.headers["Retry-After"] == "5"
        listing = made.call("GET", "/dois", "rita")
        assert listing.status_code == 200 and holder.is_alive()  # answered meanwhile
        holder.join(30)
    assert lines(first["answer"], 400) == [f"{url}: not read within 4 s"]
    assert Record.select().count() == 0


def test_huge_numbers_in_parameters_are_no_500(client: Client) -> None:
    add_records(1)
    for number in ("9" * 30, "9" * 5000, "²"):
        cursor = base64.urlsafe_b64encode(f"after:{number}".encode()).decode()
        answer = client.call("GET", "/dois", "rita", params={"cursor": cursor})
        assert lines(answer, 400) == [f"cursor {cursor!r}: not a cursor this API gave"]
        answer = client.call("GET", "/doi", "rita", params={"identifier": number})
        assert answer.status_code in (400, 404), answer.text  # no record, one line
        assert len(answer.json()["errors"]) == 1
    answer = client.call("GET", "/dois", "rita", params={"limit": "9" * 5000})
    assert lines(answer, 400) == [
        "query parameter 'limit': Unable to parse input string as an integer, exceeded maximum size"
    ]
