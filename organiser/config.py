"""Configuration: one schema drives the defaults, validation, environment overrides and docs.

Sources, later ones winning: the schema defaults, the user's INI file (``--config`` or
``ORGANISER_CONFIG``), then environment variables ``ORGANISER_<SECTION>_<KEY>`` (meant for
secrets such as ``ORGANISER_DATACITE_PASSWORD``).
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A missing, malformed or invalid configuration value; the message names section and key."""


@dataclass(frozen=True)
class Key:
    """One configuration key: how to parse it, its default (``None`` = required) and its help."""

    parse: Callable[[str], Any]
    default: str | None
    help: str
    secret: bool = False


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _url(value: str) -> str:
    value = value.strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _matching(regex: str, rule: str) -> Callable[[str], str]:
    """Give a parser accepting a stripped value that fully matches ``regex``."""

    def parse(value: str) -> str:
        value = value.strip()
        if not re.fullmatch(regex, value):
            raise ValueError(rule)
        return value

    return parse


_prefix = _matching(r"10\.\d{4,9}", "must be a DOI prefix such as 10.5072")
_pattern = _matching(
    r"[x-]*x[x-]*", "must be made of 'x' (one random character) and '-', e.g. xxxx-xxxx"
)


def _number(convert: Callable[[str], float], minimum: float, rule: str) -> Callable[[str], Any]:
    """Give a parser for numbers of type ``convert`` that are at least ``minimum``."""

    def parse(value: str) -> float:
        number = convert(value)
        if number < minimum:
            raise ValueError(rule)
        return number

    return parse


_positive_float = _number(float, 1e-9, "must be greater than 0")
_non_negative_float = _number(float, 0, "must be 0 or more")
_positive_int = _number(int, 1, "must be a whole number of at least 1")
_non_negative_int = _number(int, 0, "must be a whole number, 0 or more")


def _alphabet(value: str) -> str:
    value = _matching(r"[0-9a-z]{10,}", _ALPHABET_RULE)(value)
    if len(set(value)) < 10:
        raise ValueError(_ALPHABET_RULE)
    return value


_ALPHABET_RULE = "must be at least 10 distinct lower-case letters or digits"


def _any(value: str) -> str:
    return value


def _words(value: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in value.split(",") if w.strip())


def _nodes(value: str) -> dict[str, str]:
    nodes = {}
    for entry in (e.strip() for e in value.split(";") if e.strip()):
        key, sep, name = entry.partition("=")
        if not sep or not re.fullmatch(r"[a-z0-9_-]+", key.strip()) or not name.strip():
            raise ValueError("must be id=Long Name entries separated by ';', e.g. 'lro=LRO Data'")
        nodes[key.strip()] = name.strip()
    return nodes


def _boolean(value: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
        raise ValueError("must be true or false")
    return text in ("true", "yes", "on", "1")


def _template(value: str) -> str:
    value = _url(value)
    if "{lid}" not in value or "{vid}" not in value:
        raise ValueError("must contain {lid} and {vid} (and may contain {view})")
    try:
        value.format(view="Bundle", lid="x", vid="1.0")
    except (KeyError, IndexError, ValueError):
        raise ValueError("may only use the fields {view}, {lid} and {vid}") from None
    return value


SCHEMA: dict[str, dict[str, Key]] = {
    "datacite": {
        "url": Key(_url, "https://api.test.datacite.org", "DataCite REST API base URL."),
        "username": Key(_text, None, "Repository account (client id), e.g. DEMO.ORGANISER."),
        "password": Key(
            _text, None, "Repository password; prefer ORGANISER_DATACITE_PASSWORD.", secret=True
        ),
        "prefix": Key(_prefix, None, "DOI prefix of the repository, e.g. 10.5072."),
        "namespace_separator": Key(
            _any, "", "Text between prefix/ and the random suffix (e.g. 'pds.'); may be empty."
        ),
        "suffix_pattern": Key(_pattern, "xxxx-xxxx", "Shape of generated suffixes."),
        "suffix_alphabet": Key(
            _alphabet,
            "0123456789abcdefghjkmnpqrstvwxyz",
            "Characters of generated suffixes (default: Crockford base32, no i l o u).",
        ),
        "connect_timeout": Key(_positive_float, "10", "Seconds to wait for a connection."),
        "timeout": Key(_positive_float, "60", "Seconds to wait for an answer (read timeout)."),
        "retries": Key(_positive_int, "5", "Tries per request before a transient failure counts."),
        "backoff": Key(
            _non_negative_float, "1", "First wait between tries, seconds; doubles, with jitter."
        ),
        "max_backoff": Key(
            _non_negative_float, "120", "Longest wait between tries, including Retry-After."
        ),
    },
    "database": {
        "url": Key(
            _text,
            "sqlite:///~/.local/share/organiser/organiser.db",
            "Peewee database URL: sqlite:///PATH or postgresql://USER:PASS@HOST/DB.",
        ),
    },
    "intake": {
        "publisher": Key(_text, "NASA Planetary Data System", "Publisher of PDS4-derived records."),
        "keywords": Key(
            _words, "", "Subjects added to every PDS4-derived record, comma-separated."
        ),
        "landing_page": Key(
            _template,
            "https://pds.nasa.gov/ds-view/pds/view{view}.jsp?identifier={lid}&version={vid}",
            "Landing page of a PDS4 product; {view} is Bundle, Collection, Document, Context "
            "or Product; {lid} and {vid} are percent-encoded.",
        ),
        "extra_nodes": Key(
            _nodes, "", "More steward nodes besides the PDS ones: 'id=Long Name; id=Long Name'."
        ),
        "versioned_dois": Key(
            _boolean,
            "false",
            "A new version of an identifier that has a DOI gets '<first DOI>.<n>' (DSpace's "
            "versioned DOIs) instead of being refused.",
        ),
        "max_bytes": Key(_positive_int, "10485760", "Largest metadata file or URL body, bytes."),
        "url_timeout": Key(_positive_float, "30", "Seconds to wait for a metadata URL."),
        "max_redirects": Key(_non_negative_int, "5", "Redirects followed for a metadata URL."),
    },
    "organiser": {
        "batch_size": Key(_positive_int, "100", "Records claimed at a time by a pass."),
        "claim_timeout": Key(
            _positive_float, "900", "Seconds a claim lasts; a killed run's claims expire then."
        ),
        "retry_delay": Key(
            _non_negative_float,
            "300",
            "Seconds before a record that failed transiently is tried again; doubles per attempt.",
        ),
        "max_retry_delay": Key(_non_negative_float, "86400", "Longest delay between record tries."),
        "outage_threshold": Key(
            _positive_int,
            "3",
            "Consecutive records failing transiently that mean DataCite is unreachable.",
        ),
    },
}


@dataclass(frozen=True)
class Config:
    """Validated configuration: ``config["datacite"]["prefix"]`` style access, already parsed."""

    values: Mapping[str, Mapping[str, Any]]
    source: str

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self.values[section]


def env_name(section: str, key: str) -> str:
    """Give the environment variable that overrides ``[section] key``."""
    return f"ORGANISER_{section}_{key}".upper()


def load(path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Config:
    """Give the validated configuration from ``path`` (or none) and ``environ``.

    Raises :class:`ConfigError` naming the file, section and key of the first problem.
    """
    parser = configparser.ConfigParser(interpolation=None)
    source = "defaults"  # what the values came from, for `config check`
    if path is not None:
        source = str(path)
        try:
            with open(Path(path).expanduser(), encoding="utf-8") as handle:
                parser.read_file(handle)
        except FileNotFoundError:
            raise ConfigError(f"{source}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: cannot read: {exc}") from None
        except configparser.Error as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"{source}: not a valid INI file: {first}") from None
        for section in parser.sections():
            if section not in SCHEMA:
                raise ConfigError(f"{source}: unknown section [{section}]")
            for key in parser[section]:
                if key not in SCHEMA[section]:
                    raise ConfigError(f"{source}: [{section}] {key}: unknown key")
    values: dict[str, dict[str, Any]] = {}
    for section, keys in SCHEMA.items():
        values[section] = {}
        for key, spec in keys.items():
            raw, origin = spec.default, "default"
            if parser.has_option(section, key):
                raw, origin = parser.get(section, key), source
            if env_name(section, key) in environ:
                raw, origin = environ[env_name(section, key)], env_name(section, key)
            where = f"{origin}: [{section}] {key}"
            if raw is None:
                where = source if path is not None else "no --config or ORGANISER_CONFIG"
                raise ConfigError(
                    f"{where}: [{section}] {key}: missing (required; or set "
                    f"{env_name(section, key)})"
                )
            try:
                values[section][key] = spec.parse(raw)
            except ValueError as exc:
                shown = "***" if spec.secret else repr(raw)
                raise ConfigError(f"{where}: {shown} {_reason(exc)}") from None
    return Config(values, source)


def _reason(exc: ValueError) -> str:
    text = str(exc)
    if text.startswith(("could not convert", "invalid literal")):
        return "is not a number"
    return text


def example_ini() -> str:
    """Give an INI text documenting every key with its default (what ``config generate`` prints)."""
    lines = [
        "# organiser configuration. Every key is shown with its default;",
        "# keys marked (required) have none. Any key can also be set in the",
        "# environment as ORGANISER_<SECTION>_<KEY>, e.g. ORGANISER_DATACITE_PASSWORD.",
    ]
    for section, keys in SCHEMA.items():
        lines += ["", f"[{section}]"]
        for key, spec in keys.items():
            lines.append(f"# {spec.help}")
            if spec.default is None:
                lines.append(f"# {key} =   (required)")
            else:
                lines.append(f"# {key} = {spec.default}")
    return "\n".join(lines) + "\n"
