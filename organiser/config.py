"""Configuration: one schema drives the defaults, validation, environment overrides and docs.

Sources, later ones winning: the schema defaults, the user's INI file (``--config`` or
``ORGANISER_CONFIG``), systemd credentials (a file ``<section>_<key>`` in
``$CREDENTIALS_DIRECTORY``, e.g. ``datacite_password``), then environment variables
``ORGANISER_<SECTION>_<KEY>`` (e.g. ``ORGANISER_DATACITE_PASSWORD``).
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from organiser import config_parsers as P
from organiser.config_schema import SCHEMA, Key  # re-exported: their home was here
from organiser.errors import UserError
from organiser.redact import redact_url, url_secrets


class ConfigError(UserError):
    """A missing, malformed or invalid configuration value; the message names section and key."""


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
        """Give ``section``, raising :class:`ConfigError` (one line per key) if any of
        ``keys`` is not set."""
        missing = [self.missing[section, key] for key in keys if (section, key) in self.missing]
        if missing:
            raise ConfigError("\n".join(missing))
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
        found += url_secrets(str(self.values["database"]["url"]))
        found += url_secrets(str(self.values["datacite"]["url"]))
        return [secret for secret in found if secret]


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
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))  # key = value
    source = "defaults"  # what the values came from, for `config check`
    if path is not None:
        source = str(path)
        try:
            with open(Path(path).expanduser(), encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            raise ConfigError(f"{source}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: cannot read: {exc}") from None
        try:
            P.ini(parser, text, source)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from None
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
                shown = "***" if spec.secret else repr(redact_url(raw) if key == "url" else raw)
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


__all__ = [
    "SCHEMA",
    "Config",
    "ConfigError",
    "Key",
    "credential_name",
    "env_name",
    "example_ini",
    "load",
]
