"""People and organisations in free-text PDS4 ``author_list`` / ``editor_list`` values.

Rules (fixing the PDS DOI Service's known mistakes): split on ``;`` when there is one, else on
``,`` only when every piece is a whole name ("R. Deen, H. Abarca" or "John Smith, Jane Doe"),
or when the pieces pair up as "Family, Given, Family, Given"; "X and Y" is two names when both
sides are names. Middle names and initials are kept. A name containing an organisation word
("Team", "Collaboration", "Inc.", "Laboratory", ...) is one organisation, never split.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_ORGANISATION_WORDS = frozenset(
    [
        "team",
        "collaboration",
        "consortium",
        "inc",
        "llc",
        "ltd",
        "corp",
        "corporation",
        "company",
        "gmbh",
        "institute",
        "institution",
        "laboratory",
        "laboratories",
        "lab",
        "university",
        "universidad",
        "universite",
        "université",
        "universität",
        "college",
        "center",
        "centre",
        "agency",
        "administration",
        "survey",
        "society",
        "observatory",
        "office",
        "department",
        "division",
        "group",
        "node",
        "project",
        "mission",
        "program",
        "programme",
        "association",
        "foundation",
        "council",
        "committee",
        "academy",
        "nasa",
        "esa",
        "jaxa",
        "jpl",
        "pds",
        "systems",
    ]
)
_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "v"})
_INITIALS = re.compile(r"^(?:[A-Z][a-z]?\.?[\u2010-]?)+$")
_GIVEN = re.compile(r"^(?:[A-Z][a-z]?\.?[\u2010-]?)+$|^[A-Z][\w'\u2010-]*\.?$", re.UNICODE)


def collapse(text: str) -> str:
    """Give ``text`` with runs of white space (newlines, tabs) turned into single spaces."""
    if (
        "  " in text
        or "\n" in text
        or "\t" in text
        or "\r" in text
        or text[-1:] == " "
        or text[:1] == " "
    ):
        return " ".join(text.split())
    return text


def is_organisation(name: str) -> bool:
    """Tell whether ``name`` reads as an organisation rather than a person."""
    words = [w.strip(".,()").lower() for w in name.split()]
    return bool(words) and (words[0] == "the" or any(w in _ORGANISATION_WORDS for w in words))


def split_names(text: str) -> list[str]:
    """Give the separate names in an author or editor list, in order, in Unicode NFC (a
    letter and its combining accent are one character, so they read as part of a word)."""
    text = unicodedata.normalize("NFC", collapse(text))
    pieces = re.split(r"\s*;\s*", text) if ";" in text else [text]
    names: list[str] = []
    for piece in pieces:
        if piece:
            names += _split_piece(piece)
    return names


def _split_piece(piece: str) -> list[str]:
    if is_organisation(piece):
        return [piece]
    for joiner in (" and ", " & "):
        if joiner in piece:
            sides = [s.strip() for s in piece.split(joiner)]
            if all(sides) and all(_is_name(s) for s in sides):
                return [name for side in sides for name in _split_piece(side)]
    parts = [p.strip() for p in piece.split(",") if p.strip()]
    if len(parts) <= 1:
        return [piece]
    if all(_is_whole_name(p) for p in parts):
        return parts  # "R. Deen, H. Abarca" / "John Smith, Jane Doe"
    if len(parts) % 2 == 0 and all(_is_given(parts[i]) for i in range(1, len(parts), 2)):
        return [f"{parts[i]}, {parts[i + 1]}" for i in range(0, len(parts), 2)]
    return [piece]  # "Smith, John", "Doe III, John", or something we will not guess at


def _is_whole_name(part: str) -> bool:
    tokens = part.split()
    return (
        len(tokens) >= 2
        and not is_organisation(part)
        and not all(_INITIALS.match(t) for t in tokens)
    )


def _is_given(part: str) -> bool:
    tokens = part.split()
    return 0 < len(tokens) <= 3 and all(_GIVEN.match(t) for t in tokens)


def _is_name(part: str) -> bool:
    return "," in part or _is_whole_name(part)


def person(name: str) -> dict[str, Any]:
    """Give DataCite creator fields for a person's name in any of the usual forms:
    "Family, Given", "Given Middle Family", "R. G. Family", "Family R. G." (NAIF style);
    in Unicode NFC."""
    name = unicodedata.normalize("NFC", collapse(name))
    if "," in name:
        family, given = (s.strip() for s in name.split(",", 1))
    else:
        tokens = name.split()
        suffix = []
        while len(tokens) > 2 and tokens[-1].lower() in _SUFFIXES:  # "John Doe III"
            suffix.insert(0, tokens.pop())
        cut = len(tokens)
        while cut > 1 and _INITIALS.match(tokens[cut - 1]):
            cut -= 1
        lead = 0
        while lead < len(tokens) - 1 and _INITIALS.match(tokens[lead]):
            lead += 1
        if len(tokens) == 1:
            family, given = tokens[0], ""
        elif cut < len(tokens) and lead == 0:  # NAIF style "Costa Sitja M."
            family, given = " ".join(tokens[:cut]), " ".join(tokens[cut:])
        else:  # "R. Deen", "John Q. Smith": the last word is the family name
            family, given = tokens[-1], " ".join(tokens[:-1])
        family = " ".join([family, *suffix])
    fields: dict[str, Any] = {
        "nameType": "Personal",
        "name": f"{family}, {given}" if given else family,
    }
    if given:
        fields["givenName"] = given
    fields["familyName"] = family
    return fields


def organisation(name: str) -> dict[str, Any]:
    """Give DataCite creator fields for an organisation's name."""
    return {"nameType": "Organizational", "name": collapse(name)}


def from_list(text: str) -> list[dict[str, Any]]:
    """Give DataCite creators (or contributors without a type) for an author/editor list."""
    return [organisation(n) if is_organisation(n) else person(n) for n in split_names(text)]
