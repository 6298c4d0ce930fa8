"""The PDS4 → DataCite crosswalk on real labels (tests/data/pds4, copied from shared/fixtures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from organiser.intake import safexml
from organiser.intake.formats import names, pds4
from organiser.intake.validate import schema_errors

from conftest import DATA

LABELS = sorted((DATA / "pds4").iterdir())
SETTINGS = pds4.Crosswalk(keywords=("PDS",))


def _walk(name: str, node: str = "img") -> pds4.Label:
    return pds4.crosswalk(safexml.parse((DATA / "pds4" / name).read_bytes()), node, SETTINGS)


def _people(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            e["name"],
            e["nameType"][0],
            e.get("givenName"),
            e.get("familyName"),
            e.get("contributorType"),
        )
        for e in entries
    ]


@pytest.mark.parametrize("path", LABELS, ids=[p.name for p in LABELS])
def test_every_fixture_label_gives_schema_valid_metadata(path: Path) -> None:
    label = pds4.crosswalk(safexml.parse(path.read_bytes()), "sbn", SETTINGS)
    assert schema_errors(label.attributes, label.url) == []
    assert label.attributes["identifiers"][0] == {
        "identifier": label.lidvid,
        "identifierType": "PDS4 LIDVID",
    }
    assert label.attributes["contributors"][-1] == {
        "nameType": "Organizational",
        "name": "Planetary Data System: Small Bodies Node",
        "contributorType": "DataCurator",
    }
    assert label.url.startswith("https://pds.nasa.gov/ds-view/pds/view")


def test_golden_insight_cameras_author_and_editor_lists() -> None:
    label = _walk("bundle_insight_cameras_author_editor_list.xml")
    a = label.attributes
    assert (label.lidvid, label.doi) == ("urn:nasa:pds:insight_cameras::1.0", None)
    assert label.url == (
        "https://pds.nasa.gov/ds-view/pds/viewBundle.jsp?identifier="
        "urn%3Anasa%3Apds%3Ainsight_cameras&version=1.0"
    )
    assert _people(a["creators"]) == [
        ("Deen, R.", "P", "R.", "Deen", None),
        ("Abarca, H.", "P", "H.", "Abarca", None),
        ("Zamani, P.", "P", "P.", "Zamani", None),
        ("Maki, J.", "P", "J.", "Maki", None),
    ]
    assert _people(a["contributors"]) == [
        ("Smith, P. H.", "P", "P. H.", "Smith", "Editor"),
        ("Lemmon, M.", "P", "M.", "Lemmon", "Editor"),
        ("Beebe, R. F.", "P", "R. F.", "Beebe", "Editor"),
        ("Planetary Data System: Imaging Node", "O", None, None, "DataCurator"),
    ]
    assert a["types"] == {
        "resourceTypeGeneral": "Collection",
        "resourceType": "PDS4 Refereed Data Bundle",
    }
    assert a["publicationYear"] == "2019"
    assert a["publisher"] == "NASA Planetary Data System"
    assert a["subjects"] == [{"subject": "PDS"}]


def test_golden_voyager_list_author_wins_with_orcid_and_ror() -> None:
    label = _walk("bundle_voyager2_pws_list_author_orcid_ror.xml", "ppi")
    a = label.attributes
    assert (label.lidvid, label.doi) == ("urn:nasa:pds:voyager2.pws.wf::1.0", "10.17189/bwn5-bs17")
    assert [c["name"] for c in a["creators"]] == [
        "Kurth, William",
        "Piker, Chris",
        "Granroth, Larry",
        "Faden, Jeremy",
    ]
    assert a["creators"][0]["nameIdentifiers"] == [
        {
            "nameIdentifier": "https://orcid.org/0000-0002-5471-6202",
            "nameIdentifierScheme": "ORCID",
            "schemeUri": "https://orcid.org",
        }
    ]
    assert a["creators"][3]["affiliation"] == [
        {
            "name": "Cottage Systems",
            "affiliationIdentifier": "https://ror.org/01sqsqt89",
            "affiliationIdentifierScheme": "ROR",
            "schemeUri": "https://ror.org",
        },
        {
            "name": "University of Iowa",
            "affiliationIdentifier": "https://ror.org/036jqmy94",
            "affiliationIdentifierScheme": "ROR",
            "schemeUri": "https://ror.org",
        },
    ]
    assert a["publicationYear"] == "2022"
    assert a["subjects"] == [{"subject": "University of Iowa"}, {"subject": "PDS"}]
    assert a["descriptions"][0]["description"].startswith(
        "This bundle contains Voyager 2 Plasma Wave Spectrometer (PWS) raw waveform data"
    )
    assert a["contributors"][-1]["name"] == (
        "Planetary Data System: Planetary Plasma Interactions Node"
    )


def test_golden_cassini_organisation_persons_editors_contributors() -> None:
    a = _walk("collection_cassini_mag_list_author_person_org_contributor.xml").attributes
    assert _people(a["creators"]) == [
        ("test", "O", None, None, None),
        ("Frank, Louis A.", "P", "Louis A.", "Frank", None),
        ("Ackerson, Kent L.", "P", "Kent L.", "Ackerson", None),
    ]
    assert a["creators"][0]["affiliation"] == [
        {
            "name": "Alphabet Inc.",
            "affiliationIdentifier": "https://ror.org/02e9yx751",
            "affiliationIdentifierScheme": "ROR",
            "schemeUri": "https://ror.org",
        }
    ]
    assert _people(a["contributors"]) == [
        ("Jet Propulsion Laboratory", "O", None, None, "Editor"),
        ("Doe, John III", "P", "John III", "Doe", "Editor"),
        ("Fermi, Enrico, Jr.", "P", "Enrico, Jr.", "Fermi", "DataCollector"),
        (
            "Alzate Lopera, Andres Felipe, Jr.",
            "P",
            "Andres Felipe, Jr.",
            "Alzate Lopera",
            "Producer",
        ),
        ("Planetary Data System: Imaging Node", "O", None, None, "DataCurator"),
    ]
    assert a["types"]["resourceType"] == "PDS4 Refereed Data Collection"


def test_golden_naif_names_and_keywords() -> None:
    label = _walk("bundle_ladee_spice_author_list_no_commas.xml", "naif")
    assert _people(label.attributes["creators"]) == [
        ("Costa Sitja, M.", "P", "M.", "Costa Sitja", None),
        ("Semenov, B. V.", "P", "B. V.", "Semenov", None),
    ]
    assert label.attributes["subjects"] == [{"subject": "Observation Geometry"}, {"subject": "PDS"}]
    assert label.attributes["contributors"][-1]["name"] == (
        "Planetary Data System: Navigation and Ancillary Information Facility Node"
    )


def test_golden_document_without_authors_has_the_node_as_creator() -> None:
    label = _walk("document_mars2020_sample_dossier_release_notes_no_authors.lblx", "geo")
    a = label.attributes
    assert a["types"] == {"resourceTypeGeneral": "Text", "resourceType": "PDS4 Refereed Document"}
    assert a["publicationYear"] == "2023"  # Citation_Information/publication_year
    assert a["creators"] == [
        {"nameType": "Organizational", "name": "Planetary Data System: Geosciences Node"}
    ]
    assert label.url == (
        "https://pds.nasa.gov/ds-view/pds/viewDocument.jsp?identifier=urn%3Anasa%3Apds%3A"
        "mars2020_sample_dossier%3Adocument%3Asample_dossier_release_notes&version=2.0"
    )


def test_golden_two_titles_and_other_product_classes() -> None:
    a = _walk("bundle_insight_cameras_two_titles.xml").attributes
    assert a["titles"] == [
        {"title": "InSight Cameras Bundle"},
        {"title": "InSight Cameras XXXX Example Bundle", "titleType": "AlternativeTitle"},
    ]
    kernel = _walk("spice_kernel_m2020_edl_ck_lid_with_extension.xml", "naif")
    assert kernel.attributes["types"] == {
        "resourceTypeGeneral": "Dataset",
        "resourceType": "PDS4 Refereed Data SPICE_Kernel",
    }
    assert (
        "viewProduct.jsp?identifier=urn%3Anasa%3Apds%3Amars2020.spice%3Aspice_kernels%3A"
        "ck_m2020_edl_v01.bc&version=1.0" in kernel.url
    )


def test_publication_year_comes_before_the_modification_history() -> None:
    assert _walk("observational_vg1_pws_list_author_orcid.xml").attributes["publicationYear"] == (
        "2008"  # published 2008; the label was modified on 2025-09-30
    )
    label = _walk("context_spacecraft_orex_no_citation.xml")  # no Citation_Information
    assert label.attributes["publicationYear"] == "2018"  # earliest modification_date


def test_golden_sdss_person_without_orcid_and_sibling_list_authors() -> None:
    a = _walk("bundle_sdss_moc_list_author_orcid.xml", "sbn").attributes
    assert a["publicationYear"] == "2010"  # not 2020, its earliest modification_date
    assert [(c["name"], "nameIdentifiers" in c) for c in a["creators"]] == [
        ("Ivezic, Zeljko", True),
        ("Juric, Mario", True),
        ("Lupton, Robert", True),
        ("Tabachnik, Serge", False),
        ("Quinn, Thomas", True),
    ]
    crism = _walk("bundle_mro_crism_trdr_multiple_list_author.xml", "geo").attributes
    assert [c["name"] for c in crism["creators"]] == ["Murchie, Scott", "Hash, Chris"]
    assert _people(crism["contributors"])[0] == (
        "Ward, Jennifer",
        "P",
        "Jennifer",
        "Ward",
        "Editor",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("John Smith, Jane Doe", ["Smith, John", "Doe, Jane"]),
        ("Smith, John", ["Smith, John"]),
        ("R. Deen, H. Abarca", ["Deen, R.", "Abarca, H."]),
        ("Farley, K. and Stack, K.", ["Farley, K.", "Stack, K."]),
        (
            "Maleszewski, C., Li, J.\u2010Y., Pajola, M.",
            ["Maleszewski, C.", "Li, J.\u2010Y.", "Pajola, M."],
        ),
        (
            "Ivezic, Z.;Juric, M.; The SDSS Collaboration",
            ["Ivezic, Z.", "Juric, M.", "The SDSS Collaboration"],
        ),
        ("US MARSIS Team", ["US MARSIS Team"]),
        (
            "Jet Propulsion Laboratory, California Institute of Technology",
            ["Jet Propulsion Laboratory, California Institute of Technology"],
        ),
        ("Jane Q. Public", ["Public, Jane Q."]),
        ("John Doe III", ["Doe III, John"]),
        ("Howett,\r\n C. J.", ["Howett, C. J."]),
        (  # decomposed accents: "Jiří" is a given name only once composed (NFC)
            "Nova\u0301k, Jir\u030ci\u0301, Svoboda, Jan",
            ["Nov\u00e1k, Ji\u0159\u00ed", "Svoboda, Jan"],
        ),
    ],
)
def test_author_lists(text: str, expected: list[str]) -> None:
    assert [n["name"] for n in names.from_list(text)] == expected


def test_organisations_stay_whole() -> None:
    [entry] = names.from_list("InSight RAD Science Team")
    assert entry == {"nameType": "Organizational", "name": "InSight RAD Science Team"}


@pytest.mark.parametrize(
    ("lidvid", "problem"),
    [
        ("urn:nasa:pds:x", "no '::' version"),
        ("urn:nasa:pds:x::1", "version must be N.N"),
        ("URN:NASA:PDS:X::1.0", "LID must look like"),
        ("urn:nasa:pds::1.0", "LID must look like"),
        ("urn:nasa:pds:a:b:c:d::1.0", "LID must look like"),
    ],
)
def test_lidvid_syntax(lidvid: str, problem: str) -> None:
    with pytest.raises(pds4.LabelError, match=problem):
        pds4.check_lidvid(lidvid)


def test_fast_validation_agrees_with_the_datacite_package() -> None:
    from datacite import schema45

    from organiser.intake.validate import _validator, schema_form

    good = [_walk(p.name) for p in LABELS[:10]]
    samples = [schema_form(g.attributes, g.url) for g in good]
    first = samples[0]
    samples += [
        dict(first, titles=[]),
        dict(first, creators=[{"nameType": "Personal"}]),
        {k: v for k, v in first.items() if k != "types"},
        dict(first, publicationYear=2019),
        dict(first, contributors=[{"name": "x", "contributorType": "Boss"}]),
        dict(first, subjects=[{"subject": "x", "bogus": 1}]),
        dict(first, types={"resourceTypeGeneral": "Spaceship"}),
    ]
    for sample in samples:
        package = bool(list(schema45.validator.iter_errors(sample)))
        assert package == bool(list(_validator().iter_errors(sample))), sample
    verdicts = [bool(list(_validator().iter_errors(s))) for s in samples]
    assert verdicts == [False] * 10 + [True] * 7
