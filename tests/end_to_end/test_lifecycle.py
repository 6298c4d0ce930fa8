"""The whole lifecycle through the installed command against the stand-in."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from conftest import DATA, Env, template, write_records

PG_URL = os.environ.get("ORGANISER_TEST_POSTGRES_URL")


@pytest.mark.slow
def test_lifecycle_of_fifty_records(env: Env) -> None:
    env.write_config(datacite={"rate_limit": "0"})  # the stand-in takes any rate
    write_records(env.tmp / "in", 50)
    marked = env.run("reserve", str(env.tmp / "in"), "--node", "img", "--submitter", "a@b.org")
    assert marked.returncode == 0, marked.stderr
    assert len(marked.stdout.splitlines()) == 50
    assert env.remote == {}  # intake never talks to DataCite

    reserved = env.run("-s")
    assert reserved.returncode == 0, reserved.stderr
    assert reserved.stdout.strip() == "reserve: 50 done, 0 failed, 0 skipped"
    records = env.records()
    assert {r.doi: "draft" for r in records} == env.remote
    assert {r.status for r in records} == {"reserved"}

    assert env.run("register", *[r.doi for r in records]).returncode == 0
    registered = env.run("-r")
    assert registered.returncode == 0, registered.stderr
    assert set(env.remote.values()) == {"findable"}

    first, draft_one, findable_one = records[0], records[1], records[2]
    changed = template()
    changed["identifiers"] = [{"identifier": first.identifier, "identifierType": "PDS4 LIDVID"}]
    changed["titles"] = [{"title": "A better title"}]
    (env.tmp / "new.json").write_text(json.dumps(changed))
    assert env.run("update", first.doi, str(env.tmp / "new.json")).returncode == 0
    assert env.records()[0].status == "update-registered"
    updated = env.run("-u")
    assert updated.returncode == 0, updated.stderr
    held = env.server.datacite.dois[first.doi]
    assert held["attributes"]["titles"] == [{"title": "A better title"}]
    assert held["state"] == "findable"
    assert env.records()[0].status == "registered"

    # a draft (freshly reserved) and a findable DOI are both deleted
    write_records(env.tmp / "more", 1, start=900)
    env.ok("reserve", str(env.tmp / "more"))
    env.ok("-s")
    draft = env.records()[-1]
    assert env.remote[draft.doi] == "draft"
    deleted = env.run("delete", draft.doi, findable_one.identifier)
    assert deleted.returncode == 0, deleted.stderr
    assert env.run("-d").returncode == 0
    assert draft.doi not in env.remote
    assert env.remote[findable_one.doi] == "registered"  # hidden, not deleted
    by_doi = {r.doi: r for r in env.records()}
    assert by_doi[draft.doi].status == "deleted"
    assert by_doi[findable_one.doi].status == "deleted"
    assert by_doi[draft_one.doi].status == "registered"

    assert env.history(by_doi[first.doi]) == [
        (None, "to-be-reserved", "mark-reserve"),
        ("to-be-reserved", "reserved", "reserved"),
        ("reserved", "to-be-registered", "mark-register"),
        ("to-be-registered", "registered", "registered"),
        ("registered", "update-registered", "mark-update"),
        ("update-registered", "registered", "updated"),
    ]
    assert env.history(by_doi[findable_one.doi])[-2:] == [
        ("registered", "to-be-deleted", "mark-delete"),
        ("to-be-deleted", "deleted", "deleted"),
    ]
    assert env.history(by_doi[draft.doi])[-1] == ("to-be-deleted", "deleted", "deleted")
    assert all(r.claim_owner is None for r in env.records())


def test_flags_run_in_fixed_order_whatever_their_order(env: Env) -> None:
    write_records(env.tmp / "in", 2)
    env.ok("reserve", str(env.tmp / "in"))
    env.ok("register", "1")
    result = env.run("-d", "-r", "-s", "-u")
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "update",
        "reserve",
        "register",
        "delete",
    ]
    # reserve ran before register in one run, so record 1 went all the way to findable
    assert sorted(env.remote.values()) == ["draft", "findable"]


@pytest.mark.slow
def test_register_doi_pushes_one_record_now(env: Env) -> None:
    identifiers = write_records(env.tmp / "in", 3)
    env.ok("reserve", str(env.tmp / "in"))
    result = env.run("--register-doi", identifiers[1])
    assert result.returncode == 0, result.stderr
    records = env.records()
    assert [r.status for r in records] == ["to-be-reserved", "registered", "to-be-reserved"]
    assert env.remote == {records[1].doi: "findable"}
    # the same by DOI in https://doi.org/ form, from reserved
    env.ok("--reserve-doi", records[2].doi)
    result = env.run("--register-doi", f"https://doi.org/{records[2].doi.upper()}")
    assert result.returncode == 0, result.stderr
    assert env.remote[records[2].doi] == "findable"


@pytest.mark.slow
def test_update_doi_resends_metadata_and_delete_doi_hides(env: Env) -> None:
    write_records(env.tmp / "in", 1)
    env.ok("reserve", str(env.tmp / "in"))
    env.ok("--register-doi", "1")
    doi = env.records()[0].doi
    env.server.datacite.dois[doi]["attributes"]["titles"] = [{"title": "changed elsewhere"}]
    assert env.run("--update-doi", doi).returncode == 0
    assert env.server.datacite.dois[doi]["attributes"]["titles"][0]["title"].startswith("Organiser")
    refused = env.run("--delete-doi", f"doi:{doi}")  # DSpace's rule: mark it first
    assert refused.returncode == 2
    assert refused.stderr == (
        f"Error: {doi} is registered; --delete-doi pushes a record marked to-be-deleted; "
        f"mark it first: organiser delete doi:{doi}\n"
    )
    assert env.remote[doi] == "findable"
    assert env.run("delete", doi).returncode == 0
    assert env.run("--delete-doi", f"doi:{doi}").returncode == 0
    assert env.remote[doi] == "registered"
    assert env.records()[0].status == "deleted"


@pytest.mark.slow
def test_quiet_prints_nothing_on_success_and_list_shows_queue(env: Env) -> None:
    write_records(env.tmp / "in", 2)
    env.ok("reserve", str(env.tmp / "in"))
    queued = env.ok("-l")
    assert [line.split("\t")[2] for line in queued.stdout.splitlines()] == ["to-be-reserved"] * 2
    result = env.run("-s", "-q")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert env.ok("-l").stdout == ""
    listed = json.loads(env.ok("list", "--json", "--status", "reserved").stdout)
    assert [r["status"] for r in listed] == ["reserved", "reserved"]
    assert env.ok("list", "--limit", "1").stdout.count("\n") == 1


def test_datacite_xml_source_and_a_doi_under_another_prefix(env: Env) -> None:
    xml = DATA / "datacite" / "kernel4_sample.xml"
    bom = DATA / "datacite" / "draft_mro_sharad_pds3_utf8_bom.json"
    refused = env.run("reserve", str(xml), str(bom))
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"Error: {bom}: DOI 10.13143/p3de-0n02 is not under this repository's prefix 10.5072"
    )
    assert env.snapshot() == []  # the good XML file was not marked either

    result = env.run("reserve", str(xml))
    assert result.returncode == 0, result.stderr
    record = env.records()[0]
    assert (record.doi, record.identifier, record.doi_generated) == (
        "10.5072/org-xml1",
        "urn:nasa:pds:insight_cameras::1.0",
        False,
    )
    pushed = env.run("--register-doi", record.doi)
    assert pushed.returncode == 1  # the sample has no landing page: DataCite refuses to publish
    assert env.remote == {}  # one POST with publish: refused whole, nothing created
    assert env.records()[0].status == "to-be-registered"
    assert env.records()[0].last_error.endswith("422 url: can't be blank")


@pytest.mark.slow
@pytest.mark.skipif(not PG_URL, reason="ORGANISER_TEST_POSTGRES_URL not set")
def test_the_same_on_postgresql(env: Env) -> None:
    assert PG_URL is not None
    env.use_database(PG_URL)
    write_records(env.tmp / "in", 12)
    assert env.run("reserve", str(env.tmp / "in")).returncode == 0
    assert env.run("register", "1", "2", "3").returncode == 0
    result = env.run("-s", "-r")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "reserve: 9 done, 0 failed, 0 skipped",
        "register: 3 done, 0 failed, 0 skipped",
    ]
    records = env.records()
    assert [r.status for r in records] == ["registered"] * 3 + ["reserved"] * 9
    assert Counter(env.remote.values()) == {"findable": 3, "draft": 9}
    assert len(env.history(records[0])) == 3
