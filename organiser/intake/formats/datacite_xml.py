"""DataCite XML (metadata kernel 4, up to Metadata Schema 4.7) to the REST API's JSON
attributes.

Coordinates (geoLocation points, boxes and polygons) become JSON numbers, as in DataCite's
JSON; a coordinate that is not a finite decimal number stays the text it is, for the schema
check to refuse with its field named. A ``publisher`` with attributes (4.5's
``publisherIdentifier``, ``xml:lang``, ...) becomes an object, as DataCite answers with
``?publisher=true``; without, a string. ``relatedItems`` are read with their ``relatedItem``
attributes (4.7's ``relationTypeInformation`` among them) and the attributes of
``relatedItemIdentifier`` and ``number`` on the item, where the JSON schema has them.
"""

from __future__ import annotations

import math
import re
from typing import Any

from lxml import etree

from organiser.intake import bounds

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
#: A decimal number as xs:float writes one (no INF, NaN or hexadecimal, which float() takes).
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: relatedItem children that hold one string each (publicationYear stays text there).
_ITEM_TEXTS = frozenset(
    "publicationYear volume issue number firstPage lastPage publisher edition".split()
)


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
            out[name] = [geo for item in child for geo in _geo(item)]
        elif name == "relatedItems":
            out[name] = [_related_item(item) for item in child]
        elif name == "publisher" and child.attrib:
            out[name] = _item(child, "name")
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
            for attribute in ("nameType", XML_LANG):
                if part.get(attribute):
                    person[_key(attribute)] = part.get(attribute)
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


def _geo(element: etree._Element) -> list[dict[str, Any]]:
    """Give a ``geoLocation`` as DataCite JSON: one object, or one more for each polygon
    after the first (DataCite JSON holds one ``geoLocationPolygon`` per geoLocation)."""
    geo: dict[str, Any] = {}
    more: list[dict[str, Any]] = []
    for part in element:
        tag = _local(part.tag)
        if tag == "geoLocationPlace":
            geo[tag] = _text(part)
        elif tag in ("geoLocationPoint", "geoLocationBox"):
            geo[tag] = _coordinates(part)
        elif tag == "geoLocationPolygon":
            polygon = [{_local(p.tag): _coordinates(p)} for p in part if _is_element(p)]
            if tag in geo:
                more.append({tag: polygon})
            else:
                geo[tag] = polygon
    return [geo, *more]


def _coordinates(element: etree._Element) -> dict[str, Any]:
    """Give a point's or box's coordinates, each as a number when it is a decimal one."""
    return {_local(c.tag): _number(_text(c)) for c in element if _is_element(c)}


def _number(text: str) -> float | str:
    """Give ``text`` as a float when it is a finite decimal number of at most
    :data:`~organiser.intake.bounds.MAX_NUMBER_CHARS` characters (as JSON intake reads
    numbers), else ``text``."""
    if len(text) <= bounds.MAX_NUMBER_CHARS and _DECIMAL.fullmatch(text):
        value = float(text)
        if math.isfinite(value):
            return value
    return text


def _related_item(element: etree._Element) -> dict[str, Any]:
    item: dict[str, Any] = {_key(k): v for k, v in element.attrib.items()}
    for part in element:
        if not _is_element(part):
            continue
        tag = _local(part.tag)
        if tag == "relatedItemIdentifier":
            identifier = _item(part, "relatedItemIdentifier")
            for name in ("relatedMetadataScheme", "schemeUri", "schemeType"):
                if name in identifier:
                    item[name] = identifier.pop(name)
            item[tag] = identifier
        elif tag in ("creators", "contributors"):
            item[tag] = [_name(p) for p in part if _is_element(p)]
        elif tag == "titles":
            item[tag] = [_item(p, "title") for p in part if _is_element(p)]
        elif tag in _ITEM_TEXTS:
            item[tag] = _text(part)
            item.update({_key(k): v for k, v in part.attrib.items()})  # number's numberType
    return item


def _is_element(node: Any) -> bool:
    """Tell whether ``node`` is an element (not a comment or processing instruction)."""
    return isinstance(node.tag, str)


def _small_number(text: str) -> bool:
    """Tell whether ``text`` is a whole number ``int()`` takes at once (ASCII digits, at
    most 9: ``"²".isdigit()`` is true, and Python refuses over 4,300 digits)."""
    return text.isascii() and text.isdigit() and len(text) <= 9
