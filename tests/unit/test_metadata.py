"""Comparing the metadata organiser sends with what DataCite holds (``organiser check``)."""

from __future__ import annotations

import json

from organiser.domain.metadata import Difference, differences, repository_identifiers

from conftest import DATA


def _findable() -> dict:
    """Attributes of a real findable DOI as DataCite answers with them."""
    document = json.loads((DATA / "datacite" / "draft_insight_cameras.json").read_text())
    return document["data"]["attributes"]


def test_datacite_s_own_fields_and_empty_values_are_no_drift() -> None:
    held = _findable()
    local = {k: v for k, v in held.items() if k not in ("state", "created", "updated", "xml")}
    local["publicationYear"] = str(held.get("publicationYear", "2020"))  # sent as text
    held = dict(held, publicationYear=int(local["publicationYear"]), sizes=[], formats=None)
    local["formats"] = []
    own_doi = {"identifier": f"https://doi.org/{held['doi']}", "identifierType": "DOI"}
    local["identifiers"] = [*(local.get("identifiers") or []), own_doi]
    if isinstance(held.get("publisher"), str):
        local["publisher"] = {"name": held["publisher"]}
    assert differences(local, held) == []


def test_each_changed_field_is_one_difference() -> None:
    held = _findable()
    local = dict(held, url="https://example.org/new", titles=[{"title": "New title"}])
    found = differences(local, held)
    assert sorted(d.field for d in found) == ["titles", "url"]
    by_field = {d.field: d for d in found}
    assert by_field["url"] == Difference("url", "https://example.org/new", str(held["url"]))
    assert by_field["titles"].local == '[{"title": "New title"}]'


def test_a_field_missing_at_datacite_shows_as_none() -> None:
    assert differences({"version": "2.0"}, {}) == [Difference("version", "2.0", "(none)")]


def test_types_datacite_derives_are_no_drift() -> None:
    local = {"types": {"resourceTypeGeneral": "Dataset", "resourceType": "PDS4 Bundle"}}
    held = {
        "types": {
            "resourceTypeGeneral": "Dataset",
            "resourceType": "PDS4 Bundle",
            "schemaOrg": "Dataset",
            "citeproc": "dataset",
            "bibtex": "misc",
            "ris": "DATA",
        }
    }
    assert differences(local, held) == []
    held["types"]["resourceType"] = "PDS4 Collection"
    assert [d.field for d in differences(local, held)] == ["types"]


def test_repository_identifiers_leave_out_dois() -> None:
    attributes = {
        "identifiers": [
            {"identifier": "https://doi.org/10.17189/29569", "identifierType": "DOI"},
            {"identifier": "urn:nasa:pds:insight_cameras::1.0", "identifierType": "PDS4 LIDVID"},
        ],
        "alternateIdentifiers": [
            {"alternateIdentifier": "10.17189/29569", "alternateIdentifierType": "Site ID"}
        ],
    }
    assert repository_identifiers(attributes, "10.17189/29569") == {
        "urn:nasa:pds:insight_cameras::1.0"
    }
