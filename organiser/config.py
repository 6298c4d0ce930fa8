"""Configuration: one schema drives the defaults, validation, environment overrides and docs.

Sources, later ones winning: the schema defaults, one INI file (the first of ``--config``,
``ORGANISER_CONFIG``, ``$XDG_CONFIG_HOME/organiser/organiser.ini`` (``~/.config/…``) and
``/etc/organiser/organiser.ini``), systemd credentials (a file ``<section>_<key>`` in
``$CREDENTIALS_DIRECTORY``, e.g. ``datacite_password``), then environment variables
``ORGANISER_<SECTION>_<KEY>`` (e.g. ``ORGANISER_DATACITE_PASSWORD``); any other
``ORGANISER_`` variable is refused, as an unknown key in the file is. ``[account NAME]``
sections add DataCite accounts (:mod:`organiser.config_accounts`).
"""

from __future__ import annotations

import configparser
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from organiser import config_accounts
from organiser import config_parsers as P
from organiser.config_schema import (  # Key: re-exported
    ACCOUNT_SCHEMA,
    OWN_VARIABLES,
    SCHEMA,
    TEST_SEAMS,
    Key,
)
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
    #: the files read: the INI file (if any), then each systemd credential
    files: tuple[str, ...] = ()
    #: where the INI file was looked for when none was named (for ``config check``)
    looked_in: tuple[str, ...] = ()
    #: the ``[account NAME]`` sections' values, by name, in file order (``[datacite]`` is not
    #: among them: it is the default account, ``datacite``)
    accounts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: where each ``(section, key)`` value came from: ``default``, the INI file, ``credential
    #: NAME`` or the ``ORGANISER_`` variable (for messages that name it)
    origins: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self.values[section]

    def require(self, section: str, *keys: str) -> Mapping[str, Any]:
        """Give ``section``, raising :class:`ConfigError` (one line per key) if any of
        ``keys`` is not set."""
        missing = [self.missing[section, key] for key in keys if (section, key) in self.missing]
        if missing:
            raise ConfigError("\n".join(missing))
        return self.values[section]

    def require_accounts(self) -> None:
        """Raise :class:`ConfigError` (one line per key) if an ``[account NAME]`` section
        lacks a required key (a password not given anywhere)."""
        missing = [
            line for (section, _), line in self.missing.items() if section.startswith("account ")
        ]
        if missing:
            raise ConfigError("\n".join(missing))

    def secrets(self) -> list[str]:
        """Give the secret values set (passwords, the database URL's password): what must
        never appear in logs, history or mail."""
        found = [
            str(self.values[section][key])
            for section, keys in SCHEMA.items()
            for key, spec in keys.items()
            if spec.secret and self.values[section].get(key)
        ]
        found += [
            str(values[key])
            for values in self.accounts.values()
            for key, spec in ACCOUNT_SCHEMA.items()
            if spec.secret and values.get(key)
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


#: The system-wide configuration file, looked for last.
SYSTEM_FILE = Path("/etc/organiser/organiser.ini")
#: DataCite's test prefix, and the host of its production API (never together).
TEST_PREFIX, PRODUCTION_HOST = "10.5072", "api.datacite.org"


def candidates(environ: Mapping[str, str], system: Path = SYSTEM_FILE) -> tuple[Path, ...]:
    """Give where the INI file is looked for when neither ``--config`` nor
    ``ORGANISER_CONFIG`` names one: ``$XDG_CONFIG_HOME/organiser/organiser.ini`` (an unset,
    empty or relative ``XDG_CONFIG_HOME`` means ``~/.config``, as the XDG spec says), then
    ``system``."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if not xdg or not Path(xdg).is_absolute():
        home = environ.get("HOME")
        xdg = str(Path(home) / ".config") if home else str(Path("~/.config").expanduser())
    return (Path(xdg) / "organiser" / "organiser.ini", system)


def find(
    path: str | os.PathLike[str] | None,
    environ: Mapping[str, str],
    system: Path = SYSTEM_FILE,
) -> str | None:
    """Give the INI file to read: ``path`` (``--config``), else ``ORGANISER_CONFIG``, else the
    first of :func:`candidates` that exists; None when there is none. A file named by
    ``--config`` or ``ORGANISER_CONFIG`` is given whether it exists or not (reading it says)."""
    if path is not None:
        return str(path)
    if environ.get("ORGANISER_CONFIG"):
        return environ["ORGANISER_CONFIG"]
    for candidate in candidates(environ, system):
        if candidate.is_file():
            return str(candidate)
    return None


def check_variables(environ: Mapping[str, str], accounts: list[str] | None = None) -> None:
    """Raise :class:`ConfigError` for the first ``ORGANISER_`` variable in ``environ`` that
    sets no key of the schema (nor of one of the configured ``accounts``) and is not one of
    organiser's own (``ORGANISER_CONFIG``, the tests' ``ORGANISER_TEST_…``): a typo would
    otherwise be ignored silently."""
    known = {env_name(section, key) for section, keys in SCHEMA.items() for key in keys}
    known |= config_accounts.variables(accounts or [])
    for name in sorted(environ):
        if not name.startswith("ORGANISER_") or name in known or name in OWN_VARIABLES:
            continue
        if name.startswith(TEST_SEAMS):
            continue
        tails = {other.removeprefix("ORGANISER_"): other for other in known | OWN_VARIABLES}
        close = difflib.get_close_matches(name.removeprefix("ORGANISER_"), sorted(tails), n=1)
        hint = f" (did you mean {tails[close[0]]}?)" if close else ""
        raise ConfigError(f"{name}: unknown variable: it sets no configuration key{hint}")


def load(
    path: str | os.PathLike[str] | None,
    environ: Mapping[str, str],
    system: Path = SYSTEM_FILE,
) -> Config:
    """Give the validated configuration from the INI file (``path``, else as :func:`find`
    looks for it), systemd credentials and ``environ``.

    Raises :class:`ConfigError` naming the file (or variable), section and key of the first
    problem, an unknown ``ORGANISER_`` variable, or DataCite's test prefix with its
    production URL. Required keys that are not set are not an error here (see
    :meth:`Config.require`).
    """
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))  # key = value
    source = "defaults"  # what the values came from, for `config check`
    found = find(path, environ, system)
    looked_in = () if found else tuple(str(c) for c in candidates(environ, system))
    files: list[str] = []
    if found is not None:
        source = found
        _read(parser, found)
        files.append(found)
    names = [n for n in (config_accounts.name_of(s) for s in parser.sections()) if n]
    check_variables(environ, names)
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    values: dict[str, dict[str, Any]] = {}
    missing: dict[tuple[str, str], str] = {}
    origins: dict[tuple[str, str], str] = {}  # where each value came from
    for section, keys in SCHEMA.items():
        values[section] = {}
        for key, spec in keys.items():
            raw, origin = spec.default, "default"
            if parser.has_option(section, key):
                raw, origin = parser.get(section, key), source
            if credentials:
                name = credential_name(section, key)
                found = config_accounts.read_credential(credentials, name, files)
                if found is not None:
                    raw, origin = found, f"credential {name}"
            if env_name(section, key) in environ:
                raw, origin = environ[env_name(section, key)], env_name(section, key)
            origins[section, key] = origin
            where = f"{origin}: [{section}] {key}"
            if raw is None:
                where = source if found is not None else "no configuration file"
                missing[section, key] = (
                    f"{where}: [{section}] {key}: missing (required; or set "
                    f"{env_name(section, key)})"
                )
                values[section][key] = None
                continue
            try:
                values[section][key] = spec.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{where}: {_shown(spec, key, raw)} {_reason(exc)}") from None
    accounts, more_missing, more_files = config_accounts.load(parser, source, environ, _shown)
    missing.update(more_missing)
    _cross_check(values, source, origins)
    config_accounts.cross_check(values["datacite"], accounts)
    files_read = tuple(files + more_files)
    return Config(values, source, missing, files_read, looked_in, accounts, origins)


def _shown(spec: Key, key: str, raw: str) -> str:
    """Give a bad value as an error shows it: a secret masked, a URL's credentials too."""
    return "***" if spec.secret else repr(redact_url(raw) if key == "url" else raw)


def _read(parser: configparser.ConfigParser, source: str) -> None:
    """Read the INI file ``source`` into ``parser``. Raises :class:`ConfigError` when it
    cannot be read, is not INI, or has a section or key the schema does not know."""
    try:
        with open(Path(source).expanduser(), encoding="utf-8") as handle:
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
        try:
            account = config_accounts.name_of(section)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        keys = ACCOUNT_SCHEMA if account else SCHEMA.get(section)
        if keys is None:
            raise ConfigError(f"{source}: unknown section [{section}]")
        for key in parser[section]:
            if key not in keys:
                raise ConfigError(f"{source}: [{section}] {key}: unknown key")


def _cross_check(
    values: Mapping[str, Mapping[str, Any]], source: str, origins: Mapping[tuple[str, str], str]
) -> None:
    """Raise :class:`ConfigError` for keys that are valid alone but not together."""
    email, datacite = values["email"], values["datacite"]
    if email["smtp_host"] and not email["sender"]:
        raise ConfigError(f"{source}: [email] sender: missing (required when smtp_host is set)")
    if email["smtp_host"] and not email["recipients"] and not email["notify_submitters"]:
        raise ConfigError(
            f"{source}: [email] recipients: missing (smtp_host is set, but nobody would get mail)"
        )
    host = (urlsplit(datacite["url"]).hostname or "").lower().rstrip(".")
    if TEST_PREFIX in (datacite["prefix"] or ()) and host == PRODUCTION_HOST:
        raise ConfigError(
            f"[datacite] prefix ({origins['datacite', 'prefix']}) and url "
            f"({origins['datacite', 'url']}): {TEST_PREFIX} is DataCite's test prefix but "
            f"{redact_url(datacite['url'])} is production (test: https://api.test.datacite.org)"
        )


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
    lines += [
        "",
        "# More DataCite accounts: one [account NAME] section each (NAME: letters, digits, _).",
        "# They share [datacite]'s url, suffix shape, timeouts and rate limit; a new record goes",
        "# to the account whose nodes list its node, else whose identifiers match it, else to",
        "# [datacite]. Password: ORGANISER_ACCOUNT_<NAME>_PASSWORD or the credential",
        "# datacite_password_<name>.",
        "# [account sbn]",
    ]
    for key, spec in ACCOUNT_SCHEMA.items():
        lines.append(f"# {spec.help}")
        lines.append(f"# {key} = {spec.default if spec.default is not None else '  (required)'}")
    return "\n".join(lines) + "\n"


__all__ = [
    "SCHEMA",
    "Config",
    "ConfigError",
    "Key",
    "credential_name",
    "env_name",
    "example_ini",
    "find",
    "load",
]
