"""Record filters: wildcards and substrings become escaped LIKE patterns; bad filters are
refused before any query."""

from __future__ import annotations

from datetime import date

import pytest

from organiser.actions.records import FilterError, RecordFilter
from organiser.storage.queries import escape_like, wildcard_pattern


@pytest.mark.parametrize(
    ("pattern", "like"),
    [
        ("urn:nasa:pds:insight_*", "urn:nasa:pds:insight!_%"),
        ("URN:NASA:PDS:X?::1.0", "urn:nasa:pds:x_::1.0"),
        ("100%!", "100!%!!"),
        ("no wildcard", "no wildcard"),
    ],
)
def test_wildcards_become_escaped_like_patterns(pattern: str, like: str) -> None:
    assert wildcard_pattern(pattern) == like


def test_escape_like_keeps_wildcard_characters_literal() -> None:
    assert escape_like("a_b%c!d*e") == "a!_b!%c!!d*e"


@pytest.mark.parametrize(
    ("filters", "error"),
    [
        (RecordFilter(statuses=("pending",)), "status 'pending': not a status ("),
        (
            RecordFilter(since=date(2024, 2, 1), until=date(2024, 1, 1)),
            "since 2024-02-01 is after until 2024-01-01",
        ),
    ],
)
def test_bad_filters_are_refused(filters: RecordFilter, error: str) -> None:
    with pytest.raises(FilterError) as raised:
        filters.conditions()
    assert str(raised.value).startswith(error)


def test_an_empty_filter_has_no_conditions() -> None:
    assert RecordFilter().conditions() == []
