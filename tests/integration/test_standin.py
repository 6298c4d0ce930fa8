"""The stand-in follows DataCite's rules (so the other tests mean something)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from organiser.standin import Faults, StandinServer

from conftest import DATA, PASSWORD, USER

AUTH = (USER, PASSWORD)
FULL = {
    "titles": [{"title": "t"}],
    "creators": [{"name": "n"}],
    "publisher": "p",
    "publicationYear": 2026,
    "types": {"resourceTypeGeneral": "Dataset"},
    "url": "https://example.org/1",
}


def _doc(doi: str | None, event: str | None = None, **attributes: object) -> dict:
    if doi:
        attributes["doi"] = doi
    if event:
        attributes["event"] = event
    return {"data": {"type": "dois", "attributes": attributes}}


def test_post_refuses_a_taken_doi_and_put_upserts(standin: StandinServer) -> None:
    url = standin.url
    assert requests.post(f"{url}/dois", json=_doc("10.5072/a"), auth=AUTH).status_code == 201
    taken = requests.post(f"{url}/dois", json=_doc("10.5072/A"), auth=AUTH)
    assert taken.status_code == 422
    assert taken.json() == {
        "errors": [
            {"source": "doi", "title": "This DOI has already been taken", "uid": "10.5072/a"}
        ]
    }
    put = requests.put(f"{url}/dois/10.5072/b", json=_doc(None, **FULL), auth=AUTH)
    assert put.status_code == 201 and put.json()["data"]["attributes"]["state"] == "draft"


def test_events_move_state_or_are_ignored(standin: StandinServer) -> None:
    url, doi = standin.url, "10.5072/e"

    def put(event: str, **attributes: object) -> str:
        answer = requests.put(f"{url}/dois/{doi}", json=_doc(None, event, **attributes), auth=AUTH)
        return answer.json()["data"]["attributes"]["state"]

    assert put("hide", **FULL) == "draft"  # not a valid transition: silently ignored
    assert put("register") == "registered"
    assert put("register") == "registered"
    assert put("publish") == "findable"
    assert put("hide") == "registered"
    assert requests.delete(f"{url}/dois/{doi}", auth=AUTH).status_code == 405


def test_publishing_needs_the_required_metadata(standin: StandinServer) -> None:
    answer = requests.put(
        f"{standin.url}/dois/10.5072/m", json=_doc(None, "publish", titles=[]), auth=AUTH
    )
    assert answer.status_code == 422
    sources = [e["source"] for e in answer.json()["errors"]]
    assert sources == ["titles", "creators", "publisher", "publicationYear", "types", "url"]
    assert "10.5072/m" not in standin.datacite.dois


def test_auth_prefix_and_missing_dois(standin: StandinServer) -> None:
    url = standin.url
    assert (
        requests.post(f"{url}/dois", json=_doc("10.5072/x"), auth=(USER, "bad")).status_code == 401
    )
    assert requests.post(f"{url}/dois", json=_doc("10.9999/x"), auth=AUTH).status_code == 403
    assert requests.get(f"{url}/dois/10.5072/none").status_code == 404
    assert requests.delete(f"{url}/dois/10.5072/none", auth=AUTH).status_code == 404
    requests.post(f"{url}/dois", json=_doc("10.9999/y"), auth=("OTHER.CLIENT", "x"))
    assert requests.delete(f"{url}/dois/10.9999/y", auth=AUTH).status_code == 403


def test_faults_over_http(standin: StandinServer) -> None:
    url = standin.url
    assert requests.put(f"{url}/_standin/faults", json={"nonsense": 1}).status_code == 400
    requests.put(f"{url}/_standin/faults", json={"rate_limit_rate": 1.0, "retry_after": 3})
    limited = requests.get(f"{url}/dois/10.5072/a")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    requests.put(f"{url}/_standin/faults", json={"outage_after": 0})
    try:
        requests.get(f"{url}/dois/10.5072/a", timeout=2)
        raise AssertionError("the outage answered")
    except requests.ConnectionError:
        pass
    requests.put(f"{url}/_standin/faults", json={})
    assert requests.get(f"{url}/dois", auth=AUTH).json()["meta"]["total"] == 0
    assert [s["status"] for s in requests.get(f"{url}/_standin/requests").json()] == [429, 0, 200]


def _fixture(name: str) -> dict:
    """Give the attributes of a real DataCite record in tests/data/datacite."""
    text = (DATA / "datacite" / name).read_text(encoding="utf-8-sig")
    return json.loads(text)["data"]["attributes"]


def _preload(standin: StandinServer, count: int) -> list[str]:
    """Hold ``count`` DOIs of the test account (states in turn draft, findable, registered;
    created one second apart, newest DOI names first) and 3 of another account; give the
    test account's DOIs in creation order."""
    api, dois = standin.datacite, []
    template = _fixture("findable_sbn_arecibo_radar_related_identifier.json")
    for n in range(count):
        doi = f"10.5072/list-{count - n:04d}"
        api.add(
            doi,
            dict(template, titles=[{"title": f"t{n}"}]),
            state=("draft", "findable", "registered")[n % 3],
            created=f"2020-01-01T00:{n // 60:02d}:{n % 60:02d}Z",
            updated=f"2024-01-{1 + n % 28:02d}T00:00:00Z",
        )
        dois.append(doi)
    for n in range(3):
        api.add(f"10.9999/other-{n}", template, client="OTHER.CLIENT")
    return dois


def _pages(url: str, first: str) -> list[dict]:
    pages, link = [], f"{url}/dois?{first}"
    while link:
        page = requests.get(link, auth=AUTH, timeout=5).json()
        pages.append(page)
        link = page["links"].get("next")
    return pages


def test_cursor_pagination_lists_the_account_once_in_creation_order(
    standin: StandinServer,
) -> None:
    dois = _preload(standin, 25)
    pages = _pages(standin.url, f"client-id={USER.lower()}&page[cursor]=1&page[size]=10")
    assert [len(p["data"]) for p in pages] == [10, 10, 5]
    assert {p["meta"]["total"] for p in pages} == {25}
    listed = [item["id"] for p in pages for item in p["data"]]
    assert listed == dois  # each once, oldest first, none of the other account's
    cursors = [parse_qs(urlsplit(p["links"]["next"]).query)["page[cursor]"][0] for p in pages[:2]]
    assert len(set(cursors)) == 2 and not any(c.isdigit() for c in cursors)  # opaque tokens
    assert base64.urlsafe_b64decode(cursors[0] + "==").decode().endswith(dois[9])
    item = pages[0]["data"][0]
    assert item["type"] == "dois" and item["attributes"]["doi"] == dois[0]
    assert {"state", "url", "updated", "created", "titles"} <= set(item["attributes"])
    assert "xml" not in item["attributes"]  # lists leave it out, as DataCite does
    assert item["relationships"]["client"]["data"]["id"] == USER


def test_a_full_last_page_is_followed_by_an_empty_one(standin: StandinServer) -> None:
    _preload(standin, 20)
    pages = _pages(standin.url, "page[cursor]=1&page[size]=10")
    assert [len(p["data"]) for p in pages] == [10, 10, 0]
    assert "next" not in pages[-1]["links"]


def test_listing_filters(standin: StandinServer) -> None:
    dois = _preload(standin, 30)

    def listed(query: str) -> list[str]:
        return [i["id"] for p in _pages(standin.url, query + "&page[cursor]=1") for i in p["data"]]

    assert listed("state=draft") == dois[0::3]
    assert listed("state=findable,registered") == [d for n, d in enumerate(dois) if n % 3]
    assert listed("prefix=10.5072") == dois
    assert listed("prefix=10.9999") == []  # the other account's: not listed to this one
    assert listed("client-id=other.client") == []
    since = "query=updated:[2024-01-27T00:00:00Z TO *]"
    assert listed(since) == [d for n, d in enumerate(dois) if 1 + n % 28 >= 27]
    window = "query=updated:[2024-01-02 TO 2024-01-02T00:00:00Z]"
    assert listed(window) == [dois[1], dois[29]]
    bad = requests.get(f"{standin.url}/dois?query=titles.title:x", auth=AUTH)
    assert bad.status_code == 400
    bad = requests.get(f"{standin.url}/dois?page[cursor]=nonsense!", auth=AUTH)
    assert bad.status_code == 400 and "cursor" in bad.json()["errors"][0]["title"]


def test_page_size_is_capped_and_page_numbers_work(standin: StandinServer) -> None:
    dois = _preload(standin, 12)
    page = requests.get(f"{standin.url}/dois?page[size]=5000", auth=AUTH).json()
    assert len(page["data"]) == 12 and page["meta"]["totalPages"] == 1
    pages = _pages(standin.url, "page[size]=5")
    assert [i["id"] for p in pages for i in p["data"]] == dois
    assert [p["meta"]["page"] for p in pages] == [1, 2, 3]


def test_listing_needs_the_account_and_meets_the_faults(standin: StandinServer) -> None:
    _preload(standin, 3)
    url = f"{standin.url}/dois?page[cursor]=1"
    assert requests.get(url).status_code == 401
    assert requests.get(url, auth=(USER, "wrong")).status_code == 401
    standin.datacite.set_faults(Faults(error_rate=1.0))
    assert requests.get(url, auth=AUTH).status_code == 503
    requests.put(f"{standin.url}/_standin/faults", json={"rate_limit_rate": 1.0})
    assert requests.get(url, auth=AUTH).status_code == 429
    seen = requests.get(f"{standin.url}/_standin/requests").json()
    assert [(s["method"], s["doi"], s["query"], s["status"]) for s in seen] == [
        ("GET", None, "page[cursor]=1", 401),
        ("GET", None, "page[cursor]=1", 401),
        ("GET", None, "page[cursor]=1", 503),
        ("GET", None, "page[cursor]=1", 429),
    ]


@pytest.mark.parametrize("state", ["draft", "registered", "findable"])
def test_preloading_over_http(standin: StandinServer, state: str) -> None:
    attributes = _fixture("draft_insight_cameras.json")
    answer = requests.post(
        f"{standin.url}/_standin/dois",
        json=[
            {
                "doi": "10.5072/PRE-1",
                "state": state,
                "attributes": attributes,
                "updated": "2023-05-06T07:08:09Z",
            }
        ],
    )
    assert answer.json() == {"held": 1}
    held = requests.get(f"{standin.url}/dois/10.5072/pre-1").json()["data"]["attributes"]
    assert (held["state"], held["updated"], held["created"]) == (
        state,
        "2023-05-06T07:08:09Z",
        "2023-05-06T07:08:09Z",
    )
    assert held["titles"] == attributes["titles"]
    refused = requests.post(f"{standin.url}/_standin/dois", json=[{"doi": "x", "state": "gone"}])
    assert refused.status_code == 400


def test_a_listing_follows_dois_taken_out_or_edited_directly(standin: StandinServer) -> None:
    dois = _preload(standin, 6)
    first = _pages(standin.url, "page[cursor]=1&page[size]=4")  # the order is cached now
    assert [i["id"] for p in first for i in p["data"]] == dois
    held = standin.datacite.dois
    del held[dois[1]]  # as a test may do, bypassing the stand-in's own methods
    held[dois[2]]["state"] = "registered"
    pages = _pages(standin.url, "page[cursor]=1&page[size]=4&state=registered,findable")
    listed = [i["id"] for p in pages for i in p["data"]]
    assert listed == [d for n, d in enumerate(dois) if n != 1 and (n % 3 or n == 2)]
    assert pages[0]["meta"]["total"] == len(listed)


def test_answer_faults_lie_about_the_answer_only(standin: StandinServer) -> None:
    url = standin.url
    faults = requests.put(
        f"{url}/_standin/faults", json={"other_doi": True, "wrong_state": "findable"}
    )
    assert (faults.json()["other_doi"], faults.json()["wrong_state"]) == (True, "findable")
    created = requests.post(f"{url}/dois", json=_doc("10.5072/L1"), auth=AUTH)
    assert created.status_code == 201
    data = created.json()["data"]
    assert (data["id"], data["attributes"]["doi"]) == ("10.5072/other.l1",) * 2
    assert data["attributes"]["state"] == "findable"
    got = requests.get(f"{url}/dois/10.5072/l1").json()["data"]
    assert (got["id"], got["attributes"]["state"]) == ("10.5072/other.l1", "draft")  # GET: DOI
    requests.put(f"{url}/_standin/faults", json={})
    assert standin.datacite.states() == {"10.5072/l1": "draft"}  # applied as DataCite would
    assert requests.get(f"{url}/dois/10.5072/l1").json()["data"]["id"] == "10.5072/l1"


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_answers_are_valid_json_padded_to_size(
    standin: StandinServer, chunked: bool
) -> None:
    url = standin.url
    requests.put(f"{url}/_standin/faults", json={"oversize_mb": 1.5, "oversize_chunked": chunked})
    answer = requests.post(f"{url}/dois", json=_doc("10.5072/big"), auth=AUTH)
    assert answer.status_code == 201
    assert len(answer.content) == int(1.5 * 1024 * 1024)
    assert ("Content-Length" in answer.headers) is not chunked
    assert answer.headers.get("Transfer-Encoding") == ("chunked" if chunked else None)
    assert answer.json()["data"]["id"] == "10.5072/big"
    listing = requests.get(f"{url}/dois?client-id={USER}", auth=AUTH)
    assert len(listing.content) == int(1.5 * 1024 * 1024)
    missing = requests.get(f"{url}/dois/10.5072/none")  # errors are not padded
    assert missing.status_code == 404 and len(missing.content) < 1000


@pytest.mark.slow
@pytest.mark.parametrize("headers", [False, True])
def test_a_trickled_answer_arrives_whole_byte_by_byte(
    standin: StandinServer, headers: bool
) -> None:
    url = standin.url
    requests.put(f"{url}/_standin/faults", json={"trickle": 0.002, "trickle_headers": headers})
    with requests.post(f"{url}/dois", json=_doc("10.5072/t"), auth=AUTH, stream=True) as answer:
        assert answer.status_code == 201
        pieces = []
        while piece := answer.raw.read1(1024):  # what has come so far
            pieces.append(piece)
    assert len(pieces) > 1  # it came in pieces, not in one write
    assert json.loads(b"".join(pieces))["data"]["id"] == "10.5072/t"
    assert [(s.method, s.status) for s in standin.datacite.seen] == [("POST", 201)]
