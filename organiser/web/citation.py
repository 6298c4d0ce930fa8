"""How DataCite's own pages cite a DOI (its default, APA-like, style), and the little
formatting helpers of the templates."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def citation(attributes: dict[str, Any], doi: str) -> str:
    """Give the citation of a DOI with these DataCite ``attributes``: "Creators (Year).
    Title (Version) [Type]. Publisher. https://doi.org/DOI"."""
    names = []
    for creator in attributes.get("creators") or []:
        if not isinstance(creator, dict):
            continue
        family, given = creator.get("familyName"), creator.get("givenName")
        if family and given:
            initials = " ".join(f"{part[0]}." for part in str(given).replace(".", " ").split())
            names.append(f"{family}, {initials}")
        elif creator.get("name"):
            names.append(str(creator["name"]))
    if len(names) > 20:
        names = [*names[:19], "…", names[-1]]
    authors = (
        ", ".join(names[:-1]) + (", & " if len(names) > 1 else "") + (names[-1] if names else "")
    )
    year = attributes.get("publicationYear") or "n.d."
    titles = attributes.get("titles") or []
    title = titles[0].get("title", "") if titles and isinstance(titles[0], dict) else ""
    version = f" (Version {attributes['version']})" if attributes.get("version") else ""
    kind = (attributes.get("types") or {}).get("resourceTypeGeneral")
    publisher = attributes.get("publisher")
    if isinstance(publisher, dict):
        publisher = publisher.get("name")
    parts = [f"{authors} ({year}).".strip(), f"{title}{version}" + (f" [{kind}]." if kind else ".")]
    if publisher:
        parts.append(f"{publisher}.")
    parts.append(f"https://doi.org/{doi}")
    return " ".join(p for p in parts if p)


def age(seconds: int | float | None) -> str:
    """Give a duration as people read it: "45 s", "12 min", "3 h 5 min", "4 d 2 h"."""
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def when(moment: datetime | str | None) -> str:
    """Give a UTC time as "YYYY-MM-DD HH:MM UTC" (— for none)."""
    if moment is None:
        return "—"
    if isinstance(moment, str):
        return moment
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def pretty(value: Any) -> str:
    """Give metadata as indented JSON."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
