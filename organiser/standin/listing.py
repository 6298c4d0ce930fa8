"""The stand-in's ``GET /dois``: an account's DOIs as DataCite lists them.

Followed from DataCite's REST API: JSON:API ``{"data": [{"id", "type": "dois", "attributes",
"relationships"}], "meta": {"total", "totalPages", …}, "links": {"self", "next"}}``;
``page[size]`` (default 25, at most 1000); cursor pagination (``page[cursor]=1`` for the
first page, then the cursor in ``links.next``: an opaque token, the sort values of the last
DOI given, base64) in the order DOIs were created; page-number pagination (``page[number]``)
up to 10,000 records; ``links.next`` present whenever the page is full (so the last full page
is followed by an empty one, as DataCite does); the filters ``client-id``, ``prefix``, ``state``
(comma-separated) and ``query=updated:[FROM TO UNTIL]`` (ISO 8601 times or ``*``, both ends
included; no other query is understood). Lists omit the base64 ``xml`` attribute (DataCite
gives it only with ``detail=true``). Only DOIs of the authenticated account are listed.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from organiser.standin.state import DataCite

MAX_SIZE = 1000
DEFAULT_SIZE = 25
#: Page-number pagination reaches this many records at most.
NUMBER_LIMIT = 10_000
_UPDATED = re.compile(r"^\s*updated:\[\s*(\S+)\s+TO\s+(\S+)\s*\]\s*$")


class ListingError(ValueError):
    """The listing request cannot be answered (400); the message is DataCite-like."""


@dataclass(frozen=True)
class Query:
    """What one ``GET /dois`` asks for."""

    params: dict[str, str]  # as received (first value of each)
    client: str | None
    prefix: str | None
    states: frozenset[str] | None
    updated_from: datetime | None
    updated_until: datetime | None
    size: int
    cursor: tuple[int, str] | None  # list after this (created, DOI); None: from the start
    by_cursor: bool
    number: int

    @property
    def filters(self) -> tuple[Any, ...]:
        return (self.client, self.prefix, self.states, self.updated_from, self.updated_until)


def parse(query_string: str) -> Query:
    """Give the listing request in ``query_string``. Raises :class:`ListingError`."""
    params = {k: v[0] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
    try:
        size = int(params.get("page[size]") or DEFAULT_SIZE)
        number = int(params.get("page[number]") or 1)
    except ValueError:
        raise ListingError("page[size] and page[number] must be numbers") from None
    if size < 0 or number < 1:
        raise ListingError("page[size] and page[number] must not be negative")
    size = min(size, MAX_SIZE)
    raw_cursor = params.get("page[cursor]")
    cursor = None if raw_cursor in (None, "", "1") else _decode(raw_cursor)
    states = params.get("state")
    updated_from = updated_until = None
    if params.get("query"):
        match = _UPDATED.match(params["query"])
        if match is None:
            raise ListingError("the stand-in understands only query=updated:[FROM TO UNTIL]")
        updated_from, updated_until = _time(match.group(1)), _time(match.group(2))
    if raw_cursor is None and number * size > NUMBER_LIMIT + size:
        raise ListingError(f"page[number] reaches beyond {NUMBER_LIMIT} records; use page[cursor]")
    return Query(
        params=params,
        client=(params.get("client-id") or "").lower() or None,
        prefix=(params.get("prefix") or "").lower() or None,
        states=frozenset(s.strip() for s in states.split(",")) if states else None,
        updated_from=updated_from,
        updated_until=updated_until,
        size=size,
        cursor=cursor,
        by_cursor=raw_cursor is not None,
        number=number,
    )


def answer(
    api: DataCite, account: str, query: Query, base_url: str, path_qs: str
) -> dict[str, Any]:
    """Give the JSON:API list document for ``query`` over ``account``'s DOIs."""
    with api.lock:
        order = _order(api)
        start = bisect_right(order, query.cursor) if query.cursor else 0
        skip = 0 if query.by_cursor else (query.number - 1) * query.size
        data: list[dict[str, Any]] = []
        last: tuple[int, str] | None = None
        index = start
        while index < len(order) and len(data) < query.size:
            key = order[index]
            index += 1
            item = api.dois.get(key[1])  # a test may have taken it out directly
            if item is None or not _matches(item, key[1], account, query):
                continue
            if skip:
                skip -= 1
                continue
            data.append(_resource(api, key[1]))
            last = key
        total = _total(api, account, query)
    links: dict[str, str] = {"self": base_url + path_qs}
    if query.size and len(data) == query.size and last is not None:
        following = dict(query.params, **{"page[size]": str(query.size)})
        if query.by_cursor:
            following["page[cursor]"] = _encode(last)
        else:
            following["page[number]"] = str(query.number + 1)
        links["next"] = f"{base_url}/dois?{urlencode(following)}"
    meta: dict[str, Any] = {
        "total": total,
        "totalPages": math.ceil(total / query.size) if query.size else 0,
    }
    if not query.by_cursor:
        meta["page"] = query.number
    return {"data": data, "meta": meta, "links": links}


def _resource(api: DataCite, doi: str) -> dict[str, Any]:
    resource = api.document(doi)["data"]
    resource["attributes"].pop("xml", None)
    return resource


def _matches(item: dict[str, Any], doi: str, account: str, query: Query) -> bool:
    if item["client"] != account:
        return False
    if query.client is not None and item["client"].lower() != query.client:
        return False
    if query.prefix is not None and doi.split("/", 1)[0] != query.prefix:
        return False
    if query.states is not None and item["state"] not in query.states:
        return False
    if query.updated_from is None and query.updated_until is None:
        return True
    updated = _time(item["updated"])
    assert updated is not None
    if query.updated_from is not None and updated < query.updated_from:
        return False
    return query.updated_until is None or updated <= query.updated_until


def _order(api: DataCite) -> list[tuple[int, str]]:
    """Give every DOI held as (created in ms, DOI), sorted (cached until a DOI comes or goes,
    or the number held changes: tests may add or take out DOIs directly)."""
    if api.order is None or len(api.order) != len(api.dois):
        api.order = sorted((_millis(item["created"]), doi) for doi, item in api.dois.items())
    return api.order


#: From this many DOIs held, totals are cached per change made through the stand-in's own
#: methods (below, always counted afresh: tests may edit states directly).
CACHE_TOTALS_FROM = 10_000


def _total(api: DataCite, account: str, query: Query) -> int:
    """Count the DOIs ``query`` matches."""
    key = (account, *query.filters)
    cached = api.totals.get(key)
    if cached is not None and cached[0] == api.version and len(api.dois) >= CACHE_TOTALS_FROM:
        return cached[1]
    total = sum(1 for doi, item in api.dois.items() if _matches(item, doi, account, query))
    api.totals[key] = (api.version, total)
    return total


def _encode(key: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]},{key[1]}".encode()).decode().rstrip("=")


def _decode(token: str) -> tuple[int, str]:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        millis, doi = text.split(",", 1)
        return int(millis), doi
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ListingError(f"page[cursor] {token!r} is not a cursor this server gave") from None


def _time(text: str) -> datetime | None:
    """Give an ISO 8601 time (UTC when no zone is given) as aware UTC; ``*``: None.
    Raises :class:`ListingError`."""
    if text == "*":
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ListingError(f"{text!r} is not a date or time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _millis(text: str) -> int:
    when = _time(text)
    return round(when.timestamp() * 1000) if when else 0
