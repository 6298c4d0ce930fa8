"""Intake actions: mark records for the passes. Nothing here talks to DataCite.

Each action checks all of its input against the database first (in bulk), reports every
problem, and only then writes, in one transaction: bad input leaves the database as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise

from organiser import intake
from organiser.accounts import Accounts
from organiser.actions import versions as versioning
from organiser.actions.access import Forbidden
from organiser.actions.views import Marked, marked
from organiser.config_schema import DEFAULT_ACCOUNT
from organiser.domain.identifiers import DoiScheme
from organiser.domain.states import Action, InvalidTransition, State, Step, transition
from organiser.errors import UserError
from organiser.intake.sources import Source
from organiser.storage import records as store
from organiser.storage.models import Record, database_proxy


def check_node(known: Iterable[str], node: str | None) -> None:
    """Refuse a ``node`` that is not one of ``known`` (the PDS nodes and ``[intake]
    extra_nodes``). Raises :class:`UserError` naming the known ones."""
    known = sorted(known)
    if node is not None and node not in known:
        raise UserError(f"--node {node!r}: not a known node ({', '.join(known)})")


@dataclass
class Plan:
    """What ``reserve`` will write: new records, and earlier versions that get a relation."""

    new: list[store.NewRecord] = field(default_factory=list)
    #: earlier versions that get a relation (IsPreviousVersionOf) to a new record's DOI
    relate: list[tuple[Record, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan_reserve(
    items: Sequence[intake.Metadata],
    scheme: DoiScheme,
    node: str | None,
    submitter: str | None,
    versioned: bool,
    force: bool,
    accounts: Accounts | None = None,
) -> Plan:
    """Decide DOIs and accounts and check ``items`` against the database and each other.

    A record goes to the account of the DOI it brings (by prefix), of the earlier version it
    continues, else to the one ``accounts`` routes its node and identifier to (without
    ``accounts``: the default one); a generated DOI is under that account's first prefix.

    Raises :class:`store.RecordError` listing every problem (one per line); duplicate titles
    are problems unless ``force``.
    """
    errors: list[str] = []
    plan = Plan()
    by_identifier = store.live_records(Record.identifier, (i.identifier for i in items))
    lids = [item.lid for item in items]
    by_lid = store.live_records(Record.lid, lids)
    repeated = _repeats(lids)
    del lids  # 100,000 LIDs take 10 MB: not kept while the plan grows
    by_title = store.live_records(Record.title, (i.title for i in items if i.title))
    taken = store.existing_dois(i.doi for i in items if i.doi)
    first_titled: dict[str, intake.Metadata] = {}
    chosen: set[str] = set()
    for n, item in enumerate(items):
        if n in repeated:
            errors.append(
                f"{item.source}: {item.lid} is also in {items[repeated[n]].source}; "
                "reserve one version at a time"
            )
            continue
        lid = item.lid
        attributes: object = item.packed  # stays compressed until it is written
        doi, generated = item.doi, item.doi is None
        if item.identifier in by_identifier:
            held = by_identifier[item.identifier][0]
            errors.append(
                f"{item.source}: {item.identifier} already has DOI {held.doi} "
                f"({held.status}); use 'organiser update' to change its metadata"
            )
            continue
        versions = by_lid.get(lid, [])
        if versions and not versioned:
            latest = versions[-1]
            errors.append(
                f"{item.source}: {lid} already has DOI {latest.doi} (as "
                f"{latest.identifier}); run 'organiser update {latest.doi} "
                f"{item.source}' for the new version, or set versioned_dois"
            )
            continue
        account = DEFAULT_ACCOUNT
        if versions:
            account = versions[0].account
            doi, generated = versioning.next_doi(versions[0].doi, len(versions) + 1), False
            linkable = [v for v in versions if v.status != State.TO_BE_DELETED]
            if linkable:
                latest = linkable[-1]
                related = versioning.related(item.attributes, latest.doi, "IsNewVersionOf")
                attributes = json.dumps(related, ensure_ascii=False)
                plan.relate.append((latest, doi))
        elif doi is not None and doi in taken:
            errors.append(f"{item.source}: DOI {doi} is already in the database")
            continue
        for other in by_title.get(item.title or "", []):
            if other.lid != lid:
                plan.warnings.append(
                    f"{item.source}: title {item.title!r} is already used by "
                    f"{other.identifier} ({other.doi})"
                )
        first = first_titled.setdefault(item.title, item) if item.title else item
        if first is not item and first.lid != lid:
            plan.warnings.append(
                f"{item.source}: title {item.title!r} is used twice in this "
                "batch for different identifiers"
            )
        if accounts is not None and not versions:
            owner = accounts.for_doi(doi) if doi is not None else None
            account = (owner or accounts.route(node, item.identifier)).name
        if doi is None:
            doi = _fresh(_scheme(scheme, accounts, account), chosen)
        if doi in chosen:
            errors.append(f"{item.source}: DOI {doi} is used twice in this batch")
            continue
        chosen.add(doi)
        plan.new.append(
            store.NewRecord(
                doi,
                generated,
                item.identifier,
                attributes,
                item.url,
                node,
                submitter,
                item.source,
                item.title,
                account,
            )
        )
    del first_titled
    _regenerate_taken(plan, scheme, chosen, accounts)
    if plan.warnings and not force:
        errors += [f"{w}; refused (--force reserves it anyway)" for w in plan.warnings]
    if errors:
        raise store.RecordError("\n".join(errors))
    return plan


def _scheme(scheme: DoiScheme, accounts: Accounts | None, account: str) -> DoiScheme:
    """Give the scheme of ``account``'s new DOIs (``scheme`` without ``accounts``)."""
    return scheme if accounts is None else accounts.scheme(account)


def _fresh(scheme: DoiScheme, chosen: set[str]) -> str:
    while True:
        doi = scheme.generate()
        if doi not in chosen:
            return doi


def _regenerate_taken(
    plan: Plan, scheme: DoiScheme, chosen: set[str], accounts: Accounts | None = None
) -> None:
    """Give a new suffix to generated DOIs the database already holds (checked in bulk)."""
    taken = store.existing_dois(new.doi for new in plan.new if new.doi_generated)
    while taken:
        fresh = set()
        for n, new in enumerate(plan.new):
            if new.doi in taken:
                doi = _fresh(_scheme(scheme, accounts, new.account), chosen)
                chosen.add(doi)
                fresh.add(doi)
                plan.new[n] = replace(new, doi=doi)
        taken = store.existing_dois(fresh)


def _repeats(keys: Sequence[str]) -> dict[int, int]:
    """Give ``{n: m}`` for every ``keys[n]`` that came before, ``m`` the first one's index.

    By sorting (equal keys end up side by side, in their order): no set of every key is kept.
    """
    order = sorted(range(len(keys)), key=keys.__getitem__)
    repeats: dict[int, int] = {}
    for previous, n in pairwise(order):
        if keys[n] == keys[previous]:
            repeats[n] = repeats.get(previous, previous)
    return repeats


def reserve(
    plan: Plan,
    actor: str,
    now: datetime,
    relate: Action = Action.MARK_UPDATE,
    allowed: Callable[[Record], object] | None = None,
) -> tuple[State, list[Marked]]:
    """Write ``plan`` in one transaction: the new records, and the mark ``relate`` (an
    update, or a submitter's proposal) on each earlier version that now points at its
    successor, its metadata read as locked for the write. ``allowed`` is called with each
    earlier version as locked and may raise to refuse it. Give the state the new records are
    in (the records are ``plan.new``: not read back, so that a large batch is not held twice)
    and the earlier versions as marked.

    Raises :class:`store.RecordError` (nothing written) when a mark does not apply, or an
    earlier version has a change in review (it would be overwritten).
    """
    related = []
    with database_proxy.atomic():
        state = store.write_new(plan.new, actor, now)
        for earlier, doi in plan.relate:
            fresh = store.locked(earlier.id)
            if allowed is not None:
                allowed(fresh)
            check_relatable(fresh)
            attributes = versioning.related(store.attributes_of(fresh), doi, "IsPreviousVersionOf")
            store.mark(fresh, relate, actor, now, attributes, fresh.url)
            related.append(marked(store.locked(earlier.id), fresh.status))
    return state, related


def check_relatable(earlier: Record) -> None:
    """Refuse to relate a new version to ``earlier`` while it has a change in review (the
    relation would be written over it). Raises :class:`store.RecordError`."""
    if earlier.status == State.UPDATE_REVIEW:
        raise store.RecordError(
            f"{earlier.doi} ({earlier.identifier}) has a change in review; approve or "
            "reject it before reserving a new version"
        )


def mark_all(
    refs: Sequence[str],
    action: Action,
    actor: str,
    now: datetime,
    outcome: str | None = None,
    allowed: Callable[[Record], None] | None = None,
) -> list[Marked]:
    """Apply ``action`` to every record named in ``refs``, all or nothing, in one
    transaction; give each record as the mark left it (a record named twice, e.g. by DOI and
    by id, once). ``outcome`` goes into each history row (e.g. why a review was rejected).
    ``allowed`` is called with each record as locked for the write, and may raise to refuse
    it (then nothing is written).

    Raises :class:`store.RecordError` with one line per unknown record or refused move
    (:func:`check_marks`); then nothing is written.
    """
    done = []
    with database_proxy.atomic():
        for record in check_marks(refs, action, allowed):
            fresh = store.locked(record.id)
            if allowed is not None:
                allowed(fresh)
            store.mark(fresh, action, actor, now, outcome=outcome)
            done.append(marked(store.locked(record.id), fresh.status))
    return done


def step_of(record: Record, action: Action) -> Step:
    """Give the step ``action`` takes ``record`` to. Raises :class:`store.RecordError`."""
    try:
        return transition(State(record.status), action, store.state_or_none(record.prior_status))
    except InvalidTransition as exc:
        raise store.RecordError(f"{record.doi} {exc}") from None


def check_marks(
    refs: Sequence[str], action: Action, allowed: Callable[[Record], object] | None = None
) -> list[Record]:
    """Give the records ``refs`` name (each once, in order) if ``allowed`` (called with each
    first, it may raise :class:`Forbidden`) lets the actor touch every one and ``action``
    applies to every one of them; write nothing.

    Raises :class:`Forbidden` with one line per record the actor may not touch, else
    :class:`store.RecordError` with one line per unknown record or refused move.
    """
    found: dict[int, Record] = {}
    errors: list[str] = []
    forbidden: list[str] = []
    for ref in refs:
        try:
            record = store.find(ref)
        except store.RecordError as exc:
            errors.append(str(exc))
            continue
        if record.id in found:
            continue
        try:
            if allowed is not None:
                allowed(record)
            step_of(record, action)
        except Forbidden as exc:
            forbidden.append(str(exc))
            continue
        except store.RecordError as exc:
            errors.append(str(exc))
            continue
        found[record.id] = record
    if forbidden:
        raise Forbidden("\n".join(forbidden))
    if errors:
        raise store.RecordError("\n".join(errors))
    return list(found.values())


def update(
    ref: str | None,
    source: str | Source,
    options: intake.Options,
    versioned: bool,
    actor: str,
    now: datetime,
    allowed: Callable[[Record], Action] | None = None,
) -> Marked:
    """Give a record new metadata from the single record in ``source`` (a file or URL name,
    or bytes already read, e.g. a web request's body); give the record as the mark left it.

    The record is ``ref``, or else found by the source's DOI, identifier, or (for a new
    version of a PDS4 product) its LID. Earlier LIDVIDs and version relations are kept.
    ``allowed`` is called with the record as locked for the write and gives the mark to
    apply (``MARK_UPDATE`` without it); it may raise to refuse the record.
    Raises :class:`intake.InputError` or :class:`store.RecordError`.
    """
    record = store.find(ref) if ref else None
    if options.node is None and record is None:
        # the record (and so its node) is named by the label itself: find it, then read again
        probe = _one(source, replace(options, node=next(iter(options.crosswalk.nodes))))
        record = _record_for(probe)
    node = options.node or (record.node if record is not None else None)
    item = _one(source, replace(options, node=node))
    record = record or _record_for(item)
    source = getattr(source, "name", source)
    with database_proxy.atomic():
        record = store.locked(record.id)
        action = allowed(record) if allowed is not None else Action.MARK_UPDATE
        if item.doi is not None and item.doi != record.doi:
            raise intake.InputError(
                f"{source}: names DOI {item.doi}, but the record is {record.doi}"
            )
        # a record known by its DOI or a local id takes the identifier the source brings; a
        # source without one of its own (no LIDVID) leaves the record's as it is
        own = item.has_repository_identifier
        stand_in = record.identifier == record.doi or record.identifier.startswith(
            intake.LOCAL_ID_PREFIX
        )
        if own and not stand_in and item.lid != record.lid:
            raise intake.InputError(
                f"{source}: describes {item.identifier}, but {record.doi} is {record.identifier}"
            )
        if own and not stand_in and item.identifier != record.identifier and versioned:
            raise intake.InputError(
                f"{source}: {item.identifier} is a new version and "
                "versioned_dois is on: reserve it to give it its own DOI"
            )
        attributes = versioning.carry_over(store.attributes_of(record), item.attributes)
        identifier = item.identifier if own else None
        store.mark(record, action, actor, now, attributes, item.url, identifier)
        return marked(store.locked(record.id), record.status)


def _one(source: str | Source, options: intake.Options) -> intake.Metadata:
    if isinstance(source, Source):
        items, name = intake.read(source, options), source.name
    else:
        items, name = intake.read_all([source], options), source
    if len(items) != 1:
        raise intake.InputError(f"{name}: holds {len(items)} records; update takes one")
    return items[0]


def _record_for(item: intake.Metadata) -> Record:
    if item.doi is not None:
        return store.find(item.doi)
    for column, value in ((Record.identifier, item.identifier), (Record.lid, item.lid)):
        found = store.live_records(column, [value]).get(value)
        if found:
            return found[-1]
    raise store.RecordError(
        f"{item.source}: no record for {item.identifier} or any version "
        "of it; name the record (organiser update ID SOURCE) or reserve it"
    )
