"""systemd's watchdog and reload notifications: the interval from WATCHDOG_USEC, the lease
that stops the pings when the daemon stops making progress, RELOADING=1 with its timestamp,
and READY only once the scheduler runs (a stop requested before it does ends it at once)."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from organiser.commands.daemon import Daemon
from organiser.config import load
from organiser.notify import sdnotify
from organiser.notify.sdnotify import reloading, watchdog_interval
from organiser.notify.watchdog import DATABASE_MARGIN, Watchdog, longest_silence


@pytest.fixture
def listener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> socket.socket:
    """A datagram socket bound where NOTIFY_SOCKET points, as systemd's."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def pending(sock: socket.socket) -> list[str]:
    """Give the datagrams already waiting on ``sock`` (without waiting for more)."""
    got = []
    sock.setblocking(False)
    try:
        while True:
            got.append(sock.recv(4096).decode())
    except BlockingIOError:
        return got
    finally:
        sock.setblocking(True)


@pytest.mark.parametrize(
    ("environ", "interval"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": ""}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}, 0.5),
        ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
    ],
)
def test_the_interval_is_half_of_watchdog_usec(
    environ: dict[str, str], interval: float | None
) -> None:
    assert watchdog_interval(environ) == interval


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pings_go_on_only_while_the_lease_lasts() -> None:
    clock, sent = Clock(), []
    dog = Watchdog(0.5, send=lambda state: sent.append(state) is None, clock=clock)

    assert dog.beat() is False  # nothing before the first sign of life
    dog.alive(10)
    clock.now += 10
    assert dog.beat() is True
    clock.now += 0.001
    assert dog.beat() is False  # no progress for longer than the lease: the pings stop
    dog.alive(2)  # progress again
    clock.now += 1
    assert dog.beat() is True
    dog.alive(0.5)  # a shorter lease replaces a longer one
    clock.now += 0.6
    assert dog.beat() is False
    assert sent == ["WATCHDOG=1", "WATCHDOG=1"]


def test_the_thread_pings_the_notify_socket_and_stops(listener: socket.socket) -> None:
    dog = Watchdog(0.01)
    dog.alive(3600)
    listener.settimeout(30)
    dog.start()
    thread = dog._thread
    try:
        got = [listener.recv(4096).decode() for _ in range(3)]
    finally:
        dog.stop()
    assert got == ["WATCHDOG=1"] * 3
    assert thread is not None and not thread.is_alive()


def test_the_longest_silence_is_one_request_with_its_retries_and_a_mail(tmp_path: Path) -> None:
    ini = tmp_path / "o.ini"
    ini.write_text(
        "[datacite]\nretries = 3\nconnect_timeout = 5\ntimeout = 20\nmax_backoff = 40\n"
        "[email]\ntimeout = 15\n"
    )
    config = load(str(ini), {})
    assert longest_silence(config) == 3 * (5 + 20) + 2 * 40 + 15 + DATABASE_MARGIN


def test_reloading_carries_the_monotonic_time(listener: socket.socket) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert reloading() is True
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    fields = dict(line.split("=", 1) for line in listener.recv(4096).decode().splitlines())
    assert fields["RELOADING"] == "1"
    assert before <= int(fields["MONOTONIC_USEC"]) <= after


def test_without_notify_socket_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert reloading() is False
    assert sdnotify.notify("WATCHDOG=1") is False


def _daemon(environ: dict[str, str]) -> Any:
    """A daemon whose scheduler has no jobs (its app is only asked for its environment)."""
    return Daemon(SimpleNamespace(environ=environ), quiet=True, verbose=False)  # type: ignore[arg-type]


def _start(daemon: Daemon) -> threading.Thread:
    thread = threading.Thread(target=daemon.scheduler.start, daemon=True)
    thread.start()
    return thread


def test_ready_is_sent_once_the_scheduler_runs(listener: socket.socket) -> None:
    daemon = _daemon({"WATCHDOG_USEC": "20000"})  # pings every 10 ms
    listener.settimeout(30)
    thread = _start(daemon)
    try:
        first = listener.recv(4096).decode()
        assert daemon.scheduler.running
        assert listener.recv(4096).decode() == "WATCHDOG=1"
    finally:
        daemon.scheduler.shutdown(wait=False)
        thread.join(30)
        daemon.watchdog.stop()
    assert first.startswith("READY=1\n")
    assert not thread.is_alive()


def test_a_stop_requested_before_the_scheduler_runs_ends_it_at_once(
    listener: socket.socket,
) -> None:
    daemon = _daemon({"WATCHDOG_USEC": "20000"})
    daemon.stop.request("SIGTERM")
    daemon._shutdown()  # what the signal handler does: too early, the scheduler is not running

    thread = _start(daemon)
    thread.join(30)

    assert not thread.is_alive(), "the scheduler kept running after SIGTERM"
    assert pending(listener) == []  # no READY=1, no pings
