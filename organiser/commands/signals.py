"""Stopping a run politely: SIGTERM (systemd, kill) and SIGINT (Ctrl-C) ask the run to stop
after the record in flight; a second signal stops at once (claims are still released)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

from organiser.engine.stop import StopFlag
from organiser.errors import Interrupted

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_code(reason: str) -> int:
    """Give the shell's code for a run stopped by the signal named in ``reason``."""
    for sig in STOP_SIGNALS:
        if sig.name in reason:
            return 128 + sig.value
    return 128 + signal.SIGINT.value


@contextlib.contextmanager
def stopping_on_signals(stop: StopFlag) -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT request ``stop``; a second one raises
    :class:`Interrupted` at once."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.requested:
            raise Interrupted(f"{name} (second signal: stopped at once)")
        stop.request(name)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
