"""Stopping a run politely: SIGTERM (systemd, kill) and SIGINT (Ctrl-C) ask the run to stop
after the record in flight; a second signal ends the process at once (the kernel drops the
run lock, the database rolls back what was half-written, and the next run on this host frees
the claims it left)."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from types import FrameType

from organiser.engine.stop import StopFlag
from organiser.errors import STOP_SIGNALS


def die(signum: int) -> None:
    """End the process by ``signum`` itself, as if no handler were installed."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


@contextlib.contextmanager
def stopping_on_signals(stop: StopFlag) -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT request ``stop``; a second one ends the process
    (see :func:`die`)."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.requested:
            die(signum)
        stop.request(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
