"""The stand-in follows DataCite's rules (so the other tests mean something)."""

from __future__ import annotations

import requests

from organiser.standin import StandinServer

from conftest import PASSWORD, USER

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
    assert requests.get(f"{url}/dois").json()["meta"]["total"] == 0
    assert [s["status"] for s in requests.get(f"{url}/_standin/requests").json()] == [429, 0, 200]
