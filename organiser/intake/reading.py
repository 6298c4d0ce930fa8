"""Reading and checking metadata sources for marking. Local work only: never talks to DataCite.

A SOURCE (file, directory searched recursively, or http(s) URL) holds one of: PDS4 labels
(``.xml``/``.lblx``, crosswalked by :mod:`organiser.intake.formats.pds4`); the PDS reserve
spreadsheet (``.csv``/``.xlsx``); DataCite REST JSON (bare attributes, a ``{"data": …}``
document, or a list response, its metadata possibly as base64 DataCite XML in ``xml``);
DataCite XML kernel-4. Everything read is checked (ORCID check digits, the DataCite schema)
before anything is marked, names put in Unicode NFC, and every problem is reported, one line
each.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from itertools import islice, repeat
from typing import Any

from organiser.domain.identifiers import normalise_doi
from organiser.intake import bounds, people, safexml, validate
from organiser.intake.formats import datacite_json, datacite_xml, pds4, spreadsheet
from organiser.intake.model import Found, InputError, Metadata, Options
from organiser.intake.sources import Source, SourceError, expand, load

_HTML = (b"<!doctype html", b"<html")
#: How a ZIP file starts: an .xlsx workbook is one, whatever its name or content type says.
_ZIP = b"PK\x03\x04"

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
    items: list[Metadata] = []
    errors: list[str] = []
    if len(found) < PARALLEL_FROM or cpus < 2:
        for name in found:
            _read_named(name, options, items, errors)
    else:
        chunks = [found[start : start + 64] for start in range(0, len(found), 64)]
        with ProcessPoolExecutor(max_workers=cpus) as pool:
            for chunk_items, chunk_errors in pool.map(_read_chunk, chunks, repeat(options)):
                items += chunk_items
                errors += chunk_errors
    if errors:
        raise InputError(errors)
    return items


def _read_chunk(names: list[str], options: Options) -> tuple[list[Metadata], list[str]]:
    """Give (records, problems) for ``names`` in order (one task for a worker process)."""
    items: list[Metadata] = []
    errors: list[str] = []
    for name in names:
        _read_named(name, options, items, errors)
    return items, errors


def _read_named(name: str, options: Options, items: list[Metadata], errors: list[str]) -> None:
    """Add the records in one file or URL to ``items``, or its problems to ``errors``."""
    try:
        items += read(load(name, options.limits), options)
    except SourceError as exc:
        errors.append(str(exc))
    except InputError as exc:
        errors += exc.errors


def read(source: Source, options: Options) -> list[Metadata]:
    """Give the checked records in one source. Raises :class:`InputError` (every problem)."""
    if source.suffix not in (".csv", ".xlsx") and source.data.startswith(_ZIP):
        source = replace(source, suffix=".xlsx")  # e.g. a workbook sent as octet-stream
    if source.suffix in (".csv", ".xlsx"):
        return _sheet(source, options)
    head = source.data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if source.suffix == ".json" or head[:1] in (b"{", b"["):
        document = datacite_json.parse(source)
        if spreadsheet.is_labels_payload(document):
            return _sheet(source, options, document)
        raws = list(islice(datacite_json.records(source, document), _cap(options)))
        _check_count(source, options, len(raws))
    elif head[:14].lower().startswith(_HTML):
        raise InputError(f"{source.name}: an HTML page, not a label or DataCite XML")
    else:
        try:
            root = safexml.parse(source.data, options.limits.max_bytes)
        except safexml.XmlError as exc:
            raise InputError(f"{source.name}: {exc}") from None
        if pds4.is_label(root):
            found = _label(
                source.name,
                options,
                lambda: pds4.crosswalk(root, options.node or "", options.crosswalk),
            )
            return _checked([found], options.force)
        if not datacite_xml.is_datacite_xml(root):
            raise InputError(
                f"{source.name}: neither a PDS4 label nor DataCite XML "
                f"(root element {_local(root.tag)})"
            )
        raws = [datacite_xml.to_attributes(root)]
    names = [source.name] if len(raws) == 1 else [f"{source.name}[{n}]" for n in range(len(raws))]
    return _checked(
        [
            datacite_json.metadata(name, raw, options.scheme, options.limits.max_bytes)
            for name, raw in zip(names, raws, strict=True)
        ],
        options.force,
    )


def _cap(options: Options) -> int | None:
    """Give how many records to take from a source to know whether it holds too many."""
    most = options.limits.max_records
    return None if most is None else most + 1


def _check_count(source: Source, options: Options, count: int) -> None:
    """Refuse (:class:`InputError`) a source with more than ``max_records`` records."""
    most = options.limits.max_records
    if most is not None and count > most:
        raise InputError(
            f"{source.name}: more than {most} records; at most {most} are read at once "
            "([api] max_records)"
        )


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _label(name: str, options: Options, build: Any) -> Found:
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
        datacite_json.check_prefix(name, doi, options.scheme)
    else:
        doi = None
    return Found(name, label.attributes, label.url, doi, label.lidvid)


def _sheet(source: Source, options: Options, payload: Any = None) -> list[Metadata]:
    """Give the checked records of a spreadsheet, or of the API's labels ``payload`` (parsed
    JSON) read from ``source``. Raises :class:`InputError` (every problem)."""
    items: list[Metadata] = []
    errors: list[str] = []
    try:
        if payload is None:
            rows = ((f"row {n}", row) for n, row in spreadsheet.rows(source.data, source.suffix))
        else:
            rows = spreadsheet.labels(payload)
        for count, (where, row) in enumerate(rows, 1):
            _check_count(source, options, count)
            try:
                found = _label(
                    f"{source.name} {where}",
                    options,
                    lambda r=row: spreadsheet.to_label(r, options.node or "", options.crosswalk),
                )
                items += _checked([found], options.force)
            except InputError as exc:
                errors += exc.errors
    except spreadsheet.SheetError as exc:
        raise InputError(f"{source.name}: {exc}") from None
    if errors:
        raise InputError(errors)
    if not items:
        raise InputError(f"{source.name}: no rows")
    return items


def _checked(found: list[Found], force: bool = False) -> list[Metadata]:
    """Give ``found`` checked (ORCIDs, see :mod:`organiser.intake.people`, and the DataCite
    schema), names in NFC, each record's attributes packed as soon as it is checked; with
    ``force`` a bad ORCID is dropped and becomes one of the record's warnings. Raises
    :class:`InputError` (every problem)."""
    items: list[Metadata] = []
    errors: list[str] = []
    for item in found:
        warnings: list[str] = []
        problems = bounds.long_values(item.attributes, item.url)
        if not problems:  # what is too long is not worth checking further
            orcids = people.check(item.attributes, force)  # also puts names in NFC, in place
            (warnings if force else problems).extend(orcids)
            problems += validate.schema_errors(item.attributes, item.url)
        errors += [f"{item.source}: {line}" for line in problems]
        if not errors:
            items.append(Metadata.of(*item, tuple(f"{item.source}: {w}" for w in warnings)))
    if errors:
        raise InputError(errors)
    return items
