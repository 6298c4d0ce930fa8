"""What intake hands on: checked metadata, the options it reads with, and its error."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from organiser.domain.identifiers import DoiScheme
from organiser.domain.metadata import lid_of, title_of
from organiser.errors import UserError
from organiser.intake.formats import pds4
from organiser.intake.sources import Limits

#: What the identifier of a record with neither a repository identifier nor a DOI starts with
#: (see :func:`organiser.intake.formats.datacite_json.local_id`).
LOCAL_ID_PREFIX = "local:"


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
    #: ``--force``: a bad ORCID is dropped from its person with a warning instead of refused
    force: bool = False


class Found(NamedTuple):
    """One record as read from a source, before it is checked (see :meth:`Metadata.of`)."""

    source: str
    attributes: dict[str, Any]
    url: str | None
    doi: str | None
    identifier: str


#: What DataCite attributes as JSON text are mostly made of (key names and the values the
#: PDS4 crosswalk writes), given to zlib as a preset dictionary: records are compressed one
#: at a time, and with it a record takes about 35 % less room than without. Only ever used
#: within one command (never stored), so it may change freely.
_VOCABULARY = "".join(
    (
        '"container": {"type": "Series", "title": "", "firstPage": ""}, "version": "1.0", ',
        '"sizes": [""], "formats": ["PDS4"], "language": "en", ',
        '"rightsList": [{"rights": "Creative Commons Zero v1.0 Universal", "rightsUri": ',
        '"https://creativecommons.org/publicdomain/zero/1.0/legalcode", "rightsIdentifier": ',
        '"cc0-1.0", "rightsIdentifierScheme": "SPDX", "schemeUri": "https://spdx.org/licenses/"',
        '}], "fundingReferences": [{"funderName": "National Aeronautics and Space ',
        'Administration", "funderIdentifier": "https://ror.org/027ka1x80", ',
        '"funderIdentifierType": "ROR", "awardNumber": "", "awardTitle": ""}], ',
        '"geoLocations": [{"geoLocationPlace": "", "geoLocationPoint": {"pointLatitude": ',
        '"", "pointLongitude": ""}}], "dates": [{"date": "", "dateType": "Issued"}, ',
        '{"dateType": "Created"}, {"dateType": "Updated"}, {"dateType": "Available"}], ',
        '"relatedIdentifiers": [{"relatedIdentifier": "10.", "relatedIdentifierType": "DOI", ',
        '"relationType": "IsNewVersionOf"}, {"relationType": "IsPreviousVersionOf"}, ',
        '{"relationType": "IsPartOf"}, {"relationType": "HasPart"}, {"relationType": ',
        '"References"}, {"relationType": "IsReferencedBy"}, {"relationType": "IsCitedBy"}, ',
        '{"relationType": "IsDescribedBy"}, {"relatedIdentifierType": "URL"}, ',
        '{"relatedIdentifierType": "Bibcode"}], "descriptions": [{"description": "", ',
        '"descriptionType": "Other"}, {"descriptionType": "TechnicalInfo"}, ',
        '{"descriptionType": "Methods"}, {"descriptionType": "SeriesInformation"}, ',
        '"descriptionType": "Abstract", "lang": "en"}], ',
        '"types": {"resourceTypeGeneral": "Text", "resourceType": "PDS4 Refereed Document"}, ',
        '"types": {"resourceTypeGeneral": "Collection", "resourceType": "PDS4 Refereed Data ',
        'Collection"}, "types": {"resourceTypeGeneral": "Dataset", "resourceType": "PDS4 ',
        'Refereed Data Bundle"}, "contributors": [{"nameType": "Personal", "name": "", ',
        '"givenName": "", "familyName": "", "contributorType": "Editor"}, {"contributorType": ',
        '"ContactPerson"}, {"contributorType": "ProjectLeader"}, {"contributorType": ',
        '"Researcher"}, {"contributorType": "Other"}, {"nameType": "Organizational", "name": ',
        '"Planetary Data System: Imaging Node", "contributorType": "DataCurator"}], ',
        '"subjects": [{"subject": "PDS"}, {"subject": "PDS4"}, {"subject": "',
        '"publisher": "NASA Planetary Data System", "publicationYear": "20',
        '"titles": [{"title": "", "titleType": "AlternativeTitle"}, {"title": "',
        '"creators": [{"nameType": "Organizational", "name": "", "nameIdentifiers": ',
        '[{"nameIdentifier": "https://ror.org/", "nameIdentifierScheme": "ROR", "schemeUri": ',
        '"https://ror.org"}], "affiliation": [{"name": "", "affiliationIdentifier": ',
        '"https://ror.org/", "affiliationIdentifierScheme": "ROR", "schemeUri": ',
        '"https://ror.org"}]}, {"nameType": "Personal", "name": "", "givenName": "", ',
        '"familyName": "", "nameIdentifiers": [{"nameIdentifier": "https://orcid.org/", ',
        '"nameIdentifierScheme": "ORCID", "schemeUri": "https://orcid.org"}], ',
        '{"identifiers": [{"identifier": "urn:nasa:pds:", "identifierType": "PDS4 LIDVID"}], ',
        '"creators": [{"nameType": "Personal", "name": "',
        '"schemaVersion": "http://datacite.org/schema/kernel-4"}',
    )
).encode()


class Packed(bytes):
    """JSON text kept compressed (zlib, with :data:`_VOCABULARY` as its dictionary) while a
    batch waits for its transaction; ``str()`` gives the text back."""

    __slots__ = ()

    @classmethod
    def of(cls, text: str) -> Packed:
        compressor = zlib.compressobj(6, zdict=_VOCABULARY)
        return cls(compressor.compress(text.encode()) + compressor.flush())

    def __str__(self) -> str:
        return zlib.decompressobj(zdict=_VOCABULARY).decompress(self).decode()


@dataclass(frozen=True, slots=True)
class Metadata:
    """One record's worth of checked metadata read from a source.

    The attributes are kept as compressed JSON text (``packed``): a batch of 100,000 records
    is held from reading until its one transaction, and compressed they take a quarter of the
    room, and cost less to hand from reading processes to the writer. ``attributes`` and
    ``attributes_json`` decode them when asked. Build one with :meth:`of`.
    """

    source: str
    packed: Packed  # the attributes as JSON text, as the database stores them
    url: str | None
    doi: str | None  # the DOI the source names, if any
    identifier: str  # the repository's own identifier (for PDS: the LIDVID)
    title: str | None  # the first title, for duplicate checks
    warnings: tuple[str, ...] = ()  # what --force let through (e.g. a bad ORCID dropped)

    @classmethod
    def of(
        cls,
        source: str,
        attributes: dict[str, Any],
        url: str | None,
        doi: str | None,
        identifier: str,
        warnings: tuple[str, ...] = (),
    ) -> Metadata:
        """Give metadata for DataCite ``attributes`` (REST API shape)."""
        text = json.dumps(attributes, ensure_ascii=False)
        title = title_of(attributes)
        return cls(source, Packed.of(text), url, doi, identifier, title, warnings)

    @property
    def attributes(self) -> dict[str, Any]:
        return json.loads(str(self.packed))

    @property
    def attributes_json(self) -> str:
        """The attributes as JSON text, as the database stores them."""
        return str(self.packed)

    @property
    def has_repository_identifier(self) -> bool:
        """Tell whether ``identifier`` is the repository's own (e.g. a PDS4 LIDVID), rather
        than the record's DOI or a local id standing in for a missing one."""
        return self.identifier != self.doi and not self.identifier.startswith(LOCAL_ID_PREFIX)

    @property
    def lid(self) -> str:
        """The identifier without its ``::version`` (the identifier itself if it has none)."""
        return lid_of(self.identifier)

    def __reduce__(self) -> tuple[Any, ...]:  # to and from reading processes: plain fields
        return (
            Metadata,
            (
                self.source,
                self.packed,
                self.url,
                self.doi,
                self.identifier,
                self.title,
                self.warnings,
            ),
        )
