"""What intake hands on: checked metadata, the options it reads with, and its error."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from organiser.domain.identifiers import DoiScheme
from organiser.domain.metadata import lid_of, title_of
from organiser.errors import UserError
from organiser.intake.formats import pds4
from organiser.intake.sources import Limits


class InputError(UserError):
    """Sources cannot be used. ``errors`` holds one line per problem, each naming its source."""

    def __init__(self, errors: str | list[str]) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True)
class Options:
    """What intake needs from configuration and the command line."""

    scheme: DoiScheme
    crosswalk: pds4.Crosswalk = field(default_factory=pds4.Crosswalk)
    node: str | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class Metadata:
    """One record's worth of checked metadata read from a source.

    The attributes travel as JSON text (``attributes_json``, what the database stores), so
    that handing thousands of them from reading processes to the writer costs little;
    ``attributes`` decodes them when asked. Build one with :meth:`of`.
    """

    source: str
    attributes_json: str
    url: str | None
    doi: str | None  # the DOI the source names, if any
    identifier: str  # the repository's own identifier (for PDS: the LIDVID)
    title: str | None  # the first title, for duplicate checks

    @classmethod
    def of(
        cls,
        source: str,
        attributes: dict[str, Any],
        url: str | None,
        doi: str | None,
        identifier: str,
    ) -> Metadata:
        """Give metadata for DataCite ``attributes`` (REST API shape)."""
        item = cls(
            source,
            json.dumps(attributes, ensure_ascii=False),
            url,
            doi,
            identifier,
            title_of(attributes),
        )
        item.__dict__["attributes"] = attributes  # already at hand: no need to decode
        return item

    @cached_property
    def attributes(self) -> dict[str, Any]:
        return json.loads(self.attributes_json)

    @property
    def lid(self) -> str:
        """The identifier without its ``::version`` (the identifier itself if it has none)."""
        return lid_of(self.identifier)

    def __reduce__(self) -> tuple[Any, ...]:  # pickle without the decoded attributes
        return (
            Metadata,
            (self.source, self.attributes_json, self.url, self.doi, self.identifier, self.title),
        )
