"""DataCite XML (metadata kernel 4) to the REST API's JSON attributes."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

KERNEL4 = "http://datacite.org/schema/kernel-4"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

#: container element -> (child element, JSON key for the child's text, JSON key for the list)
_SIMPLE_LISTS = {
    "titles": ("title", "title", "titles"),
    "subjects": ("subject", "subject", "subjects"),
    "dates": ("date", "date", "dates"),
    "descriptions": ("description", "description", "descriptions"),
    "rightsList": ("rights", "rights", "rightsList"),
    "alternateIdentifiers": ("alternateIdentifier", "identifier", "identifiers"),
    "relatedIdentifiers": ("relatedIdentifier", "relatedIdentifier", "relatedIdentifiers"),
}
_STRING_LISTS = {"sizes": "size", "formats": "format"}
_ATTRIBUTE_NAMES = {"alternateIdentifierType": "identifierType"}


def is_datacite_xml(root: etree._Element) -> bool:
    """Tell whether ``root`` is a DataCite kernel-4 ``resource`` element."""
    return root.tag == f"{{{KERNEL4}}}resource"


def to_attributes(root: etree._Element) -> dict[str, Any]:
    """Give the JSON attributes for a kernel-4 ``resource`` element (the DOI as ``doi``).

    Raises ValueError when ``root`` is not a kernel-4 resource.
    """
    if not is_datacite_xml(root):
        raise ValueError(f"not DataCite kernel-4 XML (root element {_local(root.tag)})")
    out: dict[str, Any] = {}
    for child in root:
        name = _local(child.tag)
        if name == "identifier" and child.get("identifierType", "DOI").upper() == "DOI":
            out["doi"] = _text(child)
        elif name in ("creators", "contributors"):
            out[name] = [_name(item) for item in child]
        elif name in _SIMPLE_LISTS:
            item_name, text_key, key = _SIMPLE_LISTS[name]
            out[key] = [_item(item, text_key) for item in child if _local(item.tag) == item_name]
        elif name in _STRING_LISTS:
            out[name] = [_text(item) for item in child]
        elif name == "resourceType":
            out["types"] = {
                "resourceTypeGeneral": child.get("resourceTypeGeneral"),
                "resourceType": _text(child),
            }
        elif name == "publicationYear":
            year = _text(child)
            # a year as a number; anything else (or a 5,000-digit "year") as the text it is
            out["publicationYear"] = int(year) if _small_number(year) else year
        elif name == "fundingReferences":
            out[name] = [_funding(item) for item in child]
        elif name == "geoLocations":
            out[name] = [_geo(item) for item in child]
        elif name in ("publisher", "language", "version"):
            out[name] = _text(child)
    return out


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else str(tag)


def _text(element: etree._Element) -> str:
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()


def _key(attribute: str) -> str:
    if attribute == XML_LANG:
        return "lang"
    attribute = _ATTRIBUTE_NAMES.get(attribute, attribute)
    return attribute[:-3] + "Uri" if attribute.endswith("URI") else attribute


def _item(element: etree._Element, text_key: str) -> dict[str, Any]:
    item = {_key(k): v for k, v in element.attrib.items()}
    item[text_key] = _text(element)
    return item


def _name(element: etree._Element) -> dict[str, Any]:
    person: dict[str, Any] = {_key(k): v for k, v in element.attrib.items()}
    for part in element:
        tag = _local(part.tag)
        if tag in ("creatorName", "contributorName"):
            person["name"] = _text(part)
            if part.get("nameType"):
                person["nameType"] = part.get("nameType")
        elif tag in ("givenName", "familyName"):
            person[tag] = _text(part)
        elif tag == "nameIdentifier":
            person.setdefault("nameIdentifiers", []).append(_item(part, "nameIdentifier"))
        elif tag == "affiliation":
            person.setdefault("affiliation", []).append(_item(part, "name"))
    return person


def _funding(element: etree._Element) -> dict[str, Any]:
    funding: dict[str, Any] = {}
    for part in element:
        tag = _local(part.tag)
        funding[tag] = _text(part)
        for attribute, value in part.attrib.items():
            funding[_key(attribute)] = value
    return funding


def _geo(element: etree._Element) -> dict[str, Any]:
    geo: dict[str, Any] = {}
    for part in element:
        tag = _local(part.tag)
        if tag == "geoLocationPlace":
            geo[tag] = _text(part)
        elif tag in ("geoLocationPoint", "geoLocationBox"):
            geo[tag] = {_local(c.tag): _text(c) for c in part}
    return geo


def _small_number(text: str) -> bool:
    """Tell whether ``text`` is a whole number ``int()`` takes at once (ASCII digits, at
    most 9: ``"²".isdigit()`` is true, and Python refuses over 4,300 digits)."""
    return text.isascii() and text.isdigit() and len(text) <= 9
