"""What the API answers, as pydantic models (they make the OpenAPI document): the 0.2
``doi_summary`` and ``doi_record`` shapes, with organiser's fields added, and the error body.

``status`` is the PDS DOI Service's workflow status (draft, review, pending, findable, ...;
:mod:`organiser.domain.dialect`); ``organiser_status`` is organiser's own (reserved,
to-be-registered, update-review, ...); ``datacite_state`` is what DataCite last said (draft,
registered, findable); ``account`` is the DataCite account the record is sent through. Text
fields are never null (0.2 declares them strings): an absent value is ``""``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from organiser.actions.records import RecordView
from organiser.actions.views import Marked, RecordSummary
from organiser.domain import dialect


class ErrorItem(BaseModel):
    name: str = Field(description="The kind of error, e.g. InputError, RecordError.")
    message: str = Field(description="One line, as the command line prints it.")


class ErrorBody(BaseModel):
    errors: list[ErrorItem]


class DoiSummary(BaseModel):
    """One record, as ``GET /dois`` lists it (0.2's ``doi_summary``)."""

    doi: str
    identifier: str = Field(description="The repository's identifier, e.g. a PDS4 LIDVID.")
    title: str = ""
    node: str = ""
    submitter: str = ""
    status: str = Field(
        description="The PDS DOI Service's workflow status: draft, review, pending, findable "
        "or deactivated."
    )
    organiser_status: str = Field(
        description="organiser's own status: to-be-reserved, reserved, review, ..."
    )
    account: str = Field(
        description="The DataCite account the record is sent through: datacite ([datacite]) "
        "or the NAME of an [account NAME].",
    )
    update_date: datetime = Field(description="When the record last changed (UTC).")
    message: str = Field("", description="A warning, or why the last try failed; or empty.")


class HistoryEntry(BaseModel):
    at: datetime
    from_status: str = Field(description="organiser's status before; empty for the first.")
    to_status: str
    action: str
    actor: str = Field(description="Who caused it; api:<token name> for the API's marks.")
    outcome: str = ""


class DoiRecord(DoiSummary):
    """One record with its metadata and history (0.2's ``doi_record``)."""

    creation_date: datetime
    record: str = Field(description="The DataCite JSON document, as text (0.2's record).")
    datacite_state: str = Field("", description="draft, registered or findable; or empty.")
    last_error: str = ""
    attempts: int = 0
    url: str = Field("", description="The landing page.")
    metadata: dict[str, Any] = Field(description="DataCite REST JSON attributes.")
    history: list[HistoryEntry] = []
    proposed: dict[str, Any] | None = Field(
        None,
        description="In update-review: the change a submitter proposed (attributes, url, "
        "identifier), held for an operator's approval and not sent to DataCite until then.",
    )


def utc(moment: datetime | None) -> datetime | None:
    """Give a stored (naive UTC) time as an aware one."""
    return moment.replace(tzinfo=UTC) if moment is not None else None


def _stamp(moment: datetime | None) -> datetime:
    return utc(moment) or datetime.fromtimestamp(0, UTC)


def summary(record: RecordSummary | Marked, message: str = "") -> DoiSummary:
    """Give ``record`` as a summary; ``message`` defaults to why its last try failed."""
    return DoiSummary(
        doi=record.doi,
        identifier=record.identifier,
        title=record.title or "",
        node=record.node or "",
        submitter=record.submitter or "",
        status=dialect.status_of(record.status),
        organiser_status=record.status,
        account=record.account,
        update_date=_stamp(record.updated_at),
        message=message or record.last_error or "",
    )


def detail(view: RecordView, message: str = "") -> DoiRecord:
    """Give one record with its metadata and history; ``message`` as :func:`summary`."""
    record, attributes = view.record, view.attributes
    document = {"data": {"type": "dois", "attributes": {"doi": record.doi, **attributes}}}
    return DoiRecord(
        **summary(record, message).model_dump(),
        creation_date=_stamp(record.created_at),
        datacite_state=record.remote_state or "",
        last_error=record.last_error or "",
        attempts=record.attempts,
        url=record.url or "",
        metadata=attributes,
        proposed=view.pending,
        record=json.dumps(document, ensure_ascii=False),
        history=[
            HistoryEntry(
                at=_stamp(h.at),
                from_status=h.from_status or "",
                to_status=h.to_status,
                action=h.action,
                actor=h.actor,
                outcome=h.outcome or "",
            )
            for h in view.history
        ],
    )


def details(views: Sequence[RecordView], message: str = "") -> list[DoiRecord]:
    """Give each of ``views`` as :func:`detail` does."""
    return [detail(view, message) for view in views]


#: What each error status means, for the OpenAPI document.
ERRORS = {
    400: "Invalid argument or input (the same one-line messages as the command line)",
    401: "No token (where [api] public_reads does not open it), or an unknown or revoked one",
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
