"""Intake details of issue 8 on real records: DataCite's base64 ``xml`` attribute, the identifier
of a record without a LIDVID, ORCID check digits and NFC names, and the PDS4 publication year.
Unit tests read through :func:`organiser.intake.read`; the ``env`` ones run the installed
``organiser reserve`` and check its exit code, its error lines and the database."""

from __future__ import annotations

import base64
import copy
import json
import re
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from organiser.domain.identifiers import DoiScheme
from organiser.intake import InputError, Metadata, Options, read, safexml
from organiser.intake.formats import datacite_json, pds4
from organiser.intake.people import orcid_check_digit, orcid_problem
from organiser.intake.sources import Limits, load

from conftest import DATA, MINIMAL, Env

INSIGHT = DATA / "datacite" / "draft_insight_cameras.json"  # JSON attributes and base64 xml
ARECIBO = DATA / "datacite" / "findable_sbn_arecibo_radar_related_identifier.json"  # "foobar"
NESVORNY = DATA / "datacite" / "findable_sbn_nesvorny_families_related_identifiers.json"
SHARAD = DATA / "datacite" / "draft_mro_sharad_pds3_utf8_bom.json"  # a DOI, no LIDVID
CASSINI = DATA / "pds4" / "collection_cassini_mag_list_author_person_org_contributor.xml"


def _read(path: Path, prefix: str = "10.5072", node: str | None = None) -> list[Metadata]:
    return read(load(str(path), Limits()), Options(DoiScheme(prefix), node=node))


def _problems(path: Path, prefix: str = "10.5072", node: str | None = None) -> list[str]:
    with pytest.raises(InputError) as refused:
        _read(path, prefix, node)
    return refused.value.errors


def _document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes().decode("utf-8-sig"))


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False))
    return path


def _insight_xml() -> str:
    """The real InSight draft's DataCite XML, decoded from its ``xml`` attribute."""
    return base64.b64decode(_document(INSIGHT)["data"]["attributes"]["xml"]).decode()


def _refused(env: Env, result: subprocess.CompletedProcess[str], before: list) -> list[str]:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert env.snapshot() == before  # nothing written
    return result.stderr.strip().splitlines()


# -- 1. DataCite JSON with the base64 xml attribute ---------------------------------------------


def test_a_record_given_only_as_xml_is_read_as_datacite_xml(tmp_path: Path) -> None:
    xml = _insight_xml()
    only_xml = {"data": {"id": "10.13143/yzw2-vz66", "type": "dois", "attributes": {}}}
    only_xml["data"]["attributes"]["xml"] = base64.b64encode(xml.encode()).decode()
    [item] = _read(_write(tmp_path / "only_xml.json", only_xml), "10.13143")
    a = item.attributes
    assert (item.doi, item.identifier, item.url) == ("10.13143/yzw2-vz66", item.doi, None)
    assert a["titles"] == [{"title": "InSight Cameras Bundle"}]
    assert [c["name"] for c in a["creators"]] == [
        "Deen, R.",
        "Abarca, H.",
        "Zamani, P.",
        "Maki, J.",
    ]
    assert [c["contributorType"] for c in a["contributors"]] == ["Editor"] * 3 + ["DataCurator"]
    assert (a["publisher"], a["publicationYear"]) == ("NASA Planetary Data System", 2019)
    assert a["types"] == {
        "resourceTypeGeneral": "Dataset",
        "resourceType": "PDS4 Refereed Data Bundle",
    }
    assert len(a["subjects"]) == 18 and a["subjects"][0] == {"subject": "PDS"}
    assert a["relatedIdentifiers"] == [
        {
            "relatedIdentifierType": "URN",
            "relationType": "HasMetadata",
            "resourceTypeGeneral": "Text",
            "relatedIdentifier": "urn:nasa:pds:insight_cameras::1.0",
        }
    ]
    as_file = tmp_path / "same.xml"  # exactly what the same XML gives as a DataCite XML file
    as_file.write_text(xml)
    [from_file] = _read(as_file, "10.13143")
    assert (from_file.attributes, from_file.doi) == (a, item.doi)


def test_json_attributes_that_hold_a_value_win_and_the_xml_fills_in_the_rest(
    tmp_path: Path,
) -> None:
    document = _document(INSIGHT)  # real: full JSON attributes and the xml of the same record
    attributes = document["data"]["attributes"]
    attributes["titles"] = [{"title": "Changed in JSON"}]  # the xml still says the old title
    del attributes["descriptions"]  # only in the xml now
    assert attributes["relatedIdentifiers"] == []  # empty in JSON, one entry in the xml
    [item] = _read(_write(tmp_path / "both.json", document), "10.13143")
    a = item.attributes
    assert a["titles"] == [{"title": "Changed in JSON"}]
    assert a["publicationYear"] == "2019"  # JSON's string, not the xml's 2019
    assert a["descriptions"] == [
        {
            "lang": "english",
            "descriptionType": "Abstract",
            "description": "InSight Cameras Experiment Data Record (EDR) and Reduced Data "
            "Record (RDR) Data Products",
        }
    ]
    assert [r["relationType"] for r in a["relatedIdentifiers"]] == ["HasMetadata"]
    assert item.identifier == "urn:nasa:pds:insight_cameras::1.0"  # JSON's Site ID
    assert "xml" not in a


def test_xml_does_not_add_identifiers_when_json_has_alternate_identifiers(tmp_path: Path) -> None:
    xml = _insight_xml().replace(
        "<relatedIdentifiers>",
        '<alternateIdentifiers><alternateIdentifier alternateIdentifierType="PDS4 LIDVID">'
        "urn:nasa:pds:from_xml::1.0</alternateIdentifier></alternateIdentifiers><relatedIdentifiers>",
    )
    record = dict(
        MINIMAL,
        alternateIdentifiers=[
            {"alternateIdentifier": "urn:nasa:pds:from_json::1.0", "alternateIdentifierType": "LID"}
        ],
        xml=base64.b64encode(xml.encode()).decode(),
        doi="10.13143/yzw2-vz66",
    )
    [item] = _read(_write(tmp_path / "r.json", record), "10.13143")
    assert item.identifier == "urn:nasa:pds:from_json::1.0"
    assert "identifiers" not in item.attributes
    assert item.attributes["titles"] == [{"title": "x"}]


def test_a_real_record_whose_xml_is_not_base64_is_refused_by_the_cli(env: Env) -> None:
    assert _document(ARECIBO)["data"]["attributes"]["xml"] == "foobar"
    lines = _refused(env, env.run("reserve", str(ARECIBO)), [])
    assert lines == [f"Error: {ARECIBO}: xml: not valid base64"]


def _with_xml(path: Path, xml: Any) -> Path:
    record = dict(MINIMAL, doi="10.5072/x1", xml=xml)
    return _write(path, {"data": {"type": "dois", "attributes": record}})


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<resource xmlns="http://datacite.org/schema/kernel-4">&x;</resource>'
)


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        (42, "xml: not a base64 string"),
        ("PD94bWwg@@", "xml: not valid base64"),
        (_b64(b"<resource"), "xml: not well-formed XML: "),
        (_b64(ENTITY), "xml: DOCTYPE declarations are not accepted"),
        (
            _b64((DATA / "pds4-invalid" / "not_pds4_osti_record.xml").read_bytes()),
            "xml: not DataCite kernel-4 XML (root element records, namespace none)",
        ),
        (
            _b64(b'<resource xmlns="http://datacite.org/schema/kernel-3"><titles/></resource>'),
            "xml: not DataCite kernel-4 XML (root element resource, namespace "
            "http://datacite.org/schema/kernel-3)",
        ),
    ],
)
def test_bad_xml_attributes_give_one_line_naming_the_file_and_xml(
    tmp_path: Path, xml: Any, problem: str
) -> None:
    path = _with_xml(tmp_path / "bad.json", xml)
    [line] = _problems(path)
    if problem.endswith(": "):  # the parser's own words follow
        assert line.startswith(f"{path}: {problem}") and "\n" not in line
    else:
        assert line == f"{path}: {problem}"


@pytest.mark.parametrize("xml", ["", None])
def test_an_empty_xml_attribute_is_no_xml(tmp_path: Path, xml: str | None) -> None:
    [item] = _read(_with_xml(tmp_path / "empty.json", xml))
    assert (item.attributes, item.doi) == (MINIMAL, "10.5072/x1")


def test_a_record_only_as_xml_is_reserved_through_the_cli(env: Env) -> None:
    xml = _insight_xml().replace("10.13143/YZW2-VZ66", "10.5072/XML-ONLY1")
    path = _write(
        env.tmp / "only_xml.json",
        {
            "data": {
                "type": "dois",
                "attributes": {"xml": base64.encodebytes(xml.encode()).decode()},
            }
        },
    )  # encodebytes: base64 broken into lines, as Ruby's Base64.encode64 writes it
    result = env.run("reserve", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "10.5072/xml-only1\t10.5072/xml-only1\tto-be-reserved\n"
    [record] = env.records()
    stored = json.loads(record.attributes)
    assert (record.doi, record.identifier, record.doi_generated) == (
        "10.5072/xml-only1",
        "10.5072/xml-only1",
        False,
    )
    assert stored["titles"] == [{"title": "InSight Cameras Bundle"}]
    assert stored["creators"][0] == {
        "name": "Deen, R.",
        "nameType": "Personal",
        "givenName": "R.",
        "familyName": "Deen",
    }


# -- 2. No LIDVID: the DOI, else a local id; never the landing page ----------------------------


def _sharad_copy(doi: str, title: str) -> dict[str, Any]:
    document = _document(SHARAD)
    attributes = document["data"]["attributes"]
    document["data"]["id"] = attributes["doi"] = doi
    attributes["identifiers"] = [{"identifier": doi, "identifierType": "DOI"}]
    attributes["titles"] = [{"title": title, "lang": "en"}]
    return document


def test_records_sharing_a_landing_page_are_told_apart_by_their_dois(env: Env) -> None:
    env.write_config(datacite={"prefix": "10.13143"})
    second = _write(env.tmp / "second.json", _sharad_copy("10.13143/p3de-0n03", "SHARAD copy"))
    result = env.run("reserve", str(SHARAD), str(second))
    assert result.returncode == 0, result.stderr
    records = env.records()
    assert [(r.doi, r.identifier) for r in records] == [
        ("10.13143/p3de-0n02", "10.13143/p3de-0n02"),
        ("10.13143/p3de-0n03", "10.13143/p3de-0n03"),
    ]
    assert (
        records[0].url
        == records[1].url
        == ("https://pds.nasa.gov/ds-view/pds/viewDataset.jsp?dsid=MRO-M-SHARAD-5-RADARGRAM-V2.0")
    )
    before = env.snapshot()
    lines = _refused(env, env.run("reserve", str(SHARAD)), before)
    assert lines == [
        f"Error: {SHARAD}: 10.13143/p3de-0n02 already has DOI 10.13143/p3de-0n02 "
        "(to-be-reserved); use 'organiser update' to change its metadata"
    ]


@pytest.mark.slow
def test_records_without_doi_or_lidvid_get_a_local_id_from_their_content(env: Env) -> None:
    url = "https://pds.example.org/shared-landing-page"
    first = _write(env.tmp / "a.json", dict(MINIMAL, url=url, titles=[{"title": "First"}]))
    second = _write(env.tmp / "b.json", dict(MINIMAL, url=url, titles=[{"title": "Second"}]))
    result = env.run("reserve", str(first), str(second))
    assert result.returncode == 0, result.stderr
    records = env.records()
    ids = [r.identifier for r in records]
    assert all(re.fullmatch(r"local:[0-9a-f]{32}", i) for i in ids) and ids[0] != ids[1]
    assert [r.url for r in records] == [url, url]
    assert all(r.doi_generated for r in records)
    assert ids[0] == datacite_json.local_id(json.loads(records[0].attributes), url)
    copy_of_first = _write(env.tmp / "again.json", json.loads(first.read_text()))
    lines = _refused(env, env.run("reserve", str(copy_of_first)), env.snapshot())
    assert lines == [
        f"Error: {copy_of_first}: {ids[0]} already has DOI {records[0].doi} (to-be-reserved); "
        "use 'organiser update' to change its metadata"
    ]
    shown = env.run("show", ids[1])  # the local id names the record like any identifier
    assert shown.returncode == 0 and records[1].doi in shown.stdout


def test_which_records_carry_a_repository_identifier(tmp_path: Path) -> None:
    [by_doi] = _read(SHARAD, "10.13143")
    [local] = _read(_write(tmp_path / "local.json", dict(MINIMAL, url="https://x.org/1")))
    [lidvid] = _read(DATA / "pds4" / "bundle_insight_cameras_author_list.xml", node="img")
    assert (by_doi.identifier, by_doi.has_repository_identifier) == (by_doi.doi, False)
    assert local.identifier.startswith("local:") and not local.has_repository_identifier
    assert lidvid.has_repository_identifier


def test_local_ids_depend_on_content_and_landing_page_only() -> None:
    one = datacite_json.local_id(dict(MINIMAL), "https://x.org/1")
    assert one == datacite_json.local_id(json.loads(json.dumps(MINIMAL)), "https://x.org/1")
    assert one != datacite_json.local_id(dict(MINIMAL), "https://x.org/2")
    assert one != datacite_json.local_id(dict(MINIMAL, publicationYear="2025"), "https://x.org/1")
    decomposed = dict(MINIMAL, creators=[{"name": "Vokrouhlicky\u0301, D."}])
    composed = dict(MINIMAL, creators=[{"name": "Vokrouhlick\u00fd, D."}])
    assert datacite_json.local_id(decomposed, None) == datacite_json.local_id(composed, None)


# -- 3. ORCID check digits, names in NFC ------------------------------------------------------


@pytest.mark.parametrize(
    "orcid",
    [
        "0000-0002-5471-6202",  # Voyager 2 PWS (Kurth)
        "http://orcid.org/0000-0003-2397-488X",  # check digit X
        "https://orcid.org/0000-0002-4547-4301",  # SBN Nesvorny record
        "0000-0002-1825-0097",  # ORCID's own example
    ],
)
def test_real_orcids_pass(orcid: str) -> None:
    assert orcid_problem(orcid) is None


def test_orcid_check_digits() -> None:
    assert orcid_check_digit("0000-0003-2397-488") == "X"
    assert orcid_check_digit("0000-0002-1825-009") == "7"
    assert orcid_problem("0000-0002-1825-0098") == (
        "ORCID 0000-0002-1825-0098 has a wrong check digit (ISO 7064 MOD 11-2)"
    )
    assert orcid_problem("orcid 1825") == (
        "ORCID 'orcid 1825' is not an ORCID (0000-0000-0000-000X, bare or as "
        "https://orcid.org/0000-0000-0000-000X)"
    )


def test_a_real_label_with_bad_orcids_is_refused_by_the_cli_naming_each_person(env: Env) -> None:
    env.write_config(datacite={"prefix": "10.17189"})  # the label's own DOI is under it
    lines = _refused(env, env.run("reserve", str(CASSINI), "--node", "ppi"), [])
    problem = "ORCID 0000-0001-5109-0000 has a wrong check digit (ISO 7064 MOD 11-2)"
    assert lines == [
        f"Error: {CASSINI}: creator 'Frank, Louis A.': {problem}",
        f"Error: {CASSINI}: creator 'Ackerson, Kent L.': {problem}",
        f"Error: {CASSINI}: contributor 'Doe, John III': {problem}",
    ]


def test_a_label_orcid_that_is_no_orcid_is_refused_not_dropped(tmp_path: Path) -> None:
    text = (DATA / "pds4" / "observational_vg1_pws_list_author_orcid.xml").read_text()
    assert text.count("https://orcid.org/0000-0002-5471-6202") == 1
    path = tmp_path / "vg1.xml"
    path.write_text(text.replace("https://orcid.org/0000-0002-5471-6202", "0000-0002-5471"))
    assert _problems(path, node="ppi") == [
        f"{path}: creator 'Kurth, William S.': ORCID '0000-0002-5471' is not an ORCID "
        "(0000-0000-0000-000X, bare or as https://orcid.org/0000-0000-0000-000X)"
    ]


def test_datacite_json_orcids_are_checked(tmp_path: Path) -> None:
    document = _document(NESVORNY)  # real; its xml is a "foobar" placeholder, so removed here
    del document["data"]["attributes"]["xml"]
    [item] = _read(_write(tmp_path / "good.json", document), "10.26033")
    assert item.attributes["creators"][0]["nameIdentifiers"][0]["nameIdentifier"] == (
        "https://orcid.org/0000-0002-4547-4301"
    )
    assert item.identifier == "urn:nasa:pds:ast.nesvorny.families::1.0"
    creator = document["data"]["attributes"]["creators"][0]
    creator["nameIdentifiers"][0]["nameIdentifier"] = "https://orcid.org/0000-0002-4547-4310"
    bad = _write(tmp_path / "bad.json", document)
    assert _problems(bad, "10.26033") == [
        f"{bad}: creator 'Nesvorny, David': ORCID 0000-0002-4547-4310 has a wrong check "
        "digit (ISO 7064 MOD 11-2)"
    ]


def test_datacite_xml_orcids_are_checked(tmp_path: Path) -> None:
    text = (DATA / "datacite" / "kernel4_sample.xml").read_text()
    assert "0000-0002-1825-0097" in text
    path = tmp_path / "bad.xml"
    path.write_text(text.replace("0000-0002-1825-0097", "0000-0002-1825-0079"))
    assert _problems(path) == [
        f"{path}: creator 'Deen, Robert': ORCID 0000-0002-1825-0079 has a wrong check digit "
        "(ISO 7064 MOD 11-2)"
    ]


def _nfc(entries: list[dict[str, Any]]) -> bool:
    return all(
        unicodedata.is_normalized("NFC", e[k])
        for e in entries
        for k in ("name", "givenName", "familyName")
        if k in e
    )


def test_names_of_a_real_label_come_out_in_nfc() -> None:
    path = DATA / "pds4" / "observational_orex_non_ascii_authors.xml"
    assert "Vokrouhlicky\u0301" in path.read_text()  # y + combining acute in the label
    [item] = _read(path, node="sbn")
    creators = item.attributes["creators"]
    [vokrouhlicky] = [c for c in creators if c["name"].startswith("Vokrouhl")]
    assert vokrouhlicky == {
        "nameType": "Personal",
        "name": "Vokrouhlick\u00fd, D.",
        "givenName": "D.",
        "familyName": "Vokrouhlick\u00fd",
    }
    assert "Brozovi\u0107, M." in [c["name"] for c in creators]
    assert _nfc(creators)


def test_names_in_datacite_json_and_spreadsheets_are_stored_in_nfc(env: Env) -> None:
    record = copy.deepcopy(_document(INSIGHT))
    attributes = record["data"]["attributes"]
    del attributes["xml"]
    attributes["doi"] = record["data"]["id"] = "10.5072/nfc-json1"
    attributes["creators"][0].update(
        name="Vokrouhlicky\u0301, David", familyName="Vokrouhlicky\u0301", givenName="David"
    )
    attributes["contributors"][0].update(name="Jose\u0301, Ana", givenName="Ana")
    json_path = _write(env.tmp / "nfc.json", record)
    sheet = env.tmp / "nfc.csv"
    sheet.write_text(
        "title,publication_date,product_type_specific,author_last_name,author_first_name,"
        "related_resource\nNFC sheet,2024-01-01,PDS4 Refereed Data Bundle,Brozovic\u0301,"
        "Marina,urn:nasa:pds:nfc_sheet::1.0\n"
    )
    result = env.run("reserve", str(json_path), str(sheet), "--node", "img")
    assert result.returncode == 0, result.stderr
    from_json, from_sheet = (json.loads(r.attributes) for r in env.records())
    assert from_json["creators"][0]["name"] == "Vokrouhlick\u00fd, David"
    assert from_json["creators"][0]["familyName"] == "Vokrouhlick\u00fd"
    assert from_json["contributors"][0]["name"] == "Jos\u00e9, Ana"
    assert from_sheet["creators"] == [
        {
            "nameType": "Personal",
            "name": "Brozovi\u0107, Marina",
            "familyName": "Brozovi\u0107",
            "givenName": "Marina",
        }
    ]
    assert _nfc(from_json["creators"] + from_json["contributors"] + from_sheet["creators"])


# -- 4. PDS4 publicationYear --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "year"),
    [
        ("observational_vg1_pws_list_author_orcid.xml", "2008"),  # modified 2025-09-30
        ("bundle_sdss_moc_list_author_orcid.xml", "2010"),  # modified 2020-02-28
        ("bundle_bepicolombo_mag_list_author_funding.xml", "2020"),  # modified 2025-02-21
        ("collection_ladee_uvs_raw_no_authors.xml", "2015"),  # modified 2014-09-18
        ("context_spacecraft_orex_no_citation.xml", "2018"),  # no Citation_Information
        ("observational_insight_hp3_rad_raw_no_citation.xml", "2018"),
    ],
)
def test_publication_year_wins_over_the_modification_history(name: str, year: str) -> None:
    [item] = _read(DATA / "pds4" / name, node="sbn")
    assert item.attributes["publicationYear"] == year


def test_a_publication_year_that_is_no_year_is_refused(tmp_path: Path) -> None:
    text = (DATA / "pds4" / "observational_vg1_pws_list_author_orcid.xml").read_text()
    path = tmp_path / "year.xml"
    path.write_text(text.replace("<publication_year>2008", "<publication_year>c. 2008"))
    assert _problems(path, node="ppi") == [
        f"{path}: Citation_Information/publication_year 'c. 2008' is not a year"
    ]
    path.write_text(
        (DATA / "pds4" / "bundle_insight_cameras_author_list.xml")
        .read_text()
        .replace("<publication_year>2019</publication_year>", "")
    )
    with pytest.raises(pds4.LabelError, match=r"^no publication year \("):
        pds4.crosswalk(safexml.parse(path.read_bytes()), "img", pds4.Crosswalk())


def test_the_cli_stores_the_year_the_product_was_published(env: Env) -> None:
    label = DATA / "pds4" / "observational_vg1_pws_list_author_orcid.xml"
    result = env.run("reserve", str(label), "--node", "ppi")
    assert result.returncode == 0, result.stderr
    [record] = env.records()
    assert json.loads(record.attributes)["publicationYear"] == "2008"
