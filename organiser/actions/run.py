"""The run sequence that cron, the systemd timer, the daemon and a push by hand all share:
take the host's run lock, free dead claims, run the passes, log the run, send alerts."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from organiser.actions import alerts, binding
from organiser.app import App
from organiser.domain.passes import BY_NAME, route
from organiser.domain.states import Action, InvalidTransition, State, transition
from organiser.engine import passes
from organiser.engine.effects import describe
from organiser.engine.passes import Observer, RunResult
from organiser.engine.stop import StopFlag
from organiser.storage import claims, records, runs
from organiser.storage.models import Record

log = structlog.get_logger("organiser.run")


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
    a DataCite account, ``BindingMismatch`` (nothing sent) when the database is bound to
    another DataCite endpoint or account, ``DatabaseError``/``DatabaseUnavailable`` for
    database trouble.
    """
    with app.run_lock.held_for(), contextlib.ExitStack() as run:
        organiser = app.organiser(actor, stop, observer)
        # its connections closed with the run, not when the garbage collector comes
        for client in organiser.effects.clients.values():
            run.enter_context(client.session)
        binding.guard(app, actor)  # before the first request: the endpoint it is bound to
        freed = claims.release_dead_claims(app.host, _alive)
        if freed:
            log.info("freed claims of a dead run", records=freed)
        run_id = runs.start(app.host, actor, app.clock())
        result = organiser.run(names, only)
        counts = {
            p.name: {"done": p.done, "failed": p.failed, "skipped": p.skipped}
            for p in result.passes
        }
        runs.finish(
            run_id, app.clock(), result.outcome, counts, result.outage or result.interrupted
        )
        limiter = organiser.effects.client.limiter
        log.info(
            "run finished",
            actor=actor,
            outcome=result.outcome,
            **{f"{name}_done": c["done"] for name, c in counts.items()},
            failed=len(result.failures),
            requests=limiter.sent if limiter else None,  # retries included
            throttled=limiter.throttled if limiter else None,  # answers that said slow down
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
    step = BY_NAME[what]
    action = step.push_mark
    app.require_datacite()  # no account, no mark: refuse before writing anything
    with app.run_lock.held_for():
        app.open_db()
        record = _pushable(what, ref)
        actor = f"organiser {step.push_flag} {ref}"
        binding.guard(app, actor)  # refused: the record is not marked either
        if action is Action.MARK_UPDATE:
            attributes = records.attributes_of(record)
            records.mark(record, action, actor, app.clock(), attributes, record.url)
        elif action is not None:
            records.mark(record, action, actor, app.clock())
        record = Record.get_by_id(record.id)
        return run_passes(app, step.push_passes, actor, stop, observer, record)


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
    step = BY_NAME[what]
    needed = step.push_needs
    record = records.find(ref)
    if record.status == State.UPDATE_REVIEW and step.push_mark is Action.MARK_UPDATE:
        raise records.RecordError(
            f"{record.doi} has a change in review; approve it (organiser register) or reject "
            "it first"
        )
    if needed is not None and record.status != needed:
        hint = f"; mark it first: organiser {what} {ref}" if what == "delete" else ""
        raise records.RecordError(
            f"{record.doi} is {record.status}; {step.push_flag} pushes a record marked "
            f"{needed}{hint}"
        )
    if step.push_mark is not None:  # the mark must apply too
        try:
            prior = records.state_or_none(record.prior_status)
            transition(State(record.status), step.push_mark, prior)
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
    push_ = BY_NAME[what]
    record = _pushable(what, ref)
    marked = State(record.status)
    if push_.push_mark is not None:
        prior = records.state_or_none(record.prior_status)
        marked = transition(marked, push_.push_mark, prior).state
    lines = []
    # follow the record through the push's passes, as they would take it
    for step, state in route(marked, push_.push_passes):
        record.status = str(state)
        lines.append(
            f"{step.name}\t{record.doi}\t{record.identifier}\t{describe(step.name, record)}"
        )
    return lines
