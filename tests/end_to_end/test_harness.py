"""The test harness itself: a failed setup step fails the test, and an in-process run of
``organiser`` answers exactly as the installed command does, leaving this process as it was."""

from __future__ import annotations

import logging
import os
import signal

import pytest

from conftest import HANDLED_SIGNALS, Env, write_records

#: Commands whose exit code and output come from main() and the group themselves.
SAME = [
    ("--bogus",),  # usage error, formatted by main(): exit 2
    ("-s", "list"),  # usage error raised by the group
    ("frobnicate",),  # no such command
    ("--help",),  # help, wrapped as for a pipe
    ("--version",),
    ("list", "--status", "nonsense"),
    ("show", "999"),  # not found
    ("list", "--json"),
    ("-l",),
]


@pytest.mark.slow
@pytest.mark.parametrize("args", SAME, ids=" ".join)
def test_an_in_process_run_answers_as_the_installed_command(env: Env, args: tuple[str]) -> None:
    write_records(env.tmp / "in", 2)
    env.ok("reserve", str(env.tmp / "in"))
    inside, outside = env.run(*args), env.run_process(*args)
    assert (inside.returncode, inside.stdout, inside.stderr) == (
        outside.returncode,
        outside.stdout,
        outside.stderr,
    )


@pytest.mark.slow
def test_a_config_error_answers_as_the_installed_command(env: Env) -> None:
    env.write_config(datacite={"timeout": "nan"})
    inside, outside = env.run("-s"), env.run_process("-s")
    assert inside.returncode == outside.returncode == 2
    assert inside.stderr == outside.stderr
    assert "[datacite] timeout" in inside.stderr


def test_ok_fails_the_test_when_a_setup_step_fails(env: Env) -> None:
    with pytest.raises(AssertionError) as failure:
        env.ok("reserve", str(env.tmp / "missing"))
    assert "exited 2" in str(failure.value)
    assert f"Error: {env.tmp / 'missing'}: no such file or directory" in str(failure.value)
    assert env.records() == []


def test_ok_gives_the_result_of_a_step_that_succeeds(env: Env) -> None:
    write_records(env.tmp / "in", 1)
    marked = env.ok("reserve", str(env.tmp / "in"))
    assert marked.returncode == 0
    assert marked.stdout.endswith("\tto-be-reserved\n")
    assert [r.status for r in env.records()] == ["to-be-reserved"]


def test_an_in_process_run_leaves_this_process_as_it_was(env: Env) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    signals = {sig: signal.getsignal(sig) for sig in HANDLED_SIGNALS}
    environ, cwd = dict(os.environ), os.getcwd()
    write_records(env.tmp / "in", 3)
    env.ok("reserve", str(env.tmp / "in"))
    env.write_config(logging={"file": str(env.tmp / "organiser.log")})
    pushed = env.ok("-v", "-s", env={"JOURNAL_STREAM": "1:2", "ORGANISER_LOGGING_FORMAT": "json"})
    assert "reserve: 3 done" in pushed.stdout
    assert '"event"' in pushed.stderr  # JSON lines: the call saw its own environment
    assert (list(root.handlers), root.level) == (handlers, level)
    assert {sig: signal.getsignal(sig) for sig in HANDLED_SIGNALS} == signals
    assert (dict(os.environ), os.getcwd()) == (environ, cwd)
    assert "JOURNAL_STREAM" not in os.environ
