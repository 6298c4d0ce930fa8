"""The marking use cases: reserve, update, register, delete. The command line, the API and
the daemon call these, and only these, to mark records; nothing here talks to DataCite.

Each takes the :class:`~organiser.actions.access.Actor` and enforces the rules of its role
inside the write's transaction: a submitter reserves as its own address, changes only its own
records, and a change it makes to a published (or approved) DOI waits for an operator's
review (``mark-propose`` → ``update-review``): its landing page never changes without one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from organiser import intake
from organiser.actions import mark
from organiser.actions.access import Actor, Forbidden, Role, check_owner, require
from organiser.actions.views import Marked, marked
from organiser.app import App
from organiser.domain.states import Action, State
from organiser.intake.sources import Source
from organiser.storage import records as store
from organiser.storage.models import Record


@dataclass(frozen=True)
class Reserved:
    """What :func:`reserve` marked (or, for a dry run, would mark): the new records (``new``,
    each a frozen :class:`store.NewRecord`) in ``state``, the earlier versions given a
    relation to their successor, and the warnings (duplicate titles) it was forced past."""

    new: list[store.NewRecord]
    state: State
    related: list[Marked] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False


def reserve(
    app: App,
    actor: Actor,
    sources: Sequence[str] | Source,
    node: str | None,
    submitter: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    max_records: int | None = None,
) -> Reserved:
    """Mark the records of ``sources`` (file names, directories and URLs, or one
    :class:`Source` already read) to-be-reserved, all or nothing, as ``submitter`` (a
    submitter actor's own address, always); at most ``max_records`` per source (None: no
    limit; the API passes ``[api] max_records``).

    Raises :class:`~organiser.actions.access.Forbidden` for a reader or another submitter
    address, ``UserError`` for an unknown node, :class:`intake.InputError` for bad input and
    ``RecordError`` for clashes with the database (every problem one line); nothing is
    written then.
    """
    require(actor, Role.SUBMITTER)
    address = actor.submitter_for(submitter)
    if address is not None and "\x00" in address:  # no database takes it
        raise intake.InputError(["submitter: a NUL character (no text may hold one)"])
    mark.check_node(app.nodes, node)
    options = replace(app.intake_options(node, max_records), force=force)
    if isinstance(sources, Source):
        items = intake.read(sources, options)
    else:
        items = intake.read_all(sources, options)
    if actor.role is not Role.OPERATOR:
        _no_named_dois(actor, items)
    app.open_db()
    versioned = app.config["intake"]["versioned_dois"]
    accounts = app.accounts
    scheme = app.scheme
    plan = mark.plan_reserve(items, scheme, node, address, versioned, force, accounts)
    forced = [warning for item in items for warning in item.warnings]  # bad ORCIDs dropped
    plan.warnings[:0] = forced
    del items  # the plan holds what is written
    relate = Action.MARK_UPDATE if actor.role is Role.OPERATOR else Action.MARK_PROPOSE

    def owned(earlier: Record) -> None:  # a new version changes the earlier one's metadata
        check_owner(actor, earlier)

    if dry_run:  # each earlier version as the mark would leave it
        related = []
        for earlier, _ in plan.relate:
            owned(earlier)
            mark.check_relatable(earlier)  # as mark.reserve refuses it
            related.append(_unmarked(earlier, mark.step_of(earlier, relate).state))
        return Reserved(plan.new, State.TO_BE_RESERVED, related, plan.warnings, True)
    state, related = mark.reserve(plan, actor.name, app.clock(), relate, owned)
    return Reserved(plan.new, state, related, plan.warnings)


def _no_named_dois(actor: Actor, items: Sequence[intake.Metadata]) -> None:
    """Refuse a submitter's records that name their DOI: a DOI named at reserve time is
    looked up and adopted at DataCite (an existing DOI's metadata would be replaced with no
    review), so only operators may name one. Raises :class:`Forbidden`, one line per record."""
    named = [
        f"{item.source}: names DOI {item.doi}; {actor.label} reserves new DOIs only (an "
        "operator reserves or imports a DOI that already exists)"
        for item in items
        if item.doi is not None
    ]
    if named:
        raise Forbidden("\n".join(named))


def update(
    app: App, actor: Actor, ref: str | None, source: str | Source, node: str | None = None
) -> Marked:
    """Give one record new metadata from ``source`` (a file or URL name, or a
    :class:`Source` already read); the record is ``ref``, or found by the source (its DOI,
    identifier or LID). An operator's update goes straight to the update pass; a
    submitter's, on its own record only, is *proposed*: held for review when the DOI is
    published or approved (see :mod:`organiser.domain.states`).

    Raises :class:`~organiser.actions.access.Forbidden`, ``RecordNotFound``,
    ``RecordError`` (a refused move) or :class:`intake.InputError`; nothing is written then.
    """
    require(actor, Role.SUBMITTER)
    mark.check_node(app.nodes, node)
    app.open_db()

    def allowed(record: Record) -> Action:
        check_owner(actor, record)
        return Action.MARK_UPDATE if actor.role is Role.OPERATOR else Action.MARK_PROPOSE

    return mark.update(
        ref,
        source,
        app.intake_options(node),
        app.config["intake"]["versioned_dois"],
        actor.name,
        app.clock(),
        allowed,
    )


def register(app: App, actor: Actor, refs: Sequence[str]) -> list[Marked]:
    """Mark the records ``refs`` names to-be-registered (operators only), all or nothing; a
    record in review is approved by it. Raises ``Forbidden`` or ``RecordError`` (one line
    per unknown record or refused move)."""
    return _operator_mark(app, actor, refs, Action.MARK_REGISTER)


def delete(app: App, actor: Actor, refs: Sequence[str]) -> list[Marked]:
    """Mark the records ``refs`` names to-be-deleted (operators only), all or nothing.
    Raises ``Forbidden`` or ``RecordError``."""
    return _operator_mark(app, actor, refs, Action.MARK_DELETE)


def preview(
    app: App,
    actor: Actor,
    refs: Sequence[str],
    action: Action,
    allowed: Callable[[Record], None] | None = None,
) -> list[Marked]:
    """Give what marking ``refs`` with ``action`` would do, writing nothing (a dry run: the
    caller has checked the actor's role). Raises as the mark would: ``RecordError``, or
    ``Forbidden`` for a submitter's record it may not change; ``allowed`` may raise too."""
    app.open_db()
    views = []

    def may(record: Record) -> None:
        check_owner(actor, record)
        if allowed is not None:
            allowed(record)

    for record in mark.check_marks(refs, action, may):
        views.append(_unmarked(record, mark.step_of(record, action).state))
    return views


def _operator_mark(app: App, actor: Actor, refs: Sequence[str], action: Action) -> list[Marked]:
    require(actor, Role.OPERATOR)
    app.open_db()
    return mark.mark_all(list(refs), action, actor.name, app.clock())


def _unmarked(record: Record, status: State | None = None) -> Marked:
    """Give ``record`` as a view, as it is (or would be, in ``status``)."""
    view = marked(record, record.status)
    return view if status is None else replace(view, status=status)
