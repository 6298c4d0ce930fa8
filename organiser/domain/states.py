"""The record state machine: the only place that decides how a record's status may change.

Pure: no database, no clock, no network. Callers (:mod:`organiser.storage.records` and
:mod:`organiser.storage.claims`) ask :func:`transition`
for the next state and write it together with a history row.

States follow DSpace's ``doi-organiser``. *Marks* are local intentions recorded by intake
commands; *outcomes* are what a pass records once DataCite confirmed the effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """A record's status. The values are what the database stores and what users type."""

    TO_BE_RESERVED = "to-be-reserved"
    RESERVED = "reserved"
    TO_BE_REGISTERED = "to-be-registered"
    REGISTERED = "registered"
    UPDATE_RESERVED = "update-reserved"
    UPDATE_REGISTERED = "update-registered"
    UPDATE_BEFORE_REGISTRATION = "update-before-registration"
    TO_BE_DELETED = "to-be-deleted"
    DELETED = "deleted"


class Action(StrEnum):
    """What happened to a record: a local mark or a confirmed remote outcome."""

    MARK_RESERVE = "mark-reserve"
    MARK_REGISTER = "mark-register"
    MARK_UPDATE = "mark-update"
    MARK_DELETE = "mark-delete"
    RESERVED = "reserved"
    REGISTERED = "registered"
    UPDATED = "updated"
    DELETED = "deleted"


class InvalidTransition(ValueError):
    """Raised when an action is not allowed from a record's current state."""


S = State
UPDATE_STATES = frozenset({S.UPDATE_RESERVED, S.UPDATE_REGISTERED, S.UPDATE_BEFORE_REGISTRATION})
#: States in which a record is waiting for a pass (what ``organiser --list`` shows).
QUEUED_STATES = frozenset({S.TO_BE_RESERVED, S.TO_BE_REGISTERED, S.TO_BE_DELETED} | UPDATE_STATES)

#: For each update state, the state the update pass returns the record to.
UPDATE_RETURNS = {
    S.UPDATE_RESERVED: S.RESERVED,
    S.UPDATE_REGISTERED: S.REGISTERED,
    S.UPDATE_BEFORE_REGISTRATION: S.TO_BE_REGISTERED,
}

_MARK_REGISTER = {
    S.TO_BE_RESERVED: S.TO_BE_REGISTERED,
    S.RESERVED: S.TO_BE_REGISTERED,
    S.TO_BE_REGISTERED: S.TO_BE_REGISTERED,
    S.UPDATE_RESERVED: S.UPDATE_BEFORE_REGISTRATION,
    S.UPDATE_BEFORE_REGISTRATION: S.UPDATE_BEFORE_REGISTRATION,
}
_MARK_UPDATE = {
    S.TO_BE_RESERVED: S.TO_BE_RESERVED,  # nothing at DataCite yet: the new metadata simply waits
    S.RESERVED: S.UPDATE_RESERVED,
    S.TO_BE_REGISTERED: S.UPDATE_BEFORE_REGISTRATION,
    S.REGISTERED: S.UPDATE_REGISTERED,
    **{s: s for s in UPDATE_STATES},
}
_MARK_DELETE = {s: S.TO_BE_DELETED for s in State if s is not S.DELETED}

#: Pass outcomes: the state a record must be in for the pass, and where success takes it.
_OUTCOMES = {
    Action.RESERVED: {S.TO_BE_RESERVED: S.RESERVED},
    Action.REGISTERED: {S.TO_BE_REGISTERED: S.REGISTERED},
    Action.UPDATED: dict(UPDATE_RETURNS),
    Action.DELETED: {S.TO_BE_DELETED: S.DELETED},
}

_TABLES = {
    Action.MARK_REGISTER: _MARK_REGISTER,
    Action.MARK_UPDATE: _MARK_UPDATE,
    Action.MARK_DELETE: _MARK_DELETE,
    **_OUTCOMES,
}

_REFUSALS = {
    (Action.MARK_REGISTER, S.REGISTERED): "is already registered",
    (Action.MARK_REGISTER, S.UPDATE_REGISTERED): "is already registered (an update is pending)",
    (Action.MARK_REGISTER, S.TO_BE_DELETED): "is marked for deletion and cannot be registered",
    (Action.MARK_REGISTER, S.DELETED): "is deleted and cannot be registered",
    (Action.MARK_UPDATE, S.TO_BE_DELETED): "is marked for deletion and cannot be updated",
    (Action.MARK_UPDATE, S.DELETED): "is deleted and cannot be updated",
    (Action.MARK_DELETE, S.DELETED): "is already deleted",
}


@dataclass(frozen=True)
class Step:
    """The result of a transition: the new state and the state to remember alongside it.

    ``prior`` is what the record must keep in ``prior_status``: the state an update returns
    to, or the state a deletion started from. ``None`` clears it.
    """

    state: State
    prior: State | None


def transition(current: State | None, action: Action, prior: State | None = None) -> Step:
    """Give the step that ``action`` takes a record in state ``current`` to.

    ``current`` is ``None`` for a record that does not exist yet (only ``MARK_RESERVE``
    applies). ``prior`` is the record's stored ``prior_status``.

    Raises :class:`InvalidTransition` with a sentence fragment ("is already deleted") when
    the move is not allowed.
    """
    if action is Action.MARK_RESERVE:
        if current is not None:
            raise InvalidTransition(f"already exists (status {current})")
        return Step(S.TO_BE_RESERVED, None)
    if current is None:
        raise InvalidTransition("does not exist")
    table = _TABLES[action]
    if current not in table:
        reason = _REFUSALS.get((action, current))
        if reason is None:
            reason = f"is {current}, not in a state that {action} applies to"
        raise InvalidTransition(reason)
    new = table[current]
    if new in UPDATE_STATES:
        return Step(new, UPDATE_RETURNS[new])
    if new is S.TO_BE_DELETED:
        return Step(new, prior if current is S.TO_BE_DELETED else current)
    return Step(new, None)


def pass_states(action: Action) -> frozenset[State]:
    """Give the states a pass producing outcome ``action`` works on."""
    return frozenset(_OUTCOMES[action])
