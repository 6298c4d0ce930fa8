"""Reading metadata sources for marking. Local work only: intake never talks to DataCite.

A SOURCE is a file or a directory (searched recursively for ``*.json`` and ``*.xml``) of
DataCite metadata: REST JSON (bare attributes, a ``{"data": {...}}`` document, or a list
response) or DataCite XML kernel-4.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from organiser import datacite_xml, safexml
from organiser.identifiers import DoiScheme, normalise_doi

SUFFIXES = (".json", ".xml")

#: Attributes a client may write (DataCite REST API); everything else in a record
#: (state, counts, timestamps, xml, ...) is DataCite's own and is dropped on intake.
WRITABLE = frozenset(
    {
        "identifiers",
        "alternateIdentifiers",
        "creators",
        "titles",
        "publisher",
        "container",
        "publicationYear",
        "subjects",
        "contributors",
        "dates",
        "language",
        "types",
        "relatedIdentifiers",
        "relatedItems",
        "sizes",
        "formats",
        "version",
        "rightsList",
        "descriptions",
        "geoLocations",
        "fundingReferences",
        "schemaVersion",
    }
)


class InputError(ValueError):
    """A source cannot be used; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class Metadata:
    """One record's worth of metadata read from a source."""

    source: str
    attributes: dict[str, Any]
    url: str | None
    doi: str | None  # the DOI the source names, if any
    identifier: str  # the repository's own identifier


def expand(sources: Iterable[str]) -> list[Path]:
    """Give every metadata file named by ``sources`` (directories searched recursively).

    Raises :class:`InputError` for a path that does not exist or a directory with no files.
    """
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
            )
            if not found:
                raise InputError(f"{source}: directory holds no .json or .xml files")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{source}: no such file or directory")
    return files


def read(
    path: Path, scheme: DoiScheme, max_bytes: int = safexml.DEFAULT_MAX_BYTES
) -> list[Metadata]:
    """Give the records in one metadata file.

    Raises :class:`InputError` naming the file for unreadable, malformed or unusable input.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{path}: larger than the {max_bytes // (1024 * 1024)} MB limit")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if path.suffix.lower() == ".json" or data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        documents = list(_json_records(path, data))
    else:
        documents = [_xml_record(path, data, max_bytes)]
    return [
        _metadata(f"{path}" if len(documents) == 1 else f"{path}[{n}]", doc, scheme)
        for n, doc in enumerate(documents)
    ]


def _json_records(path: Path, data: bytes) -> Iterator[dict[str, Any]]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if isinstance(document, dict) and "data" in document:
        document = document["data"]
    items = document if isinstance(document, list) else [document]
    if not items:
        raise InputError(f"{path}: holds no records")
    for item in items:
        if not isinstance(item, dict):
            raise InputError(f"{path}: expected a JSON object of DataCite attributes")
        attributes = item.get("attributes", item)
        if not isinstance(attributes, dict):
            raise InputError(f"{path}: 'attributes' is not a JSON object")
        if "id" in item and "doi" not in attributes:
            attributes = dict(attributes, doi=item["id"])
        yield attributes


def _xml_record(path: Path, data: bytes, max_bytes: int) -> dict[str, Any]:
    try:
        root = safexml.parse(data, max_bytes)
    except safexml.XmlError as exc:
        raise InputError(f"{path}: {exc}") from None
    try:
        return datacite_xml.to_attributes(root)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None


def _metadata(source: str, raw: dict[str, Any], scheme: DoiScheme) -> Metadata:
    doi = _doi_of(source, raw)
    if doi is not None and not scheme.owns(doi):
        raise InputError(
            f"{source}: DOI {doi} is not under this repository's prefix {scheme.prefix}"
        )
    attributes = {k: v for k, v in raw.items() if k in WRITABLE and v not in (None, [], {}, "")}
    if "titles" in attributes and not _titles_ok(attributes["titles"]):
        raise InputError(f"{source}: 'titles' must be a list of objects with a 'title'")
    url = raw.get("url") or None
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise InputError(f"{source}: 'url' must be an http(s) URL")
    identifier = _identifier_of(attributes) or url
    if not identifier:
        raise InputError(
            f"{source}: no repository identifier: add an 'identifiers' entry that is not a DOI "
            "(e.g. a PDS4 LIDVID) or a 'url'"
        )
    return Metadata(source, attributes, url, doi, identifier)


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


def _titles_ok(titles: Any) -> bool:
    return isinstance(titles, list) and all(isinstance(t, dict) and t.get("title") for t in titles)


def identifiers_in(attributes: dict[str, Any]) -> set[str]:
    """Give every identifier value and the URL in DataCite ``attributes`` (to recognise a DOI
    as ours when an earlier attempt's answer was lost)."""
    found = {str(attributes.get("url") or "")}
    for key in ("identifiers", "alternateIdentifiers"):
        for entry in attributes.get(key) or []:
            if isinstance(entry, dict):
                found.add(str(entry.get("identifier") or entry.get("alternateIdentifier") or ""))
    return {value.strip() for value in found if value}
