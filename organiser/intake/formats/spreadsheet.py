"""The PDS DOI reserve spreadsheet (CSV or XLSX) to DataCite metadata.

Columns (case and surrounding spaces ignored; others allowed and ignored unless named here):
``title, publication_date, product_type_specific, author_last_name, author_first_name,
related_resource`` (a LIDVID, or a LID: the identifier then, as the PDS DOI Service reads
it); optional ``description``, ``keywords`` (``;``-separated),
``doi``. Blank rows are skipped; row numbers in messages count the header as row 1.

The same rows also come as the PDS DOI Service API 0.2's *labels payload*, JSON
``{"labels": [{"title": ..., "related_resource": ..., ...}, ...]}`` (:func:`labels`): each
object is one row, named ``labels[N]`` (from 0) in messages, and read like a spreadsheet row.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from organiser.intake.formats import names
from organiser.intake.formats.pds4 import _LID, Crosswalk, Label, LabelError, check_lidvid

REQUIRED = (
    "title",
    "publication_date",
    "product_type_specific",
    "author_last_name",
    "author_first_name",
    "related_resource",
)


class SheetError(ValueError):
    """The spreadsheet as a whole cannot be read (no header, missing columns, not XLSX)."""


def rows(data: bytes, suffix: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Give (row number, {column: text}) for every non-blank data row.

    Raises :class:`SheetError` when the file cannot be read or lacks a required column.
    """
    table = _xlsx(data) if suffix == ".xlsx" else _csv(data)
    try:
        header = [str(h or "").strip().lower() for h in next(table)]
    except StopIteration:
        raise SheetError("empty spreadsheet") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SheetError(f"missing column(s): {', '.join(missing)}")
    for number, values in enumerate(table, start=2):
        row = {h: _cell(v) for h, v in zip(header, values, strict=False) if h}
        if any(row.values()):
            yield number, row


def is_labels_payload(document: object) -> bool:
    """Tell whether a parsed JSON ``document`` is the API 0.2 labels payload (DataCite JSON
    never has a top-level ``labels``)."""
    return isinstance(document, dict) and "labels" in document


def labels(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    """Give ("labels[N]", {column: text}) for every non-blank object of a labels payload.

    Values are read as spreadsheet cells (text, white space collapsed; numbers as text; a list
    of keywords joined by ``;``); a ``publication_date`` given as a date-time keeps its date.
    Columns a row lacks are empty. Raises :class:`SheetError` when ``labels`` is not a list of
    objects.
    """
    rows = document["labels"]
    if not isinstance(rows, list):
        raise SheetError("'labels' is not a list of label objects")
    if not rows:
        raise SheetError("'labels' is empty")
    for number, row in enumerate(rows):
        where = f"labels[{number}]"
        if not isinstance(row, dict):
            raise SheetError(f"{where} is not a JSON object")
        cells = {column: "" for column in REQUIRED}
        for key, value in row.items():
            column = str(key).strip().lower()
            if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
                value = "; ".join(str(v) for v in value)
            elif isinstance(value, dict | list):
                raise SheetError(f"{where}: {column} is not text")
            cells[column] = _cell(value) if value is not None else ""
        date = cells.get("publication_date", "")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?", date):
            cells["publication_date"] = date[:10]
        if any(cells.values()):
            yield where, cells


def _csv(data: bytes) -> Iterator[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SheetError("not UTF-8 text") from None
    return iter(csv.reader(io.StringIO(text)))


def _xlsx(data: bytes) -> Iterator[tuple[Any, ...]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SheetError(f"not an XLSX workbook ({type(exc).__name__})") from None
    return book.worksheets[0].iter_rows(values_only=True)


def _cell(value: Any) -> str:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.strftime("%Y-%m-%d")
    return names.collapse(str(value)) if value is not None else ""


def to_label(row: dict[str, str], node: str, settings: Crosswalk) -> Label:
    """Give DataCite metadata for one spreadsheet row. Raises :class:`LabelError`."""
    for column in ("title", "related_resource", "product_type_specific", "author_last_name"):
        if not row.get(column):
            raise LabelError(f"{column} is empty")
    lidvid = _related(row["related_resource"])
    year = re.match(r"^(\d{4})(?:-\d{2}-\d{2})?$", row.get("publication_date", ""))
    if not year:
        raise LabelError(f"publication_date {row.get('publication_date')!r} is not YYYY-MM-DD")
    if node not in settings.nodes:
        raise LabelError(f"unknown node {node!r} (one of {', '.join(sorted(settings.nodes))})")
    kind = row["product_type_specific"]
    lid, _, vid = lidvid.partition("::")
    general = (
        "Collection"
        if re.search(r"bundle|collection", kind, re.I)
        else "Text"
        if re.search(r"document", kind, re.I)
        else "Dataset"
    )
    view = next(
        (v for v in ("Bundle", "Collection", "Document") if v.lower() in kind.lower()), "Product"
    )
    first, last = row.get("author_first_name", ""), row["author_last_name"]
    creator = {
        "nameType": "Personal",
        "name": f"{last}, {first}" if first else last,
        "familyName": last,
        **({"givenName": first} if first else {}),
    }
    curator = dict(
        names.organisation(f"Planetary Data System: {settings.nodes[node]} Node"),
        contributorType="DataCurator",
    )
    keywords = [k.strip() for k in row.get("keywords", "").split(";") if k.strip()]
    attributes: dict[str, Any] = {
        "identifiers": [
            {"identifier": lidvid, "identifierType": "PDS4 LIDVID" if vid else "PDS4 LID"}
        ],
        "titles": [{"title": row["title"]}],
        "creators": [creator],
        "publisher": settings.publisher,
        "publicationYear": year.group(1),
        "types": {"resourceTypeGeneral": general, "resourceType": kind},
        "contributors": [curator],
        "schemaVersion": "http://datacite.org/schema/kernel-4",
    }
    subjects = list(dict.fromkeys([*keywords, *settings.keywords]))
    if subjects:
        attributes["subjects"] = [{"subject": s} for s in subjects]
    if row.get("description"):
        attributes["descriptions"] = [
            {"description": row["description"], "descriptionType": "Abstract"}
        ]
    url = settings.landing_page.format(view=view, lid=quote(lid, safe=""), vid=quote(vid, safe=""))
    if not vid:  # as the PDS DOI Service makes it: the LID's landing page, no version query
        url = re.sub(r"[?&]version=$", "", url)
    return Label(lidvid, attributes, url, row.get("doi") or None)


def _related(value: str) -> str:
    """Give a row's ``related_resource``: a LIDVID, or (as the PDS DOI Service reads it, e.g.
    the 0.2 API's own example payload) a LID, the record's identifier as it is. Raises
    :class:`LabelError` naming what is wrong."""
    if "::" in value or not _LID.match(value):
        return check_lidvid(value)
    return value
