"""Writing what an account import found at DataCite: for each page, local records created or
refreshed, with their history, in one transaction.

The status a DOI gets is the state machine's (:func:`organiser.domain.states.imported`):
draft → reserved; findable → registered; registered (hidden: resolvable, not in DataCite's
search) → deleted, with ``remote_state`` "registered": organiser's own delete of a findable
DOI hides it and leaves exactly that record, so an imported hidden DOI is the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from organiser.config_schema import DEFAULT_ACCOUNT
from organiser.domain.metadata import differences, lid_of, title_of
from organiser.domain.states import Action, InvalidTransition, State, imported
from organiser.storage.models import History, Record, database_proxy
from organiser.storage.records import ids_of, insert_rows, where_in

#: What an import did (or, dry, would do) with one DOI.
NEW, REFRESHED, UNCHANGED, KEPT, SKIPPED = "imported", "refreshed", "unchanged", "kept", "skipped"


@dataclass(frozen=True, slots=True)
class Remote:
    """One DOI as DataCite holds it, in the terms of a local record."""

    doi: str  # bare, lower-case
    state: str  # DataCite's: draft, registered, findable
    attributes: dict[str, Any]  # the metadata a record keeps (DataCite's own fields dropped)
    url: str | None
    identifier: str  # the PDS4 LIDVID it carries, else the DOI
    node: str | None
    updated: datetime | None  # DataCite's last change, naive UTC
    account: str = DEFAULT_ACCOUNT  # the account whose listing holds it

    @property
    def status(self) -> State:
        """The local status that matches DataCite's state."""
        return imported(None, self.state).state


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one DOI: ``outcome`` is imported, refreshed, unchanged, kept (left
    alone: ``reason`` says why) or skipped (not importable); ``status`` is the local status
    after it (for kept records, the one they keep)."""

    doi: str
    identifier: str
    outcome: str
    status: str
    remote_state: str | None
    reason: str | None = None


def judge(local: Record | None, remote: Remote, now: datetime) -> tuple[str, str | None]:
    """Give (outcome, reason) for importing ``remote`` over the local record of its DOI.

    A record a run holds, or one waiting for a pass, is kept: its mark is newer intent. A
    record whose local copy is newer than DataCite's ``updated`` is kept when it differs (a
    push will bring DataCite in step). Otherwise a record that differs is refreshed from
    DataCite. Metadata differs as :func:`organiser.domain.metadata.differences` sees it, both
    ways (so DataCite's own fields and forms, e.g. a year as a number, do not count).
    """
    if local is None:
        return NEW, None
    if local.claim_owner is not None and local.claim_expires_at and local.claim_expires_at > now:
        return KEPT, "claimed by a run"
    if local.account != remote.account:  # an account never changes by itself
        return KEPT, f"account {local.account} here, listed by account {remote.account}"
    try:
        step = imported(State(local.status), remote.state)
    except InvalidTransition:
        if local.status == State.DELETED:  # final; hidden at DataCite is what it should be
            return (UNCHANGED, None) if remote.state == "registered" else (KEPT, "deleted here")
        return KEPT, f"waiting for a pass ({local.status})"
    mine = dict(json.loads(local.attributes), url=local.url)
    theirs = dict(remote.attributes, url=remote.url)
    differs = local.status != step.state or bool(
        differences(mine, theirs) or differences(theirs, mine)
    )
    if remote.updated is None or local.updated_at >= remote.updated:
        return (KEPT, "local copy newer") if differs else (UNCHANGED, None)
    if differs or local.remote_state != remote.state:
        return REFRESHED, None
    return UNCHANGED, None


def import_page(
    remotes: Sequence[Remote], actor: str, now: datetime, write: bool = True
) -> list[Outcome]:
    """Give each DOI's outcome, in order (a DOI listed twice counts once); with ``write``,
    create and refresh the records in one transaction, each with a history row.

    A refresh is written only if the record is still as it was read (not marked or claimed
    meanwhile); otherwise it is kept ("changed meanwhile"). Raises the database's errors
    (then nothing of the page is written).
    """
    if not write:
        return _judged(remotes, now)[0]
    with database_proxy.atomic():
        outcomes, new, refresh = _judged(remotes, now)
        _insert(new, actor, now)
        lost = {r.doi for local, r in refresh if not _refresh(local, r, actor, now)}
    if lost:
        outcomes = [
            Outcome(o.doi, o.identifier, KEPT, o.status, o.remote_state, "changed meanwhile")
            if o.doi in lost
            else o
            for o in outcomes
        ]
    return outcomes


def _judged(
    remotes: Sequence[Remote], now: datetime
) -> tuple[list[Outcome], list[Remote], list[tuple[Record, Remote]]]:
    """Give the outcomes, the DOIs to create and the (record, DOI) pairs to refresh."""
    local = {r.doi: r for r in where_in(Record.doi, [r.doi for r in remotes])}
    outcomes: list[Outcome] = []
    new: list[Remote] = []
    refresh: list[tuple[Record, Remote]] = []
    seen: set[str] = set()
    for remote in remotes:
        if remote.doi in seen:
            continue
        seen.add(remote.doi)
        record = local.get(remote.doi)
        outcome, reason = judge(record, remote, now)
        if outcome == NEW:
            new.append(remote)
        elif outcome == REFRESHED:
            assert record is not None
            refresh.append((record, remote))
        if record is None or outcome == REFRESHED:
            status, identifier, state = _status(record, remote), remote.identifier, remote.state
        else:
            status, identifier, state = record.status, record.identifier, record.remote_state
        outcomes.append(Outcome(remote.doi, identifier, outcome, status, state, reason))
    return outcomes, new, refresh


def _insert(remotes: list[Remote], actor: str, now: datetime) -> None:
    if not remotes:
        return
    insert_rows(
        Record,
        [
            {
                "doi": r.doi,
                "doi_generated": False,
                "identifier": r.identifier,
                "lid": lid_of(r.identifier),
                "title": title_of(r.attributes),
                "status": str(r.status),
                "remote_state": r.state,
                "attributes": json.dumps(r.attributes, ensure_ascii=False),
                "url": r.url,
                "node": r.node,
                "account": r.account,
                "created_at": now,
                "updated_at": now,
            }
            for r in remotes
        ],
    )
    ids = dict(ids_of([r.doi for r in remotes]))
    insert_rows(
        History,
        [
            {
                "record": ids[r.doi],
                "from_status": None,
                "to_status": str(r.status),
                "action": str(Action.IMPORTED),
                "actor": actor,
                "at": now,
                "outcome": _note(r),
            }
            for r in remotes
        ],
    )


def _status(local: Record | None, remote: Remote) -> str:
    """Give the status ``local`` (None: a new record) takes from DataCite's state (a record in
    review whose draft is still there stays in review)."""
    current = State(local.status) if local is not None else None
    return str(imported(current, remote.state).state)


def _refresh(local: Record, remote: Remote, actor: str, now: datetime) -> bool:
    """Bring ``local`` in step with DataCite, if it is still as read; tell whether it was."""
    identifier = remote.identifier if local.identifier == local.doi else local.identifier
    free = Record.claim_owner.is_null() | (Record.claim_expires_at <= now)
    changed = (
        Record.update(
            {
                Record.status: _status(local, remote),
                Record.prior_status: None,
                Record.remote_state: remote.state,
                Record.attributes: json.dumps(remote.attributes, ensure_ascii=False),
                Record.url: remote.url,
                Record.title: title_of(remote.attributes),
                Record.identifier: identifier,
                Record.lid: lid_of(identifier),
                Record.node: local.node or remote.node,
                Record.updated_at: now,
                Record.attempts: 0,
                Record.next_attempt_at: None,
                Record.last_error: None,
            }
        )
        .where(
            (Record.id == local.id)
            & (Record.status == local.status)
            & (Record.updated_at == local.updated_at)
            & free
        )
        .execute()
    )
    if changed:
        History.create(
            record=local.id,
            from_status=local.status,
            to_status=_status(local, remote),
            action=str(Action.IMPORTED),
            actor=actor,
            at=now,
            outcome=f"refreshed: {_note(remote)}",
        )
    return bool(changed)


def _note(remote: Remote) -> str:
    updated = remote.updated.isoformat(" ", "seconds") if remote.updated else "unknown"
    return f"DataCite state {remote.state}, updated {updated}"
