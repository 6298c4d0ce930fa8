"""DataCite Metadata Schema 4.7 in DataCite XML at intake: coordinates (points, boxes,
polygons) as numbers, 4.7's relationTypeInformation and relatedItems read, a bad coordinate or
relation refused with one line naming the field (the JSON side and the schema itself:
test_schema_47.py)."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from organiser.domain.identifiers import DoiScheme
from organiser.intake import InputError, Options, read
from organiser.intake.formats import datacite_xml
from organiser.intake.sources import Source

SCHEME = DoiScheme("10.5072")


def kernel4(body: str) -> str:
    """Give a minimal DataCite 4.7 XML record (resourceTypeGeneral Award) with ``body``."""
    return (
        '<resource xmlns="http://datacite.org/schema/kernel-4">'
        '<identifier identifierType="DOI">10.5072/abc</identifier>'
        "<creators><creator><creatorName>A</creatorName></creator></creators>"
        "<titles><title>x</title></titles><publisher>P</publisher>"
        '<publicationYear>2026</publicationYear><resourceType resourceTypeGeneral="Award"/>'
        f"{body}</resource>"
    )


def _xml(body: str) -> list[Any]:
    return read(Source("record.xml", kernel4(body).encode(), ".xml"), Options(SCHEME))


GEO = """<geoLocations><geoLocation>
  <geoLocationPoint>
    <pointLongitude> 4.897070 </pointLongitude><pointLatitude>52.377956</pointLatitude>
  </geoLocationPoint>
  <geoLocationBox>
    <westBoundLongitude>-123.27</westBoundLongitude><eastBoundLongitude>-123.02</eastBoundLongitude>
    <southBoundLatitude>49.195</southBoundLatitude><northBoundLatitude>49</northBoundLatitude>
  </geoLocationBox>
  <geoLocationPolygon>
    <polygonPoint><pointLatitude>41.991</pointLatitude><pointLongitude>-71.032</pointLongitude></polygonPoint>
    <!-- a comment -->
    <inPolygonPoint><pointLatitude>1E1</pointLatitude><pointLongitude>-.5</pointLongitude></inPolygonPoint>
  </geoLocationPolygon>
  <geoLocationPolygon>
    <polygonPoint><pointLatitude>1</pointLatitude><pointLongitude>2</pointLongitude></polygonPoint>
  </geoLocationPolygon>
</geoLocation></geoLocations>"""


def test_xml_coordinates_are_numbers() -> None:
    [record] = _xml(GEO)
    first, second = record.attributes["geoLocations"]
    assert first["geoLocationPoint"] == {"pointLongitude": 4.89707, "pointLatitude": 52.377956}
    assert first["geoLocationBox"] == {
        "westBoundLongitude": -123.27,
        "eastBoundLongitude": -123.02,
        "southBoundLatitude": 49.195,
        "northBoundLatitude": 49.0,
    }
    assert first["geoLocationPolygon"] == [
        {"polygonPoint": {"pointLatitude": 41.991, "pointLongitude": -71.032}},
        {"inPolygonPoint": {"pointLatitude": 10.0, "pointLongitude": -0.5}},
    ]
    # DataCite JSON holds one polygon per geoLocation: the second becomes a geoLocation of its own
    assert second == {
        "geoLocationPolygon": [{"polygonPoint": {"pointLatitude": 1.0, "pointLongitude": 2.0}}]
    }


@pytest.mark.parametrize(
    ("longitude", "problem"),
    [
        ("east", '"east" is not of type "number"'),
        ("INF", '"INF" is not of type "number"'),  # float() takes it; xs:float too; JSON not
        ("NaN", '"NaN" is not of type "number"'),
        ("1e999", '"1e999" is not of type "number"'),  # float() gives inf
        ("1" * 101, 'is not of type "number"'),  # longer than JSON intake reads a number
        ("181", "181.0 is greater than the maximum of 180"),
    ],
)
def test_a_bad_xml_coordinate_is_refused_with_one_line(longitude: str, problem: str) -> None:
    point = f"<pointLongitude>{longitude}</pointLongitude><pointLatitude>0</pointLatitude>"
    with pytest.raises(InputError) as refused:
        _xml(
            f"<geoLocations><geoLocation><geoLocationPoint>{point}</geoLocationPoint></geoLocation></geoLocations>"
        )
    [line] = refused.value.errors
    assert line.startswith("record.xml: geoLocations.0.geoLocationPoint.pointLongitude: "), line
    assert problem in line


def test_xml_relation_type_information_and_related_items() -> None:
    [record] = _xml(
        '<relatedIdentifiers><relatedIdentifier relatedIdentifierType="SWHID" relationType="Other"'
        ' relationTypeInformation="is reply to">swh:1:cnt:94a9</relatedIdentifier>'
        "</relatedIdentifiers>"
        '<relatedItems><relatedItem relatedItemType="Presentation" relationType="HasTranslation"'
        ' relationTypeInformation="slides">'
        '<relatedItemIdentifier relatedItemIdentifierType="RAiD">https://raid.org/1</relatedItemIdentifier>'
        "<titles><title>Slides</title></titles><publicationYear>2025</publicationYear>"
        '<number numberType="Report">7</number></relatedItem></relatedItems>'
        '<contributors><contributor contributorType="Translator"><contributorName xml:lang="fr">'
        "T</contributorName></contributor></contributors>"
        '<dates><date dateType="Coverage">2024/2025</date></dates>'
    )
    attributes = record.attributes
    assert attributes["types"] == {"resourceTypeGeneral": "Award"}
    assert attributes["relatedIdentifiers"] == [
        {
            "relatedIdentifierType": "SWHID",
            "relationType": "Other",
            "relationTypeInformation": "is reply to",
            "relatedIdentifier": "swh:1:cnt:94a9",
        }
    ]
    assert attributes["relatedItems"] == [
        {
            "relatedItemType": "Presentation",
            "relationType": "HasTranslation",
            "relationTypeInformation": "slides",
            "relatedItemIdentifier": {
                "relatedItemIdentifierType": "RAiD",
                "relatedItemIdentifier": "https://raid.org/1",
            },
            "titles": [{"title": "Slides"}],
            "publicationYear": "2025",
            "number": "7",
            "numberType": "Report",
        }
    ]
    assert attributes["contributors"] == [
        {"contributorType": "Translator", "name": "T", "lang": "fr"}
    ]
    assert attributes["dates"] == [{"dateType": "Coverage", "date": "2024/2025"}]


def test_xml_publisher_with_attributes_is_an_object() -> None:
    root = etree.fromstring(
        kernel4("").replace(
            "<publisher>P</publisher>",
            '<publisher xml:lang="en" publisherIdentifier="https://ror.org/04z8jg394"'
            ' publisherIdentifierScheme="ROR" schemeURI="https://ror.org/">P</publisher>',
        )
    )
    assert datacite_xml.to_attributes(root)["publisher"] == {
        "lang": "en",
        "publisherIdentifier": "https://ror.org/04z8jg394",
        "publisherIdentifierScheme": "ROR",
        "schemeUri": "https://ror.org/",
        "name": "P",
    }
    assert datacite_xml.to_attributes(etree.fromstring(kernel4("")))["publisher"] == "P"


def test_an_unknown_relation_type_in_xml_is_refused_with_one_line() -> None:
    with pytest.raises(InputError) as refused:
        _xml(
            '<relatedIdentifiers><relatedIdentifier relatedIdentifierType="DOI"'
            ' relationType="IsReplyTo">10.1/x</relatedIdentifier></relatedIdentifiers>'
        )
    [line] = refused.value.errors
    assert line.startswith(
        'record.xml: relatedIdentifiers.0.relationType: "IsReplyTo" is not one of'
    )
