"""DataCite REST JSON as intake reads it: bare attributes, a ``{"data": …}`` document or a
list response; DataCite's own read-only fields are dropped.

Metadata may also come as the ``xml`` attribute (base64 of a DataCite kernel-4 XML record, as
DataCite's API accepts and returns it): it is decoded, parsed like any other XML (see
:mod:`organiser.intake.safexml`) and read with :mod:`~organiser.intake.formats.datacite_xml`.
JSON attributes that hold a value win; the XML fills in those that are absent or empty.

The record's identifier is its repository identifier (an ``identifiers`` or
``alternateIdentifiers`` entry that is neither a DOI nor a URL, e.g. a PDS4 LIDVID); without
one, its DOI; without a DOI either, a local id derived from its content (:func:`local_id`).
The landing page is never the identifier: several records may share one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import unicodedata
from collections.abc import Iterator
from typing import Any

from lxml import etree

from organiser.domain.identifiers import DoiScheme, normalise_doi
from organiser.intake import bounds, safexml
from organiser.intake.formats import datacite_xml
from organiser.intake.model import LOCAL_ID_PREFIX, Found, InputError
from organiser.intake.sources import Source

#: Attribute pairs that hold the same thing: the XML fills neither in if the JSON has one.
_SAME = {"identifiers": "alternateIdentifiers", "alternateIdentifiers": "identifiers"}
_EMPTY: tuple[Any, ...] = (None, "", [], {})

#: Attributes a client may write (DataCite REST API); everything else in a record
#: (state, counts, timestamps, ...) is DataCite's own and is dropped on intake (``xml`` is
#: read first, see :func:`with_xml`).
WRITABLE = frozenset(
    """
    identifiers alternateIdentifiers creators titles publisher container publicationYear
    subjects contributors dates language types relatedIdentifiers relatedItems sizes formats
    version rightsList descriptions geoLocations fundingReferences schemaVersion
""".split()
)


def parse(source: Source) -> Any:
    """Give the JSON document in ``source``. Raises :class:`InputError` (not UTF-8, not
    JSON, naming the source, line and column; or over a limit of :mod:`~organiser.intake.bounds`:
    nesting depth, a number's length)."""
    try:
        return bounds.loads(source.data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{source.name}: not UTF-8 text") from None
    except bounds.BoundsError as exc:
        raise InputError(f"{source.name}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source.name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def records(source: Source, document: Any = None) -> Iterator[dict[str, Any]]:
    """Give the DataCite attributes of every record in ``source`` (``document``: its JSON,
    when already parsed). Raises :class:`InputError`."""
    if document is None:
        document = parse(source)
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


def metadata(
    source: str,
    raw: dict[str, Any],
    scheme: DoiScheme,
    max_bytes: int = safexml.DEFAULT_MAX_BYTES,
) -> Found:
    """Give the record in ``raw`` (REST API attributes, with any ``xml`` attribute read, see
    :func:`with_xml`), not yet checked against the schema.

    Raises :class:`InputError` (one line naming ``source``) for a DOI that is not one or not
    under ``scheme``'s prefix, a ``url`` that is not http(s), or an unreadable ``xml``.
    """
    raw = with_xml(source, raw, max_bytes)
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
    identifier = _identifier_of(attributes) or doi or local_id(attributes, url)
    return Found(source, attributes, url, doi, identifier)


def with_xml(source: str, raw: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """Give ``raw`` with what its ``xml`` attribute holds filled in: each attribute of the
    decoded DataCite XML that ``raw`` lacks or holds empty (``identifiers`` and
    ``alternateIdentifiers`` count as one), the XML's DOI as ``doi`` if ``raw`` has none.
    ``raw`` itself when it has no ``xml`` (or an empty one).

    Raises :class:`InputError` (``<source>: xml: <problem>``) when ``xml`` is not base64, not
    acceptable XML (the limits and refusals of :func:`safexml.parse`) or not DataCite
    kernel-4 XML.
    """
    encoded = raw.get("xml")
    if encoded in (None, ""):
        return raw
    if not isinstance(encoded, str):
        raise InputError(f"{source}: xml: not a base64 string")
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{source}: xml: not valid base64") from None
    try:
        root = safexml.parse(data, max_bytes)
    except safexml.XmlError as exc:
        raise InputError(f"{source}: xml: {exc}") from None
    if not datacite_xml.is_datacite_xml(root):
        qname = etree.QName(root)
        raise InputError(
            f"{source}: xml: not DataCite kernel-4 XML (root element {qname.localname}, "
            f"namespace {qname.namespace or 'none'})"
        )
    merged = dict(raw)
    for key, value in datacite_xml.to_attributes(root).items():
        if merged.get(key) in _EMPTY and merged.get(_SAME.get(key, key)) in _EMPTY:
            merged[key] = value
    return merged


def local_id(attributes: dict[str, Any], url: str | None) -> str:
    """Give the identifier of a record that has neither a repository identifier nor a DOI:
    ``local:`` and 32 hex digits of the SHA-256 of its attributes and landing page (names in
    NFC). The same content always gives the same id, so marking the same file twice is
    refused as a duplicate, while different records sharing a landing page stay apart."""
    text = json.dumps([attributes, url], sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(unicodedata.normalize("NFC", text).encode()).hexdigest()
    return f"{LOCAL_ID_PREFIX}{digest[:32]}"


def check_prefix(source: str, doi: str, scheme: DoiScheme) -> None:
    if not scheme.owns(doi):
        held = ", ".join(dict.fromkeys((scheme.prefix, *scheme.also)))  # every account's
        raise InputError(f"{source}: DOI {doi} is not under this repository's prefix {held}")


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
