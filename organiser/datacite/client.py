"""The DataCite REST API client: one method per remote effect, answers classified into the
errors of :mod:`organiser.datacite.errors`."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

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

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request (through the rate limiter) and classify the answer. A throttled
        request waits and goes again, as often as it takes: throttling is not failure."""
        what = f"{method} {path}"
        while True:
            self.before_request()
            if self.limiter is not None:
                self.limiter.acquire(self.before_request)
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    json=body,
                    timeout=self.timeouts,
                    headers={"Content-Type": JSONAPI} if body is not None else None,
                )
            except requests.Timeout:
                raise TransientError(f"{what}: DataCite did not answer in time") from None
            except requests.ConnectionError as exc:
                raise TransientError(f"{what}: DataCite unreachable ({_cause(exc)})") from None
            try:
                return _answer(what, response)
            except Throttled as exc:
                wait = min(exc.retry_after or 1.0, self.max_throttle_wait)
                if self.limiter is None:
                    raise  # no shared limiter to slow down: the caller retries
                self.limiter.throttle(wait)


def _document(doi: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"id": doi, "type": "dois", "attributes": attributes}}


def _answer(what: str, response: requests.Response) -> dict[str, Any]:
    status = response.status_code
    if status == 204:
        return {}
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
        try:
            data = response.json()["data"]
            return dict(data["attributes"], doi=data.get("id") or data["attributes"].get("doi"))
        except (ValueError, KeyError, TypeError):
            raise WrongEndpoint(f"{what}: {status} answer is not a DataCite document") from None
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
