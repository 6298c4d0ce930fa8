"""One deadline for a whole HTTP fetch: connecting, every redirect, the headers and the body.

``requests`` only has timeouts per connection attempt and per read, so a server that sends
a byte just before each read timeout holds a fetch for as long as it likes. A
:class:`Deadline` watches every socket a session opens (through the transport adapter it
mounts) and shuts them all down when the time is up: whatever the fetch is blocked in
returns at once with an error, and :attr:`Deadline.expired` tells why.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection


class Deadline:
    """``seconds`` from entering the ``with`` block: the sockets :meth:`watch` was given are
    shut down then (and any watched later, at once)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._end = 0.0

    def __enter__(self) -> Deadline:
        self._end = time.monotonic() + self.seconds
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()

    @property
    def expired(self) -> bool:
        """Whether the time ran out (and the sockets were shut down)."""
        with self._lock:
            return self._expired

    def remaining(self) -> float:
        """Give the seconds left (at least a millisecond, so a timeout is never 0)."""
        return max(self._end - time.monotonic(), 0.001)

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline (now, if it has passed)."""
        with self._lock:
            if not self._expired:
                self._sockets.append(sock)
                return
        _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def mount(self, session: requests.Session) -> None:
        """Make every connection ``session`` opens from now on watched."""
        adapter = _Adapter(self)
        session.mount("http://", adapter)
        session.mount("https://", adapter)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)  # wakes a recv() blocked in another thread


class _Adapter(HTTPAdapter):
    """requests' adapter whose connection pools make watched connections (a fresh set of
    classes per deadline: urllib3 builds connections from a class, with no other hook)."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        super().__init__(max_retries=0)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send one request (a redirect is another), connecting and reading each within
        what is left of the deadline."""
        if self.deadline.expired:
            raise requests.Timeout(f"{request.url}: the deadline has passed")
        kwargs["timeout"] = self.deadline.remaining()
        return super().send(request, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        deadline = self.deadline

        class Plain(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                deadline.watch(sock)
                return sock

        class Secure(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                deadline.watch(sock)
                return sock

        plain = type("WatchedPool", (HTTPConnectionPool,), {"ConnectionCls": Plain})
        secure = type("WatchedSecurePool", (HTTPSConnectionPool,), {"ConnectionCls": Secure})
        self.poolmanager.pool_classes_by_scheme = {"http": plain, "https": secure}
