"""The scheduler daemon and one-shot runs under signals and the host lock, as subprocesses
against the stand-in."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from organiser.app import App
from organiser.commands.daemon import TEST_SECOND
from organiser.storage.database import open_database
from organiser.storage.models import History, Record

from conftest import Env, write_records


def _reserved(env: Env, count: int) -> None:
    """Give ``count`` reserved records, marked to-be-registered."""
    write_records(env.tmp / "in", count)
    assert env.run("reserve", str(env.tmp / "in")).returncode == 0
    assert env.run("-s").returncode == 0
    assert env.run("register", *[str(n) for n in range(1, count + 1)]).returncode == 0


def _registered(env: Env) -> int:
    return sum(1 for r in env.records() if r.status == "registered")


def _wait_for(condition, timeout: float = 90.0, every: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)


def _read_until(process: subprocess.Popen[str], text: str, timeout: float = 30) -> list[str]:
    """Read ``process``'s stderr until a line holds ``text``; give the lines read (and any
    read with it). Fails the test if none does within ``timeout`` seconds. Reads the pipe
    itself: select() cannot see lines a buffered reader has already taken from it."""
    assert process.stderr is not None
    fd, data = process.stderr.fileno(), b""
    deadline = time.monotonic() + timeout
    while text not in data.decode(errors="replace"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no line with {text!r} in time: {data.decode()}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"stderr closed before a line with {text!r}: {data.decode()}")
        data += chunk
    return data.decode().splitlines(keepends=True)


def _ready(notify: socket.socket) -> None:
    """Wait for the daemon's READY=1 (its signal handlers are in place)."""
    assert notify.recv(1024).decode().startswith("READY=1")


def _notify_socket(env: Env) -> socket.socket:
    """Give a bound socket for the daemon's sd_notify messages (NOTIFY_SOCKET)."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(env.tmp / "notify.sock"))
    notify.settimeout(60)
    return notify


def _claimed(env: Env) -> int:
    open_database(env.db_url)
    return Record.select().where(Record.claim_owner.is_null(False)).count()


def _creates_per_doi(env: Env) -> Counter[str]:
    return Counter(s.doi for s in env.server.datacite.seen if s.method == "POST" and s.doi)


@pytest.mark.slow
def test_daemon_runs_on_its_cron_and_stops_cleanly_on_sigterm(env: Env) -> None:
    _reserved(env, 40)
    env.write_config(scheduler={"cron": "* * * * *", "run_at_start": "false"})
    env.faults(latency=0.15)
    # the cron fires at second `fires` of each minute (a test seam) instead of second 0
    fires = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0, tzinfo=None)
    daemon = env.popen("daemon", env={TEST_SECOND: str(fires.second)})
    try:
        _wait_for(lambda: _registered(env) >= 3, timeout=90)
        signalled = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=10)
        stopped_after = time.monotonic() - signalled
    finally:
        daemon.kill()
    assert daemon.returncode == 0, err
    assert stopped_after < 5
    done = _registered(env)
    assert 3 <= done < 40  # stopped in the middle of the pass
    assert _claimed(env) == 0
    assert "Traceback" not in err
    assert "stopping" in err and "daemon stopped" in err
    open_database(env.db_url)  # nothing ran before the cron fired
    first = History.select().where(History.to_status == "registered").order_by(History.at).get()
    assert first.at >= fires
    # a later run finishes the rest, and no DOI was ever created twice
    env.faults(latency=0)
    assert env.run("-r").returncode == 0
    assert _registered(env) == 40
    assert set(env.remote.values()) == {"findable"} and len(env.remote) == 40
    assert max(_creates_per_doi(env).values()) == 1
    publishes = Counter(s.doi for s in env.server.datacite.seen if s.event == "publish")
    assert len(publishes) == 40


@pytest.mark.slow
def test_daemon_notifies_systemd_logs_json_and_reloads_on_sighup(env: Env) -> None:
    _reserved(env, 3)
    # JSON lines: asked for (a JOURNAL_STREAM that is not this stderr's is not the journal)
    env.write_config(
        scheduler={"cron": "0 0 1 1 *", "run_at_start": "true"}, logging={"format": "json"}
    )
    notify = _notify_socket(env)
    daemon = env.popen(
        "daemon", env={"NOTIFY_SOCKET": str(env.tmp / "notify.sock"), "JOURNAL_STREAM": "8:1234"}
    )
    try:
        _ready(notify)
        _wait_for(lambda: _registered(env) == 3)
        env.config.write_text("[datacite]\nurl = not a url\n")
        daemon.send_signal(signal.SIGHUP)
        read = _read_until(daemon, "configuration not reloaded")
        assert daemon.poll() is None  # a broken file is reported, the old one kept
        env.write_config(scheduler={"cron": "*/5 * * * *"})
        daemon.send_signal(signal.SIGHUP)
        read += _read_until(daemon, "configuration reloaded")
        daemon.send_signal(signal.SIGTERM)
        _, rest = daemon.communicate(timeout=10)
        err = "".join(read) + rest
        messages = []
        notify.settimeout(0.5)
        while True:
            try:
                messages.append(notify.recv(1024).decode())
            except TimeoutError:
                break
    finally:
        daemon.kill()
        notify.close()
    assert daemon.returncode == 0, err
    assert any("STOPPING=1" in m for m in messages)
    events = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    handled = [e for e in events if e["event"] == "record"]
    assert len(handled) == 3
    assert all(
        {"doi", "action", "outcome", "attempt", "ms", "level", "timestamp"} <= set(e)
        for e in handled
    )
    assert {e["outcome"] for e in handled} == {"done"}
    refused = [e for e in events if e["event"].startswith("configuration not reloaded")]
    assert len(refused) == 1 and "[datacite] url" in refused[0]["error"]
    reloaded = [e for e in events if e["event"] == "configuration reloaded"]
    assert [e["cron"] for e in reloaded] == ["*/5 * * * *"]


@pytest.mark.slow
def test_a_run_that_finds_the_lock_taken_exits_75_and_touches_nothing(env: Env) -> None:
    _reserved(env, 2)
    before, requests = env.snapshot(), len(env.server.datacite.seen)
    app = App(str(env.config), {"ORGANISER_DATACITE_PASSWORD": "x"})
    app.run_lock.acquire()
    try:
        started = time.monotonic()
        busy = env.run("-r")
        quiet = env.run("-r", "-q")
        pushed = env.run("--register-doi", "1")
        took = time.monotonic() - started
    finally:
        app.run_lock.release()
    assert (busy.returncode, quiet.returncode, pushed.returncode) == (75, 75, 75)
    assert busy.stderr.startswith("Error: another organiser run is in progress on this host")
    assert len(busy.stderr.splitlines()) == 1 and busy.stdout == ""
    assert quiet.stderr == "" and quiet.stdout == ""
    assert took < 10
    assert env.snapshot() == before
    assert len(env.server.datacite.seen) == requests
    assert env.run("-r").returncode == 0  # lock released: the next run goes ahead
    assert _registered(env) == 2


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_run_after_the_record_in_flight(
    env: Env, sig: signal.Signals, code: int
) -> None:
    _reserved(env, 30)
    env.faults(latency=0.15)
    run = env.popen("-r")
    try:
        _wait_for(lambda: _registered(env) >= 2, timeout=30)
        run.send_signal(sig)
        out, err = run.communicate(timeout=10)
    finally:
        run.kill()
    assert run.returncode == code, err
    done = _registered(env)
    assert 2 <= done < 30
    assert out == f"register: {done} done, 0 failed, 0 skipped\n"
    assert err == (
        f"interrupted by {sig.name}: the record in flight was finished or left as it was, "
        "claims released; the rest waits for the next run\n"
    )
    assert _claimed(env) == 0
    # what DataCite holds matches the database: the record in flight was finished
    assert sum(1 for state in env.remote.values() if state == "findable") == done


@pytest.mark.slow
def test_an_outage_prints_what_was_done(env: Env) -> None:
    write_records(env.tmp / "in", 12)
    env.ok("reserve", str(env.tmp / "in"))
    env.faults(outage_after=5, outage_for=60)
    result = env.run("-s")
    assert result.returncode == 75
    assert result.stdout == "reserve: 5 done, 0 failed, 0 skipped\n"
    assert result.stderr.startswith("error: run stopped, records not yet sent keep their state")
    assert [r.attempts for r in env.records()] == [0] * 12  # nobody failed for the outage


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
def test_the_state_dir_defaults_to_systemds_state_directory(env: Env) -> None:
    _reserved(env, 1)  # with the test's own state_dir: nothing goes to ~/.local/state
    env.settings["organiser"].pop("state_dir")
    env.write_config()
    state = env.tmp / "systemd-state"
    result = env.run("-r", env={"STATE_DIRECTORY": str(state)})
    assert result.returncode == 0, result.stderr
    lock = App(str(env.config), {"STATE_DIRECTORY": str(state)}).run_lock.path
    assert list(state.iterdir()) == [lock]


@pytest.mark.slow
def test_signals_arriving_together_stop_an_idle_daemon_once(env: Env) -> None:
    env.write_config(scheduler={"cron": "0 0 1 1 *", "run_at_start": "false"})
    notify = _notify_socket(env)
    daemon = env.popen("daemon", env={"NOTIFY_SOCKET": str(env.tmp / "notify.sock")})
    try:
        _ready(notify)  # its handlers are in place; then it waits in the scheduler (sleeping)
        _wait_for(lambda: _state(daemon.pid) == "S", timeout=30, every=0.01)
        daemon.send_signal(signal.SIGSTOP)
        daemon.send_signal(signal.SIGTERM)
        daemon.send_signal(signal.SIGINT)
        daemon.send_signal(signal.SIGCONT)
        _, err = daemon.communicate(timeout=10)
    finally:
        daemon.kill()
        notify.close()
    assert daemon.returncode == 0, err
    assert "Traceback" not in err and "daemon stopped" in err


def _state(pid: int) -> str:
    """Give a process's state letter (R running, S sleeping, ...) from /proc."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
