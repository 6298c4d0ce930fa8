"""Creators and contributors as every intake format gives them: names in Unicode NFC, ORCIDs
checked.

Applies to DataCite REST attributes, whatever format they were read from (PDS4 label,
spreadsheet row, DataCite JSON or XML), so the rules are the same everywhere:

- ``name``, ``givenName`` and ``familyName`` of every creator and contributor are put in
  Unicode normal form C (labels mix "ý" as one character with "y" + U+0301; DataCite, search
  engines and duplicate checks treat the two as different names).
- every ORCID (a name identifier whose scheme is ``ORCID`` or whose value is an orcid.org URL)
  must be ``0000-0000-0000-000X``, bare or as ``http(s)://orcid.org/…``, with a correct
  ISO 7064 MOD 11-2 check digit (https://support.orcid.org/hc/en-us/articles/360006897674).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_ORCID = re.compile(
    r"^(?:(?:https?://)?(?:www\.)?orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])/?$", re.IGNORECASE
)
_NAME_FIELDS = ("name", "givenName", "familyName")
_ROLES = (("creators", "creator"), ("contributors", "contributor"))


def orcid_check_digit(digits: str) -> str:
    """Give the ISO 7064 MOD 11-2 check character (``0``-``9`` or ``X``) for the first 15
    digits of an ORCID (hyphens ignored). Raises ValueError if they are not 15 digits."""
    base = digits.replace("-", "")
    if len(base) != 15 or not base.isdigit():
        raise ValueError(f"not the 15 digits of an ORCID: {digits!r}")
    total = 0
    for digit in base:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def orcid_problem(value: str) -> str | None:
    """Give what is wrong with the ORCID ``value`` (bare or orcid.org URL), or None if it is a
    well-formed ORCID with a correct check digit."""
    match = _ORCID.match(value.strip())
    if match is None:
        return (
            f"ORCID {value!r} is not an ORCID (0000-0000-0000-000X, bare or as "
            "https://orcid.org/0000-0000-0000-000X)"
        )
    orcid = match.group(1).upper()
    if orcid_check_digit(orcid[:-1]) != orcid[-1]:
        return f"ORCID {orcid} has a wrong check digit (ISO 7064 MOD 11-2)"
    return None


def nfc(text: str) -> str:
    """Give ``text`` in Unicode normal form C (composed characters)."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def check(attributes: dict[str, Any], drop: bool = False) -> list[str]:
    """Normalise the names of the creators and contributors in ``attributes`` to NFC, in
    place, and give one line per bad ORCID, each naming the person (``creator 'Kurth,
    William': ORCID …``); an empty list when every ORCID is good. Entries of unexpected
    shapes are left to the schema check.

    With ``drop`` (``--force``) each bad ORCID is removed from its person, in place, and its
    line (then a warning, not a refusal) says so; the person stays."""
    problems: list[str] = []
    for key, role in _ROLES:
        entries = attributes.get(key)
        if not isinstance(entries, list):
            continue
        for number, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict):
                continue
            for field in _NAME_FIELDS:
                if isinstance(entry.get(field), str):
                    entry[field] = nfc(entry[field])
            bad = []
            for identifier, value in _orcids(entry):
                problem = orcid_problem(value)
                if problem:
                    bad.append(identifier)
                    dropped = "; dropped from this person" if drop else ""
                    problems.append(f"{role} {_who(entry, number)}: {problem}{dropped}")
            if drop and bad:
                kept = [i for i in entry["nameIdentifiers"] if all(i is not b for b in bad)]
                if kept:
                    entry["nameIdentifiers"] = kept
                else:
                    del entry["nameIdentifiers"]
    return problems


def _orcids(entry: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Give the ORCIDs among an entry's ``nameIdentifiers``: each name identifier with its
    value."""
    found = []
    for identifier in entry.get("nameIdentifiers") or []:
        if not isinstance(identifier, dict):
            continue
        value = identifier.get("nameIdentifier")
        scheme = str(identifier.get("nameIdentifierScheme") or "")
        if isinstance(value, str) and (scheme.upper() == "ORCID" or "orcid.org/" in value.lower()):
            found.append((identifier, value))
    return found


def _who(entry: dict[str, Any], number: int) -> str:
    """Give how a message names a person: the name, else given and family names, else the
    position in the list."""
    name = entry.get("name")
    if not (isinstance(name, str) and name.strip()):
        parts = [entry.get(k) for k in ("givenName", "familyName")]
        name = " ".join(p for p in parts if isinstance(p, str) and p.strip())
    return repr(name) if name else f"#{number} (no name)"
