"""Who may do what: the actor every use case is called with, and the rules of the roles.

The command line acts as an operator (whoever can run it can open the database); the API acts
as its token. Readers list and read; submitters also reserve, update and submit, as their own
address and only on records they submitted; operators also approve, reject, register and
delete, for anyone. The rules are checked inside the actions, on the record as locked for the
write (:func:`check_owner`), never in a route.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from organiser.errors import UserError
from organiser.storage.models import Record
from organiser.storage.tokens import Role

__all__ = ["Actor", "Forbidden", "Role", "check_owner", "require"]


class Forbidden(UserError):
    """The actor's role (or submitter address) does not allow this; one line (HTTP 403)."""

    http_status = 403


@dataclass(frozen=True)
class Actor:
    """Who is acting: ``name`` is what the history names (``api:<token>`` or the user);
    ``email`` is the submitter address of a submitter (or operator) token."""

    name: str
    role: Role
    email: str | None = None
    #: how the actor is called in messages ("token 'x'", or the command line's user)
    label: str = ""

    @classmethod
    def operator(cls, name: str | None = None) -> Actor:
        """Give the command line's actor: an operator named ``name`` (default: the user)."""
        if not name:
            try:
                name = getpass.getuser()
            except (KeyError, OSError):
                name = "unknown"
        return cls(name, Role.OPERATOR, None, name)

    def submitter_for(self, asked: str | None) -> str | None:
        """Give the submitter address to record for new records: a submitter's own (``asked``
        must be it, or absent), or what an operator or reader ``asked`` for (an operator's own
        address when absent). Raises :class:`Forbidden` when a submitter asks for another."""
        asked = asked.strip() if asked and asked.strip() else None
        if self.role is Role.SUBMITTER:
            if asked and self.email and asked.lower() != self.email.lower():
                raise Forbidden(f"submitter {asked!r}: {self.label} submits as {self.email}")
            return self.email
        if self.role is Role.OPERATOR:
            return asked or self.email
        return asked


def require(actor: Actor, role: Role) -> None:
    """Refuse an ``actor`` whose role is below ``role``. Raises :class:`Forbidden`."""
    if actor.role < role:
        held, needed = _a(actor.role.label), _a(role.label)
        raise Forbidden(f"{actor.label} is {held}; this needs {needed}")


def check_owner(actor: Actor, record: Record) -> None:
    """Refuse a submitter a record that another submitter reserved. Call it on the record as
    locked for the write. Raises :class:`Forbidden`."""
    if actor.role is Role.OPERATOR:
        return
    require(actor, Role.SUBMITTER)
    if (record.submitter or "").lower() != (actor.email or "").lower():
        raise Forbidden(
            f"{record.doi}: submitted by {record.submitter or 'someone else'}; only its "
            "submitter or an operator may change it"
        )


def _a(word: str) -> str:
    """Give ``word`` with its indefinite article ("an operator", "a reader")."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
