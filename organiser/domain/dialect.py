"""The PDS DOI Service API 0.2's workflow statuses, and which organiser status is which.

0.2's clients (the PDS DOI UI, the nodes' scripts) filter by and read the statuses of
pds-doi-service's ``DoiStatus``: error, unknown, reserved, draft, review, pending, registered,
findable, deactivated. organiser keeps its own, finer statuses (:class:`State`); the 0.2 API
answers with the 0.2 status a record is at in 0.2's workflow (its organiser status is an added
field), and a 0.2 status filter selects every organiser status that maps to it.

Pure: no database, no clock, no network.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from organiser.domain.states import State
from organiser.errors import UserError


class DoiStatus(StrEnum):
    """pds-doi-service's ``DoiStatus`` (``core/entities/doi.py``), in its order."""

    ERROR = "error"
    UNKNOWN = "unknown"
    RESERVED = "reserved"
    DRAFT = "draft"
    REVIEW = "review"
    PENDING = "pending"
    REGISTERED = "registered"
    FINDABLE = "findable"
    DEACTIVATED = "deactivated"


S, D = State, DoiStatus
#: Each organiser status and the one 0.2 status it is. A record that waits for a pass is at
#: the 0.2 stage its mark decided (a reserve not yet pushed is still a local draft, 0.2's
#: "stored as draft in local database"; an approved one waiting for the register pass is
#: pending, "released but not yet published"); a record whose last try failed keeps its
#: status (the failure is in ``message``), so nothing maps to 0.2's ``error``. A change held
#: for an operator is in review, as 0.2's update of a findable DOI is. DataCite's hidden
#: ``registered`` state is what organiser's delete of a findable DOI leaves: deactivated.
TO_0_2: dict[State, DoiStatus] = {
    S.TO_BE_RESERVED: D.DRAFT,
    S.RESERVED: D.DRAFT,
    S.UPDATE_RESERVED: D.DRAFT,
    S.REVIEW: D.REVIEW,
    S.UPDATE_REVIEW: D.REVIEW,
    S.TO_BE_REGISTERED: D.PENDING,
    S.UPDATE_BEFORE_REGISTRATION: D.PENDING,
    S.REGISTERED: D.FINDABLE,
    S.UPDATE_REGISTERED: D.FINDABLE,
    S.TO_BE_DELETED: D.DEACTIVATED,
    S.DELETED: D.DEACTIVATED,
}


class StatusError(UserError):
    """A value of a 0.2 ``status`` filter that is not a 0.2 status; one line."""


def status_of(state: str) -> DoiStatus:
    """Give the 0.2 status of the organiser status ``state``. Raises ``ValueError`` for a
    value that is no organiser status."""
    return TO_0_2[State(state)]


def states_of(statuses: Iterable[str]) -> tuple[State, ...]:
    """Give every organiser status that one of the 0.2 ``statuses`` (any case, surrounding
    spaces ignored) selects, in the state machine's order; a 0.2 status no organiser status
    maps to (error, unknown, reserved, registered) selects none.

    Raises :class:`StatusError` naming the first value that is not a 0.2 status.
    """
    asked = set()
    for value in statuses:
        try:
            asked.add(DoiStatus(value.strip().lower()))
        except ValueError:
            known = ", ".join(s.value for s in DoiStatus)
            raise StatusError(f"status {value!r}: not a 0.2 status ({known})") from None
    return tuple(state for state in State if TO_0_2[state] in asked)
