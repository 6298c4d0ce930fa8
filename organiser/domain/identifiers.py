"""DOIs chosen locally, and the forms in which users name a record."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

_DOI_FORMS = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)", re.IGNORECASE)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")


@dataclass(frozen=True)
class DoiScheme:
    """How this repository's DOIs look: ``prefix/`` + separator + random suffix."""

    prefix: str
    separator: str = ""
    pattern: str = "xxxx-xxxx"
    alphabet: str = "0123456789abcdefghjkmnpqrstvwxyz"
    #: more prefixes the repository holds (its other DataCite accounts'): DOIs under them
    #: are its own too, though new ones get ``prefix``
    also: tuple[str, ...] = ()

    def generate(self) -> str:
        """Give a fresh DOI (random: collisions are unlikely, not impossible)."""
        needed = self.pattern.count("x")
        limit = 256 - 256 % len(self.alphabet)  # bytes at or above this would bias the choice
        picks: list[str] = []
        while len(picks) < needed:
            picks += [
                self.alphabet[b % len(self.alphabet)]
                for b in secrets.token_bytes(needed)
                if b < limit
            ]
        chars = iter(picks)
        suffix = "".join(next(chars) if c == "x" else c for c in self.pattern)
        return f"{self.prefix}/{self.separator}{suffix}"

    def owns(self, doi: str) -> bool:
        """Tell whether ``doi`` lies under one of this repository's prefixes."""
        head = doi.lower().split("/", 1)[0]
        return head in {p.lower() for p in (self.prefix, *self.also)}


def normalise_doi(text: str) -> str | None:
    """Give the bare, lower-cased DOI in ``text`` (bare, ``doi:`` or doi.org form), else None.

    DOIs are case-insensitive; DataCite stores them upper-case and answers either way.
    """
    bare = _DOI_FORMS.sub("", text.strip())
    return bare.lower() if _DOI.match(bare) else None
