"""systemd's notification protocol (``Type=notify``): a datagram to ``$NOTIFY_SOCKET``; and
the watchdog settings systemd passes (``WATCHDOG_USEC``, ``WATCHDOG_PID``)."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Mapping


def notify(state: str) -> bool:
    """Send ``state`` (e.g. ``READY=1``) to systemd; give False when not under systemd or
    the socket is gone (never raises)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode())
        return True
    return False


def reloading(status: str = "reloading the configuration") -> bool:
    """Tell systemd a reload starts (``RELOADING=1``); :func:`notify` ``READY=1`` once the
    new configuration is in force. Gives what :func:`notify` gives; never raises.

    ``MONOTONIC_USEC`` is sent along: systemd 253+ needs it to match the message to the
    reload it started (``Type=notify-reload``); older versions ignore it."""
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify(f"RELOADING=1\nSTATUS={status}\nMONOTONIC_USEC={usec}")


def watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """Give how often to send ``WATCHDOG=1``, in seconds: half of ``WATCHDOG_USEC`` (as
    ``sd_watchdog_enabled`` advises). Give None when systemd expects no pings from this
    process: no or no valid ``WATCHDOG_USEC``, or ``WATCHDOG_PID`` names another process
    (a child that inherited the environment). Never raises."""
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = environ.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2_000_000
