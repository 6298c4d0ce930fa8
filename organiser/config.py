"""Configuration: one schema drives the defaults, validation, environment overrides and docs.

Sources, later ones winning: the schema defaults, the user's INI file (``--config`` or
``ORGANISER_CONFIG``), systemd credentials (a file ``<section>_<key>`` in
``$CREDENTIALS_DIRECTORY``, e.g. ``datacite_password``), then environment variables
``ORGANISER_<SECTION>_<KEY>`` (e.g. ``ORGANISER_DATACITE_PASSWORD``).
"""

from __future__ import annotations

import configparser
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from apscheduler.triggers.cron import CronTrigger

from organiser.errors import UserError


class ConfigError(UserError):
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


DAY, YEAR = 86400, 365 * 86400
_prefix = _matching(r"10\.\d{4,9}", "must be a DOI prefix such as 10.5072")
_pattern = _matching(
    r"[x-]*x[x-]*", "must be made of 'x' (one random character) and '-', e.g. xxxx-xxxx"
)


def _number(
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


def _base_url(value: str) -> str:
    value = _url(value)
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            "must be the API's base URL, without a path or query "
            "(e.g. https://api.datacite.org, not .../dois)"
        )
    return value


def _cron(value: str) -> str:
    value = " ".join(value.split())
    if value.lower() in ("", "off", "none"):
        return ""
    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ValueError(
            f"is not a crontab expression (minute hour day month weekday): {exc}"
        ) from None
    return value


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return parse


def _addresses(value: str) -> tuple[str, ...]:
    found = tuple(a.strip() for a in value.replace(";", ",").split(",") if a.strip())
    for address in found:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            raise ValueError(f"{address!r} is not an email address")
    return found


def _address(value: str) -> str:
    value = value.strip()
    if value and not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
        raise ValueError("is not an email address")
    return value


def _path(value: str) -> str:
    return str(Path(value.strip()).expanduser()) if value.strip() else ""


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
        "url": Key(
            _base_url,
            "https://api.test.datacite.org",
            "DataCite REST API base URL, no path (production: https://api.datacite.org).",
        ),
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
        "connect_timeout": Key(_number(float, 0.1, 600), "10", "Seconds to wait for a connection."),
        "timeout": Key(
            _number(float, 0.1, 3600), "60", "Seconds to wait for an answer (read timeout)."
        ),
        "retries": Key(
            _number(int, 1, 20), "5", "Tries per request before a transient failure counts."
        ),
        "backoff": Key(
            _number(float, 0, 600), "1", "First wait between tries, seconds; doubles, with jitter."
        ),
        "max_backoff": Key(
            _number(float, 0, 3600), "120", "Longest wait between tries, including Retry-After."
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
        "max_bytes": Key(
            _number(int, 1, 2**30), "10485760", "Largest metadata file or URL body, bytes."
        ),
        "url_timeout": Key(_number(float, 1, 600), "30", "Seconds to wait for a metadata URL."),
        "max_redirects": Key(_number(int, 0, 30), "5", "Redirects followed for a metadata URL."),
    },
    "organiser": {
        "state_dir": Key(
            _path,
            "",
            "Where the run lock lives; empty: $STATE_DIRECTORY (systemd), else "
            "~/.local/state/organiser.",
        ),
        "batch_size": Key(_number(int, 1, 10000), "100", "Records claimed at a time by a pass."),
        "claim_timeout": Key(
            _number(float, 60, 7 * DAY),
            "900",
            "Seconds a claim lasts; a killed run's claims expire then.",
        ),
        "retry_delay": Key(
            _number(float, 0, 7 * DAY),
            "300",
            "Seconds before a record that failed transiently is tried again; doubles per attempt.",
        ),
        "max_retry_delay": Key(
            _number(float, 0, YEAR), "86400", "Longest delay between record tries."
        ),
        "outage_threshold": Key(
            _number(int, 1, 1000),
            "3",
            "Consecutive records failing transiently that mean DataCite is unreachable.",
        ),
    },
    "scheduler": {
        "cron": Key(
            _cron,
            "*/15 * * * *",
            "When 'organiser daemon' runs the passes: a crontab expression in UTC "
            "(minute hour day month weekday).",
        ),
        "run_at_start": Key(
            _boolean, "true", "The daemon also runs the passes once as soon as it starts."
        ),
        "misfire_grace_time": Key(
            _number(int, 1, DAY),
            "600",
            "Seconds a run may start late (after a long run or a suspend) instead of being "
            "skipped; missed runs are folded into one.",
        ),
    },
    "email": {
        "smtp_host": Key(_any, "", "SMTP server for alerts; empty: no email is sent."),
        "smtp_port": Key(
            _number(int, 0, 65535), "0", "SMTP port; 0: 465 for ssl, 587 for starttls, 25 else."
        ),
        "security": Key(_choice("starttls", "ssl", "none"), "starttls", "starttls, ssl or none."),
        "username": Key(_any, "", "SMTP login; empty: no login."),
        "password": Key(
            _any, "", "SMTP password; prefer ORGANISER_EMAIL_PASSWORD or a credential.", secret=True
        ),
        "sender": Key(_address, "", "From address of alerts (required when smtp_host is set)."),
        "recipients": Key(_addresses, "", "Operators who get the alerts, comma-separated."),
        "notify_submitters": Key(
            _boolean, "false", "Also mail each submitter the failures of their own records."
        ),
        "timeout": Key(_number(float, 1, 600), "30", "Seconds to wait for the SMTP server."),
    },
    "logging": {
        "level": Key(
            _choice("auto", "debug", "info", "warning", "error"),
            "auto",
            "auto: info under systemd and in the daemon (one line per record), warning "
            "otherwise; -v and -q override it.",
        ),
        "format": Key(
            _choice("auto", "console", "json"),
            "auto",
            "auto: json under systemd (JOURNAL_STREAM set), readable text otherwise.",
        ),
        "file": Key(_path, "", "Also append JSON log lines to this file (tracebacks go here)."),
    },
}


@dataclass(frozen=True)
class Config:
    """Validated configuration: ``config["datacite"]["prefix"]`` style access, already parsed.

    A required key that is not set reads as ``None``; :meth:`require` raises for it, so that
    commands which only read the database need no DataCite account.
    """

    values: Mapping[str, Mapping[str, Any]]
    source: str
    missing: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self.values[section]

    def require(self, section: str, *keys: str) -> Mapping[str, Any]:
        """Give ``section``, raising :class:`ConfigError` if one of ``keys`` is not set."""
        for key in keys:
            if (section, key) in self.missing:
                raise ConfigError(self.missing[section, key])
        return self.values[section]

    def secrets(self) -> list[str]:
        """Give the secret values set (passwords, the database URL's password): what must
        never appear in logs, history or mail."""
        found = [
            str(self.values[section][key])
            for section, keys in SCHEMA.items()
            for key, spec in keys.items()
            if spec.secret and self.values[section].get(key)
        ]
        url = str(self.values["database"]["url"])
        creds = url.partition("://")[2].rpartition("@")[0]
        if ":" in creds:
            found.append(creds.split(":", 1)[1])
        datacite_url = str(self.values["datacite"]["url"])
        creds = datacite_url.partition("://")[2].rpartition("@")[0]
        if ":" in creds:
            found.append(creds.split(":", 1)[1])
        return [secret for secret in found if len(secret) >= 3]


def env_name(section: str, key: str) -> str:
    """Give the environment variable that overrides ``[section] key``."""
    return f"ORGANISER_{section}_{key}".upper()


def credential_name(section: str, key: str) -> str:
    """Give the systemd credential (file in ``$CREDENTIALS_DIRECTORY``) for ``[section] key``."""
    return f"{section}_{key}"


def load(path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Config:
    """Give the validated configuration from ``path`` (or none), systemd credentials and
    ``environ``.

    Raises :class:`ConfigError` naming the file (or variable), section and key of the first
    problem. Required keys that are not set are not an error here (see
    :meth:`Config.require`).
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
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    values: dict[str, dict[str, Any]] = {}
    missing: dict[tuple[str, str], str] = {}
    for section, keys in SCHEMA.items():
        values[section] = {}
        for key, spec in keys.items():
            raw, origin = spec.default, "default"
            if parser.has_option(section, key):
                raw, origin = parser.get(section, key), source
            if credentials:
                credential = Path(credentials) / credential_name(section, key)
                try:
                    if credential.exists():
                        raw = credential.read_text(encoding="utf-8").rstrip("\r\n")
                        origin = f"credential {credential_name(section, key)}"
                except (OSError, UnicodeDecodeError) as exc:
                    reason = getattr(exc, "strerror", None) or str(exc)
                    raise ConfigError(f"{credential}: cannot read: {reason}") from None
            if env_name(section, key) in environ:
                raw, origin = environ[env_name(section, key)], env_name(section, key)
            where = f"{origin}: [{section}] {key}"
            if raw is None:
                where = source if path is not None else "no --config or ORGANISER_CONFIG"
                missing[section, key] = (
                    f"{where}: [{section}] {key}: missing (required; or set "
                    f"{env_name(section, key)})"
                )
                values[section][key] = None
                continue
            try:
                values[section][key] = spec.parse(raw)
            except ValueError as exc:
                shown = "***" if spec.secret else repr(raw)
                raise ConfigError(f"{where}: {shown} {_reason(exc)}") from None
    email = values["email"]
    if email["smtp_host"] and not email["sender"]:
        raise ConfigError(f"{source}: [email] sender: missing (required when smtp_host is set)")
    if email["smtp_host"] and not email["recipients"] and not email["notify_submitters"]:
        raise ConfigError(
            f"{source}: [email] recipients: missing (smtp_host is set, but nobody would get mail)"
        )
    return Config(values, source, missing)


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
        "# environment as ORGANISER_<SECTION>_<KEY>, e.g. ORGANISER_DATACITE_PASSWORD,",
        "# or, under systemd, as a credential file <section>_<key> in $CREDENTIALS_DIRECTORY",
        "# (LoadCredential=datacite_password:/etc/organiser/datacite_password).",
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
