"""Review before release, the filters of ``organiser list`` and the pending-release report,
through the installed command against the stand-in (and a real SMTP server for the mail)."""

from __future__ import annotations

import copy
import csv
import getpass
import io
import json
import os
import socket
from datetime import UTC, datetime, timedelta

import pytest
from test_alerts import OPERATORS, Inbox, smtp, with_mail  # noqa: F401  (smtp: a fixture)

from organiser.storage.database import open_database
from organiser.storage.models import History, Record

from conftest import Env, template, write_records

PG_URL = os.environ.get("ORGANISER_TEST_POSTGRES_URL")


def _reserve(env: Env, folder: str, count: int, start: int, *options: str) -> list[str]:
    """Mark ``count`` new records to-be-reserved; give their DOIs."""
    write_records(env.tmp / folder, count, start=start)
    result = env.run("reserve", *options, str(env.tmp / folder))
    assert result.returncode == 0, result.stderr
    return [line.split("\t")[0] for line in result.stdout.splitlines()]


def _status(env: Env) -> dict[str, str]:
    return {r.doi: r.status for r in env.records()}


def _outcomes(env: Env, doi: str) -> list[tuple[str, str, str | None]]:
    """Give (to status, action, outcome) of each history row of the record with ``doi``."""
    open_database(env.db_url)
    rows = History.select().join(Record).where(Record.doi == doi).order_by(History.id)
    return [(h.to_status, h.action, h.outcome) for h in rows]


@pytest.mark.slow
def test_submit_review_approve_and_the_register_pass_publishes(env: Env) -> None:
    dois = _reserve(env, "in", 3, 0, "--node", "img", "--submitter", "a@example.org")
    assert env.run("-s").returncode == 0
    first, second, third = env.records()

    # named by DOI, identifier and local id; one line per record, like the other marks
    submitted = env.run("submit", first.doi, second.identifier, str(third.id))
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.splitlines() == [
        f"{r.doi}\t{r.identifier}\treview" for r in (first, second, third)
    ]
    assert set(_status(env).values()) == {"review"}
    assert env.remote == dict.fromkeys(dois, "draft")

    # no pass works on a record in review
    passes = env.run("-u", "-s", "-r", "-d")
    assert passes.returncode == 0, passes.stderr
    assert "register: 0 done, 0 failed, 0 skipped" in passes.stdout
    assert set(_status(env).values()) == {"review"}
    assert env.ok("submit", first.doi).stdout == f"{first.doi}\t{first.identifier}\treview\n"

    # approve two, send the third back with a reason (white space made one line)
    approved = env.run("register", first.doi, second.doi)
    assert approved.returncode == 0, approved.stderr
    assert [line.split("\t")[2] for line in approved.stdout.splitlines()] == [
        "to-be-registered"
    ] * 2
    rejected = env.run("reject", third.doi, "--reason", "Title has a typo;\n  please fix it")
    assert rejected.returncode == 0, rejected.stderr
    assert rejected.stdout == f"{third.doi}\t{third.identifier}\treserved\n"

    registered = env.run("-r")
    assert registered.returncode == 0, registered.stderr
    assert registered.stdout.strip() == "register: 2 done, 0 failed, 0 skipped"
    assert env.remote == {first.doi: "findable", second.doi: "findable", third.doi: "draft"}
    assert _status(env) == {
        first.doi: "registered",
        second.doi: "registered",
        third.doi: "reserved",
    }
    assert env.history(env.records()[0]) == [
        (None, "to-be-reserved", "mark-reserve"),
        ("to-be-reserved", "reserved", "reserved"),
        ("reserved", "review", "mark-submit"),
        ("review", "to-be-registered", "mark-register"),
        ("to-be-registered", "registered", "registered"),
    ]
    assert _outcomes(env, third.doi)[-2:] == [
        ("review", "mark-submit", None),
        ("reserved", "mark-reject", "Title has a typo; please fix it"),
    ]
    shown = env.run("show", third.doi)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[-1].endswith(
        f"review → reserved  mark-reject by {getpass.getuser()}"
        + "  (Title has a typo; please fix it)"
    )
    history = json.loads(env.ok("show", third.doi, "--json").stdout)["history"]
    assert history[-1]["outcome"] == "Title has a typo; please fix it"

    # rejected, it may be submitted again; new metadata takes a record out of review
    assert env.run("submit", third.doi).returncode == 0
    changed = template()
    changed["identifiers"] = [{"identifier": third.identifier, "identifierType": "PDS4 LIDVID"}]
    changed["titles"] = [{"title": "Organiser test bundle 2, fixed"}]
    (env.tmp / "fixed.json").write_text(json.dumps(changed))
    updated = env.run("update", third.doi, str(env.tmp / "fixed.json"))
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout == f"{third.doi}\t{third.identifier}\tupdate-reserved\n"
    assert updated.stderr == (
        f"warning: {third.doi} left review: new metadata needs a new review; submit it again "
        "once the update pass (-u) has sent it\n"
    )
    assert env.run("-u").returncode == 0
    assert _status(env)[third.doi] == "reserved"
    assert env.server.datacite.dois[third.doi]["attributes"]["titles"] == [
        {"title": "Organiser test bundle 2, fixed"}
    ]
    # and a record in review can be deleted (its draft goes)
    assert env.run("submit", third.doi).returncode == 0
    assert env.ok("delete", third.doi).stdout.endswith("\tto-be-deleted\n")
    assert env.run("-d").returncode == 0
    assert third.doi not in env.remote and _status(env)[third.doi] == "deleted"


@pytest.mark.slow
def test_without_review_submit_marks_to_be_registered(env: Env) -> None:
    env.write_config(api={"review": "false"})
    _reserve(env, "in", 2, 0)
    assert env.run("-s").returncode == 0
    first, second = env.records()
    dry = env.run("submit", "--dry-run", first.doi, second.doi)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        f"would mark\t{r.doi}\t{r.identifier}\tto-be-registered" for r in (first, second)
    ]
    assert set(_status(env).values()) == {"reserved"}
    submitted = env.run("submit", first.doi, second.doi)
    assert submitted.returncode == 0, submitted.stderr
    assert set(_status(env).values()) == {"to-be-registered"}
    assert env.history(env.records()[0])[-1] == ("reserved", "to-be-registered", "mark-register")
    assert env.run("-r").returncode == 0
    assert set(env.remote.values()) == {"findable"}


@pytest.mark.slow
def test_refused_moves_are_one_line_each_and_change_nothing(env: Env) -> None:
    waiting, reserved, in_review = _reserve(env, "in", 3, 0)
    env.faults(fail_dois={waiting: 422})
    assert env.run("-s").returncode == 1  # the first stays to-be-reserved
    env.faults()
    assert env.run("submit", in_review).returncode == 0
    assert _status(env) == {waiting: "to-be-reserved", reserved: "reserved", in_review: "review"}
    before = env.snapshot()

    cases = [
        (
            ("submit", waiting),
            [
                f"Error: {waiting} is not reserved yet; run the reserve pass (organiser -s) "
                "first, then submit it"
            ],
        ),
        (("reject", reserved, "--reason", "no"), [f"Error: {reserved} is reserved, not in review"]),
        # every problem is named; the record that could move does not
        (
            ("submit", reserved, "10.5072/nope", waiting),
            [
                "Error: 10.5072/nope: no record with this DOI",
                f"Error: {waiting} is not reserved yet; run the reserve pass (organiser -s) "
                "first, then submit it",
            ],
        ),
        (
            ("reject", in_review, reserved, "--reason", "x"),
            [f"Error: {reserved} is reserved, not in review"],
        ),
        (
            ("reject", in_review, "--reason", " \n "),
            ["Error: a reason is required to reject a record (--reason TEXT)"],
        ),
        (
            ("submit", "--dry-run", waiting),
            [
                f"Error: {waiting} is not reserved yet; run the "
                "reserve pass (organiser -s) first, then submit it"
            ],
        ),
    ]
    for args, errors in cases:
        result = env.run(*args)
        assert (result.returncode, result.stdout) == (2, ""), args
        assert result.stderr.splitlines() == errors, args
        assert env.snapshot() == before, args
    no_reason = env.run("reject", in_review)
    assert no_reason.returncode == 2 and "Missing option '--reason'" in no_reason.stderr
    assert env.snapshot() == before
    assert env.ok("submit", "--dry-run", reserved).stdout == (
        f"would mark\t{reserved}\t{env.records()[1].identifier}\treview\n"
    )
    assert env.snapshot() == before


def _seed_for_listing(env: Env) -> dict[str, str]:
    """Mark four records with different identifiers, titles, nodes and submitters, one of
    them to-be-registered, and set their last change; give identifier -> DOI."""
    rows = [
        ("urn:nasa:pds:insight_cameras::1.0", "InSight Cameras Bundle", "img", "alice@example.org"),
        ("urn:nasa:pds:insight_rad::1.0", "InSight RAD 100% calibrated", "img", "bob@example.org"),
        ("urn:nasa:pds:mars2020_x::1.0", "Mars 2020 under_score Étude", "geo", "alice@example.org"),
        ("urn:nasa:pds:insightful::1.0", "Insightful things", "geo", "Carol"),
    ]
    dois = {}
    for n, (identifier, title, node, submitter) in enumerate(rows):
        attributes = copy.deepcopy(template())
        attributes["identifiers"] = [{"identifier": identifier, "identifierType": "PDS4 LIDVID"}]
        attributes["titles"] = [{"title": title}]
        folder = env.tmp / f"seed{n}"
        folder.mkdir()
        (folder / "record.json").write_text(json.dumps({"data": {"attributes": attributes}}))
        result = env.run("reserve", str(folder), "--node", node, "--submitter", submitter)
        assert result.returncode == 0, result.stderr
        dois[identifier] = result.stdout.split("\t")[0]
    assert env.run("register", dois["urn:nasa:pds:insightful::1.0"]).returncode == 0
    times = [
        datetime(2024, 1, 10, 8, 0),
        datetime(2024, 1, 11, 23, 59, 59),
        datetime(2024, 1, 12, 0, 0),
        datetime(2024, 2, 1, 12, 0),
    ]
    open_database(env.db_url)
    for (identifier, *_), when in zip(rows, times, strict=True):
        Record.update(updated_at=when).where(Record.doi == dois[identifier]).execute()
    return dois


def _listed(env: Env, *args: str) -> list[str]:
    result = env.run("list", *args)
    assert result.returncode == 0, result.stderr
    return [
        line.split("\t")[1].split("::")[0].rsplit(":", 1)[1] for line in result.stdout.splitlines()
    ]


def _check_list_filters(env: Env) -> None:
    dois = _seed_for_listing(env)
    everyone = ["insight_cameras", "insight_rad", "mars2020_x", "insightful"]
    assert _listed(env) == everyone
    assert _listed(env, "--node", "geo") == ["mars2020_x", "insightful"]
    assert _listed(env, "--node", "geo", "--node", "img") == everyone
    assert _listed(env, "--submitter", "ALICE@example.org") == ["insight_cameras", "mars2020_x"]
    assert _listed(env, "--submitter", "alice@example.org", "--submitter", "carol") == [
        "insight_cameras",
        "mars2020_x",
        "insightful",
    ]
    assert _listed(env, "--node", "img", "--submitter", "alice@example.org") == ["insight_cameras"]
    cameras, mars = dois["urn:nasa:pds:insight_cameras::1.0"], dois["urn:nasa:pds:mars2020_x::1.0"]
    assert _listed(env, "--doi", cameras, "--doi", f"https://doi.org/{mars.upper()}") == [
        "insight_cameras",
        "mars2020_x",
    ]
    assert _listed(env, "--doi", "10.5072/none") == []
    # wildcards: _ is literal (insightful does not match), any case; a LID finds its versions
    assert _listed(env, "--ids", "urn:nasa:pds:insight_*") == ["insight_cameras", "insight_rad"]
    assert _listed(env, "--ids", "URN:NASA:PDS:INSIGHT_*") == ["insight_cameras", "insight_rad"]
    assert _listed(env, "--ids", "*:insight???::1.0", "--ids", "*mars*") == [
        "mars2020_x",
        "insightful",
    ]
    assert _listed(env, "--ids", "urn:nasa:pds:mars2020_x") == ["mars2020_x"]
    assert _listed(env, "--ids", "urn:nasa:pds:mars2020_%") == []
    # whole UTC days, both ends included
    assert _listed(env, "--since", "2024-01-11", "--until", "2024-01-11") == ["insight_rad"]
    assert _listed(env, "--since", "2024-01-12") == ["mars2020_x", "insightful"]
    assert _listed(env, "--until", "2024-01-11") == ["insight_cameras", "insight_rad"]
    # title: a substring, any case; % and _ are literal
    assert _listed(env, "--title", "insight") == ["insight_cameras", "insight_rad", "insightful"]
    assert _listed(env, "--title", "100%") == ["insight_rad"]
    assert _listed(env, "--title", "100_") == []
    assert _listed(env, "--title", "under_score") == ["mars2020_x"]
    assert _listed(env, "--title", "étude") == ["mars2020_x"]  # any case beyond ASCII too
    assert _listed(env, "--status", "to-be-registered") == ["insightful"]
    assert _listed(env, "--status", "to-be-registered", "--node", "img") == []
    assert _listed(env, "--ids", "*insight*", "--limit", "2") == ["insight_cameras", "insight_rad"]
    as_json = json.loads(env.ok("list", "--node", "img", "--json").stdout)
    assert [(r["doi"], r["node"], r["submitter"]) for r in as_json] == [
        (cameras, "img", "alice@example.org"),
        (dois["urn:nasa:pds:insight_rad::1.0"], "img", "bob@example.org"),
    ]


@pytest.mark.slow
def test_list_filters(env: Env) -> None:
    _check_list_filters(env)


@pytest.mark.slow
@pytest.mark.skipif(not PG_URL, reason="ORGANISER_TEST_POSTGRES_URL not set")
def test_list_filters_on_postgresql(env: Env) -> None:
    assert PG_URL is not None
    env.use_database(PG_URL)
    _check_list_filters(env)


@pytest.mark.slow
def test_bad_list_options_are_one_line(env: Env) -> None:
    _reserve(env, "in", 1, 0)
    for args, error in [
        (("--since", "2024-13-01"), "Error: --since '2024-13-01': not a date (YYYY-MM-DD)"),
        (("--until", "yesterday"), "Error: --until 'yesterday': not a date (YYYY-MM-DD)"),
        (
            ("--since", "2024-02-01", "--until", "2024-01-01"),
            "Error: --since 2024-02-01: after --until 2024-01-01",
        ),
    ]:
        result = env.run("list", *args)
        assert (result.returncode, result.stdout, result.stderr) == (2, "", error + "\n"), args


def _seed_pending(env: Env) -> dict[str, str]:
    """Records in review, to be registered, failing, and one only reserved; give name ->
    DOI."""
    a1, a2, a3 = _reserve(env, "a", 3, 0, "--node", "img", "--submitter", "alice@example.org")
    (b1,) = _reserve(env, "b", 1, 10, "--node", "geo", "--submitter", "bob@example.org")
    (p1,) = _reserve(env, "p", 1, 20, "--node", "geo", "--submitter", "pipeline")
    env.faults(fail_dois={p1: 422})
    assert env.run("-s").returncode == 1
    assert env.run("register", b1).returncode == 0
    env.faults(fail_dois={b1: 422})
    assert env.run("-r").returncode == 1
    env.faults()
    assert env.run("submit", a1).returncode == 0
    assert env.run("register", a2).returncode == 0
    now = datetime.now(UTC).replace(tzinfo=None)
    open_database(env.db_url)
    for doi, age in ((a1, timedelta(days=3, hours=1)), (a2, timedelta(hours=5))):
        Record.update(updated_at=now - age).where(Record.doi == doi).execute()
    return {"a1": a1, "a2": a2, "a3": a3, "b1": b1, "p1": p1}


@pytest.mark.slow
def test_the_pending_release_report(env: Env) -> None:
    _check_report(env)


@pytest.mark.slow
@pytest.mark.skipif(not PG_URL, reason="ORGANISER_TEST_POSTGRES_URL not set")
def test_the_pending_release_report_on_postgresql(env: Env) -> None:
    assert PG_URL is not None
    env.use_database(PG_URL)
    _check_report(env)


def _check_report(env: Env) -> None:
    d = _seed_pending(env)
    result = env.run("report", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["counts"] == {"total": 4, "review": 1, "to_be_registered": 2, "failing": 2}
    assert report["submitter"] is None
    groups = [
        (g["node"], g["submitter"], [r["doi"] for r in g["records"]]) for g in report["groups"]
    ]
    assert groups == [
        ("geo", "bob@example.org", [d["b1"]]),
        ("geo", "pipeline", [d["p1"]]),
        ("img", "alice@example.org", [d["a1"], d["a2"]]),  # oldest first
    ]
    records = {r["doi"]: r for g in report["groups"] for r in g["records"]}
    assert records[d["a1"]]["status"] == "review" and records[d["a1"]]["age_days"] == 3.0
    assert records[d["a2"]]["age_days"] == 0.2
    assert records[d["b1"]]["status"] == "to-be-registered"
    assert "422" in records[d["b1"]]["last_error"]
    assert records[d["p1"]]["status"] == "to-be-reserved" and records[d["p1"]]["last_error"]
    assert records[d["a1"]]["title"] == "Organiser test bundle 0"

    text = env.run("report")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].endswith(": 1 in review, 2 to be registered, 2 failing.")
    assert "node img, submitter alice@example.org:" in lines
    review_line = next(line for line in lines if d["a1"] in line)
    assert review_line.split() == [
        "review", "3", "days", d["a1"], "urn:nasa:pds:organiser_test_00000::1.0",
        "Organiser", "test", "bundle", "0",
    ]  # fmt: skip
    failing = lines.index(next(line for line in lines if d["b1"] in line))
    assert lines[failing + 1].startswith("    last error: ") and "422" in lines[failing + 1]
    assert d["a3"] not in text.stdout  # only reserved: not pending
    assert lines[-1].startswith("Approve with 'organiser register ID...'")

    own = json.loads(env.ok("report", "--submitter", "ALICE@example.org", "--json").stdout)
    assert own["counts"] == {"total": 2, "review": 1, "to_be_registered": 1, "failing": 0}
    assert [r["doi"] for g in own["groups"] for r in g["records"]] == [d["a1"], d["a2"]]
    nobody = env.ok("report", "--submitter", "nobody@example.org")
    assert nobody.stdout.splitlines()[-1] == "Nothing is pending."

    no_mail = env.run("report", "--email")
    assert (no_mail.returncode, no_mail.stdout) == (2, "")
    assert no_mail.stderr == "Error: --email: [email] smtp_host is not set: nothing can be mailed\n"


def _csv(mail: object) -> tuple[str | None, list[list[str]]]:
    attachments = list(mail.message.iter_attachments())  # type: ignore[attr-defined]
    assert len(attachments) == 1
    part = attachments[0]
    assert part.get_content_type() == "text/csv"
    return part.get_filename(), list(csv.reader(io.StringIO(part.get_content())))


@pytest.mark.slow
def test_the_report_by_email_with_the_csv(env: Env, smtp: tuple[Inbox, int]) -> None:  # noqa: F811
    inbox, port = smtp
    d = _seed_pending(env)
    with_mail(env, port)
    inbox.take()  # the failures' alerts (none: the alerts were off until now)
    result = env.run("report", "--email", "--attachment")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1] == (
        "report mailed to " + ", ".join([*OPERATORS, "bob@example.org", "alice@example.org"])
    )
    mails = {tuple(m.rcpt): m for m in inbox.take()}
    assert set(mails) == {tuple(OPERATORS), ("bob@example.org",), ("alice@example.org",)}
    host = socket.gethostname()

    operators = mails[tuple(OPERATORS)]
    assert operators.to == OPERATORS
    assert operators.subject.strip() == (  # a long one is folded before its first word
        f"[organiser] pending release on {host}: 1 in review, 2 to be registered, 2 failing"
    )
    body = operators.body.splitlines()
    assert (
        "node geo, submitter pipeline:" in body and "node img, submitter alice@example.org:" in body
    )
    assert any(d["a1"] in line and line.split()[0] == "review" for line in body)
    name, rows = _csv(operators)
    assert name == "pending-release.csv"
    assert rows[0] == [
        "doi", "identifier", "title", "node", "submitter", "status", "age_days", "last_error",
    ]  # fmt: skip
    by_doi = {row[0]: row for row in rows[1:]}
    assert list(by_doi) == [d["b1"], d["p1"], d["a1"], d["a2"]]
    assert by_doi[d["a1"]][1:7] == [
        "urn:nasa:pds:organiser_test_00000::1.0",
        "Organiser test bundle 0",
        "img",
        "alice@example.org",
        "review",
        "3.0",
    ]
    assert by_doi[d["a1"]][7] == "" and "422" in by_doi[d["b1"]][7]
    assert by_doi[d["p1"]][4:6] == ["pipeline", "to-be-reserved"]

    alice = mails[("alice@example.org",)]
    assert alice.subject.strip() == (
        f"[organiser] pending release for alice@example.org on {host}: 1 in review, "
        "1 to be registered, 0 failing"
    )
    assert d["a1"] in alice.body and d["b1"] not in alice.body
    assert [row[0] for row in _csv(alice)[1][1:]] == [d["a1"], d["a2"]]
    bob = mails[("bob@example.org",)]
    assert [row[0] for row in _csv(bob)[1][1:]] == [d["b1"]]

    # without --attachment: no CSV; one submitter's report goes to the operators and them
    result = env.run("report", "--email", "--submitter", "bob@example.org")
    assert result.returncode == 0, result.stderr
    mails = inbox.take()
    assert sorted(tuple(m.rcpt) for m in mails) == [("bob@example.org",), tuple(OPERATORS)]
    assert all(not list(m.message.iter_attachments()) for m in mails)
    assert all(d["a1"] not in m.body and d["b1"] in m.body for m in mails)


@pytest.mark.slow
def test_a_mail_that_cannot_be_sent_is_a_warning_and_exit_1(env: Env) -> None:
    _seed_pending(env)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with_mail(env, port)
    result = env.run("report", "--email")
    assert result.returncode == 1
    assert result.stdout.startswith("Pending release at ")
    [warning] = result.stderr.splitlines()
    assert warning.startswith("warning: report not sent to everyone: cannot send mail through")
