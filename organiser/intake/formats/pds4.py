"""PDS4 labels to DataCite metadata: the crosswalk (the PDS DOI Service's rules, its known
bugs fixed). Pure: an lxml element in, attributes out."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

from lxml import etree

from organiser.intake.formats import names

PDS4 = "http://pds.nasa.gov/pds4/pds/v1"
_NS = {"p": PDS4}
_CLARK = f"{{{PDS4}}}"
_NS_LENGTH = len(_CLARK)

#: PDS steward ids and the long names used in "Planetary Data System: <name> Node".
NODES = {
    "atm": "Atmospheres",
    "eng": "Engineering",
    "geo": "Geosciences",
    "img": "Imaging",
    "naif": "Navigation and Ancillary Information Facility",
    "ppi": "Planetary Plasma Interactions",
    "rs": "Radio Science",
    "rms": "Ring-Moon Systems",
    "sbn": "Small Bodies",
}
DEFAULT_LANDING_PAGE = (
    "https://pds.nasa.gov/ds-view/pds/view{view}.jsp?identifier={lid}&version={vid}"
)
_VIEWS = {
    "Bundle": "Bundle",
    "Collection": "Collection",
    "Document": "Document",
    "Context": "Context",
}
_TYPES = {
    "Bundle": ("Collection", "PDS4 Refereed Data Bundle"),
    "Collection": ("Collection", "PDS4 Refereed Data Collection"),
    "Document": ("Text", "PDS4 Refereed Document"),
}
#: DataCite contributorType values; anything else in a label becomes "Other".
CONTRIBUTOR_TYPES = frozenset(
    [
        "ContactPerson",
        "DataCollector",
        "DataCurator",
        "DataManager",
        "Distributor",
        "Editor",
        "HostingInstitution",
        "Producer",
        "ProjectLeader",
        "ProjectManager",
        "ProjectMember",
        "RegistrationAgency",
        "RegistrationAuthority",
        "RelatedPerson",
        "Researcher",
        "ResearchGroup",
        "RightsHolder",
        "Sponsor",
        "Supervisor",
        "WorkPackageLeader",
        "Other",
    ]
)
_LID = re.compile(r"^urn:[a-z0-9]+:[a-z0-9.-]+(?::[a-z0-9][a-z0-9._-]*){1,3}$")
_VID = re.compile(r"^\d+\.\d+$")
_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
_ROR = re.compile(r"^(?:https?://ror\.org/)?(0[a-z0-9]{6}\d{2})$")


class LabelError(ValueError):
    """The label cannot be turned into DataCite metadata; the message says why in one line."""


@dataclass(frozen=True)
class Crosswalk:
    """What the crosswalk takes from configuration."""

    publisher: str = "NASA Planetary Data System"
    keywords: Sequence[str] = ()
    landing_page: str = DEFAULT_LANDING_PAGE
    nodes: Mapping[str, str] = field(default_factory=lambda: dict(NODES))


@dataclass(frozen=True)
class Label:
    """A label turned into DataCite terms."""

    lidvid: str
    attributes: dict[str, Any]
    url: str
    doi: str | None


def is_label(root: etree._Element) -> bool:
    """Tell whether ``root`` is a PDS4 product (``Product_*`` in the PDS4 namespace)."""
    qname = etree.QName(root)
    return qname.namespace == PDS4 and qname.localname.startswith("Product_")


def check_lidvid(lidvid: str) -> str:
    """Give ``lidvid`` if it is a PDS4 LIDVID (``urn:agency:authority:bundle[:…]::M.N``).

    Raises :class:`LabelError` naming what is wrong.
    """
    lid, sep, vid = lidvid.partition("::")
    if not sep:
        raise LabelError(f"invalid LIDVID {lidvid!r}: no '::' version")
    if not _LID.match(lid):
        raise LabelError(f"invalid LIDVID {lidvid!r}: LID must look like urn:nasa:pds:bundle[:…]")
    if not _VID.match(vid):
        raise LabelError(f"invalid LIDVID {lidvid!r}: version must be N.N")
    return lidvid


def crosswalk(root: etree._Element, node: str, settings: Crosswalk) -> Label:
    """Give the DataCite metadata for the PDS4 label ``root`` held by ``node``.

    Raises :class:`LabelError` when the label is not PDS4 or lacks what DataCite needs.
    """
    if not is_label(root):
        raise LabelError(
            f"not a PDS4 label (root element {etree.QName(root).localname}, "
            f"namespace {etree.QName(root).namespace or 'none'})"
        )
    if node not in settings.nodes:
        raise LabelError(f"unknown node {node!r} (one of {', '.join(sorted(settings.nodes))})")
    area = root.find("p:Identification_Area", _NS)
    if area is None:
        raise LabelError("no Identification_Area")
    lid, vid = _text(area, "p:logical_identifier"), _text(area, "p:version_id")
    if "::" in lid and lid.split("::", 1)[1] == vid:
        lid = lid.split("::", 1)[0]  # a LID that repeats its own version: tolerated
    lidvid = check_lidvid(f"{lid}::{vid}")
    titles = [names.collapse("".join(t.itertext())) for t in area.findall("p:title", _NS)]
    titles = [t for t in titles if t]
    if not titles:
        raise LabelError("no title in Identification_Area")
    kind = (_text(area, "p:product_class") or etree.QName(root).localname).removeprefix("Product_")
    citation = area.find("p:Citation_Information", _NS)
    node_name = f"Planetary Data System: {settings.nodes[node]} Node"
    attributes: dict[str, Any] = {
        "identifiers": [{"identifier": lidvid, "identifierType": "PDS4 LIDVID"}],
        "titles": [{"title": titles[0]}]
        + [{"title": t, "titleType": "AlternativeTitle"} for t in titles[1:]],
        "creators": _people(citation, "Author", "author_list") or [names.organisation(node_name)],
        "publisher": settings.publisher,
        "publicationYear": _year(area, citation),
        "types": dict(
            zip(
                ("resourceTypeGeneral", "resourceType"),
                _TYPES.get(kind, ("Dataset", f"PDS4 Refereed Data {kind}")),
                strict=True,
            )
        ),
        "contributors": [
            dict(p, contributorType="Editor") for p in _people(citation, "Editor", "editor_list")
        ]
        + _contributors(citation)
        + [dict(names.organisation(node_name), contributorType="DataCurator")],
        "subjects": [{"subject": s} for s in _unique(_keywords(citation), settings.keywords)],
        "schemaVersion": "http://datacite.org/schema/kernel-4",
    }
    description = _text(citation, "p:description")
    if description:
        attributes["descriptions"] = [{"description": description, "descriptionType": "Abstract"}]
    if not attributes["subjects"]:
        del attributes["subjects"]
    url = settings.landing_page.format(
        view=_VIEWS.get(kind, "Product"), lid=quote(lid, safe=""), vid=quote(vid, safe="")
    )
    doi = _text(citation, "p:doi") or None
    return Label(lidvid, attributes, url, doi)


def _text(parent: etree._Element | None, path: str) -> str:
    if parent is None:
        return ""
    found = parent.find(_clark(path))
    if found is None:
        return ""
    text = found.text or "" if len(found) == 0 else "".join(found.itertext())
    return names.collapse(text)


@cache
def _clark(path: str) -> str:
    """Give ``p:a/p:b`` as ``{ns}a/{ns}b`` (lxml finds those without a namespace map)."""
    return path.replace("p:", f"{{{PDS4}}}")


def _year(area: etree._Element, citation: etree._Element | None) -> str:
    """Give the publication year: ``Citation_Information/publication_year`` (the year the
    product was published), else the year of the earliest ``modification_date`` (a label
    changed in 2025 does not move a 2008 product to 2025).

    Raises :class:`LabelError` when publication_year is not a year, or there is neither.
    """
    given = _text(citation, "p:publication_year")
    if given:
        if not re.match(r"^\d{4}(?:$|-)", given):
            raise LabelError(f"Citation_Information/publication_year {given!r} is not a year")
        return given[:4]
    dates = [
        names.collapse(d.text or "")
        for d in area.iterfind(
            "p:Modification_History/p:Modification_Detail/p:modification_date", _NS
        )
    ]
    years = sorted(d[:4] for d in dates if re.match(r"^\d{4}", d))
    if not years:
        raise LabelError(
            "no publication year (Citation_Information/publication_year or "
            "Modification_History modification_date)"
        )
    return years[0]


def _people(citation: etree._Element | None, role: str, free_text: str) -> list[dict[str, Any]]:
    """List_<role> (structured) wins over the free-text <free_text> list."""
    if citation is None:
        return []
    structured = citation.findall(f"p:List_{role}/*", _NS)
    if structured:
        return [_structured(e, fields) for e, fields in _in_sequence(structured)]
    text = _text(citation, f"p:{free_text}")
    return names.from_list(text) if text else []


def _contributors(citation: etree._Element | None) -> list[dict[str, Any]]:
    if citation is None:
        return []
    out = []
    for element, fields in _in_sequence(citation.findall("p:List_Contributor/*", _NS)):
        kind = fields.get("contributor_type", "")
        kind = kind if kind in CONTRIBUTOR_TYPES else "Other"
        out.append(dict(_structured(element, fields), contributorType=kind))
    return out


def _fields(element: etree._Element) -> dict[str, Any]:
    """Give an element's children in one pass: leaf text by local name (collapsed), and the
    child elements themselves under ``"<name>*"`` lists (e.g. ``"Affiliation*"``)."""
    fields: dict[str, Any] = {}
    for child in element:
        name = child.tag[_NS_LENGTH:] if child.tag.startswith(_CLARK) else str(child.tag)
        if len(child):
            fields.setdefault(f"{name}*", []).append(child)
        else:
            fields[name] = names.collapse(child.text or "")
    return fields


def _in_sequence(elements: list[etree._Element]) -> list[tuple[etree._Element, dict[str, Any]]]:
    """Give (element, its fields), by ``sequence_number`` when every element has one, else in
    label order."""
    pairs = [(e, _fields(e)) for e in elements]
    numbers = [fields.get("sequence_number", "") for _, fields in pairs]
    if all(n.isascii() and n.isdigit() and len(n) <= 9 for n in numbers):
        order = sorted(range(len(pairs)), key=lambda i: int(numbers[i]))
        return [pairs[i] for i in order]
    return pairs


def _structured(element: etree._Element, fields: dict[str, Any]) -> dict[str, Any]:
    if element.tag == f"{_CLARK}Organization":
        entry = names.organisation(fields.get("organization_name", ""))
        ror = _ror(fields.get("organization_rorid", ""))
        if ror:
            entry["nameIdentifiers"] = [ror]
        for parent in fields.get("Parent_Organization*", [])[:1]:
            found = _fields(parent)
            entry["affiliation"] = [
                _affiliation(
                    found.get("parent_organization_name", ""),
                    found.get("parent_organization_rorid", ""),
                )
            ]
        return entry
    given = re.sub(r"\.{2,}", ".", fields.get("given_name", ""))  # "Louis A.." happens
    family = fields.get("family_name", "")
    if family:
        entry = {
            "nameType": "Personal",
            "name": f"{family}, {given}" if given else family,
            "familyName": family,
        }
        if given:
            entry["givenName"] = given
    else:
        entry = names.person(fields.get("display_full_name", ""))
    orcid = fields.get("person_orcid", "")
    if orcid:  # kept as given when it is no ORCID, so that the intake check reports it
        found = _ORCID.search(orcid)
        entry["nameIdentifiers"] = [
            {
                "nameIdentifier": f"https://orcid.org/{found.group(1)}" if found else orcid,
                "nameIdentifierScheme": "ORCID",
                "schemeUri": "https://orcid.org",
            }
        ]
    affiliations = [
        _affiliation(found.get("organization_name", ""), found.get("organization_rorid", ""))
        for _, found in _in_sequence(fields.get("Affiliation*", []))
    ]
    if affiliations:
        entry["affiliation"] = affiliations
    return entry


def _affiliation(name: str, rorid: str) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name}
    ror = _ror(rorid)
    if ror:
        item.update(
            affiliationIdentifier=ror["nameIdentifier"],
            affiliationIdentifierScheme="ROR",
            schemeUri="https://ror.org",
        )
    return item


def _ror(value: str) -> dict[str, str] | None:
    match = _ROR.match(value.strip().lower())
    if not match:
        return None  # e.g. "jpl": not a ROR id, so not claimed as one
    return {
        "nameIdentifier": f"https://ror.org/{match.group(1)}",
        "nameIdentifierScheme": "ROR",
        "schemeUri": "https://ror.org",
    }


def _keywords(citation: etree._Element | None) -> list[str]:
    if citation is None:
        return []
    return [names.collapse(k.text or "") for k in citation.findall("p:keyword", _NS)]


def _unique(*lists: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in (v for values in lists for v in values if v):
        seen.setdefault(value, None)
    return list(seen)
