"""DataCite Metadata Schema 4.7 at intake: the shipped JSON schema is what the official XSD's
vocabularies and the ``datacite`` package's 4.5 schema give (so the two cannot drift); what
4.6/4.7 added is taken from DataCite JSON and XML, what 4.7 refuses is refused with one line
naming the field; the XML reader gives coordinates as numbers."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from test_schema_47_xml import kernel4

from organiser.domain.identifiers import DoiScheme
from organiser.intake import InputError, Options, read
from organiser.intake.sources import Source

from conftest import DATA, MINIMAL

SCHEMA_DIR = DATA / "datacite-schema-4.7"
ROOT = Path(__file__).parents[2]
XS = "{http://www.w3.org/2001/XMLSchema}"
SCHEME = DoiScheme("10.5072")


def _shipped() -> dict[str, Any]:
    text = (resources.files("organiser.intake") / "schemas/datacite-v4.7.json").read_text()
    return json.loads(text)


def _script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "datacite_schema", ROOT / "scripts/datacite_schema.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _xsd_lists() -> dict[str, set[str]]:
    """simpleType name -> enumeration, read from the XSD here (not by the script)."""
    lists = {}
    for path in (SCHEMA_DIR / "include").glob("*.xsd"):
        for simple in etree.parse(str(path)).iter(f"{XS}simpleType"):
            values = {e.get("value") for e in simple.iter(f"{XS}enumeration")}
            if values and simple.get("name"):  # xml.xsd's xml:space is anonymous
                lists[simple.get("name")] = values
    return lists


def _enums(value: Any, path: str = "") -> dict[str, set[str]]:
    """Every ``enum`` in a JSON schema: its path -> its values."""
    found: dict[str, set[str]] = {}
    if isinstance(value, dict):
        if isinstance(value.get("enum"), list):
            found[path] = set(value["enum"])
        for key, child in value.items():
            found.update(_enums(child, f"{path}.{key}" if path else key))
    return found


# --- the schema itself -----------------------------------------------------------------------


def test_the_xsd_is_the_official_copy() -> None:
    """The oracle is byte for byte the shared fixtures' copy of DataCite's 4.7 XSD."""
    sums = dict(
        reversed(line.split("  ", 1))
        for line in (DATA / "SHA256SUMS.shared").read_text().splitlines()
        if "datacite-schema-4.7/" in line
    )
    files = sorted(p for p in SCHEMA_DIR.rglob("*") if p.is_file())
    assert len(files) == len(sums) == 25
    for path in files:
        name = str(path.relative_to(DATA))
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[name], name


def test_the_shipped_schema_is_derived_from_the_xsd_and_the_45_schema() -> None:
    script = _script()
    derived = script.derive(script.base_schema(), script.xsd_vocabularies(SCHEMA_DIR))
    shipped_text = (resources.files("organiser.intake") / "schemas/datacite-v4.7.json").read_text()
    assert script.render(derived) == shipped_text


def test_every_vocabulary_is_the_xsds() -> None:
    lists = _xsd_lists()
    enums = _enums(_shipped())
    aliases = {"resourceTypeGeneral": "resourceType"}
    checked = set()
    for path, values in enums.items():
        name = aliases.get(path.rsplit(".", 1)[-1], path.rsplit(".", 1)[-1])
        if path in NOT_VOCABULARIES:
            continue
        assert values == lists[name], path
        checked.add(name)
    assert checked == set(lists)  # and every XSD list is used
    assert {"Award", "Project", "Poster", "Presentation"} <= lists["resourceType"]
    assert {"CSTR", "RRID", "RAiD", "SWHID"} <= lists["relatedIdentifierType"]
    assert {"HasTranslation", "IsTranslationOf", "Other"} <= lists["relationType"]
    assert "Translator" in lists["contributorType"] and "Coverage" in lists["dateType"]


def test_nothing_else_is_loosened() -> None:
    """Apart from the vocabularies (each a superset) and relationTypeInformation, the shipped
    schema is the datacite package's 4.5 schema."""
    script = _script()
    base = script.base_schema()
    shipped = copy.deepcopy(_shipped())
    old, new = _enums(base), _enums(shipped)
    assert old.keys() == new.keys()
    assert all(old[k] <= new[k] for k in old)
    for schema in (base, shipped):
        for key in ("id", "title", "description"):
            schema.pop(key)
        _drop_enums(schema)
    added = shipped["definitions"]["relatedObject"]["properties"].pop("relationTypeInformation")
    assert added == {"type": "string"}
    assert shipped == base


def _drop_enums(value: Any) -> None:
    if isinstance(value, dict):
        value.pop("enum", None)
        for child in value.values():
            _drop_enums(child)


def test_the_script_refuses_a_vocabulary_that_lost_a_value() -> None:
    script = _script()
    lists = script.xsd_vocabularies(SCHEMA_DIR)
    lists["relationType"] = [v for v in lists["relationType"] if v != "Cites"]
    with pytest.raises(ValueError, match=r"definitions.relationType: .*'Cites'"):
        script.derive(script.base_schema(), lists)


# --- intake: DataCite JSON ------------------------------------------------------------------


def _json(tmp_path: Path, **changes: Any) -> list[Any]:
    attributes = dict(copy.deepcopy(MINIMAL), **changes)
    return read(Source("record.json", json.dumps(attributes).encode(), ".json"), Options(SCHEME))


def _refused(tmp_path: Path, **changes: Any) -> list[str]:
    with pytest.raises(InputError) as refused:
        _json(tmp_path, **changes)
    return refused.value.errors


#: Enumerations of the JSON schema that are no DataCite vocabulary.
NOT_VOCABULARIES = {
    "properties.event",  # the REST API's events (publish, register, hide)
    # the two relations that may name a metadata scheme (HasMetadata, IsMetadataFor)
    "definitions.relatedObjectIf.properties.relationType",
}
RELATED = {"relatedIdentifier": "10.1/x", "relatedIdentifierType": "DOI"}


def test_json_takes_what_46_and_47_added(tmp_path: Path) -> None:
    related = [
        dict(RELATED, relationType="HasTranslation"),
        dict(RELATED, relationType="IsTranslationOf", resourceTypeGeneral="Presentation"),
        dict(RELATED, relationType="Other", relationTypeInformation="is reply to"),
        {
            "relatedIdentifier": "31253.11.sciencedb.13238",
            "relatedIdentifierType": "CSTR",
            "relationType": "Cites",
        },
        {
            "relatedIdentifier": "RRID:SCR_014641",
            "relatedIdentifierType": "RRID",
            "relationType": "Cites",
        },
        {
            "relatedIdentifier": "https://raid.org/10.26259/5c43ca8f",
            "relatedIdentifierType": "RAiD",
            "relationType": "IsPartOf",
        },
        {
            "relatedIdentifier": "swh:1:cnt:94a9ed024d3859793618152ea559a168bbcbb5e2",
            "relatedIdentifierType": "SWHID",
            "relationType": "References",
        },
    ]
    item = {
        "relatedItemType": "Poster",
        "relationType": "Other",
        "relationTypeInformation": "was shown at",
        "titles": [{"title": "A poster"}],
    }
    for general in ("Award", "Project", "Poster", "Presentation"):
        [record] = _json(
            tmp_path,
            types={"resourceTypeGeneral": general},
            titles=[{"title": f"A {general}"}],
            relatedIdentifiers=related,
            relatedItems=[item],
            contributors=[{"name": "T", "contributorType": "Translator"}],
            dates=[{"date": "2024-01-01/2024-12-31", "dateType": "Coverage"}],
        )
        assert record.attributes["types"]["resourceTypeGeneral"] == general
        assert record.attributes["relatedIdentifiers"] == related
        assert record.attributes["relatedItems"] == [item]


def test_other_without_relation_type_information_is_taken(tmp_path: Path) -> None:
    """4.7 recommends relationTypeInformation with Other but does not require it (the XSD
    has it optional), so neither does intake."""
    [record] = _json(tmp_path, relatedIdentifiers=[dict(RELATED, relationType="Other")])
    assert record.attributes["relatedIdentifiers"][0]["relationType"] == "Other"
    xsd = etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "metadata.xsd")))
    assert xsd.validate(
        etree.fromstring(
            kernel4(
                '<relatedIdentifiers><relatedIdentifier relatedIdentifierType="DOI"'
                ' relationType="Other">10.1/x</relatedIdentifier></relatedIdentifiers>'
            )
        )
    )


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        (
            {"relatedIdentifiers": [dict(RELATED, relationType="IsFriendOf")]},
            'record.json: relatedIdentifiers.0.relationType: "IsFriendOf" is not one of',
        ),
        (
            {"types": {"resourceTypeGeneral": "Spaceship"}},
            'record.json: types.resourceTypeGeneral: "Spaceship" is not one of',
        ),
        (
            {"types": {"resourceTypeGeneral": "poster"}},  # the vocabularies are case-sensitive
            'record.json: types.resourceTypeGeneral: "poster" is not one of',
        ),
        (
            {
                "relatedIdentifiers": [
                    dict(RELATED, relatedIdentifierType="SWH", relationType="Cites")
                ]
            },
            'record.json: relatedIdentifiers.0.relatedIdentifierType: "SWH" is not one of',
        ),
        (
            {"contributors": [{"name": "T", "contributorType": "Interpreter"}]},
            'record.json: contributors.0.contributorType: "Interpreter" is not one of',
        ),
        (
            {"dates": [{"date": "2024", "dateType": "Covered"}]},
            'record.json: dates.0.dateType: "Covered" is not one of',
        ),
        (
            {
                "relatedIdentifiers": [
                    dict(RELATED, relationType="Other", relationTypeInformation=7)
                ]
            },
            'record.json: relatedIdentifiers.0.relationTypeInformation: 7 is not of type "string"',
        ),
        (
            {"relatedIdentifiers": [dict(RELATED, relationType="Other", relationTypeInfo="x")]},
            "record.json: relatedIdentifiers.0: Unevaluated properties are not allowed",
        ),
        (
            {
                "relatedItems": [
                    {
                        "relatedItemType": "Award",
                        "relationType": "Translates",
                        "titles": [{"title": "t"}],
                    }
                ]
            },
            'record.json: relatedItems.0.relationType: "Translates" is not one of',
        ),
    ],
)
def test_what_47_refuses_is_refused_with_one_line(
    tmp_path: Path, changes: dict[str, Any], line: str
) -> None:
    errors = _refused(tmp_path, **changes)
    assert len(errors) == 1, errors
    assert errors[0].startswith(line), errors
    assert "\n" not in errors[0] and len(errors[0]) < 240


def test_an_unknown_property_beside_a_bad_value_is_still_named(tmp_path: Path) -> None:
    """The "unevaluated" echo of a failed rule is left out, a property the schema does not
    know is not: one line each."""
    errors = _refused(
        tmp_path, relatedIdentifiers=[dict(RELATED, relationType="IsFriendOf", bogus="x")]
    )
    assert errors == [
        "record.json: relatedIdentifiers.0: properties not allowed here: 'bogus'",
        'record.json: relatedIdentifiers.0.relationType: "IsFriendOf" is not one of "IsCitedBy", '
        '"Cites" or 37 other candidates',
    ]
