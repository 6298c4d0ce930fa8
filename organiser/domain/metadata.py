"""Small facts read off DataCite attributes and repository identifiers."""

from __future__ import annotations

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


def identifiers_in(attributes: dict[str, Any]) -> set[str]:
    """Give every identifier value and the URL in DataCite ``attributes`` (to recognise a DOI
    as ours when an earlier attempt's answer was lost)."""
    found = {str(attributes.get("url") or "")}
    for key in ("identifiers", "alternateIdentifiers"):
        for entry in attributes.get(key) or []:
            if isinstance(entry, dict):
                found.add(str(entry.get("identifier") or entry.get("alternateIdentifier") or ""))
    return {value.strip() for value in found if value}
