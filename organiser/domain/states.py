"""The record state machine: the only place that decides how a record's status may change.

Pure: no database, no clock, no network. Callers (:mod:`organiser.storage.records` and
:mod:`organiser.storage.claims`) ask :func:`transition`
for the next state and write it together with a history row.

States follow DSpace's ``doi-organiser``. *Marks* are local intentions recorded by intake
commands; *outcomes* are what a pass records once DataCite confirmed the effect.

Review before release: ``submit`` takes a reserved record (a draft at DataCite) to
``review``; approving is the register mark (→ to-be-registered), ``reject`` takes it back to
reserved. No pass works on a record in review.

Review of changes: a submitter's new metadata for a published DOI (registered, or approved and
waiting for the register pass) is a *proposal* (``mark-propose``): the record goes to
``update-review`` and the change is held beside the record, never sent, until an operator
approves it (the register mark: → the update state of where it was) or rejects it (back to
where it was, the change dropped). An operator's update goes straight.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """A record's status. The values are what the database stores and what users type."""

    TO_BE_RESERVED = "to-be-reserved"
    RESERVED = "reserved"
    REVIEW = "review"  # submitted for release: a draft at DataCite waiting for approval
    TO_BE_REGISTERED = "to-be-registered"
    REGISTERED = "registered"
    UPDATE_RESERVED = "update-reserved"
    UPDATE_REGISTERED = "update-registered"
    UPDATE_BEFORE_REGISTRATION = "update-before-registration"
    #: a submitter's change to a published (or approved) record, waiting for an operator;
    #: ``prior_status`` is where the record returns when the change is rejected
    UPDATE_REVIEW = "update-review"
    TO_BE_DELETED = "to-be-deleted"
    DELETED = "deleted"


class Action(StrEnum):
    """What happened to a record: a local mark or a confirmed remote outcome."""

    MARK_RESERVE = "mark-reserve"
    MARK_REGISTER = "mark-register"
    MARK_UPDATE = "mark-update"
    MARK_DELETE = "mark-delete"
    MARK_RECREATE = "mark-recreate"  # the DOI is missing at DataCite: send it again
    MARK_SUBMIT = "mark-submit"  # a reserved record is submitted for release: review
    MARK_REJECT = "mark-reject"  # a record in review is sent back: reserved again
    MARK_PROPOSE = "mark-propose"  # a submitter's new metadata: reviewed if the DOI is public
    RESERVED = "reserved"
    REGISTERED = "registered"
    UPDATED = "updated"
    DELETED = "deleted"
    ADOPTED = "adopted"  # DataCite already held the DOI findable for this record
    IMPORTED = "imported"  # read from the DataCite account by ``organiser import``


class InvalidTransition(ValueError):
    """Raised when an action is not allowed from a record's current state."""


S = State
UPDATE_STATES = frozenset({S.UPDATE_RESERVED, S.UPDATE_REGISTERED, S.UPDATE_BEFORE_REGISTRATION})
#: States in which a record is waiting for a pass (what ``organiser --list`` shows).
QUEUED_STATES = frozenset({S.TO_BE_RESERVED, S.TO_BE_REGISTERED, S.TO_BE_DELETED} | UPDATE_STATES)
#: States in which a record waits for an operator's approval: a first release, or a
#: submitter's change to a published (or approved) DOI.
IN_REVIEW = frozenset({S.REVIEW, S.UPDATE_REVIEW})
#: States no pass works on: what DataCite should hold is settled (``organiser check`` compares).
#: A record in review waits for a person (approve or reject), not for a pass: a draft.
SETTLED_STATES = frozenset({S.RESERVED, S.REVIEW, S.REGISTERED, S.DELETED})

#: For each update state, the state the update pass returns the record to.
UPDATE_RETURNS = {
    S.UPDATE_RESERVED: S.RESERVED,
    S.UPDATE_REGISTERED: S.REGISTERED,
    S.UPDATE_BEFORE_REGISTRATION: S.TO_BE_REGISTERED,
}

_MARK_REGISTER = {
    S.TO_BE_RESERVED: S.TO_BE_REGISTERED,
    S.RESERVED: S.TO_BE_REGISTERED,
    S.REVIEW: S.TO_BE_REGISTERED,  # approved
    S.TO_BE_REGISTERED: S.TO_BE_REGISTERED,
    S.UPDATE_RESERVED: S.UPDATE_BEFORE_REGISTRATION,
    S.UPDATE_BEFORE_REGISTRATION: S.UPDATE_BEFORE_REGISTRATION,
}
_MARK_UPDATE = {
    S.TO_BE_RESERVED: S.TO_BE_RESERVED,  # nothing at DataCite yet: the new metadata simply waits
    S.RESERVED: S.UPDATE_RESERVED,
    S.REVIEW: S.UPDATE_RESERVED,  # new metadata leaves review: it needs a new one (submit again)
    S.TO_BE_REGISTERED: S.UPDATE_BEFORE_REGISTRATION,
    S.REGISTERED: S.UPDATE_REGISTERED,
    **{s: s for s in UPDATE_STATES},
}
_MARK_DELETE = {s: S.TO_BE_DELETED for s in State if s is not S.DELETED}
#: ``check --repair`` of a settled record whose DOI DataCite no longer has (a draft in review
#: is created again as a draft; it is submitted again once it is reserved)
_MARK_RECREATE = {
    S.RESERVED: S.TO_BE_RESERVED,
    S.REVIEW: S.TO_BE_RESERVED,
    S.REGISTERED: S.TO_BE_REGISTERED,
}
#: Review before release: only a reserved record (a draft at DataCite) is submitted;
#: submitting one already in review changes nothing. Approving is ``MARK_REGISTER``.
_MARK_SUBMIT = {S.RESERVED: S.REVIEW, S.REVIEW: S.REVIEW}
_MARK_REJECT = {S.REVIEW: S.RESERVED}
#: A submitter's new metadata: before anything is public it is an update (a draft's new
#: metadata leaves review, as ``MARK_UPDATE``); for a published DOI, or one approved and
#: waiting, it waits for an operator in ``update-review`` (the change held, not applied).
_MARK_PROPOSE = {
    S.TO_BE_RESERVED: S.TO_BE_RESERVED,
    S.RESERVED: S.UPDATE_RESERVED,
    S.REVIEW: S.UPDATE_RESERVED,
    S.UPDATE_RESERVED: S.UPDATE_RESERVED,
    S.TO_BE_REGISTERED: S.UPDATE_REVIEW,
    S.UPDATE_BEFORE_REGISTRATION: S.UPDATE_REVIEW,
    S.REGISTERED: S.UPDATE_REVIEW,
}
#: States from which a proposal is held for review (the record returns there on reject).
PROPOSAL_RETURNS = frozenset({S.TO_BE_REGISTERED, S.UPDATE_BEFORE_REGISTRATION, S.REGISTERED})

#: Pass outcomes: the state a record must be in for the pass, and where success takes it.
_OUTCOMES = {
    Action.RESERVED: {S.TO_BE_RESERVED: S.RESERVED},
    Action.REGISTERED: {S.TO_BE_REGISTERED: S.REGISTERED},
    Action.UPDATED: dict(UPDATE_RETURNS),
    Action.DELETED: {S.TO_BE_DELETED: S.DELETED},
    # a reserve (or an update of a reserved record) found the DOI findable at DataCite, held
    # for this record: it cannot go back to draft, so the record is registered
    Action.ADOPTED: {S.TO_BE_RESERVED: S.REGISTERED, S.UPDATE_RESERVED: S.REGISTERED},
}

#: The local status of a DOI imported from DataCite, by its DataCite state. A hidden
#: ("registered") DOI is what organiser's own delete of a findable DOI leaves: deleted.
IMPORTED_STATES = {"draft": S.RESERVED, "findable": S.REGISTERED, "registered": S.DELETED}
#: DataCite's DOI states (``registered``: hidden, resolvable but not in DataCite's search).
DATACITE_STATES = ("draft", "registered", "findable")
#: The DataCite state each settled status stands for (what ``organiser check`` expects there):
#: the other way round of :data:`IMPORTED_STATES`; a record in review is still a draft.
SETTLED_REMOTE = {local: remote for remote, local in IMPORTED_STATES.items()} | {S.REVIEW: "draft"}

_TABLES = {
    Action.MARK_REGISTER: _MARK_REGISTER,
    Action.MARK_UPDATE: _MARK_UPDATE,
    Action.MARK_DELETE: _MARK_DELETE,
    Action.MARK_RECREATE: _MARK_RECREATE,
    Action.MARK_SUBMIT: _MARK_SUBMIT,
    Action.MARK_REJECT: _MARK_REJECT,
    Action.MARK_PROPOSE: _MARK_PROPOSE,
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
    (Action.MARK_SUBMIT, S.TO_BE_RESERVED): (
        "is not reserved yet; run the reserve pass (organiser -s) first, then submit it"
    ),
    (Action.MARK_SUBMIT, S.UPDATE_RESERVED): (
        "has new metadata waiting for the update pass (organiser -u); submit it after that"
    ),
    (Action.MARK_SUBMIT, S.TO_BE_REGISTERED): "is already approved for registration",
    (Action.MARK_SUBMIT, S.UPDATE_BEFORE_REGISTRATION): (
        "is already approved for registration (an update is pending)"
    ),
    (Action.MARK_SUBMIT, S.REGISTERED): "is already registered",
    (Action.MARK_SUBMIT, S.UPDATE_REGISTERED): "is already registered (an update is pending)",
    (Action.MARK_SUBMIT, S.TO_BE_DELETED): "is marked for deletion and cannot be submitted",
    (Action.MARK_SUBMIT, S.DELETED): "is deleted and cannot be submitted",
    **{
        (Action.MARK_REJECT, s): f"is {s}, not in review"
        for s in State
        if s not in (S.REVIEW, S.UPDATE_REVIEW)
    },
    (Action.MARK_PROPOSE, S.UPDATE_REGISTERED): (
        "has an operator's update waiting for the update pass; propose the change after it"
    ),
    (Action.MARK_PROPOSE, S.TO_BE_DELETED): "is marked for deletion and cannot be updated",
    (Action.MARK_PROPOSE, S.DELETED): "is deleted and cannot be updated",
    (Action.MARK_SUBMIT, S.UPDATE_REVIEW): "is already in review (a change to it)",
    # what an operator approves is what they reviewed: a held change is never swapped
    (Action.MARK_PROPOSE, S.UPDATE_REVIEW): (
        "already has a change waiting for review; an operator approves or rejects it first"
    ),
    (Action.MARK_RECREATE, S.UPDATE_REVIEW): ("has a change in review; approve or reject it first"),
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
    if current is S.UPDATE_REVIEW:
        return _from_update_review(action, prior)
    table = _TABLES.get(action, {})  # IMPORTED has its own rule: imported()
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
    if new is S.UPDATE_REVIEW:  # where a rejection returns it
        return Step(new, current)
    return Step(new, None)


def _from_update_review(action: Action, prior: State | None) -> Step:
    """Give the step of ``action`` for a record whose proposed change waits in review, having
    come from ``prior`` (where a rejection returns it)."""
    back = prior if prior in PROPOSAL_RETURNS else S.REGISTERED
    if action is Action.MARK_REJECT:
        return (
            transition(back, Action.MARK_UPDATE, None)
            if back in UPDATE_STATES
            else Step(back, None)
        )
    if action in (Action.MARK_REGISTER, Action.MARK_UPDATE):
        # approved (or overridden by an operator's own update): an update of where it was
        return transition(back, Action.MARK_UPDATE, None)
    if action is Action.MARK_DELETE:
        return Step(S.TO_BE_DELETED, back)
    reason = _REFUSALS.get((action, S.UPDATE_REVIEW))
    raise InvalidTransition(
        reason or f"is {S.UPDATE_REVIEW}, not in a state that {action} applies to"
    )


def imported(current: State | None, remote_state: str) -> Step:
    """Give the step of :attr:`Action.IMPORTED`: a record (``current`` is ``None`` when it is
    new here) takes the status that matches the DOI's DataCite ``remote_state``.

    A record in review whose DOI is still a draft stays in review (it waits for a person).
    Raises :class:`InvalidTransition` when the record waits for a pass (its own intent is
    left to carry out), is deleted (final: a DOI is never reused), or for a state DataCite
    does not have.
    """
    if current is S.UPDATE_REVIEW:
        raise InvalidTransition("has a change in review: left as it is")
    if current is not None and current not in SETTLED_STATES:
        raise InvalidTransition(f"is {current}: waiting for a pass, left as it is")
    if current is S.DELETED:
        raise InvalidTransition("is deleted (final): left as it is")
    try:
        new = IMPORTED_STATES[remote_state]
        return Step(S.REVIEW if current is S.REVIEW and new is S.RESERVED else new, None)
    except KeyError:
        raise InvalidTransition(f"has an unknown DataCite state {remote_state!r}") from None


def outcome_of(action: Action, current: State, remote_state: str | None) -> Action:
    """Give the outcome a pass records when its effect ``action`` succeeded on a record in
    ``current`` and DataCite answered ``remote_state``: :attr:`Action.ADOPTED` when a record
    that was to stay a draft is findable at DataCite, else ``action`` itself."""
    if (
        action in (Action.RESERVED, Action.UPDATED)
        and remote_state == "findable"
        and current in _OUTCOMES[Action.ADOPTED]
    ):
        return Action.ADOPTED
    return action


def pass_states(action: Action) -> frozenset[State]:
    """Give the states a pass producing outcome ``action`` works on."""
    return frozenset(_OUTCOMES[action])
