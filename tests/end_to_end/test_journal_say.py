"""One format per stream: the lines commands write to stderr themselves (``warning: …``, an
import's ``error: …``, a summary moved off stdout by ``--json``, ``token add``'s note) carry
their sd-daemon priority when stderr is the journal, like the log lines around them, and are
plain otherwise. Run as processes whose stderr is a file; the test reads the bytes."""

from __future__ import annotations

import json

import pytest
from test_import import preload
from test_journal import _journal_run, _lines
from test_pds4_marking import label

from conftest import Env


@pytest.mark.slow
def test_reserve_force_warnings_are_warnings_in_the_journal(env: Env) -> None:
    first = label(env.tmp / "a", "one.xml", title="Same Title")
    other = label(env.tmp / "b", "two.xml", title="Same Title", lid="urn:nasa:pds:elsewhere")
    env.ok("reserve", str(first), "--node", "img")

    code, out, err = _journal_run(env, "reserve", "--force", str(other), "--node", "img")

    assert code == 0, err
    records = env.records()
    assert len(records) == 2
    # stdout is not the journal: the record's line stays plain
    assert out.decode() == f"{records[1].doi}\turn:nasa:pds:elsewhere::1.0\tto-be-reserved\n"
    lines = _lines(err)  # every stderr line has its priority
    warned = [(p, text) for p, text in lines if text.startswith(b"warning: ")]
    assert [p for p, _ in warned] == [4]
    assert warned[0][1].startswith(
        f"warning: {other}: title 'Same Title' is already used by "
        f"urn:nasa:pds:insight_cameras::1.0 ({records[0].doi})".encode()
    )


@pytest.mark.slow
def test_an_import_cut_short_says_so_as_an_error_and_its_json_summary_as_info(env: Env) -> None:
    preload(env.server.datacite, 600)
    env.write_config(datacite={"retries": "1"})
    env.faults(outage_after=2)  # two pages answered, then every connection refused

    code, out, err = _journal_run(env, "import", "--page-size", "200", "--json")

    assert code == 75, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 400 and {row["outcome"] for row in rows} == {"imported"}
    lines = _lines(err)
    summary = [
        p for p, text in lines if text == b"import: 400 imported, 0 refreshed, 0 unchanged, 0 kept"
    ]
    assert summary == [6]
    stopped = [(p, text) for p, text in lines if text.startswith(b"error: import stopped")]
    assert [p for p, _ in stopped] == [3]
    assert b"DataCite unreachable" in stopped[0][1]
    assert len(env.records()) == 400  # the two pages answered, written whole


@pytest.mark.slow
def test_token_add_note_is_info_in_the_journal_and_the_token_alone_on_stdout(env: Env) -> None:
    code, out, err = _journal_run(env, "token", "add", "ci", "--role", "reader")

    assert code == 0, err
    token = out.decode().strip()
    assert len(out.splitlines()) == 1 and token and b"<" not in out
    lines = _lines(err)
    assert lines == [
        (
            6,
            b"token 'ci' (reader) made; it is shown only now: give it to its user as "
            b"'Authorization: Bearer TOKEN'",
        )
    ]
    assert token.encode() not in err


@pytest.mark.slow
def test_outside_the_journal_the_same_lines_are_plain(env: Env) -> None:
    first = label(env.tmp / "a", "one.xml", title="Same Title")
    other = label(env.tmp / "b", "two.xml", title="Same Title", lid="urn:nasa:pds:elsewhere")
    env.ok("reserve", str(first), "--node", "img")

    code, _, err = _journal_run(
        env, "reserve", "--force", str(other), "--node", "img", stream="1:2"
    )

    assert code == 0
    assert err.startswith(f"warning: {other}: title 'Same Title' is already used by".encode())
    assert b"<4>" not in err
