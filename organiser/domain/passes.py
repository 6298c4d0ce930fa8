"""The organiser's passes, as one table: every reader of "which passes are there" reads it.

The engine runs them in this order and records each one's outcome; the CLI makes its
``-u -s -r -d`` / ``--X-all`` flags and its ``--X-doi`` pushes from it; ``--dry-run``, the
alert digest and ``organiser check`` name passes and flags through it. The states a pass
works on come from the state machine (:func:`organiser.domain.states.pass_states`); the
remote effect a pass performs is the engine's ``Effects.<name>`` method, and what it would
send is ``organiser.engine.effects.decide``'s answer for that name.

Pure: no database, no network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from organiser.domain.states import Action, State, pass_states, transition


@dataclass(frozen=True)
class Pass:
    """One pass: its ``name`` (also the name of its engine effect), its short flag letter,
    the outcome it records, what it does at DataCite (the ``--X-all`` help) and how
    ``--X-doi`` pushes one record through it."""

    name: str
    letter: str  # the short flag: -u, -s, -r, -d
    outcome: Action  # what success records; its states are the ones the pass works on
    effect: str  # what the pass does at DataCite, in words
    push_help: str
    push_mark: Action | None = None  # the mark a push applies first
    push_needs: State | None = None  # the status a pushed record must already be in
    push_through: tuple[str, ...] = ()  # passes a push runs before this one (in order)

    @property
    def states(self) -> frozenset[State]:
        """The states the pass works on."""
        return pass_states(self.outcome)

    @property
    def all_flag(self) -> str:
        """The flag that runs the pass over every due record: ``--update-all``."""
        return f"--{self.name}-all"

    @property
    def push_flag(self) -> str:
        """The flag that pushes one record through the pass now: ``--update-doi``."""
        return f"--{self.name}-doi"

    @property
    def push_passes(self) -> tuple[str, ...]:
        """The passes a push runs, in order (``--register-doi`` sends pending metadata
        first)."""
        return (*self.push_through, self.name)


#: The passes, in the order a run takes them: update → reserve → register → delete.
PASSES: tuple[Pass, ...] = (
    Pass(
        "update",
        "u",
        Action.UPDATED,
        "Send new metadata of records marked update-*.",
        "Send this record's metadata now.",
        push_mark=Action.MARK_UPDATE,
    ),
    Pass(
        "reserve",
        "s",
        Action.RESERVED,
        "Reserve (create as draft) records to-be-reserved.",
        "Reserve this to-be-reserved record now.",
        push_needs=State.TO_BE_RESERVED,
    ),
    Pass(
        "register",
        "r",
        Action.REGISTERED,
        "Register (publish) records to-be-registered.",
        "Register this record now (from reserved or any mark).",
        push_mark=Action.MARK_REGISTER,
        push_through=("update",),
    ),
    Pass(
        "delete",
        "d",
        Action.DELETED,
        "Delete drafts and hide registered DOIs of records to-be-deleted.",
        "Delete (or hide) this record, already marked to-be-deleted, now.",
        push_needs=State.TO_BE_DELETED,
    ),
)
#: The pass names in run order.
ORDER: tuple[str, ...] = tuple(p.name for p in PASSES)
#: Each pass by its name.
BY_NAME: dict[str, Pass] = {p.name: p for p in PASSES}


def in_order(names: Iterable[str]) -> list[Pass]:
    """Give the passes named in ``names``, in run order."""
    wanted = set(names)
    return [p for p in PASSES if p.name in wanted]


def pass_for(state: State) -> Pass | None:
    """Give the pass that works on a record in ``state`` (None: no pass does, it is
    settled or waits for a person)."""
    return next((p for p in PASSES if state in p.states), None)


def route(state: State, names: Iterable[str]) -> list[tuple[Pass, State]]:
    """Follow a record in ``state`` through the passes named in ``names``, in run order, as
    each would take it on success: give each pass that would work on it with the state it
    would find the record in."""
    steps = []
    for step in in_order(names):
        if state in step.states:
            steps.append((step, state))
            state = transition(state, step.outcome).state
    return steps
