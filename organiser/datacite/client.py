"""The DataCite REST API client: one method per remote effect, answers classified into the
errors of :mod:`organiser.datacite.errors`.

An answer counts only for what was asked: the DOI it names must be the DOI sent (compared
case-insensitively; DataCite answers in lower case), and a create must answer the state it
asked for (draft, or findable with ``publish``), else :class:`AnswerMismatch` or
:class:`StateMismatch` (the record fails; a create's answer is never an adoption). Every
request has one deadline, ``timeout`` seconds from sending, for the whole exchange: sending,
the answer's headers (:mod:`organiser.datacite.transport` cuts the connection when they are
late) and its whole body, read in chunks (``connect_timeout`` bounds the connect). Answers
are read only up to ``max_answer_bytes`` (one DOI, 10 MB) or ``max_page_bytes`` (a listing
page, 64 MB): see :mod:`organiser.datacite.answers`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3

from organiser import __version__
from organiser.datacite import answers
from organiser.datacite.answers import MAX_ANSWER_BYTES, MAX_PAGE_BYTES, Answer
from organiser.datacite.errors import (
    NotFound,
    StateMismatch,
    Throttled,
    TransientError,
    WrongEndpoint,
)
from organiser.datacite.ratelimit import RateLimiter
from organiser.datacite.transport import DeadlineAdapter

JSONAPI = "application/vnd.api+json"
#: The largest page DataCite's listing gives (``page[size]``).
MAX_PAGE_SIZE = 1000
#: The state a create leaves a DOI in, per event sent with it.
CREATED = {None: "draft", "publish": "findable", "register": "registered"}


@dataclass(frozen=True)
class DoiPage:
    """One page of an account listing: each record is a DOI's attributes as DataCite gives
    them (``doi``, ``state``, ``url``, ``updated``, … and the metadata fields); ``total`` is
    how many DOIs the whole listing holds (DataCite's ``meta.total``), if it says."""

    records: list[dict[str, Any]]
    total: int | None


class DataCiteClient:
    """Talks to one DataCite API endpoint as one repository account, from any number of
    threads: one connection pool of ``connections``, every request through ``limiter``.

    ``timeout`` is each request's deadline in seconds, from sending to the last byte of the
    answer; ``connect_timeout`` bounds the connect. ``max_answer_bytes`` and
    ``max_page_bytes`` bound what is read of an answer about one DOI and of a listing page.
    ``session`` is the HTTP seam: tests give a real session aimed at the stand-in; ``clock``
    (``time.monotonic``) is what deadlines are measured with.
    ``before_request`` is called before each request and each wait for one (a pass sets it
    to give up when it stops).
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        connect_timeout: float,
        timeout: float,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
        connections: int = 8,
        max_throttle_wait: float = 300.0,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        max_page_bytes: int = MAX_PAGE_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.timeouts = (connect_timeout, timeout)
        self.max_answer_bytes, self.max_page_bytes = max_answer_bytes, max_page_bytes
        self.clock = clock
        self.limiter = limiter
        self.max_throttle_wait = max_throttle_wait
        self.before_request: Callable[[], None] = lambda: None
        self.session = session or requests.Session()
        adapter = DeadlineAdapter(pool_connections=1, pool_maxsize=connections)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.auth = (username, password)
        self.session.headers.update(
            {
                "Accept": JSONAPI,
                "User-Agent": f"organiser/{__version__} (DOI organiser; python-requests)",
            }
        )

    def get(self, doi: str) -> dict[str, Any] | None:
        """Give the DOI's attributes as DataCite holds them, or None if it does not exist.

        Raises :class:`DataCiteError` subclasses for anything but 200/404 and for an answer
        about another DOI.
        """
        try:
            return self._call("GET", f"/dois/{doi}", doi)
        except NotFound:
            return None

    def create(
        self, doi: str, attributes: dict[str, Any], event: str | None = None
    ) -> dict[str, Any]:
        """Create ``doi`` with ``POST /dois`` (never overwrites): a draft, or with ``event``
        ("publish") findable in the same request; give its attributes.

        Raises :class:`DoiTaken` if the DOI exists already, :class:`StateMismatch` if the
        answer shows another state than the one asked for (a create's answer never adopts a
        DOI), :class:`AnswerMismatch` if it is about another DOI, other
        :class:`DataCiteError`s else; ``ValueError`` for an event a create cannot carry.
        """
        if event not in CREATED:
            raise ValueError(f"a create cannot carry the event {event!r}")
        body = dict(attributes, doi=doi)
        body.pop("event", None)
        if event:
            body["event"] = event
        answer = self._call("POST", "/dois", doi, _document(doi, body))
        if answer.get("state") != CREATED[event]:
            raise StateMismatch(
                f"POST /dois: state mismatch: DataCite answered "
                f"{answer.get('state') or 'no state'} to a create asking for {CREATED[event]}"
            )
        return answer

    def put(self, doi: str, attributes: dict[str, Any], event: str | None = None) -> dict[str, Any]:
        """Send ``attributes`` (and an optional ``event``: publish, register, hide) with
        ``PUT /dois/{doi}``; give the attributes DataCite answers with.

        Raises :class:`DataCiteError` subclasses (:class:`AnswerMismatch` for an answer about
        another DOI).
        """
        body = dict(attributes, doi=doi)
        body.pop("event", None)
        if event:
            body["event"] = event
        return self._call("PUT", f"/dois/{doi}", doi, _document(doi, body))

    def delete(self, doi: str) -> None:
        """Delete a draft DOI. Raises :class:`NotFound` if it does not exist and
        :class:`PermanentError` (405) if it is not a draft."""
        self._call("DELETE", f"/dois/{doi}", doi)

    def list_dois(
        self,
        *,
        client_id: str | None = None,
        prefix: str | None = None,
        state: str | None = None,
        updated_since: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
        retry: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> Iterator[DoiPage]:
        """Give the DOIs of repository account ``client_id`` (default: this client's
        username) page by page, with DataCite's cursor pagination (``GET /dois?client-id=…
        &page[cursor]=1``, then each answer's ``links.next``), in the order DataCite created
        them. Filters: ``prefix``, ``state`` (draft, registered, findable; DataCite also takes
        a comma-separated list), ``updated_since`` (DOIs changed at or after it: DataCite's
        ``query=updated:[… TO *]``; a naive time is UTC). ``page_size`` is 1 to 1000.

        The first page is always given (so ``total`` is known even for an empty listing);
        the listing ends at a page that is empty or has no ``links.next``. Only one page is
        held at a time. Every page request goes through the rate limiter and throttling
        handling of the other requests; ``retry``, if given, wraps each page request (e.g. a
        tenacity ``Retrying``), so a transient failure repeats that page, not the listing.

        Raises :class:`ValueError` for a bad ``page_size``, and the :class:`DataCiteError`
        subclasses of the other requests (:class:`WrongEndpoint` for an answer that is not a
        DataCite list, :class:`AnswerTooLarge` for a page over ``max_page_bytes``) when a page
        fails for good; the pages given before stay valid.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}, not {page_size}")
        params = {"client-id": (client_id or self.username).lower()}
        if prefix:
            params["prefix"] = prefix
        if state:
            params["state"] = state
        if updated_since is not None:
            params["query"] = f"updated:[{_search_time(updated_since)} TO *]"
        params.update({"page[cursor]": "1", "page[size]": str(page_size)})
        query, number = urlencode(params), 1
        call = retry or (lambda fetch: fetch())
        while True:
            what = f"GET /dois?client-id={params['client-id']} (page {number})"
            document = call(lambda q=query, w=what: self._list_page(q, w))
            records = [_record(item) for item in document["data"]]
            total = document.get("meta", {}).get("total")
            if records or number == 1:
                yield DoiPage(records, total if isinstance(total, int) else None)
            following = (document.get("links") or {}).get("next")
            if not records or not following:
                return
            next_query = urlsplit(following).query
            if next_query == query:
                raise WrongEndpoint(f"{what}: links.next repeats the page; not DataCite's API?")
            query, number = next_query, number + 1

    def _list_page(self, query: str, what: str) -> dict[str, Any]:
        """Fetch one listing page (its query string from the first request or ``links.next``,
        always sent to ``base_url``: no credentials go to another host); give the document.
        Raises :class:`WrongEndpoint` when the answer is not a DataCite list."""
        url = f"{self.base_url}/dois?{query}"
        answer = self._exchange("GET", url, what, None, self.max_page_bytes)
        try:
            document = answer.json()
        except ValueError:
            document = None
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, list) or not all(
            isinstance(item, dict) and isinstance(item.get("attributes"), dict) for item in data
        ):
            raise WrongEndpoint(f"{what}: {answer.status} answer is not a DataCite list")
        return document

    def _call(
        self, method: str, path: str, doi: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send one request about ``doi`` (see :meth:`_exchange`); give the DOI's attributes
        it answers with ({} for no content). Raises :class:`AnswerMismatch` for an answer
        about another DOI."""
        what = f"{method} {path}"
        answer = self._exchange(method, self.base_url + path, what, body, self.max_answer_bytes)
        return answers.attributes(what, answer, doi)

    def _exchange(
        self, method: str, url: str, what: str, body: dict[str, Any] | None, limit: int
    ) -> Answer:
        """Send one request (through the rate limiter) and read its answer whole, up to
        ``limit`` bytes; give a successful answer, or raise the :class:`DataCiteError` it is
        classified as. A throttled request waits and goes again, as often as it takes:
        throttling is not failure."""
        while True:
            self.before_request()
            if self.limiter is not None:
                self.limiter.acquire(self.before_request)
            answer = self._send(method, url, what, body, limit)
            try:
                answers.check(what, answer)
                return answer
            except Throttled as exc:
                wait = min(exc.retry_after or 1.0, self.max_throttle_wait)
                if self.limiter is None:
                    raise  # no shared limiter to slow down: the caller retries
                self.limiter.throttle(wait)

    def _send(
        self, method: str, url: str, what: str, body: dict[str, Any] | None, limit: int
    ) -> Answer:
        """Make one HTTP exchange within one deadline (``timeout`` from now) and give the
        answer read whole. Raises :class:`TransientError` when it cannot be made in time,
        :class:`AnswerTooLarge` for a successful answer over ``limit``."""
        connect, timeout = self.timeouts
        deadline = self.clock() + timeout
        try:
            response = self.session.request(
                method,
                url,
                json=body,
                # total: the transport cuts a wait for the headers at the deadline
                timeout=urllib3.Timeout(connect=connect, read=timeout, total=timeout),
                headers={"Content-Type": JSONAPI} if body is not None else None,
                stream=True,  # the body is read by answers.read, within the deadline
            )
        except requests.Timeout:
            raise answers.late(what) from None
        except requests.ConnectionError as exc:
            if self.clock() >= deadline:  # cut by the transport at the deadline
                raise answers.late(what) from None
            raise TransientError(f"{what}: DataCite unreachable ({answers.cause(exc)})") from None
        return answers.read(response, what, deadline, timeout, limit, self.clock)


def _document(doi: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"id": doi, "type": "dois", "attributes": attributes}}


def _record(item: dict[str, Any]) -> dict[str, Any]:
    """Give a listed DOI's attributes, with its ``doi``."""
    attributes = item["attributes"]
    return dict(attributes, doi=attributes.get("doi") or item.get("id"))


def _search_time(when: datetime) -> str:
    """Give ``when`` as DataCite's search expects it: ISO 8601 UTC with a Z."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
