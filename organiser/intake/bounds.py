"""How large and deep what intake reads may be: limits a real record never comes near, so
that a hostile or broken source gets one clear line instead of exhausting the stack, the
integer parser or the memory of whoever reads it.

- JSON is parsed with numbers of at most :data:`MAX_NUMBER_CHARS` characters (Python's own
  limit for integers is 4,300 digits, past which it raises a bare ``ValueError``) and nested
  at most :data:`MAX_DEPTH` deep (DataCite JSON is about 10 deep);
- a record's text values are at most :data:`MAX_TEXT` characters (descriptions
  :data:`MAX_DESCRIPTION`), its landing page :data:`MAX_URL`.
"""

from __future__ import annotations

import json
from typing import Any

#: Deepest nesting of JSON arrays and objects read.
MAX_DEPTH = 64
#: Longest JSON number literal read (digits, sign, point and exponent).
MAX_NUMBER_CHARS = 100
#: Longest text value of a record (a title, a name, an identifier, ...), in characters.
MAX_TEXT = 10_000
#: Longest ``descriptions[].description`` (an abstract may be long), in characters.
MAX_DESCRIPTION = 100_000
#: Longest landing page URL, in characters.
MAX_URL = 2_048


#: The character no text value may hold, and what a problem line says of it.
NUL, NUL_TEXT = "\x00", "a NUL character (no text may hold one)"


class BoundsError(ValueError):
    """What was read is over a limit; the message is one line (without the source's name)."""


def _number(text: str) -> Any:
    if len(text) > MAX_NUMBER_CHARS:
        raise BoundsError(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
    return text


def _integer(text: str) -> int:
    return int(_number(text))


def _float(text: str) -> float:
    return float(_number(text))


def loads(text: str) -> Any:
    """Give the JSON document in ``text``. Raises :class:`BoundsError` for a number literal
    over :data:`MAX_NUMBER_CHARS` characters or nesting deeper than :data:`MAX_DEPTH`, and
    :class:`json.JSONDecodeError` for what is not JSON."""
    try:
        document = json.loads(text, parse_int=_integer, parse_float=_float)
    except RecursionError:
        raise BoundsError(f"nested deeper than {MAX_DEPTH} arrays and objects") from None
    if depth(document) > MAX_DEPTH:
        raise BoundsError(f"nested deeper than {MAX_DEPTH} arrays and objects")
    return document


def depth(document: Any) -> int:
    """Give how deeply arrays and objects nest in ``document`` (0 for a plain value),
    without recursion."""
    deepest = 0
    pending = [(document, 1)]
    while pending:
        value, level = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level  # deep enough to refuse; the rest need not be walked
        pending += [(child, level + 1) for child in children]
    return deepest


def long_values(attributes: Any, url: str | None = None) -> list[str]:
    """Give one line per text value in ``attributes`` (or a key) over its limit or holding a
    NUL character, naming where it is (e.g. ``titles[0].title: 10000000 characters (at most
    10000)``), and for a ``url`` over :data:`MAX_URL` or holding a NUL. Empty: all fine."""
    lines = []
    if url is not None and len(url) > MAX_URL:
        lines.append(f"url: {len(url)} characters (at most {MAX_URL})")
    if url is not None and NUL in url:
        lines.append(f"url: {NUL_TEXT}")
    pending: list[tuple[str, Any]] = [("", attributes)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                name = f"{where}.{key}" if where else str(key)
                if len(str(key)) > MAX_TEXT:
                    lines.append(f"{where or 'metadata'}: a key of {len(str(key))} characters")
                else:
                    pending.append((name, child))
        elif isinstance(value, list):
            pending += [(f"{where}[{n}]", child) for n, child in enumerate(value)]
        elif isinstance(value, str):
            limit = MAX_DESCRIPTION if where.endswith("].description") else MAX_TEXT
            if len(value) > limit:
                lines.append(f"{where or 'metadata'}: {len(value)} characters (at most {limit})")
            elif NUL in value:  # no database takes it (PostgreSQL's driver: ValueError)
                lines.append(f"{where or 'metadata'}: {NUL_TEXT}")
    return sorted(lines)
