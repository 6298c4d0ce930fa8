"""The DataCite client alone (``responses`` stands in for HTTP): requests sent and how every
kind of answer is classified."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses.matchers import query_string_matcher as query_string

from organiser.datacite.client import DataCiteClient, DoiPage
from organiser.datacite.errors import (
    AnswerMismatch,
    AnswerTooLarge,
    CredentialsRefused,
    DoiTaken,
    NotFound,
    PermanentError,
    StateMismatch,
    TransientError,
    WrongEndpoint,
)
from organiser.datacite.ratelimit import RateLimiter
from organiser.engine.retry import retrying

BASE = "https://api.example.org"
DOI = "10.5072/abcd-efgh"


@pytest.fixture
def client() -> DataCiteClient:
    return DataCiteClient(BASE, "USER", "secret", connect_timeout=1, timeout=2)


def _doc(state: str) -> dict:
    return {"data": {"id": DOI, "type": "dois", "attributes": {"doi": DOI, "state": state}}}


@responses.activate
def test_create_posts_a_draft_document(client: DataCiteClient) -> None:
    responses.post(f"{BASE}/dois", json=_doc("draft"), status=201)
    answer = client.create(DOI, {"titles": [{"title": "t"}], "event": "publish"})
    assert answer["state"] == "draft"
    sent = responses.calls[0].request
    assert sent.headers["Content-Type"] == "application/vnd.api+json"
    assert sent.headers["Authorization"].startswith("Basic ")
    assert json.loads(sent.body) == {
        "data": {"id": DOI, "type": "dois", "attributes": {"titles": [{"title": "t"}], "doi": DOI}}
    }


@responses.activate
def test_put_carries_the_event(client: DataCiteClient) -> None:
    responses.put(f"{BASE}/dois/{DOI}", json=_doc("findable"))
    assert client.put(DOI, {"url": "https://x.org"}, "publish")["state"] == "findable"
    body = json.loads(responses.calls[0].request.body)["data"]["attributes"]
    assert body == {"url": "https://x.org", "doi": DOI, "event": "publish"}


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "text"),
    [
        (
            422,
            {"errors": [{"source": "doi", "title": "This DOI has already been taken", "uid": DOI}]},
            {},
            DoiTaken,
            "422 doi: This DOI has already been taken",
        ),
        (
            422,
            {"errors": [{"source": "creators", "title": "can't be blank"}]},
            {},
            PermanentError,
            "422 creators: can't be blank",
        ),
        (
            403,
            {"errors": [{"status": "403", "title": "You are not authorized"}]},
            {},
            PermanentError,
            "403 You are not authorized",
        ),
        (404, {"errors": [{"title": "not found"}]}, {}, NotFound, "404 not found"),
        (405, {"errors": [{"title": "Method not allowed"}]}, {}, PermanentError, "405"),
        (401, {"errors": [{"title": "Bad credentials."}]}, {}, CredentialsRefused, "401"),
        (503, None, {}, TransientError, "503"),
        (429, {"errors": [{"title": "Too many"}]}, {"Retry-After": "7"}, TransientError, "429"),
    ],
)
def test_answers_are_classified(
    client: DataCiteClient, status: int, body: dict | None, headers: dict, error: type, text: str
) -> None:
    responses.put(f"{BASE}/dois/{DOI}", json=body, status=status, headers=headers)
    with pytest.raises(error) as raised:
        client.put(DOI, {})
    assert text in str(raised.value)
    assert "secret" not in str(raised.value)
    if status == 429:
        assert raised.value.retry_after == 7.0
    if isinstance(raised.value, PermanentError):
        assert raised.value.status == status


@responses.activate
def test_connection_problems_are_transient(client: DataCiteClient) -> None:
    responses.put(f"{BASE}/dois/{DOI}", body=requests.ConnectionError("Connection refused"))
    with pytest.raises(TransientError, match="DataCite unreachable"):
        client.put(DOI, {})
    responses.put(f"{BASE}/dois/{DOI}", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(TransientError, match="did not answer in time"):
        client.put(DOI, {})


@responses.activate
def test_get_gives_none_for_an_unknown_doi(client: DataCiteClient) -> None:
    responses.get(f"{BASE}/dois/{DOI}", status=404)
    assert client.get(DOI) is None


@responses.activate
def test_answers_that_are_not_datacite_s_stop_the_run(client: DataCiteClient) -> None:
    responses.get(
        f"{BASE}/dois/{DOI}", body="<html>proxy</html>", status=200, content_type="text/html"
    )
    with pytest.raises(WrongEndpoint, match="200 answer is text/html, not JSON"):
        client.get(DOI)
    responses.get(f"{BASE}/dois/{DOI}", json={"hello": "world"}, status=200)
    with pytest.raises(WrongEndpoint, match="not a DataCite document"):
        client.get(DOI)
    responses.post(f"{BASE}/dois", json={"errors": [{"title": "not found"}]}, status=404)
    with pytest.raises(WrongEndpoint, match="no /dois collection there"):
        client.create(DOI, {})
    responses.put(
        f"{BASE}/dois/{DOI}", body="<h1>Not Found</h1>", status=404, content_type="text/html"
    )
    with pytest.raises(WrongEndpoint, match="404 answer is text/html"):
        client.put(DOI, {})


@responses.activate
def test_a_proxy_s_html_error_page_is_still_transient(client: DataCiteClient) -> None:
    responses.get(
        f"{BASE}/dois/{DOI}", body="<html>Bad gateway</html>", status=502, content_type="text/html"
    )
    with pytest.raises(TransientError, match="502"):
        client.get(DOI)


# --- the account listing (GET /dois, cursor pagination) ---


def _listing(dois: list[str], total: int, following: str | None) -> dict:
    links = {"self": "x"} | ({"next": following} if following else {})
    return {
        "data": [
            {"id": d, "type": "dois", "attributes": {"doi": d.upper(), "state": "findable"}}
            for d in dois
        ],
        "meta": {"total": total},
        "links": links,
    }


def _query(call: responses.Call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


@responses.activate
def test_list_dois_follows_the_cursor_and_keeps_to_base_url(client: DataCiteClient) -> None:
    first = "client-id=user&page%5Bcursor%5D=1&page%5Bsize%5D=2"
    second = "client-id=user&page%5Bcursor%5D=MTYw&page%5Bsize%5D=2"
    # links.next names another host: the query is followed, credentials stay at BASE
    responses.get(
        f"{BASE}/dois?{first}",
        json=_listing(["10.5072/a", "10.5072/b"], 3, f"https://elsewhere.example/dois?{second}"),
        match=[query_string(first)],
    )
    responses.get(
        f"{BASE}/dois", json=_listing(["10.5072/c"], 3, None), match=[query_string(second)]
    )
    pages = list(client.list_dois(page_size=2))
    assert [p.total for p in pages] == [3, 3]
    assert [[r["doi"] for r in p.records] for p in pages] == [
        ["10.5072/A", "10.5072/B"],
        ["10.5072/C"],
    ]
    assert pages[0].records[0]["state"] == "findable"
    assert [c.request.url.split("?")[0] for c in responses.calls] == [f"{BASE}/dois"] * 2
    assert all(c.request.headers["Authorization"].startswith("Basic ") for c in responses.calls)


@responses.activate
def test_list_dois_sends_the_filters(client: DataCiteClient) -> None:
    responses.get(f"{BASE}/dois", json=_listing([], 0, None))
    pages = list(
        client.list_dois(
            client_id="Other.Client",
            prefix="10.5072",
            state="draft",
            updated_since=datetime(2024, 5, 6, 9, 30, tzinfo=timezone(timedelta(hours=2))),
            page_size=1000,
        )
    )
    assert pages == [DoiPage([], 0)]  # the first page is given even when empty
    assert _query(responses.calls[0]) == {
        "client-id": ["other.client"],
        "prefix": ["10.5072"],
        "state": ["draft"],
        "query": ["updated:[2024-05-06T07:30:00Z TO *]"],
        "page[cursor]": ["1"],
        "page[size]": ["1000"],
    }
    with pytest.raises(ValueError, match="page_size"):
        next(client.list_dois(page_size=1001))


@responses.activate
def test_list_dois_retries_a_page_not_the_listing(client: DataCiteClient) -> None:
    responses.get(
        f"{BASE}/dois",
        json=_listing(["10.5072/a"], 2, f"{BASE}/dois?page%5Bcursor%5D=Zz"),
        match=[query_string("client-id=user&page%5Bcursor%5D=1&page%5Bsize%5D=1")],
    )
    second = [query_string("page%5Bcursor%5D=Zz")]
    responses.get(f"{BASE}/dois", status=503, match=second)
    responses.get(f"{BASE}/dois", body=requests.ConnectionError("Connection refused"), match=second)
    responses.get(f"{BASE}/dois", json=_listing(["10.5072/b"], 2, None), match=second)
    waits: list[float] = []
    retry = retrying(5, 0.5, 2.0, waits.append)
    pages = list(client.list_dois(page_size=1, retry=retry))
    assert [r["doi"] for p in pages for r in p.records] == ["10.5072/A", "10.5072/B"]
    assert len(responses.calls) == 4 and len(waits) == 2
    # without retries (or when they run out) the listing fails with the page's error
    responses.get(f"{BASE}/dois", status=503, match=second)
    listing = client.list_dois(page_size=1, retry=retrying(2, 0.5, 2.0, waits.append))
    assert next(listing).records[0]["doi"] == "10.5072/A"
    with pytest.raises(TransientError, match=r"GET /dois\?client-id=user \(page 2\): 503"):
        next(listing)


@responses.activate
def test_list_dois_goes_through_the_rate_limiter_and_waits_out_throttling() -> None:
    now = [0.0]
    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    client = DataCiteClient(BASE, "USER", "secret", connect_timeout=1, timeout=2, limiter=limiter)
    responses.get(
        f"{BASE}/dois",
        json=_listing(["10.5072/a"], 2, f"{BASE}/dois?page%5Bcursor%5D=Q"),
        match=[query_string("client-id=user&page%5Bcursor%5D=1&page%5Bsize%5D=1")],
    )
    second = [query_string("page%5Bcursor%5D=Q")]
    responses.get(f"{BASE}/dois", status=429, headers={"Retry-After": "3"}, json={}, match=second)
    responses.get(f"{BASE}/dois", json=_listing(["10.5072/b"], 2, None), match=second)
    assert sum(len(p.records) for p in client.list_dois(page_size=1)) == 2
    assert limiter.sent == 3 and limiter.throttled == 1
    assert now[0] >= 3.0  # Retry-After was waited out, not counted as a failure


@responses.activate
def test_list_dois_refuses_answers_that_are_not_a_listing(client: DataCiteClient) -> None:
    responses.get(f"{BASE}/dois", json={"data": {"id": DOI, "attributes": {}}})
    with pytest.raises(WrongEndpoint, match="not a DataCite list"):
        list(client.list_dois())
    responses.replace(responses.GET, f"{BASE}/dois", status=401, json={"errors": []})
    with pytest.raises(CredentialsRefused):
        list(client.list_dois())
    same = f"{BASE}/dois?client-id=user&page%5Bcursor%5D=1&page%5Bsize%5D=1"
    responses.replace(responses.GET, f"{BASE}/dois", json=_listing(["10.5072/a"], 9, same))
    with pytest.raises(WrongEndpoint, match="repeats the page"):
        list(client.list_dois(page_size=1))


# --- answers count only for what was asked, and are read within bounds ---


def _other(state: str = "draft") -> dict:
    other = "10.5072/someone-else"
    return {"data": {"id": other, "type": "dois", "attributes": {"doi": other, "state": state}}}


@responses.activate
def test_an_answer_about_another_doi_is_not_counted(client: DataCiteClient) -> None:
    responses.post(f"{BASE}/dois", json=_other(), status=201)
    responses.put(f"{BASE}/dois/{DOI}", json=_other("findable"))
    responses.get(f"{BASE}/dois/{DOI}", json=_other())
    calls = [
        ("POST /dois", lambda: client.create(DOI, {})),
        (f"PUT /dois/{DOI}", lambda: client.put(DOI, {}, "publish")),
        (f"GET /dois/{DOI}", lambda: client.get(DOI)),
    ]
    for what, call in calls:
        with pytest.raises(AnswerMismatch) as raised:
            call()
        assert str(raised.value) == (
            f"{what}: the answer is about 10.5072/someone-else, not {DOI}; not counted"
        )
    # id and attributes.doi must both name it (when given)
    mixed = {"data": {"id": DOI, "attributes": {"doi": "10.5072/x", "state": "draft"}}}
    responses.replace(responses.GET, f"{BASE}/dois/{DOI}", json=mixed)
    with pytest.raises(AnswerMismatch, match=r"about 10\.5072/abcd-efgh, 10\.5072/x, not"):
        client.get(DOI)


@responses.activate
def test_dois_are_compared_case_insensitively(client: DataCiteClient) -> None:
    responses.put(f"{BASE}/dois/{DOI.upper()}", json=_doc("findable"))  # DataCite: lower case
    assert client.put(DOI.upper(), {}, "publish")["state"] == "findable"


@responses.activate
@pytest.mark.parametrize(
    ("event", "state", "asked"),
    [(None, "findable", "draft"), ("publish", "draft", "findable"), (None, None, "draft")],
)
def test_a_create_answering_another_state_is_a_state_mismatch(
    client: DataCiteClient, event: str | None, state: str | None, asked: str
) -> None:
    document = _doc(state or "draft")
    if state is None:
        del document["data"]["attributes"]["state"]
    responses.post(f"{BASE}/dois", json=document, status=201)
    with pytest.raises(StateMismatch) as raised:
        client.create(DOI, {}, event)
    assert str(raised.value) == (
        f"POST /dois: state mismatch: DataCite answered {state or 'no state'} "
        f"to a create asking for {asked}"
    )
    with pytest.raises(ValueError, match="cannot carry the event 'hide'"):
        client.create(DOI, {}, "hide")


@responses.activate
def test_an_answer_over_the_limit_by_its_length_is_not_read() -> None:
    client = DataCiteClient(BASE, "U", "p", connect_timeout=1, timeout=2, max_answer_bytes=1000)
    big = json.dumps(_doc("draft")) + " " * 2000
    responses.get(
        f"{BASE}/dois/{DOI}",
        body=big,
        content_type="application/vnd.api+json",
        auto_calculate_content_length=True,
    )
    with pytest.raises(AnswerTooLarge, match=rf"GET /dois/{DOI}: 200 answer is larger than 1000"):
        client.get(DOI)
    assert responses.calls[0].response.raw.tell() == 0  # refused on Content-Length alone
    within = {"body": big[:990], "content_type": "application/vnd.api+json"}
    responses.replace(responses.GET, f"{BASE}/dois/{DOI}", **within)  # within the limit: read
    assert client.get(DOI)["state"] == "draft"


class _Trickle(io.RawIOBase):
    """A body that gives one byte per read; each read moves ``clock`` on by ``step``."""

    def __init__(self, data: bytes, clock: list[float], step: float) -> None:
        self.data, self.clock, self.step, self.given = data, clock, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.clock[0] += self.step
        if self.given >= len(self.data):
            return 0
        buffer[0] = self.data[self.given]
        self.given += 1
        return 1


def _trickling(data: bytes, step: float) -> tuple[DataCiteClient, _Trickle]:
    now = [0.0]
    client = DataCiteClient(
        BASE, "U", "p", connect_timeout=1, timeout=2, max_answer_bytes=100, clock=lambda: now[0]
    )
    return client, _Trickle(data, now, step)


@responses.activate
def test_a_trickling_answer_ends_at_the_deadline_not_at_its_end() -> None:
    client, body = _trickling(json.dumps(_doc("findable")).encode(), 0.25)
    responses.put(
        f"{BASE}/dois/{DOI}", body=io.BufferedReader(body, 1), auto_calculate_content_length=False
    )
    with pytest.raises(TransientError, match=rf"PUT /dois/{DOI}: DataCite did not answer in time"):
        client.put(DOI, {})
    assert body.given == 8  # 2 s of reads at 0.25 s each: the rest is never waited for


@responses.activate
def test_an_answer_without_length_is_counted_while_read_and_cut() -> None:
    client, body = _trickling(b"{" + b" " * 1000 + b"}", 0.0)
    responses.put(
        f"{BASE}/dois/{DOI}", body=io.BufferedReader(body, 1), auto_calculate_content_length=False
    )
    with pytest.raises(AnswerTooLarge, match="200 answer is larger than 100 bytes; refused"):
        client.put(DOI, {})
    assert body.given == 101  # read one byte past the limit, no further


@responses.activate
def test_an_oversized_error_answer_is_still_classified_by_its_status() -> None:
    client = DataCiteClient(BASE, "U", "p", connect_timeout=1, timeout=2, max_answer_bytes=100)
    responses.put(f"{BASE}/dois/{DOI}", body="<html>" + "x" * 5000, status=503)
    with pytest.raises(TransientError, match=rf"PUT /dois/{DOI}: 503 Service Unavailable"):
        client.put(DOI, {})
