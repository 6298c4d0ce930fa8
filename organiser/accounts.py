"""The DataCite accounts a repository sends through, and which one a record belongs to.

``[datacite]`` is the default account (named ``datacite``); each ``[account NAME]`` adds one
(:mod:`organiser.config_accounts`). A new record is routed when it is marked: to the account
whose ``nodes`` list its steward node, else to the first (in file order) whose
``identifiers`` wildcards match its identifier, else to the default account. A DOI given
with the record (a label's DOI, an import, an adoption) goes to the account holding its
prefix. The account is stored on the record and never changes by itself: a changed routing
applies to records marked after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from organiser.config_schema import DEFAULT_ACCOUNT
from organiser.domain.identifiers import DoiScheme


@dataclass(frozen=True)
class Account:
    """One DataCite repository account: its name here, client id, prefixes and routing."""

    name: str
    username: str | None
    password: str | None = field(repr=False)
    prefixes: tuple[str, ...]
    nodes: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()

    @property
    def default(self) -> bool:
        """Tell whether this is the default account (``[datacite]``)."""
        return self.name == DEFAULT_ACCOUNT

    @property
    def section(self) -> str:
        """Give the configuration section that configures it."""
        return "[datacite]" if self.default else f"[account {self.name}]"

    def owns(self, doi: str) -> bool:
        """Tell whether ``doi`` lies under one of the account's prefixes."""
        head = doi.lower().split("/", 1)[0]
        return any(head == prefix.lower() for prefix in self.prefixes)

    def routing(self) -> str:
        """Give how records reach this account, as ``config check`` shows it."""
        parts = [f"prefixes {', '.join(self.prefixes) or '(none)'}"]
        if self.nodes:
            parts.append(f"nodes {', '.join(self.nodes)}")
        if self.identifiers:
            parts.append(f"identifiers {', '.join(self.identifiers)}")
        if self.default:
            parts.append("default: every other new record")
        return "; ".join(parts)


@dataclass(frozen=True)
class Accounts:
    """Every configured account, the default first; the suffix shape they share."""

    all: tuple[Account, ...]
    separator: str = ""
    pattern: str = "xxxx-xxxx"
    alphabet: str = "0123456789abcdefghjkmnpqrstvwxyz"

    @classmethod
    def of(cls, config: Any, known_nodes: Mapping[str, str]) -> Accounts:
        """Give the accounts of a loaded configuration. Raises ``ConfigError`` for an
        account's node that is not one of ``known_nodes``."""
        from organiser.config import ConfigError

        dc = config["datacite"]
        default = Account(
            DEFAULT_ACCOUNT, dc["username"], dc["password"], tuple(dc["prefix"] or ())
        )
        more = []
        for name, values in config.accounts.items():
            for node in values["nodes"]:
                if node not in known_nodes:
                    raise ConfigError(
                        f"[account {name}] nodes: {node} is not a known node "
                        f"({', '.join(sorted(known_nodes))}; [intake] extra_nodes adds more)"
                    )
            more.append(
                Account(
                    name,
                    values["username"],
                    values["password"],
                    tuple(values["prefix"] or ()),
                    tuple(values["nodes"]),
                    tuple(values["identifiers"]),
                )
            )
        return cls(
            (default, *more),
            dc["namespace_separator"],
            dc["suffix_pattern"],
            dc["suffix_alphabet"],
        )

    @property
    def default(self) -> Account:
        """The default account (``[datacite]``)."""
        return self.all[0]

    @property
    def several(self) -> bool:
        """Tell whether there is more than the default account (lists then name it)."""
        return len(self.all) > 1

    def get(self, name: str) -> Account | None:
        """Give the account called ``name``, or None if none is configured."""
        return next((a for a in self.all if a.name == name), None)

    def route(self, node: str | None, identifier: str) -> Account:
        """Give the account a new record of ``node`` with ``identifier`` goes to: by node,
        then by the first identifier wildcard that matches (in any case, as the ``ids`` filters
        fold it: PDS4 identifiers are case-insensitive), else default."""
        for account in self.all[1:]:
            if node is not None and node in account.nodes:
                return account
        for account in self.all[1:]:
            folded = identifier.lower()
            if any(fnmatchcase(folded, pattern.lower()) for pattern in account.identifiers):
                return account
        return self.default

    def for_doi(self, doi: str) -> Account | None:
        """Give the account holding ``doi``'s prefix, or None when none does."""
        return next((a for a in self.all if a.owns(doi)), None)

    def scheme(self, name: str) -> DoiScheme:
        """Give how the DOIs generated for account ``name`` look (its first prefix).
        Raises ``KeyError`` for an account that is not configured."""
        account = self.get(name)
        if account is None or not account.prefixes:
            raise KeyError(name)
        return DoiScheme(
            account.prefixes[0],
            self.separator,
            self.pattern,
            self.alphabet,
            also=tuple(p for a in self.all for p in a.prefixes),
        )

    def intake_scheme(self) -> DoiScheme:
        """Give the scheme intake checks given DOIs with: the default account's, owning
        every prefix of every account."""
        return self.scheme(DEFAULT_ACCOUNT)
