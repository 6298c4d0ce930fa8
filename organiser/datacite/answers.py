"""Reading DataCite's answers within bounds, and classifying them.

An answer is read in small chunks against one deadline (the request's whole exchange) and a
size limit; :func:`read` gives it as an :class:`Answer` held in memory, and :func:`check`
raises the :class:`~organiser.datacite.errors.DataCiteError` an unsuccessful one means.
"""

from __future__ import annotations

import email.utils
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from organiser.datacite.errors import (
    AnswerMismatch,
    AnswerTooLarge,
    CredentialsRefused,
    DoiTaken,
    NotFound,
    PermanentError,
    Throttled,
    TransientError,
    WrongEndpoint,
)

#: The largest answer about one DOI that is read (bytes). DataCite's document for a DOI, its
#: base64 ``xml`` included, is some kilobytes; even a DOI with thousands of creators stays far
#: below this.
MAX_ANSWER_BYTES = 10 * 1024 * 1024
#: The largest listing page that is read (bytes): 1,000 DOIs with their metadata are a few MB
#: (up to some tens of MB for very rich metadata); a real page never reaches this.
MAX_PAGE_BYTES = 64 * 1024 * 1024
#: How much is read at a time: the deadline is checked between reads, so a server sending a
#: byte now and then cannot hold a request beyond it.
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """One answer as read: status line, headers (case-insensitive) and the whole body."""

    status: int
    reason: str
    headers: CaseInsensitiveDict[str]
    content: bytes

    def json(self) -> Any:
        """Give the body as JSON. Raises ``ValueError`` if it is not."""
        return json.loads(self.content)


def late(what: str) -> TransientError:
    """Give the error for a request that did not finish before its deadline."""
    return TransientError(f"{what}: DataCite did not answer in time")


def read(
    response: requests.Response,
    what: str,
    deadline: float,
    timeout: float,
    limit: int,
    clock: Callable[[], float] = time.monotonic,
) -> Answer:
    """Read ``response`` (sent with ``stream=True``) to its end by ``deadline`` (a ``clock()``
    value), each socket read waiting at most ``timeout`` and never past the deadline; give
    it, and close the response (its connection goes back to the pool only when the answer
    was read to its end).

    A body over ``limit`` bytes (by ``Content-Length`` first, so nothing of it is read, then
    as counted while reading) is not kept: a successful answer raises :class:`AnswerTooLarge`,
    an unsuccessful one is given without its body (its status still classifies it). Raises
    :class:`TransientError` when the deadline passes or the connection breaks.
    """
    try:
        declared = response.headers.get("Content-Length", "").strip()
        over = declared.isdigit() and int(declared) > limit
        body = None if over else _body(response, what, deadline, timeout, limit, clock)
        if body is None:
            if 200 <= response.status_code < 300:
                raise AnswerTooLarge(
                    f"{what}: {response.status_code} answer is larger than {_size(limit)}; refused",
                    response.status_code,
                )
            body = b""
        return Answer(response.status_code, response.reason or "", response.headers, body)
    finally:
        response.close()


def _body(
    response: requests.Response,
    what: str,
    deadline: float,
    timeout: float,
    limit: int,
    clock: Callable[[], float],
) -> bytes | None:
    """Give the body read in chunks, or None as soon as it passes ``limit`` bytes."""
    raw = response.raw
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    chunks, size = [], 0
    try:
        while True:
            remaining = deadline - clock()
            if remaining <= 0:
                raise late(what)
            if isinstance(sock, socket.socket):
                sock.settimeout(min(remaining, timeout))
            chunk = raw.read1(CHUNK, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
        raise late(what) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TransientError(f"{what}: DataCite unreachable ({cause(exc)})") from None


def _size(limit: int) -> str:
    return f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit} bytes"


def attributes(what: str, answer: Answer, doi: str) -> dict[str, Any]:
    """Give the DOI's attributes in a successful answer (with its ``doi``), {} for 204.

    Raises :class:`WrongEndpoint` if it is not a DataCite document, :class:`AnswerMismatch`
    if it is about another DOI than ``doi`` (compared case-insensitively, as DOIs are).
    """
    if answer.status == 204:
        return {}
    try:
        data = answer.json()["data"]
        found = dict(data["attributes"], doi=data.get("id") or data["attributes"].get("doi"))
        named = {str(n).lower() for n in (data.get("id"), data["attributes"].get("doi")) if n}
    except (ValueError, KeyError, TypeError):
        raise WrongEndpoint(f"{what}: {answer.status} answer is not a DataCite document") from None
    if named != {doi.lower()}:
        them = ", ".join(sorted(named)) or "no DOI"
        raise AnswerMismatch(
            f"{what}: the answer is about {them}, not {doi}; not counted", answer.status
        )
    return found


def check(what: str, answer: Answer) -> None:
    """Raise the :class:`DataCiteError` an unsuccessful answer means; return for a success
    (2xx with JSON or no content)."""
    status = answer.status
    if status == 204:
        return
    if status == 429 or (status == 403 and not is_json(answer)):
        # 429, or the HTML 403 that DataCite's firewall answers with when it throttles
        raise Throttled(f"{what}: {status} {errors(answer)}".rstrip(), retry_after(answer))
    if status == 408 or status >= 500:  # a proxy's HTML error page included
        raise TransientError(f"{what}: {status} {errors(answer)}".rstrip())
    if status != 401 and answer.content and not is_json(answer):
        kind = answer.headers.get("Content-Type", "no content type").split(";")[0].strip()
        raise WrongEndpoint(
            f"{what}: {status} answer is {kind}, not JSON; is [datacite] url DataCite's REST API?"
        )
    if 200 <= status < 300:
        return
    detail = errors(answer)
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


def is_json(answer: Answer) -> bool:
    """Tell whether the answer says its body is JSON."""
    kind = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return kind.endswith("json")


def errors(answer: Answer) -> str:
    """Give DataCite's ``{"errors":[{"source","title"}]}`` as ``source: title; ...``."""
    try:
        parts = []
        for error in answer.json().get("errors") or []:
            source, title = error.get("source"), error.get("title") or error.get("detail") or ""
            parts.append(f"{source}: {title}" if source else title)
        if parts:
            return "; ".join(parts)
    except (ValueError, AttributeError):
        pass
    return answer.reason


def retry_after(answer: Answer) -> float | None:
    """Give DataCite's ``Retry-After`` in seconds (a number or an HTTP date), if any."""
    value = answer.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def cause(exc: Exception) -> str:
    """Give a short reason for a connection failure (no addresses, no secrets)."""
    text = str(exc.args[0] if exc.args else exc)
    for marker in (
        "Connection refused",
        "Connection reset",
        "Connection aborted",
        "RemoteDisconnected",
        "Name or service not known",
        "IncompleteRead",
        "timed out",
    ):
        if marker in text:
            return marker.lower()
    return type(exc).__name__
