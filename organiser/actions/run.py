"""The run sequence that cron, the systemd timer, the daemon and a push by hand all share:
take the host's run lock, free dead claims, run the passes, log the run, send alerts."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from organiser.actions import alerts
from organiser.app import App
from organiser.domain.states import Action, InvalidTransition, State, pass_states, transition
from organiser.engine import passes
from organiser.engine.effects import describe
from organiser.engine.passes import ORDER, Observer, RunResult
from organiser.engine.stop import StopFlag
from organiser.storage import claims, records, runs
from organiser.storage.models import Record

log = structlog.get_logger("organiser.run")

#: push option -> (passes run for it, the mark applied first, the status it must be in)
PUSHES: dict[str, tuple[tuple[str, ...], Action | None, State | None]] = {
    "reserve": (("reserve",), None, State.TO_BE_RESERVED),
    "update": (("update",), Action.MARK_UPDATE, None),
    "register": (("update", "register"), Action.MARK_REGISTER, None),
    "delete": (("delete",), None, State.TO_BE_DELETED),
}


@dataclass(frozen=True)
class RunOutcome:
    """A finished run and, if alerts could not be mailed, why."""

    result: RunResult
    alert_warning: str | None = None


def run_passes(
    app: App,
    names: Sequence[str],
    actor: str,
    stop: StopFlag,
    observer: Observer | None = None,
    only: Record | None = None,
) -> RunOutcome:
    """Run the named passes (in the fixed order) under the run lock; give the outcome.

    Raises ``LockHeld`` when another run on this host holds the lock, ``ConfigError`` without
    a DataCite account, ``DatabaseError``/``DatabaseUnavailable`` for database trouble.
    """
    with app.run_lock.held_for():
        organiser = app.organiser(actor, stop, observer)
        freed = claims.release_dead_claims(app.host, _alive)
        if freed:
            log.info("freed claims of a dead run", records=freed)
        run_id = runs.start(app.host, actor, app.clock())
        result = organiser.run([n for n in ORDER if n in names], only)
        counts = {
            p.name: {"done": p.done, "failed": p.failed, "skipped": p.skipped}
            for p in result.passes
        }
        runs.finish(
            run_id, app.clock(), result.outcome, counts, result.outage or result.interrupted
        )
        log.info(
            "run finished",
            actor=actor,
            outcome=result.outcome,
            **{f"{name}_done": c["done"] for name, c in counts.items()},
            failed=len(result.failures),
        )
        return RunOutcome(result, alerts.after_run(app, result))


def push(
    app: App, what: str, ref: str, stop: StopFlag, observer: Observer | None = None
) -> RunOutcome:
    """Push one record now (``organiser --register-doi ID`` …), due or not: apply the mark
    the push implies, then run its passes on that record alone.

    Raises ``RecordError`` for an unknown record or one not in a state the push applies to
    (``--reserve-doi`` needs to-be-reserved, ``--delete-doi`` to-be-deleted, as in DSpace).
    """
    names, action, _ = PUSHES[what]
    flag = f"--{what}-doi"
    app.client()  # no account, no mark: refuse before writing anything
    with app.run_lock.held_for():
        app.open_db()
        record = _pushable(what, ref)
        actor = f"organiser {flag} {ref}"
        if action is Action.MARK_UPDATE:
            attributes = records.attributes_of(record)
            records.mark(record, action, actor, app.clock(), attributes, record.url)
        elif action is not None:
            records.mark(record, action, actor, app.clock())
        return run_passes(app, names, actor, stop, observer, Record.get_by_id(record.id))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pushable(what: str, ref: str) -> Record:
    """Give the record ``ref`` names if ``--<what>-doi`` applies to it. Raises
    ``RecordError`` otherwise."""
    _, action, needed = PUSHES[what]
    record = records.find(ref)
    if needed is not None and record.status != needed:
        hint = f"; mark it first: organiser {what} {ref}" if what == "delete" else ""
        raise records.RecordError(
            f"{record.doi} is {record.status}; --{what}-doi pushes a record marked {needed}{hint}"
        )
    if action is not None:  # the mark must apply too
        try:
            transition(State(record.status), action, records.state_or_none(record.prior_status))
        except InvalidTransition as exc:
            raise records.RecordError(f"{record.doi} {exc}") from None
    return record


def plan(app: App, names: Sequence[str]) -> list[str]:
    """Give what a run of ``names`` would send now, one line per record; nothing is
    claimed, sent or changed. Needs no DataCite account."""
    app.open_db()
    return list(passes.plan(names, app.config["organiser"]["batch_size"], app.clock()))


def plan_push(app: App, what: str, ref: str) -> list[str]:
    """Give what ``--<what>-doi ref`` would send now (its mark applied in memory only).
    Raises ``RecordError`` as the push itself would."""
    app.open_db()
    names, action, _ = PUSHES[what]
    record = _pushable(what, ref)
    if action is not None:
        step = transition(State(record.status), action, records.state_or_none(record.prior_status))
        record.status = str(step.state)
    lines = []
    for name in names:  # follow the record through the push's passes, as they would take it
        state = State(record.status)
        if state in pass_states(passes.OUTCOME[name]):
            lines.append(f"{name}\t{record.doi}\t{record.identifier}\t{describe(name, record)}")
            record.status = str(transition(state, passes.OUTCOME[name]).state)
    return lines
