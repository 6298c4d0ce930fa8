"""Who may do what, as a matrix: role, record status and operation, through the actions (the
one door), then the same operations through the command line and the HTTP API.

Each cell gets a record of its own in the status it names, made the way records get there
(marks and real passes against the stand-in). The expected outcome of every cell is written
out below, not derived from the state machine; a refused cell must leave the record's row and
history exactly as they were. At the end the passes run and the stand-in shows what was sent:
a submitter's new landing page for a published DOI never reaches DataCite until an operator
approves it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from organiser.actions import marking, review
from organiser.actions.access import Actor, Forbidden, Role
from organiser.app import App
from organiser.commands.cli import cli
from organiser.commands.main import SUBCOMMANDS  # noqa: F401  (registers the subcommands)
from organiser.domain.passes import ORDER
from organiser.storage import records as store
from organiser.storage.models import History, Record

from conftest import MINIMAL, PASSWORD, Env, write_records

EVIL = "https://evil.example/phish"
ALICE, BOB, OLIVE = "alice@example.org", "bob@example.org", "olive@example.org"
ACTORS = {
    "reader": Actor("api:rita", Role.READER, None, "token 'rita'"),
    "other": Actor("api:bob", Role.SUBMITTER, BOB, "token 'bob'"),
    "owner": Actor("api:alice", Role.SUBMITTER, ALICE, "token 'alice'"),
    "operator": Actor("api:olive", Role.OPERATOR, OLIVE, "token 'olive'"),
}
STATUSES = (
    "to-be-reserved",
    "reserved",
    "review",
    "to-be-registered",
    "registered",
    "update-registered",
    "update-review",
    "to-be-deleted",
    "deleted",
)
OPERATIONS = ("update", "submit", "release", "reject", "delete")
F, R = "forbidden", "refused"  # refused: the role may, the record's status may not

#: What each operation does to a record of each status, for the record's own submitter
#: (owner) and for an operator: the status it ends in, or F / R. Readers and other
#: submitters are refused (F) everything.
OWNER = {
    "update": {
        "to-be-reserved": "to-be-reserved",
        "reserved": "update-reserved",
        "review": "update-reserved",
        "to-be-registered": "update-review",  # approved and waiting: the change is reviewed
        "registered": "update-review",  # published: the change is reviewed
        "update-registered": R,
        "update-review": R,  # a held change is never swapped for another before review
        "to-be-deleted": R,
        "deleted": R,
    },
    "submit": {s: "review" if s in ("reserved", "review") else R for s in STATUSES},
    "release": dict.fromkeys(STATUSES, F),
    "reject": dict.fromkeys(STATUSES, F),
    "delete": dict.fromkeys(STATUSES, F),
}
OPERATOR = {
    "update": {
        "to-be-reserved": "to-be-reserved",
        "reserved": "update-reserved",
        "review": "update-reserved",
        "to-be-registered": "update-before-registration",
        "registered": "update-registered",  # an operator's update goes straight
        "update-registered": "update-registered",
        "update-review": "update-registered",  # and overrides the change in review
        "to-be-deleted": R,
        "deleted": R,
    },
    "submit": {s: "review" if s in ("reserved", "review") else R for s in STATUSES},
    "release": {
        **dict.fromkeys(STATUSES, R),
        "review": "to-be-registered",
        "update-review": "update-registered",
    },
    "reject": {**dict.fromkeys(STATUSES, R), "review": "reserved", "update-review": "registered"},
    "delete": {**dict.fromkeys(STATUSES, "to-be-deleted"), "deleted": R},
}


def expected(role: str, operation: str, status: str) -> str:
    """Give the status a cell ends in, or F / R."""
    if role == "owner":
        return OWNER[operation][status]
    if role == "operator":
        return OPERATOR[operation][status]
    return F


def _app(env: Env) -> App:
    env.write_config(datacite={"rate_limit": "0"})  # the stand-in takes any rate
    return App(str(env.config), {"ORGANISER_DATACITE_PASSWORD": PASSWORD})


def _run_passes(app: App, *names: str) -> None:
    result = app.organiser("test").run(list(names or ORDER))
    assert result.failures == [], result.failures


def build(env: Env, app: App, cells: list[str]) -> dict[str, dict[str, str]]:
    """Give, for each cell name, the DOI of a record of alice's in each status, made by real
    marks and passes."""
    operator = Actor.operator("setup")
    later = [s for s in STATUSES if s != "to-be-reserved"]
    dois: dict[str, dict[str, str]] = {cell: {} for cell in cells}

    def reserve(statuses: list[str], folder: str) -> None:
        n = len(statuses) * len(cells)
        start = sum(len(v) for v in dois.values())
        write_records(env.tmp / folder, n, start=start)
        done = marking.reserve(app, operator, [str(env.tmp / folder)], None, ALICE)
        it = iter(done.new)
        for cell in cells:
            for status in statuses:
                dois[cell][status] = next(it).doi

    def group(*statuses: str) -> list[str]:
        return [dois[cell][s] for cell in cells for s in statuses]

    reserve(later, "early")
    _run_passes(app, "reserve")
    published = ("registered", "update-registered", "update-review")
    review.submit(app, operator, group("review", "to-be-registered", *published))
    review.release(app, operator, group(*published))
    marking.delete(app, operator, group("deleted"))
    _run_passes(app, "register", "delete")
    review.release(app, operator, group("to-be-registered"))
    marking.delete(app, operator, group("to-be-deleted"))
    for doi in group("update-registered"):
        marking.update(app, operator, doi, _source(env, app, doi, "https://example.org/op"))
    for doi in group("update-review"):
        marking.update(app, ACTORS["owner"], doi, _source(env, app, doi, "https://example.org/a"))
    reserve(["to-be-reserved"], "late")
    for cell in cells:
        found = {s: store.find(doi).status for s, doi in dois[cell].items()}
        assert found == {s: s for s in STATUSES}, found
    return dois


def _source(env: Env, app: App, doi: str, url: str) -> str:
    """Write the record's metadata with landing page ``url`` to a file; give its path."""
    record = store.find(doi)
    attributes = dict(store.attributes_of(record), doi=doi, url=url)
    path = env.tmp / "updates" / f"{doi.replace('/', '_')}-{abs(hash(url))}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"data": {"attributes": attributes}}))
    return str(path)


def _row(doi: str) -> tuple[Any, ...]:
    record = Record.get(Record.doi == doi)
    history = History.select().where(History.record == record.id).order_by(History.id)
    row = tuple(Record.select().where(Record.id == record.id).tuples().get())
    return (row, *history.tuples())


def _operate(env: Env, app: App, actor: Actor, operation: str, doi: str) -> None:
    if operation == "update":
        marking.update(app, actor, None, _source(env, app, doi, EVIL))
    elif operation == "submit":
        review.submit(app, actor, [doi])
    elif operation == "release":
        review.release(app, actor, [doi])
    elif operation == "reject":
        review.reject(app, actor, [doi], "not like this")
    else:
        marking.delete(app, actor, [doi])


def check_matrix(
    dois: dict[str, dict[str, str]],
    roles: tuple[str, ...],
    act: Callable[[str, str, str], str],
    operations: tuple[str, ...] = OPERATIONS,
) -> list[str]:
    """Apply every (role, operation) to its cell's record of every status with ``act(role,
    operation, doi)``, which gives "ok", F or R; check the outcome against the table and the
    database; give the mismatches."""
    wrong = []
    for role in roles:
        for operation in operations:
            cell = dois[f"{role}-{operation}"]
            for status in STATUSES:
                doi = cell[status]
                want = expected(role, operation, status)
                before = _row(doi)
                got = act(role, operation, doi)
                after = store.find(doi)
                if want in (F, R):
                    if got != want or _row(doi) != before:
                        wrong.append(f"{role} {operation} {status}: {got}, want {want}")
                elif got != "ok" or after.status != want:
                    wrong.append(f"{role} {operation} {status}: {got} {after.status}, want {want}")
    return wrong


@pytest.mark.slow
def test_every_role_on_every_status_through_the_actions(env: Env) -> None:
    app = _app(env)
    cells = [f"{role}-{op}" for role in ACTORS for op in OPERATIONS]
    dois = build(env, app, cells)

    def act(role: str, operation: str, doi: str) -> str:
        try:
            _operate(env, app, ACTORS[role], operation, doi)
        except Forbidden:
            return F
        except store.RecordError:
            return R
        return "ok"

    assert check_matrix(dois, tuple(ACTORS), act) == []

    # the phishing change a submitter made to a published DOI is held, not applied
    phished = store.find(dois["owner-update"]["registered"])
    assert phished.url != EVIL
    assert json.loads(phished.pending)["url"] == EVIL
    held = {  # what DataCite held before: published, approved-and-waiting, in review
        doi: env.server.datacite.document(doi)["data"]["attributes"].get("url")
        for status, doi in dois["owner-update"].items()
        if status in ("to-be-registered", "registered", "update-review")
    }
    _run_passes(app)
    for doi, url in held.items():
        assert env.server.datacite.document(doi)["data"]["attributes"].get("url") == url != EVIL
        assert store.find(doi).status == "update-review"
    # an operator's update goes straight: DataCite shows it after the pass
    operator_updated = dois["operator-update"]["registered"]
    assert env.server.datacite.document(operator_updated)["data"]["attributes"]["url"] == EVIL

    # approved by an operator: applied, and the next update pass sends it
    review.release(app, ACTORS["operator"], [phished.doi])
    assert (store.find(phished.doi).url, store.find(phished.doi).pending) == (EVIL, None)
    _run_passes(app)
    assert env.server.datacite.document(phished.doi)["data"]["attributes"]["url"] == EVIL
    assert env.server.datacite.states()[phished.doi] == "findable"
    assert store.find(phished.doi).status == "registered"
    steps = [(h.to_status, h.action, h.actor) for h in store.history_of(store.find(phished.doi))]
    assert steps[-3:] == [
        ("update-review", "mark-propose", "api:alice"),
        ("update-registered", "mark-register", "api:olive"),
        ("registered", "updated", "test"),
    ]


@pytest.mark.slow
def test_a_rejected_change_is_dropped_and_never_sent(env: Env) -> None:
    app = _app(env)
    dois = build(env, app, ["x"])["x"]
    doi = dois["registered"]
    original = store.find(doi).url
    marking.update(app, ACTORS["owner"], doi, _source(env, app, doi, EVIL))
    with pytest.raises(Forbidden, match="token 'alice' is a submitter; this needs an operator"):
        review.release(app, ACTORS["owner"], [doi])
    review.reject(app, ACTORS["operator"], [doi], "phishing")
    record = store.find(doi)
    assert (record.status, record.url, record.pending) == ("registered", original, None)
    _run_passes(app)
    assert env.server.datacite.document(doi)["data"]["attributes"]["url"] == original
    assert EVIL not in json.dumps(env.server.datacite.document(doi))


@pytest.mark.slow
def test_the_command_line_is_an_operator(env: Env) -> None:
    """The operator row of the matrix through ``organiser`` itself (in process); the command
    line approves with ``register`` (which also registers what is not in review)."""
    app = _app(env)
    cells = [f"operator-{op}" for op in OPERATIONS]
    dois = build(env, app, cells)
    runner = CliRunner()
    environ = {"ORGANISER_CONFIG": str(env.config), "ORGANISER_DATACITE_PASSWORD": PASSWORD}

    def act(role: str, operation: str, doi: str) -> str:
        if operation == "update":
            args = ["update", doi, _source(env, app, doi, EVIL)]
        elif operation == "reject":
            args = ["reject", doi, "--reason", "not like this"]
        else:
            args = [operation, doi]
        result = runner.invoke(cli, args, env=environ)
        if result.exit_code == 0:
            assert result.stdout.split("\t")[:3] == [
                doi,
                store.find(doi).identifier,
                store.find(doi).status + "\n",
            ], result.output
            return "ok"
        assert result.exit_code == 2, (args, result.output, result.exception)
        assert result.stdout == "", result.stdout
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
        return R

    operations = ("update", "submit", "reject", "delete")
    assert check_matrix(dois, ("operator",), act, operations) == []
    approved = runner.invoke(
        cli, ["register", dois["operator-release"]["update-review"]], env=environ
    )
    assert approved.exit_code == 0, approved.output
    record = store.find(dois["operator-release"]["update-review"])
    assert (record.status, record.url, record.pending) == (
        "update-registered",
        "https://example.org/a",
        None,
    )


@pytest.mark.slow
def test_the_http_api_enforces_the_same_matrix(env: Env) -> None:
    from test_api import Api  # the real ``organiser serve`` on a free port

    app = _app(env)
    cells = [f"{role}-{op}" for role in ACTORS for op in OPERATIONS if op != "delete"]
    dois = build(env, app, cells)
    api = Api(env)
    names = {"reader": "rita", "other": "bob", "owner": "alice", "operator": "olive"}
    api.token("rita", "reader")
    api.token("bob", "submitter", BOB)
    api.token("alice", "submitter", ALICE)
    api.token("olive", "operator", OLIVE)
    api.start()
    try:

        def act(role: str, operation: str, doi: str) -> str:
            token = names[role]
            if operation == "update":
                body = Path(_source(env, app, doi, EVIL)).read_bytes()
                answer = api.call(
                    "POST",
                    "/dois",
                    token,
                    params={"action": "update"},
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
            else:
                path = {"submit": "/doi/submit", "release": "/doi/release"}.get(
                    operation, "/doi/reject"
                )
                params = {"identifier": doi}
                if operation == "reject":
                    params["reason"] = "not like this"
                answer = api.call("POST", path, token, params=params)
            assert "Traceback" not in answer.text
            if answer.status_code in (200, 201):
                return "ok"
            assert len(answer.json()["errors"]) == 1, answer.text
            return {403: F, 400: R}[answer.status_code]

        operations = ("update", "submit", "release", "reject")  # the API has no delete
        assert check_matrix(dois, tuple(ACTORS), act, operations) == []
    finally:
        api.stop()


def test_a_submitter_cannot_name_a_doi_to_adopt(env: Env) -> None:
    """A DOI named at reserve time is looked up and adopted at DataCite: a submitter could
    take over a findable DOI this database does not hold. Only operators name DOIs."""
    app = _app(env)
    env.server.datacite.add(
        "10.5072/existing-1", {"url": "https://example.org/real", "titles": [{"title": "Real"}]}
    )
    folder = env.tmp / "named"
    write_records(folder, 1, doi="10.5072/existing-1", url=EVIL)
    with pytest.raises(Forbidden, match=r"names DOI 10\.5072/existing-1; token 'alice'"):
        marking.reserve(app, ACTORS["owner"], [str(folder)], None)
    app.open_db()
    assert list(Record.select()) == []
    assert env.server.datacite.states() == {"10.5072/existing-1": "findable"}


@pytest.mark.slow
def test_a_new_version_of_another_submitters_record_is_refused(env: Env) -> None:
    env.write_config(intake={"versioned_dois": "true"})
    app = _app(env)
    dois = build(env, app, ["x"])["x"]
    first = store.find(dois["registered"])
    folder = env.tmp / "v2"
    folder.mkdir()
    attributes = dict(store.attributes_of(first), url=EVIL)
    attributes["identifiers"] = [
        {"identifier": first.identifier.replace("::1.0", "::2.0"), "identifierType": "PDS4 LIDVID"}
    ]
    (folder / "v2.json").write_text(json.dumps({"data": {"attributes": attributes}}))
    before = _row(first.doi)
    with pytest.raises(Forbidden, match=r"submitted by alice@example\.org"):
        marking.reserve(app, ACTORS["other"], [str(folder)], None)
    assert _row(first.doi) == before
    assert store.live_records(Record.lid, [first.lid])[first.lid] == [first]
    done = marking.reserve(app, ACTORS["owner"], [str(folder)], None)  # its own submitter may
    assert [m.status for m in done.related] == ["update-review"]


@pytest.mark.slow
def test_an_update_cannot_take_another_records_identifier(env: Env) -> None:
    """A record known by a local id takes the identifier its new metadata brings, but never
    one another live record carries."""
    app = _app(env)
    theirs = store.find(build(env, app, ["x"])["x"]["registered"])
    (env.tmp / "plain").mkdir()
    (env.tmp / "plain" / "plain.json").write_text(
        json.dumps({"data": {"attributes": dict(MINIMAL, url="https://example.org/p")}})
    )
    operator = ACTORS["operator"]
    [plain] = marking.reserve(app, operator, [str(env.tmp / "plain")], None).new
    assert plain.identifier.startswith("local:")
    attributes = dict(MINIMAL, doi=plain.doi, url="https://example.org/p")
    attributes["identifiers"] = [{"identifier": theirs.identifier, "identifierType": "PDS4 LIDVID"}]
    path = env.tmp / "steal.json"
    path.write_text(json.dumps({"data": {"attributes": attributes}}))
    before = _row(plain.doi)
    with pytest.raises(store.RecordError, match=f"already has DOI {theirs.doi}"):
        marking.update(app, operator, plain.doi, str(path))
    assert _row(plain.doi) == before
    assert store.find(theirs.identifier).doi == theirs.doi


@pytest.mark.slow
def test_show_lists_a_held_change_field_by_field(env: Env) -> None:
    app = _app(env)
    doi = build(env, app, ["x"])["x"]["update-review"]
    shown = CliRunner().invoke(
        cli, ["show", doi], env={"ORGANISER_CONFIG": str(env.config)}, catch_exceptions=False
    )
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    start = lines.index(
        "proposed change (waiting for an operator: register approves, reject drops):"
    )
    assert lines[start + 1].startswith("  url: https://") and lines[start + 1].endswith(
        " → https://example.org/a  LANDING PAGE"
    )


@pytest.mark.slow
def test_check_compares_a_published_record_whose_change_is_in_review(env: Env) -> None:
    """DataCite keeps the published DOI while its change waits: ``check`` compares it (drift
    behind organiser's back is reported) and ``--repair`` leaves the held change alone."""
    from organiser.actions import check

    app = _app(env)
    doi = build(env, app, ["x"])["x"]["update-review"]
    held = store.find(doi).pending
    attributes = env.server.datacite.dois[doi]["attributes"]
    attributes["url"] = "https://elsewhere.example/moved"  # changed at DataCite, not here
    result = check.check(app, "test", repair=True)
    assert [(d.doi, d.field, d.remote) for d in result.drifts] == [
        (doi, "url", "https://elsewhere.example/moved")
    ]
    assert "reported only (a change in review" in result.drifts[0].repair
    record = store.find(doi)
    assert (record.status, record.pending) == ("update-review", held)


def test_with_review_off_a_submitter_still_cannot_approve_its_own_change(env: Env) -> None:
    doi = build(env, _app(env), ["x"])["x"]["update-review"]
    env.write_config(api={"review": "false"})  # submitting is registering now
    app = _app(env)
    before = _row(doi)
    with pytest.raises(Forbidden, match="has a change in review; only an operator approves it"):
        review.submit(app, ACTORS["owner"], [doi])
    with pytest.raises(Forbidden):
        review.submit(app, ACTORS["owner"], [doi], dry_run=True)
    assert _row(doi) == before


def test_a_held_change_is_not_pushed_away_and_a_missing_doi_is_found(env: Env) -> None:
    from organiser.actions import check, run
    from organiser.engine.stop import StopFlag

    app = _app(env)
    doi = build(env, app, ["x"])["x"]["update-review"]
    before = _row(doi)
    with pytest.raises(store.RecordError, match="has a change in review; approve it"):
        run.push(app, "update", doi, StopFlag())
    assert _row(doi) == before
    del env.server.datacite.dois[doi]  # DataCite lost the published DOI
    result = check.check(app, "test", repair=True)
    assert [(d.doi, d.field, d.remote) for d in result.drifts] == [(doi, "state", "(missing)")]
    assert result.missing == 1 and "reported only" in result.drifts[0].repair
    assert store.find(doi).status == "update-review"


def test_approving_a_change_whose_identifier_was_taken_meanwhile_is_refused(env: Env) -> None:
    app = _app(env)
    operator = ACTORS["operator"]
    (env.tmp / "plain").mkdir()
    (env.tmp / "plain" / "plain.json").write_text(
        json.dumps({"data": {"attributes": dict(MINIMAL, url="https://example.org/p")}})
    )
    [plain] = marking.reserve(app, operator, [str(env.tmp / "plain")], None, ALICE).new
    _run_passes(app)
    review.submit(app, operator, [plain.doi])
    review.release(app, operator, [plain.doi])
    _run_passes(app)
    proposed = dict(MINIMAL, doi=plain.doi, url="https://example.org/p")
    proposed["identifiers"] = [
        {"identifier": "urn:nasa:pds:taken::1.0", "identifierType": "PDS4 LIDVID"}
    ]
    (env.tmp / "proposal.json").write_text(json.dumps({"data": {"attributes": proposed}}))
    held = marking.update(app, ACTORS["owner"], plain.doi, str(env.tmp / "proposal.json"))
    assert held.status == "update-review"
    write_records(env.tmp / "other", 1)  # a record that takes the identifier meanwhile
    other = json.loads((env.tmp / "other" / "record_00000.json").read_text())
    other["data"]["attributes"]["identifiers"][0]["identifier"] = "urn:nasa:pds:taken::1.0"
    (env.tmp / "other" / "record_00000.json").write_text(json.dumps(other))
    marking.reserve(app, operator, [str(env.tmp / "other")], None)
    before = _row(plain.doi)
    with pytest.raises(store.RecordError, match="the change in review names urn:nasa:pds:taken"):
        review.release(app, operator, [plain.doi])
    assert _row(plain.doi) == before


def test_a_record_id_is_found_without_folding_every_identifier(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folding the identifier's case scans the table: a plain id (nothing to fold) is found
    through indexes only (registering 2,000 ids on 45,000 records took a core for seconds).
    Judged on SQLite's plans for the statements sent to the database."""
    from organiser.storage.models import database_proxy

    app = _app(env)
    doi = build(env, app, ["x"])["x"]["reserved"]
    record = store.find(doi)
    db = database_proxy.obj
    sent: list[tuple[str, object]] = []
    execute = db.execute_sql
    monkeypatch.setattr(
        db,
        "execute_sql",
        lambda sql, params=None, *a, **k: (
            sent.append((sql, params)) or execute(sql, params, *a, **k)
        ),
    )

    def scans(ref: str) -> list[str]:
        sent.clear()
        assert store.find(ref).doi == doi
        plans = [
            row[-1] for sql, params in sent for row in execute("EXPLAIN QUERY PLAN " + sql, params)
        ]
        return [line for line in plans if line.startswith("SCAN")]

    assert scans(str(record.id)) == []
    # a fold is served by the lower-cased identifier index too (since schema v9)
    assert scans(record.identifier.upper()) == []
    # the check can fail: a plan that reads the table says SCAN
    unindexed = execute("EXPLAIN QUERY PLAN SELECT * FROM record WHERE url LIKE 'x%'").fetchall()
    assert [row[-1] for row in unindexed if row[-1].startswith("SCAN")] != []
