"""Parsers of configuration values: each takes the raw text and gives the value, or raises
``ValueError`` with a rule ("must be ...") that :mod:`organiser.config` prints after the
section, key and value."""

from __future__ import annotations

import configparser
import ipaddress
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: Crontab expressions known to be valid (the default schedule), taken without loading
#: APScheduler, which would cost every command ~50 ms at start-up (tests/unit/test_startup.py
#: checks that APScheduler accepts each).
VALID_CRONTABS = frozenset({"*/15 * * * *"})


def text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def url(value: str) -> str:
    value = value.strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def matching(regex: str, rule: str) -> Callable[[str], str]:
    """Give a parser accepting a stripped value that fully matches ``regex``."""

    def parse(value: str) -> str:
        value = value.strip()
        if not re.fullmatch(regex, value):
            raise ValueError(rule)
        return value

    return parse


DAY, YEAR = 86400, 365 * 86400
prefix = matching(r"10\.\d{4,9}", "must be a DOI prefix such as 10.5072")


def prefixes(value: str) -> tuple[str, ...]:
    """Give one or more DOI prefixes (comma- or space-separated), each once, in order."""
    found: list[str] = []
    entries = value.replace(",", " ").split()
    for entry in entries:
        if not re.fullmatch(r"10\.\d{4,9}", entry):
            if len(entries) == 1:
                raise ValueError("must be a DOI prefix such as 10.5072")
            raise ValueError(f"has {entry!r}, which is not a DOI prefix such as 10.5072")
        if entry not in found:
            found.append(entry)
    if not found:
        raise ValueError("must be a DOI prefix such as 10.5072 (or several, comma-separated)")
    return tuple(found)


def wildcards(value: str) -> tuple[str, ...]:
    """Give comma-separated Unix wildcards (``*``, ``?``, ``[…]``), e.g. ``urn:nasa:pds:gbo.*``."""
    found = tuple(w.strip() for w in value.split(",") if w.strip())
    for entry in found:
        if any(c.isspace() for c in entry):
            raise ValueError(f"{entry!r}: a wildcard has no spaces (separate them with ',')")
        if entry.count("[") != entry.count("]"):
            raise ValueError(f"{entry!r}: a '[' without its ']'")
    return found


pattern = matching(
    r"[x-]*x[x-]*", "must be made of 'x' (one random character) and '-', e.g. xxxx-xxxx"
)


def number(
    convert: Callable[[str], float], minimum: float, maximum: float, unit: str = ""
) -> Callable[[str], Any]:
    """Give a parser for finite numbers of type ``convert`` from ``minimum`` to ``maximum``."""
    rule = f"must be a number from {minimum:g} to {maximum:g}{unit}"
    if convert is int:
        rule = f"must be a whole number from {minimum:g} to {maximum:g}{unit}"

    def parse(value: str) -> float:
        try:
            number = convert(value.strip())
        except ValueError:
            raise ValueError(f"is not a number: it {rule}") from None
        if not math.isfinite(number) or not minimum <= number <= maximum:
            raise ValueError(rule)
        return number

    return parse


def base_url(value: str) -> str:
    value = url(value)
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            "must be the API's base URL, without a path or query "
            "(e.g. https://api.datacite.org, not .../dois)"
        )
    return value


#: What a schedule that is off reads as (``config check``, the daemon's log), however written.
OFF = "off"


def cron(value: str) -> str:
    """Give a crontab expression with its spaces collapsed, or :data:`OFF` for an empty
    value, ``off`` or ``none`` (any case)."""
    value = " ".join(value.split())
    if value.lower() in ("", "off", "none"):
        return OFF
    if value in VALID_CRONTABS:
        return value
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ValueError(
            f"is not a crontab expression (minute hour day month weekday): {exc}"
        ) from None
    return value


#: URL schemes of the databases organiser works with (peewee's names for PostgreSQL).
_POSTGRES = re.compile(r"postgres(ql)?(ext)?(\+pool)?", re.IGNORECASE)
DATABASES = "SQLite (sqlite:///PATH) and PostgreSQL (postgresql://USER:PASSWORD@HOST/DB)"


def database_url(value: str) -> str:
    """Give a database URL organiser can use: ``sqlite:///PATH`` or ``postgresql://…``
    (peewee's ``postgres``, ``postgresext`` and ``+pool`` forms too); anything else (MySQL,
    CockroachDB, …) is refused naming the two that are supported."""
    value = value.strip()
    scheme, sep, _ = value.partition("://")
    if value.startswith("sqlite:///") or (sep and _POSTGRES.fullmatch(scheme)):
        return value
    if not sep:
        raise ValueError(f"is not a database URL: organiser works with {DATABASES}")
    raise ValueError(f"is not supported: organiser works with {DATABASES} only")


def choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return parse


def addresses(value: str) -> tuple[str, ...]:
    found = tuple(a.strip() for a in value.replace(";", ",").split(",") if a.strip())
    for address in found:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            raise ValueError(f"{address!r} is not an email address")
    return found


def address(value: str) -> str:
    value = value.strip()
    if value and not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
        raise ValueError("is not an email address")
    return value


def path(value: str) -> str:
    return str(Path(value.strip()).expanduser()) if value.strip() else ""


def alphabet(value: str) -> str:
    value = matching(r"[0-9a-z]{10,}", ALPHABET_RULE)(value)
    if len(set(value)) < 10:
        raise ValueError(ALPHABET_RULE)
    return value


ALPHABET_RULE = "must be at least 10 distinct lower-case letters or digits"


def verbatim(value: str) -> str:
    return value


def words(value: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in value.split(",") if w.strip())


def hosts(value: str) -> tuple[str, ...]:
    """Give the host names and IP addresses of a comma-separated list: lower-case, without a
    trailing dot or IPv6 brackets."""
    found = []
    for entry in (h.strip().lower().rstrip(".") for h in value.split(",") if h.strip()):
        try:
            found.append(str(ipaddress.ip_address(entry.strip("[]"))))
            continue
        except ValueError:
            pass
        if not re.fullmatch(
            r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", entry
        ):
            raise ValueError(
                f"{entry!r} is not a host name or IP address (no scheme, port or path)"
            )
        found.append(entry)
    return tuple(found)


def nodes(value: str) -> dict[str, str]:
    nodes = {}
    for entry in (e.strip() for e in value.split(";") if e.strip()):
        key, sep, name = entry.partition("=")
        if not sep or not re.fullmatch(r"[a-z0-9_-]+", key.strip()) or not name.strip():
            raise ValueError("must be id=Long Name entries separated by ';', e.g. 'lro=LRO Data'")
        nodes[key.strip()] = name.strip()
    return nodes


def boolean(value: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
        raise ValueError("must be true or false")
    return text in ("true", "yes", "on", "1")


def template(value: str) -> str:
    value = url(value)
    if "{lid}" not in value or "{vid}" not in value:
        raise ValueError("must contain {lid} and {vid} (and may contain {view})")
    try:
        value.format(view="Bundle", lid="x", vid="1.0")
    except (KeyError, IndexError, ValueError):
        raise ValueError("may only use the fields {view}, {lid} and {vid}") from None
    return value


def ini(parser: configparser.ConfigParser, text: str, source: str) -> None:
    """Read the INI ``text`` of the file ``source`` into ``parser``. Raises ``ValueError``
    naming the first line that is wrong and what is wrong with it, in the operator's words (a
    section header without its ']', a line without '=', a key set twice)."""
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):  # before parsing: what follows would mislead
        if line.startswith("[") and "]" not in line:
            raise ValueError(
                f"line {number}: {line.strip()!r}: a section header without its closing ']'"
            )
    try:
        parser.read_string(text, source)
    except configparser.MissingSectionHeaderError:
        raise ValueError("not a valid INI file: File contains no section headers.") from None
    except configparser.ParsingError as exc:
        number = exc.errors[0][0]
        line = lines[number - 1].strip()
        raise ValueError(f"line {number}: {line!r}: no '=' (write key = value)") from None
    except configparser.DuplicateOptionError as exc:
        raise ValueError(
            f"line {exc.lineno}: [{exc.section}] {exc.option}: set twice in this section"
        ) from None
    except configparser.DuplicateSectionError as exc:
        raise ValueError(
            f"line {exc.lineno}: [{exc.section}]: a second section of this name"
        ) from None
    except configparser.Error as exc:
        raise ValueError(f"not a valid INI file: {str(exc).splitlines()[0]}") from None
