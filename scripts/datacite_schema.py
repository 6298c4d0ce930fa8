"""Derive the JSON schema of DataCite Metadata Schema 4.7 that intake validates with
(``organiser/intake/schemas/datacite-v4.7.json``).

Base: the DataCite Metadata Schema 4.5 JSON schema of the ``datacite`` package
(``datacite/schemas/datacite-v4.5.json``), the one intake used before. 4.6 and 4.7 changed
only controlled vocabularies and added one sub-property (the revision history at the top of
the official ``metadata.xsd``; a diff of the 4.5 and 4.7 XSDs shows nothing else):

- every controlled list is replaced by the enumeration of the same ``xs:simpleType`` in the
  official XSD's ``include/*.xsd`` (``resourceTypeGeneral`` is the XSD's ``resourceType``);
  a value of the base that the XSD no longer lists stops the derivation (a removal is a
  breaking change to look at by hand, never applied silently);
- ``relationTypeInformation`` (4.7: free text, optional, on ``relatedIdentifier`` and
  ``relatedItem``; DataCite's REST JSON names it the same) is added to both.

Nothing is loosened: every other rule of the base is kept as it is (tested:
tests/unit/test_schema_47.py derives the schema again and compares, and compares every
enumeration with the XSD's).

Usage: ``python scripts/datacite_schema.py XSD_DIR > organiser/intake/schemas/datacite-v4.7.json``
with ``XSD_DIR`` the folder of the official ``metadata.xsd`` (e.g.
``tests/data/datacite-schema-4.7``).
"""

from __future__ import annotations

import copy
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

XS = "{http://www.w3.org/2001/XMLSchema}"
#: JSON schema definitions named differently from the XSD's simpleType.
ALIASES = {"resourceTypeGeneral": "resourceType"}
#: Controlled lists the JSON schema writes inline: JSON path -> XSD simpleType.
INLINE = {("properties", "relatedItems", "items", "properties", "numberType"): "numberType"}
#: Where 4.7's relationTypeInformation goes: the definition both related objects share.
RELATED_OBJECT = ("definitions", "relatedObject", "properties")


def base_schema() -> dict[str, Any]:
    """Give the ``datacite`` package's 4.5 JSON schema."""
    path = resources.files("datacite") / "schemas/datacite-v4.5.json"
    return json.loads(path.read_text())


def xsd_vocabularies(xsd_dir: Path) -> dict[str, list[str]]:
    """Give every controlled list of the XSD in ``xsd_dir`` (``include/*.xsd``): simpleType
    name -> its enumeration, in the XSD's order."""
    found: dict[str, list[str]] = {}
    for path in sorted((xsd_dir / "include").glob("datacite-*-v4.xsd")):
        for simple in etree.parse(str(path)).getroot().iter(f"{XS}simpleType"):
            values = [e.get("value") for e in simple.iter(f"{XS}enumeration")]
            if values:
                found[simple.get("name")] = values
    return found


def _at(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path:
        document = document[key]
    return document


def _replace(target: dict[str, Any], values: list[str], where: str) -> None:
    dropped = [v for v in target["enum"] if v not in values]
    if dropped:
        raise ValueError(f"{where}: the XSD no longer lists {dropped}; look at it by hand")
    target["enum"] = list(values)


def derive(base: dict[str, Any], vocabularies: dict[str, list[str]]) -> dict[str, Any]:
    """Give the 4.7 JSON schema: ``base`` (the 4.5 one) with the XSD's ``vocabularies`` and
    ``relationTypeInformation``. Raises ValueError when the XSD drops a value of ``base``
    or a controlled list of ``base`` has no XSD counterpart."""
    schema = copy.deepcopy(base)
    schema["id"] = "datacite-v4.7.json"
    schema["title"] = "DataCite v4.7"
    schema["description"] = (
        "DataCite Metadata Schema 4.7 in DataCite's REST API JSON: the datacite package's "
        "4.5 JSON schema with the controlled lists of the official 4.7 XSD and "
        "relationTypeInformation (derived by organiser's scripts/datacite_schema.py)."
    )
    for name, definition in schema["definitions"].items():
        if "enum" in definition:
            xsd_name = ALIASES.get(name, name)
            if xsd_name not in vocabularies:
                raise ValueError(f"definitions.{name}: no controlled list {xsd_name} in the XSD")
            _replace(definition, vocabularies[xsd_name], f"definitions.{name}")
    for path, xsd_name in INLINE.items():
        _replace(_at(schema, path), vocabularies[xsd_name], ".".join(path))
    _at(schema, RELATED_OBJECT)["relationTypeInformation"] = {"type": "string"}
    return schema


def render(schema: dict[str, Any]) -> str:
    """Give ``schema`` as the text of the shipped file."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python scripts/datacite_schema.py XSD_DIR", file=sys.stderr)
        return 2
    sys.stdout.write(render(derive(base_schema(), xsd_vocabularies(Path(argv[0])))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
