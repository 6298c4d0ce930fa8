"""Issue 18: the rough edges a new user hits, each as the user met it (in process where it
can be: ``env.run`` runs ``organiser`` through its own entry point in this process)."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest
import requests
from openpyxl import Workbook

from organiser.config import ConfigError, load
from organiser.storage import records as store
from organiser.storage.database import open_database

from conftest import DATA, PREFIX, Env, write_records

ODY = DATA / "pds4" / "bundle_ody_accel_im1301_alias_list.xml"
CASSINI = DATA / "pds4" / "collection_cassini_mag_list_author_person_org_contributor.xml"
BAD = "0000-0001-5109-0000"  # a placeholder ORCID in a real NASA test label: wrong check digit


def _ody(folder: Path, vid: str) -> Path:
    """Write the real ODY accelerometer bundle label as version ``vid``; give its path."""
    text = ODY.read_text().replace(
        "<version_id>1.0</version_id>", f"<version_id>{vid}</version_id>", 1
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ody.xml"
    path.write_text(text)
    return path


# 1 ---------------------------------------------------------------------------------------


def test_update_to_a_new_version_prints_the_new_lidvid(env: Env) -> None:
    env.ok("reserve", str(_ody(env.tmp / "v1", "1.0")), "--node", "geo")
    env.ok("--register-doi", "1")
    doi = env.records()[0].doi
    result = env.ok("update", str(_ody(env.tmp / "v2", "2.0")), "--node", "geo")
    assert result.stdout == f"{doi}\turn:nasa:pds:ody_accel::2.0\tupdate-registered\n"
    assert env.records()[0].identifier == "urn:nasa:pds:ody_accel::2.0"


# 2 ---------------------------------------------------------------------------------------


def test_check_counts_a_missing_doi_under_one_heading_only(env: Env) -> None:
    write_records(env.tmp / "in", 3)
    env.ok("reserve", str(env.tmp / "in"))
    env.ok("register", "1", "2", "3")
    env.ok("-r")
    first, _, third = (r.doi for r in env.records())
    held = env.server.datacite.dois
    held[first]["attributes"]["titles"] = [{"title": "Edited in Fabrica"}]
    del held[third]
    found = env.run("check")
    assert found.returncode == 1, found.stderr
    lines = [line.split("\t")[:3] for line in found.stdout.splitlines() if "\t" in line]
    assert sorted((doi, field) for doi, _, field in lines) == sorted(
        [(first, "titles"), (third, "state")]
    )
    assert found.stdout.splitlines()[-1] == (
        "check: 2 compared, 1 drifted (1 differences), 1 missing at DataCite, "
        "0 at DataCite only, 0 waiting for a pass"
    )


# 3 ---------------------------------------------------------------------------------------


def test_show_and_the_marks_find_an_identifier_in_any_case(env: Env) -> None:
    env.ok("reserve", str(_ody(env.tmp / "v1", "1.0")), "--node", "geo")
    [record] = env.records()
    shown = env.run("show", "URN:NASA:PDS:ODY_ACCEL::1.0", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["doi"] == record.doi
    listed = env.ok("list", "--ids", "URN:NASA:PDS:ODY_ACCEL::1.0")
    assert listed.stdout.split("\t")[0] == record.doi
    registered = env.ok("register", "Urn:Nasa:Pds:Ody_Accel::1.0")
    assert registered.stdout == f"{record.doi}\turn:nasa:pds:ody_accel::1.0\tto-be-registered\n"
    missing = env.run("show", "URN:NASA:PDS:ODY_ACCEL::9.0")
    assert (missing.returncode, missing.stderr) == (
        2,
        "Error: URN:NASA:PDS:ODY_ACCEL::9.0: no record with this DOI, identifier or id\n",
    )


def test_find_folds_case_on_both_databases_and_prefers_the_exact_identifier(db: str) -> None:
    open_database(db)
    now = datetime(2026, 1, 2)
    attributes = json.dumps({"titles": [{"title": "x"}]})
    store.write_new(
        [
            store.NewRecord(f"{PREFIX}/a", False, "urn:nasa:pds:Étude_a::1.0", attributes, None),
            store.NewRecord(f"{PREFIX}/b", False, "urn:nasa:pds:x_b::1.0", attributes, None),
            store.NewRecord(f"{PREFIX}/c", False, "urn:nasa:pds:X_B::1.0", attributes, None),
            store.NewRecord(f"{PREFIX}/d", False, "urn:nasa:pds:100%_d::1.0", attributes, None),
        ],
        "test",
        now,
    )
    assert store.find("URN:NASA:PDS:ÉTUDE_A::1.0").doi == f"{PREFIX}/a"
    assert store.find(" urn:nasa:pds:X_B::1.0 ").doi == f"{PREFIX}/c"  # exact wins
    assert store.find("urn:nasa:pds:x_b::1.0").doi == f"{PREFIX}/b"
    with pytest.raises(store.RecordError, match="several records carry this identifier"):
        store.find("URN:NASA:PDS:X_B::1.0")
    with pytest.raises(store.RecordNotFound):  # LIKE wildcards are matched literally
        store.find("urn:nasa:pds:100__d::1.0")
    assert store.find("URN:NASA:PDS:100%_D::1.0").doi == f"{PREFIX}/d"


# 4 ---------------------------------------------------------------------------------------


def test_every_command_prints_records_as_doi_identifier_status(env: Env) -> None:
    [identifier] = write_records(env.tmp / "in", 1)
    dry = env.ok("reserve", "--dry-run", str(env.tmp / "in"))
    assert dry.stdout.split("\t")[:4] == [
        "would reserve",
        "(new DOI)",
        identifier,
        "to-be-reserved",
    ]
    reserved = env.ok("reserve", str(env.tmp / "in"))
    doi = reserved.stdout.split("\t")[0]
    assert reserved.stdout == f"{doi}\t{identifier}\tto-be-reserved\n"
    listed = env.ok("list")
    assert listed.stdout == f"{doi}\t{identifier}\tto-be-reserved\t1\n"
    assert env.ok("-l").stdout == listed.stdout
    [row] = json.loads(env.ok("list", "--json").stdout)
    assert list(row)[:4] == ["doi", "identifier", "status", "id"]
    assert list(json.loads(env.ok("show", doi, "--json").stdout))[:4] == list(row)[:4]
    shown = env.ok("show", doi).stdout.splitlines()
    assert [line.split(":")[0] for line in shown[:4]] == ["doi", "identifier", "status", "id"]
    env.ok("-s")
    submitted = env.ok("submit", "--dry-run", doi)
    assert submitted.stdout == f"would mark\t{doi}\t{identifier}\treview\n"
    env.faults(fail_dois={doi: 422})
    env.ok("register", doi)
    failed = env.run("-r")
    assert failed.returncode == 1
    error = env.records()[0].last_error
    assert error
    assert env.ok("list").stdout == f"{doi}\t{identifier}\tto-be-registered\t1\t{error}\n"


def test_a_new_versions_dry_run_names_the_status_the_earlier_one_would_get(env: Env) -> None:
    env.write_config(intake={"versioned_dois": "true"})
    env.ok("reserve", str(_ody(env.tmp / "v1", "1.0")), "--node", "geo")
    env.ok("--register-doi", "1")
    doi = env.records()[0].doi
    dry = env.ok("reserve", "--dry-run", str(_ody(env.tmp / "v2", "2.0")), "--node", "geo")
    v2 = str(env.tmp / "v2" / "ody.xml")
    assert dry.stdout.splitlines() == [
        f"would reserve\t{doi}.2\turn:nasa:pds:ody_accel::2.0\tto-be-reserved\t{v2}",
        f"would update\t{doi}\turn:nasa:pds:ody_accel::1.0\tupdate-registered\t(new version)",
    ]


# 5, 6, 7 ---------------------------------------------------------------------------------


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    path = tmp_path / "o.ini"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path, environ or {})
    return str(caught.value)


def test_an_unclosed_section_header_is_named_as_such(tmp_path: Path) -> None:
    text = "[database]\nurl = sqlite:///x.db\n\n[datacite\nusername = u\nprefix = 10.5072\n"
    assert _load(tmp_path, text) == (
        f"{tmp_path / 'o.ini'}: line 4: '[datacite': a section header without its closing ']'"
    )
    # even when the next lines would otherwise look like keys set twice in the section above
    text = "[database]\nurl = sqlite:///x.db\n[datacite\nurl = https://api.datacite.org\n"
    assert _load(tmp_path, text).endswith(
        "line 3: '[datacite': a section header without its closing ']'"
    )
    assert _load(tmp_path, "[datacite\n").endswith(
        "line 1: '[datacite': a section header without its closing ']'"
    )


def test_a_line_without_an_equals_sign_says_so(tmp_path: Path) -> None:
    text = "[datacite]\nusername = u\nurl http://x\n"
    assert _load(tmp_path, text) == (
        f"{tmp_path / 'o.ini'}: line 3: 'url http://x': no '=' (write key = value)"
    )
    assert _load(tmp_path, "[datacite]\nprefix: 10.5072\n").endswith(
        "line 2: 'prefix: 10.5072': no '=' (write key = value)"
    )


def test_a_key_set_twice_names_the_line(tmp_path: Path) -> None:
    text = "[datacite]\nusername = u\nusername = v\n"
    assert _load(tmp_path, text) == (
        f"{tmp_path / 'o.ini'}: line 3: [datacite] username: set twice in this section"
    )


def test_an_unsupported_database_says_which_are(tmp_path: Path) -> None:
    message = _load(tmp_path, "[datacite]\n", {"ORGANISER_DATABASE_URL": "mysql://u:pw@h/db"})
    assert message == (
        "ORGANISER_DATABASE_URL: [database] url: 'mysql://u:***@h/db' is not supported: "
        "organiser works with SQLite (sqlite:///PATH) and PostgreSQL "
        "(postgresql://USER:PASSWORD@HOST/DB) only"
    )
    for good in ("sqlite:///x.db", "postgresql://u@h/db", "postgres://u@h/db"):
        path = tmp_path / "ok.ini"
        path.write_text("")
        assert load(path, {"ORGANISER_DATABASE_URL": good})["database"]["url"] == good


def test_an_unsupported_database_on_the_command_line(env: Env) -> None:
    result = env.run("status", env={"ORGANISER_DATABASE_URL": "mysql://x/y"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "SQLite (sqlite:///PATH) and PostgreSQL" in result.stderr
    assert "driver" not in result.stderr


def test_a_schedule_that_is_off_reads_off_everywhere(env: Env) -> None:
    checked = env.ok("config", "check").stdout.splitlines()
    assert "check_cron = off" in checked
    for off in ("", "off", "OFF", "none"):
        env.write_config(scheduler={"check_cron": off})
        assert "check_cron = off" in env.ok("config", "check").stdout.splitlines()
    assert "# check_cron = off" in env.ok("config", "generate").stdout.splitlines()


# 8 ---------------------------------------------------------------------------------------


def _orcids(attributes: dict) -> list[list[str]]:
    return [
        [i["nameIdentifier"] for i in p.get("nameIdentifiers", [])]
        for p in attributes["creators"] + attributes.get("contributors", [])
        if p.get("nameType") == "Personal"
    ]


def test_force_drops_a_bad_orcid_with_a_warning(env: Env) -> None:
    env.write_config(datacite={"prefix": "10.17189"})  # the label's own DOI is under it
    refused = env.run("reserve", str(CASSINI), "--node", "ppi")
    assert refused.returncode == 2 and env.snapshot() == []
    assert "has a wrong check digit" in refused.stderr

    forced = env.run("reserve", str(CASSINI), "--node", "ppi", "--force")
    assert forced.returncode == 0, forced.stderr
    problem = f"ORCID {BAD} has a wrong check digit (ISO 7064 MOD 11-2); dropped from this person"
    assert forced.stderr.splitlines() == [
        f"warning: {CASSINI}: creator 'Frank, Louis A.': {problem}",
        f"warning: {CASSINI}: creator 'Ackerson, Kent L.': {problem}",
        f"warning: {CASSINI}: contributor 'Doe, John III': {problem}",
    ]
    [record] = env.records()
    attributes = json.loads(record.attributes)
    assert BAD not in record.attributes
    assert all(orcids == [] for orcids in _orcids(attributes))
    names = [p.get("name") for p in attributes["creators"]]
    assert "Frank, Louis A." in names and "Ackerson, Kent L." in names  # the people stay


def test_force_on_the_api_drops_a_bad_orcid_and_says_so(tmp_path: Path) -> None:
    from test_api_hostile import Client

    made = Client(tmp_path)
    with made.http:
        body = CASSINI.read_bytes().replace(b"10.17189", PREFIX.encode())
        headers = {"Content-Type": "application/xml"}
        params = {"action": "reserve", "node": "ppi"}
        call = {"content": body, "headers": headers, "token": "olive"}  # the label names a DOI
        refused = made.call("POST", "/dois", params=params, **call)
        assert refused.status_code == 400, refused.text
        assert BAD in refused.text
        forced = made.call("POST", "/dois", params=dict(params, force="true"), **call)
        assert forced.status_code == 200, forced.text  # 0.2 answers 200
        [answer] = forced.json()
        assert (
            f"creator 'Frank, Louis A.': ORCID {BAD} has a wrong check digit" in (answer["message"])
        )
        record = store.find(answer["doi"])
        assert BAD not in record.attributes


# 9 ---------------------------------------------------------------------------------------


def _xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            "status",
            "title",
            "publication_date",
            "product_type_specific",
            "author_last_name",
            "author_first_name",
            "related_resource",
        ]
    )
    sheet.append(
        [
            "Reserved",
            "Laboratory Shocked Feldspars Bundle",
            "2020-03-11",
            "PDS4 Collection",
            "Johnson",
            "J. R.",
            "urn:nasa:pds:lab_shocked_feldspars::1.0",
        ]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_body_sent_as_octet_stream_is_read_as_a_spreadsheet(tmp_path: Path) -> None:
    from test_api_hostile import Client

    made = Client(tmp_path)
    with made.http:
        answer = made.call(
            "POST",
            "/dois",
            params={"action": "reserve", "node": "geo"},
            content=_xlsx(),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert answer.status_code == 200, answer.text  # 0.2 answers 200
        assert [r["identifier"] for r in answer.json()] == [
            "urn:nasa:pds:lab_shocked_feldspars::1.0"
        ]


def test_an_xlsx_file_without_its_suffix_is_read_as_a_spreadsheet(env: Env) -> None:
    path = env.tmp / "reserve-sheet.bin"
    path.write_bytes(_xlsx())
    result = env.run("reserve", str(path), "--node", "geo")
    assert result.returncode == 0, result.stderr
    assert [r.identifier for r in env.records()] == ["urn:nasa:pds:lab_shocked_feldspars::1.0"]


# 10 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "an empty body"),
        (b"{not json", "a body that is not JSON"),
        (b'[{"state": "draft"}]', 'item 1 has no "doi"'),
        (b'[{"doi": "10.5072/x"}, 3]', "item 2 is not an object"),
        (b'[{"doi": "10.5072/x", "state": "gone"}]', "10.5072/x: unknown state 'gone'"),
    ],
)
def test_the_standin_says_what_a_preload_expects(env: Env, body: bytes, problem: str) -> None:
    answer = requests.post(f"{env.server.url}/_standin/dois", data=body, timeout=10)
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["title"] == (
        f"cannot preload: {problem}; expected a JSON list of objects "
        '{"doi", "attributes", "state", "updated", "created", "client"} (only "doi" required)'
    )
    assert "\n" not in error["title"]
    assert env.remote == {}
