"""What the API answers, as pydantic models (they make the OpenAPI document): the 0.2
``doi_summary`` and ``doi_record`` shapes, with organiser's fields added, and the error body.

Status values are organiser's (reserved, review, to-be-registered, registered, ...), not
0.2's; ``datacite_state`` is what DataCite last said (draft, registered, findable).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from organiser.actions.records import RecordView
from organiser.actions.views import Marked, RecordSummary


class ErrorItem(BaseModel):
    name: str = Field(description="The kind of error, e.g. InputError, RecordError.")
    message: str = Field(description="One line, as the command line prints it.")


class ErrorBody(BaseModel):
    errors: list[ErrorItem]


class DoiSummary(BaseModel):
    """One record, as ``GET /dois`` lists it (0.2's ``doi_summary``)."""

    doi: str
    identifier: str = Field(description="The repository's identifier, e.g. a PDS4 LIDVID.")
    title: str | None = None
    node: str | None = None
    submitter: str | None = None
    status: str = Field(description="organiser's status: reserved, review, registered, ...")
    update_date: datetime | None = Field(None, description="When the record last changed (UTC).")
    message: str | None = Field(None, description="A warning about this record, if any.")


class HistoryEntry(BaseModel):
    at: datetime
    from_status: str | None
    to_status: str
    action: str
    actor: str = Field(description="Who caused it; api:<token name> for the API's marks.")
    outcome: str | None = None


class DoiRecord(DoiSummary):
    """One record with its metadata and history (0.2's ``doi_record``)."""

    creation_date: datetime | None = None
    datacite_state: str | None = Field(None, description="draft, registered or findable.")
    last_error: str | None = None
    attempts: int = 0
    url: str | None = Field(None, description="The landing page.")
    metadata: dict[str, Any] = Field(description="DataCite REST JSON attributes.")
    record: str = Field(description="The DataCite JSON document, as text (0.2's record).")
    history: list[HistoryEntry] = []
    proposed: dict[str, Any] | None = Field(
        None,
        description="In update-review: the change a submitter proposed (attributes, url, "
        "identifier), held for an operator's approval and not sent to DataCite until then.",
    )


class EmailOutcome(BaseModel):
    sent: bool
    warning: str | None = None


class CheckReport(BaseModel):
    """The pending-release report (``organiser report --json``)."""

    generated_at: str
    submitter: str | None = None
    counts: dict[str, int]
    groups: list[dict[str, Any]]
    email: EmailOutcome | None = None


def utc(moment: datetime | None) -> datetime | None:
    """Give a stored (naive UTC) time as an aware one."""
    return moment.replace(tzinfo=UTC) if moment is not None else None


def summary(record: RecordSummary | Marked, message: str | None = None) -> DoiSummary:
    """Give ``record`` as a summary."""
    return DoiSummary(
        doi=record.doi,
        identifier=record.identifier,
        title=record.title,
        node=record.node,
        submitter=record.submitter,
        status=record.status,
        update_date=utc(record.updated_at),
        message=message,
    )


def detail(view: RecordView) -> DoiRecord:
    """Give one record with its metadata and history."""
    record, attributes = view.record, view.attributes
    document = {"data": {"type": "dois", "attributes": {"doi": record.doi, **attributes}}}
    return DoiRecord(
        **summary(record).model_dump(),
        creation_date=utc(record.created_at),
        datacite_state=record.remote_state,
        last_error=record.last_error,
        attempts=record.attempts,
        url=record.url,
        metadata=attributes,
        proposed=view.pending,
        record=json.dumps(document, ensure_ascii=False),
        history=[
            HistoryEntry(
                at=utc(h.at),
                from_status=h.from_status,
                to_status=h.to_status,
                action=h.action,
                actor=h.actor,
                outcome=h.outcome,
            )
            for h in view.history
        ],
    )


#: What each error status means, for the OpenAPI document.
ERRORS = {
    400: "Invalid argument or input (the same one-line messages as the command line)",
    401: "No token, or an unknown or revoked one",
    403: "The token's role (or submitter address) does not allow this",
    404: "No such record",
    413: "Request body over [api] max_body_bytes",
    501: "Not implemented",
    503: "The database is unavailable, or (a url to fetch) [api] url_fetches are all busy",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Give the ``responses`` entries for ``codes`` (an operation's error answers, for the
    OpenAPI document), each with the error body."""
    return {code: {"model": ErrorBody, "description": ERRORS[code]} for code in codes}
