"""Small facts read off DataCite attributes and repository identifiers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: Titles are kept (and compared) up to this many characters: enough to tell titles apart,
#: and short enough for a PostgreSQL index entry (at most about 2,700 bytes).
TITLE_KEY_LENGTH = 500


def lid_of(identifier: str) -> str:
    """Give ``identifier`` without its ``::version`` part."""
    return identifier.split("::", 1)[0]


def title_of(attributes: dict[str, Any]) -> str | None:
    """Give the first title in DataCite ``attributes`` (its first 500 characters), if any."""
    titles = attributes.get("titles") or []
    first = titles[0] if titles else None
    title = first.get("title") if isinstance(first, dict) else None
    return title[:TITLE_KEY_LENGTH] if isinstance(title, str) else None


def repository_identifiers(attributes: dict[str, Any], doi: str) -> set[str]:
    """Give the identifier values in DataCite ``attributes`` other than DOIs (``DOI``-typed
    entries, or the DOI ``doi`` itself in any form): what tells which record a DOI is for."""
    found = set()
    for key, name in (
        ("identifiers", "identifier"),
        ("alternateIdentifiers", "alternateIdentifier"),
    ):
        for entry in attributes.get(key) or []:
            if not isinstance(entry, dict) or str(entry.get(f"{name}Type", "")).upper() == "DOI":
                continue
            value = str(entry.get(name) or entry.get("identifier") or "").strip()
            if value and not value.lower().endswith(doi.lower()):
                found.add(value)
    return found


#: Attributes DataCite keeps or computes itself: never compared, never sent as metadata.
SERVER_FIELDS = frozenset(
    {
        "doi", "prefix", "suffix", "state", "event", "xml", "created", "updated", "registered",
        "published", "isActive", "reason", "landingPage", "viewCount", "downloadCount",
        "citationCount", "partCount", "partOfCount", "versionCount", "versionOfCount",
        "referenceCount", "viewsOverTime", "downloadsOverTime", "citationsOverTime",
        "metadataVersion", "schemaVersion", "source", "contentUrl", "agency", "container",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Difference:
    """One field on which the local copy and DataCite disagree (values as compact JSON)."""

    field: str
    local: str
    remote: str


def differences(local: dict[str, Any], remote: dict[str, Any]) -> list[Difference]:
    """Give the fields of ``local`` (the attributes organiser sends, url included) whose value
    DataCite's ``remote`` attributes do not hold, in ``local``'s order.

    Empty values (``None``, ``""``, ``[]``, ``{}``) count as absent on both sides, DataCite's
    own fields (:data:`SERVER_FIELDS`), the ``types`` it derives and the DOI's own ``DOI``
    identifier are ignored, numbers
    compare as text, and a publisher compares by name (DataCite answers with a plain string
    unless asked).
    """
    found = []
    for field in local:
        if field in SERVER_FIELDS:
            continue
        mine, theirs = _comparable(field, local.get(field)), _comparable(field, remote.get(field))
        if mine != theirs:
            found.append(Difference(field, _shown(mine), _shown(theirs)))
    return found


#: The ``types`` a client writes; DataCite derives the others (schemaOrg, citeproc, bibtex, ris).
WRITTEN_TYPES = ("resourceTypeGeneral", "resourceType")


def _comparable(field: str, value: Any) -> Any:
    if field == "publisher" and isinstance(value, dict):
        value = value.get("name")
    if field == "types" and isinstance(value, dict):
        value = {k: v for k, v in value.items() if k in WRITTEN_TYPES}
    if field in ("identifiers", "alternateIdentifiers") and isinstance(value, list):
        value = [v for v in value if not (isinstance(v, dict) and v.get("identifierType") == "DOI")]
    return _pruned(value)


def _pruned(value: Any) -> Any:
    """Give ``value`` without empty members, recursively (``None`` when nothing is left)."""
    if isinstance(value, dict):
        kept = {k: v for k, v in ((k, _pruned(v)) for k, v in value.items()) if v is not None}
        return kept or None
    if isinstance(value, list):
        items = [v for v in (_pruned(v) for v in value) if v is not None]
        return items or None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # DataCite answers publicationYear as a number, whatever was sent
    return value


def _shown(value: Any, width: int = 120) -> str:
    """Give ``value`` as compact JSON for a report line, cut to ``width`` characters."""
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"
