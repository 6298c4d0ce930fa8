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
def _schema() -> dict[str, Any]:
    return json.loads((resources.files("organiser.intake") / SCHEMA).read_text())


@cache
def _validator() -> Any:
    return jsonschema_rs.validator_for(_schema())


@cache
def _known_names() -> frozenset[str]:
    """Give every property name the schema defines somewhere."""
    names: set[str] = set()
    pending: list[Any] = [_schema()]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            if isinstance(value.get("properties"), dict):
                names.update(value["properties"])
            pending += value.values()
        elif isinstance(value, list):
            pending += value
    return frozenset(names)


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
    errors = list(_validator().iter_errors(schema_form(attributes, url)))
    refused = {tuple(str(p) for p in e.instance_path) for e in errors}
    lines = []
    for error in sorted(errors, key=lambda e: [str(p) for p in e.instance_path]):
        message = _unevaluated(error, refused)
        if message is None:
            continue
        where = ".".join(str(p) for p in error.instance_path) or "metadata"
        lines.append(f"{where}: {_message(message)}")
    return lines


def _unevaluated(error: Any, refused: set[tuple[str, ...]]) -> str | None:
    """Give the message for ``error``, or None when it only repeats the others.

    When a rule of an object fails (e.g. its ``relationType`` is not in the vocabulary), the
    schema's ``unevaluatedProperties: false`` names every property that rule covers a second
    time, as "unevaluated". Those are left out when another error lies inside the same object
    and the schema knows the name; a name the schema does not know is still named.
    """
    kind = getattr(error, "kind", None)
    unexpected = getattr(kind, "unexpected", None)
    if getattr(kind, "name", None) != "unevaluatedProperties" or not unexpected:
        return str(error.message)
    path = tuple(str(p) for p in error.instance_path)
    inside = any(len(r) > len(path) and r[: len(path)] == path for r in refused)
    left = [n for n in unexpected if not (inside and n in _known_names())]
    if not left:
        return None
    if len(left) == len(unexpected):
        return str(error.message)
    return f"properties not allowed here: {', '.join(repr(n) for n in left)}"


def _message(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."
