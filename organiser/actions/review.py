"""Review before release: submit a reserved record for review, reject it back to reserved.
Approving is the register mark (:func:`organiser.actions.mark.mark_all` with
``MARK_REGISTER``: review → to-be-registered). Nothing here talks to DataCite.

Every function resolves all the records first and checks every move: one unknown record or
refused move and nothing is changed (the error has one line per problem).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from organiser.actions import mark
from organiser.app import App
from organiser.domain.states import Action, State, Step, transition
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


def submit(
    refs: Sequence[str], actor: str, now: datetime, review: bool = True
) -> list[tuple[Record, Step]]:
    """Submit the records ``refs`` name (DOI, identifier or id) for release, all or nothing;
    give each record (as it was) with the step taken.

    With ``review`` a reserved record goes to review (one already in review stays, nothing
    written); without, submitting is registering (→ to-be-registered, as ``organiser
    register``). Raises :class:`store.RecordError`, one line per unknown record or refused
    move (e.g. "10.5072/x is not reserved yet; …"), and then changes nothing.
    """
    return mark.mark_all(refs, submit_action(review), actor, now)


def preview_submit(refs: Sequence[str], review: bool = True) -> list[tuple[Record, Step]]:
    """Give what :func:`submit` would do, writing nothing. Raises as it does."""
    return _preview(refs, submit_action(review))


def reject(
    refs: Sequence[str], reason: str, actor: str, now: datetime
) -> list[tuple[Record, Step]]:
    """Send the records ``refs`` name back from review to reserved, all or nothing, with
    ``reason`` (white space collapsed to single spaces) in each history row's outcome; give
    each record (as it was) with the step taken.

    Raises :class:`store.RecordError` for an empty reason, or with one line per unknown
    record or record not in review, and then changes nothing.
    """
    return mark.mark_all(refs, Action.MARK_REJECT, actor, now, outcome=clean_reason(reason))


def preview_reject(refs: Sequence[str], reason: str) -> list[tuple[Record, Step]]:
    """Give what :func:`reject` would do, writing nothing. Raises as it does."""
    clean_reason(reason)
    return _preview(refs, Action.MARK_REJECT)


def clean_reason(reason: str) -> str:
    """Give ``reason`` on one line, at most :data:`MAX_REASON` characters. Raises
    :class:`store.RecordError` when it is empty."""
    text = " ".join(reason.split())
    if not text:
        raise store.RecordError("a reason is required to reject a record (--reason TEXT)")
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _preview(refs: Sequence[str], action: Action) -> list[tuple[Record, Step]]:
    found = mark.check_marks(refs, action)
    return [
        (r, transition(State(r.status), action, store.state_or_none(r.prior_status))) for r in found
    ]
