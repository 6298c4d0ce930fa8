"""Asking a run to stop: a signal handler (or the daemon) requests it, the engine checks it
between records and during back-off waits."""

from __future__ import annotations

import threading

from organiser.errors import Interrupted


class StopFlag:
    """A thread-safe "please stop" with the reason; one per run or daemon, never global."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def request(self, reason: str) -> None:
        """Ask the run to stop after the record in flight; ``reason`` names what asked."""
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def requested(self) -> bool:
        """Tell whether a stop was requested."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Interrupted` if a stop was requested."""
        if self._event.is_set():
            raise Interrupted(self.reason or "stop requested")

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; raise :class:`Interrupted` at once if a stop is requested."""
        if self._event.wait(seconds):
            raise Interrupted(self.reason or "stop requested")
