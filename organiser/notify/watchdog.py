"""systemd's watchdog (``WatchdogSec=``) for ``organiser daemon``: ``WATCHDOG=1`` while the
daemon makes progress, and none once it hangs, so that systemd restarts it.

A thread sends the pings, every half ``WATCHDOG_USEC``, but only within a lease that the
main thread renews at each step of progress: the scheduler's heartbeat job when idle, each
record handled or each page of a check during a job. The lease a step grants is the longest
the main thread may legitimately be silent until the next step (:func:`longest_silence`
during a job: one DataCite request with all its retries; two ping intervals when idle). A
main thread that hangs (a deadlock, a database that never answers, a stuck scheduler) stops
renewing it: the pings stop when it runs out and systemd's ``WatchdogSec=`` later, systemd
kills the daemon (SIGABRT) and ``Restart=on-failure`` starts it again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from organiser.notify.sdnotify import notify

#: Seconds added to :func:`longest_silence` for the database work around a request.
DATABASE_MARGIN = 60.0


def longest_silence(config: Mapping[str, Mapping[str, Any]]) -> float:
    """Give the longest a daemon job may go, in seconds, without a step of progress: one
    DataCite request with every try timing out (``[datacite] retries`` x (``connect_timeout``
    + ``timeout``)) and the longest wait before each retry (``max_backoff``), then a mail
    to an unreachable SMTP server (``[email] timeout``), plus :data:`DATABASE_MARGIN`."""
    dc, email = config["datacite"], config["email"]
    tries = int(dc["retries"])
    request = float(dc["connect_timeout"]) + float(dc["timeout"])
    return (
        tries * request
        + (tries - 1) * float(dc["max_backoff"])
        + float(email["timeout"])
        + (DATABASE_MARGIN)
    )


class Watchdog:
    """Sends ``WATCHDOG=1`` every ``interval`` seconds from a thread while the lease that
    :meth:`alive` renews lasts. No global state: one per daemon."""

    def __init__(
        self,
        interval: float,
        send: Callable[[str], bool] = notify,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self._send, self._clock = send, clock
        self._until = float("-inf")  # no pings before the first alive()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def alive(self, grace: float) -> None:
        """Let the pings go on for ``grace`` seconds from now: the longest the caller may be
        silent before its next call. Replaces the lease (a shorter one may follow a longer)."""
        with self._lock:
            self._until = self._clock() + grace

    def beat(self) -> bool:
        """Send one ``WATCHDOG=1`` if the lease has not run out; give whether it was sent."""
        with self._lock:
            due = self._clock() <= self._until
        return due and self._send("WATCHDOG=1")

    def start(self) -> None:
        """Start the pinging thread (a daemon thread; a ping at once, then each interval)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="organiser-watchdog", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the pinging thread and wait for it (at most one ping in progress)."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        self.beat()
        while not self._done.wait(self.interval):
            self.beat()
