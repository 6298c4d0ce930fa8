"""Versions of a record: the DOI a new version gets, the relations between versions, and what
new metadata keeps of the old (earlier LIDVIDs, version relations)."""

from __future__ import annotations

import copy
from typing import Any

from organiser.storage import records as store

#: The relations organiser writes between versions of a record.
VERSION_RELATIONS = ("IsNewVersionOf", "IsPreviousVersionOf")


def next_doi(first: str, number: int) -> str:
    """Give ``<first>.<n>`` for the lowest n from ``number`` that no record (deleted ones
    included: DOIs are never reused) holds."""
    while True:
        candidates = [f"{first}.{n}" for n in range(number, number + 20)]
        taken = store.existing_dois(candidates)
        free = [doi for doi in candidates if doi not in taken]
        if free:
            return free[0]
        number += 20


def related(attributes: dict[str, Any], doi: str, relation: str) -> dict[str, Any]:
    """Give a copy of ``attributes`` that also relates to ``doi`` by ``relation``."""
    attributes = copy.deepcopy(attributes)
    related = attributes.setdefault("relatedIdentifiers", [])
    entry = {"relatedIdentifier": doi, "relatedIdentifierType": "DOI", "relationType": relation}
    if entry not in related:
        related.append(entry)
    return attributes


def carry_over(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Give ``new`` keeping ``old``'s earlier identifiers and version relations."""
    new = copy.deepcopy(new)
    identifiers = new.setdefault("identifiers", [])
    for entry in old.get("identifiers") or []:
        if entry not in identifiers and entry.get("identifierType") == "PDS4 LIDVID":
            identifiers.append(entry)
    related = new.setdefault("relatedIdentifiers", [])
    for entry in old.get("relatedIdentifiers") or []:
        if entry.get("relationType") in VERSION_RELATIONS and entry not in related:
            related.append(entry)
    return {k: v for k, v in new.items() if v != []}
