"""The DataCite account a record is sent through is shown wherever the record is: ``show``
(always), ``list --json`` (always), the plain ``list`` line (only when several accounts are
configured: one account keeps the line as it was), and the API's ``doi_summary`` and
``doi_record`` answers (``GET /dois``, ``GET /doi``, ``GET /dois/check``)."""

from __future__ import annotations

import json
from collections.abc import Callable

from test_accounts import SBN_ENV, SBN_PREFIXES, SBN_USER, standin  # noqa: F401  (standin)
from test_api import Api, start_api  # noqa: F401  (start_api: a fixture)

from conftest import Env, write_records

#: the second account, as test_accounts' stand-in knows it (its password: SBN_ENV)
SBN = {"username": SBN_USER, "prefix": ", ".join(SBN_PREFIXES), "nodes": "sbn"}


def _two_accounts(env: Env) -> dict[str, str]:
    """Configure ``[account sbn]`` (the Small Bodies Node's records) and mark one record for
    each account (nothing is sent); give each record's identifier by account."""
    env.write_config(**{"account sbn": SBN})
    write_records(env.tmp / "sbn", 1, start=0)
    write_records(env.tmp / "img", 1, start=10)
    env.ok("reserve", str(env.tmp / "sbn"), "--node", "sbn", env=SBN_ENV)
    env.ok("reserve", str(env.tmp / "img"), "--node", "img", env=SBN_ENV)
    return {r.account: r.identifier for r in env.records()}


def test_list_and_show_name_the_account_of_each_record(env: Env) -> None:
    marked = _two_accounts(env)
    assert set(marked) == {"sbn", "datacite"}
    by_id = {r.identifier: r for r in env.records()}

    lines = [line.split("\t") for line in env.ok("list").stdout.splitlines()]
    assert sorted((fields[1], fields[4]) for fields in lines) == sorted(
        (identifier, account) for account, identifier in marked.items()
    )
    assert all(len(fields) == 5 for fields in lines)  # no error: the account is the last field

    listed = json.loads(env.ok("list", "--json").stdout)
    assert {r["identifier"]: r["account"] for r in listed} == {
        identifier: account for account, identifier in marked.items()
    }
    only = json.loads(env.ok("list", "--json", "--account", "sbn").stdout)
    assert [r["identifier"] for r in only] == [marked["sbn"]]

    for account, identifier in marked.items():
        shown = env.ok("show", str(by_id[identifier].id)).stdout.splitlines()
        assert [line.split(None, 1) for line in shown if line.startswith("account:")] == [
            ["account:", account]
        ]
        as_json = json.loads(env.ok("show", "--json", identifier).stdout)
        assert as_json["account"] == account


def test_one_account_keeps_the_list_line_and_still_shows_the_account(env: Env) -> None:
    write_records(env.tmp / "img", 2)
    env.ok("reserve", str(env.tmp / "img"), "--node", "img")
    records = env.records()

    lines = env.ok("list").stdout.splitlines()
    assert lines == [f"{r.doi}\t{r.identifier}\t{r.status}\t{r.id}" for r in records]
    listed = json.loads(env.ok("list", "--json").stdout)
    assert [r["account"] for r in listed] == ["datacite", "datacite"]
    shown = env.ok("show", str(records[0].id)).stdout.splitlines()
    assert "account:          datacite" in shown


def test_the_api_answers_carry_the_account(
    env: Env,
    start_api: Callable[[], Api],  # noqa: F811
) -> None:
    marked = _two_accounts(env)
    api = start_api()

    listed = api.call("GET", "/dois", "rita")
    assert listed.status_code == 200, listed.text
    assert {r["identifier"]: r["account"] for r in listed.json()} == {
        identifier: account for account, identifier in marked.items()
    }
    for account, identifier in marked.items():
        one = api.call("GET", "/doi", "rita", params={"identifier": identifier})
        assert one.status_code == 200, one.text
        assert (one.json()["identifier"], one.json()["account"]) == (identifier, account)

    # reserved at DataCite through each account, then submitted for review: in the
    # pending-release list (GET /dois/check), each a doi_record with its account
    env.ok("-s", env=SBN_ENV)
    for record in env.records():
        submitted = api.call("POST", "/doi/submit", "olive", params={"identifier": record.doi})
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["account"] == record.account
    check = api.call("GET", "/dois/check", "rita", params={"submitter": "rita@example.org"})
    assert check.status_code == 200, check.text
    assert {(r["identifier"], r["status"], r["account"]) for r in check.json()} == {
        (identifier, "review", account) for account, identifier in marked.items()
    }
    assert {r.doi.split("/")[0] for r in env.records() if r.account == "sbn"} == {"10.26033"}

    document = api.call("GET", "/openapi.json", None).json()
    summary = document["components"]["schemas"]["DoiSummary"]
    assert "account" in summary["required"]
    assert "The DataCite account" in summary["properties"]["account"]["description"]
