"""Intake actions: mark records for the passes. Nothing here talks to DataCite.

Each action reads and checks all of its input first and then writes in one transaction, so
bad input leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from organiser import intake, store
from organiser.db import Record, database_proxy
from organiser.identifiers import DoiScheme
from organiser.states import Action, Step


def read_sources(sources: Sequence[str], scheme: DoiScheme) -> list[intake.Metadata]:
    """Give every record in ``sources``. Raises :class:`intake.InputError` (first problem)."""
    found: list[intake.Metadata] = []
    for path in intake.expand(sources):
        found += intake.read(path, scheme)
    seen: dict[str, str] = {}
    for item in found:
        if item.identifier in seen:
            raise intake.InputError(
                f"{item.source}: identifier {item.identifier} also in {seen[item.identifier]}"
            )
        seen[item.identifier] = item.source
    return found


def reserve(
    items: Sequence[intake.Metadata],
    scheme: DoiScheme,
    node: str | None,
    submitter: str | None,
    actor: str,
    now: datetime,
) -> list[Record]:
    """Mark ``items`` to-be-reserved, choosing a DOI for those without one; give the records.

    Raises :class:`store.RecordError` (nothing written) on a DOI or identifier clash.
    """
    chosen: set[str] = set()
    new = []
    for item in items:
        doi = item.doi
        while doi is None or doi in chosen or not store.ensure_unique_doi(doi):
            if item.doi is not None:
                raise store.RecordError(f"{item.source}: DOI {item.doi} is already in use")
            doi = scheme.generate()
        chosen.add(doi)
        new.append(
            store.NewRecord(
                doi,
                item.doi is None,
                item.identifier,
                item.attributes,
                item.url,
                node,
                submitter,
                item.source,
            )
        )
    return store.insert_new(new, actor, now)


def mark_all(
    refs: Sequence[str], action: Action, actor: str, now: datetime
) -> list[tuple[Record, Step]]:
    """Apply ``action`` to every record named in ``refs``, all or nothing; give what happened.

    Raises :class:`store.RecordError` for an unknown record or an invalid transition.
    """
    records = [store.find(ref) for ref in refs]
    with database_proxy.atomic():
        return [(record, store.mark(record, action, actor, now)) for record in records]


def update(
    ref: str, source: str, scheme: DoiScheme, actor: str, now: datetime
) -> tuple[Record, Step]:
    """Give ``ref``'s record new metadata from the single record in ``source``.

    Raises :class:`intake.InputError` or :class:`store.RecordError`.
    """
    if Path(source).is_dir():
        raise intake.InputError(f"{source}: give one metadata file for update, not a directory")
    items = read_sources([source], scheme)
    if len(items) != 1:
        raise intake.InputError(f"{source}: holds {len(items)} records; update takes one")
    item = items[0]
    record = store.find(ref)
    if item.doi is not None and item.doi != record.doi:
        raise intake.InputError(f"{source}: names DOI {item.doi}, but {ref} is {record.doi}")
    return record, store.mark(record, Action.MARK_UPDATE, actor, now, item.attributes, item.url)
