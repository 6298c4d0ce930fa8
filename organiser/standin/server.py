"""A DataCite REST API stand-in: real HTTP on 127.0.0.1, DataCite's rules for ``/dois``.

Behaviour followed: ``PUT`` upserts; ``POST`` answers 422 "This DOI has already been taken" for
an existing DOI; ``DELETE`` only removes drafts (405 otherwise); the events publish, register
and hide move draft/registered/findable and are silently ignored when not a valid transition;
leaving draft needs the required metadata (422 listing what is missing); 401 for bad
credentials, 403 for a DOI outside the account's prefixes, 404 for an unknown DOI.

Switchable :class:`Faults` (latency, 5xx, timeouts, changes applied and then the connection
dropped, 429 with Retry-After, an outage, per-DOI errors) make the organiser's failure paths
testable. ``/_standin/faults`` (GET/PUT JSON), ``/_standin/dois`` and ``/_standin/requests``
let tests and the demo steer and inspect it over HTTP.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import re
import secrets
import socket
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REQUIRED_TO_PUBLISH = ("titles", "creators", "publisher", "publicationYear", "types", "url")
EVENTS = {
    "publish": {"draft": "findable", "registered": "findable"},
    "register": {"draft": "registered"},
    "hide": {"findable": "registered"},
}


@dataclass
class Faults:
    """What goes wrong, and how often. Rates are probabilities per ``/dois`` request."""

    latency: float = 0.0  # seconds added to every answer
    error_rate: float = 0.0  # answer 503 without applying anything
    timeout_rate: float = 0.0  # hold the answer for ``hang`` seconds (the change applies late)
    hang: float = 5.0
    drop_rate: float = 0.0  # apply the change, then close the connection without answering
    drop_next: int = 0  # ... for the next N changing requests (POST, PUT, DELETE), certainly
    rate_limit_rate: float = 0.0  # answer 429 with Retry-After
    retry_after: int = 1
    limit_rate: float | None = None  # allow this many requests per second (a token bucket) ...
    limit_burst: float = 1.0  # ... with bursts of this many; beyond: 429 + Retry-After
    limit_html: bool = False  # ... or, like DataCite's firewall, an HTML 403
    outage_after: int | None = None  # after this many more requests, refuse every connection
    outage_for: float | None = None  # ... for this many seconds (None: until faults change)
    fail_dois: dict[str, int] = field(default_factory=dict)  # DOI -> status to answer with
    seed: int | None = None


@dataclass
class Seen:
    """One ``/dois`` request as the stand-in received it."""

    method: str
    doi: str | None
    event: str | None
    status: int  # 0 when the connection was dropped or refused
    at: float = 0.0  # when it arrived (time.monotonic())


class DataCite:
    """The stand-in's state and rules, independent of HTTP (thread-safe)."""

    def __init__(self, accounts: dict[str, tuple[str, list[str]]]) -> None:
        self.accounts = accounts  # username -> (password, prefixes)
        self.dois: dict[str, dict[str, Any]] = {}
        self.seen: list[Seen] = []
        self.lock = threading.RLock()
        self.set_faults(Faults())

    def set_faults(self, faults: Faults) -> None:
        """Replace the active faults; the outage count starts again from now."""
        with self.lock:
            self.faults = faults
            self.random = random.Random(faults.seed)
            self.countdown = faults.outage_after
            self.drops_left = faults.drop_next
            self.outage_until: float | None = None
            self.tokens, self.stamp = faults.limit_burst, time.monotonic()

    def in_outage(self) -> bool:
        """Tell whether this request falls in the outage window (and count it)."""
        with self.lock:
            if self.outage_until is not None:
                return time.monotonic() < self.outage_until
            if self.countdown is None:
                return False
            if self.countdown > 0:
                self.countdown -= 1
                return False
            span = self.faults.outage_for
            self.outage_until = float("inf") if span is None else time.monotonic() + span
            return True

    def over_limit(self) -> bool:
        """Tell whether this request goes beyond ``limit_rate`` (and count it if not)."""
        with self.lock:
            rate = self.faults.limit_rate
            if rate is None:
                return False
            now = time.monotonic()
            self.tokens = min(self.faults.limit_burst, self.tokens + (now - self.stamp) * rate)
            self.stamp = now
            if self.tokens < 1:
                return True
            self.tokens -= 1
            return False

    def take_drop(self) -> bool:
        """Tell whether this changing request's answer is one of the ``drop_next`` to lose."""
        with self.lock:
            if self.drops_left > 0:
                self.drops_left -= 1
                return True
            return False

    def roll(self, rate: float) -> bool:
        with self.lock:
            return rate > 0 and self.random.random() < rate

    def account(self, header: str | None) -> tuple[str, list[str]] | None:
        """Give (username, prefixes) for a valid Basic ``Authorization`` header, else None."""
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        known = self.accounts.get(user)
        if known is None or not secrets.compare_digest(known[0], password):
            return None
        return user, known[1]

    def document(self, doi: str) -> dict[str, Any]:
        """Give the JSON:API document DataCite answers with for ``doi``."""
        item = self.dois[doi]
        attributes = dict(
            item["attributes"],
            doi=doi,
            state=item["state"],
            created=item["created"],
            updated=item["updated"],
        )
        return {
            "data": {
                "id": doi,
                "type": "dois",
                "attributes": attributes,
                "relationships": {"client": {"data": {"id": item["client"], "type": "clients"}}},
            }
        }

    def upsert(
        self,
        doi: str,
        attributes: dict[str, Any],
        client: str,
        event: str | None,
        create_only: bool,
    ) -> tuple[int, dict[str, Any]]:
        """Apply a POST (``create_only``) or PUT; give (status, JSON body)."""
        with self.lock:
            exists = doi in self.dois
            if create_only and exists:
                return 422, _errors("doi", "This DOI has already been taken", doi)
            item = self.dois.get(doi) or {
                "state": "draft",
                "attributes": {},
                "client": client,
                "created": _now(),
            }
            merged = dict(item["attributes"], **_writable(attributes))
            state = EVENTS.get(event or "", {}).get(item["state"], item["state"])
            if state != "draft":
                missing = [k for k in REQUIRED_TO_PUBLISH if not merged.get(k)]
                if missing:
                    return 422, {
                        "errors": [
                            {"source": k, "title": "can't be blank", "uid": doi} for k in missing
                        ]
                    }
            item.update(state=state, attributes=merged, updated=_now())
            self.dois[doi] = item
            return (200 if exists else 201), self.document(doi)

    def delete(self, doi: str) -> tuple[int, dict[str, Any] | None]:
        """Apply a DELETE; give (status, JSON body)."""
        with self.lock:
            if doi not in self.dois:
                return 404, _errors(None, "The resource you are looking for doesn't exist.", doi)
            if self.dois[doi]["state"] != "draft":
                return 405, _errors(None, "Method not allowed", doi)
            del self.dois[doi]
            return 204, None

    def states(self) -> dict[str, str]:
        """Give DOI -> state for every DOI held."""
        with self.lock:
            return {doi: item["state"] for doi, item in self.dois.items()}


def _writable(attributes: dict[str, Any]) -> dict[str, Any]:
    readonly = {"doi", "state", "event", "created", "updated", "prefix", "suffix"}
    return {k: v for k, v in attributes.items() if k not in readonly}


def _errors(source: str | None, title: str, uid: str | None) -> dict[str, Any]:
    error: dict[str, Any] = {"title": title}
    if source:
        error["source"] = source
    if uid:
        error["uid"] = uid
    return {"errors": [error]}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandinServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

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
        seen = Seen(method, doi, event, 0, time.monotonic())
        with api.lock:
            api.seen.append(seen)
        faults = api.faults
        if api.in_outage():
            self._drop()
            return
        time.sleep(faults.latency)
        account = api.account(self.headers.get("Authorization"))
        if account is None and method != "GET":
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
        status, answer = self._apply(api, method, doi, attributes, event, account)
        if hang:
            time.sleep(faults.hang)
        if drop:
            self._drop()
            return
        seen.status = self._send(status, answer)

    def _apply(
        self,
        api: DataCite,
        method: str,
        doi: str | None,
        attributes: dict[str, Any],
        event: str | None,
        account: tuple[str, list[str]] | None,
    ) -> tuple[int, dict[str, Any] | None]:
        if method == "GET" and doi is None:
            with api.lock:
                data = [api.document(d)["data"] for d in sorted(api.dois)]
            return 200, {"data": data, "meta": {"total": len(data)}}
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
        elif path == "/_standin/dois":
            self._send(200, api.states())
        elif path == "/_standin/requests":
            with api.lock:
                self._send(200, [asdict(s) for s in api.seen])
        else:
            self._send(404, _errors(None, "unknown control path", None))

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> int:
        payload = b"" if body is None else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.api+json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return status

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
