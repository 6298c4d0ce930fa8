"""A DataCite REST API stand-in: real HTTP on 127.0.0.1, DataCite's rules for ``/dois``
(:mod:`organiser.standin.state`) and its account listing (:mod:`organiser.standin.listing`).

401 for bad credentials, 403 for a DOI outside the account's prefixes (or another account's
DOI), 404 for an unknown DOI; it knows any number of accounts, and its request log names the
account each request authenticated as.
``/_standin/faults`` (GET/PUT JSON), ``/_standin/dois`` (GET: DOI -> state; POST: preload
documents) and ``/_standin/requests`` let tests and the demo steer and inspect it over HTTP.
The answer faults (``other_doi``, ``wrong_state``, ``trickle``, ``oversize_mb``) change only
what is sent back: the request is applied as DataCite would.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_plus

from organiser.standin import listing
from organiser.standin.state import DataCite, Faults, Seen, _errors

__all__ = ["DataCite", "Faults", "Handler", "Seen", "StandinServer"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandinServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        # a client that gave up on an answer (a deadline, a size limit) may reset the
        # connection: that ends it, quietly
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def _route(self, method: str) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._body()
        if path.startswith("/_standin/"):
            self._control(method, path, body)
            return
        match = re.fullmatch(r"/dois(?:/(.+))?", path)
        if match is None:
            self._send(404, _errors(None, "The resource you are looking for doesn't exist.", None))
            return
        self._dois(method, (match.group(1) or "").lower() or None, body)

    def _dois(self, method: str, doi: str | None, body: Any) -> None:
        api: DataCite = self.server.datacite
        attributes = body.get("data", {}).get("attributes", {}) if isinstance(body, dict) else {}
        if method == "POST" and doi is None:
            doi = str(attributes.get("doi") or "").lower() or None
        event = attributes.get("event") if method in ("POST", "PUT") else None
        listing_query = self.path.partition("?")[2] if method == "GET" and doi is None else None
        shown = None if listing_query is None else unquote_plus(listing_query)
        seen = Seen(method, doi, event, 0, time.monotonic(), shown)
        with api.lock:
            api.seen.append(seen)
        faults = api.faults
        if api.in_outage():
            self._drop()
            return
        time.sleep(faults.latency)
        account = api.account(self.headers.get("Authorization"))
        seen.account = account[0] if account is not None else None
        if account is None and (method != "GET" or listing_query is not None):
            seen.status = self._send(401, _errors(None, "Bad credentials.", None))
            return
        if api.over_limit():
            if faults.limit_html:
                seen.status = self._send_html(
                    403, "<html><body><h1>403 Forbidden</h1></body></html>"
                )
            else:
                seen.status = self._send(
                    429, _errors(None, "Too many requests", None), {"Retry-After": "1"}
                )
            return
        if api.roll(faults.rate_limit_rate):
            seen.status = self._send(
                429,
                _errors(None, "Too many requests", None),
                {"Retry-After": str(faults.retry_after)},
            )
            return
        if api.roll(faults.error_rate):
            seen.status = self._send(503, _errors(None, "Service unavailable", None))
            return
        hang = api.roll(faults.timeout_rate)
        drop = api.roll(faults.drop_rate) or (method != "GET" and api.take_drop())
        if doi and doi in faults.fail_dois:
            code = faults.fail_dois[doi]
            seen.status = self._send(code, _errors("doi", f"Forced failure {code}", doi))
            return
        if listing_query is not None:
            assert account is not None
            status, answer = self._list(api, account[0], listing_query)
        else:
            status, answer = self._apply(api, method, doi, attributes, event, account)
        if hang:
            time.sleep(faults.hang)
        if drop:
            self._drop()
            return
        if listing_query is None and 200 <= status < 300 and answer is not None:
            answer = _lie(answer, faults, method)
        seen.status = status  # before the body goes out: a trickled one takes its time
        self._send(status, answer, faults=faults)

    def _apply(
        self,
        api: DataCite,
        method: str,
        doi: str | None,
        attributes: dict[str, Any],
        event: str | None,
        account: tuple[str, list[str]] | None,
    ) -> tuple[int, dict[str, Any] | None]:
        if doi is None and method == "POST" and account is not None:
            prefix = attributes.get("prefix") or account[1][0]
            doi = f"{prefix}/{secrets.token_hex(4)}".lower()
        if doi is None:
            return 404, _errors(None, "The resource you are looking for doesn't exist.", None)
        if method == "GET":
            with api.lock:
                if doi not in api.dois:
                    return 404, _errors(
                        None, "The resource you are looking for doesn't exist.", doi
                    )
                return 200, api.document(doi)
        assert account is not None
        if doi.split("/", 1)[0] not in account[1]:
            return 403, _errors(None, "You are not authorized to access this resource.", doi)
        with api.lock:
            if doi in api.dois and api.dois[doi]["client"] != account[0]:
                return 403, _errors(None, "You are not authorized to access this resource.", doi)
        if method == "DELETE":
            return api.delete(doi)
        return api.upsert(doi, attributes, account[0], event, create_only=method == "POST")

    def _list(self, api: DataCite, account: str, query: str) -> tuple[int, dict[str, Any]]:
        """Answer ``GET /dois?query``: the account's DOIs, a page (see :mod:`listing`)."""
        try:
            parsed = listing.parse(query)
        except listing.ListingError as exc:
            return 400, _errors(None, str(exc), None)
        return 200, listing.answer(api, account, parsed, self.server.url, self.path)

    def _control(self, method: str, path: str, body: Any) -> None:
        api: DataCite = self.server.datacite
        if path == "/_standin/faults" and method == "PUT":
            names = {f.name for f in fields(Faults)}
            unknown = set(body or {}) - names
            if unknown or not isinstance(body, dict):
                self._send(400, _errors(None, f"unknown faults: {sorted(unknown)}", None))
                return
            api.set_faults(Faults(**body))
        if path == "/_standin/faults":
            self._send(200, asdict(api.faults))
        elif path == "/_standin/dois" and method == "POST":
            self._preload(api, body)
        elif path == "/_standin/dois":
            self._send(200, api.states())
        elif path == "/_standin/requests":
            with api.lock:
                self._send(200, [asdict(s) for s in api.seen])
        else:
            self._send(404, _errors(None, "unknown control path", None))

    def _preload(self, api: DataCite, body: Any) -> None:
        """``POST /_standin/dois``: hold each ``{"doi", "attributes", "state", "updated",
        "created", "client"}`` of the JSON list (or one object) given (see
        :meth:`DataCite.add`). A body of another shape is answered 400 with one line saying
        what was expected; nothing is held then."""
        items = body if isinstance(body, list) else [body]
        problem = _preload_problem(api, self.headers.get("Content-Length"), body, items)
        try:
            if problem is None:
                for item in items:
                    api.add(
                        str(item["doi"]),
                        item.get("attributes") or {},
                        state=item.get("state", "findable"),
                        updated=item.get("updated"),
                        created=item.get("created"),
                        client=item.get("client"),
                    )
        except (TypeError, KeyError, ValueError) as exc:
            problem = f"{item['doi']}: {exc}"
        if problem is not None:
            self._send(400, _errors(None, f"cannot preload: {problem}; {PRELOAD}", None))
            return
        self._send(200, {"held": len(api.dois)})

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _send(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        faults: Faults | None = None,
    ) -> int:
        """Answer ``status`` with ``body`` as JSON; ``faults`` may trickle or pad it."""
        payload = b"" if body is None else json.dumps(body).encode()
        pad, chunked, trickle = 0, False, 0.0
        if faults is not None:
            trickle = faults.trickle
            if faults.oversize_mb > 0 and 200 <= status < 300 and payload:
                pad = max(0, int(faults.oversize_mb * 1024 * 1024) - len(payload))
                chunked = faults.oversize_chunked
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.api+json")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(payload) + pad))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if faults is not None and faults.trickle_headers and trickle > 0:
                self._headers_buffer.append(b"\r\n")  # what end_headers() would send, slowly
                head, self._headers_buffer = b"".join(self._headers_buffer), []
                self._write(head, trickle)
            else:
                self.end_headers()
            for block in _blocks(payload, pad):
                self._write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block, trickle)
            if chunked:
                self._write(b"0\r\n\r\n", trickle)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        return status

    def _write(self, data: bytes, trickle: float) -> None:
        """Write ``data``; with ``trickle``, one byte every ``trickle`` seconds."""
        if trickle <= 0:
            self.wfile.write(data)
            return
        for i in range(len(data)):
            time.sleep(trickle)
            self.wfile.write(data[i : i + 1])

    def _send_html(self, status: int, page: str) -> int:
        payload = page.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return status

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(2)


#: What ``POST /_standin/dois`` expects, said in every refusal.
PRELOAD = (
    'expected a JSON list of objects {"doi", "attributes", "state", "updated", "created", '
    '"client"} (only "doi" required)'
)


def _preload_problem(api: DataCite, length: str | None, body: Any, items: list[Any]) -> str | None:
    """Give what is wrong with a preload's ``body`` (its ``items``), or None."""
    if body is None:
        return "an empty body" if not int(length or 0) else "a body that is not JSON"
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            return f"item {number} is not an object"
        if not isinstance(item.get("doi"), str) or not item["doi"].strip():
            return f'item {number} has no "doi"'
        state = item.get("state", "findable")
        if state not in ("draft", "registered", "findable"):
            return f"{item['doi']}: unknown state {state!r}"
        if item.get("client") is not None and item["client"] not in api.accounts:
            return f"{item['doi']}: unknown client {item['client']!r}"
    return None


def _lie(answer: dict[str, Any], faults: Faults, method: str) -> dict[str, Any]:
    """Give a DOI's document as the ``other_doi`` and ``wrong_state`` faults misreport it."""
    data = answer.get("data")
    if not isinstance(data, dict):
        return answer
    data, attributes = dict(data), dict(data.get("attributes") or {})
    if faults.other_doi:
        prefix, _, suffix = str(data.get("id", "")).partition("/")
        data["id"] = attributes["doi"] = f"{prefix}/other.{suffix}"
    if faults.wrong_state and method in ("POST", "PUT"):
        attributes["state"] = faults.wrong_state
    return dict(answer, data=dict(data, attributes=attributes))


def _blocks(payload: bytes, pad: int) -> Iterator[bytes]:
    """Give ``payload``, then ``pad`` spaces (valid trailing JSON whitespace) in blocks."""
    if payload:
        yield payload
    while pad > 0:
        yield b" " * min(pad, 65536)
        pad -= 65536


class StandinServer(ThreadingHTTPServer):
    """The HTTP server; ``datacite`` holds the state, ``url`` is where to reach it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, datacite: DataCite, port: int = 0, verbose: bool = False) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.datacite = datacite
        self.verbose = verbose

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> StandinServer:
        """Serve in a background thread; give self."""
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self
