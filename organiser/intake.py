"""Reading and checking metadata sources for marking. Local work only: never talks to DataCite.

A SOURCE (file, directory searched recursively, or http(s) URL) holds one of:
PDS4 labels (``.xml``/``.lblx``, crosswalked by :mod:`organiser.pds4`); the PDS reserve
spreadsheet (``.csv``/``.xlsx``); DataCite REST JSON (bare attributes, a ``{"data": …}``
document, or a list response); DataCite XML kernel-4. Everything read is checked against the
DataCite schema before anything is marked, and every problem is reported, one line each.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from itertools import repeat
from typing import Any

from organiser import datacite_xml, pds4, safexml, spreadsheet, validate
from organiser.db import lid_of, title_of
from organiser.identifiers import DoiScheme, normalise_doi
from organiser.sources import Limits, Source, SourceError, expand, load

#: Attributes a client may write (DataCite REST API); everything else in a record
#: (state, counts, timestamps, xml, ...) is DataCite's own and is dropped on intake.
WRITABLE = frozenset(
    """
    identifiers alternateIdentifiers creators titles publisher container publicationYear
    subjects contributors dates language types relatedIdentifiers relatedItems sizes formats
    version rightsList descriptions geoLocations fundingReferences schemaVersion
""".split()
)
_HTML = (b"<!doctype html", b"<html")


class InputError(ValueError):
    """Sources cannot be used. ``errors`` holds one line per problem, each naming its source."""

    def __init__(self, errors: str | list[str]) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True)
class Options:
    """What intake needs from configuration and the command line."""

    scheme: DoiScheme
    crosswalk: pds4.Crosswalk = field(default_factory=pds4.Crosswalk)
    node: str | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class Metadata:
    """One record's worth of checked metadata read from a source.

    The attributes travel as JSON text (``attributes_json``, what the database stores), so
    that handing thousands of them from reading processes to the writer costs little;
    ``attributes`` decodes them when asked. Build one with :meth:`of`.
    """

    source: str
    attributes_json: str
    url: str | None
    doi: str | None  # the DOI the source names, if any
    identifier: str  # the repository's own identifier (for PDS: the LIDVID)
    title: str | None  # the first title, for duplicate checks

    @classmethod
    def of(
        cls,
        source: str,
        attributes: dict[str, Any],
        url: str | None,
        doi: str | None,
        identifier: str,
    ) -> Metadata:
        """Give metadata for DataCite ``attributes`` (REST API shape)."""
        item = cls(
            source,
            json.dumps(attributes, ensure_ascii=False),
            url,
            doi,
            identifier,
            title_of(attributes),
        )
        item.__dict__["attributes"] = attributes  # already at hand: no need to decode
        return item

    @cached_property
    def attributes(self) -> dict[str, Any]:
        return json.loads(self.attributes_json)

    @property
    def lid(self) -> str:
        """The identifier without its ``::version`` (the identifier itself if it has none)."""
        return lid_of(self.identifier)

    def __reduce__(self) -> tuple[Any, ...]:  # pickle without the decoded attributes
        return (
            Metadata,
            (self.source, self.attributes_json, self.url, self.doi, self.identifier, self.title),
        )


#: Below this many files a process pool costs more than it saves.
PARALLEL_FROM = 200


def read_all(names: Iterable[str], options: Options) -> list[Metadata]:
    """Give every record in the named sources, all checked, in the order named.

    Large batches are read on every CPU (parsing and crosswalking are independent per file).
    Raises :class:`InputError` listing every problem in every source.
    """
    try:
        found = expand(names)
    except SourceError as exc:
        raise InputError(str(exc)) from None
    cpus = len(os.sched_getaffinity(0))
    if len(found) < PARALLEL_FROM or cpus < 2:
        results = [_read_named(name, options) for name in found]
    else:
        chunks = [found[start : start + 64] for start in range(0, len(found), 64)]
        with ProcessPoolExecutor(max_workers=cpus) as pool:
            results = [r for chunk in pool.map(_read_chunk, chunks, repeat(options)) for r in chunk]
    items = [item for found_items, _ in results for item in found_items]
    errors = [error for _, found_errors in results for error in found_errors]
    if errors:
        raise InputError(errors)
    return items


def _read_chunk(names: list[str], options: Options) -> list[tuple[list[Metadata], list[str]]]:
    """Give :func:`_read_named` for each name (one task for a worker process)."""
    return [_read_named(name, options) for name in names]


def _read_named(name: str, options: Options) -> tuple[list[Metadata], list[str]]:
    """Give (records, problems) for one file or URL; never raises for bad input."""
    try:
        return read(load(name, options.limits), options), []
    except SourceError as exc:
        return [], [str(exc)]
    except InputError as exc:
        return [], exc.errors


def read(source: Source, options: Options) -> list[Metadata]:
    """Give the checked records in one source. Raises :class:`InputError` (every problem)."""
    if source.suffix in (".csv", ".xlsx"):
        return _sheet(source, options)
    head = source.data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if source.suffix == ".json" or head[:1] in (b"{", b"["):
        raws = list(_json_records(source))
    elif head[:14].lower().startswith(_HTML):
        raise InputError(f"{source.name}: an HTML page, not a label or DataCite XML")
    else:
        try:
            root = safexml.parse(source.data, options.limits.max_bytes)
        except safexml.XmlError as exc:
            raise InputError(f"{source.name}: {exc}") from None
        if pds4.is_label(root):
            return [
                _label(
                    source.name,
                    options,
                    lambda: pds4.crosswalk(root, options.node or "", options.crosswalk),
                )
            ]
        if not datacite_xml.is_datacite_xml(root):
            raise InputError(
                f"{source.name}: neither a PDS4 label nor DataCite XML "
                f"(root element {_local(root.tag)})"
            )
        raws = [datacite_xml.to_attributes(root)]
    names = [source.name] if len(raws) == 1 else [f"{source.name}[{n}]" for n in range(len(raws))]
    return _checked(
        [_metadata(name, raw, options.scheme) for name, raw in zip(names, raws, strict=True)]
    )


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _label(name: str, options: Options, build: Any) -> Metadata:
    if not options.node:
        raise InputError(f"{name}: --node is required for PDS4 labels and spreadsheets")
    try:
        label = build()
    except pds4.LabelError as exc:
        raise InputError(f"{name}: {exc}") from None
    if label.doi is not None:
        doi = normalise_doi(label.doi)
        if doi is None:
            raise InputError(f"{name}: Citation_Information/doi {label.doi!r} is not a DOI")
        _check_prefix(name, doi, options.scheme)
    else:
        doi = None
    item = Metadata.of(name, label.attributes, label.url, doi, label.lidvid)
    return _checked([item])[0]


def _sheet(source: Source, options: Options) -> list[Metadata]:
    items, errors = [], []
    try:
        for number, row in spreadsheet.rows(source.data, source.suffix):
            try:
                items += [
                    _label(
                        f"{source.name} row {number}",
                        options,
                        lambda r=row: spreadsheet.to_label(
                            r, options.node or "", options.crosswalk
                        ),
                    )
                ]
            except InputError as exc:
                errors += exc.errors
    except spreadsheet.SheetError as exc:
        raise InputError(f"{source.name}: {exc}") from None
    if errors:
        raise InputError(errors)
    if not items:
        raise InputError(f"{source.name}: no rows")
    return items


def _json_records(source: Source) -> Iterator[dict[str, Any]]:
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


def _metadata(source: str, raw: dict[str, Any], scheme: DoiScheme) -> Metadata:
    doi = _doi_of(source, raw)
    if doi is not None:
        _check_prefix(source, doi, scheme)
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
    return Metadata.of(source, attributes, url, doi, identifier)


def _check_prefix(source: str, doi: str, scheme: DoiScheme) -> None:
    if not scheme.owns(doi):
        raise InputError(
            f"{source}: DOI {doi} is not under this repository's prefix {scheme.prefix}"
        )


def _checked(items: list[Metadata]) -> list[Metadata]:
    errors = [
        f"{item.source}: {line}"
        for item in items
        for line in validate.schema_errors(item.attributes, item.url)
    ]
    if errors:
        raise InputError(errors)
    return items


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


def identifiers_in(attributes: dict[str, Any]) -> set[str]:
    """Give every identifier value and the URL in DataCite ``attributes`` (to recognise a DOI
    as ours when an earlier attempt's answer was lost)."""
    found = {str(attributes.get("url") or "")}
    for key in ("identifiers", "alternateIdentifiers"):
        for entry in attributes.get(key) or []:
            if isinstance(entry, dict):
                found.add(str(entry.get("identifier") or entry.get("alternateIdentifier") or ""))
    return {value.strip() for value in found if value}
