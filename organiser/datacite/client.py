"""The DataCite REST API client: one method per remote effect, answers classified into the
errors of :mod:`organiser.datacite.errors`."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import requests.adapters

from organiser import __version__
from organiser.datacite.errors import (
    CredentialsRefused,
    DoiTaken,
    NotFound,
    PermanentError,
    Throttled,
    TransientError,
    WrongEndpoint,
)
from organiser.datacite.ratelimit import RateLimiter

JSONAPI = "application/vnd.api+json"
#: The largest page DataCite's listing gives (``page[size]``).
MAX_PAGE_SIZE = 1000


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

    ``session`` is the HTTP seam: tests give a real session aimed at the stand-in.
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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.timeouts = (connect_timeout, timeout)
        self.limiter = limiter
        self.max_throttle_wait = max_throttle_wait
        self.before_request: Callable[[], None] = lambda: None
        self.session = session or requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=connections)
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

        Raises :class:`DataCiteError` subclasses for anything but 200/404.
        """
        try:
            return self._call("GET", f"/dois/{doi}")
        except NotFound:
            return None

    def create(
        self, doi: str, attributes: dict[str, Any], event: str | None = None
    ) -> dict[str, Any]:
        """Create ``doi`` with ``POST /dois`` (never overwrites): a draft, or with ``event``
        ("publish") findable in the same request; give its attributes.

        Raises :class:`DoiTaken` if the DOI exists already, other :class:`DataCiteError`s else.
        """
        body = dict(attributes, doi=doi)
        body.pop("event", None)
        if event:
            body["event"] = event
        return self._call("POST", "/dois", _document(doi, body))

    def create_draft(self, doi: str, attributes: dict[str, Any]) -> dict[str, Any]:
        """Create ``doi`` as a draft (see :meth:`create`)."""
        return self.create(doi, attributes)

    def put(self, doi: str, attributes: dict[str, Any], event: str | None = None) -> dict[str, Any]:
        """Send ``attributes`` (and an optional ``event``: publish, register, hide) with
        ``PUT /dois/{doi}``; give the attributes DataCite answers with.

        Raises :class:`DataCiteError` subclasses.
        """
        body = dict(attributes, doi=doi)
        body.pop("event", None)
        if event:
            body["event"] = event
        return self._call("PUT", f"/dois/{doi}", _document(doi, body))

    def delete(self, doi: str) -> None:
        """Delete a draft DOI. Raises :class:`NotFound` if it does not exist and
        :class:`PermanentError` (405) if it is not a draft."""
        self._call("DELETE", f"/dois/{doi}")

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
        DataCite list) when a page fails for good; the pages given before stay valid.
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
        response = self._exchange("GET", f"{self.base_url}/dois?{query}", what)
        try:
            document = response.json()
        except ValueError:
            document = None
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, list) or not all(
            isinstance(item, dict) and isinstance(item.get("attributes"), dict) for item in data
        ):
            raise WrongEndpoint(f"{what}: {response.status_code} answer is not a DataCite list")
        return document

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request (see :meth:`_exchange`); give the DOI's attributes it answers
        with ({} for no content)."""
        what = f"{method} {path}"
        return _attributes(what, self._exchange(method, self.base_url + path, what, body))

    def _exchange(
        self, method: str, url: str, what: str, body: dict[str, Any] | None = None
    ) -> requests.Response:
        """Send one request (through the rate limiter); give a successful answer, or raise the
        :class:`DataCiteError` it is classified as. A throttled request waits and goes again,
        as often as it takes: throttling is not failure."""
        while True:
            self.before_request()
            if self.limiter is not None:
                self.limiter.acquire(self.before_request)
            try:
                response = self.session.request(
                    method,
                    url,
                    json=body,
                    timeout=self.timeouts,
                    headers={"Content-Type": JSONAPI} if body is not None else None,
                )
            except requests.Timeout:
                raise TransientError(f"{what}: DataCite did not answer in time") from None
            except requests.ConnectionError as exc:
                raise TransientError(f"{what}: DataCite unreachable ({_cause(exc)})") from None
            try:
                _check(what, response)
                return response
            except Throttled as exc:
                wait = min(exc.retry_after or 1.0, self.max_throttle_wait)
                if self.limiter is None:
                    raise  # no shared limiter to slow down: the caller retries
                self.limiter.throttle(wait)


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


def _attributes(what: str, response: requests.Response) -> dict[str, Any]:
    """Give the DOI's attributes in a successful answer (with its ``doi``), {} for 204.
    Raises :class:`WrongEndpoint` if it is not a DataCite document."""
    if response.status_code == 204:
        return {}
    try:
        data = response.json()["data"]
        return dict(data["attributes"], doi=data.get("id") or data["attributes"].get("doi"))
    except (ValueError, KeyError, TypeError):
        status = response.status_code
        raise WrongEndpoint(f"{what}: {status} answer is not a DataCite document") from None


def _check(what: str, response: requests.Response) -> None:
    """Raise the :class:`DataCiteError` an unsuccessful answer means; return for a success
    (2xx with JSON or no content)."""
    status = response.status_code
    if status == 204:
        return
    if status == 429 or (status == 403 and not _is_json(response)):
        # 429, or the HTML 403 that DataCite's firewall answers with when it throttles
        raise Throttled(f"{what}: {status} {_errors(response)}".rstrip(), _retry_after(response))
    if status == 408 or status >= 500:  # a proxy's HTML error page included
        raise TransientError(f"{what}: {status} {_errors(response)}".rstrip())
    if status != 401 and response.content and not _is_json(response):
        kind = response.headers.get("Content-Type", "no content type").split(";")[0].strip()
        raise WrongEndpoint(
            f"{what}: {status} answer is {kind}, not JSON; is [datacite] url DataCite's REST API?"
        )
    if 200 <= status < 300:
        return
    detail = _errors(response)
    message = f"{what}: {status} {detail}".rstrip()
    if status == 401:
        raise CredentialsRefused(f"{what}: 401 DataCite refused the repository credentials")
    if status == 404 and what == "POST /dois":
        raise WrongEndpoint(f"{message}: no /dois collection there; check [datacite] url")
    if status == 404:
        raise NotFound(message, status)
    if status == 422 and "already been taken" in detail:
        raise DoiTaken(message, status)
    raise PermanentError(message, status)


def _is_json(response: requests.Response) -> bool:
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return kind.endswith("json")


def _errors(response: requests.Response) -> str:
    """Give DataCite's ``{"errors":[{"source","title"}]}`` as ``source: title; ...``."""
    try:
        errors = response.json().get("errors") or []
        parts = []
        for error in errors:
            source, title = error.get("source"), error.get("title") or error.get("detail") or ""
            parts.append(f"{source}: {title}" if source else title)
        if parts:
            return "; ".join(parts)
    except (ValueError, AttributeError):
        pass
    return response.reason or ""


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _cause(exc: Exception) -> str:
    text = str(exc.args[0] if exc.args else exc)
    for marker in (
        "Connection refused",
        "Connection reset",
        "Connection aborted",
        "RemoteDisconnected",
        "Name or service not known",
        "timed out",
    ):
        if marker in text:
            return marker.lower()
    return type(exc).__name__
