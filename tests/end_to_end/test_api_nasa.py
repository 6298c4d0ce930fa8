"""The 0.2 API against its authors: NASA's own OpenAPI document of the PDS DOI Service API 0.2
(tests/data/pds-doi-api-0.2.yaml) run with schemathesis against a real ``organiser serve``,
and a session as the PDS DOI UI has it, over real HTTP.

Every operation of NASA's document gets requests generated from it (valid and invalid ones,
a fixed number, derandomized: every run sends the same), with an operator's token and, for
the reads, without one (``[api] public_reads = true``): no server error, and no answer the
document does not describe, except the deviations README lists (each excluded here for its
operation only, with the reason beside it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from test_api import Api, labels_payload, ok
from test_api_schema import REPEATABLE

from conftest import Env

pytestmark = pytest.mark.slow  # a server process and hundreds of generated requests

NASA = Path(__file__).parents[1] / "data" / "pds-doi-api-0.2.yaml"
#: Requests generated per operation and way in: enough to find what organiser answers
#: differently from the document, few enough for seconds per operation on two cores.
EXAMPLES = 30
ALICE = "alice@example.org"

#: What organiser answers differently from NASA's document on purpose, per operation (the
#: README's list of deviations, with the same reasons).
DEVIATIONS: dict[tuple[str, str], list[CheckFunction]] = {
    # the document types start_date, end_date and status as any string: a date that is not
    # ISO 8601 gets 400 (as in the PDS DOI Service), and so does a status that is not 0.2's
    ("GET", "/dois"): [positive_data_acceptance],
    # organiser checks what no schema says (DataCite's metadata rules, LIDVIDs, duplicate
    # titles, known nodes, a record that exists): a request the document allows may get 400
    ("POST", "/dois"): [positive_data_acceptance, response_schema_conformance],
    # the document says one doi_record; the PDS DOI Service (and organiser) answer a list of
    # them, as the document's own example shows
    ("GET", "/dois/check"): [positive_data_acceptance, response_schema_conformance],
    # an identifier no record has is a 404, as documented; one of the wrong shape too
    ("GET", "/doi"): [positive_data_acceptance],
    ("POST", "/doi/submit"): [positive_data_acceptance],
    # its documented 501 (as in 0.2) is the answer
    ("PUT", "/doi"): [positive_data_acceptance, not_a_server_error],
}
#: Operations whose documented codes omit what organiser answers to a request the document
#: forbids (a missing or malformed required parameter): 400, as every operation of organiser
#: (0.2 documents 400 for some operations only; a 404 or a 501 would say the wrong thing).
NO_400 = {("GET", "/doi"), ("PUT", "/doi")}


@pytest.fixture
def served(env: Env) -> Iterator[Api]:
    """``organiser serve`` with public reads, an operator token (olive), a submitter (alice),
    and records in several states: two reserved (drafts at the stand-in), one of them in
    review, and one waiting for the reserve pass. Nothing it may fetch is off this machine."""
    api = Api(env)
    # a listed address nothing listens on: a generated url is refused or fails, never leaves
    env.write_config(
        api={"public_reads": "true", "url_hosts": "127.0.0.2"}, intake={"url_timeout": "1"}
    )
    api.token("olive", "operator", "olive@example.org")
    api.token("alice", "submitter", ALICE)
    api.start()
    try:
        made = api.call(
            "POST", "/dois", params={"action": "reserve"}, json=labels_payload("a", "b")
        )
        assert made.status_code == 200, made.text
        ok(env.run("-s"))
        submitted = api.call("POST", "/doi/submit", params={"identifier": made.json()[0]["doi"]})
        assert submitted.status_code == 200, submitted.text
        waiting = api.call("POST", "/dois", params={"action": "reserve"}, json=labels_payload("c"))
        assert waiting.status_code == 200, waiting.text
        yield api
    finally:
        api.stop()


#: Every operation of NASA's document (a test checks the document lists exactly these).
OPERATIONS = [
    ("GET", "/dois"),
    ("POST", "/dois"),
    ("GET", "/doi"),
    ("PUT", "/doi"),
    ("POST", "/doi/submit"),
    ("GET", "/dois/check"),
]
READS = [("GET", "/dois"), ("GET", "/doi"), ("GET", "/dois/check")]


def test_nasas_document_lists_these_operations() -> None:
    schema = schemathesis.openapi.from_path(NASA)
    verbs = {"get", "put", "post", "delete", "patch", "head", "options"}
    listed = [
        (m.upper(), p)
        for p, methods in schema.raw_schema["paths"].items()
        for m in methods
        if m in verbs
    ]
    assert sorted(listed) == sorted(OPERATIONS)
    assert schema.raw_schema["info"]["version"] == "0.2"


def _run(api: Api, method: str, path: str, headers: dict[str, str]) -> list[str]:
    """Send an operation's generated requests; give what went wrong (nothing, it should)."""
    schema = schemathesis.openapi.from_path(NASA)
    operation = schema[path][method]
    base = api.url
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, headers=headers),
        operation.as_strategy(GenerationMode.NEGATIVE, headers=headers),
    )
    excluded = list(DEVIATIONS.get((method, path), []))
    seen: list[int] = []

    @given(case=cases)
    @settings(REPEATABLE, max_examples=EXAMPLES)
    def answers(case: Any) -> None:
        skip = list(excluded)
        negative = case.meta is not None and case.meta.generation.mode is GenerationMode.NEGATIVE
        if (method, path) in NO_400 and negative:
            skip.append(status_code_conformance)
        mails = str((case.query or {}).get("email", "")).lower() in ("true", "1")
        if (method, path) == ("GET", "/dois/check") and mails and not headers:
            skip.append(status_code_conformance)  # mailing is never public: 401 without a token
        response = case.call_and_validate(base_url=base, headers=headers, excluded_checks=skip)
        seen.append(response.status_code)
        assert "Traceback" not in response.text

    answers()
    return sorted(set(seen))


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_organiser_answers_as_nasas_document_says(served: Api, method: str, path: str) -> None:
    codes = _run(served, method, path, {"Authorization": f"Bearer {served.tokens['olive']}"})
    if (method, path) == ("PUT", "/doi"):
        assert set(codes) <= {400, 501} and 501 in codes, codes  # as in 0.2
    else:
        assert codes and max(codes) < 500, codes


@pytest.mark.parametrize(("method", "path"), READS)
def test_public_reads_answer_as_nasas_document_says_without_a_token(
    served: Api, method: str, path: str
) -> None:
    codes = _run(served, method, path, {})
    assert codes and max(codes) < 500, codes
    if (method, path) != ("GET", "/doi"):  # a generated identifier names no record: 404
        assert 200 in codes, codes


def test_a_pds_doi_ui_session(env: Env, served: Api, tmp_path: Path) -> None:
    """As the PDS DOI UI works: reserve from the rows its spreadsheet upload makes, read by
    identifier without a token, give new metadata with ``action=draft`` and DataCite JSON,
    submit, and list by each 0.2 status."""
    api, anyone = served, None
    # the UI's spreadsheet upload: one labels payload, rows as the sheet has them (a LID alone
    # too: NASA's own example), node and submitter in the query as the UI sends them
    rows = {
        "labels": [
            {
                "status": "Reserved",
                "title": "UI Session Spectra Bundle",
                "publication_date": "2024-06-01T00:00:00.000Z",
                "product_type_specific": "PDS4 Refereed Data Bundle",
                "author_last_name": "Doe",
                "author_first_name": "Jane",
                "related_resource": "urn:nasa:pds:ui_session_spectra::1.0",
            },
            {
                "status": "Reserved",
                "title": "UI Session Images Collection",
                "publication_date": "2024-06-01",
                "product_type_specific": "PDS4 Collection",
                "author_last_name": "Doe",
                "author_first_name": "Jane",
                "related_resource": "urn:nasa:pds:ui_session_images",
            },
        ]
    }
    reserved = api.call(
        "POST", "/dois", params={"action": "reserve", "node": "ENG", "submitter": ALICE}, json=rows
    )
    assert reserved.status_code == 200, reserved.text  # 0.2: 200, doi_records
    spectra, images = reserved.json()
    assert [
        (r["identifier"], r["status"], r["node"], r["submitter"]) for r in (spectra, images)
    ] == [
        ("urn:nasa:pds:ui_session_spectra::1.0", "draft", "eng", ALICE),
        ("urn:nasa:pds:ui_session_images", "draft", "eng", ALICE),
    ]
    assert spectra["creation_date"] and spectra["record"] and spectra["message"] == ""
    assert json.loads(images["record"])["data"]["attributes"]["identifiers"] == [
        {"identifier": "urn:nasa:pds:ui_session_images", "identifierType": "PDS4 LID"}
    ]

    # the UI's search and record page read without a token
    shown = api.call("GET", "/doi", anyone, params={"identifier": spectra["identifier"]})
    assert shown.status_code == 200, shown.text
    assert (shown.json()["doi"], shown.json()["status"], shown.json()["organiser_status"]) == (
        spectra["doi"],
        "draft",
        "to-be-reserved",
    )
    found = api.call(
        "GET", "/dois", anyone, params={"node": "ENG", "ids": "urn:nasa:pds:ui_session_*"}
    )
    assert [r["doi"] for r in found.json()] == [spectra["doi"], images["doi"]]
    # writes never go without a token
    assert (
        api.call("POST", "/doi/submit", anyone, params={"identifier": spectra["doi"]}).status_code
        == 401
    )
    edited = dict(json.loads(spectra["record"]))
    assert (
        api.call("POST", "/dois", anyone, params={"action": "draft"}, json=edited).status_code
        == 401
    )

    ok(env.run("-s"))  # the reserve pass: drafts at the stand-in
    assert {env.remote[spectra["doi"]], env.remote[images["doi"]]} == {"draft"}

    # action=draft with DataCite JSON (the record as the UI edited it)
    attributes = edited["data"]["attributes"]
    attributes["titles"] = [{"title": "UI Session Spectra Bundle, Revised"}]
    drafted = api.call(
        "POST", "/dois", params={"action": "draft", "node": "eng", "submitter": ALICE}, json=edited
    )
    assert drafted.status_code == 200, drafted.text
    [draft] = drafted.json()
    assert (draft["doi"], draft["status"], draft["organiser_status"], draft["title"]) == (
        spectra["doi"],
        "draft",
        "update-reserved",
        "UI Session Spectra Bundle, Revised",
    )
    ok(env.run("-u"))
    held = env.server.datacite.dois[spectra["doi"]]["attributes"]["titles"]
    assert held == [{"title": "UI Session Spectra Bundle, Revised"}]

    # submit for review, an operator releases the other, the register pass publishes it
    submitted = api.call("POST", "/doi/submit", params={"identifier": spectra["identifier"]})
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "review"
    assert api.call("POST", "/doi/submit", params={"identifier": images["doi"]}).status_code == 200
    released = api.call("POST", "/doi/release", "olive", params={"identifier": images["doi"]})
    assert released.json()["status"] == "pending"

    def listed(status: str) -> list[str]:
        answer = api.call("GET", "/dois", anyone, params={"status": status, "ids": "*ui_session*"})
        assert answer.status_code == 200, answer.text
        assert {r["status"] for r in answer.json()} <= {status.lower()}
        return [r["doi"] for r in answer.json()]

    assert listed("review") == [spectra["doi"]]
    assert listed("pending") == [images["doi"]]
    ok(env.run("-r"))
    assert env.remote[images["doi"]] == "findable"
    by_status = {
        status: listed(status)
        for status in ("unknown", "draft", "review", "pending", "Findable", "deactivated", "error")
    }
    assert by_status == {
        "unknown": [],
        "draft": [],
        "review": [spectra["doi"]],
        "pending": [],
        "Findable": [images["doi"]],
        "deactivated": [],
        "error": [],
    }
    # the UI's pending list: 0.2's answer, a list of doi_record
    check = api.call("GET", "/dois/check", anyone, params={"submitter": "ui@example.org"})
    assert check.status_code == 200, check.text
    assert spectra["doi"] in [r["doi"] for r in check.json()]
    refused = api.call("GET", "/dois", anyone, params={"status": "to-be-reserved"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"].startswith("status 'to-be-reserved': not a 0.2")
    own = api.call("GET", "/dois", anyone, params={"organiser_status": "draft"})
    assert own.status_code == 400
    assert own.json()["errors"][0]["message"].startswith(
        "organiser_status 'draft': not an organiser status (to-be-reserved, reserved, review"
    )
    waiting = api.call("GET", "/dois", anyone, params={"organiser_status": "Registered"})
    assert [r["doi"] for r in waiting.json() if "ui_session" in r["identifier"]] == [images["doi"]]
    # mailing the pending list is never public
    mail = {"submitter": "ui@example.org", "email": "true"}
    assert api.call("GET", "/dois/check", anyone, params=mail).status_code == 401
