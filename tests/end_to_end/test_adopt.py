"""DOIs that DataCite already holds when a record carrying them is reserved or registered (a
PDS4 label whose DOI an earlier tool minted): adopted when held for the same identifier, with
no create sent, and refused as before when held for another."""

from __future__ import annotations

import json

import pytest

from conftest import DATA, PASSWORD, USER, Env

LABEL = DATA / "pds4" / "bundle_insight_cameras_doi_editor_list.xml"
LIDVID = "urn:nasa:pds:insight_cameras::1.0"
DOI = "10.17189/29569"  # the label's Citation_Information/doi


@pytest.fixture
def marked(env: Env) -> Env:
    """The label marked for reservation under the PDS prefix that its DOI belongs to."""
    env.server.datacite.accounts[USER] = (PASSWORD, ["10.5072", "10.17189"])
    env.write_config(datacite={"prefix": "10.17189"})
    result = env.run("reserve", str(LABEL), "--node", "img")
    assert result.returncode == 0, result.stderr
    [record] = env.records()
    assert (record.doi, record.identifier, record.doi_generated) == (DOI, LIDVID, False)
    return env


def _hold(env: Env, event: str | None, **changes: object) -> dict:
    """Put the record's DOI at the stand-in as an earlier tool left it; give what it holds."""
    [record] = env.records()
    attributes = {**json.loads(record.attributes), "url": record.url, **changes}
    status, _ = env.server.datacite.upsert(DOI, attributes, USER, event, create_only=True)
    assert status == 201
    env.server.datacite.seen.clear()
    return env.server.datacite.dois[DOI]["attributes"]


def _requests(env: Env) -> list[tuple[str, str | None]]:
    return [(s.method, s.event) for s in env.server.datacite.seen]


def test_a_findable_doi_held_for_the_label_is_adopted_without_a_create(marked: Env) -> None:
    _hold(marked, "publish")
    result = marked.run("-s")
    assert result.returncode == 0, result.stdout + result.stderr
    [record] = marked.records()
    assert (record.status, record.remote_state) == ("registered", "findable")
    assert _requests(marked) == [("GET", None)]  # the same metadata: nothing to send
    assert marked.remote == {DOI: "findable"}
    assert marked.history(record)[-1] == ("to-be-reserved", "registered", "adopted")


def test_an_adopted_doi_gets_the_new_metadata_when_it_differs(marked: Env) -> None:
    _hold(marked, "publish", titles=[{"title": "An older title"}])
    assert marked.run("-s").returncode == 0
    [record] = marked.records()
    assert (record.status, record.remote_state) == ("registered", "findable")
    assert _requests(marked) == [("GET", None), ("PUT", None)]
    held = marked.server.datacite.dois[DOI]
    assert held["state"] == "findable"
    assert held["attributes"]["titles"] == json.loads(record.attributes)["titles"]


def test_a_draft_held_for_the_label_makes_it_reserved(marked: Env) -> None:
    _hold(marked, None)
    assert marked.run("-s").returncode == 0
    [record] = marked.records()
    assert (record.status, record.remote_state) == ("reserved", "draft")
    assert _requests(marked) == [("GET", None)]


@pytest.mark.slow
def test_registering_adopts_a_held_draft_with_one_publish(marked: Env) -> None:
    _hold(marked, None)
    assert marked.run("register", "1").returncode == 0
    assert marked.run("-r").returncode == 0
    [record] = marked.records()
    assert (record.status, record.remote_state) == ("registered", "findable")
    assert _requests(marked) == [("GET", None), ("PUT", "publish")]
    assert marked.remote == {DOI: "findable"}


def test_a_doi_held_for_another_identifier_is_refused(marked: Env) -> None:
    held = _hold(
        marked,
        "publish",
        identifiers=[{"identifier": "urn:nasa:pds:other::1.0", "identifierType": "PDS4 LIDVID"}],
    )  # the same landing page: shared pages do not make a DOI ours
    result = marked.run("-s")
    assert result.returncode == 1
    [record] = marked.records()
    assert record.status == "to-be-reserved"
    assert record.last_error == f"DOI {DOI} is already taken at DataCite by another record"
    assert {m for m, _ in _requests(marked)} == {"GET"}  # looked, never wrote
    assert marked.server.datacite.dois[DOI]["attributes"] == held


def test_deleting_a_record_never_touches_another_record_s_doi(marked: Env) -> None:
    _hold(
        marked,
        "publish",
        identifiers=[{"identifier": "urn:nasa:pds:other::1.0", "identifierType": "PDS4 LIDVID"}],
    )
    assert marked.run("-s").returncode == 1  # refused: taken by another record
    assert marked.run("delete", "1").returncode == 0
    marked.server.datacite.seen.clear()
    assert marked.run("-d").returncode == 0
    [record] = marked.records()
    assert record.status == "deleted"
    assert _requests(marked) == [("GET", None)]  # looked, saw it is not ours, sent nothing
    assert marked.remote == {DOI: "findable"}
