"""Checking metadata before it is marked, so no request is wasted on what DataCite refuses.

Schema: DataCite Metadata Schema 4.7 (which takes every 4.5 and 4.6 record), the JSON schema
shipped in this package (``organiser/intake/schemas/datacite-v4.7.json``): the ``datacite``
package's 4.5 JSON schema (the file ``datacite.schema45`` validates with) with the controlled
lists of the official 4.7 XSD and 4.7's ``relationTypeInformation``, derived by
``scripts/datacite_schema.py`` (tests compare it with the XSD). It is evaluated with
jsonschema-rs: the ``datacite`` package's own jsonschema-based validator takes ~1.6 ms per
record on this draft 2019-09 schema, jsonschema-rs ~0.01 ms, with the same verdicts (tested).
The REST API's attribute shapes are mapped onto the schema's first (``publisher`` as a string
→ ``{"name": …}``, ``identifiers`` → ``alternateIdentifiers``).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs

KERNEL4 = "http://datacite.org/schema/kernel-4"
#: The JSON schema intake validates with (package data of :mod:`organiser.intake`).
SCHEMA = "schemas/datacite-v4.7.json"


@cache
def _validator() -> Any:
    schema = json.loads((resources.files("organiser.intake") / SCHEMA).read_text())
    return jsonschema_rs.validator_for(schema)


def schema_form(attributes: dict[str, Any], url: str | None) -> dict[str, Any]:
    """Give ``attributes`` (REST API shape) in the shape the JSON schema describes."""
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
    errors = _validator().iter_errors(schema_form(attributes, url))
    lines = []
    for error in sorted(errors, key=lambda e: [str(p) for p in e.instance_path]):
        where = ".".join(str(p) for p in error.instance_path) or "metadata"
        lines.append(f"{where}: {_message(error.message)}")
    return lines


def _message(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."
