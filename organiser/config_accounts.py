"""The ``[account NAME]`` sections of the configuration: more DataCite repository accounts
beside ``[datacite]`` (the default account, named ``datacite``).

Each section's keys are :data:`organiser.config_schema.ACCOUNT_SCHEMA`'s. A key can be set by
the environment as ``ORGANISER_ACCOUNT_<NAME>_<KEY>`` (only for an account the file
configures), and the password by the systemd credential ``datacite_password_<name>``.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from organiser.config_schema import ACCOUNT_SCHEMA, DEFAULT_ACCOUNT

_SECTION = re.compile(r"account(?:\s+(.*))?", re.IGNORECASE | re.DOTALL)
_NAME = re.compile(r"[a-z][a-z0-9_]*")
#: DataCite's test prefix, and the host of its production API (never together).
TEST_PREFIX, PRODUCTION_HOST = "10.5072", "api.datacite.org"


def read_credential(directory: str, name: str, files: list[str]) -> str | None:
    """Give the systemd credential ``name`` in ``directory`` without its line end, or None
    when there is none; the file read is added to ``files``. Raises ``ConfigError`` when it
    exists but cannot be read."""
    from organiser.config import ConfigError

    credential = Path(directory) / name
    try:
        if not credential.exists():
            return None
        text = credential.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"{credential}: cannot read: {reason}") from None
    files.append(str(credential))
    return text


def name_of(section: str) -> str | None:
    """Give the account name of an ``[account NAME]`` section (lower-case), None for any other
    section. Raises ``ValueError`` for an account section whose name is not usable."""
    match = _SECTION.fullmatch(section.strip())
    if match is None:
        return None
    name = (match.group(1) or "").strip().lower()
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"[{section}]: an account needs a name of letters, digits and '_' that starts "
            "with a letter, e.g. [account sbn]"
        )
    if name == DEFAULT_ACCOUNT:
        raise ValueError(f"[{section}]: '{DEFAULT_ACCOUNT}' is the [datacite] account's name")
    return name


def env_name(name: str, key: str) -> str:
    """Give the environment variable that sets ``key`` of account ``name``."""
    return f"ORGANISER_ACCOUNT_{name}_{key}".upper()


def credential_name(name: str) -> str:
    """Give the systemd credential (a file in ``$CREDENTIALS_DIRECTORY``) with the password
    of account ``name``."""
    return f"datacite_password_{name}"


def variables(names: list[str]) -> set[str]:
    """Give the environment variables the accounts ``names`` may be set by."""
    return {env_name(name, key) for name in names for key in ACCOUNT_SCHEMA}


def load(
    parser: configparser.ConfigParser,
    source: str,
    environ: Mapping[str, str],
    shown: Any,
) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], str], list[str]]:
    """Give each configured account's values (by name, in file order), what is missing (as
    :class:`organiser.config.Config` keeps it, keyed ``("account NAME", key)``) and the
    credential files read. ``shown(spec, key, raw)`` gives a bad value as an error shows it.

    Raises ``UserError`` (the config's error) naming the file or variable, section and key of
    a bad value, or an account configured twice.
    """
    from organiser.config import ConfigError

    accounts: dict[str, dict[str, Any]] = {}
    missing: dict[tuple[str, str], str] = {}
    files: list[str] = []
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    for section in parser.sections():
        name = name_of(section)
        if name is None:
            continue
        if name in accounts:
            raise ConfigError(f"{source}: [{section}]: account {name} is configured twice")
        values: dict[str, Any] = {}
        for key, spec in ACCOUNT_SCHEMA.items():
            raw, origin = spec.default, source
            if parser.has_option(section, key):
                raw = parser.get(section, key)
            if key == "password" and credentials:
                found = read_credential(credentials, credential_name(name), files)
                if found is not None:
                    raw, origin = found, f"credential {credential_name(name)}"
            if env_name(name, key) in environ:
                raw, origin = environ[env_name(name, key)], env_name(name, key)
            if raw is None:
                missing[f"account {name}", key] = (
                    f"{source}: [account {name}] {key}: missing (required; or set "
                    f"{env_name(name, key)})"
                )
                values[key] = None
                continue
            try:
                values[key] = spec.parse(raw)
            except ValueError as exc:
                raise ConfigError(
                    f"{origin}: [account {name}] {key}: {shown(spec, key, raw)} {exc}"
                ) from None
        accounts[name] = values
    return accounts, missing, files


def cross_check(datacite: Mapping[str, Any], accounts: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise ``UserError`` (the config's error) for accounts that are valid alone but not
    together: DataCite's test prefix with the production URL, a prefix, client id or node
    that two accounts claim."""
    from organiser.config import ConfigError

    host = (urlsplit(datacite["url"]).hostname or "").lower().rstrip(".")
    every = {DEFAULT_ACCOUNT: datacite, **accounts}
    owners: dict[tuple[str, str], str] = {}
    for name, values in every.items():
        where = "[datacite]" if name == DEFAULT_ACCOUNT else f"[account {name}]"
        test = TEST_PREFIX in (values["prefix"] or ())
        if name != DEFAULT_ACCOUNT and test and host == PRODUCTION_HOST:
            raise ConfigError(
                f"{where} prefix: {TEST_PREFIX} is DataCite's test prefix but [datacite] "
                "url is production (test: https://api.test.datacite.org)"
            )
        claims = [("prefix", p) for p in values["prefix"] or ()]
        claims += [("username", (values["username"] or "").upper())] if values["username"] else []
        claims += [("nodes", n) for n in values.get("nodes") or ()]
        for key, value in claims:
            other = owners.setdefault((key, value), name)
            if other != name:
                shown = value if key != "username" else values["username"]
                raise ConfigError(
                    f"{where} {key}: {shown} is also account {other}'s; each belongs to one account"
                )
