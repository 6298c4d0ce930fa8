"""The stand-in's state and DataCite's rules for ``/dois``, independent of HTTP.

Behaviour followed: ``PUT`` upserts; ``POST`` answers 422 "This DOI has already been taken" for
an existing DOI; ``DELETE`` only removes drafts (405 otherwise); the events publish, register
and hide move draft/registered/findable and are silently ignored when not a valid transition;
leaving draft needs the required metadata (422 listing what is missing).

Switchable :class:`Faults` (latency, 5xx, timeouts, changes applied and then the connection
dropped, 429 with Retry-After, an outage, per-DOI errors, and answers that name another DOI,
show the wrong state, trickle in byte by byte or are oversized) make the organiser's failure
paths testable.
"""

from __future__ import annotations

import base64
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    # answers that lie or misbehave; the request itself is applied as DataCite would
    other_doi: bool = False  # an answer about one DOI names another DOI
    wrong_state: str | None = None  # a POST's or PUT's answer shows this state
    trickle: float = 0.0  # send each /dois answer's body one byte every this many seconds
    trickle_headers: bool = False  # ... its status line and headers too
    oversize_mb: float = 0.0  # pad each successful /dois answer to this many MB (whitespace)
    oversize_chunked: bool = False  # ... sent chunked, without Content-Length


@dataclass
class Seen:
    """One ``/dois`` request as the stand-in received it."""

    method: str
    doi: str | None
    event: str | None
    status: int  # 0 when the connection was dropped or refused
    at: float = 0.0  # when it arrived (time.monotonic())
    query: str | None = None  # a listing's query string (GET /dois?…), decoded
    account: str | None = None  # the repository account it authenticated as (None: none)


class DataCite:
    """The stand-in's state and rules, independent of HTTP (thread-safe)."""

    def __init__(self, accounts: dict[str, tuple[str, list[str]]]) -> None:
        self.accounts = accounts  # username -> (password, prefixes)
        self.dois: dict[str, dict[str, Any]] = {}
        self.seen: list[Seen] = []
        self.lock = threading.RLock()
        #: DOIs in listing order (created, then DOI), kept by :mod:`organiser.standin.listing`
        #: and dropped whenever a DOI comes or goes
        self.order: list[tuple[int, str]] | None = None
        self.version = 0  # counts changes (listing totals are cached per version)
        self.totals: dict[tuple[Any, ...], tuple[int, int]] = {}  # filters -> (version, total)
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
            self._changed(new=not exists)
            return (200 if exists else 201), self.document(doi)

    def add(
        self,
        doi: str,
        attributes: dict[str, Any],
        *,
        state: str = "findable",
        updated: str | None = None,
        created: str | None = None,
        client: str | None = None,
    ) -> None:
        """Hold ``doi`` as if it had been made at DataCite earlier, in ``state`` (draft,
        registered, findable) with ``attributes`` and the ``created``/``updated`` times given
        (ISO 8601; default: now). No rule is checked: this preloads an account for tests.

        ``client`` is the repository account holding it (default: the first account).
        Raises ``ValueError`` for an unknown state or client.
        """
        if state not in ("draft", "registered", "findable"):
            raise ValueError(f"unknown state {state!r}")
        client = client or next(iter(self.accounts))
        if client not in self.accounts:
            raise ValueError(f"unknown client {client!r}")
        now = _now()
        with self.lock:
            new = doi.lower() not in self.dois
            self.dois[doi.lower()] = {
                "state": state,
                "attributes": _writable(attributes),
                "client": client,
                "created": created or updated or now,
                "updated": updated or now,
            }
            self._changed(new)

    def _changed(self, new: bool) -> None:
        """Note a change (under the lock); ``new``: a DOI came or went."""
        self.version += 1
        if new:
            self.order = None

    def delete(self, doi: str) -> tuple[int, dict[str, Any] | None]:
        """Apply a DELETE; give (status, JSON body)."""
        with self.lock:
            if doi not in self.dois:
                return 404, _errors(None, "The resource you are looking for doesn't exist.", doi)
            if self.dois[doi]["state"] != "draft":
                return 405, _errors(None, "Method not allowed", doi)
            del self.dois[doi]
            self._changed(new=True)
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
