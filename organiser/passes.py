"""The organiser's passes: update → reserve → register → delete, the only code that talks to
DataCite.

Each pass claims due records in batches (keyset by id), performs one idempotent remote effect
per record with bounded retries, checks the state DataCite answers with, and writes the
outcome through :mod:`organiser.store`. One record's failure never stops the others; only a
systemic failure (credentials refused, DataCite unreachable for several records in a row)
stops the run, leaving the records it had not finished as they were.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from organiser import claims, store
from organiser.datacite import (
    CredentialsRefused,
    DataCiteClient,
    DataCiteError,
    DoiTaken,
    NotFound,
    PermanentError,
    TransientError,
)
from organiser.db import Record
from organiser.identifiers import DoiScheme
from organiser.intake import identifiers_in
from organiser.states import Action, State, pass_states

ORDER = ("update", "reserve", "register", "delete")
OUTCOME = {
    "update": Action.UPDATED,
    "reserve": Action.RESERVED,
    "register": Action.REGISTERED,
    "delete": Action.DELETED,
}
#: What DataCite must answer with after each pass, per status the record is leaving.
EXPECTED = {
    State.UPDATE_RESERVED: "draft",
    State.UPDATE_REGISTERED: "findable",
    State.UPDATE_BEFORE_REGISTRATION: "draft",
}
FRESH_SUFFIX_TRIES = 5

log = structlog.get_logger("organiser")


class Outage(Exception):
    """DataCite cannot be worked with at all; the run stops. ``str()`` says why."""


class StateMismatch(PermanentError):
    """DataCite answered, but the DOI is not in the state the effect should have left it in."""


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
    """One record that did not reach its target in this run."""

    pass_name: str
    doi: str
    identifier: str
    error: str
    transient: bool


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
    passes: list[PassResult] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    outage: str | None = None


class Organiser:
    """Runs passes for one repository. Seams: ``client`` (HTTP), ``clock``, ``sleep``."""

    def __init__(
        self,
        client: DataCiteClient,
        scheme: DoiScheme,
        settings: Settings,
        actor: str,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client, self.scheme, self.settings = client, scheme, settings
        self.actor, self.clock, self.sleep = actor, clock, sleep
        self.owner = claims.run_owner()
        self._pending: list[tuple[Record, Failure]] = []  # transient failures not yet written
        self._retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(settings.retries),
            wait=self._wait,
            sleep=sleep,
            reraise=True,
            before_sleep=lambda state: log.info(
                "retrying", error=str(state.outcome.exception()), attempt=state.attempt_number
            ),
        )
        self._expo = wait_exponential_jitter(
            initial=settings.backoff, max=settings.max_backoff, jitter=settings.backoff
        )

    def run(self, names: Sequence[str], only: Record | None = None) -> RunResult:
        """Run the named passes in the fixed order (``only``: just that record, due or not).

        Gives the per-pass counts and failures; ``outage`` is set when the run was cut short.
        Claims this run still holds when it ends, however it ends, are released.
        """
        result = RunResult()
        try:
            for name in (n for n in ORDER if n in names):
                result.passes.append(self._pass(name, only, result))
        except Outage as exc:
            result.outage = str(exc)
            log.info("run stopped", reason=str(exc))
        finally:
            self._pending.clear()
            claims.release(self.owner)
        return result

    def _pass(self, name: str, only: Record | None, result: RunResult) -> PassResult:
        states = pass_states(OUTCOME[name])
        only_id = only.id if only else None
        # left alone: waiting for their retry time, or being worked on by another run
        counts = PassResult(name, skipped=claims.waiting(states, self.clock(), only_id))
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
                after = record.id
                self._one(name, record, counts, result)
            if not batch or only:
                break
        self._flush(counts, result)
        return counts

    def _one(self, name: str, record: Record, counts: PassResult, result: RunResult) -> None:
        try:
            remote = self._retrying(getattr(self, f"_{name}"), record)
        except CredentialsRefused as exc:
            raise Outage(str(exc)) from None
        except TransientError as exc:
            self._pending.append(
                (record, Failure(name, record.doi, record.identifier, str(exc), transient=True))
            )
            if len(self._pending) >= self.settings.outage_threshold:
                raise Outage(
                    f"DataCite unreachable for {len(self._pending)} records in a row: {exc}"
                ) from None
            return
        except DataCiteError as exc:
            self._flush(counts, result)
            self._failed(
                record,
                Failure(name, record.doi, record.identifier, str(exc), False),
                counts,
                result,
            )
            return
        except Exception as exc:  # a bug must not stop the other records
            log.exception("internal error", doi=record.doi)
            self._flush(counts, result)
            self._failed(
                record,
                Failure(name, record.doi, record.identifier, f"internal error: {exc!r}", False),
                counts,
                result,
            )
            return
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
            log.info("done", pass_name=name, doi=record.doi, state=remote)

    def _flush(self, counts: PassResult, result: RunResult) -> None:
        """Write the transient failures held back while an outage was still possible."""
        pending, self._pending = self._pending, []
        for record, failure in pending:
            self._failed(record, failure, counts, result)

    def _failed(
        self, record: Record, failure: Failure, counts: PassResult, result: RunResult
    ) -> None:
        now = self.clock()
        delay = self.settings.max_retry_delay
        if failure.transient:
            delay = min(self.settings.retry_delay * (2 ** min(record.attempts, 20)), delay)
        if claims.fail(record, self.owner, failure.error, now, now + delay):
            counts.failed += 1
            result.failures.append(failure)
            log.info("failed", pass_name=failure.pass_name, doi=record.doi, error=failure.error)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hinted = getattr(error, "retry_after", None)
        if hinted is not None:
            return min(float(hinted), self.settings.max_backoff)
        return self._expo(state)

    # -- the remote effects: each is safe to repeat after a lost answer -------------------

    def _update(self, record: Record) -> str | None:
        if record.remote_state is None:
            return None  # nothing at DataCite yet: the reserve/register pass sends the metadata
        answer = self.client.put(record.doi, self._payload(record))
        return _expect(answer, EXPECTED[State(record.status)])

    def _reserve(self, record: Record) -> str:
        return _expect(self._create(record), "draft")

    def _register(self, record: Record) -> str:
        if record.remote_state is None:
            _expect(self._create(record), "draft")
        return _expect(self.client.put(record.doi, self._payload(record), "publish"), "findable")

    def _delete(self, record: Record) -> str | None:
        held = self.client.get(record.doi)
        state = held and held.get("state")
        if held is None:
            return None
        if state == "draft":
            with contextlib.suppress(NotFound):  # gone meanwhile: what we wanted
                self.client.delete(record.doi)
            return None
        if state == "findable":
            return _expect(self.client.put(record.doi, {}, "hide"), "registered")
        return _expect(held, "registered")

    def _create(self, record: Record) -> dict[str, Any]:
        """Create the record's DOI as a draft; an answer lost earlier is recognised, a DOI
        taken by someone else gets a fresh suffix (generated DOIs only)."""
        for _ in range(FRESH_SUFFIX_TRIES):
            try:
                answer = self.client.create_draft(record.doi, self._payload(record))
                break
            except DoiTaken:
                held = self.client.get(record.doi)
                ours = identifiers_in(self._payload(record)) | {record.identifier}
                if held is not None and identifiers_in(held) & ours:  # e.g. an earlier LIDVID
                    answer = self.client.put(record.doi, self._payload(record))
                    break
                if not record.doi_generated:
                    raise PermanentError(
                        f"DOI {record.doi} is already taken at DataCite by another record"
                    ) from None
                record.doi = self._fresh_doi()
                claims.note_progress(record, self.owner, None, record.doi)
        else:
            raise PermanentError(f"no free DOI after {FRESH_SUFFIX_TRIES} fresh suffixes")
        record.remote_state = answer.get("state")
        claims.note_progress(record, self.owner, record.remote_state, record.doi)
        return answer

    def _fresh_doi(self) -> str:
        while True:
            doi = self.scheme.generate()
            if store.ensure_unique_doi(doi):
                return doi

    def _payload(self, record: Record) -> dict[str, Any]:
        attributes = store.attributes_of(record)
        if record.url:
            attributes["url"] = record.url
        return attributes


def _expect(answer: dict[str, Any], state: str) -> str:
    """Give ``state`` if DataCite's answer shows it; raise :class:`StateMismatch` otherwise
    (DataCite silently ignores an event that is not a valid transition)."""
    got = answer.get("state")
    if got != state:
        raise StateMismatch(f"DataCite state is {got or 'unknown'}, expected {state}")
    return state
