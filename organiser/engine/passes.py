"""Running the organiser's passes (:data:`organiser.domain.passes.PASSES`: update → reserve
→ register → delete), the only code that changes anything at DataCite (``organiser import``
and ``organiser check`` only list the account's DOIs).

Each pass claims due records in batches (keyset by id), performs one idempotent remote effect
per record (:mod:`organiser.engine.effects`) with bounded retries, and writes the outcome
through :mod:`organiser.storage.claims`. One record's failure never stops the others; a
systemic failure (credentials refused, wrong endpoint, DataCite unreachable for several
records in a row) stops the run, and so does a stop request (a signal) between records. Either
way the records it had not finished stay as they were and its claims are released.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from organiser.datacite.client import DataCiteClient
from organiser.datacite.errors import DataCiteError, SystemicError, TransientError
from organiser.domain.identifiers import DoiScheme
from organiser.domain.passes import BY_NAME, in_order
from organiser.domain.states import State, outcome_of
from organiser.engine.effects import Effects, describe
from organiser.engine.retry import retrying
from organiser.engine.stop import StopFlag
from organiser.errors import Interrupted, Outage
from organiser.storage import claims
from organiser.storage.database import DRIVER_ERRORS
from organiser.storage.models import Record

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
    workers: int = 8


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
    account: str | None = None  # the record's DataCite account, when there are several


@dataclass(frozen=True)
class Attempt:
    """What one record's effect did in its worker: DataCite's state, or the error."""

    remote: str | None
    error: BaseException | None
    attempts: int
    ms: int


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
    """Runs passes for one repository. Seams: ``client`` (HTTP: one, or one per account by
    name, each record sent through its account's), ``clock``, ``sleep`` (the back-off wait;
    by default ``stop.sleep``, which a stop request cuts short)."""

    def __init__(
        self,
        client: DataCiteClient | Mapping[str, DataCiteClient],
        scheme: DoiScheme | Mapping[str, DoiScheme],
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
        self._abort = StopFlag()  # per pass: tells the workers to give up their waits
        self._sleep = sleep
        self._retrying = retrying(
            settings.retries, settings.backoff, settings.max_backoff, self._wait
        )
        self._watch()

    def _watch(self) -> None:
        """Let every client's requests and waits give up when the pass does."""
        for client in self.effects.clients.values():
            client.before_request = self._abort.check

    def run(self, names: Sequence[str], only: Record | None = None) -> RunResult:
        """Run the named passes in the fixed order (``only``: just that record, due or not).

        Gives the per-pass counts and failures; ``outage`` or ``interrupted`` is set when the
        run was cut short. Claims this run still holds when it ends, however it ends, are
        released.
        """
        result = RunResult(started=self.clock())
        try:
            for name in (p.name for p in in_order(names)):
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
        """Claim due records batch by batch and keep up to ``workers`` of them in flight;
        outcomes are written here, in the pass's own thread, as the attempts complete."""
        states = BY_NAME[name].states
        only_id = only.id if only else None
        now = self.clock()
        # left alone: waiting for their retry time, or being worked on by another run
        counts.skipped = claims.waiting(states, now, only_id)
        self.observer.pass_started(name, claims.count_due(states, now, only_id))
        queue: deque[Record] = deque()
        in_flight: dict[Future[Attempt], Record] = {}
        after, exhausted = 0, False
        pool = ThreadPoolExecutor(self.settings.workers, thread_name_prefix=f"organiser-{name}")
        try:
            while True:
                while not exhausted and len(in_flight) < self.settings.workers:
                    if self.stop.requested:
                        break
                    if not queue:
                        batch = claims.claim_batch(
                            states,
                            self.owner,
                            after,
                            self.settings.batch_size,
                            self.clock(),
                            self.settings.claim_for,
                            only_id,
                        )
                        queue.extend(batch)
                        after = batch[-1].id if batch else after
                        exhausted = not batch or only is not None
                        if not batch:
                            break
                    record = queue.popleft()
                    in_flight[pool.submit(self._attempt, name, record)] = record
                if not in_flight:
                    break
                finished, _ = wait(in_flight, timeout=0.25, return_when=FIRST_COMPLETED)
                if self.stop.requested:  # waits are given up; requests under way finish
                    self._abort.request(self.stop.reason)
                for future in sorted(finished, key=lambda f: in_flight[f].id):
                    self._settle(name, in_flight.pop(future), future.result(), counts, result)
            self.stop.check()
            self._flush(counts, result)
        except BaseException:
            self._abort.request("the pass ended")  # workers give up their waits
            for future in in_flight:  # the records in flight are finished, not abandoned
                future.cancel()
            for future, record in in_flight.items():
                if not future.cancelled():
                    self._settle_quietly(name, record, future.result(), counts, result)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._abort = StopFlag()
            self._watch()

    def _wait(self, seconds: float) -> None:
        """Back off before a retry; raise :class:`Interrupted` if the pass is giving up."""
        if self._sleep is None:
            self._abort.sleep(seconds)
        else:
            self._abort.check()
            self._sleep(seconds)

    def _attempt(self, name: str, record: Record) -> Attempt:
        """Perform the pass's effect for ``record`` with retries (in a worker thread); give
        what happened, never raise."""
        started = time.monotonic()
        retrying = self._retrying.copy()
        try:
            remote = retrying(getattr(self.effects, name), record)
            error: BaseException | None = None
        except BaseException as exc:  # judged by the pass's thread
            remote, error = None, exc
        return Attempt(
            remote,
            error,
            retrying.statistics.get("attempt_number", 1),
            round((time.monotonic() - started) * 1000),
        )

    def _settle(
        self, name: str, record: Record, attempt: Attempt, counts: PassResult, result: RunResult
    ) -> None:
        """Write what ``attempt`` did to ``record``; raise :class:`Outage` when it shows that
        DataCite cannot be worked with, :class:`Interrupted` when a stop cut it short."""
        error, outcome = attempt.error, "stopped"
        try:
            if isinstance(error, SystemicError):
                outcome = "outage"
                raise Outage(str(error))
            if isinstance(error, TransientError):
                outcome = "deferred"  # written as failed unless an outage follows
                self._pending.append((record, self._failure(name, record, str(error), True)))
                if len(self._pending) >= self.settings.outage_threshold:
                    raise Outage(
                        f"DataCite unreachable for {len(self._pending)} records in a row: {error}"
                    )
            elif isinstance(error, DataCiteError):
                outcome = "failed"
                self._flush(counts, result)
                self._failed(record, self._failure(name, record, str(error), False), counts, result)
            elif isinstance(error, (Interrupted, *DRIVER_ERRORS)):
                raise error  # a stop, or the database itself failing: not this record's fault
            elif error is not None:  # a bug must not stop the other records
                outcome = "failed"
                log.error("internal error", doi=record.doi, exc_info=error)
                self._flush(counts, result)
                failure = self._failure(name, record, f"internal error: {error!r}", False)
                self._failed(record, failure, counts, result)
            else:
                self._flush(counts, result)
                if claims.finish(
                    record,
                    self.owner,
                    outcome_of(BY_NAME[name].outcome, State(record.status), attempt.remote),
                    self.actor,
                    self.clock(),
                    attempt.remote,
                    f"DataCite state {attempt.remote or 'none'}",
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
                attempt=attempt.attempts,
                ms=attempt.ms,
            )
        self.observer.record_handled(name, record, outcome)

    def _settle_quietly(
        self, name: str, record: Record, attempt: Attempt, counts: PassResult, result: RunResult
    ) -> None:
        """Settle a record still in flight when the pass stops: a success is written, a
        failure only if it is the record's own (not the outage's, not the stop's)."""
        if attempt.error is None or (
            isinstance(attempt.error, DataCiteError)
            and not isinstance(attempt.error, TransientError | SystemicError)
        ):
            with contextlib.suppress(Outage, Interrupted):
                self._settle(name, record, attempt, counts, result)

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
            record.account if len(self.effects.clients) > 1 else None,
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
            log.info(
                "failed",
                pass_name=failure.pass_name,
                doi=record.doi,
                error=failure.error,
                transient=failure.transient,  # its severity: warning if so, else error
            )


def plan(
    names: Sequence[str], batch_size: int, now: datetime, only: Record | None = None
) -> Iterator[str]:
    """Give one line per record the named passes would work on now, with what they would
    send (``--dry-run``); claims, sends and changes nothing."""
    only_id = only.id if only else None
    for step in in_order(names):
        name, states, after = step.name, step.states, 0
        while batch := claims.due(states, after, batch_size, now, only_id):
            for record in batch:
                after = record.id
                yield f"{name}\t{record.doi}\t{record.identifier}\t{describe(name, record)}"
            if only:
                break
