"""The organiser's passes: update → reserve → register → delete, the only code that talks to
DataCite.

Each pass claims due records in batches (keyset by id), performs one idempotent remote effect
per record (:mod:`organiser.engine.effects`) with bounded retries, and writes the outcome
through :mod:`organiser.storage.claims`. One record's failure never stops the others; a
systemic failure (credentials refused, wrong endpoint, DataCite unreachable for several
records in a row) stops the run, and so does a stop request (a signal) between records. Either
way the records it had not finished stay as they were and its claims are released.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from organiser.datacite.client import DataCiteClient
from organiser.datacite.errors import DataCiteError, SystemicError, TransientError
from organiser.domain.identifiers import DoiScheme
from organiser.domain.states import Action, pass_states
from organiser.engine.effects import Effects, describe
from organiser.engine.retry import retrying
from organiser.engine.stop import StopFlag
from organiser.errors import Interrupted, Outage
from organiser.storage import claims
from organiser.storage.database import DRIVER_ERRORS
from organiser.storage.models import Record

ORDER = ("update", "reserve", "register", "delete")
OUTCOME = {
    "update": Action.UPDATED,
    "reserve": Action.RESERVED,
    "register": Action.REGISTERED,
    "delete": Action.DELETED,
}

log = structlog.get_logger("organiser")


@dataclass(frozen=True)
class Settings:
    """How hard to try: see ``[datacite]`` and ``[organiser]`` in the configuration."""

    batch_size: int = 100
    claim_for: timedelta = timedelta(minutes=15)
    retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 120.0
    retry_delay: timedelta = timedelta(minutes=5)
    max_retry_delay: timedelta = timedelta(days=1)
    outage_threshold: int = 3


@dataclass(frozen=True)
class Failure:
    """One record that did not reach its target in this run, as the report and alerts show
    it."""

    pass_name: str
    record_id: int
    doi: str
    identifier: str
    node: str | None
    submitter: str | None
    error: str
    transient: bool
    attempts: int  # failed attempts so far, this one included
    retry_at: datetime


@dataclass
class PassResult:
    name: str
    done: int = 0
    failed: int = 0
    skipped: int = 0

    def summary(self) -> str:
        """Give the pass's one-line summary."""
        return f"{self.name}: {self.done} done, {self.failed} failed, {self.skipped} skipped"


@dataclass
class RunResult:
    """What a run did. ``outage``/``interrupted`` say why it was cut short, if it was."""

    started: datetime
    finished: datetime | None = None
    passes: list[PassResult] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    outage: str | None = None
    interrupted: str | None = None

    @property
    def outcome(self) -> str:
        """Give ``ok``, ``failures``, ``outage`` or ``interrupted``."""
        if self.interrupted:
            return "interrupted"
        if self.outage:
            return "outage"
        return "failures" if self.failures else "ok"


class Observer:
    """Hooks a caller may override to follow a run (a progress bar); they do nothing here."""

    def pass_started(self, name: str, due: int) -> None:
        """A pass starts with ``due`` records due."""

    def record_handled(self, name: str, record: Record, outcome: str) -> None:
        """A record was handled: ``outcome`` is done, failed or deferred."""

    def pass_finished(self, name: str) -> None:
        """The pass ended (however it ended)."""


class Organiser:
    """Runs passes for one repository. Seams: ``client`` (HTTP), ``clock``, ``sleep`` (the
    back-off wait; by default ``stop.sleep``, which a stop request cuts short)."""

    def __init__(
        self,
        client: DataCiteClient,
        scheme: DoiScheme,
        settings: Settings,
        actor: str,
        clock: Callable[[], datetime],
        stop: StopFlag | None = None,
        observer: Observer | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings, self.actor, self.clock = settings, actor, clock
        self.stop = stop or StopFlag()
        self.observer = observer or Observer()
        self.owner = claims.run_owner()
        self.effects = Effects(client, scheme, self.owner)
        self._pending: list[tuple[Record, Failure]] = []  # transient failures not yet written
        self._retrying = retrying(
            settings.retries, settings.backoff, settings.max_backoff, sleep or self.stop.sleep
        )

    def run(self, names: Sequence[str], only: Record | None = None) -> RunResult:
        """Run the named passes in the fixed order (``only``: just that record, due or not).

        Gives the per-pass counts and failures; ``outage`` or ``interrupted`` is set when the
        run was cut short. Claims this run still holds when it ends, however it ends, are
        released.
        """
        result = RunResult(started=self.clock())
        try:
            for name in (n for n in ORDER if n in names):
                self.stop.check()
                counts = PassResult(name)
                result.passes.append(counts)
                try:
                    self._pass(name, only, counts, result)
                finally:
                    self.observer.pass_finished(name)
        except Outage as exc:
            result.outage = str(exc)
            log.info("run stopped", reason=str(exc))
        except Interrupted as exc:
            result.interrupted = str(exc)
            log.info("run interrupted", reason=str(exc))
        finally:
            self._pending.clear()  # never written: an outage or a stop is not their fault
            try:
                claims.release(self.owner)
            except DRIVER_ERRORS as exc:  # the database is gone: its own error is reported
                log.info("claims not released; they expire", error=str(exc))
            result.finished = self.clock()
        return result

    def _pass(self, name: str, only: Record | None, counts: PassResult, result: RunResult) -> None:
        states = pass_states(OUTCOME[name])
        only_id = only.id if only else None
        now = self.clock()
        # left alone: waiting for their retry time, or being worked on by another run
        counts.skipped = claims.waiting(states, now, only_id)
        self.observer.pass_started(name, claims.count_due(states, now, only_id))
        after = 0
        while True:
            batch = claims.claim_batch(
                states,
                self.owner,
                after,
                self.settings.batch_size,
                self.clock(),
                self.settings.claim_for,
                only_id,
            )
            for record in batch:
                self.stop.check()
                after = record.id
                self._one(name, record, counts, result)
            if not batch or only:
                break
        self._flush(counts, result)

    def _one(self, name: str, record: Record, counts: PassResult, result: RunResult) -> None:
        started = time.monotonic()
        retrying = self._retrying.copy()
        outcome = "stopped"  # unless one of the outcomes below is reached
        try:
            remote = retrying(getattr(self.effects, name), record)
        except SystemicError as exc:
            outcome = "outage"
            raise Outage(str(exc)) from None
        except TransientError as exc:
            outcome = "deferred"  # written as failed unless an outage follows
            self._pending.append((record, self._failure(name, record, str(exc), True)))
            if len(self._pending) >= self.settings.outage_threshold:
                raise Outage(
                    f"DataCite unreachable for {len(self._pending)} records in a row: {exc}"
                ) from None
        except DataCiteError as exc:
            outcome = "failed"
            self._flush(counts, result)
            self._failed(record, self._failure(name, record, str(exc), False), counts, result)
        except (Interrupted, *DRIVER_ERRORS):
            raise  # the database itself failing is not this record's fault
        except Exception as exc:  # a bug must not stop the other records
            outcome = "failed"
            log.exception("internal error", doi=record.doi)
            self._flush(counts, result)
            failure = self._failure(name, record, f"internal error: {exc!r}", False)
            self._failed(record, failure, counts, result)
        else:
            self._flush(counts, result)
            if claims.finish(
                record,
                self.owner,
                OUTCOME[name],
                self.actor,
                self.clock(),
                remote,
                f"DataCite state {remote or 'none'}",
            ):
                counts.done += 1
                outcome = "done"
            else:
                outcome = "superseded"  # marked again meanwhile: that mark stands
        finally:
            log.info(
                "record",
                doi=record.doi,
                action=name,
                outcome=outcome,
                attempt=retrying.statistics.get("attempt_number", 1),
                ms=round((time.monotonic() - started) * 1000),
            )
        self.observer.record_handled(name, record, outcome)

    def _failure(self, name: str, record: Record, error: str, transient: bool) -> Failure:
        delay = self.settings.max_retry_delay
        if transient:
            delay = min(self.settings.retry_delay * (2 ** min(record.attempts, 20)), delay)
        return Failure(
            name,
            record.id,
            record.doi,
            record.identifier,
            record.node,
            record.submitter,
            error,
            transient,
            record.attempts + 1,
            self.clock() + delay,
        )

    def _flush(self, counts: PassResult, result: RunResult) -> None:
        """Write the transient failures held back while an outage was still possible."""
        pending, self._pending = self._pending, []
        for record, failure in pending:
            self._failed(record, failure, counts, result)

    def _failed(
        self, record: Record, failure: Failure, counts: PassResult, result: RunResult
    ) -> None:
        if claims.fail(record, self.owner, failure.error, self.clock(), failure.retry_at):
            counts.failed += 1
            result.failures.append(failure)
            log.info("failed", pass_name=failure.pass_name, doi=record.doi, error=failure.error)


def plan(
    names: Sequence[str], batch_size: int, now: datetime, only: Record | None = None
) -> Iterator[str]:
    """Give one line per record the named passes would work on now, with what they would
    send (``--dry-run``); claims, sends and changes nothing."""
    only_id = only.id if only else None
    for name in (n for n in ORDER if n in names):
        states, after = pass_states(OUTCOME[name]), 0
        while batch := claims.due(states, after, batch_size, now, only_id):
            for record in batch:
                after = record.id
                yield f"{name}\t{record.doi}\t{record.identifier}\t{describe(name, record)}"
            if only:
                break
