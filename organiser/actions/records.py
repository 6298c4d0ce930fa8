"""Reading records for the commands (and later the web API): lists, one record with its
history. Nothing here needs DataCite."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from organiser.domain.states import QUEUED_STATES
from organiser.storage import records
from organiser.storage.models import History, Record


@dataclass(frozen=True)
class RecordView:
    """One record as ``show`` presents it."""

    record: Record
    history: list[History]

    @property
    def attributes(self) -> dict[str, Any]:
        """The record's DataCite attributes."""
        return records.attributes_of(self.record)


def listing(statuses: Iterable[str] = (), limit: int | None = None) -> Iterator[Record]:
    """Give records in id order, only those in ``statuses`` if any are given."""
    return records.select(list(statuses), limit)


def queued() -> Iterator[Record]:
    """Give the records waiting for a pass (marked, not yet sent)."""
    return records.select(sorted(QUEUED_STATES))


def find(ref: str) -> Record:
    """Give the record ``ref`` names (DOI, identifier or id). Raises ``RecordError``."""
    return records.find(ref)


def show(ref: str) -> RecordView:
    """Give the record ``ref`` names with its history. Raises ``RecordError``."""
    record = records.find(ref)
    return RecordView(record, records.history_of(record))
