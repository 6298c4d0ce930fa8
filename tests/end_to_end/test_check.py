"""``organiser check``: drift between the database and DataCite (changed at DataCite behind
organiser's back) is reported line by line, mailed once, and repaired by the normal passes."""

from __future__ import annotations

import json
import subprocess

import pytest
from test_alerts import OPERATORS, Inbox, smtp, with_mail  # noqa: F401  (smtp: a fixture)

from conftest import Env, write_records


def _registered(env: Env, count: int) -> list[str]:
    """Mark ``count`` records and register them at the stand-in; give their DOIs."""
    write_records(env.tmp / "in", count)
    assert env.run("reserve", str(env.tmp / "in")).returncode == 0
    assert env.run("register", *[str(n) for n in range(1, count + 1)]).returncode == 0
    run = env.run("-r")
    assert run.returncode == 0, run.stdout + run.stderr
    records = env.records()
    assert {r.status for r in records} == {"registered"}
    return [r.doi for r in records]


def _drift(env: Env, dois: list[str]) -> None:
    """Change a title and a URL at the stand-in, and make one DOI vanish there."""
    held = env.server.datacite.dois
    held[dois[0]]["attributes"]["titles"] = [{"title": "Edited in Fabrica"}]
    held[dois[1]]["attributes"]["url"] = "https://elsewhere.example.org/moved"
    del held[dois[2]]


def _lines(result: subprocess.CompletedProcess[str]) -> list[list[str]]:
    return [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]


@pytest.mark.slow
def test_check_reports_exactly_the_drift_and_repair_puts_it_right(env: Env) -> None:
    dois = _registered(env, 6)
    clean = env.run("check")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.splitlines()[-1].startswith("check: 6 compared, 0 drifted")

    _drift(env, dois)
    [first, second, third] = [env.records()[n] for n in range(3)]
    found = env.run("check")
    assert found.returncode == 1, found.stdout + found.stderr
    lines = _lines(found)
    assert sorted((doi, field) for doi, _, field, _, _ in lines) == sorted(
        [(dois[0], "titles"), (dois[1], "url"), (dois[2], "state")]
    )
    by_field = {field: (doi, ident, local, remote) for doi, ident, field, local, remote in lines}
    assert by_field["url"] == (
        dois[1],
        second.identifier,
        second.url,
        "https://elsewhere.example.org/moved",
    )
    assert by_field["state"] == (dois[2], third.identifier, "findable", "(missing)")
    assert by_field["titles"][3] == '[{"title": "Edited in Fabrica"}]'
    assert json.loads(first.attributes)["titles"][0]["title"] in by_field["titles"][2]
    summary = found.stdout.splitlines()[-1]
    assert summary.startswith("check: 5 compared, 2 drifted (2 differences), 1 missing")
    assert {r.status for r in env.records()} == {"registered"}  # a check alone changes nothing

    repaired = env.run("check", "--repair")
    assert repaired.returncode == 1
    assert repaired.stdout.splitlines()[-1].endswith("; 3 marked for repair")
    statuses = [r.status for r in env.records()]
    assert statuses[:3] == ["update-registered", "update-registered", "to-be-registered"]
    run = env.run("-u", "-s", "-r", "-d")
    assert run.returncode == 0, run.stdout + run.stderr
    assert {r.status for r in env.records()} == {"registered"}
    assert env.remote == {doi: "findable" for doi in dois}
    again = env.run("check")
    assert again.returncode == 0, again.stdout
    assert _lines(again) == []


@pytest.mark.slow
def test_a_doi_hidden_at_datacite_is_published_again_by_the_repair(env: Env) -> None:
    dois = _registered(env, 2)
    env.server.datacite.dois[dois[1]]["state"] = "registered"  # hidden in Fabrica
    found = env.run("check", "--json", "--repair")
    assert found.returncode == 1
    [drift] = [json.loads(line) for line in found.stdout.splitlines()]
    assert (drift["doi"], drift["field"], drift["local"], drift["remote"]) == (
        dois[1],
        "state",
        "findable",
        "registered",
    )
    assert env.run("-u").returncode == 0
    assert env.remote == {doi: "findable" for doi in dois}


@pytest.mark.slow
def test_drift_is_mailed_once_as_one_section(env: Env, smtp: tuple[Inbox, int]) -> None:  # noqa: F811
    inbox, port = smtp
    dois = _registered(env, 3)
    with_mail(env, port)
    _drift(env, dois)
    assert env.run("check").returncode == 1
    [mail] = inbox.take()
    assert mail.subject.startswith("[organiser] drift from DataCite on ")
    assert mail.to == OPERATORS
    body = mail.body
    assert "Drift from DataCite (organiser check at " in body
    assert f"{dois[1]}\t" in body and "https://elsewhere.example.org/moved" in body
    assert "check --repair" in body
    assert env.run("check").returncode == 1
    assert inbox.take() == []  # the same drift is not news
