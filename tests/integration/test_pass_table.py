"""One table of passes (:data:`organiser.domain.passes.PASSES`): the engine's order and
outcomes, the CLI's flags and pushes and ``--dry-run`` all come from it, and a dry-run line
is the request the effect then sends (asserted on what the stand-in received)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click
import pytest

from organiser.commands.main import cli
from organiser.datacite.client import DataCiteClient
from organiser.domain.identifiers import DoiScheme
from organiser.domain.passes import BY_NAME, ORDER, PASSES, pass_for, route
from organiser.domain.states import State, pass_states
from organiser.engine import passes
from organiser.engine.effects import Effects
from organiser.engine.passes import Organiser, Settings
from organiser.notify.digest import _failure
from organiser.standin import StandinServer
from organiser.storage import records as store
from organiser.storage.database import open_database
from organiser.storage.models import Record

from conftest import MINIMAL, PASSWORD, PREFIX, USER

NOW = datetime(2026, 11, 21, 12, 0)
LIDVID = "urn:nasa:pds:table::1.0"


def test_the_table_is_the_engines_order_outcomes_and_effects() -> None:
    assert ORDER == ("update", "reserve", "register", "delete")
    seen: set[State] = set()
    for step in PASSES:
        assert callable(getattr(Effects, step.name)), f"no effect for the {step.name} pass"
        assert step.states == pass_states(step.outcome) and step.states
        assert not step.states & seen, "two passes work on one state"
        seen |= step.states
        assert all(pass_for(state) is step for state in step.states)
    assert pass_for(State.REGISTERED) is None and pass_for(State.REVIEW) is None
    # a register push sends pending new metadata first, then publishes
    assert BY_NAME["register"].push_passes == ("update", "register")
    assert [s.name for s, _ in route(State.UPDATE_BEFORE_REGISTRATION, ORDER)] == [
        "update",
        "register",
    ]


def test_the_cli_flags_are_the_tables() -> None:
    options = {tuple(p.opts): p for p in cli.params if isinstance(p, click.Option)}
    flags = {opt for opts in options for opt in opts if opt.endswith(("-all", "-doi"))}
    assert flags == {p.all_flag for p in PASSES} | {p.push_flag for p in PASSES}
    for step in PASSES:
        option = options[(f"-{step.letter}", step.all_flag)]
        assert option.is_flag and option.help == step.effect
        assert options[(step.push_flag,)].multiple


def test_the_digest_names_the_tables_push_flag() -> None:
    detail = {
        "doi": "10.5072/x",
        "identifier": "i",
        "action": "delete",
        "error": "e",
        "attempts": 1,
        "retry_at": "2026-01-01 00:00",
    }
    assert "  try now     organiser --delete-doi 10.5072/x" in _failure(detail, None, False)


def test_a_run_takes_the_passes_in_the_tables_order(standin: StandinServer, tmp_path: Path) -> None:
    open_database(f"sqlite:///{tmp_path / 'o.db'}")
    result = _organiser(standin).run(["delete", "register", "reserve", "update"])
    assert [p.name for p in result.passes] == list(ORDER)


#: (pass, status, DataCite state the record last saw, DOI generated here, DataCite holds it
#: in this state) -> the first request the stand-in receives: (method, event), or None
CASES = [
    ("update", State.UPDATE_RESERVED, "draft", True, "draft", ("PUT", None)),
    ("update", State.UPDATE_BEFORE_REGISTRATION, None, True, None, None),
    ("reserve", State.TO_BE_RESERVED, None, True, None, ("POST", None)),
    ("reserve", State.TO_BE_RESERVED, None, False, "findable", ("GET", None)),
    ("register", State.TO_BE_REGISTERED, "draft", True, "draft", ("PUT", "publish")),
    ("register", State.TO_BE_REGISTERED, None, True, None, ("POST", "publish")),
    ("register", State.TO_BE_REGISTERED, None, False, None, ("GET", None)),
    ("delete", State.TO_BE_DELETED, "draft", True, "draft", ("DELETE", None)),
    ("delete", State.TO_BE_DELETED, "findable", True, "findable", ("PUT", "hide")),
    ("delete", State.TO_BE_DELETED, "registered", True, "registered", None),
    ("delete", State.TO_BE_DELETED, None, True, "draft", ("GET", None)),
]


@pytest.mark.parametrize(("name", "status", "known", "generated", "held", "first"), CASES)
def test_the_dry_run_line_is_the_request_the_effect_sends(
    standin: StandinServer,
    tmp_path: Path,
    name: str,
    status: State,
    known: str | None,
    generated: bool,
    held: str | None,
    first: tuple[str, str | None] | None,
) -> None:
    open_database(f"sqlite:///{tmp_path / 'o.db'}")
    doi = f"{PREFIX}/table-0001"
    attributes = dict(MINIMAL, identifiers=[{"identifier": LIDVID, "identifierType": "LIDVID"}])
    new = store.NewRecord(doi, generated, LIDVID, json.dumps(attributes), "https://x.org/1")
    store.write_new([new], "test", NOW)
    Record.update(status=str(status), remote_state=known).execute()
    if held is not None:
        standin.datacite.add(doi, dict(attributes, url="https://x.org/1"), state=held)
    [line] = passes.plan(ORDER, 10, NOW)  # the pass table picks the pass: only this one
    shown = line.split("\t")
    assert shown[:3] == [name, doi, LIDVID]

    result = _organiser(standin).run([name])
    assert result.failures == [] and [p.done for p in result.passes if p.name == name] == [1]
    sent = [(s.method, s.doi, s.event) for s in standin.datacite.seen]
    if first is None:
        assert sent == [] and shown[3].startswith("nothing to send")
        return
    method, event = first
    assert sent[0] == (method, doi, event)
    target = f"/dois {doi}" if method == "POST" else f"/dois/{doi}"
    assert shown[3].startswith(f"{method} {target}{f' event={event}' if event else ''} (")


def _organiser(standin: StandinServer) -> Organiser:
    client = DataCiteClient(standin.url, USER, PASSWORD, connect_timeout=2, timeout=5)
    return Organiser(client, DoiScheme(PREFIX), Settings(), "test", lambda: NOW)
