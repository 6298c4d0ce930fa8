"""Logs for journald: when stderr is the journal (``JOURNAL_STREAM`` names its device and
inode), every line the command writes there starts with its sd-daemon priority, ``<3>`` for
a record that needs a fix, ``<4>`` for one tried again, ``<6>`` for one done; the command's
own ``error:`` lines too (one format per stream). The command runs as a process whose stderr
is a file, and the test reads the bytes it wrote."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ORGANISER, Env, write_records

#: One line of an sd-daemon stream: ``<N>`` then the text.
PREFIXED = re.compile(rb"^<([0-7])>(.*)$")


def _journal_run(env: Env, *args: str, stream: str | None = None) -> tuple[int, bytes, bytes]:
    """Run ``organiser *args`` as a process with stderr going to a file and
    ``JOURNAL_STREAM`` set to that file's device and inode (or to ``stream``); give the exit
    code, stdout and the bytes written to stderr."""
    path = env.tmp / f"journal-{len(list(env.tmp.glob('journal-*')))}.log"
    with path.open("wb") as err:
        found = os.fstat(err.fileno())
        journal = stream or f"{found.st_dev}:{found.st_ino}"
        done = subprocess.run(
            [str(ORGANISER), *args],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env.environment({"JOURNAL_STREAM": journal}),
            timeout=120,
            check=False,
        )
    return done.returncode, done.stdout, Path(path).read_bytes()


def _lines(written: bytes) -> list[tuple[int, bytes]]:
    """Give (priority, text) per line; fail if a line has no priority prefix."""
    found = []
    for line in written.splitlines():
        match = PREFIXED.match(line)
        assert match, f"a line without its priority: {line!r}"
        found.append((int(match.group(1)), match.group(2)))
    return found


def _marked(env: Env, count: int) -> list[str]:
    write_records(env.tmp / "in", count)
    result = env.ok("reserve", str(env.tmp / "in"))
    return [line.split("\t")[0] for line in result.stdout.splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize(("status", "priority"), [(422, 3), (503, 4)])
def test_a_failed_record_is_an_error_or_a_warning_and_a_done_one_info(
    env: Env, status: int, priority: int
) -> None:
    dois = _marked(env, 3)
    env.faults(fail_dois={dois[1]: status})

    code, out, err = _journal_run(env, "-s")

    assert code == 1
    assert b"reserve: 2 done, 1 failed" in out
    lines = _lines(err)  # every line carries its priority
    handled = [(p, text) for p, text in lines if text.startswith(b"record ")]
    by_doi = {doi: [p for p, text in handled if f"doi={doi} ".encode() in text] for doi in dois}
    assert by_doi == {dois[0]: [6], dois[1]: [priority], dois[2]: [6]}
    outcome = b"outcome=failed" if status == 422 else b"outcome=deferred"
    assert [text for p, text in handled if p == priority] == [
        next(text for _, text in handled if outcome in text)
    ]
    failed = [(p, text) for p, text in lines if text.startswith(b"failed ")]
    assert [p for p, _ in failed] == [priority]
    assert f"doi={dois[1]}".encode() in failed[0][1]
    assert f"{status}".encode() in failed[0][1]
    said = [(p, text) for p, text in lines if text.startswith(b"error: reserve ")]
    assert [p for p, _ in said] == [priority] and dois[1].encode() in said[0][1]
    assert b'{"' not in err  # text lines, not JSON, on the journal
    assert [r.status for r in env.records()] == ["reserved", "to-be-reserved", "reserved"]


@pytest.mark.slow
def test_quiet_under_the_journal_keeps_the_error_lines_with_their_priority(env: Env) -> None:
    dois = _marked(env, 2)
    env.faults(fail_dois={dois[0]: 422})

    code, out, err = _journal_run(env, "--reserve-all", "--quiet")  # the timer's command

    assert (code, out) == (1, b"")
    lines = _lines(err)
    assert len(lines) == 1
    priority, text = lines[0]
    assert priority == 3
    assert text.startswith(f"error: reserve {dois[0]} (urn:nasa:pds:".encode())
    assert text.endswith(b"422 doi: Forced failure 422")


@pytest.mark.slow
def test_an_outage_is_an_error_in_the_journal(env: Env) -> None:
    _marked(env, 4)
    env.write_config(datacite={"retries": "1"})
    env.faults(outage_after=0)  # every connection refused

    code, _, err = _journal_run(env, "-s")

    assert code == 75
    lines = _lines(err)
    stopped = [p for p, text in lines if text.startswith(b"run stopped ")]
    assert stopped == [3]
    said = [p for p, text in lines if text.startswith(b"error: run stopped")]
    assert said == [3]
    assert {r.status for r in env.records()} == {"to-be-reserved"}


@pytest.mark.slow
def test_a_journal_stream_of_another_file_is_not_the_journal(env: Env) -> None:
    """A child whose stderr was redirected inherits ``JOURNAL_STREAM``: it writes plain
    lines, not prefixes."""
    dois = _marked(env, 1)
    env.faults(fail_dois={dois[0]: 422})

    code, _, err = _journal_run(env, "-v", "-s", stream="1:2")

    assert code == 1
    assert not [line for line in err.splitlines() if PREFIXED.match(line)]
    assert f"error: reserve {dois[0]} ".encode() in err
    assert b"[error    ] failed" in err  # the readable console line, at its severity
