"""DataCite REST JSON as intake reads it: bare attributes, a ``{"data": …}`` document or a
list response; DataCite's own read-only fields are dropped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from organiser.domain.identifiers import DoiScheme, normalise_doi
from organiser.intake.model import Found, InputError
from organiser.intake.sources import Source

#: Attributes a client may write (DataCite REST API); everything else in a record
#: (state, counts, timestamps, xml, ...) is DataCite's own and is dropped on intake.
WRITABLE = frozenset(
    """
    identifiers alternateIdentifiers creators titles publisher container publicationYear
    subjects contributors dates language types relatedIdentifiers relatedItems sizes formats
    version rightsList descriptions geoLocations fundingReferences schemaVersion
""".split()
)


def records(source: Source) -> Iterator[dict[str, Any]]:
    try:
        document = json.loads(source.data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{source.name}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source.name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if isinstance(document, dict) and "data" in document:
        document = document["data"]
    items = document if isinstance(document, list) else [document]
    if not items:
        raise InputError(f"{source.name}: holds no records")
    for item in items:
        if not isinstance(item, dict):
            raise InputError(f"{source.name}: expected a JSON object of DataCite attributes")
        attributes = item.get("attributes", item)
        if not isinstance(attributes, dict):
            raise InputError(f"{source.name}: 'attributes' is not a JSON object")
        if "id" in item and "doi" not in attributes:
            attributes = dict(attributes, doi=item["id"])
        yield attributes


def metadata(source: str, raw: dict[str, Any], scheme: DoiScheme) -> Found:
    """Give the record in ``raw`` (REST API attributes), not yet checked against the schema."""
    doi = _doi_of(source, raw)
    if doi is not None:
        check_prefix(source, doi, scheme)
    attributes = _clean({k: v for k, v in raw.items() if k in WRITABLE})
    if isinstance(attributes.get("types"), dict):  # drop DataCite's derived schemaOrg, ris, ...
        types = attributes["types"]
        attributes["types"] = {
            k: types[k] for k in ("resourceTypeGeneral", "resourceType") if k in types
        }
    url = raw.get("url") or None
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise InputError(f"{source}: 'url' must be an http(s) URL")
    identifier = _identifier_of(attributes) or url
    if not identifier:
        raise InputError(
            f"{source}: no repository identifier: add an 'identifiers' entry that "
            "is not a DOI (e.g. a PDS4 LIDVID) or a 'url'"
        )
    return Found(source, attributes, url, doi, identifier)


def check_prefix(source: str, doi: str, scheme: DoiScheme) -> None:
    if not scheme.owns(doi):
        raise InputError(
            f"{source}: DOI {doi} is not under this repository's prefix {scheme.prefix}"
        )


def _clean(value: Any) -> Any:
    """Give ``value`` without empty strings, lists and objects, and without name identifiers
    that name nothing (common in records exported from DataCite)."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        cleaned = [_clean(v) for v in value]
        return [
            v
            for v in cleaned
            if v not in (None, "", [], {})
            and not (isinstance(v, dict) and set(v) <= {"nameIdentifierScheme", "schemeUri"})
        ]
    return value


def _doi_of(source: str, raw: dict[str, Any]) -> str | None:
    candidates = [raw.get("doi")] + [
        i.get("identifier")
        for i in raw.get("identifiers") or []
        if isinstance(i, dict) and str(i.get("identifierType", "")).upper() == "DOI"
    ]
    for candidate in candidates:
        if candidate:
            doi = normalise_doi(str(candidate))
            if doi is None:
                raise InputError(f"{source}: {candidate!r} is not a DOI")
            return doi
    return None


def _identifier_of(attributes: dict[str, Any]) -> str | None:
    for key in ("identifiers", "alternateIdentifiers"):
        for entry in attributes.get(key) or []:
            if not isinstance(entry, dict):
                continue
            kind = str(entry.get("identifierType") or entry.get("alternateIdentifierType") or "")
            value = entry.get("identifier") or entry.get("alternateIdentifier")
            if value and kind.upper() not in ("DOI", "URL"):
                return str(value).strip()
    return None
