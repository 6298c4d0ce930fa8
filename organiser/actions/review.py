"""Review before release: submit a reserved record for review, approve (release) or reject
what is in review: first releases (``review``) and submitters' changes to published DOIs
(``update-review``). Nothing here talks to DataCite.

Every function resolves all the records first and checks every move: one unknown record,
refused move or record the actor may not touch and nothing is changed (the error has one
line per problem). The rules of the roles are checked on each record as locked for the write.
"""

from __future__ import annotations

from collections.abc import Sequence

from organiser.actions import mark
from organiser.actions.access import Actor, Forbidden, Role, check_owner, require
from organiser.actions.marking import preview
from organiser.actions.views import Marked
from organiser.app import App
from organiser.domain.states import IN_REVIEW, Action, State
from organiser.storage import records as store
from organiser.storage.models import Record

#: The longest rejection reason kept (longer ones are cut, with "…").
MAX_REASON = 2000


def enabled(app: App) -> bool:
    """Give ``[api] review`` (True when the configuration has no such key): whether submit
    goes to review. Raises ``ConfigError`` for a broken configuration."""
    return bool(app.config.values.get("api", {}).get("review", True))


def submit_action(review: bool = True) -> Action:
    """Give the mark ``submit`` applies: ``MARK_SUBMIT`` (→ review), or ``MARK_REGISTER``
    (→ to-be-registered, as ``organiser register``) when review is off."""
    return Action.MARK_SUBMIT if review else Action.MARK_REGISTER


def submit(app: App, actor: Actor, refs: Sequence[str], dry_run: bool = False) -> list[Marked]:
    """Submit the records ``refs`` name (DOI, identifier or id) for release, all or nothing;
    give each record as the mark left it (or would leave it, ``dry_run``).

    With ``[api] review`` a reserved record goes to review (one already in review stays,
    nothing written); without, submitting is registering. A submitter submits only its own
    records. Raises :class:`Forbidden`, or ``RecordError`` with one line per unknown record or
    refused move (e.g. "10.5072/x is not reserved yet; …"), and then changes nothing.
    """
    require(actor, Role.SUBMITTER)
    action = submit_action(enabled(app))

    def allowed(record: Record) -> None:
        check_owner(actor, record)
        # with review off submitting is registering, which would approve a held change
        approves = record.status == State.UPDATE_REVIEW and action is Action.MARK_REGISTER
        if approves and actor.role is not Role.OPERATOR:
            raise Forbidden(f"{record.doi} has a change in review; only an operator approves it")

    if dry_run:
        return preview(app, actor, refs, action, allowed)
    app.open_db()
    return mark.mark_all(list(refs), action, actor.name, app.clock(), allowed=allowed)


def release(app: App, actor: Actor, refs: Sequence[str], dry_run: bool = False) -> list[Marked]:
    """Approve the records in review that ``refs`` name (operators only), all or nothing: a
    first release → to-be-registered, a change to a published DOI → its update state (the
    held change applied). Raises :class:`Forbidden`, or ``RecordError`` naming each record
    that is not in review, and then changes nothing."""
    require(actor, Role.OPERATOR)
    if dry_run:
        return preview(app, actor, refs, Action.MARK_REGISTER, _in_review)
    app.open_db()
    return mark.mark_all(
        list(refs), Action.MARK_REGISTER, actor.name, app.clock(), allowed=_in_review
    )


def reject(
    app: App, actor: Actor, refs: Sequence[str], reason: str, dry_run: bool = False
) -> list[Marked]:
    """Send the records in review that ``refs`` name back (operators only), all or nothing,
    with ``reason`` (white space collapsed) in each history row: a first release back to
    reserved, a change to a published DOI dropped (the record as it was).

    Raises :class:`Forbidden`, or ``RecordError`` for an empty reason or with one line per
    unknown record or record not in review, and then changes nothing.
    """
    require(actor, Role.OPERATOR)
    text = clean_reason(reason)
    if dry_run:
        return preview(app, actor, refs, Action.MARK_REJECT)
    app.open_db()
    return mark.mark_all(list(refs), Action.MARK_REJECT, actor.name, app.clock(), outcome=text)


def clean_reason(reason: str) -> str:
    """Give ``reason`` on one line, at most :data:`MAX_REASON` characters. Raises
    :class:`store.RecordError` when it is empty or holds a NUL character."""
    text = " ".join(reason.split())
    if not text:
        raise store.RecordError("a reason is required to reject a record (--reason TEXT)")
    if "\x00" in text:  # no database takes it (PostgreSQL's driver: ValueError)
        raise store.RecordError("reason: a NUL character (no text may hold one)")
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _in_review(record: Record) -> None:
    if record.status not in IN_REVIEW:
        raise store.RecordError(f"{record.doi} is {record.status}, not in review")


__all__ = ["Forbidden", "clean_reason", "enabled", "reject", "release", "submit"]
