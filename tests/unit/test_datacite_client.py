"""The DataCite client alone (``responses`` stands in for HTTP): requests sent and how every
kind of answer is classified."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from organiser.datacite.client import DataCiteClient
from organiser.datacite.errors import (
    CredentialsRefused,
    DoiTaken,
    NotFound,
    PermanentError,
    TransientError,
    WrongEndpoint,
)

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
    answer = client.create_draft(DOI, {"titles": [{"title": "t"}], "event": "publish"})
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
        client.create_draft(DOI, {})
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
