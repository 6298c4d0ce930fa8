"""Claims: how passes take records to work on without two runs ever working on the same one.

A run stamps a batch of due records with its owner token and an expiry, works on them, and
clears the claim in the same transaction as the outcome (through :mod:`organiser.storage.records`'
history writer and :func:`organiser.domain.states.transition`). A run that is killed leaves claims
that expire, or, on the same host, are freed as soon as its process is seen to be gone, so no
record is ever stranded.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from organiser.domain.states import Action, State, transition
from organiser.storage.models import Record, database_proxy
from organiser.storage.records import add_history, state_or_none


def run_owner() -> str:
    """Give a claim-owner token for this run: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _due_where(states: Iterable[str], after_id: int, now: datetime, only_id: int | None) -> Any:
    """Give the condition for due, unclaimed records in ``states`` with id above ``after_id``."""
    free = Record.claim_owner.is_null() | (Record.claim_expires_at < now)
    where = Record.status.in_([str(s) for s in states]) & (Record.id > after_id) & free
    if only_id is not None:
        return where & (Record.id == only_id)
    return where & (Record.next_attempt_at.is_null() | (Record.next_attempt_at <= now))


def due(
    states: Iterable[State], after_id: int, limit: int, now: datetime, only_id: int | None = None
) -> list[Record]:
    """Give up to ``limit`` records that a pass over ``states`` would claim now, without
    claiming them (``--dry-run``)."""
    query = Record.select().where(_due_where(states, after_id, now, only_id))
    return list(query.order_by(Record.id).limit(limit))


def count_due(states: Iterable[State], now: datetime, only_id: int | None = None) -> int:
    """Count the records a pass over ``states`` would work on now."""
    return Record.select().where(_due_where(states, 0, now, only_id)).count()


def claim_batch(
    states: Iterable[State],
    owner: str,
    after_id: int,
    limit: int,
    now: datetime,
    claim_for: timedelta,
    only_id: int | None = None,
) -> list[Record]:
    """Claim up to ``limit`` due records in ``states`` with id above ``after_id``; give them
    in id order (keyset pagination: the caller passes the last id it saw).

    A record is due when nobody holds an unexpired claim on it and its next-attempt time
    has come (``only_id`` pushes one record regardless of that time). Gives nothing only when
    no due, unclaimed record with id above ``after_id`` is left, so a pass that stops at an
    empty batch has done its whole queue (or other runs hold the rest).

    On PostgreSQL the candidates are locked with ``FOR UPDATE SKIP LOCKED``: runs on several
    hosts claiming at once each take rows the others are not taking, without waiting for
    each other. A batch may so pass over a record that a mark holds locked at that moment;
    it is due for the next run. When every due record is locked, the claim waits for one
    lock and tries again instead of giving nothing. On SQLite every write transaction holds
    the database's single write lock from its start (``BEGIN IMMEDIATE``), so claims are
    serialised and need no row locks.
    """
    status_list = [str(s) for s in states]
    free = Record.claim_owner.is_null() | (Record.claim_expires_at < now)
    skip_locked = _row_locks()
    while True:
        candidates = (
            Record.select(Record.id)
            .where(_due_where(status_list, after_id, now, only_id))
            .order_by(Record.id)
            .limit(limit)
        )
        if skip_locked:
            candidates = candidates.for_update(skip_locked=True)
        # Two statements, not UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED): the
        # planner may rescan such a subquery once per row and so claim more than ``limit``.
        with database_proxy.atomic():
            ids = [row_id for (row_id,) in candidates.tuples()]
            if ids:  # the condition again: a safeguard, the rows just locked meet it
                Record.update(claim_owner=owner, claim_expires_at=now + claim_for).where(
                    Record.id.in_(ids) & free & Record.status.in_(status_list)
                ).execute()
        if ids:
            return list(
                Record.select()
                .where(Record.id.in_(ids) & (Record.claim_owner == owner))
                .order_by(Record.id)
            )
        if not skip_locked or not _wait_for_locked(status_list, after_id, now, only_id):
            return []


def _row_locks() -> bool:
    """Tell whether the database locks rows (PostgreSQL) rather than the whole database."""
    return not isinstance(database_proxy.obj, pw.SqliteDatabase)


def _wait_for_locked(
    status_list: list[str], after_id: int, now: datetime, only_id: int | None
) -> bool:
    """After a claim that got nothing on PostgreSQL: if a due record with id above
    ``after_id`` is still there (locked by another transaction, so ``SKIP LOCKED`` passed it
    by: another run claiming it, a mark, a run releasing its claims), wait until that
    transaction ends and give True (try again); give False when no due record is left.

    The wait holds no other lock, so it can never be part of a deadlock.
    """
    first = (
        Record.select(Record.id)
        .where(_due_where(status_list, after_id, now, only_id))
        .order_by(Record.id)
        .limit(1)
        .scalar()
    )
    if first is None:
        return False
    with database_proxy.atomic():
        Record.select(Record.id).where(Record.id == first).for_update().execute()
    return True


def finish(
    record: Record,
    owner: str,
    action: Action,
    actor: str,
    now: datetime,
    remote_state: str | None,
    outcome: str | None,
) -> bool:
    """Record a confirmed remote outcome for a claimed record and release the claim.

    Gives False if the claim was lost to another run meanwhile, or if the record was marked
    again while the effect was under way (the newer mark wins: only ``remote_state`` is kept
    and the claim released, so the record's new intent is carried out by its pass).
    Raises :class:`InvalidTransition` if ``action`` does not apply to the record's status.
    """
    old = State(record.status)
    step = transition(old, action, state_or_none(record.prior_status))
    with database_proxy.atomic():
        changed = (
            Record.update(
                {
                    Record.status: step.state,
                    Record.prior_status: step.prior,
                    Record.remote_state: remote_state,
                    Record.doi: record.doi,
                    Record.updated_at: now,
                    Record.attempts: 0,
                    Record.next_attempt_at: None,
                    Record.last_error: None,
                    Record.claim_owner: None,
                    Record.claim_expires_at: None,
                }
            )
            .where(_unchanged(record, owner))
            .execute()
        )
        if changed:
            add_history(record, old, step.state, action, actor, now, outcome)
            return True
        kept = (
            Record.update(remote_state=remote_state, claim_owner=None, claim_expires_at=None)
            .where((Record.id == record.id) & (Record.claim_owner == owner))
            .execute()
        )
        if kept:  # marked again meanwhile: what DataCite now holds goes into history too
            current = Record.get_by_id(record.id).status
            note = f"{outcome}; the record was marked again meanwhile, that mark stands"
            add_history(record, current, current, action, actor, now, note)
    return False


def _unchanged(record: Record, owner: str) -> Any:
    """Give the condition: still claimed by ``owner`` and not marked since it was claimed."""
    return (
        (Record.id == record.id)
        & (Record.claim_owner == owner)
        & (Record.updated_at == record.updated_at)
    )


def fail(record: Record, owner: str, error: str, now: datetime, retry_at: datetime) -> bool:
    """Record a failed attempt on a claimed record (its status is kept) and release the claim.

    The record is due again at ``retry_at`` (a new mark or ``--X-doi`` makes it due at once).
    Gives False if the claim was lost to another run meanwhile or the record was marked
    again meanwhile (the failure no longer matters; the claim is released).
    """
    changed = (
        Record.update(
            {
                Record.attempts: Record.attempts + 1,
                Record.last_error: error[:2000],
                Record.next_attempt_at: retry_at,
                Record.updated_at: now,
                Record.claim_owner: None,
                Record.claim_expires_at: None,
            }
        )
        .where(_unchanged(record, owner))
        .execute()
    )
    if not changed:
        release_one(record, owner)
    return bool(changed)


def release_one(record: Record, owner: str) -> None:
    """Drop ``owner``'s claim on ``record`` if it still holds it."""
    Record.update(claim_owner=None, claim_expires_at=None).where(
        (Record.id == record.id) & (Record.claim_owner == owner)
    ).execute()


def note_progress(record: Record, owner: str, remote_state: str | None, doi: str) -> None:
    """Remember what DataCite now holds for a claimed record before its pass completes."""
    Record.update(remote_state=remote_state, doi=doi).where(
        (Record.id == record.id) & (Record.claim_owner == owner)
    ).execute()


def release(owner: str) -> int:
    """Drop every claim ``owner`` still holds (records keep their state); give how many."""
    return (
        Record.update(claim_owner=None, claim_expires_at=None)
        .where(Record.claim_owner == owner)
        .execute()
    )


def release_dead_claims(host: str, is_alive: Callable[[int], bool]) -> int:
    """Free claims held by runs on ``host`` whose process is gone; give how many were freed.

    Reads the owners from the partial index on ``claim_owner`` (only claimed rows are in it,
    so this costs what is claimed, not what the table holds) and picks this host's in
    Python. Not in SQL: on PostgreSQL under a language collation a ``LIKE 'host:%'`` (or
    peewee's ``ILIKE``) cannot use a btree index, and the range ``'host:' <= owner <
    'host;'`` is not the prefix (ICU ``en`` sorts ``host:1:x`` after ``host;``).
    """
    freed = 0
    prefix = f"{host}:"
    owners = Record.select(Record.claim_owner).where(Record.claim_owner.is_null(False)).distinct()
    for (owner,) in owners.tuples():
        if not owner.startswith(prefix):
            continue
        parts = owner.split(":")
        if len(parts) == 3 and parts[1].isdigit() and not is_alive(int(parts[1])):
            freed += release(owner)
    return freed


def waiting(states: Iterable[State], now: datetime, only_id: int | None) -> int:
    """Count records in ``states`` that are not due: waiting for their next-attempt time
    (unless ``only_id`` names one to push anyway), or claimed by a running organiser."""
    claimed = Record.claim_expires_at > now
    not_due = claimed if only_id is not None else (Record.next_attempt_at > now) | claimed
    query = Record.select().where(Record.status.in_([str(s) for s in states]) & not_due)
    if only_id is not None:
        query = query.where(Record.id == only_id)
    return query.count()
