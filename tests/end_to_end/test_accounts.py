"""Two DataCite accounts with their own prefixes, end to end against the stand-in: import
from both, update, reserve, register and delete in both, each request authenticated as the
account that holds the DOI's prefix (the stand-in's request log says which)."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from organiser.standin import DataCite, StandinServer

from conftest import MINIMAL, PASSWORD, PREFIX, USER, Env, template, write_records

SBN_USER, SBN_PASSWORD = "NASA.SBN", "sbn-secret-0815"
SBN_PREFIXES = ("10.26033", "10.26034")
SBN_ENV = {"ORGANISER_ACCOUNT_SBN_PASSWORD": SBN_PASSWORD}


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    """A stand-in that knows two repository accounts (and a third, unused one)."""
    server = StandinServer(
        DataCite(
            {
                USER: (PASSWORD, [PREFIX]),
                SBN_USER: (SBN_PASSWORD, list(SBN_PREFIXES)),
                "OTHER.CLIENT": ("x", ["10.9999"]),
            }
        )
    )
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    yield server
    server.shutdown()
    server.server_close()


def _attributes(lidvid: str, title: str) -> dict[str, object]:
    return dict(
        MINIMAL,
        titles=[{"title": title}],
        identifiers=[{"identifier": lidvid, "identifierType": "PDS4 LIDVID"}],
        url=f"https://pds.nasa.gov/{lidvid}",
    )


def _two_accounts(env: Env) -> None:
    """Configure the second account (routing: the Small Bodies Node's records) and hold two
    DOIs of each account at the stand-in: one findable, one draft."""
    env.write_config(datacite={"rate_limit": "0"})
    with env.config.open("a") as handle:
        handle.write(
            f"[account sbn]\nusername = {SBN_USER}\nprefix = {', '.join(SBN_PREFIXES)}\n"
            "nodes = sbn\n"
        )
    api = env.server.datacite
    api.add(f"{PREFIX}/pds-1", _attributes("urn:nasa:pds:pds_one::1.0", "PDS one"))
    api.add(
        f"{PREFIX}/pds-2",
        _attributes("urn:nasa:pds:pds_two::1.0", "PDS two"),
        state="draft",
    )
    api.add(
        "10.26033/sbn-1",
        _attributes("urn:nasa:pds:sbn_one::1.0", "SBN one"),
        client=SBN_USER,
    )
    api.add(
        "10.26034/sbn-2",
        _attributes("urn:nasa:pds:sbn_two::1.0", "SBN two"),
        state="draft",
        client=SBN_USER,
    )


def _updated(env: Env, name: str, lidvid: str, title: str) -> Path:
    path = env.tmp / f"{name}.json"
    path.write_text(json.dumps({"data": {"attributes": _attributes(lidvid, title)}}))
    return path


def _account_of(doi: str) -> str:
    return SBN_USER if doi.startswith(SBN_PREFIXES) else USER


def test_two_accounts_import_update_reserve_register_and_delete(env: Env) -> None:
    _two_accounts(env)
    imported = env.ok("import", env=SBN_ENV)
    assert imported.stdout.strip() == "import: 4 imported, 0 refreshed, 0 unchanged, 0 kept"
    accounts = {r.doi: r.account for r in env.records()}
    assert accounts == {
        f"{PREFIX}/pds-1": "datacite",
        f"{PREFIX}/pds-2": "datacite",
        "10.26033/sbn-1": "sbn",
        "10.26034/sbn-2": "sbn",
    }

    # a DOI under the second account's prefix is managed like any other: updated ...
    sbn_file = _updated(env, "sbn", "urn:nasa:pds:sbn_one::1.0", "SBN one, better")
    env.ok("update", "10.26033/sbn-1", str(sbn_file), env=SBN_ENV)
    pds_file = _updated(env, "pds", "urn:nasa:pds:pds_one::1.0", "PDS one, better")
    env.ok("update", f"{PREFIX}/pds-1", str(pds_file), env=SBN_ENV)
    assert env.ok("-u", env=SBN_ENV).stdout.strip() == "update: 2 done, 0 failed, 0 skipped"
    held = env.server.datacite.dois
    assert held["10.26033/sbn-1"]["attributes"]["titles"] == [{"title": "SBN one, better"}]
    assert held[f"{PREFIX}/pds-1"]["attributes"]["titles"] == [{"title": "PDS one, better"}]

    # ... new records are routed by node: the Small Bodies Node's to its account's prefix
    write_records(env.tmp / "sbn", 2, start=0)
    write_records(env.tmp / "img", 2, start=10)
    env.ok("reserve", str(env.tmp / "sbn"), "--node", "sbn", env=SBN_ENV)
    env.ok("reserve", str(env.tmp / "img"), "--node", "img", env=SBN_ENV)
    new = [r for r in env.records() if r.status == "to-be-reserved"]
    routed = {r.identifier.split("_")[-1]: (r.account, r.doi.split("/")[0]) for r in new}
    assert routed == {
        "00000::1.0": ("sbn", "10.26033"),
        "00001::1.0": ("sbn", "10.26033"),
        "00010::1.0": ("datacite", PREFIX),
        "00011::1.0": ("datacite", PREFIX),
    }
    env.ok("-s", env=SBN_ENV)
    env.ok("register", *[r.doi for r in new], f"{PREFIX}/pds-2", env=SBN_ENV)
    env.ok("-r", env=SBN_ENV)
    for record in new:
        assert env.remote[record.doi] == "findable"
    assert env.remote[f"{PREFIX}/pds-2"] == "findable"

    # ... and deleted: a draft of the second account, and a findable DOI of each
    env.ok("delete", "10.26034/sbn-2", "10.26033/sbn-1", f"{PREFIX}/pds-1", env=SBN_ENV)
    assert env.ok("-d", env=SBN_ENV).stdout.strip() == "delete: 3 done, 0 failed, 0 skipped"
    assert "10.26034/sbn-2" not in env.remote
    assert env.remote["10.26033/sbn-1"] == env.remote[f"{PREFIX}/pds-1"] == "registered"
    assert {r.status for r in env.records() if r.doi.endswith(("sbn-1", "sbn-2", "pds-1"))} == {
        "deleted"
    }

    # every request went out as the account that holds the DOI's prefix
    seen = env.server.datacite.seen
    assert {s.status for s in seen} <= {200, 201, 204, 404}  # no 401, no 403
    for request in seen:
        if request.doi is not None:
            assert request.account == _account_of(request.doi), request
    listings = sorted((s.account, s.query) for s in seen if s.query is not None)
    assert [(account, "client-id=" + account.lower() in query) for account, query in listings] == [
        (USER, True),
        (SBN_USER, True),
    ]
    changed = {(s.method, s.doi, s.account) for s in seen if s.method != "GET"}
    assert ("PUT", "10.26033/sbn-1", SBN_USER) in changed
    assert ("DELETE", "10.26034/sbn-2", SBN_USER) in changed
    assert ("PUT", f"{PREFIX}/pds-1", USER) in changed
    assert sum(1 for m, d, a in changed if m == "POST" and a == SBN_USER) == 2

    # a check over both accounts finds nothing drifted
    checked = env.run("check", env=SBN_ENV)
    assert checked.returncode == 0, checked.stderr
    assert "0 drifted" in checked.stdout and "0 at DataCite only" in checked.stdout

    # list --account, status and config check name the accounts
    listed = env.ok("list", "--account", "sbn", env=SBN_ENV).stdout.splitlines()
    assert sorted(line.split("\t")[0] for line in listed) == sorted(
        ["10.26033/sbn-1", "10.26034/sbn-2", *[r.doi for r in new if r.account == "sbn"]]
    )
    nope = env.run("list", "--account", "nope", env=SBN_ENV)  # a typo: refused, not empty
    assert (nope.returncode, nope.stdout) == (2, "")
    assert "account 'nope': no such account (configured: datacite, sbn)" in nope.stderr


def test_the_wrong_accounts_credentials_get_403_from_the_stand_in(env: Env) -> None:
    """What the engine relies on: DataCite refuses a DOI of another account's prefix."""
    import requests

    body = {"data": {"type": "dois", "attributes": dict(MINIMAL, doi="10.26033/x")}}
    answer = requests.post(f"{env.server.url}/dois", json=body, auth=(USER, PASSWORD), timeout=5)
    assert answer.status_code == 403
    assert "not authorized" in answer.text
    assert env.server.datacite.seen[-1].account == USER
    answer = requests.post(
        f"{env.server.url}/dois", json=body, auth=(SBN_USER, SBN_PASSWORD), timeout=5
    )
    assert answer.status_code == 201
    assert env.server.datacite.seen[-1].account == SBN_USER


def test_a_records_account_never_changes_when_routing_does(env: Env) -> None:
    _two_accounts(env)
    write_records(env.tmp / "sbn", 1)
    env.ok("reserve", str(env.tmp / "sbn"), "--node", "sbn", env=SBN_ENV)
    (record,) = env.records()
    assert (record.account, record.doi.split("/")[0]) == ("sbn", "10.26033")
    # the routing moves the node to the default account: the record stays where it is
    env.config.write_text(env.config.read_text().replace("nodes = sbn\n", ""))
    env.ok("-s", env=SBN_ENV)
    (record,) = env.records()
    assert (record.account, record.status) == ("sbn", "reserved")
    assert [s.account for s in env.server.datacite.seen if s.doi == record.doi] == [SBN_USER]

    # an account taken out of the configuration: its records fail, one line, nothing sent
    env.config.write_text(env.config.read_text().split("[account sbn]")[0])
    env.ok("register", record.doi)
    before = len(env.server.datacite.seen)
    result = env.run("-r")
    assert result.returncode != 0
    (record,) = env.records()
    assert record.status == "to-be-registered"
    assert record.last_error.startswith("account sbn is not configured")
    assert len(env.server.datacite.seen) == before

    # its records can still be listed by its name; a name nobody has is a typo, refused
    listed = env.ok("list", "--account", "sbn", "--json")
    assert [r["doi"] for r in json.loads(listed.stdout)] == [record.doi]
    typo = env.run("list", "--account", "sbm")
    assert (typo.returncode, typo.stdout) == (2, "")
    assert typo.stderr == "Error: account 'sbm': no such account (configured: datacite)\n"


def test_update_names_a_doi_of_no_account(env: Env) -> None:
    _two_accounts(env)
    env.ok("import", env=SBN_ENV)
    changed = copy.deepcopy(template())
    changed["doi"] = "10.13143/abcd"
    (env.tmp / "x.json").write_text(json.dumps({"data": {"attributes": changed}}))
    before = env.snapshot()
    result = env.run("update", "10.26033/sbn-1", str(env.tmp / "x.json"), env=SBN_ENV)
    assert result.returncode != 0
    assert (
        "DOI 10.13143/abcd is not under this repository's prefix 10.5072, 10.26033, 10.26034"
        in result.stderr
    )
    assert env.snapshot() == before


def test_status_and_config_check_name_the_accounts(env: Env) -> None:
    _two_accounts(env)
    env.ok("import", env=SBN_ENV)
    shown = env.ok("status", env=SBN_ENV).stdout.splitlines()
    assert "account datacite: 1 registered, 1 reserved" in shown
    assert "account sbn: 1 registered, 1 reserved" in shown
    figures = json.loads(env.ok("status", "--json", env=SBN_ENV).stdout)
    assert figures["accounts"] == {
        "datacite": {"registered": 1, "reserved": 1},
        "sbn": {"registered": 1, "reserved": 1},
    }

    checked = env.ok("config", "check", env=SBN_ENV).stdout
    assert "[account sbn]\nusername = NASA.SBN\npassword = ***\nprefix = 10.26033, 10.26034\n" in (
        checked
    )
    assert f"#   datacite ({USER}): prefixes {PREFIX}; default: every other new record" in checked
    assert "#   sbn (NASA.SBN): prefixes 10.26033, 10.26034; nodes sbn\n" in checked
    assert SBN_PASSWORD not in checked
    as_json = json.loads(env.ok("config", "check", "--json", env=SBN_ENV).stdout)
    assert as_json["values"]["account sbn"]["password"] == "***"
    assert [(a["name"], a["prefixes"], a["default"]) for a in as_json["accounts"]] == [
        ("datacite", [PREFIX], True),
        ("sbn", list(SBN_PREFIXES), False),
    ]


def test_one_account_shows_no_account_lines(env: Env) -> None:
    env.ok("import")
    assert "\naccount " not in env.ok("status").stdout
    assert "account" not in json.loads(env.ok("status", "--json").stdout)


def test_an_account_without_its_password_is_one_line_and_nothing_is_sent(env: Env) -> None:
    _two_accounts(env)
    result = env.run("import")
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "[account sbn] password: missing (required; or set ORGANISER_ACCOUNT_SBN_PASSWORD)"
    )
    assert env.server.datacite.seen == []


def test_a_record_that_brings_its_doi_goes_to_the_account_of_its_prefix(env: Env) -> None:
    _two_accounts(env)
    attributes = dict(_attributes("urn:nasa:pds:adopt_me::1.0", "Adopt me"), doi="10.26034/new")
    (env.tmp / "named.json").write_text(json.dumps({"data": {"attributes": attributes}}))
    env.ok("reserve", str(env.tmp / "named.json"), "--node", "img", env=SBN_ENV)  # node: img
    (record,) = env.records()
    assert (record.doi, record.account) == ("10.26034/new", "sbn")
    env.ok("-s", env=SBN_ENV)
    assert env.remote["10.26034/new"] == "draft"
    sent = [(s.method, s.account, s.status) for s in env.server.datacite.seen if s.doi]
    assert sent == [("GET", SBN_USER, 404), ("POST", SBN_USER, 201)]


def test_the_web_uis_diff_asks_datacite_as_the_records_own_account(env: Env) -> None:
    """The record page's diff reads DataCite's copy as the account the record is sent
    through: the second account's DOI is asked with its credentials, not [datacite]'s."""
    from organiser.actions import diff
    from organiser.app import App
    from organiser.storage.models import Record

    _two_accounts(env)
    env.ok("import", env=SBN_ENV)
    sbn_file = _updated(env, "sbn", "urn:nasa:pds:sbn_one::1.0", "SBN one, changed")
    env.ok("update", "10.26033/sbn-1", str(sbn_file), env=SBN_ENV)
    app = App(str(env.config), env.environment(SBN_ENV))
    app.open_db()
    record = Record.get(Record.doi == "10.26033/sbn-1")
    asked_before = len(env.server.datacite.seen)
    found = diff.diff(app, record)
    assert found is not None and (found.compared_with, found.note) == ("datacite", None)
    titles = [c for c in found.changes if c.field == "titles"]
    assert titles and "SBN one, changed" in titles[0].after and "SBN one" in titles[0].before
    asked = env.server.datacite.seen[asked_before:]
    assert [(s.method, s.doi, s.account, s.status) for s in asked] == [
        ("GET", "10.26033/sbn-1", SBN_USER, 200)
    ]
