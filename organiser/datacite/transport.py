"""The HTTP transport under the DataCite client: connection pools that hold a request to its
deadline while its answer's status line and headers are awaited.

A socket's read timeout bounds each read, not the whole answer: a server sending a byte now
and then never trips it. So each request sent with a ``urllib3.Timeout`` whose ``total`` is
set arms a timer for that many seconds; if the answer's headers have not all come when it
fires, the connection is shut down and the request fails (the client sees a connection
error after its deadline and reports that DataCite did not answer in time). The body is read
afterwards against the same deadline by :func:`organiser.datacite.answers.read`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import requests.adapters
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """A requests adapter whose pools enforce ``Timeout.total`` on the wait for the headers."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}


class _Deadline:
    """Mixed into a urllib3 pool: arm a timer over the exchange of one request."""

    def _make_request(self, conn: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        total = getattr(kwargs.get("timeout"), "total", None)
        if not total:
            return super()._make_request(conn, method, url, *args, **kwargs)  # type: ignore[misc]
        timer = threading.Timer(total, _cut, (conn,))
        timer.daemon = True
        timer.start()
        try:
            return super()._make_request(conn, method, url, *args, **kwargs)  # type: ignore[misc]
        finally:
            timer.cancel()


def _cut(conn: Any) -> None:
    """Shut the connection's socket down: a read blocked on it returns at once."""
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Pool(_Deadline, HTTPConnectionPool):
    pass


class _TLSPool(_Deadline, HTTPSConnectionPool):
    pass
