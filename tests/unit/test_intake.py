"""Reading metadata sources: JSON forms, DataCite XML, and what is refused."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from organiser.domain.identifiers import DoiScheme, normalise_doi
from organiser.intake import InputError, Metadata, Options, read, read_all
from organiser.intake.formats.datacite_json import WRITABLE
from organiser.intake.sources import Limits, SourceError, expand, load

from conftest import DATA, MINIMAL

SCHEME = DoiScheme("10.5072")


def _read(path: Path, scheme: DoiScheme = SCHEME, node: str | None = None) -> list:
    return read(load(str(path), Limits()), Options(scheme, node=node))


def test_full_document_keeps_only_writable_attributes() -> None:
    [item] = _read(DATA / "datacite" / "draft_insight_cameras.json", DoiScheme("10.13143"))
    assert item.doi == "10.13143/yzw2-vz66"
    assert item.identifier == "urn:nasa:pds:insight_cameras::1.0"
    assert item.url.startswith("https://pds.nasa.gov/ds-view/pds/viewBundle.jsp?identifier=urn")
    assert set(item.attributes) <= WRITABLE
    assert "state" not in item.attributes and "xml" not in item.attributes
    assert item.attributes["titles"] == [{"title": "InSight Cameras Bundle"}]


def test_utf8_bom_json_is_read() -> None:
    [item] = _read(DATA / "datacite" / "draft_mro_sharad_pds3_utf8_bom.json", DoiScheme("10.13143"))
    assert item.attributes["titles"][0]["title"] == "MRO MARS SHARAD 5 RADARGRAM V2.0"
    assert item.identifier == item.doi == "10.13143/p3de-0n02"  # no LIDVID: the DOI, not the url


def test_list_response_gives_one_record_each() -> None:
    items = _read(
        DATA / "datacite" / "findable_ladee_nms_legacy_osti_ids.json", DoiScheme("10.17189")
    )
    assert [i.doi for i in items] == ["10.17189/1408892", "10.17189/1408893"]
    assert items[0].source.endswith("findable_ladee_nms_legacy_osti_ids.json[0]")


def test_bare_attributes_without_doi(tmp_path: Path) -> None:
    path = tmp_path / "bare.json"
    path.write_text(
        json.dumps(
            dict(MINIMAL, identifiers=[{"identifier": "urn:x:1", "identifierType": "Local"}])
        )
    )
    [item] = _read(path)
    assert (item.doi, item.identifier, item.url) == (None, "urn:x:1", None)


def test_datacite_xml_kernel4() -> None:
    [item] = _read(DATA / "datacite" / "kernel4_sample.xml")
    a = item.attributes
    assert item.doi == "10.5072/org-xml1"
    assert a["titles"] == [
        {"lang": "en", "title": "InSight Cameras Bundle"},
        {"titleType": "AlternativeTitle", "title": "IDC/ICC bundle"},
    ]
    assert a["creators"][0] == {
        "name": "Deen, Robert",
        "nameType": "Personal",
        "givenName": "Robert",
        "familyName": "Deen",
        "nameIdentifiers": [
            {
                "nameIdentifierScheme": "ORCID",
                "schemeUri": "https://orcid.org",
                "nameIdentifier": "https://orcid.org/0000-0002-1825-0097",
            }
        ],
        "affiliation": [
            {
                "affiliationIdentifier": "https://ror.org/027k65916",
                "affiliationIdentifierScheme": "ROR",
                "name": "Jet Propulsion Laboratory",
            }
        ],
    }
    assert a["types"] == {
        "resourceTypeGeneral": "Collection",
        "resourceType": "PDS4 Refereed Data Bundle",
    }
    assert a["publicationYear"] == 2019
    assert a["identifiers"] == [
        {"identifierType": "PDS4 LIDVID", "identifier": "urn:nasa:pds:insight_cameras::1.0"}
    ]
    assert a["contributors"][0]["contributorType"] == "DataCurator"
    assert a["rightsList"][0]["rightsUri"].startswith("https://creativecommons.org")
    assert a["descriptions"] == [
        {"descriptionType": "Abstract", "description": "Images from the InSight cameras."}
    ]
    assert a["sizes"] == ["2 GB"] and a["formats"] == ["PDS4"] and a["version"] == "1.0"
    assert a["fundingReferences"][0]["funderIdentifierType"] == "ROR"


def test_directories_are_searched_recursively(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.json").write_text("{}")
    (tmp_path / "a" / "y.XML").write_text("<r/>")
    (tmp_path / "a" / "notes.txt").write_text("")
    assert [Path(p).name for p in expand([str(tmp_path)])] == ["x.json", "y.XML"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"holds no metadata files"):
        expand([str(tmp_path / "empty")])


def test_a_doi_that_is_not_a_doi(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"doi": "urn:x", "url": "https://x.org/1"}))
    with pytest.raises(InputError, match=r"x.json: 'urn:x' is not a DOI$"):
        _read(path)


@pytest.mark.parametrize(
    "text",
    [
        "10.5072/AbC",
        "doi:10.5072/abc",
        "https://doi.org/10.5072/abc",
        "http://dx.doi.org/10.5072/ABC",
    ],
)
def test_doi_forms(text: str) -> None:
    assert normalise_doi(text) == "10.5072/abc"
    assert normalise_doi("urn:nasa:pds:x::1.0") is None


def test_generated_dois_follow_the_scheme() -> None:
    scheme = DoiScheme("10.5072", "pds.", "xxxx-xxxx", "0123456789abcdefghjkmnpqrstvwxyz")
    dois = {scheme.generate() for _ in range(200)}
    assert len(dois) == 200
    assert all(
        d.startswith("10.5072/pds.") and len(d) == len("10.5072/pds.xxxx-xxxx") for d in dois
    )
    assert not any(set(d[12:]) & set("ilou") for d in dois)


def test_reading_on_all_cpus_gives_what_reading_serially_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = [p for p in sorted((DATA / "pds4").iterdir()) if b"<doi>" not in p.read_bytes()][:12]
    for n, path in enumerate(labels):
        (tmp_path / f"{n:02d}_{path.name}").write_bytes(path.read_bytes())
    (tmp_path / "99_bad.xml").write_text("<oops")
    options = Options(DoiScheme("10.5072"), node="sbn")
    with pytest.raises(InputError) as serial:
        read_all([str(tmp_path)], options)
    monkeypatch.setattr("organiser.intake.reading.PARALLEL_FROM", 2)
    with pytest.raises(InputError) as parallel:
        read_all([str(tmp_path)], options)
    assert parallel.value.errors == serial.value.errors
    assert [e.split(":")[0] for e in serial.value.errors][-1].endswith("99_bad.xml")
    (tmp_path / "99_bad.xml").unlink()
    monkeypatch.setattr("organiser.intake.reading.PARALLEL_FROM", 10**9)
    expected = read_all([str(tmp_path)], options)
    monkeypatch.setattr("organiser.intake.reading.PARALLEL_FROM", 2)
    got = read_all([str(tmp_path)], options)
    assert len(got) == 12
    assert [(m.source, m.identifier, m.attributes) for m in got] == [
        (m.source, m.identifier, m.attributes) for m in expected
    ]


def test_metadata_holds_its_attributes_compressed_and_gives_them_back_exactly() -> None:
    attributes = dict(
        MINIMAL,
        titles=[{"title": "Caméras de l'atterrisseur — 火星 \U0001f680"}, {"title": "x\ny\t\\"}],
        identifiers=[{"identifier": "urn:nasa:pds:x::1.0", "identifierType": "PDS4 LIDVID"}],
        publicationYear=2026,
    )
    item = Metadata.of("x.json", attributes, "https://x.org/1", None, "urn:nasa:pds:x::1.0")
    assert item.attributes == attributes
    assert item.attributes_json == json.dumps(attributes, ensure_ascii=False)
    assert str(item.packed) == item.attributes_json  # what the database is given
    assert len(item.packed) < len(item.attributes_json.encode()) / 2
    assert (item.title, item.lid) == (attributes["titles"][0]["title"], "urn:nasa:pds:x")
    assert not hasattr(item, "__dict__")  # slots: nothing else is kept per record
    copy = pickle.loads(pickle.dumps(item))  # as reading processes hand records over
    assert copy == item and type(copy.packed) is type(item.packed)
    assert copy.attributes == attributes
