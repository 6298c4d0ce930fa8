"""Checking metadata before it is marked, so no request is wasted on what DataCite refuses.

Schema: DataCite Metadata Schema 4.5, as the JSON schema shipped in the ``datacite`` package
(``datacite.schema45``). The REST API's attribute shapes are mapped onto the schema's first
(``publisher`` as a string → ``{"name": …}``, ``identifiers`` → ``alternateIdentifiers``).
"""

from __future__ import annotations

from typing import Any

from datacite import schema45

SCHEMA = "DataCite Metadata Schema 4.5 (datacite package, schema45)"
KERNEL4 = "http://datacite.org/schema/kernel-4"


def schema_form(attributes: dict[str, Any], url: str | None) -> dict[str, Any]:
    """Give ``attributes`` (REST API shape) in the shape the 4.5 JSON schema describes."""
    document = dict(attributes)
    if isinstance(document.get("publisher"), str):
        document["publisher"] = {"name": document["publisher"]}
    if isinstance(document.get("publicationYear"), int):
        document["publicationYear"] = str(document["publicationYear"])
    identifiers = document.pop("identifiers", None)
    if identifiers and "alternateIdentifiers" not in document:
        document["alternateIdentifiers"] = [
            {
                "alternateIdentifier": i.get("identifier"),
                "alternateIdentifierType": i.get("identifierType"),
            }
            for i in identifiers
            if isinstance(i, dict)
        ]
    document.setdefault("schemaVersion", KERNEL4)
    if url:
        document["url"] = url
    return document


def schema_errors(attributes: dict[str, Any], url: str | None) -> list[str]:
    """Give one line per way ``attributes`` break the DataCite schema (empty: valid)."""
    errors = schema45.validator.iter_errors(schema_form(attributes, url))
    lines = []
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        where = ".".join(str(p) for p in error.absolute_path) or "metadata"
        lines.append(f"{where}: {_message(error.message)}")
    return lines


def _message(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."
