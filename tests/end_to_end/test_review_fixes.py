"""Defects found by the review of the day's change (0.2 dialect, several accounts, metrics,
web UI, install), each pinned by the test that failed before its fix."""

from __future__ import annotations

from pathlib import Path

from test_accounts import SBN_ENV, _two_accounts
from test_accounts import standin as standin  # the two-account stand-in
from test_api_hostile import Client, add_records, lines

from organiser.storage.models import Record

from conftest import PREFIX, Env


def test_check_says_nothing_of_records_whose_account_is_not_configured(env: Env) -> None:
    """A record of an account taken out of the configuration is not listed (its account's
    listing is not read): it is not "missing at DataCite", and --repair leaves it alone."""
    _two_accounts(env)
    env.ok("import", env=SBN_ENV)
    env.config.write_text(env.config.read_text().split("[account sbn]")[0])
    before = env.snapshot()
    result = env.run("check", "--repair")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sbn-" not in result.stdout
    assert "0 missing at DataCite" in result.stdout
    assert env.snapshot() == before


def test_a_nul_character_in_a_filter_or_an_identifier_is_a_400_or_404_naming_it(
    tmp_path: Path,
) -> None:
    """A NUL in a filter was a 500 on PostgreSQL (the driver refuses it: ValueError) and, on
    SQLite, a title filter that matched every record (SQLite cut the pattern at the NUL)."""
    client = Client(tmp_path)
    with client.http:
        add_records(2)
        for name in ("title", "node", "ids", "doi", "submitter"):
            answer = client.call("GET", "/dois", "rita", params={name: "r0\x00"})
            assert lines(answer, 400) == [f"{name}: a NUL character is in no record's value"]
        for identifier in ("\x00", f"{PREFIX}/r000\x00"):
            answer = client.call("GET", "/doi", "rita", params={"identifier": identifier})
            assert answer.status_code == 404, answer.text
            assert "no record with this DOI, identifier or id" in answer.text


def test_a_nul_character_in_what_is_reserved_is_a_400_naming_it(tmp_path: Path) -> None:
    """A NUL in a label's text or in the submitter address was a 500 on PostgreSQL after
    intake had passed it (stored as it was on SQLite); now intake refuses it, nothing marked."""
    client = Client(tmp_path)
    label = {
        "title": "Nul\x00title",
        "publication_date": "2020-01-01",
        "product_type_specific": "PDS4 Bundle",
        "author_last_name": "Doe",
        "author_first_name": "Jane",
        "related_resource": "urn:nasa:pds:nul_title::1.0",
    }
    with client.http:
        answer = client.call(
            "POST", "/dois", "olive", params={"action": "reserve"}, json={"labels": [label]}
        )
        assert lines(answer, 400) == [
            "body labels[0]: titles[0].title: a NUL character (no text may hold one)"
        ]
        label["title"] = "Fine title"
        params = {"action": "reserve", "submitter": "a\x00@example.org"}
        answer = client.call("POST", "/dois", "olive", params=params, json={"labels": [label]})
        assert lines(answer, 400) == ["submitter: a NUL character (no text may hold one)"]
        assert Record.select().count() == 0


def test_a_nul_character_in_a_rejection_reason_is_a_400_naming_it(tmp_path: Path) -> None:
    """The reason went into the history row as it was: a 500 on PostgreSQL."""
    client = Client(tmp_path)
    with client.http:
        (doi,) = add_records(1)
        Record.update(status="review").execute()
        params = {"identifier": doi, "reason": "bad\x00title"}
        answer = client.call("POST", "/doi/reject", "olive", params=params)
        assert lines(answer, 400) == ["reason: a NUL character (no text may hold one)"]
        assert Record.get().status == "review"
