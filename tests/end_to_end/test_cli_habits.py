"""Command-line habits: ``-q`` and ``-v`` work after the subcommand as before it, ``-q``
silences what a marking command reports (errors still print, the exit code tells), and on a
terminal ``-v``'s log lines are written above the progress bar, not over it."""

from __future__ import annotations

import os
import pty
import select
import subprocess

import pytest

from conftest import ORGANISER, PASSWORD, Env, clean_environment, write_records


def test_quiet_after_the_subcommand_silences_marking_and_status(env: Env) -> None:
    write_records(env.tmp / "in", 3)
    marked = env.run("reserve", str(env.tmp / "in"), "-q")
    assert (marked.returncode, marked.stdout, marked.stderr) == (0, "", "")
    assert [r.status for r in env.records()] == ["to-be-reserved"] * 3

    for args in (["register", "1", "--quiet"], ["-q", "register", "2"]):
        done = env.run(*args)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert [r.status for r in env.records()] == ["to-be-registered"] * 2 + ["to-be-reserved"]

    assert env.run("status", "-q").stdout == ""
    assert "to-be-registered" in env.run("status").stdout  # without -q it tells
    shown = env.run("register", "3")
    assert shown.stdout.endswith("\tto-be-registered\n")


def test_errors_still_print_under_quiet_after_the_subcommand(env: Env) -> None:
    write_records(env.tmp / "in", 1)
    env.ok("reserve", str(env.tmp / "in"))
    before = env.snapshot()
    missing = env.run("register", "-q", "99")
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.startswith("Error: ") and "99" in missing.stderr
    assert len(missing.stderr.splitlines()) == 1
    usage = env.run("reserve", "-q")
    assert usage.returncode == 2
    assert usage.stderr.startswith("Error: Missing argument 'SOURCE...'")
    assert env.snapshot() == before


@pytest.mark.slow
def test_verbose_after_the_subcommand_logs_as_before_it(env: Env) -> None:
    write_records(env.tmp / "in", 2)
    env.ok("reserve", str(env.tmp / "in"))
    env.ok("-s")
    plain = env.run("check")
    assert plain.returncode == 0 and "check finished" not in plain.stderr
    for args in (["check", "-v"], ["-v", "check"], ["check", "--verbose"]):
        verbose = env.run(*args)
        assert verbose.returncode == 0, verbose.stderr
        assert "[info     ] check finished" in verbose.stderr


def test_every_subcommand_and_nested_one_takes_the_flags(env: Env) -> None:
    generated = env.run("config", "generate", "-q", "-v")
    assert generated.returncode == 0 and "[datacite]" in generated.stdout
    helped = env.run("token", "list", "-h")
    assert "-q, --quiet" in helped.stdout and "-v, --verbose" in helped.stdout
    assert "-q, --quiet" in env.run("status", "-h").stdout


@pytest.mark.slow
def test_on_a_terminal_log_lines_do_not_overwrite_the_bar(env: Env) -> None:
    write_records(env.tmp / "in", 4)
    env.ok("reserve", str(env.tmp / "in"))
    environ = clean_environment()
    environ.update(ORGANISER_CONFIG=str(env.config), ORGANISER_DATACITE_PASSWORD=PASSWORD)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(ORGANISER), "-s", "-v"], stdout=follower, stderr=follower, env=environ
    )
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        try:
            chunk = os.read(leader, 4096) if ready else b""
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    assert process.wait(timeout=30) == 0
    os.close(leader)
    lines = shown.replace(b"\r\n", b"\n").split(b"\n")
    handled = [line for line in lines if b"[info     ] record" in line]
    assert len(handled) == 4, shown
    for line in handled:  # the bar's line was cleared first: nothing of it before the log
        assert b"\r\x1b[K20" in line, line
        assert b"[####" not in line.rpartition(b"\x1b[K")[2]
    assert b"reserve: 4 done, 0 failed, 0 skipped" in shown
    assert {r.status for r in env.records()} == {"reserved"}
