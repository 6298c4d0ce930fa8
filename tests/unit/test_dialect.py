"""The PDS DOI Service API 0.2's statuses (organiser/domain/dialect.py), the filters that
read them (0.2 statuses, date-times, case), and the 0.2 example payload as intake reads it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from organiser.actions import records as read
from organiser.domain import dialect
from organiser.domain.dialect import DoiStatus, StatusError
from organiser.domain.states import State
from organiser.intake.formats import spreadsheet
from organiser.intake.formats.pds4 import Crosswalk, LabelError
from organiser.storage.database import open_database
from organiser.storage.models import Record

#: NASA's own 0.2 document (from ../shared, tests/data/SHA256SUMS.shared).
NASA_DOCUMENT = Path(__file__).parents[1] / "data" / "pds-doi-api-0.2.yaml"


def _nasa_example() -> dict[str, object]:
    """Give the example payload of ``POST /dois`` in NASA's own document (a LID, no
    version), as JSON would carry it (the dates as text)."""
    document = yaml.safe_load(NASA_DOCUMENT.read_text())
    example = document["paths"]["/dois"]["post"]["requestBody"]["content"]["application/json"]
    return json.loads(json.dumps(example["example"], default=str))


def test_every_organiser_status_is_one_0_2_status() -> None:
    assert set(dialect.TO_0_2) == set(State)
    assert {dialect.status_of(s) for s in State} <= set(DoiStatus)
    # what the table says, status by status (the README shows the same table)
    assert {s.value: dialect.status_of(s).value for s in State} == {
        "to-be-reserved": "draft",
        "reserved": "draft",
        "update-reserved": "draft",
        "review": "review",
        "update-review": "review",
        "to-be-registered": "pending",
        "update-before-registration": "pending",
        "registered": "findable",
        "update-registered": "findable",
        "to-be-deleted": "deactivated",
        "deleted": "deactivated",
    }


def test_a_0_2_status_selects_every_organiser_status_that_maps_to_it() -> None:
    assert dialect.states_of(["Draft"]) == (
        State.TO_BE_RESERVED,
        State.RESERVED,
        State.UPDATE_RESERVED,
    )
    assert dialect.states_of([" FINDABLE ", "review"]) == (
        State.REVIEW,
        State.REGISTERED,
        State.UPDATE_REGISTERED,
        State.UPDATE_REVIEW,
    )
    assert dialect.states_of(["error", "unknown", "reserved", "registered"]) == ()
    for doi_status in DoiStatus:
        for state in dialect.states_of([doi_status]):
            assert dialect.status_of(state) is doi_status


def test_a_value_that_is_no_0_2_status_is_refused_naming_it() -> None:
    with pytest.raises(StatusError) as refused:
        dialect.states_of(["draft", "to-be-reserved"])
    assert str(refused.value) == (
        "status 'to-be-reserved': not a 0.2 status (error, unknown, reserved, draft, review, "
        "pending, registered, findable, deactivated)"
    )


@pytest.fixture
def records(tmp_path: Path) -> dict[str, Record]:
    """Five records of node ``eng``/``img`` in organiser statuses, changed at known instants."""
    open_database(f"sqlite:///{tmp_path / 'o.db'}")
    base = datetime(2024, 5, 1, 12, 0, 0)
    made = {}
    for n, (status, node) in enumerate(
        [
            ("to-be-reserved", "eng"),
            ("reserved", "img"),
            ("review", "eng"),
            ("registered", "img"),
            ("update-review", "eng"),
        ]
    ):
        made[status] = Record.create(
            doi=f"10.5072/d{n}",
            identifier=f"urn:nasa:pds:d{n}::1.0",
            lid=f"urn:nasa:pds:d{n}",
            status=status,
            node=node,
            attributes="{}",
            created_at=base,
            updated_at=base + timedelta(hours=n),
        )
    return made


def _dois(**filters: object) -> list[str]:
    return [r.doi for r in read.listing(read.RecordFilter(**filters))]  # type: ignore[arg-type]


def test_the_0_2_status_filter_selects_by_the_table(records: dict[str, Record]) -> None:
    assert _dois(statuses_0_2=("draft",)) == ["10.5072/d0", "10.5072/d1"]
    assert _dois(statuses_0_2=("REVIEW",)) == ["10.5072/d2", "10.5072/d4"]
    assert _dois(statuses_0_2=("findable", "pending")) == ["10.5072/d3"]
    assert _dois(statuses_0_2=("unknown",)) == []  # not: every record
    assert _dois(statuses_0_2=("error",), nodes=("eng",)) == []
    with pytest.raises(StatusError):
        _dois(statuses_0_2=("nonsense",))


def test_node_folds_case_as_the_other_filters(records: dict[str, Record]) -> None:
    assert _dois(nodes=("ENG",)) == ["10.5072/d0", "10.5072/d2", "10.5072/d4"]
    assert _dois(nodes=(" Img ",), statuses_0_2=("Draft",)) == ["10.5072/d1"]


def test_date_times_are_honoured_to_the_second(records: dict[str, Record]) -> None:
    # updated at 12:00, 13:00, 14:00, 15:00, 16:00 on 2024-05-01 (UTC)
    assert _dois(since=datetime(2024, 5, 1, 13, 0)) == [f"10.5072/d{n}" for n in (1, 2, 3, 4)]
    assert _dois(since=datetime(2024, 5, 1, 13, 0, 1)) == [f"10.5072/d{n}" for n in (2, 3, 4)]
    assert _dois(until=datetime(2024, 5, 1, 13, 0)) == ["10.5072/d0", "10.5072/d1"]
    assert _dois(until=datetime(2024, 5, 1, 12, 59, 59)) == ["10.5072/d0"]
    two_hours_east = timezone(timedelta(hours=2))
    assert _dois(
        since=datetime(2024, 5, 1, 16, 0, tzinfo=two_hours_east),  # 14:00 UTC
        until=datetime(2024, 5, 1, 15, 0, tzinfo=UTC),
    ) == ["10.5072/d2", "10.5072/d3"]
    # a date is the whole UTC day, as before
    assert len(_dois(since=date(2024, 5, 1), until=date(2024, 5, 1))) == 5
    assert _dois(until=date(2024, 4, 30)) == []
    with pytest.raises(read.FilterError):
        _dois(since=datetime(2024, 5, 1, 13, 0, 1), until=datetime(2024, 5, 1, 13, 0))


def test_nasas_example_payload_is_read_as_the_pds_doi_service_reads_it() -> None:
    [(where, row)] = list(spreadsheet.labels(_nasa_example()))
    label = spreadsheet.to_label(row, "geo", Crosswalk())
    assert (where, label.lidvid) == ("labels[0]", "urn:nasa:pds:lab_shocked_feldspars")
    assert label.attributes["identifiers"] == [
        {"identifier": "urn:nasa:pds:lab_shocked_feldspars", "identifierType": "PDS4 LID"}
    ]
    # the LID's landing page, without an empty version query
    assert label.url.endswith("identifier=urn%3Anasa%3Apds%3Alab_shocked_feldspars")
    versioned = spreadsheet.to_label(
        dict(row, related_resource="urn:nasa:pds:lab_shocked_feldspars::1.0"), "geo", Crosswalk()
    )
    assert versioned.url.endswith("identifier=urn%3Anasa%3Apds%3Alab_shocked_feldspars&version=1.0")
    assert versioned.attributes["identifiers"][0]["identifierType"] == "PDS4 LIDVID"
    for bad in ("urn:nasa:pds:Lab", "not a lid", "urn:nasa:pds:x::one"):
        with pytest.raises(LabelError):
            spreadsheet.to_label(dict(row, related_resource=bad), "geo", Crosswalk())
