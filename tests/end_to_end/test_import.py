"""``organiser import`` end to end: the installed command against an account preloaded in the
stand-in from real DataCite records (tests/data/datacite), asserted on the rows written, what
the stand-in received, the output and the exit codes."""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from organiser.actions import imports
from organiser.intake.formats import pds4
from organiser.intake.formats.datacite_json import WRITABLE
from organiser.lock import RunLock
from organiser.standin import DataCite
from organiser.storage.models import History, Record

from conftest import DATA, PREFIX, USER, Env

PG_URL = os.environ.get("ORGANISER_TEST_POSTGRES_URL")
FIXTURES = (
    "draft_insight_cameras.json",
    "draft_mro_sharad_pds3_utf8_bom.json",
    "findable_ladee_nms_legacy_osti_ids.json",
    "findable_sbn_arecibo_radar_related_identifier.json",
)
STATUS = {"draft": "reserved", "findable": "registered", "registered": "deleted"}
#: State of the n-th preloaded DOI: 60 % findable, 30 % draft, 10 % hidden (registered).
STATES = tuple({"F": "findable", "D": "draft", "R": "registered"}[c] for c in "FDFFDRFDFF")


def _templates() -> list[tuple[dict[str, Any], str | None]]:
    """Give real DataCite records as (attributes, node expected), every record of every
    fixture: InSight cameras (Site ID LIDVID, Engineering Node), MRO SHARAD (only a DOI
    identifier), LADEE NMS x2 (an OSTI id before the LIDVID, no DataCurator), Arecibo radar
    (PDS4 Bundle LIDVID in both identifier lists, "PDS Small Bodies Node")."""
    found = []
    for name in FIXTURES:
        text = (DATA / "datacite" / name).read_text(encoding="utf-8-sig")
        data = json.loads(text)["data"]
        for item in data if isinstance(data, list) else [data]:
            attributes = item["attributes"]
            curators = [
                c["name"]
                for c in attributes.get("contributors") or []
                if c.get("contributorType") == "DataCurator"
            ]
            node = {
                "Planetary Data System: Engineering Node": "eng",
                "PDS Small Bodies Node": "sbn",
            }
            found.append((attributes, node.get(curators[0]) if curators else None))
    assert len(found) == 5
    return found


def preload(api: DataCite, count: int) -> dict[str, tuple[str, str, str | None]]:
    """Hold ``count`` DOIs of the test account at the stand-in, made from the real records
    in turn (each with its own LIDVID and title), in mixed states, and two DOIs of another
    account; give DOI -> (status, identifier, node) expected after an import."""
    templates = _templates()
    expected = {}
    for n in range(count):
        base, node = templates[n % len(templates)]
        attributes = copy.deepcopy(base)
        doi = f"{PREFIX}/imp-{n:05d}"
        lidvid = f"urn:nasa:pds:import_test:bundle_{n:05d}::1.0"
        identifier = doi
        for key, name in (
            ("identifiers", "identifier"),
            ("alternateIdentifiers", "alternateIdentifier"),
        ):
            for entry in attributes.get(key) or []:
                if entry[name].startswith("urn:nasa:pds:"):
                    entry[name] = identifier = lidvid
                elif entry[name].startswith("10."):
                    entry[name] = doi.upper()
        attributes["titles"] = [{"title": f"Import test bundle {n}"}]
        state = STATES[n % len(STATES)]
        api.add(
            doi.upper(),  # DataCite gives DOIs upper-case
            attributes,
            state=state,
            created=f"2021-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}T00:00:{n % 60:02d}Z",
            updated=f"2024-03-{1 + n % 28:02d}T12:00:00.000Z",
        )
        expected[doi] = (STATUS[state], identifier, node)
    for n in range(2):
        api.add(f"10.9999/not-ours-{n}", templates[0][0], client="OTHER.CLIENT")
    return expected


def _listings(env: Env) -> list[Any]:
    return [s for s in env.server.datacite.seen if s.method == "GET" and s.query is not None]


def _assert_imported(env: Env, expected: dict[str, tuple[str, str, str | None]]) -> None:
    records = env.records()
    assert len(records) == len(expected)  # each DOI exactly once
    assert {r.doi: (r.status, r.identifier, r.node) for r in records} == expected
    assert all(
        r.remote_state == next(s for s, t in STATUS.items() if t == r.status) for r in records
    )
    assert not any(r.doi_generated or r.claim_owner or r.attempts for r in records)
    history = Counter(
        (h.record_id, h.from_status, h.to_status, h.action, h.actor) for h in History.select()
    )
    assert len(history) == len(records) and set(history.values()) == {1}
    assert {(f, a, actor) for _, f, _, a, actor in history} == {
        (None, "imported", "organiser import")
    }


@pytest.mark.slow
def test_importing_an_account_of_2500_dois_in_mixed_states(env: Env) -> None:
    expected = preload(env.server.datacite, 2500)
    env.write_config(datacite={"rate_limit": "10"})
    result = env.run("import", "--page-size", "100", "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2500 and {line["outcome"] for line in lines} == {"imported"}
    assert {line["doi"]: line["status"] for line in lines} == {d: e[0] for d, e in expected.items()}
    assert result.stderr == "import: 2500 imported, 0 refreshed, 0 unchanged, 0 kept\n"
    _assert_imported(env, expected)
    counts = Counter(r.status for r in env.records())
    assert counts == {"registered": 1500, "reserved": 750, "deleted": 250}
    sample = next(r for r in env.records() if r.doi == f"{PREFIX}/imp-00003")
    attributes = json.loads(sample.attributes)
    assert (
        sample.title == "Import test bundle 3"
        and sample.lid == "urn:nasa:pds:import_test:bundle_00003"
    )
    assert sample.url and sample.url.startswith("https://")
    assert not {"doi", "state", "xml", "created", "updated", "prefix", "viewCount"} & set(
        attributes
    )
    assert attributes["creators"] and attributes["publisher"]

    # the stand-in got one request per page, cursors changing, spaced by the rate limit
    listings = _listings(env)
    assert len(listings) == 26 and {s.status for s in listings} == {200}  # 25 full + 1 empty
    assert "client-id=demo.organiser" in listings[0].query and "page[cursor]=1" in listings[0].query
    cursors = [s.query.split("page[cursor]=")[1].split("&")[0] for s in listings]
    assert len(set(cursors)) == 26
    # 10 requests/s: the k-th page request cannot leave before the bucket's k-th token, so
    # the 26 span at least 2.5 s (less the first one's way there); unthrottled, about 1 s
    assert listings[-1].at - listings[0].at >= 2.4

    # a second import changes nothing and writes no history
    before, seen = env.snapshot(), len(env.server.datacite.seen)
    again = env.run("import", "--page-size", "1000")
    assert again.returncode == 0, again.stderr
    assert again.stdout == "import: 0 imported, 0 refreshed, 2500 unchanged, 0 kept\n"
    assert env.snapshot() == before
    assert len(env.server.datacite.seen) - seen == 3  # 1000 + 1000 + 500: 3 pages


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_an_outage_mid_import_keeps_whole_pages_and_a_rerun_completes(
    env: Env, database: str
) -> None:
    if database == "postgresql":
        if not PG_URL:
            pytest.skip("ORGANISER_TEST_POSTGRES_URL not set")
        env.use_database(PG_URL)
    expected = preload(env.server.datacite, 2500)
    env.faults(outage_after=2)  # two pages answered, then every connection refused
    result = env.run("import", "--page-size", "500")
    assert result.returncode == 75, result.stderr
    assert result.stdout == "import: 1000 imported, 0 refreshed, 0 unchanged, 0 kept\n"
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: import stopped, the pages imported")
    assert "DataCite unreachable" in error[0] and "Traceback" not in result.stderr
    assert len(env.records()) == 1000  # the pages finished, whole; nothing of the third
    refused = [s for s in _listings(env) if s.status == 0]
    assert len(refused) == 5  # the third page, tried [datacite] retries (5) times

    env.faults()
    again = env.run("import", "--page-size", "500")
    assert again.returncode == 0, again.stderr
    assert again.stdout == "import: 1500 imported, 0 refreshed, 1000 unchanged, 0 kept\n"
    _assert_imported(env, expected)


def test_a_bad_since_is_one_line_and_touches_nothing(env: Env) -> None:
    preload(env.server.datacite, 30)
    assert env.run("import").returncode == 0
    before, seen = env.snapshot(), len(env.server.datacite.seen)
    for bad in ("yesterday", "2024-13-01", "2024-02-30T10:00"):
        result = env.run("import", "--since", bad)
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.startswith(f"Error: --since {bad!r}: not a date")
        assert len(result.stderr.splitlines()) == 1
    assert env.run("import", "--prefix", "10.5").returncode == 2
    assert env.snapshot() == before
    assert len(env.server.datacite.seen) == seen  # DataCite was not even asked


@pytest.mark.slow
def test_a_reimport_refreshes_what_datacite_changed_and_keeps_local_intent(env: Env) -> None:
    api = env.server.datacite
    expected = preload(api, 20)
    assert env.run("import").returncode == 0
    dois = sorted(expected)
    findable = [d for d in dois if expected[d][0] == "registered"]
    hidden = next(d for d in dois if expected[d][0] == "deleted")
    # at DataCite, after the import: a title changed, a DOI hidden, a hidden DOI published
    # again, titles changed of records marked or claimed here since; and a title changed
    # with an "updated" before the import
    for doi, state, when in (
        (findable[0], "findable", "2099-01-01T00:00:00Z"),
        (findable[1], "registered", "2099-01-01T00:00:00Z"),
        (findable[2], "findable", "2024-01-01T00:00:00Z"),
        (hidden, "findable", "2099-01-01T00:00:00Z"),
        (findable[3], "findable", "2099-01-01T00:00:00Z"),
        (findable[4], "findable", "2099-01-01T00:00:00Z"),
    ):
        document = api.document(doi)["data"]["attributes"]
        api.add(
            doi, dict(document, titles=[{"title": f"Changed {doi}"}]), state=state, updated=when
        )
    # here: one marked for deletion (waiting for a pass), one claimed by a run on another host
    assert env.run("delete", findable[3]).returncode == 0
    env.records()  # opens the database here
    Record.update(claim_owner="elsewhere:1:x", claim_expires_at=datetime(2100, 1, 1)).where(
        Record.doi == findable[4]
    ).execute()
    before, snapshot = {r.doi: r for r in env.records()}, env.snapshot()

    dry = env.run("import", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert env.snapshot() == snapshot
    identifier = {d: e[1] for d, e in expected.items()}
    assert dry.stdout.splitlines() == [
        f"would refresh\t{findable[0]}\t{identifier[findable[0]]}\tregistered",
        f"would refresh\t{findable[1]}\t{identifier[findable[1]]}\tdeleted",
        f"would keep\t{findable[2]}\t{identifier[findable[2]]}\tregistered\tlocal copy newer",
        f"would keep\t{hidden}\t{identifier[hidden]}\tdeleted\tdeleted here",
        f"would keep\t{findable[3]}\t{identifier[findable[3]]}\tto-be-deleted\t"
        "waiting for a pass (to-be-deleted)",
        f"would keep\t{findable[4]}\t{identifier[findable[4]]}\tregistered\tclaimed by a run",
        "import (dry run, nothing written): would be 0 imported, 2 refreshed, 14 unchanged, 4 kept",
    ]

    result = env.run("import", "--json")
    assert result.returncode == 0, result.stderr
    outcomes = {
        o["doi"]: (o["outcome"], o["reason"]) for o in map(json.loads, result.stdout.splitlines())
    }
    assert outcomes[findable[0]] == ("refreshed", None)
    assert outcomes[findable[1]] == ("refreshed", None)
    assert outcomes[findable[2]] == ("kept", "local copy newer")
    assert outcomes[findable[3]] == ("kept", "waiting for a pass (to-be-deleted)")
    assert outcomes[findable[4]] == ("kept", "claimed by a run")
    assert outcomes[hidden] == ("kept", "deleted here")  # published again there: deleted is final
    after = {r.doi: r for r in env.records()}
    assert json.loads(after[findable[0]].attributes)["titles"] == [
        {"title": f"Changed {findable[0]}"}
    ]
    assert after[findable[0]].title == f"Changed {findable[0]}"
    assert (after[findable[1]].status, after[findable[1]].remote_state) == ("deleted", "registered")
    assert env.history(after[findable[1]]) == [
        (None, "registered", "imported"),
        ("registered", "deleted", "imported"),
    ]
    assert (after[hidden].status, after[hidden].remote_state) == ("deleted", "registered")
    for doi in (findable[2], findable[3], findable[4], hidden):
        assert after[doi].attributes == before[doi].attributes
        assert (after[doi].status, after[doi].updated_at) == (
            before[doi].status,
            before[doi].updated_at,
        )
    unchanged = set(dois) - {*findable[:5], hidden}
    assert all(after[d].updated_at == before[d].updated_at for d in unchanged)
    assert env.ok("import").stdout.endswith("0 refreshed, 16 unchanged, 4 kept\n")


def test_filters_reach_datacite_and_only_what_they_select_is_imported(env: Env) -> None:
    expected = preload(env.server.datacite, 40)
    result = env.run("import", "--state", "draft", "--prefix", PREFIX, "--since", "2024-03-10")
    assert result.returncode == 0, result.stderr
    wanted = {
        d
        for d, (status, _, _) in expected.items()
        if status == "reserved" and int(d[-5:]) % 28 >= 9
    }
    assert {r.doi for r in env.records()} == wanted and wanted
    query = _listings(env)[0].query
    assert f"client-id={USER.lower()}" in query and f"prefix={PREFIX}" in query
    assert "state=draft" in query and "query=updated:[2024-03-10T00:00:00Z TO *]" in query


def test_import_waits_for_no_run_and_needs_the_account(env: Env, tmp_path: Path) -> None:
    preload(env.server.datacite, 5)
    lock = RunLock(tmp_path / "state", env.db_url)
    lock.acquire()
    try:
        held = env.run("import")
    finally:
        lock.release()
    assert held.returncode == 75 and "another organiser run is in progress" in held.stderr
    assert env.records() == [] and _listings(env) == []  # nothing asked, nothing written
    refused = env.run("import", env={"ORGANISER_DATACITE_PASSWORD": "wrong"})
    assert refused.returncode == 75 and "401" in refused.stderr
    assert env.records() == []


# --- the pieces, without the command ---


@pytest.mark.parametrize(
    ("name", "kind", "node"),
    [
        ("Planetary Data System: Engineering Node", "DataCurator", "eng"),
        ("PDS Small Bodies Node", "DataCurator", "sbn"),
        ("NASA PDS Small Bodies Node", "DataCurator", "sbn"),  # real: the Arrokoth collection
        (
            "Planetary Data System: Cartography and Imaging Sciences Discipline Node",
            "DataCurator",
            "img",
        ),
        ("Planetary Data System: Ring-Moon Systems Node", "DataCurator", "rms"),
        ("Planetary Data System: Imaging Node", "Editor", None),  # not the curator
        ("Small Bodies Assessment Group", "DataCurator", None),  # not a PDS node
    ],
)
def test_the_node_is_read_off_a_pds_data_curator(name: str, kind: str, node: str | None) -> None:
    attributes = {"contributors": [{"name": name, "contributorType": kind}]}
    assert imports.node_of(attributes, pds4.NODES) == node


def test_the_identifier_is_the_lidvid_wherever_it_is_else_the_doi() -> None:
    doi = "10.17189/1408892"
    ladee = {
        "identifiers": [
            {"identifier": "1408892", "identifierType": "IAD ID"},
            {
                "identifier": "urn:nasa:pds:ladee_nms:data_calibrated::1.0",
                "identifierType": "Site ID",
            },
        ]
    }
    assert imports.identifier_of(ladee, doi) == "urn:nasa:pds:ladee_nms:data_calibrated::1.0"
    alternate = {
        "identifiers": [{"identifier": doi, "identifierType": "DOI"}],
        "alternateIdentifiers": [
            {"alternateIdentifier": " urn:nasa:pds:a.b::2.0 ", "alternateIdentifierType": "X"}
        ],
    }
    assert imports.identifier_of(alternate, doi) == "urn:nasa:pds:a.b::2.0"
    bare_lid = {
        "identifiers": [{"identifier": "urn:nasa:pds:insight_cameras", "identifierType": "Site ID"}]
    }
    assert imports.identifier_of(bare_lid, doi) == doi  # a LID without its version is no LIDVID
    assert imports.identifier_of({"url": "https://pds.nasa.gov/x"}, doi) == doi  # never the url


def test_a_listed_record_in_local_terms() -> None:
    raw = json.loads((DATA / "datacite" / FIXTURES[3]).read_text())["data"]["attributes"]
    remote = imports.remote_of(raw, pds4.NODES)
    assert isinstance(remote, imports.Remote)
    assert (remote.doi, remote.state, remote.status, remote.node) == (
        "10.26033/j028-3a58",
        "findable",
        "registered",
        "sbn",
    )
    assert (
        remote.identifier == "urn:nasa:pds:gbo.ast.radar.arecibo.doppler_spectra_of_asteroids::1.0"
    )
    assert remote.updated == datetime(2025, 7, 9, 19, 3, 32)
    assert remote.url == raw["url"]
    assert set(remote.attributes) <= WRITABLE and remote.attributes["titles"] == raw["titles"]
    assert imports.remote_of(dict(raw, state="tombstoned"), pds4.NODES) == (
        "DataCite state 'tombstoned' is none of draft, registered, findable"
    )


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("2024-05-01", datetime(2024, 5, 1)),
        ("2024-05-01T12:30:00Z", datetime(2024, 5, 1, 12, 30)),
        ("2024-05-01T12:30:00+02:00", datetime(2024, 5, 1, 10, 30)),
    ],
)
def test_since_is_utc(text: str, when: datetime) -> None:
    assert imports.parse_since(text) == when


def test_a_dry_run_on_a_fresh_install_writes_no_database(env: Env) -> None:
    """Step 2 of the README's import: before anything was imported, a dry run says what would
    come in and writes nothing, not even an empty database."""
    preload(env.server.datacite, 3)
    dry = env.run("import", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == (
        "import (dry run, nothing written): would be 3 imported, 0 refreshed, 0 unchanged, 0 kept"
    )
    assert list(env.tmp.glob("organiser.db*")) == []
    assert env.ok("import").stdout.strip().endswith("3 imported, 0 refreshed, 0 unchanged, 0 kept")
    assert len(env.records()) == 3
