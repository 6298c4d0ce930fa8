"""The daemon and the API under systemd's notification protocol, as processes: READY=1,
WATCHDOG=1 while they run (also during a long pass), RELOADING=1 then READY=1 around a
SIGHUP reload, STOPPING=1 at SIGTERM. NOTIFY_SOCKET is a real AF_UNIX datagram socket."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable

import pytest

from conftest import ORGANISER, Env, write_records

pytestmark = pytest.mark.slow  # processes

#: systemd's WatchdogSec= of 1 s: pings every 0.5 s.
WATCHDOG = {"WATCHDOG_USEC": "1000000"}


@pytest.fixture
def notify(env: Env) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(env.tmp / "notify.sock"))
    yield sock
    sock.close()


def receive_until(
    sock: socket.socket, done: Callable[[list[str]], bool], timeout: float = 60
) -> list[str]:
    """Give the datagrams received on ``sock`` up to the one after which ``done`` holds; fail
    if it does not within ``timeout`` seconds."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while not done(got):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            raise AssertionError(f"not received in {timeout} s; got {got}") from None
    return got


def fields(message: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in message.splitlines() if "=" in line)


def pings(messages: list[str]) -> int:
    return messages.count("WATCHDOG=1")


def _reserved(env: Env, count: int) -> None:
    """Give ``count`` reserved records, marked to-be-registered."""
    write_records(env.tmp / "in", count)
    assert env.run("reserve", str(env.tmp / "in")).returncode == 0
    assert env.run("-s").returncode == 0
    assert env.run("register", *[str(n) for n in range(1, count + 1)]).returncode == 0


def _daemon(env: Env, **extra: str) -> subprocess.Popen[str]:
    return env.popen("daemon", env={"NOTIFY_SOCKET": str(env.tmp / "notify.sock"), **extra})


def test_the_idle_daemon_pings_the_watchdog_and_reloads_between_reloading_and_ready(
    env: Env, notify: socket.socket
) -> None:
    env.write_config(scheduler={"cron": "0 0 1 1 *", "run_at_start": "false"})
    daemon = _daemon(env, **WATCHDOG)
    try:
        started = receive_until(notify, lambda got: pings(got) >= 2)
        env.write_config(scheduler={"cron": "*/5 * * * *"})
        daemon.send_signal(signal.SIGHUP)
        reload = receive_until(notify, lambda got: any(m.startswith("READY=1") for m in got))
        after = receive_until(notify, lambda got: pings(got) >= 2)
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=30)
        rest = receive_until(notify, lambda got: any("STOPPING=1" in m for m in got))
    finally:
        daemon.kill()
    assert daemon.returncode == 0, err
    assert started[0].startswith("READY=1\n"), started  # nothing before READY
    assert set(started[1:]) == {"WATCHDOG=1"}
    # the reload: RELOADING=1 with the monotonic time, then READY=1 once the new cron is in force
    reloading = [m for m in reload if m.startswith("RELOADING=1")]
    assert len(reloading) == 1 and reload.index(reloading[0]) < len(reload) - 1, reload
    sent_at = int(fields(reloading[0])["MONOTONIC_USEC"])
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert now - 60_000_000 < sent_at <= now
    assert "configuration reloaded" in err and "*/5 * * * *" in err
    assert pings(after) >= 2  # the watchdog goes on after a reload
    assert "Traceback" not in err
    assert set(rest) <= {"WATCHDOG=1", "STOPPING=1"}, rest


def test_a_long_run_keeps_pinging_the_watchdog(env: Env, notify: socket.socket) -> None:
    _reserved(env, 12)
    env.write_config(
        scheduler={"cron": "0 0 1 1 *", "run_at_start": "true"}, datacite={"workers": "1"}
    )
    env.faults(latency=0.25)  # the pass takes a few seconds: several watchdog intervals
    daemon = _daemon(env, **WATCHDOG)
    try:
        got = receive_until(notify, lambda got: "STATUS=waiting for the next run" in got[1:])
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=30)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, err
    assert got[0].startswith("READY=1\n"), got
    running = got.index("STATUS=running the passes")
    during = got[running : got.index("STATUS=waiting for the next run", running)]
    # the scheduler's heartbeat cannot run during the job (the job holds its loop): these
    # pings come from the job's progress
    assert pings(during) >= 3, got
    assert sum(1 for r in env.records() if r.status == "registered") == 12


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_api_pings_the_watchdog_from_its_loop(env: Env, notify: socket.socket) -> None:
    environ = env.environment({"NOTIFY_SOCKET": str(env.tmp / "notify.sock"), **WATCHDOG})
    log = env.tmp / "api.log"
    with open(log, "w") as out:
        api = subprocess.Popen(
            [str(ORGANISER), "serve", "--port", str(_free_port())],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environ,
        )
    try:
        started = receive_until(notify, lambda got: pings(got) >= 2)
        api.send_signal(signal.SIGTERM)
        assert api.wait(timeout=30) == 0, log.read_text()
        rest = receive_until(notify, lambda got: any("STOPPING=1" in m for m in got))
    finally:
        api.kill()
    assert started[0].startswith("READY=1\n"), started
    assert set(started[1:]) == {"WATCHDOG=1"}
    assert set(rest) <= {"WATCHDOG=1", "STOPPING=1"}
    assert "Traceback" not in log.read_text()


def test_without_watchdog_usec_the_daemon_sends_no_pings(env: Env, notify: socket.socket) -> None:
    env.write_config(scheduler={"cron": "0 0 1 1 *", "run_at_start": "false"})
    daemon = _daemon(env)
    try:
        ready = receive_until(notify, lambda got: len(got) == 1)
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=30)
        rest = receive_until(notify, lambda got: any("STOPPING=1" in m for m in got))
    finally:
        daemon.kill()
    assert daemon.returncode == 0, err
    assert ready[0].startswith("READY=1\n")
    assert "WATCHDOG=1" not in ready + rest  # everything it sent, up to its exit
    notify.setblocking(False)
    with pytest.raises(BlockingIOError):  # and nothing after STOPPING=1
        notify.recv(4096)
