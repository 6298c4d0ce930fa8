"""The next step of an alert, read from a failure's text: the status, and for a 422 the
fields DataCite named in its errors' ``source``."""

from __future__ import annotations

import pytest

from organiser.notify.advice import answer_status, next_step, outage_step, refused_fields

DOI = "10.5072/abc-1"


def _detail(error: str, transient: bool = False) -> dict[str, object]:
    return {
        "doi": DOI,
        "action": "register",
        "error": error,
        "transient": transient,
        "retry_at": "2026-12-04 04:00",
    }


def test_the_fields_datacite_refused_are_read_from_its_sources() -> None:
    error = (
        f"PUT /dois/{DOI}: 422 creators: can't be blank; titles[0].title: is too long; "
        "creators: is invalid; Metadata does not validate"
    )
    assert answer_status(error) == 422
    assert refused_fields(error) == ["creators", "titles[0].title"]
    assert refused_fields("POST /dois: DataCite unreachable (connection refused)") == []
    assert answer_status("POST /dois: DataCite unreachable (connection refused)") is None


@pytest.mark.parametrize(
    ("error", "transient", "operator", "submitter"),
    [
        (
            f"PUT /dois/{DOI}: 422 creators: can't be blank; publisher: can't be blank",
            False,
            f"DataCite refused creators, publisher: correct it in the metadata, then "
            f"'organiser update {DOI} FILE' gives the record the corrected version",
            "correct creators, publisher in your metadata and send a corrected version",
        ),
        (
            "POST /dois: 422 doi: This DOI has already been taken",
            False,
            f"DataCite already holds {DOI} for another record or account: check "
            f"https://doi.org/{DOI} and 'organiser show {DOI}'; if it is this record's, "
            "'organiser import' brings it in",
            "the DOI is already in use at DataCite: ask the repository's operators",
        ),
        (
            f"PUT /dois/{DOI}: 403 You are not authorized to access this resource.",
            False,
            "DataCite does not let this account change the DOI: check [datacite] username "
            "and that the DOI's prefix is one of the account's ([datacite] prefix)",
            "ask the repository's operators: it needs a change on their side",
        ),
        (
            f"PUT /dois/{DOI}: 503 Service unavailable",
            True,
            "nothing to do: it is tried again automatically at 2026-12-04 04:00 UTC; if it "
            "goes on, see https://status.datacite.org",
            "nothing to do: it is tried again automatically at 2026-12-04 04:00 UTC; if it "
            "goes on, see https://status.datacite.org",
        ),
        (
            "internal error: KeyError('x')",
            False,
            "a bug in organiser: report it with the traceback from the log",
            "nothing to do on your side: the repository's operators have been told",
        ),
    ],
)
def test_each_kind_of_failure_has_its_step(
    error: str, transient: bool, operator: str, submitter: str
) -> None:
    assert next_step(_detail(error, transient)) == operator
    assert next_step(_detail(error, transient), for_submitter=True) == submitter


def test_an_outage_step_by_its_reason() -> None:
    assert outage_step("POST /dois: 401 DataCite refused the repository credentials").startswith(
        "check [datacite] username and password"
    )
    assert outage_step(
        "GET /dois: 200 answer is text/html, not JSON; is [datacite] url DataCite's REST API?"
    ).startswith("check [datacite] url")
    assert outage_step("DataCite unreachable for 3 records in a row: x").startswith(
        "nothing to do if it is DataCite's side"
    )
